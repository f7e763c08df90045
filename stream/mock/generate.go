package mock

import (
	"math/rand/v2"
	"strconv"
	"time"
	"unicode/utf16"
	"unicode/utf8"
)

// Generator produces realistic Twitter v1.1 status objects, as the filter
// stream delivered them in 2020–2022, for load tests: a full user object,
// entities with their indices, HTML-escaped texts, long tweets with
// extended_tweet, retweets with the whole original in retweeted_status, and
// quotes with quoted_status. The JSON is escaped the way Twitter's encoder
// escaped it ("\/", "\u003c", non-ASCII as \u escapes).
//
// About 40% of the statuses are long, 15% retweets and 5% quotes. About one
// in four contains "python" where a track filter sees it: as a word of the
// text (possibly only past the truncation of a long tweet, or only in the
// retweeted original), as a #python hashtag or as an @python mention. The
// others are noise, including near misses such as "pythonic", "python3",
// "MicroPython", #pythonista and @pythonweekly that must not match.
//
// Status IDs are snowflake-like, unique and strictly increasing; the IDs of
// retweeted and quoted originals are older and never equal a status ID.
//
// A Generator is not safe for concurrent use.
type Generator struct {
	rng   *rand.Rand
	ms    int64 // Unix milliseconds of the latest status
	users []genUser

	lastID, lastUserID uint64

	// Scratch tweets, reused by every call to Next.
	outer, inner genTweet
}

// NewGenerator returns a Generator seeded with seed; the same seed yields the
// same sequence, different seeds different ones.
func NewGenerator(seed uint64) *Generator {
	g := &Generator{rng: rand.New(rand.NewPCG(seed, seed))}
	// Start somewhere in March 2022.
	g.ms = genStartMS + g.rng.Int64N(30*24*3600*1000)
	g.users = make([]genUser, genUserCount)
	for i := range g.users {
		g.users[i] = g.newUser()
	}
	return g
}

// LastID returns the id of the status the latest Next produced and its
// author's user id, for example to send a delete message for it. Both are
// zero before the first call to Next.
func (g *Generator) LastID() (id, userID uint64) { return g.lastID, g.lastUserID }

// Next appends the next status as one line of JSON (no trailing newline) to
// dst and returns the extended slice.
func (g *Generator) Next(dst []byte) []byte {
	r := g.rng
	g.ms += 1 + r.Int64N(40)
	python := r.IntN(4) == 0

	t := &g.outer
	t.reset()
	t.id = g.snowflake(g.ms, false)
	t.ms = g.ms
	t.user = &g.users[r.IntN(len(g.users))]
	t.source = genSources[r.IntN(len(genSources))]
	g.lastID, g.lastUserID = t.id, t.user.id

	switch p := r.IntN(100); {
	case p < 15: // retweet: what matches is the original
		o := &g.inner
		g.original(o, t.user, python, r.IntN(100) < 40)
		g.retweetText(t, o)
		return g.appendStatus(dst, t, o, nil, false)
	case p < 20: // quote: what matches is the quote's own text
		q := &g.inner
		g.original(q, t.user, python && r.IntN(2) == 0, r.IntN(100) < 30)
		t.lang = genLangEN
		t.quoting = true
		g.text(t, python, false)
		return g.appendStatus(dst, t, nil, q, false)
	default:
		if r.IntN(10) == 0 {
			t.replyTo = g.snowflake(g.ms-1000-r.Int64N(6*3600*1000), true)
			t.replyUser = &g.users[r.IntN(len(g.users))]
		}
		t.lang = g.lang()
		g.text(t, python, t.lang != genLangJA && r.IntN(100) < 50)
		return g.appendStatus(dst, t, nil, nil, false)
	}
}

// original fills o with an older status by someone other than author, to be
// retweeted or quoted.
func (g *Generator) original(o *genTweet, author *genUser, python, long bool) {
	r := g.rng
	o.reset()
	o.ms = g.ms - 60*1000 - r.Int64N(3*24*3600*1000)
	o.id = g.snowflake(o.ms, true)
	o.user = &g.users[r.IntN(len(g.users))]
	for o.user == author {
		o.user = &g.users[r.IntN(len(g.users))]
	}
	o.source = genSources[r.IntN(len(genSources))]
	o.lang = genLangEN
	o.counts = [4]int{r.IntN(50), r.IntN(80), 1 + r.IntN(2000), 5 + r.IntN(9000)}
	o.nested = true
	g.text(o, python, long)
}

// snowflake returns an ID for a status created at ms. Statuses of the stream
// and older originals use disjoint datacenter numbers, so they never collide;
// the stream's own IDs increase with ms, which increases with every status.
func (g *Generator) snowflake(ms int64, old bool) uint64 {
	dc := uint64(g.rng.IntN(16))
	if old {
		dc += 16
	}
	return uint64(ms-snowflakeEpochMS)<<22 | dc<<17 | uint64(g.rng.IntN(32))<<12 | uint64(g.rng.IntN(4096))
}

func (g *Generator) lang() string {
	switch p := g.rng.IntN(100); {
	case p < 8:
		return genLangES
	case p < 14:
		return genLangJA
	case p < 19:
		return genLangDE
	case p < 23:
		return genLangPT
	}
	return genLangEN
}

