package streamtest

import (
	"crypto/subtle"
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/dghubble/oauth1"
)

// The environment variables that hold the OAuth1 credentials, the same ones
// streambot's Twitter source reads.
const (
	EnvConsumerKey    = "TWITTER_CONSUMER_KEY"
	EnvConsumerSecret = "TWITTER_CONSUMER_SECRET"
	EnvAccessToken    = "TWITTER_ACCESS_TOKEN"
	EnvAccessSecret   = "TWITTER_ACCESS_SECRET"
)

// Demo credentials: what the server expects when none are configured. They
// are public on purpose, so a client can be pointed at a mock server with no
// setup; they open nothing anywhere else.
const (
	DemoConsumerKey    = "streambot-demo-consumer-key"
	DemoConsumerSecret = "streambot-demo-consumer-secret"
	DemoAccessToken    = "streambot-demo-access-token"
	DemoAccessSecret   = "streambot-demo-access-secret"
)

// Credentials are the four OAuth1 values a client signs with: the
// application's consumer key and secret and the user's access token and
// secret.
type Credentials struct {
	ConsumerKey    string
	ConsumerSecret string
	AccessToken    string
	AccessSecret   string
}

// DemoCredentials returns the demo values (DemoConsumerKey, ...).
func DemoCredentials() Credentials {
	return Credentials{
		ConsumerKey:    DemoConsumerKey,
		ConsumerSecret: DemoConsumerSecret,
		AccessToken:    DemoAccessToken,
		AccessSecret:   DemoAccessSecret,
	}
}

// CredentialsFromEnv reads TWITTER_CONSUMER_KEY, TWITTER_CONSUMER_SECRET,
// TWITTER_ACCESS_TOKEN and TWITTER_ACCESS_SECRET through getenv (os.Getenv
// in a program, a map lookup in a test). Each variable that is unset or empty
// falls back to its demo value.
func CredentialsFromEnv(getenv func(string) string) Credentials {
	return Credentials{
		ConsumerKey:    getenv(EnvConsumerKey),
		ConsumerSecret: getenv(EnvConsumerSecret),
		AccessToken:    getenv(EnvAccessToken),
		AccessSecret:   getenv(EnvAccessSecret),
	}.orDemo()
}

// orDemo fills each empty field with its demo value.
func (c Credentials) orDemo() Credentials {
	d := DemoCredentials()
	if c.ConsumerKey == "" {
		c.ConsumerKey = d.ConsumerKey
	}
	if c.ConsumerSecret == "" {
		c.ConsumerSecret = d.ConsumerSecret
	}
	if c.AccessToken == "" {
		c.AccessToken = d.AccessToken
	}
	if c.AccessSecret == "" {
		c.AccessSecret = d.AccessSecret
	}
	return c
}

// CanonicalFilterURL is the address real clients sign for statuses/filter.
// The server accepts a signature over it as well as over its own address,
// for clients that rewrite the host of a request after signing it.
const CanonicalFilterURL = "https://stream.twitter.com" + FilterPath

// canonicalOrigin is the scheme and host of CanonicalFilterURL.
const canonicalOrigin = "https://stream.twitter.com"

// Reasons a request fails verification. They go to the request record and
// the log, never to the client, and never contain a secret.
var (
	errNoAuthorization   = errors.New("streamtest: no OAuth Authorization header")
	errBadAuthorization  = errors.New("streamtest: malformed OAuth Authorization header")
	errMissingParam      = errors.New("streamtest: the Authorization header lacks a required oauth_* parameter")
	errSignatureMethod   = errors.New("streamtest: oauth_signature_method is not HMAC-SHA1")
	errVersion           = errors.New("streamtest: oauth_version is not 1.0")
	errConsumerKey       = errors.New("streamtest: oauth_consumer_key does not match the configured consumer key")
	errToken             = errors.New("streamtest: oauth_token does not match the configured access token")
	errSignatureMismatch = errors.New("streamtest: oauth_signature does not verify (wrong secret, or a base string built differently)")
)

