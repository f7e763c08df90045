package telegramtest

import (
	"encoding/json"
	"fmt"
	"hash/fnv"
	"mime"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf16"
	"unicode/utf8"
)

// Telegram's limits, counted in UTF-16 code units after entity parsing.
const (
	MaxTextLen    = 4096
	MaxCaptionLen = 1024
)

// Request is one request the fake received.
type Request struct {
	// Method is the Bot API method, e.g. "sendMessage".
	Method string
	// ChatID is the chat_id parameter as sent.
	ChatID string
	// Text is the text parameter, or the caption for sendPhoto, as sent.
	Text string
	// ParseMode is the parse_mode parameter.
	ParseMode string
	// Params holds every form field.
	Params url.Values
	// Status is the HTTP status the fake answered with (0 for a hanging
	// answer that never completed).
	Status int
	// Description is the error description of the answer, if any.
	Description string
}

// Visible returns the text a user would see: r.Text with HTML tags removed
// and entities decoded when ParseMode is HTML. It returns r.Text unchanged
// when the HTML does not parse.
func (r Request) Visible() string {
	if !strings.EqualFold(r.ParseMode, "HTML") {
		return r.Text
	}
	v, err := ParseHTML(r.Text)
	if err != nil {
		return r.Text
	}
	return v
}

// Reply is a scripted answer.
type Reply struct {
	// Code is the HTTP status and error_code; 0 or 200 answers success.
	Code int
	// Description is the error description.
	Description string
	// RetryAfter sets parameters.retry_after (seconds).
	RetryAfter int
	// MigrateTo sets parameters.migrate_to_chat_id.
	MigrateTo int64
	// Body, when set, is sent verbatim instead of a JSON answer (a proxy's
	// HTML error page).
	Body string
	// ContentType is the Content-Type sent with Body.
	ContentType string
	// Hang blocks the answer until the request's context ends or the server
	// closes.
	Hang bool
}

// OK answers success (the method's normal result).
func OK() Reply { return Reply{} }

// TooManyRequests answers 429 with parameters.retry_after = seconds.
func TooManyRequests(seconds int) Reply {
	return Reply{Code: 429, Description: fmt.Sprintf("Too Many Requests: retry after %d", seconds), RetryAfter: seconds}
}

// Blocked answers 403 "Forbidden: bot was blocked by the user".
func Blocked() Reply { return Reply{Code: 403, Description: "Forbidden: bot was blocked by the user"} }

// Kicked answers 403 "Forbidden: bot was kicked from the group chat".
func Kicked() Reply {
	return Reply{Code: 403, Description: "Forbidden: bot was kicked from the group chat"}
}

// Migrated answers 400 with parameters.migrate_to_chat_id = to.
func Migrated(to int64) Reply {
	return Reply{Code: 400, Description: "Bad Request: group chat was upgraded to a supergroup chat", MigrateTo: to}
}

// BadRequest answers 400 with the description "Bad Request: " + desc.
func BadRequest(desc string) Reply { return Reply{Code: 400, Description: "Bad Request: " + desc} }

// Error answers code with the given description.
func Error(code int, desc string) Reply { return Reply{Code: code, Description: desc} }

// ServerError answers code (5xx) with a JSON error like Telegram's.
func ServerError(code int) Reply {
	return Reply{Code: code, Description: http.StatusText(code)}
}

// HTMLPage answers code with an HTML page, like a proxy in front of the API.
func HTMLPage(code int) Reply {
	return Reply{Code: code, ContentType: "text/html",
		Body: fmt.Sprintf("<html><head><title>%d %s</title></head><body><center><h1>%d %s</h1></center><hr><center>nginx</center></body></html>\n",
			code, http.StatusText(code), code, http.StatusText(code))}
}

// Hang never answers: the request blocks until its context ends or the
// server closes.
func Hang() Reply { return Reply{Hang: true} }

// Server is a fake Bot API server. Its methods are safe for concurrent use.
type Server struct {
	// URL is the server's base URL, to use as the Bot API endpoint base
	// (like https://api.telegram.org).
	URL string
	// Token is the bot token the server accepts.
	Token string

	srv     *httptest.Server
	closing chan struct{}
	once    sync.Once

	mu       sync.Mutex
	reqs     []Request
	anyQ     []Reply
	chatQ    map[string][]Reply
	sticky   map[string]Reply
	nextID   int
	received chan struct{}
}