// text writes the text and entities of t in t.lang: long texts are over 140
// characters (up to 280). A python text contains "python" in one matchable
// form.
func (g *Generator) text(t *genTweet, python, long bool) {
	r := g.rng
	set := genSentences[t.lang]
	// Texts around another status are shorter, which bounds the size of
	// retweets and quotes.
	minRunes, maxRunes, target := 0, 140, 60+r.IntN(75)
	switch {
	case long && t.nested:
		minRunes, maxRunes, target = 141, 230, 160+r.IntN(65)
	case long:
		minRunes, maxRunes, target = 141, 280, 170+r.IntN(105)
	case t.quoting:
		maxRunes, target = 110, 50+r.IntN(55)
	}

	// What python looks like in this status: 0 a word, 1 a hashtag, 2 a mention.
	how := -1
	if python {
		how = r.IntN(4) % 3 // words twice as often
	}

	if t.replyUser != nil {
		t.mention(t.replyUser.screenName, t.replyUser.name, t.replyUser.id)
		t.writeString(" ")
		t.displayStart = t.runes
	}
	if how == 2 && r.IntN(2) == 0 {
		t.mention(genPythonAccount.screenName, genPythonAccount.name, genPythonAccount.id)
		t.writeString(" ")
		how = -2 // placed
	}

	// Trailing entities, reserved before the sentences are chosen.
	var tags [3]string
	ntags := 0
	if how == 1 {
		tags[ntags] = genPythonTags[r.IntN(len(genPythonTags))]
		ntags++
	}
	if r.IntN(10) < 3 {
		n := 1 + r.IntN(2)
		if t.nested || t.quoting {
			n = 1
		}
		for ; n > 0; n-- {
			tags[ntags] = genHashtags[r.IntN(len(genHashtags))]
			ntags++
		}
	}
	var link *genURL
	if !t.quoting && r.IntN(4) == 0 { // a quote's link is its permalink
		link = &genURLs[r.IntN(len(genURLs))]
	}
	var cc *genUser
	switch {
	case how == 2:
		cc = &genPythonAccount
	case t.replyUser == nil && !t.nested && !t.quoting && r.IntN(8) == 0:
		if r.IntN(4) == 0 {
			cc = &genDecoyAccounts[r.IntN(len(genDecoyAccounts))]
		} else {
			cc = &g.users[r.IntN(len(g.users))]
		}
	}

	// Sentences: one of them names the language of the day, "Python" in
	// Python statuses (at a random place, so that long texts sometimes
	// have it only past the truncation).
	lang := genLanguages[r.IntN(len(genLanguages))]
	langSentence := set.withLang[r.IntN(len(set.withLang))]
	if how == 0 {
		lang = genPythonWords[r.IntN(len(genPythonWords))]
	}
	langLen := utf8.RuneCountInString(langSentence) - 2 + utf8.RuneCountInString(lang) + 1

	// Drop optional extras that would not fit next to that sentence.
	reserve := func() int {
		n := 0
		for _, h := range tags[:ntags] {
			n += 2 + utf8.RuneCountInString(h)
		}
		if link != nil {
			n += 1 + tcoLen
		}
		if cc != nil {
			n += 4 + utf8.RuneCountInString(cc.screenName)
		}
		return n
	}
	for t.runes+langLen+reserve() > maxRunes {
		switch {
		case link != nil:
			link = nil
		case cc != nil && how != 2:
			cc = nil
		case ntags > 0 && (how != 1 || ntags > 1):
			ntags--
		default:
			panic("mock: generator sentence too long") // the tables are wrong
		}
	}
	extra := reserve()
	langAt, placed := r.IntN(3), false
	for n := 0; ; n++ {
		if !placed && n == langAt {
			t.writeLangSentence(langSentence, lang)
			placed = true
			continue
		}
		s := set.filler[r.IntN(len(set.filler))]
		pending := extra
		if !placed {
			pending += langLen
		}
		need := utf8.RuneCountInString(s) + 1
		if t.runes+need+pending > maxRunes || (n > 0 && t.runes+need+pending > target && t.runes+pending >= minRunes) {
			break
		}
		t.writeString(s)
		t.writeString(" ")
	}
	if !placed {
		t.writeLangSentence(langSentence, lang)
	}
	t.trimSpace()

	if cc != nil {
		t.writeString(" cc ")
		t.mention(cc.screenName, cc.name, cc.id)
	}
	if link != nil {
		t.writeString(" ")
		var tco [tcoLen]byte
		g.tco(&tco)
		t.url(link, &tco)
	}
	for _, h := range tags[:ntags] {
		t.writeString(" ")
		t.hashtag(h)
	}
}

// retweetText writes the text of a retweet of o into t: "RT @name: " and the
// original's full text, cut at 140 characters with "…", and the entities
// that survive the cut.
func (g *Generator) retweetText(t *genTweet, o *genTweet) {
	t.lang = o.lang
	t.writeString("RT ")
	t.mention(o.user.screenName, o.user.name, o.user.id)
	t.writeString(": ")
	prefixRunes := t.runes
	t.text = append(t.text, o.text...)
	t.runes += o.runes
	limit := t.runes
	if t.runes > 140 {
		cut := byteOffset(t.text, 139)
		t.text = append(t.text[:cut], "…"...)
		t.runes, limit = 140, 139
	}
	for _, e := range o.ents {
		if e.end+prefixRunes <= limit {
			e.start += prefixRunes
			e.end += prefixRunes
			t.ents = append(t.ents, e)
		}
	}
}

