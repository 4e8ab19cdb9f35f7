package apilog

import (
	"errors"
	"fmt"
	"math"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// Limits on search text, so that one request cannot make a store do
// unbounded work.
const (
	MaxSearchLen   = 1000 // bytes
	MaxSearchTerms = 32
)

// Field is what a search term is matched against.
type Field int

// The fields. A plain term is FieldAny and matches any of the seven search
// targets, or a request ID equal to it as typed; a qualifier ("status:",
// "key:", ...) narrows it to one field.
const (
	FieldAny       Field = iota
	FieldKey             // "key:", the key name or the key prefix
	FieldMethod          // "method:"
	FieldEndpoint        // "endpoint:"
	FieldStatus          // "status:", a code, a class or a range
	FieldError           // "error:", the error code
	FieldIP              // "ip:", the IP hash, or a raw address hashed first
	FieldDuration        // "duration:", a bound or a range (>500ms, 1s-5s)
	FieldRequestID       // "req:", a request ID, equal byte for byte
)

var fieldNames = [...]string{
	FieldAny: "any", FieldKey: "key", FieldMethod: "method", FieldEndpoint: "endpoint",
	FieldStatus: "status", FieldError: "error", FieldIP: "ip", FieldDuration: "duration",
	FieldRequestID: "req",
}

// String returns the field's qualifier name, or "any" for a plain term.
func (f Field) String() string {
	if f < 0 || int(f) >= len(fieldNames) {
		return "Field(" + strconv.Itoa(int(f)) + ")"
	}
	return fieldNames[f]
}

var qualifiers = map[string]Field{
	"key": FieldKey, "method": FieldMethod, "endpoint": FieldEndpoint,
	"status": FieldStatus, "error": FieldError, "ip": FieldIP, "duration": FieldDuration,
	"req": FieldRequestID,
}

// IPHasher turns a client address into the hash stored in [Entry.IPHash].
// ParseSearch uses it so that an operator can search for a raw address that
// the store never holds. The address is canonical: IPv4-mapped IPv6 unmapped,
// no zone.
type IPHasher interface {
	HashIP(addr netip.Addr) string
}

// Term is one parsed search term.
//
// Text is folded, for substring matches that ignore case; Exact keeps the
// term's text as typed (quotes removed), for the one match that must not
// ignore it: a request ID, an identifier pasted from an error body, which
// a plain term or a req: term finds only when equal byte for byte. A
// request ID is never matched as a substring: a short term would find
// every row.
type Term struct {
	Field  Field
	Negate bool // a leading "-": rows that match are left out
	// Text is the folded text to find as a substring, for FieldAny and the
	// text fields (key, method, endpoint, error, ip); empty for the others.
	Text string
	// Exact is the text as typed, for FieldAny (where Text is its fold)
	// and FieldRequestID: the request ID a row must hold to match by it.
	// Empty for the other fields; a plain term built by hand may leave it
	// empty to match no request ID.
	Exact string

	// StatusMin and StatusMax bound a FieldStatus term, inclusive.
	StatusMin, StatusMax int

	// DurationMin and DurationMax bound a FieldDuration term, inclusive.
	DurationMin, DurationMax time.Duration
}

// Search is a parsed search. The zero value matches every row.
type Search struct {
	Terms []Term
	text  string
}

// String returns the text the search was parsed from.
func (s Search) String() string { return s.text }

// ParseSearch parses the search box's text:
//
//   - whitespace separates terms, and a row must match every term;
//   - a term matches when its text is a case-insensitive substring (see
//     [Fold]) of the key name, key prefix, method, endpoint, status code in
//     decimal, error code or IP hash;
//   - "double quotes" keep a phrase with spaces in one term;
//   - key:, method:, endpoint:, error: and ip: narrow a term to that field;
//     status: takes a code (401), a class (4xx) or a range (500-599);
//   - ip: followed by an IPv4 or IPv6 address matches that address's hash,
//     computed by h;
//   - req: takes a request ID and matches the row that holds exactly that
//     one, case-sensitive, never a part of it; a plain term also matches a
//     row whose request ID equals its text as typed (Term.Exact), so that
//     an ID pasted into the search box finds its row;
//   - duration: takes a bound (>500ms, >=1s, <100ms, <=2.5s) or an
//     inclusive range (1s-5s), in Go's units (ns, us, ms, s, m, h);
//   - a leading "-" negates a term or a qualifier (-status:2xx);
//   - any other word followed by a colon is plain text, as in the endpoint
//     /v1/models/x:generate.
//
// Errors are a [*QueryError] about ParamSearch that says what is wrong and
// at which character.
func ParseSearch(s string, h IPHasher) (Search, error) {
	bad := func(at int, format string, args ...any) (Search, error) {
		return Search{}, badQuery(ParamSearch, "%s (at character %d)", fmt.Sprintf(format, args...), utf8.RuneCountInString(s[:at])+1)
	}
	if len(s) > MaxSearchLen {
		return Search{}, badQuery(ParamSearch, "the search is %d bytes long, over %d", len(s), MaxSearchLen)
	}
	if !utf8.ValidString(s) {
		return Search{}, badQuery(ParamSearch, "the search is not valid UTF-8")
	}
	out := Search{text: s}
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		if unicode.IsSpace(r) {
			i += size
			continue
		}
		start := i
		tok, firstQuote, end, ok := scanToken(s, i)
		if !ok {
			return bad(firstQuote, "unterminated quote")
		}
		i = end
		// q is the index in tok of the first quoted byte (no quote mark was
		// removed before it); only the unquoted prefix may hold "-" and a
		// qualifier, so "-x" and "key:x" in quotes are plain text.
		q := len(tok)
		if firstQuote >= 0 {
			q = firstQuote - start
		}
		t := Term{}
		if len(tok) > 1 && tok[0] == '-' && q > 0 {
			t.Negate, tok, q = true, tok[1:], q-1
		}
		// Qualifier names are ASCII: a Kelvin sign does not spell "key:".
		if c := strings.IndexByte(tok, ':'); c > 0 && c < q && isASCII(tok[:c]) {
			if f, ok := qualifiers[strings.ToLower(tok[:c])]; ok {
				t.Field, tok = f, tok[c+1:]
				if tok == "" {
					return bad(start, "%s needs a value", s[start:end])
				}
			}
		}
		if tok == "" {
			continue // "" matches every row
		}
		switch t.Field {
		case FieldStatus:
			lo, hi, ok := parseStatusRange(tok)
			if !ok {
				return bad(start, "%s: want a code (401), a class (4xx) or a range (500-599)", s[start:end])
			}
			t.StatusMin, t.StatusMax = lo, hi
		case FieldDuration:
			lo, hi, err := parseDurationRange(tok)
			if err != nil {
				return bad(start, "%s: %v", s[start:end], err)
			}
			t.DurationMin, t.DurationMax = lo, hi
		case FieldIP:
			if addr, err := netip.ParseAddr(tok); err == nil {
				if h == nil {
					return bad(start, "%s is an IP address, but no IP hasher is configured to hash it", s[start:end])
				}
				tok = h.HashIP(addr.Unmap().WithZone(""))
			}
			t.Text = Fold(tok)
		case FieldRequestID:
			t.Exact = tok
		case FieldAny:
			t.Text, t.Exact = Fold(tok), tok
		default:
			t.Text = Fold(tok)
		}
		if len(out.Terms) == MaxSearchTerms {
			return bad(start, "more than %d terms", MaxSearchTerms)
		}
		out.Terms = append(out.Terms, t)
	}
	return out, nil
}

