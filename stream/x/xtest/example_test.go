package xtest_test

import (
	"bufio"
	"encoding/json"
	"fmt"
	"log"
	"net/http"
	"net/http/httptest"
	"strings"

	"github.com/streambot/streambot/stream/x"
	"github.com/streambot/streambot/stream/x/xtest"
)

// The fake speaks X's wire protocol, so any HTTP client can use it: add a
// rule, then read the stream, which carries only the posts that match a
// rule, each with the rules it matched.
func ExampleNewServer() {
	srv, err := xtest.NewServer(xtest.Config{Posts: [][]byte{
		[]byte(`{"id":"1","text":"Python 3.13 is out","author_id":"7"}`),
		[]byte(`{"id":"2","text":"First tomatoes of the season","author_id":"8"}`),
	}})
	if err != nil {
		log.Fatal(err)
	}
	ts := httptest.NewServer(srv)
	defer ts.Close()
	call := func(method, path, body string) *http.Response {
		req, err := http.NewRequest(method, ts.URL+path, strings.NewReader(body))
		if err != nil {
			log.Fatal(err)
		}
		req.Header.Set("Authorization", "Bearer "+xtest.DemoToken)
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			log.Fatal(err)
		}
		return resp
	}

	resp := call("POST", x.RulesPath, `{"add":[{"value":"python","tag":"py"}]}`)
	var added struct {
		Data []struct{ ID, Value, Tag string }
		Meta struct{ Summary map[string]int }
	}
	if err := json.NewDecoder(resp.Body).Decode(&added); err != nil {
		log.Fatal(err)
	}
	resp.Body.Close()
	fmt.Println("added:", added.Data, added.Meta.Summary)

	resp = call("GET", x.StreamPath+"?"+x.StreamQuery, "")
	line, err := bufio.NewReader(resp.Body).ReadString('\n')
	if err != nil {
		log.Fatal(err)
	}
	resp.Body.Close()
	fmt.Printf("%d %q\n", resp.StatusCode, line)

	srv.Close()
	for _, r := range srv.Requests() {
		fmt.Println(r.Method, r.Path, r.Authorized, r.Status)
	}
	// Output:
	// added: [{1600000000001000003 python py}] map[created:1 invalid:0 not_created:0 valid:1]
	// 200 "{\"data\":{\"id\":\"1\",\"text\":\"Python 3.13 is out\",\"author_id\":\"7\"},\"matching_rules\":[{\"id\":\"1600000000001000003\",\"tag\":\"py\"}]}\r\n"
	// POST /2/tweets/search/stream/rules true 200
	// GET /2/tweets/search/stream true 200
}