// appendStatus appends t as a JSON object. rt is the retweeted original,
// quoted the quoted one; nested statuses have no timestamp_ms or
// filter_level.
func (g *Generator) appendStatus(dst []byte, t, rt, quoted *genTweet, nested bool) []byte {
	dst = append(dst, `{"created_at":`...)
	dst = appendCreatedAt(dst, t.ms)
	dst = append(dst, `,"id":`...)
	dst = strconv.AppendUint(dst, t.id, 10)
	dst = append(dst, `,"id_str":"`...)
	dst = strconv.AppendUint(dst, t.id, 10)
	dst = append(dst, `","text":`...)

	long := rt == nil && t.runes > 140
	var self genEntity // the link to the status that ends a cut text
	cutRunes := t.runes
	if long {
		// Compatibility mode: the text is cut at a word before 116
		// characters and ends with "… " and a link to the status.
		var cut int
		cut, cutRunes = t.cutPoint(140 - 2 - tcoLen)
		self = genEntity{kind: entURL, start: cutRunes + 2, end: cutRunes + 2 + tcoLen, id: t.id}
		g.tco(&self.tco)
		dst = append(dst, '"')
		dst = appendEscaped(dst, t.text[:cut], true)
		dst = append(dst, `\u2026 `...)
		dst = appendEscaped(dst, self.tco[:], false)
		dst = append(dst, '"')
		dst = append(dst, `,"display_text_range":[`...)
		dst = strconv.AppendInt(dst, int64(t.displayStart), 10)
		dst = append(dst, ',')
		dst = strconv.AppendInt(dst, int64(cutRunes+1), 10)
		dst = append(dst, ']')
	} else {
		dst = append(dst, '"')
		dst = appendEscaped(dst, t.text, true)
		dst = append(dst, '"')
		if t.displayStart > 0 {
			dst = append(dst, `,"display_text_range":[`...)
			dst = strconv.AppendInt(dst, int64(t.displayStart), 10)
			dst = append(dst, ',')
			dst = strconv.AppendInt(dst, int64(t.runes), 10)
			dst = append(dst, ']')
		}
	}
	dst = append(dst, `,"source":`...)
	dst = appendString(dst, t.source)
	dst = append(dst, `,"truncated":`...)
	dst = strconv.AppendBool(dst, long)
	if t.replyUser != nil {
		dst = append(dst, `,"in_reply_to_status_id":`...)
		dst = strconv.AppendUint(dst, t.replyTo, 10)
		dst = append(dst, `,"in_reply_to_status_id_str":"`...)
		dst = strconv.AppendUint(dst, t.replyTo, 10)
		dst = append(dst, `","in_reply_to_user_id":`...)
		dst = strconv.AppendUint(dst, t.replyUser.id, 10)
		dst = append(dst, `,"in_reply_to_user_id_str":"`...)
		dst = strconv.AppendUint(dst, t.replyUser.id, 10)
		dst = append(dst, `","in_reply_to_screen_name":`...)
		dst = appendString(dst, t.replyUser.screenName)
	} else {
		dst = append(dst, `,"in_reply_to_status_id":null,"in_reply_to_status_id_str":null,"in_reply_to_user_id":null,"in_reply_to_user_id_str":null,"in_reply_to_screen_name":null`...)
	}
	dst = append(dst, `,"user":`...)
	dst = append(dst, t.user.json...)
	dst = append(dst, `,"geo":null,"coordinates":null,"place":null,"contributors":null`...)
	if rt != nil {
		dst = append(dst, `,"retweeted_status":`...)
		dst = g.appendStatus(dst, rt, nil, nil, true)
	}
	if quoted != nil {
		dst = append(dst, `,"quoted_status_id":`...)
		dst = strconv.AppendUint(dst, quoted.id, 10)
		dst = append(dst, `,"quoted_status_id_str":"`...)
		dst = strconv.AppendUint(dst, quoted.id, 10)
		dst = append(dst, `","quoted_status":`...)
		dst = g.appendStatus(dst, quoted, nil, nil, true)
		dst = append(dst, `,"quoted_status_permalink":{"url":"`...)
		dst = g.appendTco(dst)
		dst = append(dst, `","expanded":"https:\/\/twitter.com\/`...)
		dst = append(dst, quoted.user.screenName...)
		dst = append(dst, `\/status\/`...)
		dst = strconv.AppendUint(dst, quoted.id, 10)
		dst = append(dst, `","display":"twitter.com\/`...)
		dst = append(dst, quoted.user.screenName...)
		dst = append(dst, `\/status\/\u2026"}`...)
	}
	dst = append(dst, `,"is_quote_status":`...)
	dst = strconv.AppendBool(dst, quoted != nil)
	hasURL := false
	if long {
		dst = append(dst, `,"extended_tweet":{"full_text":"`...)
		dst = appendEscaped(dst, t.text, true)
		dst = append(dst, `","display_text_range":[`...)
		dst = strconv.AppendInt(dst, int64(t.displayStart), 10)
		dst = append(dst, ',')
		dst = strconv.AppendInt(dst, int64(t.runes), 10)
		dst = append(dst, `],"entities":`...)
		dst, hasURL = appendEntities(dst, t.ents, -1, nil)
		dst = append(dst, '}')
	}
	for i, c := range t.counts {
		dst = append(dst, genCountKeys[i]...)
		dst = strconv.AppendInt(dst, int64(c), 10)
	}
	dst = append(dst, `,"entities":`...)
	var u bool
	if long {
		dst, u = appendEntities(dst, t.ents, cutRunes, &self)
	} else {
		dst, u = appendEntities(dst, t.ents, -1, nil)
	}
	dst = append(dst, `,"favorited":false,"retweeted":false`...)
	if hasURL || u {
		dst = append(dst, `,"possibly_sensitive":false`...)
	}
	if !nested {
		dst = append(dst, `,"filter_level":"low"`...)
	}
	dst = append(dst, `,"lang":"`...)
	dst = append(dst, t.lang...)
	dst = append(dst, '"')
	if !nested {
		dst = append(dst, `,"timestamp_ms":"`...)
		dst = strconv.AppendInt(dst, t.ms, 10)
		dst = append(dst, '"')
	}
	return append(dst, '}')
}