// validate checks a Search that may have been built by hand rather than by
// ParseSearch: stores rely on at most MaxSearchTerms terms, known fields,
// folded text for every text term, an exact text for a req: term (and no
// other text, which it would ignore), for a plain term none or one that
// folds to its text, a status range within 0 to 999.
func (s Search) validate() error {
	if len(s.Terms) > MaxSearchTerms {
		return badQuery(ParamSearch, "%d terms, over %d", len(s.Terms), MaxSearchTerms)
	}
	for i, t := range s.Terms {
		switch {
		case t.Field < FieldAny || t.Field > FieldRequestID:
			return badQuery(ParamSearch, "term %d: unknown field %d", i+1, int(t.Field))
		case t.Field == FieldStatus && (t.StatusMin < 0 || t.StatusMin > t.StatusMax || t.StatusMax > MaxStatus):
			return badQuery(ParamSearch, "term %d: status range %d-%d is not within 0-999", i+1, t.StatusMin, t.StatusMax)
		case t.Field == FieldDuration && (t.DurationMin < 0 || t.DurationMin > t.DurationMax):
			return badQuery(ParamSearch, "term %d: duration range %v-%v is empty or negative", i+1, t.DurationMin, t.DurationMax)
		case t.Field == FieldRequestID && (t.Exact == "" || t.Text != ""):
			return badQuery(ParamSearch, "term %d: a request ID term needs Exact and no Text (%q, %q)", i+1, t.Exact, t.Text)
		case t.Field != FieldAny && t.Field != FieldRequestID && t.Exact != "":
			// Before the cases that end the switch for status: and
			// duration:, which would let it through.
			return badQuery(ParamSearch, "term %d: a %s: term has no exact text (%q)", i+1, t.Field, t.Exact)
		case t.Field == FieldRequestID, t.Field == FieldStatus, t.Field == FieldDuration:
		case t.Text == "" || t.Text != Fold(t.Text):
			return badQuery(ParamSearch, "term %d: text %q is empty or not folded", i+1, t.Text)
		case t.Field == FieldAny && t.Exact != "" && Fold(t.Exact) != t.Text:
			return badQuery(ParamSearch, "term %d: exact text %q does not fold to its text %q", i+1, t.Exact, t.Text)
		}
	}
	return nil
}

