package streamtest

import (
	"context"
	"crypto/tls"
	"errors"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/dghubble/oauth1"
)

// Twitter's documented signing example, a known answer for the base string
// and the HMAC-SHA1 signature. Twitter published it twice: first for the
// v1 API (https://api.twitter.com/1/statuses/update.json, signature
// tnnArxj06cWHq44gCs1OSKk/jLY=, the value dghubble/oauth1's reference test
// pins), later for v1.1 (".../1.1/statuses/update.json", signature
// hCtSmYh+iHYCEqBWrE7C7hYmtUk=). Everything else is the same; both are pinned.
var twitterExample = struct {
	creds Credentials
	body  string
	oauth map[string]string
}{
	creds: Credentials{
		ConsumerKey:    "xvz1evFS4wEEPTGEFPHBog",
		ConsumerSecret: "kAcSOqF21Fu85e7zjz7ZN2U4ZRhfV3WpwPAoE3Z7kBw",
		AccessToken:    "370773112-GmHxMAgYyLbNEtIKZeRNFsMKPR9EyMZeS9weJAEb",
		AccessSecret:   "LswwdoUaIvS8ltyTt5jkRh4J50vUPVVHtR2YPi5kE",
	},
	body: "status=Hello%20Ladies%20%2B%20Gentlemen%2C%20a%20signed%20OAuth%20request%21",
	oauth: map[string]string{
		"oauth_consumer_key":     "xvz1evFS4wEEPTGEFPHBog",
		"oauth_nonce":            "kYjzVBB8Y0ZFabxSWbWovY3uYSQ2pTgmZeNu2VS4cg",
		"oauth_signature_method": "HMAC-SHA1",
		"oauth_timestamp":        "1318622958",
		"oauth_token":            "370773112-GmHxMAgYyLbNEtIKZeRNFsMKPR9EyMZeS9weJAEb",
		"oauth_version":          "1.0",
	},
}

// knownAnswers are the two published versions of the example.
var knownAnswers = []struct {
	name, url, base, signature string
}{
	{
		name:      "v1",
		url:       "https://api.twitter.com/1/statuses/update.json?include_entities=true",
		base:      "POST&https%3A%2F%2Fapi.twitter.com%2F1%2Fstatuses%2Fupdate.json&" + exampleParamString,
		signature: "tnnArxj06cWHq44gCs1OSKk/jLY=",
	},
	{
		name:      "v1.1",
		url:       "https://api.twitter.com/1.1/statuses/update.json?include_entities=true",
		base:      "POST&https%3A%2F%2Fapi.twitter.com%2F1.1%2Fstatuses%2Fupdate.json&" + exampleParamString,
		signature: "hCtSmYh+iHYCEqBWrE7C7hYmtUk=",
	},
}

// exampleParamString is the encoded parameter string of the example.
const exampleParamString = "include_entities%3Dtrue%26oauth_consumer_key%3Dxvz1evFS4wEEPTGEFPHBog%26" +
	"oauth_nonce%3DkYjzVBB8Y0ZFabxSWbWovY3uYSQ2pTgmZeNu2VS4cg%26oauth_signature_method%3DHMAC-SHA1%26" +
	"oauth_timestamp%3D1318622958%26oauth_token%3D370773112-GmHxMAgYyLbNEtIKZeRNFsMKPR9EyMZeS9weJAEb%26" +
	"oauth_version%3D1.0%26status%3DHello%2520Ladies%2520%252B%2520Gentlemen%252C%2520a%2520signed%2520OAuth%2520request%2521"

// TestSignatureBaseKnownAnswer pins the base string and signature of
// Twitter's documented example (RFC 5849 §3.4.1, §3.4.2).
func TestSignatureBaseKnownAnswer(t *testing.T) {
	t.Parallel()
	ex := twitterExample
	form, err := url.ParseQuery(ex.body)
	if err != nil {
		t.Fatal(err)
	}
	for _, ka := range knownAnswers {
		t.Run(ka.name, func(t *testing.T) {
			u, err := url.Parse(ka.url)
			if err != nil {
				t.Fatal(err)
			}
			base := signatureBase("POST", "https://api.twitter.com"+u.Path, collectParams(ex.oauth, u.Query(), form))
			if base != ka.base {
				t.Fatalf("signature base string:\n got %s\nwant %s", base, ka.base)
			}
			sig, err := (&oauth1.HMACSigner{ConsumerSecret: ex.creds.ConsumerSecret}).Sign(ex.creds.AccessSecret, base)
			if err != nil {
				t.Fatal(err)
			}
			if sig != ka.signature {
				t.Fatalf("signature = %s, want %s", sig, ka.signature)
			}
		})
	}
}