var genCountKeys = [4]string{`,"quote_count":`, `,"reply_count":`, `,"retweet_count":`, `,"favorite_count":`}

// appendEntities appends the entities object of ents: all of them if limit
// is negative, else those that end by limit, and then self, the link to the
// status that ends a cut text. It reports whether any URL was written.
func appendEntities(dst []byte, ents []genEntity, limit int, self *genEntity) ([]byte, bool) {
	keep := func(e *genEntity) bool { return limit < 0 || e.end <= limit }
	dst = append(dst, `{"hashtags":[`...)
	sep := false
	for i := range ents {
		if e := &ents[i]; e.kind == entHashtag && keep(e) {
			if sep {
				dst = append(dst, ',')
			}
			sep = true
			dst = append(dst, `{"text":`...)
			dst = appendString(dst, e.text)
			dst = appendIndices(dst, e.start, e.end)
		}
	}
	dst = append(dst, `],"urls":[`...)
	sep = false
	for i := range ents {
		if e := &ents[i]; e.kind == entURL && keep(e) {
			if sep {
				dst = append(dst, ',')
			}
			sep = true
			dst = appendURLEntity(dst, e)
		}
	}
	if self != nil {
		if sep {
			dst = append(dst, ',')
		}
		sep = true
		dst = appendURLEntity(dst, self)
	}
	hasURL := sep
	dst = append(dst, `],"user_mentions":[`...)
	sep = false
	for i := range ents {
		if e := &ents[i]; e.kind == entMention && keep(e) {
			if sep {
				dst = append(dst, ',')
			}
			sep = true
			dst = append(dst, `{"screen_name":`...)
			dst = appendString(dst, e.text)
			dst = append(dst, `,"name":`...)
			dst = appendString(dst, e.name)
			dst = append(dst, `,"id":`...)
			dst = strconv.AppendUint(dst, e.id, 10)
			dst = append(dst, `,"id_str":"`...)
			dst = strconv.AppendUint(dst, e.id, 10)
			dst = append(dst, '"')
			dst = appendIndices(dst, e.start, e.end)
		}
	}
	return append(dst, `],"symbols":[]}`...), hasURL
}

// appendURLEntity appends the URL entity e; without a link, e is the link to
// status e.id that ends a cut text.
func appendURLEntity(dst []byte, e *genEntity) []byte {
	dst = append(dst, `{"url":"`...)
	dst = appendEscaped(dst, e.tco[:], false)
	if e.link == nil {
		dst = append(dst, `","expanded_url":"https:\/\/twitter.com\/i\/web\/status\/`...)
		dst = strconv.AppendUint(dst, e.id, 10)
		dst = append(dst, `","display_url":"twitter.com\/i\/web\/status\/1\u2026"`...)
	} else {
		dst = append(dst, `","expanded_url":`...)
		dst = appendString(dst, e.link.expanded)
		dst = append(dst, `,"display_url":`...)
		dst = appendString(dst, e.link.display)
	}
	return appendIndices(dst, e.start, e.end)
}

func appendIndices(dst []byte, start, end int) []byte {
	dst = append(dst, `,"indices":[`...)
	dst = strconv.AppendInt(dst, int64(start), 10)
	dst = append(dst, ',')
	dst = strconv.AppendInt(dst, int64(end), 10)
	return append(dst, "]}"...)
}

// appendTco appends a fresh t.co link, JSON-escaped, without quotes.
func (g *Generator) appendTco(dst []byte) []byte {
	var b [tcoLen]byte
	g.tco(&b)
	return appendEscaped(dst, b[:], false)
}

const tcoLen = len("https://t.co/") + 10

func (g *Generator) tco(b *[tcoLen]byte) {
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
	n := copy(b[:], "https://t.co/")
	for i := n; i < tcoLen; i++ {
		b[i] = alphabet[g.rng.IntN(len(alphabet))]
	}
}

const (
	// snowflakeEpochMS is Twitter's snowflake epoch (Nov 04 2010 01:42:54.657 UTC).
	snowflakeEpochMS = 1288834974657
	// genStartMS is Mar 01 2022 00:00:00 UTC.
	genStartMS   = 1646092800000
	genUserCount = 512
)

// createdAtLayout is the layout of v1.1 created_at values; times are UTC.
const createdAtLayout = "Mon Jan 02 15:04:05 -0700 2006"

func appendCreatedAt(dst []byte, ms int64) []byte {
	dst = append(dst, '"')
	dst = time.UnixMilli(ms).UTC().AppendFormat(dst, createdAtLayout)
	return append(dst, '"')
}

// JSON escaping the way Twitter's encoder did it: '/' as "\/", '<' and '>'
// as \u003c and \u003e, and every non-ASCII character as a \u escape
// (UTF-16 surrogate pairs above the BMP). With html set, the three
// characters Twitter HTML-escaped in texts become &amp; &lt; &gt; first.

func appendString(dst []byte, s string) []byte {
	dst = append(dst, '"')
	for _, r := range s {
		dst = appendRune(dst, r, false)
	}
	return append(dst, '"')
}