// NewServer starts a fake server that accepts token and closes it when the
// test ends.
func NewServer(t testing.TB, token string) *Server {
	s := &Server{
		Token:    token,
		closing:  make(chan struct{}),
		chatQ:    map[string][]Reply{},
		sticky:   map[string]Reply{},
		received: make(chan struct{}, 1),
	}
	s.srv = httptest.NewServer(http.HandlerFunc(s.serve))
	s.URL = s.srv.URL
	t.Cleanup(s.Close)
	return s
}

// Close unblocks hanging answers and shuts the server down. It may be called
// more than once.
func (s *Server) Close() {
	s.once.Do(func() {
		close(s.closing)
		s.srv.Close()
	})
}

// Requests returns a copy of every request received so far, in order.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Request, len(s.reqs))
	copy(out, s.reqs)
	return out
}

// Sent returns the sendMessage and sendPhoto requests that were answered with
// success, in order.
func (s *Server) Sent() []Request {
	var out []Request
	for _, r := range s.Requests() {
		if (r.Method == "sendMessage" || r.Method == "sendPhoto") && r.Status == http.StatusOK {
			out = append(out, r)
		}
	}
	return out
}

// Received returns a channel that receives a value (without blocking the
// server, coalesced) after each recorded request; tests use it to wait for a
// request to arrive, e.g. a hanging one.
func (s *Server) Received() <-chan struct{} { return s.received }

// Enqueue scripts the next answers to requests for chat, one per request, in
// order; when they are used up the chat is answered normally again. An empty
// chat scripts the next calls whatever their chat or method (getMe
// included); those answers are used before any chat's.
func (s *Server) Enqueue(chat string, replies ...Reply) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if chat == "" {
		s.anyQ = append(s.anyQ, replies...)
		return
	}
	s.chatQ[chat] = append(s.chatQ[chat], replies...)
}

// Block makes every later send to chat answer 403 "bot was blocked by the
// user", as Telegram does until the user unblocks the bot.
func (s *Server) Block(chat string) { s.Always(chat, Blocked()) }

// Migrate makes every later send to chat answer 400 with
// migrate_to_chat_id = to, as Telegram does for a group upgraded to a
// supergroup.
func (s *Server) Migrate(chat string, to int64) { s.Always(chat, Migrated(to)) }

// Always makes every later request for chat (after its queued answers) get
// reply.
func (s *Server) Always(chat string, reply Reply) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.sticky[chat] = reply
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	token, method, ok := splitPath(r.URL.Path)
	if err := parseForm(r); err != nil {
		writeJSON(w, Reply{Code: 400, Description: "Bad Request: " + err.Error()}, nil)
		return
	}
	req := Request{
		Method:    method,
		ChatID:    r.Form.Get("chat_id"),
		Text:      r.Form.Get("text"),
		ParseMode: r.Form.Get("parse_mode"),
		Params:    r.Form,
	}
	if method == "sendPhoto" {
		req.Text = r.Form.Get("caption")
	}
	reply, result := s.answer(r, req, ok && token == s.Token)
	req.Status, req.Description = reply.Code, reply.Description
	if req.Status == 0 {
		req.Status = http.StatusOK
	}
	if reply.Hang {
		req.Status = 0
	}
	s.mu.Lock()
	s.reqs = append(s.reqs, req)
	s.mu.Unlock()
	select {
	case s.received <- struct{}{}:
	default:
	}

	switch {
	case reply.Hang:
		select {
		case <-r.Context().Done():
		case <-s.closing:
		}
	case reply.Body != "":
		w.Header().Set("Content-Type", reply.ContentType)
		w.WriteHeader(reply.Code)
		fmt.Fprint(w, reply.Body)
	default:
		writeJSON(w, reply, result)
	}
}

