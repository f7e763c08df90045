package journal_test

import (
	"path/filepath"
	"testing"

	"github.com/streambot/streambot/bot/journal"
	"github.com/streambot/streambot/bot/journal/journaltest"
)

func TestConformanceMemory(t *testing.T) {
	t.Parallel()
	journaltest.Run(t, journaltest.Factory{
		Open: func(t *testing.T, _ string, opt journal.Options) (journal.Log, *journal.Recovery, error) {
			return journal.Open(nil, opt)
		},
	})
}

func TestConformanceBolt(t *testing.T) {
	t.Parallel()
	journaltest.Run(t, journaltest.Factory{
		Durable: true,
		Open: func(t *testing.T, dir string, opt journal.Options) (journal.Log, *journal.Recovery, error) {
			st, err := journal.OpenBolt(filepath.Join(dir, "outbox.db"))
			if err != nil {
				return nil, nil, err
			}
			l, rec, err := journal.Open(st, opt)
			if err != nil {
				st.Close()
				return nil, nil, err
			}
			return closeBoth{l, st}, rec, nil
		},
	})
}

// closeBoth closes the storage after the log.
type closeBoth struct {
	journal.Log
	st *journal.Bolt
}

func (c closeBoth) Close() error {
	err := c.Log.Close()
	if cerr := c.st.Close(); err == nil {
		err = cerr
	}
	return err
}