// appendEscaped appends b escaped, without quotes.
func appendEscaped(dst, b []byte, html bool) []byte {
	for len(b) > 0 {
		r, size := utf8.DecodeRune(b)
		dst = appendRune(dst, r, html)
		b = b[size:]
	}
	return dst
}

func appendRune(dst []byte, r rune, html bool) []byte {
	const hex = "0123456789abcdef"
	switch {
	case html && r == '&':
		return append(dst, "&amp;"...)
	case html && r == '<':
		return append(dst, "&lt;"...)
	case html && r == '>':
		return append(dst, "&gt;"...)
	case r == '"' || r == '\\' || r == '/':
		return append(dst, '\\', byte(r))
	case r < 0x20 || r == '<' || r == '>':
		return append(dst, '\\', 'u', '0', '0', hex[r>>4], hex[r&0xF])
	case r < utf8.RuneSelf:
		return append(dst, byte(r))
	case r >= 0x10000:
		r1, r2 := utf16.EncodeRune(r)
		return appendRune(appendRune(dst, r1, false), r2, false)
	}
	return append(dst, '\\', 'u', hex[r>>12&0xF], hex[r>>8&0xF], hex[r>>4&0xF], hex[r&0xF])
}

// byteOffset returns the offset in b of the rune with index n.
func byteOffset(b []byte, n int) int {
	i := 0
	for ; i < len(b) && n > 0; n-- {
		_, size := utf8.DecodeRune(b[i:])
		i += size
	}
	return i
}

// genTweet is the content of one status being generated.
type genTweet struct {
	id, replyTo  uint64
	ms           int64
	user         *genUser
	replyUser    *genUser
	source, lang string
	text         []byte // unescaped
	runes        int    // characters in text
	displayStart int
	quoting      bool // a quote tweet's own text
	nested       bool // a retweeted or quoted original
	ents         []genEntity
	counts       [4]int // quote, reply, retweet, favorite
}

func (t *genTweet) reset() {
	*t = genTweet{text: t.text[:0], ents: t.ents[:0]}
}

func (t *genTweet) writeString(s string) {
	t.text = append(t.text, s...)
	t.runes += utf8.RuneCountInString(s)
}

func (t *genTweet) writeLangSentence(sentence, lang string) {
	for i := 0; i < len(sentence); i++ {
		if sentence[i] == '%' && i+1 < len(sentence) && sentence[i+1] == 's' {
			t.writeString(sentence[:i])
			t.writeString(lang)
			t.writeString(sentence[i+2:])
			break
		}
	}
	t.writeString(" ")
}

func (t *genTweet) trimSpace() {
	for len(t.text) > 0 && t.text[len(t.text)-1] == ' ' {
		t.text = t.text[:len(t.text)-1]
		t.runes--
	}
}

func (t *genTweet) mention(screenName, name string, id uint64) {
	start := t.runes
	t.writeString("@")
	t.writeString(screenName)
	t.ents = append(t.ents, genEntity{kind: entMention, start: start, end: t.runes, text: screenName, name: name, id: id})
}

func (t *genTweet) hashtag(tag string) {
	start := t.runes
	t.writeString("#")
	t.writeString(tag)
	t.ents = append(t.ents, genEntity{kind: entHashtag, start: start, end: t.runes, text: tag})
}

func (t *genTweet) url(link *genURL, tco *[tcoLen]byte) {
	e := genEntity{kind: entURL, start: t.runes, end: t.runes + tcoLen, link: link, tco: *tco}
	t.text = append(t.text, tco[:]...)
	t.runes += tcoLen
	t.ents = append(t.ents, e)
}

// cutPoint returns where the compatibility text of a long status ends: at a
// space no later than max characters, so never inside an entity. It returns
// the byte and rune offsets.
func (t *genTweet) cutPoint(max int) (byteOff, runeOff int) {
	lastSpaceB, lastSpaceR := 0, 0
	for i, n := 0, 0; i < len(t.text) && n <= max; n++ {
		r, size := utf8.DecodeRune(t.text[i:])
		if r == ' ' {
			lastSpaceB, lastSpaceR = i, n
		}
		i += size
	}
	// Drop spaces before the cut.
	for lastSpaceB > 0 && t.text[lastSpaceB-1] == ' ' {
		lastSpaceB--
		lastSpaceR--
	}
	return lastSpaceB, lastSpaceR
}

type entKind uint8

const (
	entHashtag entKind = iota + 1
	entMention
	entURL
)

// genEntity is a hashtag, mention or link of a text, at rune offsets.
type genEntity struct {
	kind       entKind
	start, end int
	text       string // hashtag text or screen name
	name       string // display name of a mentioned user
	id         uint64 // a mentioned user; for a URL without link, the status it points to
	link       *genURL
	tco        [tcoLen]byte
}

// genURL is a link target.
type genURL struct{ expanded, display string }

// genUser is an account; json is its v1.1 user object.
type genUser struct {
	id               uint64
	screenName, name string
	json             []byte
}

