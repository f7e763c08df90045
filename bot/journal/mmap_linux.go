package journal

import (
	"bufio"
	"fmt"
	"os"
	"strconv"
	"strings"
	"syscall"
)

// releaseMapped drops the process's mappings of the database file's pages
// (madvise MADV_DONTNEED on bbolt's read-only shared mmap). The pages stay
// in the page cache and fault in again on the next read; without this the
// kernel's fault-around leaves every recently written page that a read
// touched near mapped, and a growing backlog shows up as resident memory.
//
// It must run where bbolt cannot remap: on the goroutine that makes the
// write transactions (bbolt remaps only inside them), between two of them.
func (s *Bolt) releaseMapped() {
	start := s.db.Info().Data
	end, err := mappingEnd(start)
	if err != nil || end <= start {
		return
	}
	syscall.Syscall(syscall.SYS_MADVISE, start, end-start, syscall.MADV_DONTNEED)
}

// mappingEnd returns the end address of the mapping that begins at start,
// from /proc/self/maps.
func mappingEnd(start uintptr) (uintptr, error) {
	f, err := os.Open("/proc/self/maps")
	if err != nil {
		return 0, err
	}
	defer f.Close()
	prefix := strconv.FormatUint(uint64(start), 16) + "-"
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		if !strings.HasPrefix(line, prefix) {
			continue
		}
		addr, _, _ := strings.Cut(line[len(prefix):], " ")
		end, err := strconv.ParseUint(addr, 16, 64)
		return uintptr(end), err
	}
	return 0, fmt.Errorf("no mapping at %#x", start)
}