// answer decides the reply: token, method, scripted answers, validation, and
// finally success with result.
func (s *Server) answer(r *http.Request, req Request, tokenOK bool) (Reply, any) {
	if !tokenOK {
		return Reply{Code: 401, Description: "Unauthorized"}, nil
	}
	switch req.Method {
	case "getMe", "sendMessage", "sendPhoto":
	default:
		return Reply{Code: 404, Description: "Not Found"}, nil
	}
	s.mu.Lock()
	reply, scripted := s.scripted(req)
	s.nextID++
	id := s.nextID
	s.mu.Unlock()
	if scripted && (reply.Code != 0 && reply.Code != http.StatusOK || reply.Hang || reply.Body != "") {
		return reply, nil
	}
	switch req.Method {
	case "getMe":
		return Reply{}, s.me()
	case "sendMessage":
		if req.ChatID == "" {
			return BadRequest("chat_id is empty"), nil
		}
		visible, bad := checkText(req.Text, req.ParseMode)
		if bad != nil {
			return *bad, nil
		}
		if strings.TrimSpace(visible) == "" {
			return BadRequest("message text is empty"), nil
		}
		if utf16Len(visible) > MaxTextLen {
			return BadRequest("message is too long"), nil
		}
		return Reply{}, message(id, req.ChatID, "text", visible)
	default: // sendPhoto
		if req.ChatID == "" {
			return BadRequest("chat_id is empty"), nil
		}
		if r.Form.Get("photo") == "" && (r.MultipartForm == nil || len(r.MultipartForm.File["photo"]) == 0) {
			return BadRequest("there is no photo in the request"), nil
		}
		visible, bad := checkText(req.Text, req.ParseMode)
		if bad != nil {
			return *bad, nil
		}
		if utf16Len(visible) > MaxCaptionLen {
			return BadRequest("message caption is too long"), nil
		}
		return Reply{}, message(id, req.ChatID, "caption", visible)
	}
}

// scripted returns the scripted reply for req, if any. s.mu is held.
func (s *Server) scripted(req Request) (Reply, bool) {
	if len(s.anyQ) > 0 {
		r := s.anyQ[0]
		s.anyQ = s.anyQ[1:]
		return r, true
	}
	if req.ChatID == "" {
		return Reply{}, false
	}
	if q := s.chatQ[req.ChatID]; len(q) > 0 {
		s.chatQ[req.ChatID] = q[1:]
		return q[0], true
	}
	r, ok := s.sticky[req.ChatID]
	return r, ok
}

func (s *Server) me() map[string]any {
	id, _ := strconv.ParseInt(strings.SplitN(s.Token, ":", 2)[0], 10, 64)
	return map[string]any{"id": id, "is_bot": true, "first_name": "streambot test", "username": "streambot_test_bot",
		"can_join_groups": true, "can_read_all_group_messages": false, "supports_inline_queries": false}
}

func message(id int, chatID, field, visible string) map[string]any {
	chat := map[string]any{"type": "private"}
	if n, err := strconv.ParseInt(chatID, 10, 64); err == nil {
		chat["id"] = n
		if n < 0 {
			chat["type"] = "supergroup"
		}
	} else {
		h := fnv.New32a()
		h.Write([]byte(chatID))
		chat["id"] = -1000000000000 - int64(h.Sum32())
		chat["type"] = "channel"
		chat["username"] = strings.TrimPrefix(chatID, "@")
	}
	return map[string]any{"message_id": id, "date": time.Now().Unix(), "chat": chat, field: visible}
}

func checkText(text, parseMode string) (string, *Reply) {
	switch strings.ToLower(parseMode) {
	case "":
		return text, nil
	case "html":
		v, err := ParseHTML(text)
		if err != nil {
			r := BadRequest("can't parse entities: " + err.Error())
			return "", &r
		}
		return v, nil
	case "markdown", "markdownv2":
		return text, nil // not checked by the fake
	}
	r := BadRequest("unsupported parse_mode")
	return "", &r
}

func splitPath(p string) (token, method string, ok bool) {
	rest, found := strings.CutPrefix(p, "/bot")
	if !found {
		return "", "", false
	}
	i := strings.LastIndexByte(rest, '/')
	if i < 0 {
		return "", "", false
	}
	return rest[:i], rest[i+1:], true
}

func parseForm(r *http.Request) error {
	ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if ct == "multipart/form-data" {
		return r.ParseMultipartForm(32 << 20)
	}
	return r.ParseForm()
}