// verifyOAuth1 checks r's OAuth1 HMAC-SHA1 signature (RFC 5849 §3.4.1–3.4.2)
// against creds. form holds the parameters of an
// application/x-www-form-urlencoded body (nil for other bodies); the query is
// read from r.URL. The signature may cover the request's own URL or, with
// the same path, canonicalOrigin. Timestamps and nonces must be present but
// are not checked for freshness or replay: a mock has no clock to agree on.
func verifyOAuth1(r *http.Request, form url.Values, creds Credentials) error {
	h := r.Header.Values("Authorization")
	if len(h) == 0 {
		return errNoAuthorization
	}
	if len(h) > 1 {
		return errBadAuthorization
	}
	oauth, err := parseAuthorization(h[0])
	if err != nil {
		return err
	}
	for _, k := range []string{"oauth_consumer_key", "oauth_token", "oauth_signature_method", "oauth_signature", "oauth_timestamp", "oauth_nonce"} {
		if oauth[k] == "" {
			return errMissingParam
		}
	}
	if oauth["oauth_signature_method"] != "HMAC-SHA1" {
		return errSignatureMethod
	}
	if v, ok := oauth["oauth_version"]; ok && v != "1.0" {
		return errVersion
	}
	// Both comparisons run before either result is used, in constant time.
	keyOK := subtle.ConstantTimeCompare([]byte(oauth["oauth_consumer_key"]), []byte(creds.ConsumerKey))
	tokenOK := subtle.ConstantTimeCompare([]byte(oauth["oauth_token"]), []byte(creds.AccessToken))
	if keyOK != 1 {
		return errConsumerKey
	}
	if tokenOK != 1 {
		return errToken
	}

	query, err := url.ParseQuery(r.URL.RawQuery)
	if err != nil {
		return errBadAuthorization
	}
	params := collectParams(oauth, query, form)
	got := []byte(oauth["oauth_signature"])
	signer := &oauth1.HMACSigner{ConsumerSecret: creds.ConsumerSecret}
	ok := 0
	for _, base := range []string{requestBaseURI(r), canonicalOrigin + r.URL.EscapedPath()} {
		want, err := signer.Sign(creds.AccessSecret, signatureBase(r.Method, base, params))
		if err != nil {
			return err
		}
		ok |= subtle.ConstantTimeCompare(got, []byte(want))
	}
	if ok != 1 {
		return errSignatureMismatch
	}
	return nil
}

// parseAuthorization decodes an `OAuth k="v", ...` header (RFC 5849 §3.5.1)
// into its parameters, percent-decoded. A repeated parameter is an error.
func parseAuthorization(h string) (map[string]string, error) {
	scheme, rest, _ := strings.Cut(strings.TrimSpace(h), " ")
	if !strings.EqualFold(scheme, "OAuth") {
		return nil, errNoAuthorization
	}
	params := make(map[string]string)
	for part := range strings.SplitSeq(rest, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		k, v, ok := strings.Cut(part, "=")
		if !ok {
			return nil, errBadAuthorization
		}
		k, v = strings.TrimSpace(k), strings.TrimSpace(v)
		if len(v) >= 2 && v[0] == '"' && v[len(v)-1] == '"' {
			v = v[1 : len(v)-1]
		}
		dk, err1 := url.PathUnescape(k)
		dv, err2 := url.PathUnescape(v)
		if err1 != nil || err2 != nil {
			return nil, errBadAuthorization
		}
		if _, dup := params[dk]; dup {
			return nil, errBadAuthorization
		}
		params[dk] = dv
	}
	return params, nil
}

// param is one name/value pair of the signature base string.
type param struct{ k, v string }

// collectParams gathers the parameters a signature covers (RFC 5849
// §3.4.1.3.1): the Authorization header's, except oauth_signature and realm,
// then every query and form-body value, repeated names included.
func collectParams(oauth map[string]string, query, form url.Values) []param {
	var ps []param
	for k, v := range oauth {
		if k != "oauth_signature" && k != "realm" {
			ps = append(ps, param{k, v})
		}
	}
	for _, vals := range []url.Values{query, form} {
		for k, vs := range vals {
			for _, v := range vs {
				ps = append(ps, param{k, v})
			}
		}
	}
	return ps
}

// signatureBase builds the signature base string of RFC 5849 §3.4.1.1:
// the upper-case method, the encoded base string URI, and the encoded
// normalized parameters (§3.4.1.3.2: each name and value percent-encoded,
// sorted by name then value, joined as name=value with "&").
func signatureBase(method, baseURI string, params []param) string {
	enc := make([]param, len(params))
	for i, p := range params {
		enc[i] = param{oauth1.PercentEncode(p.k), oauth1.PercentEncode(p.v)}
	}
	slices.SortFunc(enc, func(a, b param) int {
		if c := strings.Compare(a.k, b.k); c != 0 {
			return c
		}
		return strings.Compare(a.v, b.v)
	})
	var norm strings.Builder
	for i, p := range enc {
		if i > 0 {
			norm.WriteByte('&')
		}
		norm.WriteString(p.k)
		norm.WriteByte('=')
		norm.WriteString(p.v)
	}
	return strings.ToUpper(method) + "&" + oauth1.PercentEncode(baseURI) + "&" + oauth1.PercentEncode(norm.String())
}

// requestBaseURI returns the base string URI (RFC 5849 §3.4.1.2) of the
// request as this server received it: lower-case scheme and host, the
// default port dropped, the path without the query.
func requestBaseURI(r *http.Request) string {
	scheme, host := "http", strings.ToLower(r.Host)
	if r.TLS != nil {
		scheme = "https"
		host = strings.TrimSuffix(host, ":443")
	} else {
		host = strings.TrimSuffix(host, ":80")
	}
	return scheme + "://" + host + r.URL.EscapedPath()
}
