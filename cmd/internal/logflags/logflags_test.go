package logflags

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
)

func TestNew(t *testing.T) {
	t.Parallel()
	var buf bytes.Buffer
	log, err := New("json", "warn", &buf)
	if err != nil {
		t.Fatal(err)
	}
	log.Info("hidden")
	log.Warn("shown", "k", 1)
	var rec map[string]any
	if err := json.Unmarshal(buf.Bytes(), &rec); err != nil || rec["msg"] != "shown" {
		t.Errorf("output %q: want one JSON warning only (%v)", buf.String(), err)
	}
	for _, bad := range [][2]string{{"xml", "info"}, {"text", "loud"}} {
		if _, err := New(bad[0], bad[1], &buf); err == nil || !strings.Contains(err.Error(), "-log-") {
			t.Errorf("New(%q, %q) error = %v, want one naming the flag", bad[0], bad[1], err)
		}
	}
}
