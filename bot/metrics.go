package bot

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// metrics exposes the Bot's counters to Prometheus. Counters and gauges
// are read from the same atomics as Stats at scrape time; only the send
// latency histogram and the reconnects are Prometheus-native.
type metrics struct {
	b          *Bot
	reg        *prometheus.Registry
	send       *prometheus.HistogramVec
	reconnects *prometheus.CounterVec

	received, duplicates, matched, events, connected, lastData    *prometheus.Desc
	forwarded, retried, dropped, failed, cancelled, depth, oldest *prometheus.Desc
}

func newMetrics(b *Bot) *metrics {
	desc := func(name, help string, labels ...string) *prometheus.Desc {
		return prometheus.NewDesc("streambot_"+name, help, labels, nil)
	}
	m := &metrics{
		b:   b,
		reg: prometheus.NewRegistry(),
		send: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "streambot_send_duration_seconds",
			Help:    "Duration of each attempt to hand a status to a destination.",
			Buckets: []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30},
		}, []string{"destination", "result"}),
		reconnects: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "streambot_stream_reconnects_total",
			Help: "Stream disconnections followed by a reconnect, by reason (reported by sources that support it).",
		}, []string{"reason"}),
		received:   desc("received_total", "Statuses received from the stream, duplicates excluded."),
		duplicates: desc("duplicates_total", "Re-sent statuses dropped by ID."),
		matched:    desc("matched_total", "Statuses at least one route took."),
		events:     desc("stream_events_total", "Control events from the stream, by kind.", "kind"),
		connected:  desc("stream_connected", "1 when the stream is connected (or, for sources that do not report it, sent data recently)."),
		lastData:   desc("stream_last_data_timestamp_seconds", "When the stream last sent an event."),
		forwarded:  desc("forwarded_total", "Statuses a destination accepted.", "destination"),
		retried:    desc("retried_total", "Retryable delivery failures that were retried.", "destination"),
		dropped:    desc("dropped_total", "Statuses dropped from a queue over its cap (oldest first).", "destination"),
		failed:     desc("failed_total", "Statuses a destination refused for good.", "destination"),
		cancelled:  desc("cancelled_total", "Queued statuses not delivered because the stream deleted them.", "destination"),
		depth:      desc("queue_depth", "Statuses queued for a destination.", "destination"),
		oldest:     desc("queue_oldest_age_seconds", "Age of the oldest status queued for a destination (0 when empty).", "destination"),
	}
	m.reg.MustRegister(m, m.send, m.reconnects)
	return m
}

func (m *metrics) observeSend(dest string, d time.Duration, err error) {
	result := "ok"
	if err != nil {
		result = "error"
	}
	m.send.WithLabelValues(dest, result).Observe(d.Seconds())
}

// Describe implements prometheus.Collector.
func (m *metrics) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{m.received, m.duplicates, m.matched, m.events, m.connected, m.lastData,
		m.forwarded, m.retried, m.dropped, m.failed, m.cancelled, m.depth, m.oldest} {
		ch <- d
	}
}

// Collect implements prometheus.Collector.
func (m *metrics) Collect(ch chan<- prometheus.Metric) {
	b := m.b
	now := b.cfg.Now()
	counter := func(d *prometheus.Desc, v int64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, float64(v), labels...)
	}
	gauge := func(d *prometheus.Desc, v float64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, labels...)
	}
	counter(m.received, b.c.received.Load())
	counter(m.duplicates, b.c.duplicates.Load())
	counter(m.matched, b.c.matched.Load())
	counter(m.events, b.c.deletes.Load(), "delete")
	counter(m.events, b.c.limits.Load(), "limit")
	counter(m.events, b.c.disconnects.Load(), "disconnect")
	counter(m.events, b.c.warnings.Load(), "warning")
	connected := 0.0
	if b.streamConnected(now) {
		connected = 1
	}
	gauge(m.connected, connected)
	gauge(m.lastData, float64(b.health.lastData.Load())/1e9)
	for _, d := range b.dests {
		counter(m.forwarded, d.c.forwarded.Load(), d.Name)
		counter(m.retried, d.c.retried.Load(), d.Name)
		counter(m.dropped, d.dropped(), d.Name)
		counter(m.failed, d.c.failed.Load(), d.Name)
		counter(m.cancelled, d.c.cancelled.Load(), d.Name)
		gauge(m.depth, float64(d.depth()), d.Name)
		gauge(m.oldest, b.oldestAge(d, now).Seconds(), d.Name)
	}
}
