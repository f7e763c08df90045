package telegramtest

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"mime/multipart"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"
)

const token = "42:fake-token"

type answer struct {
	status int
	ct     string
	body   string
	json   struct {
		OK          bool            `json:"ok"`
		Result      json.RawMessage `json:"result"`
		ErrorCode   int             `json:"error_code"`
		Description string          `json:"description"`
		Parameters  *struct {
			RetryAfter int   `json:"retry_after"`
			MigrateTo  int64 `json:"migrate_to_chat_id"`
		} `json:"parameters"`
	}
}

func post(t *testing.T, base, tok, method string, form url.Values) answer {
	t.Helper()
	resp, err := http.PostForm(base+"/bot"+tok+"/"+method, form)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	a := answer{status: resp.StatusCode, ct: resp.Header.Get("Content-Type"), body: string(b)}
	if strings.HasPrefix(a.ct, "application/json") {
		if err := json.Unmarshal(b, &a.json); err != nil {
			t.Fatalf("%s: %v", b, err)
		}
	}
	return a
}

func TestAnswersLikeTheBotAPI(t *testing.T) {
	t.Parallel()
	s := NewServer(t, token)
	msg := func(chat, text string) url.Values {
		return url.Values{"chat_id": {chat}, "text": {text}, "parse_mode": {"HTML"}}
	}
	tests := []struct {
		name, tok, method string
		form              url.Values
		status            int
		desc              string
	}{
		{"getMe", token, "getMe", nil, 200, ""},
		{"wrong token", "42:other", "getMe", nil, 401, "Unauthorized"},
		{"unknown method", token, "sendDice", nil, 404, "Not Found"},
		{"message", token, "sendMessage", msg("1", "<b>hi</b> &amp; &#39;"), 200, ""},
		{"no chat", token, "sendMessage", msg("", "hi"), 400, "Bad Request: chat_id is empty"},
		{"empty text", token, "sendMessage", msg("1", " <b> </b> "), 400, "Bad Request: message text is empty"},
		{"bad tag", token, "sendMessage", msg("1", "<script>x</script>"), 400, "Bad Request: can't parse entities: unsupported start tag \"script\" at byte offset 0"},
		{"unclosed tag", token, "sendMessage", msg("1", "<b>x"), 400, "Bad Request: can't parse entities: can't find end tag corresponding to start tag \"b\""},
		{"bare ampersand", token, "sendMessage", msg("1", "a & b"), 400, "Bad Request: can't parse entities: character '&' at byte offset 2 starts no entity"},
		{"4096 characters", token, "sendMessage", msg("1", strings.Repeat("&amp;", 4096)), 200, ""},
		{"4097 characters", token, "sendMessage", msg("1", strings.Repeat("a", 4097)), 400, "Bad Request: message is too long"},
		{"2049 emoji", token, "sendMessage", msg("1", strings.Repeat("😀", 2049)), 400, "Bad Request: message is too long"},
		{"plain text is not parsed", token, "sendMessage", url.Values{"chat_id": {"1"}, "text": {"a & <b"}}, 200, ""},
		{"photo without photo", token, "sendPhoto", url.Values{"chat_id": {"1"}}, 400, "Bad Request: there is no photo in the request"},
		{"photo by URL", token, "sendPhoto", url.Values{"chat_id": {"@chan"}, "photo": {"https://x/y.jpg"}, "caption": {"c"}}, 200, ""},
		{"caption too long", token, "sendPhoto", url.Values{"chat_id": {"1"}, "photo": {"x"}, "caption": {strings.Repeat("c", 1025)}}, 400, "Bad Request: message caption is too long"},
	}
	for _, tc := range tests {
		a := post(t, s.URL, tc.tok, tc.method, tc.form)
		if a.status != tc.status || a.json.ErrorCode != map[bool]int{true: 0, false: tc.status}[tc.status == 200] ||
			a.json.Description != tc.desc || a.json.OK != (tc.status == 200) {
			t.Errorf("%s: %d %s", tc.name, a.status, a.body)
		}
	}
	reqs := s.Requests()
	if len(reqs) != len(tests) {
		t.Fatalf("recorded %d requests, want %d", len(reqs), len(tests))
	}
	if r := reqs[3]; r.Method != "sendMessage" || r.ChatID != "1" || r.Text != "<b>hi</b> &amp; &#39;" || r.ParseMode != "HTML" ||
		r.Status != 200 || r.Visible() != "hi & '" {
		t.Errorf("recorded %+v", r)
	}
	if r := reqs[6]; r.Status != 400 || !strings.Contains(r.Description, "unsupported start tag") {
		t.Errorf("recorded failure %+v", r)
	}
	if got := len(s.Sent()); got != 4 {
		t.Errorf("Sent() has %d, want 4", got)
	}
}