// scanToken reads the term that starts at s[i]: up to unquoted whitespace,
// with the quote marks removed. firstQuote is the byte offset in s of the
// first opening quote, or -1; ok is false when a quote is not closed.
func scanToken(s string, i int) (tok string, firstQuote, end int, ok bool) {
	var b strings.Builder
	firstQuote, open := -1, -1
	for i < len(s) {
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == '"':
			if open < 0 {
				open = i
				if firstQuote < 0 {
					firstQuote = i
				}
			} else {
				open = -1
			}
		case open < 0 && unicode.IsSpace(r):
			return b.String(), firstQuote, i, true
		default:
			b.WriteString(s[i : i+size])
		}
		i += size
	}
	if open >= 0 {
		return "", open, i, false
	}
	return b.String(), firstQuote, i, true
}

// parseStatusRange parses "401", "4xx", "40x" or "500-599".
func parseStatusRange(v string) (lo, hi int, ok bool) {
	if a, b, found := strings.Cut(v, "-"); found {
		lo, ok1 := parseStatusCode(a)
		hi, ok2 := parseStatusCode(b)
		return lo, hi, ok1 && ok2 && lo <= hi
	}
	if len(v) == 3 {
		if x := strings.IndexAny(v, "xX"); x > 0 && strings.Trim(v[x:], "xX") == "" {
			base, ok := parseStatusCode(v[:x])
			span := 1
			for range 3 - x {
				base, span = base*10, span*10
			}
			return base, base + span - 1, ok
		}
	}
	code, ok := parseStatusCode(v)
	return code, code, ok
}

// parseDurationRange parses a duration: term's value: ">d", ">=d", "<d",
// "<=d" or "a-b", both ends included.
func parseDurationRange(v string) (lo, hi time.Duration, err error) {
	const want = "want a bound (>500ms, <=2s) or a range (1s-5s)"
	parse := func(s string) (time.Duration, error) {
		d, err := time.ParseDuration(strings.ToLower(s)) // 1S, 500MS
		switch {
		case err != nil && s != "" && strings.Trim(s, "0123456789.") == "":
			return 0, fmt.Errorf("%q needs a unit: %sms, %ss, …", s, s, s)
		case err != nil:
			return 0, fmt.Errorf("%q is not a duration: %s", s, want)
		case d < 0:
			return 0, fmt.Errorf("%q is negative: %s", s, want)
		}
		return d, nil
	}
	for _, op := range []string{">=", "<=", ">", "<"} {
		if rest, ok := strings.CutPrefix(v, op); ok {
			d, err := parse(rest)
			if err != nil {
				return 0, 0, err
			}
			switch op {
			case ">=":
				return d, math.MaxInt64, nil
			case "<=":
				return 0, d, nil
			case ">":
				if d == math.MaxInt64 {
					return 0, 0, fmt.Errorf("nothing lasts longer than %v", d)
				}
				return d + 1, math.MaxInt64, nil
			}
			if d == 0 {
				return 0, 0, fmt.Errorf("nothing lasts less than 0s")
			}
			return 0, d - 1, nil
		}
	}
	// A range: a duration holds no "-" (a negative one is refused anyway),
	// so the first one past the start splits it; "0-1s" too, as 0 needs no
	// unit.
	if i := strings.IndexByte(v, '-'); i > 0 {
		lo, err := parse(v[:i])
		if err != nil {
			return 0, 0, err
		}
		hi, err := parse(v[i+1:])
		if err != nil {
			return 0, 0, err
		}
		if lo > hi {
			return 0, 0, fmt.Errorf("the range %v-%v is empty", lo, hi)
		}
		return lo, hi, nil
	}
	return 0, 0, errors.New(want)
}

