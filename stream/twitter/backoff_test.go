package twitter

import (
	"slices"
	"testing"
	"time"
)

const (
	msec = time.Millisecond
	sec  = time.Second
)

func repeat(r Reason, n int) []Reason { return slices.Repeat([]Reason{r}, n) }

func TestBackoffSequences(t *testing.T) {
	t.Parallel()
	// 250 ms, 500 ms, ... 16 s, then 16 s forever.
	var linear []time.Duration
	for i := 1; i <= 64; i++ {
		linear = append(linear, time.Duration(i)*250*msec)
	}
	linear = append(linear, 16*sec, 16*sec)

	tests := []struct {
		name    string
		policy  Backoff
		reasons []Reason
		want    []time.Duration
	}{
		{"network is linear to 16s", Backoff{}, repeat(ReasonNetwork, 66), linear},
		{"http doubles from 5s to 320s", Backoff{}, repeat(ReasonHTTP, 9),
			[]time.Duration{5 * sec, 10 * sec, 20 * sec, 40 * sec, 80 * sec, 160 * sec, 320 * sec, 320 * sec, 320 * sec}},
		{"420/429 double from 60s to 16min", Backoff{}, repeat(ReasonRateLimited, 7),
			[]time.Duration{time.Minute, 2 * time.Minute, 4 * time.Minute, 8 * time.Minute, 16 * time.Minute, 16 * time.Minute, 16 * time.Minute}},
		{"dropped stream reconnects at once", Backoff{}, repeat(ReasonDropped, 3), []time.Duration{0, 0, 0}},
		{"503,503,420 then success", Backoff{},
			[]Reason{ReasonHTTP, ReasonHTTP, ReasonRateLimited, ReasonDropped},
			[]time.Duration{5 * sec, 10 * sec, time.Minute, 0}},
		{"each kind keeps its own counter", Backoff{},
			[]Reason{ReasonHTTP, ReasonNetwork, ReasonHTTP, ReasonNetwork, ReasonRateLimited, ReasonHTTP},
			[]time.Duration{5 * sec, 250 * msec, 10 * sec, 500 * msec, time.Minute, 20 * sec}},
		{"a delivered stream resets every counter", Backoff{},
			[]Reason{ReasonHTTP, ReasonHTTP, ReasonNetwork, ReasonRateLimited, ReasonDropped, ReasonHTTP, ReasonNetwork, ReasonRateLimited},
			[]time.Duration{5 * sec, 10 * sec, 250 * msec, time.Minute, 0, 5 * sec, 250 * msec, time.Minute}},
		{"custom schedule for tests", Backoff{NetworkStep: msec, NetworkMax: 3 * msec, HTTPInitial: 2 * msec, HTTPMax: 5 * msec, RateLimitInitial: 7 * msec, RateLimitMax: 7 * msec},
			[]Reason{ReasonNetwork, ReasonNetwork, ReasonNetwork, ReasonNetwork, ReasonHTTP, ReasonHTTP, ReasonHTTP, ReasonRateLimited, ReasonRateLimited},
			[]time.Duration{msec, 2 * msec, 3 * msec, 3 * msec, 2 * msec, 4 * msec, 5 * msec, 7 * msec, 7 * msec}},
		{"cap not a multiple of the step", Backoff{NetworkStep: 300 * msec, NetworkMax: time.Second},
			repeat(ReasonNetwork, 5), []time.Duration{300 * msec, 600 * msec, 900 * msec, time.Second, time.Second}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			b := tt.policy
			var got []time.Duration
			for _, r := range tt.reasons {
				got = append(got, b.Next(r))
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("delays\n got %v\nwant %v", got, tt.want)
			}
		})
	}
}

// go-twitter's backoff library stops retrying after 15 minutes in total;
// ours must keep answering with the cap for as long as it is asked.
func TestBackoffNeverGivesUp(t *testing.T) {
	t.Parallel()
	var b Backoff
	var total time.Duration
	for range 10_000 {
		total += b.Next(ReasonHTTP)
	}
	if d := b.Next(ReasonHTTP); d != DefaultHTTPMax {
		t.Errorf("after %v of waiting, Next = %v, want the cap %v", total, d, DefaultHTTPMax)
	}
	for range 1_000_000 {
		b.Next(ReasonNetwork)
	}
	if d := b.Next(ReasonNetwork); d != DefaultNetworkMax {
		t.Errorf("after a million network failures, Next = %v, want %v", d, DefaultNetworkMax)
	}
	for range 10_000 {
		b.Next(ReasonRateLimited)
	}
	if d := b.Next(ReasonRateLimited); d != DefaultRateLimitMax {
		t.Errorf("rate limited: Next = %v, want %v", d, DefaultRateLimitMax)
	}
}

func TestReasonString(t *testing.T) {
	t.Parallel()
	for r, want := range map[Reason]string{
		ReasonDropped: "dropped", ReasonNetwork: "network", ReasonHTTP: "http",
		ReasonRateLimited: "rate-limited", Reason(9): "reason(9)",
	} {
		if got := r.String(); got != want {
			t.Errorf("Reason(%d).String() = %q, want %q", r, got, want)
		}
	}
}