func writeJSON(w http.ResponseWriter, reply Reply, result any) {
	code := reply.Code
	if code == 0 {
		code = http.StatusOK
	}
	body := map[string]any{"ok": code == http.StatusOK}
	if code == http.StatusOK {
		if result == nil {
			result = true
		}
		body["result"] = result
	} else {
		body["error_code"] = code
		body["description"] = reply.Description
		params := map[string]any{}
		if reply.RetryAfter > 0 {
			params["retry_after"] = reply.RetryAfter
		}
		if reply.MigrateTo != 0 {
			params["migrate_to_chat_id"] = reply.MigrateTo
		}
		if len(params) > 0 {
			body["parameters"] = params
		}
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	json.NewEncoder(w).Encode(body)
}

// allowedTags are the tags of Telegram's HTML parse mode.
var allowedTags = map[string]bool{
	"b": true, "strong": true, "i": true, "em": true, "u": true, "ins": true,
	"s": true, "strike": true, "del": true, "a": true, "code": true, "pre": true,
	"blockquote": true, "tg-spoiler": true, "span": true, "tg-emoji": true,
}

// ParseHTML parses text in Telegram's HTML parse mode and returns the visible
// text: tags removed, entities decoded. Like Telegram it rejects unknown
// tags, unbalanced tags, a '<' or '&' that starts no tag or entity, and an
// <a> without href. The error has no "can't parse entities" prefix.
func ParseHTML(text string) (string, error) {
	var b strings.Builder
	var stack []string
	for i := 0; i < len(text); {
		c := text[i]
		switch c {
		case '<':
			end := strings.IndexByte(text[i:], '>')
			if end < 0 {
				return "", fmt.Errorf("unclosed start tag at byte offset %d", i)
			}
			tag := text[i+1 : i+end]
			if name, ok := strings.CutPrefix(tag, "/"); ok {
				name = strings.ToLower(strings.TrimSpace(name))
				if len(stack) == 0 || stack[len(stack)-1] != name {
					return "", fmt.Errorf("unmatched end tag at byte offset %d, expected \"</%s>\", found \"</%s>\"", i, top(stack), name)
				}
				stack = stack[:len(stack)-1]
			} else {
				name, attrs, _ := strings.Cut(tag, " ")
				name = strings.ToLower(name)
				if !allowedTags[name] {
					return "", fmt.Errorf("unsupported start tag \"%s\" at byte offset %d", name, i)
				}
				if name == "a" && !strings.Contains(attrs, "href=") {
					return "", fmt.Errorf("can't find href in a tag at byte offset %d", i)
				}
				if strings.ContainsAny(attrs, "<") {
					return "", fmt.Errorf("unexpected '<' in a tag at byte offset %d", i)
				}
				stack = append(stack, name)
			}
			i += end + 1
		case '&':
			r, n := entity(text[i:])
			if n == 0 {
				return "", fmt.Errorf("character '&' at byte offset %d starts no entity", i)
			}
			b.WriteRune(r)
			i += n
		case '>':
			return "", fmt.Errorf("unexpected '>' at byte offset %d", i)
		default:
			r, n := utf8.DecodeRuneInString(text[i:])
			if r == utf8.RuneError && n == 1 {
				return "", fmt.Errorf("text must be encoded in UTF-8 (byte offset %d)", i)
			}
			b.WriteRune(r)
			i += n
		}
	}
	if len(stack) > 0 {
		return "", fmt.Errorf("can't find end tag corresponding to start tag \"%s\"", top(stack))
	}
	return b.String(), nil
}

func top(stack []string) string {
	if len(stack) == 0 {
		return ""
	}
	return stack[len(stack)-1]
}

// entity decodes the HTML entity at the start of s: the named entities
// Telegram supports and numeric ones. n is 0 when s starts no entity.
func entity(s string) (r rune, n int) {
	end := strings.IndexByte(s, ';')
	if end < 2 || end > 12 {
		return 0, 0
	}
	name := s[1:end]
	switch name {
	case "lt":
		return '<', end + 1
	case "gt":
		return '>', end + 1
	case "amp":
		return '&', end + 1
	case "quot":
		return '"', end + 1
	}
	if num, ok := strings.CutPrefix(name, "#"); ok {
		base := 10
		if h, ok := strings.CutPrefix(num, "x"); ok {
			num, base = h, 16
		} else if h, ok := strings.CutPrefix(num, "X"); ok {
			num, base = h, 16
		}
		v, err := strconv.ParseUint(num, base, 32)
		if err != nil || !utf8.ValidRune(rune(v)) {
			return 0, 0
		}
		return rune(v), end + 1
	}
	return 0, 0
}

func utf16Len(s string) int {
	n := 0
	for _, r := range s {
		n += utf16.RuneLen(r)
	}
	return n
}

// UTF16Len returns the length of s in UTF-16 code units, the way this fake
// (strictly) counts Telegram's limits.
func UTF16Len(s string) int { return utf16Len(s) }