// newUser makes a plausible account with a pre-rendered user object of
// about 1.5 KB.
func (g *Generator) newUser() genUser {
	r := g.rng
	first := genFirstNames[r.IntN(len(genFirstNames))]
	last := genLastNames[r.IntN(len(genLastNames))]
	u := genUser{name: first + " " + last}
	var sn []byte
	switch r.IntN(4) {
	case 0:
		sn = append(append(append(sn, lower(first)...), '_'), lower(last)...)
	case 1:
		sn = strconv.AppendInt(append(sn, lower(first)...), int64(r.IntN(1000)), 10)
	case 2:
		sn = append(append(append(sn, lower(first)...), '_'), genHandleWords[r.IntN(len(genHandleWords))]...)
	default:
		sn = append(append(sn, genHandleWords[r.IntN(len(genHandleWords))]...), last...)
	}
	if len(sn) > 15 {
		sn = sn[:15]
	}
	u.screenName = string(sn)

	// Accounts from before 2016 have sequential IDs (about 14 million in
	// 2008, 4 billion in 2015), newer ones snowflakes.
	created := genUserEpochMS + r.Int64N(genStartMS-genUserEpochMS-86400*1000)
	if created < 1451606400000 { // Jan 01 2016
		u.id = 14000000 + uint64(created-genUserEpochMS)/63
	} else {
		u.id = uint64(created-snowflakeEpochMS)<<22 | r.Uint64N(1<<22)
	}

	// A description of about 85 to 135 bytes from distinct parts.
	var desc []byte
	for i := r.IntN(len(genBioParts)); len(desc) < 85; i = (i + 1 + r.IntN(3)) % len(genBioParts) {
		part := genBioParts[i]
		if len(desc)+1+len(part) > 135 {
			break
		}
		if len(desc) > 0 {
			desc = append(desc, ' ')
		}
		desc = append(desc, part...)
	}
	followers := r.IntN(5000)
	if r.IntN(10) == 0 {
		followers = r.IntN(500000)
	}
	defaultProfile := r.IntN(3) > 0

	b := make([]byte, 0, 1700)
	b = append(b, `{"id":`...)
	b = strconv.AppendUint(b, u.id, 10)
	b = append(b, `,"id_str":"`...)
	b = strconv.AppendUint(b, u.id, 10)
	b = append(b, `","name":`...)
	b = appendString(b, u.name)
	b = append(b, `,"screen_name":`...)
	b = appendString(b, u.screenName)
	b = append(b, `,"location":`...)
	b = appendString(b, genLocations[r.IntN(len(genLocations))])
	b = append(b, `,"url":`...)
	if r.IntN(3) == 0 {
		var link [tcoLen]byte
		g.tco(&link)
		b = append(b, '"')
		b = appendEscaped(b, link[:], false)
		b = append(b, '"')
	} else {
		b = append(b, "null"...)
	}
	b = append(b, `,"description":"`...)
	b = appendEscaped(b, desc, false)
	b = append(b, `","translator_type":"none","protected":false,"verified":`...)
	b = strconv.AppendBool(b, followers > 200000 && r.IntN(2) == 0)
	b = append(b, `,"followers_count":`...)
	b = strconv.AppendInt(b, int64(followers), 10)
	b = append(b, `,"friends_count":`...)
	b = strconv.AppendInt(b, int64(r.IntN(3000)), 10)
	b = append(b, `,"listed_count":`...)
	b = strconv.AppendInt(b, int64(followers/100), 10)
	b = append(b, `,"favourites_count":`...)
	b = strconv.AppendInt(b, int64(r.IntN(80000)), 10)
	b = append(b, `,"statuses_count":`...)
	b = strconv.AppendInt(b, int64(1+r.IntN(60000)), 10)
	b = append(b, `,"created_at":`...)
	b = appendCreatedAt(b, created)
	b = append(b, `,"utc_offset":null,"time_zone":null,"geo_enabled":`...)
	b = strconv.AppendBool(b, r.IntN(4) == 0)
	b = append(b, `,"lang":null,"contributors_enabled":false,"is_translator":false,"profile_background_color":"`...)
	if defaultProfile {
		b = append(b, `F5F8FA","profile_background_image_url":"","profile_background_image_url_https":""`...)
	} else {
		b = append(b, `000000","profile_background_image_url":"http:\/\/abs.twimg.com\/images\/themes\/theme1\/bg.png","profile_background_image_url_https":"https:\/\/abs.twimg.com\/images\/themes\/theme1\/bg.png"`...)
	}
	b = append(b, `,"profile_background_tile":false,"profile_link_color":"`...)
	b = append(b, genColors[r.IntN(len(genColors))]...)
	b = append(b, `","profile_sidebar_border_color":"C0DEED","profile_sidebar_fill_color":"DDEEF6","profile_text_color":"333333","profile_use_background_image":true`...)
	var img [40]byte
	imgLen := g.imagePath(&img)
	for _, scheme := range []string{`,"profile_image_url":"http:`, `,"profile_image_url_https":"https:`} {
		b = append(b, scheme...)
		b = append(b, `\/\/pbs.twimg.com\/profile_images\/`...)
		b = appendEscaped(b, img[:imgLen], false)
		b = append(b, `_normal.jpg"`...)
	}
	b = append(b, `,"profile_banner_url":"https:\/\/pbs.twimg.com\/profile_banners\/`...)
	b = strconv.AppendUint(b, u.id, 10)
	b = append(b, `\/`...)
	b = strconv.AppendInt(b, 1500000000+r.Int64N(146000000), 10)
	b = append(b, `","default_profile":`...)
	b = strconv.AppendBool(b, defaultProfile)
	b = append(b, `,"default_profile_image":false,"following":null,"follow_request_sent":null,"notifications":null,"withheld_in_countries":[]}`...)
	u.json = b
	return u
}

