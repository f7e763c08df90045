//go:build !linux

package journal

// releaseMapped does nothing outside Linux.
func (s *Bolt) releaseMapped() {}