func TestScriptedAnswers(t *testing.T) {
	t.Parallel()
	s := NewServer(t, token)
	s.Enqueue("", ServerError(502))
	s.Enqueue("1", TooManyRequests(9), Migrated(-100123), Blocked(), BadRequest("chat not found"), HTMLPage(502), Kicked())
	s.Migrate("7", -1007)
	form := url.Values{"chat_id": {"1"}, "text": {"x"}}
	var got []string
	for range 8 {
		a := post(t, s.URL, token, "sendMessage", form)
		line := a.json.Description
		if a.json.Parameters != nil {
			line += " " + strings.TrimSpace(strings.Join([]string{itoa(a.json.Parameters.RetryAfter), itoa(int(a.json.Parameters.MigrateTo))}, " "))
		}
		if a.ct == "text/html" {
			line = "html " + itoa(a.status)
		}
		got = append(got, line)
	}
	want := []string{
		"Bad Gateway", // the any-chat queue comes first
		"Too Many Requests: retry after 9 9 0",
		"Bad Request: group chat was upgraded to a supergroup chat 0 -100123",
		"Forbidden: bot was blocked by the user",
		"Bad Request: chat not found",
		"html 502",
		"Forbidden: bot was kicked from the group chat",
		"", // the script is used up
	}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("answers\n%q\nwant\n%q", got, want)
	}
	for range 2 {
		if a := post(t, s.URL, token, "sendMessage", url.Values{"chat_id": {"7"}, "text": {"x"}}); a.json.Parameters == nil || a.json.Parameters.MigrateTo != -1007 {
			t.Errorf("migrated chat answered %s", a.body)
		}
	}
	if a := post(t, s.URL, token, "sendMessage", url.Values{"chat_id": {"-1007"}, "text": {"x"}}); a.status != 200 {
		t.Errorf("new chat answered %s", a.body)
	}
}

func itoa(n int) string { return strconv.Itoa(n) }

func TestMultipartPhoto(t *testing.T) {
	t.Parallel()
	s := NewServer(t, token)
	var body bytes.Buffer
	w := multipart.NewWriter(&body)
	w.WriteField("chat_id", "5")
	w.WriteField("caption", "<i>pic</i>")
	w.WriteField("parse_mode", "HTML")
	fw, _ := w.CreateFormFile("photo", "p.jpg")
	fw.Write([]byte("jpeg"))
	w.Close()
	resp, err := http.Post(s.URL+"/bot"+token+"/sendPhoto", w.FormDataContentType(), &body)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("status %d", resp.StatusCode)
	}
	if r := s.Sent(); len(r) != 1 || r[0].ChatID != "5" || r[0].Text != "<i>pic</i>" || r[0].Visible() != "pic" {
		t.Errorf("recorded %+v", r)
	}
}

func TestHangEndsWithTheRequest(t *testing.T) {
	t.Parallel()
	s := NewServer(t, token)
	s.Enqueue("", Hang(), Hang())
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "POST", s.URL+"/bot"+token+"/getMe", nil)
	if _, err := http.DefaultClient.Do(req); err == nil {
		t.Error("a hanging answer answered")
	}
	// Close unblocks a hanging answer too.
	done := make(chan error, 1)
	go func() {
		resp, err := http.Post(s.URL+"/bot"+token+"/getMe", "", nil)
		if err == nil {
			resp.Body.Close()
		}
		done <- err
	}()
	for len(s.Requests()) < 2 {
		<-s.Received()
	}
	s.Close()
	<-done
	if r := s.Requests(); len(r) != 2 || r[0].Status != 0 || r[1].Status != 0 {
		t.Errorf("recorded %+v", r)
	}
}

func TestParseHTML(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		in, want string
		ok       bool
	}{
		{`<b>bold</b> <a href="https://x">link</a> &lt;&gt;&amp;&quot;&#39;&#x1F600;`, `bold link <>&"'😀`, true},
		{`<B>x</B>`, "x", true},
		{`<tg-spoiler>s</tg-spoiler><span class="tg-spoiler">t</span>`, "st", true},
		{`<a>x</a>`, "", false},
		{`<b><i>x</b></i>`, "", false},
		{`x > y`, "", false},
		{`&nbsp;`, "", false},
		{"\xff", "", false},
	} {
		got, err := ParseHTML(tc.in)
		if (err == nil) != tc.ok || got != tc.want {
			t.Errorf("ParseHTML(%q) = %q, %v", tc.in, got, err)
		}
	}
	if n := UTF16Len("a😀é"); n != 4 {
		t.Errorf("UTF16Len = %d", n)
	}
}
