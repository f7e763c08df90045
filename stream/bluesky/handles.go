package bluesky

import "strings"

// DefaultMaxHandles bounds the handles a Source remembers.
const DefaultMaxHandles = 10_000

// handleCache maps DIDs to the handles that identity events announced. It
// is bounded: when full, an arbitrary entry makes room. It is used by the
// goroutine that runs the Source only, so it has no lock. The source never
// looks a handle up on the network: a DID it has not seen an identity event
// for is shown as the DID.
type handleCache struct {
	max int
	m   map[string]string
}

func newHandleCache(max int) *handleCache {
	return &handleCache{max: max, m: make(map[string]string)}
}

// get returns the handle of did, or "".
func (c *handleCache) get(did string) string { return c.m[did] }

// set remembers handle for did; an empty handle forgets did.
func (c *handleCache) set(did, handle string) {
	if handle == "" {
		delete(c.m, did)
		return
	}
	if _, ok := c.m[did]; !ok && len(c.m) >= c.max {
		for k := range c.m { // map order is arbitrary: evict whatever comes first
			delete(c.m, k)
			break
		}
	}
	c.m[did] = handle
}

// len returns the number of remembered handles.
func (c *handleCache) len() int { return len(c.m) }

// normalizeHandle returns h lowercased if it is a syntactically valid
// atproto handle (a DNS name: at least two labels of letters, digits and
// inner hyphens, at most 253 bytes, the last label starting with a letter),
// and "" otherwise, including for "handle.invalid", which the network uses
// for an account whose handle failed verification.
func normalizeHandle(h string) string {
	if len(h) == 0 || len(h) > 253 {
		return ""
	}
	h = strings.ToLower(h)
	if h == "handle.invalid" {
		return ""
	}
	labels := strings.Split(h, ".")
	if len(labels) < 2 {
		return ""
	}
	for _, l := range labels {
		if len(l) == 0 || len(l) > 63 || l[0] == '-' || l[len(l)-1] == '-' {
			return ""
		}
		for i := 0; i < len(l); i++ {
			c := l[i]
			if (c < 'a' || c > 'z') && (c < '0' || c > '9') && c != '-' {
				return ""
			}
		}
	}
	if tld := labels[len(labels)-1]; tld[0] < 'a' || tld[0] > 'z' {
		return ""
	}
	return h
}

// validDID reports whether s has the syntax of a DID: "did:", a lowercase
// method, ":", then an identifier of letters, digits and ._:%- that does not
// end in ':' or '%'; at most 2048 bytes.
func validDID(s string) bool {
	if len(s) > 2048 || !strings.HasPrefix(s, "did:") {
		return false
	}
	method, id, ok := strings.Cut(s[len("did:"):], ":")
	if !ok || method == "" || id == "" {
		return false
	}
	for i := 0; i < len(method); i++ {
		if method[i] < 'a' || method[i] > 'z' {
			return false
		}
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		if !isAlnum(c) && !strings.ContainsRune("._:%-", rune(c)) {
			return false
		}
	}
	last := id[len(id)-1]
	return last != ':' && last != '%'
}

// validRecordKey reports whether s is a valid record key: 1 to 512 of
// letters, digits and ._~:-, and neither "." nor "..".
func validRecordKey(s string) bool {
	if len(s) == 0 || len(s) > 512 || s == "." || s == ".." {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !isAlnum(c) && !strings.ContainsRune("._~:-", rune(c)) {
			return false
		}
	}
	return true
}

func isAlnum(c byte) bool {
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')
}
