package xtest

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"maps"
	"net/http"
	"time"
)

// errServerClosed ends streams when the Server is closed.
var errServerClosed = errors.New("server closed")

// disconnectLine is the operational-disconnect error X sends before it
// closes a stream.
var disconnectLine = func() []byte {
	b, _ := marshal(map[string][]problem{"errors": {{
		Title:          "operational-disconnect",
		DisconnectType: "OperationalDisconnect",
		Detail:         DisconnectDetail,
		Type:           "https://api.twitter.com/2/problems/operational-disconnect",
	}}})
	return b
}()

// matchingRule is one element of a line's matching_rules.
type matchingRule struct {
	ID  string `json:"id"`
	Tag string `json:"tag,omitempty"`
}

// start returns the position a new stream starts at.
func (s *Server) start() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.recent) > 0 {
		return min(s.recent[0], s.next)
	}
	return s.next
}

// take returns the line of the next post at or after *pos that matches a
// current rule and advances *pos past it. Without one it returns false and
// a channel that is closed when posts or rules change.
func (s *Server) take(pos *int) ([]byte, <-chan struct{}, bool) {
	s.mu.Lock()
	var (
		p       *post
		matched []matchingRule
	)
	for p == nil && *pos < len(s.posts) {
		i := *pos
		*pos++
		s.next = max(s.next, *pos)
		for _, e := range s.rules {
			if e.m.match(s.posts[i].target) {
				matched = append(matched, matchingRule{e.rule.ID, e.rule.Tag})
			}
		}
		if len(matched) == 0 {
			continue
		}
		p = s.posts[i]
		if n := s.cfg.Resend; n > 0 && (len(s.recent) == 0 || i > s.recent[len(s.recent)-1]) {
			s.recent = append(s.recent, i)
			if len(s.recent) > n {
				s.recent = s.recent[len(s.recent)-n:]
			}
		}
	}
	changed := s.changed
	s.mu.Unlock()
	if p == nil {
		return nil, changed, false
	}
	obj := maps.Clone(p.obj)
	obj["matching_rules"], _ = json.Marshal(matched)
	line, err := marshal(obj)
	if err != nil { // cannot happen: p.obj was marshalled before
		panic(err)
	}
	return line, nil, true
}

// conn is one open stream.
type conn struct {
	s           *Server
	w           http.ResponseWriter
	rc          *http.ResponseController
	ctx         context.Context
	hb          *time.Timer // nil when heartbeats are disabled
	writeFailed bool        // a write or flush failed: the response is cut off
}

// run streams until the client goes away, the server closes, or a fault
// ends the stream. It returns how many posts it sent and why it stopped.
func (c *conn) run() (sent int, why string) {
	h := c.w.Header()
	h.Set("Content-Type", "application/json; charset=utf-8")
	h.Set("Cache-Control", "no-cache")
	c.w.WriteHeader(http.StatusOK)
	if c.s.heartbeat > 0 {
		c.hb = time.NewTimer(c.s.heartbeat)
		defer c.hb.Stop()
	}
	if err := c.flush(); err != nil {
		return 0, err.Error()
	}
	cfg := &c.s.cfg
	pos := c.s.start()
	for {
		if err := c.alive(); err != nil {
			return sent, err.Error()
		}
		line, changed, ok := c.s.take(&pos)
		if !ok {
			if err := c.wait(changed); err != nil {
				return sent, err.Error()
			}
			continue
		}
		if err := c.write(line); err != nil {
			return sent, err.Error()
		}
		sent++
		if every(cfg.Malformed, sent) {
			if err := c.write([]byte(MalformedLine)); err != nil {
				return sent, err.Error()
			}
		}
		if every(cfg.Giant, sent) {
			if err := c.write(c.s.giant); err != nil {
				return sent, err.Error()
			}
		}
		if cfg.Stall > 0 && sent == cfg.Stall {
			return sent, "stalled: " + c.stall().Error()
		}
		if cfg.CloseAfter > 0 && sent == cfg.CloseAfter {
			if err := c.write(disconnectLine); err != nil {
				return sent, err.Error()
			}
			return sent, "operational disconnect after CloseAfter posts"
		}
	}
}

func every(n, count int) bool { return n > 0 && count%n == 0 }

// write sends one line with its "\r\n" and flushes it.
func (c *conn) write(line []byte) error {
	if _, err := c.w.Write(line); err != nil {
		return c.failed(err)
	}
	if _, err := io.WriteString(c.w, "\r\n"); err != nil {
		return c.failed(err)
	}
	return c.flush()
}

// flush sends what was written and restarts the heartbeat timer.
func (c *conn) flush() error {
	if err := c.rc.Flush(); err != nil {
		return c.failed(err)
	}
	if c.hb != nil {
		c.hb.Reset(c.s.heartbeat)
	}
	return nil
}

func (c *conn) failed(err error) error {
	c.writeFailed = true
	return err
}

// alive reports, without blocking, whether the stream should go on.
func (c *conn) alive() error {
	select {
	case <-c.ctx.Done():
		return c.ctx.Err()
	case <-c.s.closing:
		return errServerClosed
	default:
		return nil
	}
}

// wait blocks until changed is closed, sending heartbeats when due.
func (c *conn) wait(changed <-chan struct{}) error {
	var hb <-chan time.Time
	if c.hb != nil {
		hb = c.hb.C
	}
	for {
		select {
		case <-c.ctx.Done():
			return c.ctx.Err()
		case <-c.s.closing:
			return errServerClosed
		case <-changed:
			return nil
		case <-hb:
			if _, err := io.WriteString(c.w, "\r\n"); err != nil {
				return c.failed(err)
			}
			if err := c.flush(); err != nil {
				return err
			}
		}
	}
}

// stall keeps the connection open without writing, heartbeats included,
// until it ends.
func (c *conn) stall() error {
	if h := c.s.cfg.hooks.stalled; h != nil {
		h()
	}
	select {
	case <-c.ctx.Done():
		return c.ctx.Err()
	case <-c.s.closing:
		return errServerClosed
	}
}