// exampleRequest returns the documented example as the server would receive
// it over TLS, its Authorization header carrying signature.
func exampleRequest(t *testing.T, rawURL, signature, body string) (*http.Request, url.Values) {
	t.Helper()
	ex := twitterExample
	r, err := http.NewRequest("POST", rawURL, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	r.TLS = &tls.ConnectionState{}
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	var h strings.Builder
	h.WriteString("OAuth ")
	for k, v := range ex.oauth {
		h.WriteString(oauth1.PercentEncode(k) + `="` + oauth1.PercentEncode(v) + `", `)
	}
	h.WriteString(`oauth_signature="` + oauth1.PercentEncode(signature) + `"`)
	r.Header.Set("Authorization", h.String())
	form, err := url.ParseQuery(body)
	if err != nil {
		t.Fatal(err)
	}
	return r, form
}

// TestVerifyKnownAnswer runs the documented example through the whole
// verification path: header parsing, parameter collection, base URI.
func TestVerifyKnownAnswer(t *testing.T) {
	t.Parallel()
	ex := twitterExample
	for _, ka := range knownAnswers {
		t.Run(ka.name, func(t *testing.T) {
			r, form := exampleRequest(t, ka.url, ka.signature, ex.body)
			if err := verifyOAuth1(r, form, ex.creds); err != nil {
				t.Fatalf("documented example rejected: %v", err)
			}

			tampered := strings.Replace(ex.body, "Ladies", "Lads", 1)
			r, form = exampleRequest(t, ka.url, ka.signature, tampered)
			if err := verifyOAuth1(r, form, ex.creds); !errors.Is(err, errSignatureMismatch) {
				t.Fatalf("tampered body: err = %v, want %v", err, errSignatureMismatch)
			}
		})
	}
}

func TestParseAuthorization(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		header string
		want   map[string]string
		err    error
	}{
		{"quoted", `OAuth oauth_token="a%2Bb", oauth_nonce="n"`, map[string]string{"oauth_token": "a+b", "oauth_nonce": "n"}, nil},
		{"scheme case and spacing", `oauth   realm="r" ,oauth_nonce=n,`, map[string]string{"realm": "r", "oauth_nonce": "n"}, nil},
		{"percent-encoded comma", `OAuth oauth_signature="x%2Cy%3D"`, map[string]string{"oauth_signature": "x,y="}, nil},
		{"other scheme", `Bearer abc`, nil, errNoAuthorization},
		{"no equals", `OAuth oauth_nonce`, nil, errBadAuthorization},
		{"duplicate", `OAuth oauth_nonce="a", oauth_nonce="b"`, nil, errBadAuthorization},
		{"bad escape", `OAuth oauth_nonce="%zz"`, nil, errBadAuthorization},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseAuthorization(tt.header)
			if !errors.Is(err, tt.err) {
				t.Fatalf("err = %v, want %v", err, tt.err)
			}
			if len(got) != len(tt.want) {
				t.Fatalf("got %v, want %v", got, tt.want)
			}
			for k, v := range tt.want {
				if got[k] != v {
					t.Errorf("%s = %q, want %q", k, got[k], v)
				}
			}
		})
	}
}

// capture is a RoundTripper that keeps the request oauth1's transport signed
// instead of sending it.
type capture struct{ req *http.Request }

func (c *capture) RoundTrip(r *http.Request) (*http.Response, error) {
	c.req = r
	return &http.Response{StatusCode: http.StatusOK, Body: io.NopCloser(strings.NewReader("")), Request: r}, nil
}

// signed returns a request signed by oauth1's own client for creds, and its
// form parameters.
func signed(t *testing.T, creds Credentials, method, rawURL string, form url.Values) (*http.Request, url.Values) {
	t.Helper()
	c := &capture{}
	ctx := context.WithValue(context.Background(), oauth1.HTTPClient, &http.Client{Transport: c})
	client := oauth1.NewConfig(creds.ConsumerKey, creds.ConsumerSecret).Client(ctx, oauth1.NewToken(creds.AccessToken, creds.AccessSecret))
	var err error
	if form != nil {
		_, err = client.PostForm(rawURL, form)
	} else {
		var req *http.Request
		req, err = http.NewRequest(method, rawURL, nil)
		if err == nil {
			_, err = client.Do(req)
		}
	}
	if err != nil {
		t.Fatal(err)
	}
	// The server sees the Host header and the path of the request line.
	r := c.req.Clone(context.Background())
	r.Host = r.URL.Host
	if r.URL.Scheme == "https" {
		r.TLS = &tls.ConnectionState{}
	}
	return r, form
}