// imagePath writes "<snowflake>/<8 characters>" into b and returns its length.
func (g *Generator) imagePath(b *[40]byte) int {
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-"
	out := strconv.AppendUint(b[:0], 1000000000000000000+g.rng.Uint64N(600000000000000000), 10)
	out = append(out, '/')
	for range 8 {
		out = append(out, alphabet[g.rng.IntN(len(alphabet))])
	}
	return len(out)
}

// genUserEpochMS is Jan 01 2008 00:00:00 UTC.
const genUserEpochMS = 1199145600000

func lower(s string) string {
	b := []byte(s)
	for i, c := range b {
		if 'A' <= c && c <= 'Z' {
			b[i] = c + 'a' - 'A'
		}
	}
	return string(b)
}

const (
	genLangEN = "en"
	genLangES = "es"
	genLangJA = "ja"
	genLangDE = "de"
	genLangPT = "pt"
)

// genSentenceSet holds the sentences of one language: withLang ones name a
// programming language at "%s", always as a whole word between spaces or
// next to ASCII punctuation.
type genSentenceSet struct {
	withLang []string
	filler   []string
}

var genSentences = map[string]*genSentenceSet{
	genLangEN: {
		withLang: []string{
			"Rewrote the ingest service in %s over the weekend and it is three times faster.",
			"Anyone else debugging %s memory usage on a Friday afternoon?",
			"Hot take: %s is underrated for small command line tools.",
			"We are hiring %s developers, remote friendly, DMs open.",
			"Finally got the %s test suite under a minute.",
			"Teaching my intern %s and honestly I am learning more than she is.",
			"Just shipped a tiny %s library for parsing messy CSV exports.",
			"Is %s still a good first language in 2022? Asking for my cousin.",
			"The %s release notes this month are worth a read.",
			"Spent the morning pairing on a %s race condition. Found it, fixed it, wrote a test.",
			"Switching our glue scripts from bash to %s was the best decision this quarter.",
			"Giving a talk about %s and observability at the local meetup next week!",
			"Three interviews this week and all of them asked about %s concurrency.",
			"New video: building a tiny web server in %s from scratch.",
			"Why does every %s tutorial start with a todo app?",
			"Migrating 200k lines of legacy code to %s, one module at a time.",
			"Benchmarked the new %s service against the old one and the numbers look great.",
			"Today I learned that %s has a built-in way to do this. Ten years in.",
		},
		filler: []string{
			"Coffee number three and it is not even 10am.",
			"Standup ran 45 minutes again.",
			"Code review is a conversation, not a verdict.",
			"Naming things is still the hardest part of this job.",
			"It worked on my machine, which is now in production, apparently.",
			"Shipping on a Friday. Wish me luck.",
			"Docs first, then code. Future me will be grateful.",
			"The bug was a missing comma. Three hours.",
			"Pair programming with my cat today. She approved the PR.",
			"The Q&A after the talk was the best part.",
			"Reminder: if x < 0 the loop never ends.",
			"Hot chocolate > coffee on rainy days, fight me.",
			"Found a TODO from 2014 in the codebase today. Left it there out of respect.",
			"Retro went well, we actually agreed on action items!",
			"The CI is green for the first time this week 🎉",
			"Going offline for the weekend, see you Monday 👋",
			"Learning in public is scary but worth it.",
			"Nothing beats a clean git log.",
			"Is there a more pythonic way to write this?",
			"apt install python3-dev fixed the build.",
			"MicroPython on a tiny board is pure joy.",
			"The CPython changelog is surprisingly fun to read.",
			"Logs, metrics, traces: pick all three.",
			"Ten tabs of Stack Overflow open, zero answers.",
		},
	},
	genLangES: {
		withLang: []string{
			"Estoy aprendiendo %s por las tardes después del trabajo.",
			"¿Alguien tiene un buen curso de %s para principiantes?",
			"Hoy migramos el backend a %s y todo salió bien.",
			"Me encanta la comunidad de %s en Latinoamérica.",
		},
		filler: []string{
			"El café de la oficina está imposible hoy.",
			"Viernes de despliegue, deséenme suerte.",
			"La documentación también es parte del código.",
			"Hoy toca revisar pull requests toda la tarde.",
			"¡Por fin pasaron todos los tests! 🎉",
		},
	},
	genLangDE: {
		withLang: []string{
			"Heute auf dem Meetup einen Vortrag über %s gehört, sehr gut!",
			"Wir suchen Verstärkung im %s Team, gerne auch remote.",
			"Endlich die %s Tests stabil bekommen.",
		},
		filler: []string{
			"Kaffee Nummer drei und es ist noch nicht mal zehn.",
			"Freitags deployen wir nicht. Eigentlich.",
			"Code Reviews sind Gespräche, keine Urteile.",
			"Die Doku ist auch Teil des Codes.",
		},
	},
	genLangPT: {
		withLang: []string{
			"Comecei a estudar %s essa semana e estou gostando muito.",
			"Alguém recomenda um livro de %s para iniciantes?",
			"Migramos a API inteira para %s e ninguém percebeu.",
		},
		filler: []string{
			"Sexta-feira de deploy, torçam por mim.",
			"Documentação também é código.",
			"Terceiro café do dia ☕",
		},
	},
	genLangJA: {
		withLang: []string{
			"週末は %s で小さなツールを作った。",
			"%s の勉強会に参加してきました！",
			"新しいプロジェクトは %s で書くことになった。",
		},
		filler: []string{
			"今日は雨なので家で作業しています。",
			"コードレビューは会話です。",
			"コーヒー三杯目。",
		},
	},
}

