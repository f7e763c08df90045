package x

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/streambot/streambot/stream"
	"github.com/streambot/streambot/stream/twitter"
)

// maxRulesBody bounds a rules response: a thousand rules of a kilobyte
// each, with room to spare.
const maxRulesBody = 4 << 20

// maxRulePages bounds the pages ListRules follows, against a server whose
// next_token never ends.
const maxRulePages = 100

// ProblemDuplicateRule is the title of X's answer to adding a rule whose
// value already exists.
const ProblemDuplicateRule = "DuplicateRule"

// SyncResult is what SyncRules found and changed. Every rule carries its
// server ID.
type SyncResult struct {
	// Kept are the wanted rules that already existed.
	Kept []Rule
	// Added are the rules SyncRules created.
	Added []Rule
	// Deleted are the rules SyncRules removed: rules the app had that are
	// not wanted (another tag or another value).
	Deleted []Rule
}

// rulesResponse is the answer of both rules endpoints.
type rulesResponse struct {
	Data []struct {
		ID    string `json:"id"`
		Value string `json:"value"`
		Tag   string `json:"tag"`
	} `json:"data"`
	Meta struct {
		ResultCount int    `json:"result_count"`
		NextToken   string `json:"next_token"`
		Summary     struct {
			Created    int `json:"created"`
			NotCreated int `json:"not_created"`
			Deleted    int `json:"deleted"`
			NotDeleted int `json:"not_deleted"`
			Valid      int `json:"valid"`
			Invalid    int `json:"invalid"`
		} `json:"summary"`
	} `json:"meta"`
	Errors []Problem `json:"errors"`
}

func (r *rulesResponse) rules() []Rule {
	out := make([]Rule, 0, len(r.Data))
	for _, d := range r.Data {
		out = append(out, Rule{ID: d.ID, Value: d.Value, Tag: d.Tag})
	}
	return out
}

// ListRules returns the app's current stream rules, following pagination.
//
// Errors are a *stream.PermanentError for answers that need a person
// (401, 403, ...), otherwise worth a retry; none carries the token.
func (s *Source) ListRules(ctx context.Context) ([]Rule, error) {
	var all []Rule
	next := ""
	for range maxRulePages {
		u := s.rulesURL
		if next != "" {
			u += "?pagination_token=" + url.QueryEscape(next)
		}
		var resp rulesResponse
		if err := s.rulesRequest(ctx, http.MethodGet, u, nil, &resp); err != nil {
			return nil, err
		}
		all = append(all, resp.rules()...)
		if next = resp.Meta.NextToken; next == "" {
			return all, nil
		}
	}
	return nil, &retryable{twitter.ReasonHTTP, fmt.Errorf("x: listing the rules: more than %d pages", maxRulePages)}
}

// SyncRules makes the app's rule set exactly Config.Rules and reports what
// it did. Run calls it before it connects; a command-line tool may call it
// alone. It is idempotent: after a failure, calling it again finishes the
// job.
//
// Rules whose value and tag are both wanted are kept; wanted rules that do
// not exist are added; the others are deleted. The additions are first
// validated with dry_run=true, so an invalid rule changes nothing: it is
// a *stream.PermanentError that names the route (the tag), the rule and
// X's explanation. Then they are added for real and only then are the
// stale rules deleted, so the stream never runs without the rules it
// needs. (A rule whose value is kept under a new tag is the exception:
// X holds a value once, so the old one is deleted just before the add.)
//
// Other errors are a *stream.PermanentError for answers that need a person
// (401, 403, ...) and worth a retry otherwise; none carries the token.
func (s *Source) SyncRules(ctx context.Context) (SyncResult, error) {
	var res SyncResult
	existing, err := s.ListRules(ctx)
	if err != nil {
		return res, err
	}
	type key struct{ value, tag string }
	wanted := map[key]bool{}
	for _, r := range s.cfg.Rules {
		wanted[key{r.Value, r.Tag}] = true
	}
	present := map[key]bool{}
	var stale []Rule
	for _, r := range existing {
		k := key{r.Value, r.Tag}
		if wanted[k] && !present[k] {
			present[k] = true
			res.Kept = append(res.Kept, r)
		} else {
			stale = append(stale, r)
		}
	}
	var add []Rule
	adding := map[string]bool{} // values
	for _, r := range s.cfg.Rules {
		if !present[key{r.Value, r.Tag}] {
			add = append(add, r)
			adding[r.Value] = true
		}
	}
	// Stale rules that hold a value about to be added under another tag.
	var retag, rest []Rule
	for _, r := range stale {
		if adding[r.Value] {
			retag = append(retag, r)
		} else {
			rest = append(rest, r)
		}
	}
	retagged := func(p Problem) bool {
		return p.Title == ProblemDuplicateRule && slices.ContainsFunc(retag, func(r Rule) bool { return r.Value == p.Value })
	}

	if len(add) > 0 {
		resp, err := s.addRules(ctx, add, true)
		if err != nil {
			return res, err
		}
		if err := s.ruleErrors(resp.Errors, retagged); err != nil {
			return res, err
		}
	}
	if len(retag) > 0 {
		if err := s.deleteRules(ctx, retag); err != nil {
			return res, err
		}
		res.Deleted = append(res.Deleted, retag...)
	}
	if len(add) > 0 {
		resp, err := s.addRules(ctx, add, false)
		if err != nil {
			return res, err
		}
		res.Added = resp.rules()
		if err := s.ruleErrors(resp.Errors, func(Problem) bool { return false }); err != nil {
			return res, err
		}
		if len(res.Added) != len(add) {
			return res, &retryable{twitter.ReasonHTTP, fmt.Errorf("x: adding %d rules created %d", len(add), len(res.Added))}
		}
	}
	if len(rest) > 0 {
		if err := s.deleteRules(ctx, rest); err != nil {
			return res, err
		}
		res.Deleted = append(res.Deleted, rest...)
	}
	s.log.Info("x: rules synced", "kept", len(res.Kept), "added", len(res.Added), "deleted", len(res.Deleted),
		"rules", rulesAttr(s.cfg.Rules), "removed", rulesAttr(res.Deleted))
	return res, nil
}

