// Package twitter speaks Twitter's v1.1 streaming protocol: it decodes the
// wire messages of statuses/filter into stream events (decode.go).
//
// The decoder is the single place where v1.1 JSON becomes a [stream.Status];
// the filter-stream source, the in-process mock and the mock server's
// server-side filtering all use it, so they cannot disagree.
package twitter