// TestVerify covers each way a request can fail verification, with
// requests signed by oauth1's client.
func TestVerify(t *testing.T) {
	t.Parallel()
	good := Credentials{ConsumerKey: "ck", ConsumerSecret: "cs&%/", AccessToken: "at", AccessSecret: "as +"}
	const local = "http://127.0.0.1:8080" + FilterPath
	wrong := func(f func(*Credentials)) Credentials { c := good; f(&c); return c }
	edit := func(old, repl string) func(*http.Request) {
		return func(r *http.Request) {
			r.Header.Set("Authorization", strings.Replace(r.Header.Get("Authorization"), old, repl, 1))
		}
	}
	tests := []struct {
		name   string
		signer Credentials
		method string
		url    string
		form   url.Values
		edit   func(*http.Request)
		want   error
	}{
		{"GET with query", good, "GET", local + "?track=python%2Cgo+lang&stall_warnings=true", nil, nil, nil},
		{"POST with form", good, "POST", local + "?delimited=length", url.Values{"track": {"python,rust! go"}, "follow": {"1,2"}}, nil, nil},
		// RFC 5849 §3.4.1.3.2 signs every value of a repeated name; oauth1
		// signs only the first, so Twitter (and this server) reject it.
		{"repeated form name", good, "POST", local, url.Values{"track": {"python", "rust"}}, nil, errSignatureMismatch},
		{"canonical host", good, "GET", CanonicalFilterURL + "?track=python", nil, func(r *http.Request) {
			r.Host, r.URL.Host, r.TLS = "127.0.0.1:8080", "127.0.0.1:8080", nil
		}, nil},
		{"default port dropped", good, "GET", "http://localhost:80" + FilterPath + "?track=x", nil, nil, nil},
		{"wrong consumer secret", wrong(func(c *Credentials) { c.ConsumerSecret = "nope" }), "GET", local + "?track=x", nil, nil, errSignatureMismatch},
		{"wrong access secret", wrong(func(c *Credentials) { c.AccessSecret = "nope" }), "POST", local, url.Values{"track": {"x"}}, nil, errSignatureMismatch},
		{"wrong consumer key", wrong(func(c *Credentials) { c.ConsumerKey = "nope" }), "GET", local + "?track=x", nil, nil, errConsumerKey},
		{"wrong token", wrong(func(c *Credentials) { c.AccessToken = "nope" }), "GET", local + "?track=x", nil, nil, errToken},
		{"query changed after signing", good, "GET", local + "?track=x", nil, func(r *http.Request) { r.URL.RawQuery = "track=y" }, errSignatureMismatch},
		{"other host", good, "GET", "http://example.com" + FilterPath + "?track=x", nil, func(r *http.Request) { r.Host = "127.0.0.1:8080" }, errSignatureMismatch},
		{"no header", good, "GET", local, nil, func(r *http.Request) { r.Header.Del("Authorization") }, errNoAuthorization},
		{"plaintext", good, "GET", local, nil, edit("HMAC-SHA1", "PLAINTEXT"), errSignatureMethod},
		{"version", good, "GET", local, nil, edit(`oauth_version="1.0"`, `oauth_version="2.0"`), errVersion},
		{"no nonce", good, "GET", local, nil, edit("oauth_nonce=", "oauth_noncx="), errMissingParam},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, form := signed(t, tt.signer, tt.method, tt.url, tt.form)
			if tt.edit != nil {
				tt.edit(r)
			}
			err := verifyOAuth1(r, form, good)
			if !errors.Is(err, tt.want) {
				t.Fatalf("verify = %v, want %v", err, tt.want)
			}
			if err != nil {
				for _, secret := range []string{good.ConsumerSecret, good.AccessSecret} {
					if strings.Contains(err.Error(), secret) {
						t.Fatalf("error %q leaks a secret", err)
					}
				}
			}
		})
	}
}

func TestCredentialsFromEnv(t *testing.T) {
	t.Parallel()
	env := map[string]string{EnvConsumerKey: "k", EnvAccessSecret: "s"}
	got := CredentialsFromEnv(func(k string) string { return env[k] })
	want := Credentials{ConsumerKey: "k", ConsumerSecret: DemoConsumerSecret, AccessToken: DemoAccessToken, AccessSecret: "s"}
	if got != want {
		t.Fatalf("CredentialsFromEnv = %+v, want %+v", got, want)
	}
	if got := CredentialsFromEnv(func(string) string { return "" }); got != DemoCredentials() {
		t.Fatalf("unset environment = %+v, want the demo credentials", got)
	}
}