// rulesAttr formats rules for a log line.
func rulesAttr(rules []Rule) string {
	parts := make([]string, len(rules))
	for i, r := range rules {
		parts[i] = r.String()
	}
	return strings.Join(parts, " ")
}

// ruleErrors turns the errors of an add into an error: an invalid rule is
// permanent and names its route; a duplicate (someone changed the rules
// since they were listed) is worth a retry. Problems for which ignore
// returns true are expected and skipped.
func (s *Source) ruleErrors(problems []Problem, ignore func(Problem) bool) error {
	var invalid, other []string
	for _, p := range problems {
		if ignore(p) {
			continue
		}
		what := s.secrets.Redact(p.text())
		var route string
		for _, r := range s.cfg.Rules {
			if r.Value == p.Value {
				route = r.Tag
			}
		}
		switch {
		case p.Title == ProblemDuplicateRule:
			other = append(other, s.secrets.Redact(fmt.Sprintf("rule %q already exists (id %s)", p.Value, p.ID)))
		case route != "":
			invalid = append(invalid, fmt.Sprintf("the rule of route %q, %q: %s", route, p.Value, what)) // values are ours
		default:
			invalid = append(invalid, what)
		}
	}
	if len(invalid) > 0 {
		return &stream.PermanentError{Err: fmt.Errorf("x: X rejected the rules: %s; fix them in the routes' configuration",
			strings.Join(invalid, "; "))}
	}
	if len(other) > 0 {
		return &retryable{twitter.ReasonHTTP, fmt.Errorf("x: the rules changed while syncing: %s", strings.Join(other, "; "))}
	}
	return nil
}

// addRules posts an add request, validating only when dryRun.
func (s *Source) addRules(ctx context.Context, rules []Rule, dryRun bool) (*rulesResponse, error) {
	type item struct {
		Value string `json:"value"`
		Tag   string `json:"tag,omitempty"`
	}
	body := struct {
		Add []item `json:"add"`
	}{}
	for _, r := range rules {
		body.Add = append(body.Add, item{r.Value, r.Tag})
	}
	u := s.rulesURL
	if dryRun {
		u += "?dry_run=true"
	}
	var resp rulesResponse
	if err := s.rulesRequest(ctx, http.MethodPost, u, body, &resp); err != nil {
		return nil, err
	}
	return &resp, nil
}

// deleteRules deletes rules by ID. A rule that no longer exists is not an
// error; any other failure is worth a retry.
func (s *Source) deleteRules(ctx context.Context, rules []Rule) error {
	body := struct {
		Delete struct {
			IDs []string `json:"ids"`
		} `json:"delete"`
	}{}
	for _, r := range rules {
		body.Delete.IDs = append(body.Delete.IDs, r.ID)
	}
	var resp rulesResponse
	if err := s.rulesRequest(ctx, http.MethodPost, s.rulesURL, body, &resp); err != nil {
		return err
	}
	if n := resp.Meta.Summary.NotDeleted; n > 0 {
		var why []string
		for _, p := range resp.Errors {
			why = append(why, s.secrets.Redact(p.text()))
		}
		s.log.Warn("x: some stale rules were not deleted", "not_deleted", n, "errors", strings.Join(why, "; "))
	}
	return nil
}

// rulesRequest sends a request to a rules endpoint and decodes its JSON
// answer into out. A 400 whose body lists rule problems is decoded too, so
// the caller can name the rules.
func (s *Source) rulesRequest(ctx context.Context, method, u string, body, out any) error {
	ctx, cancel := context.WithTimeout(ctx, s.requestTimeout)
	defer cancel()
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return &stream.PermanentError{Err: fmt.Errorf("x: encoding the rules request: %w", err)}
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, u, rd)
	if err != nil {
		return &stream.PermanentError{Err: fmt.Errorf("x: building the rules request: %w", err)}
	}
	s.authorize(req)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := s.client.Do(req)
	if err != nil {
		return &retryable{twitter.ReasonNetwork, fmt.Errorf("x: rules request: %s", s.secrets.Redact(err.Error()))}
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, maxRulesBody))
	if err != nil {
		return &retryable{twitter.ReasonNetwork, fmt.Errorf("x: reading the rules response: %s", s.secrets.Redact(err.Error()))}
	}
	if resp.StatusCode == http.StatusBadRequest && method == http.MethodPost {
		var rr rulesResponse
		if json.Unmarshal(raw, &rr) == nil && slices.ContainsFunc(rr.Errors, func(p Problem) bool { return p.Value != "" }) {
			if r, ok := out.(*rulesResponse); ok {
				*r = rr
				return nil
			}
		}
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		se := newStatusError("rules", resp.StatusCode, raw, s.shownURL, s.secrets.Redact)
		if se.Permanent() {
			return &stream.PermanentError{Err: se}
		}
		return se
	}
	if err := json.Unmarshal(raw, out); err != nil {
		return &retryable{twitter.ReasonHTTP, fmt.Errorf("x: the rules endpoint answered malformed JSON (HTTP %d): %w", resp.StatusCode, err)}
	}
	return nil
}