var (
	genPythonWords = []string{"Python", "Python", "python", "PYTHON"}
	genPythonTags  = []string{"Python", "python", "Python"}
	genLanguages   = []string{"Go", "Rust", "JavaScript", "TypeScript", "Kotlin", "Java", "Ruby", "Elixir", "Swift", "Scala", "Haskell", "Zig", "C#", "PHP", "golang"}
	genHashtags    = []string{"DevOps", "100DaysOfCode", "CodeNewbie", "javascript", "golang", "rustlang", "DataScience", "MachineLearning", "WebDev", "OpenSource", "kubernetes", "AWS", "pythonista", "Python3", "SQL", "TypeScript", "buildinpublic"}

	genPythonAccount = genUser{id: 9876543, screenName: "python", name: "Python Updates (parody)"}
	genDecoyAccounts = []genUser{
		{id: 373620985, screenName: "pythonweekly", name: "Python Weekly (fan account)"},
		{id: 1290001112223334445, screenName: "pythonistas_hq", name: "Pythonistas HQ"},
	}

	genURLs = []genURL{
		{"https://github.com/octo-sample/fast-csv", "github.com/octo-sample/fas…"},
		{"https://dev.to/codewithmara/why-i-stopped-using-orms-4k2a", "dev.to/codewithmara/why-i…"},
		{"https://blog.example.dev/posts/2022/03/observability-basics/", "blog.example.dev/posts/20…"},
		{"https://www.youtube.com/watch?v=k3Jd9sPq0aM", "youtube.com/watch?v=k3Jd9…"},
		{"https://medium.com/@devnotes/structured-logging-in-practice-9f1c2a7b", "medium.com/@devnotes/stru…"},
		{"https://news.ycombinator.com/item?id=30654321", "news.ycombinator.com/item…"},
		{"https://docs.python.org/3/library/functools.html", "docs.python.org/3/library…"},
		{"https://go.dev/blog/intro-generics", "go.dev/blog/intro-generics"},
		{"https://www.rust-lang.org/", "rust-lang.org"},
		{"https://stackoverflow.com/questions/11227809/", "stackoverflow.com/questio…"},
		{"https://arxiv.org/abs/2203.01234", "arxiv.org/abs/2203.01234"},
		{"https://pypi.org/project/httpx/", "pypi.org/project/httpx"},
	}

	genSources = []string{
		`<a href="https://mobile.twitter.com" rel="nofollow">Twitter Web App</a>`,
		`<a href="http://twitter.com/download/iphone" rel="nofollow">Twitter for iPhone</a>`,
		`<a href="http://twitter.com/download/android" rel="nofollow">Twitter for Android</a>`,
		`<a href="https://about.twitter.com/products/tweetdeck" rel="nofollow">TweetDeck</a>`,
		`<a href="http://twitter.com/#!/download/ipad" rel="nofollow">Twitter for iPad</a>`,
	}

	genFirstNames  = []string{"Maya", "Ben", "Nadia", "Ines", "Kim", "Lena", "Grace", "Sam", "Priya", "Lucia", "Kenji", "Jonas", "Ava", "Rosa", "Ali", "Jordan", "Gil", "Hana", "Radu", "Alba", "Yuki", "Omar", "Olivia", "Tomas", "Chloe", "Mateo", "Aisha", "Noah", "Elif", "Diego", "Freya", "Kwame", "Sofia", "Liam", "Mei", "Arjun", "Zoe", "Felix", "Amara", "Hugo"}
	genLastNames   = []string{"Okafor", "Carver", "Haddad", "Duarte", "Fischer", "Mbeki", "Ortega", "Raman", "Herrera", "Watanabe", "Baumann", "Lindgren", "Jimenez", "Hassan", "Blake", "Navarro", "Novak", "Ionescu", "Soler", "Sato", "Farouk", "Grant", "Lindqvist", "Moreau", "Silva", "Kowalski", "Nguyen", "Yilmaz", "Mensah", "Rossi", "Dubois", "Costa", "Kaur", "Tanaka", "Petrov", "Andersen"}
	genHandleWords = []string{"dev", "codes", "builds", "ships", "ops", "data", "tech", "hacks", "writes", "byte", "the", "real", "its"}
	genLocations   = []string{"", "Berlin", "Lagos, Nigeria", "Portland, OR", "São Paulo, Brasil", "Tokyo", "London, England", "Remote", "Toronto, Ontario", "Bengaluru, India", "Ciudad de México", "Lisboa, Portugal", "Nairobi, Kenya", "San Francisco, CA", "Paris, France", "Sydney, Australia", "Everywhere and nowhere", "Austin, TX", "München, Bayern", "Seoul, Republic of Korea"}
	genBioParts    = []string{
		"Backend engineer.", "Frontend dev.", "SRE by day, baker by night.", "Data scientist.", "Engineering manager.",
		"Open source maintainer.", "Bootcamp grad, first dev job!", "Teaching kids to code.", "Writes about software, weekly.",
		"Opinions are my own.", "Opinions are my cat's.", "she/her", "he/him", "they/them", "Coffee, code, cats.",
		"Building things on the internet since 2009.", "Speaker, occasionally.", "Hiring! DMs open.", "Runner 🏃", "📍 wherever the Wi-Fi is.",
		"Distributed systems & long walks.", "Mostly tweets about bugs I caused.", "Former physicist.", "Documentation enthusiast.",
	}
	genColors = []string{"1DA1F2", "E81C4F", "794BC4", "F45D22", "17BF63", "FFAD1F", "19CF86", "981CEB"}
)