func parseStatusCode(v string) (int, bool) {
	if v == "" || len(v) > 3 {
		return 0, false
	}
	for i := 0; i < len(v); i++ {
		if v[i] < '0' || v[i] > '9' {
			return 0, false
		}
	}
	n, err := strconv.Atoi(v)
	return n, err == nil
}

// statusText holds every valid status code in decimal, so matching a term
// against a status does not allocate.
var statusText = func() (t [MaxStatus + 1]string) {
	for i := range t {
		t[i] = strconv.Itoa(i)
	}
	return t
}()

// MatchText reports whether the term, ignoring Negate, matches the value v
// of the search target field: FieldKey (name or prefix), FieldMethod,
// FieldEndpoint, FieldError or FieldIP. Backends that keep distinct values
// apart can match each value once and reuse the answer for every row.
func (t *Term) MatchText(field Field, v string) bool {
	if field == FieldStatus || (t.Field != FieldAny && t.Field != field) {
		return false
	}
	return ContainsFold(v, t.Text)
}

// MatchStatus reports whether the term, ignoring Negate, matches the status
// code: within the range for a status: term, as decimal text for a plain one.
func (t *Term) MatchStatus(code int) bool {
	switch t.Field {
	case FieldStatus:
		return code >= t.StatusMin && code <= t.StatusMax
	case FieldAny:
		return code >= 0 && code <= MaxStatus && ContainsFold(statusText[code], t.Text)
	}
	return false
}

// RequestID returns the request ID the term matches a row by, byte for
// byte, and whether it matches one: a req: term's, or a plain term's text
// as typed. Stores look it up on an index; MatchRequestID is the rule.
func (t *Term) RequestID() (string, bool) {
	if (t.Field == FieldAny || t.Field == FieldRequestID) && t.Exact != "" {
		return t.Exact, true
	}
	return "", false
}

// MatchRequestID reports whether the term, ignoring Negate, matches a row
// whose request ID is id.
func (t *Term) MatchRequestID(id string) bool {
	want, ok := t.RequestID()
	return ok && id == want
}

// MatchDuration reports whether the term, ignoring Negate, is a duration:
// term whose range holds d.
func (t *Term) MatchDuration(d time.Duration) bool {
	return t.Field == FieldDuration && d >= t.DurationMin && d <= t.DurationMax
}

// MatchRow reports whether the term, ignoring Negate, matches any of r's
// search targets.
func (t *Term) MatchRow(r *Row) bool {
	switch t.Field {
	case FieldDuration:
		return t.MatchDuration(r.Duration)
	case FieldRequestID:
		return t.MatchRequestID(r.RequestID)
	}
	return t.MatchRequestID(r.RequestID) || t.MatchText(FieldKey, r.KeyName) || t.MatchText(FieldKey, r.KeyPrefix) ||
		t.MatchText(FieldMethod, r.Method) || t.MatchText(FieldEndpoint, r.Endpoint) ||
		t.MatchStatus(r.Status) || t.MatchText(FieldError, r.ErrorCode) ||
		t.MatchText(FieldIP, r.IPHash)
}

// Match reports whether r satisfies every term.
func (s Search) Match(r *Row) bool {
	for i := range s.Terms {
		if s.Terms[i].MatchRow(r) == s.Terms[i].Negate {
			return false
		}
	}
	return true
}

// Match reports whether r passes every filter of q: the account scope, the
// row-ID bound, the time range, the status classes, methods and key IDs, and
// the search. It is the reference a Store's results are checked against.
func (q *Query) Match(r *Row) bool {
	switch {
	case q.Account != "" && r.Account != q.Account,
		q.MaxID > 0 && r.ID > q.MaxID,
		!inRange(r.Time, q.From, q.To),
		len(q.StatusClasses) > 0 && !slices.Contains(q.StatusClasses, ClassOf(r.Status)),
		len(q.Methods) > 0 && !slices.Contains(q.Methods, r.Method),
		len(q.KeyIDs) > 0 && !slices.Contains(q.KeyIDs, r.KeyID):
		return false
	}
	return q.Search.Match(r)
}

// inRange reports whether t is in [from, to), where a zero bound is open.
func inRange(t, from, to time.Time) bool {
	return (from.IsZero() || !t.Before(from)) && (to.IsZero() || t.Before(to))
}
