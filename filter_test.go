package apilog_test

import (
	"errors"
	"math"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/apilog/apilog"
	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

// fakeHasher stands in for the host's keyed IP hash. Its output has upper
// case letters so that tests see ParseSearch fold it, and it shows the
// address it was given, so that tests see that address was canonical.
type fakeHasher struct{}

func (fakeHasher) HashIP(addr netip.Addr) string { return "H(" + addr.String() + ")" }

// hashOf is what fakeHasher returns for a canonical address.
func hashOf(addr string) string { return fakeHasher{}.HashIP(netip.MustParseAddr(addr)) }

// Term constructors for the tables.
// termAny is a plain term typed as text: folded for substrings, kept as
// typed for request IDs.
func termAny(text string) apilog.Term {
	return apilog.Term{Field: apilog.FieldAny, Text: apilog.Fold(text), Exact: text}
}
func termReq(id string) apilog.Term { return apilog.Term{Field: apilog.FieldRequestID, Exact: id} }
func termOf(f apilog.Field, text string) apilog.Term {
	return apilog.Term{Field: f, Text: text}
}
func termStatus(lo, hi int) apilog.Term {
	return apilog.Term{Field: apilog.FieldStatus, StatusMin: lo, StatusMax: hi}
}
func termDuration(lo, hi time.Duration) apilog.Term {
	return apilog.Term{Field: apilog.FieldDuration, DurationMin: lo, DurationMax: hi}
}
func negate(t apilog.Term) apilog.Term { t.Negate = true; return t }

// nTerms returns n distinct one-letter-and-number terms separated by spaces.
func nTerms(n int) string {
	var b strings.Builder
	for i := range n {
		if i > 0 {
			b.WriteByte(' ')
		}
		b.WriteString("t")
		b.WriteString(string(rune('a' + i%26)))
		b.WriteString(string(rune('a' + i/26)))
	}
	return b.String()
}

func TestFieldString(t *testing.T) {
	for f, want := range map[apilog.Field]string{apilog.FieldAny: "any", apilog.FieldKey: "key", apilog.FieldIP: "ip", apilog.FieldRequestID: "req", 42: "Field(42)"} {
		if got := f.String(); got != want {
			t.Errorf("Field(%d).String() = %q, want %q", int(f), got, want)
		}
	}
}

var parseSearchTests = []struct {
	name   string
	in     string
	nilIPH bool // parse with a nil IPHasher
	want   []apilog.Term
}{
	{name: "empty", in: "", want: nil},
	{name: "whitespace only", in: " \t\r\n\v\f ", want: nil},
	{name: "unicode whitespace only", in: "\u00a0\u3000\u2003", want: nil},
	{name: "plain folded", in: "Foo", want: []apilog.Term{termAny("Foo")}},
	{name: "plain lower", in: "foo", want: []apilog.Term{termAny("foo")}},
	{name: "multiple terms", in: "  foo BAR\tbaz\n", want: []apilog.Term{termAny("foo"), termAny("BAR"), termAny("baz")}},
	{name: "unicode space separates", in: "foo\u00a0bar\u3000baz", want: []apilog.Term{termAny("foo"), termAny("bar"), termAny("baz")}},
	{name: "phrase", in: `"Flux Pro"`, want: []apilog.Term{termAny("Flux Pro")}},
	{name: "phrase keeps inner spaces", in: `"a  cat	in"`, want: []apilog.Term{termAny("a  cat	in")}},
	{name: "phrase among terms", in: `post "flux pro" 422`, want: []apilog.Term{termAny("post"), termAny("flux pro"), termAny("422")}},
	{name: "quotes inside a word", in: `a"b c"d`, want: []apilog.Term{termAny("ab cd")}},
	{name: "quote then word", in: `"foo"bar`, want: []apilog.Term{termAny("foobar")}},
	{name: "empty quotes skipped", in: `""`, want: nil},
	{name: "empty quotes between terms", in: `foo "" bar ""`, want: []apilog.Term{termAny("foo"), termAny("bar")}},

	// req: keeps the ID as typed, never folded.
	{name: "req", in: "req:4f1cAB", want: []apilog.Term{termReq("4f1cAB")}},
	{name: "REQ upper", in: "REQ:x-1", want: []apilog.Term{termReq("x-1")}},
	{name: "req negated", in: "-req:abc", want: []apilog.Term{negate(termReq("abc"))}},
	{name: "req quoted", in: `req:"a b"`, want: []apilog.Term{termReq("a b")}},
	{name: "req with colons", in: "req:a:b=/+~", want: []apilog.Term{termReq("a:b=/+~")}},
	{name: "req quoted is plain", in: `"req:x"`, want: []apilog.Term{termAny("req:x")}},
	{name: "plain ID keeps case", in: "Req_0F", want: []apilog.Term{termAny("Req_0F")}},

	// Qualifiers.
	{name: "key", in: "key:Prod", want: []apilog.Term{termOf(apilog.FieldKey, "prod")}},
	{name: "KEY upper", in: "KEY:Prod", want: []apilog.Term{termOf(apilog.FieldKey, "prod")}},
	{name: "method", in: "method:POST", want: []apilog.Term{termOf(apilog.FieldMethod, "post")}},
	{name: "Method mixed", in: "Method:get", want: []apilog.Term{termOf(apilog.FieldMethod, "get")}},
	{name: "endpoint", in: "endpoint:/v1/Models", want: []apilog.Term{termOf(apilog.FieldEndpoint, "/v1/models")}},
	{name: "endpoint with colon in value", in: "endpoint:/v1/models/x:generate", want: []apilog.Term{termOf(apilog.FieldEndpoint, "/v1/models/x:generate")}},
	{name: "error", in: "error:BSE4006", want: []apilog.Term{termOf(apilog.FieldError, "bse4006")}},
	{name: "ERROR upper", in: "ERROR:bse", want: []apilog.Term{termOf(apilog.FieldError, "bse")}},
	{name: "ip hash text", in: "ip:A1B2C3", want: []apilog.Term{termOf(apilog.FieldIP, "a1b2c3")}},
	{name: "ip hash text, nil hasher", in: "ip:a1b2c3", nilIPH: true, want: []apilog.Term{termOf(apilog.FieldIP, "a1b2c3")}},
	{name: "key phrase", in: `key:"two Words"`, want: []apilog.Term{termOf(apilog.FieldKey, "two words")}},
	{name: "key phrase in the middle", in: `key:"two words"x`, want: []apilog.Term{termOf(apilog.FieldKey, "two wordsx")}},
	{name: "key value with colon", in: "key:a:b", want: []apilog.Term{termOf(apilog.FieldKey, "a:b")}},

	// status: forms.
	{name: "status code", in: "status:401", want: []apilog.Term{termStatus(401, 401)}},
	{name: "STATUS upper", in: "STATUS:4xx", want: []apilog.Term{termStatus(400, 499)}},
	{name: "status class", in: "status:4xx", want: []apilog.Term{termStatus(400, 499)}},
	{name: "status class upper X", in: "status:4XX", want: []apilog.Term{termStatus(400, 499)}},
	{name: "status class mixed X", in: "status:5xX", want: []apilog.Term{termStatus(500, 599)}},
	{name: "status tens", in: "status:40x", want: []apilog.Term{termStatus(400, 409)}},
	{name: "status range", in: "status:500-599", want: []apilog.Term{termStatus(500, 599)}},

	// duration: forms, both ends included.
	{name: "duration over", in: "duration:>500ms", want: []apilog.Term{termDuration(500*time.Millisecond+1, math.MaxInt64)}},
	{name: "duration at least", in: "DURATION:>=1s", want: []apilog.Term{termDuration(time.Second, math.MaxInt64)}},
	{name: "duration under", in: "duration:<100ms", want: []apilog.Term{termDuration(0, 100*time.Millisecond-1)}},
	{name: "duration at most", in: "duration:<=2.5s", want: []apilog.Term{termDuration(0, 2500*time.Millisecond)}},
	{name: "duration range", in: "duration:1s-5s", want: []apilog.Term{termDuration(time.Second, 5*time.Second)}},
	{name: "duration range of fractions", in: "duration:1.5s-2m", want: []apilog.Term{termDuration(1500*time.Millisecond, 2*time.Minute)}},
	{name: "duration range in µs", in: "duration:900µs-1ms", want: []apilog.Term{termDuration(900*time.Microsecond, time.Millisecond)}},
	{name: "duration upper-case units", in: "duration:500MS-2S", want: []apilog.Term{termDuration(500*time.Millisecond, 2*time.Second)}},
	{name: "duration from zero", in: "duration:0-1s", want: []apilog.Term{termDuration(0, time.Second)}},
	{name: "duration negated", in: "-duration:<100ms", want: []apilog.Term{negate(termDuration(0, 100*time.Millisecond-1))}},
	{name: "status range across classes", in: "status:199-200", want: []apilog.Term{termStatus(199, 200)}},
	{name: "status range of one", in: "status:404-404", want: []apilog.Term{termStatus(404, 404)}},
	{name: "status zero", in: "status:0", want: []apilog.Term{termStatus(0, 0)}},
	{name: "status 999", in: "status:999", want: []apilog.Term{termStatus(999, 999)}},
	{name: "status 0xx", in: "status:0xx", want: []apilog.Term{termStatus(0, 99)}},
	{name: "status 9xx", in: "status:9xx", want: []apilog.Term{termStatus(900, 999)}},
	{name: "status quoted value", in: `status:"4xx"`, want: []apilog.Term{termStatus(400, 499)}},

	// Negation.
	{name: "negated", in: "-Foo", want: []apilog.Term{negate(termAny("Foo"))}},
	{name: "negated status", in: "-status:2xx", want: []apilog.Term{negate(termStatus(200, 299))}},
	{name: "negated key", in: "-key:staging", want: []apilog.Term{negate(termOf(apilog.FieldKey, "staging"))}},
	{name: "negated phrase", in: `-"a Phrase"`, want: []apilog.Term{negate(termAny("a Phrase"))}},
	{name: "negated key phrase", in: `-key:"two words"`, want: []apilog.Term{negate(termOf(apilog.FieldKey, "two words"))}},
	{name: "lone dash", in: "-", want: []apilog.Term{termAny("-")}},
	{name: "lone dash among terms", in: "a - b", want: []apilog.Term{termAny("a"), termAny("-"), termAny("b")}},
	{name: "double dash", in: "--x", want: []apilog.Term{negate(termAny("-x"))}},
	{name: "quoted dash is literal", in: `"-foo"`, want: []apilog.Term{termAny("-foo")}},
	{name: "quoted qualifier is literal", in: `"key:x"`, want: []apilog.Term{termAny("key:x")}},
	{name: "quoted negated qualifier is literal", in: `"-status:2xx"`, want: []apilog.Term{termAny("-status:2xx")}},
	{name: "quoted qualifier name", in: `"key":x`, want: []apilog.Term{termAny("key:x")}},
	{name: "quoted colon", in: `key":x"`, want: []apilog.Term{termAny("key:x")}},
	{name: "quoted value after qualifier", in: `key:"x"`, want: []apilog.Term{termOf(apilog.FieldKey, "x")}},

	// Colons that are not qualifiers.
	{name: "unknown qualifier", in: "foo:bar", want: []apilog.Term{termAny("foo:bar")}},
	{name: "endpoint path with colon", in: "/v1/models/x:generate", want: []apilog.Term{termAny("/v1/models/x:generate")}},
	{name: "leading colon", in: ":x", want: []apilog.Term{termAny(":x")}},
	{name: "qualifier name as text", in: "key", want: []apilog.Term{termAny("key")}},

	// ip: with addresses, hashed.
	{name: "ipv4", in: "ip:203.0.113.7", want: []apilog.Term{termOf(apilog.FieldIP, "h(203.0.113.7)")}},
	{name: "ipv4-mapped ipv6 is unmapped", in: "ip:::ffff:203.0.113.7", want: []apilog.Term{termOf(apilog.FieldIP, "h(203.0.113.7)")}},
	{name: "ipv6 zone dropped", in: "ip:fe80::1%eth0", want: []apilog.Term{termOf(apilog.FieldIP, "h(fe80::1)")}},
	{name: "ipv6 canonical", in: "IP:2001:DB8:0::1", want: []apilog.Term{termOf(apilog.FieldIP, "h(2001:db8::1)")}},
	{name: "negated ip", in: "-ip:203.0.113.7", want: []apilog.Term{negate(termOf(apilog.FieldIP, "h(203.0.113.7)"))}},
	{name: "not an address", in: "ip:203.0.113", want: []apilog.Term{termOf(apilog.FieldIP, "203.0.113")}},
	{name: "plain address is not hashed", in: "203.0.113.7", want: []apilog.Term{termAny("203.0.113.7")}},

	// Folding beyond ASCII.
	{name: "umlaut", in: "ÄPFEL", want: []apilog.Term{termAny("ÄPFEL")}},
	{name: "kelvin sign", in: "\u212Aelvin", want: []apilog.Term{termAny("\u212Aelvin")}},
	{name: "qualifier names are ASCII", in: "\u212Aey:x", want: []apilog.Term{termAny("\u212Aey:x")}},
	{name: "long s", in: "ſecret", want: []apilog.Term{termAny("ſecret")}},
	{name: "sharp s stays", in: "STRAẞE", want: []apilog.Term{termAny("STRAẞE")}},
	{name: "final sigma", in: "ΟΔΟΣ", want: []apilog.Term{termAny("ΟΔΟΣ")}},
	{name: "folded qualifier value", in: "key:ÄPFEL", want: []apilog.Term{termOf(apilog.FieldKey, "äpfel")}},

	// Limits, accepted.
	{name: "exactly 1000 bytes", in: strings.Repeat("a", apilog.MaxSearchLen), want: []apilog.Term{termAny(strings.Repeat("a", apilog.MaxSearchLen))}},
	{name: "exactly 32 terms", in: nTerms(32), want: func() (ts []apilog.Term) {
		for _, w := range strings.Fields(nTerms(32)) {
			ts = append(ts, termAny(w))
		}
		return ts
	}()},
	{name: "32 terms and empty quotes", in: nTerms(32) + ` "" ""`, want: func() (ts []apilog.Term) {
		for _, w := range strings.Fields(nTerms(32)) {
			ts = append(ts, termAny(w))
		}
		return ts
	}()},
}

func TestParseSearch(t *testing.T) {
	for _, tt := range parseSearchTests {
		t.Run(tt.name, func(t *testing.T) {
			var h apilog.IPHasher = fakeHasher{}
			if tt.nilIPH {
				h = nil
			}
			got, err := apilog.ParseSearch(tt.in, h)
			if err != nil {
				t.Fatalf("ParseSearch(%q) error: %v", tt.in, err)
			}
			if diff := cmp.Diff(tt.want, got.Terms, cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("ParseSearch(%q) terms (-want +got):\n%s", tt.in, diff)
			}
			if got, want := got.String(), tt.in; got != want {
				t.Errorf("ParseSearch(%q).String() = %q, want %q", tt.in, got, want)
			}
		})
	}
}

func TestSearchZeroValue(t *testing.T) {
	var s apilog.Search
	if got := s.String(); got != "" {
		t.Errorf("Search{}.String() = %q, want empty", got)
	}
	r := apilog.Row{}
	if !s.Match(&r) {
		t.Errorf("Search{}.Match(zero row) = false, want true")
	}
}

var parseSearchErrorTests = []struct {
	name   string
	in     string
	nilIPH bool
	want   []string // substrings of the error message
}{
	{name: "unterminated quote", in: `"abc`, want: []string{"unterminated quote", "at character 1"}},
	{name: "unterminated quote later", in: `foo "bar`, want: []string{"unterminated quote", "at character 5"}},
	{name: "unterminated second quote", in: `foo "bar" "baz`, want: []string{"unterminated quote", "at character 11"}},
	{name: "unterminated quote in word", in: `"a"b"c`, want: []string{"unterminated quote", "at character 5"}},
	{name: "unterminated after qualifier", in: `key:"two words`, want: []string{"unterminated quote", "at character 5"}},
	{name: "unterminated after multibyte", in: `äö "x`, want: []string{"unterminated quote", "at character 4"}},
	{name: "too long", in: strings.Repeat("a", apilog.MaxSearchLen+1), want: []string{"1001 bytes"}},
	{name: "too long with spaces", in: strings.Repeat(" ", 5000), want: []string{"5000 bytes"}},
	{name: "too many terms", in: nTerms(33), want: []string{"more than 32 terms", "at character 129"}},
	{name: "too many qualified terms", in: strings.Repeat("status:2xx ", 33), want: []string{"more than 32 terms"}},
	{name: "status word", in: "status:abc", want: []string{"status:abc"}},
	{name: "status four x", in: "status:4xxx", want: []string{"status:4xxx"}},
	{name: "status x first", in: "status:x00", want: []string{"status:x00"}},
	{name: "status x in middle", in: "status:4x0", want: []string{"status:4x0"}},
	{name: "status backwards range", in: "status:600-500", want: []string{"status:600-500"}},
	{name: "status 1000", in: "status:1000", want: []string{"status:1000"}},
	{name: "status negative", in: "status:-1", want: []string{"status:-1"}},
	{name: "status open range", in: "status:500-", want: []string{"status:500-"}},
	{name: "status range of classes", in: "status:4xx-5xx", want: []string{"status:4xx-5xx"}},
	{name: "status sign", in: "status:+40", want: []string{"status:+40"}},
	{name: "status fraction", in: "status:4.0", want: []string{"status:4.0"}},
	{name: "status later term", in: "foo status:abc", want: []string{"status:abc", "at character 5"}},
	{name: "negated status bad", in: "-status:6xy", want: []string{"-status:6xy"}},
	{name: "duration without bound", in: "duration:500ms", want: []string{"duration:500ms", "want a bound (>500ms, <=2s) or a range (1s-5s)"}},
	{name: "duration without unit", in: "duration:>500", want: []string{`"500" needs a unit: 500ms, 500s, …`}},
	{name: "duration range without unit", in: "duration:5-10s", want: []string{`"5" needs a unit`}},
	{name: "duration range past a negative", in: "duration:1s--2s", want: []string{`"-2s" is negative`}},
	{name: "duration word", in: "x duration:>soon", want: []string{`"soon" is not a duration`, "at character 3"}},
	{name: "duration negative", in: "duration:>-1s", want: []string{`"-1s" is negative`}},
	{name: "duration backwards", in: "duration:5s-1s", want: []string{"the range 5s-1s is empty"}},
	{name: "duration open range", in: "duration:1s-", want: []string{`"" is not a duration`}},
	{name: "duration under nothing", in: "duration:<0s", want: []string{"less than 0s"}},
	{name: "duration over everything", in: "duration:>2562047h47m16.854775807s", want: []string{"longer than"}},
	{name: "duration overflow", in: "duration:>9999999h", want: []string{"is not a duration"}},
	{name: "key without value", in: "key:", want: []string{"key:", "needs a value"}},
	{name: "status without value", in: "status:", want: []string{"status:", "needs a value"}},
	{name: "ip without value", in: "ip:", want: []string{"ip:", "needs a value"}},
	{name: "req without value", in: "req:", want: []string{"req:", "needs a value", "at character 1"}},
	{name: "negated req without value", in: "x -req:", want: []string{"-req:", "needs a value", "at character 3"}},
	{name: "req empty quotes", in: `req:""`, want: []string{"needs a value"}},
	{name: "negated without value", in: "-error:", want: []string{"-error:", "needs a value"}},
	{name: "empty quoted value", in: `method:""`, want: []string{"needs a value"}},
	{name: "invalid UTF-8", in: "foo \xff", want: []string{"UTF-8"}},
	{name: "truncated rune", in: "\xe2\x84", want: []string{"UTF-8"}},
	{name: "surrogate", in: "\xed\xa0\x80", want: []string{"UTF-8"}},
	{name: "ip without hasher", in: "ip:1.2.3.4", nilIPH: true, want: []string{"ip:1.2.3.4", "no IP hasher"}},
	{name: "ipv6 without hasher", in: "ip:::1", nilIPH: true, want: []string{"no IP hasher"}},
}

func TestParseSearchErrors(t *testing.T) {
	for _, tt := range parseSearchErrorTests {
		t.Run(tt.name, func(t *testing.T) {
			var h apilog.IPHasher = fakeHasher{}
			if tt.nilIPH {
				h = nil
			}
			s, err := apilog.ParseSearch(tt.in, h)
			if err == nil {
				t.Fatalf("ParseSearch(%q) = %+v, want an error", tt.in, s.Terms)
			}
			var qe *apilog.QueryError
			if !errors.As(err, &qe) || qe.Param != apilog.ParamSearch || !errors.Is(err, apilog.ErrBadQuery) {
				t.Errorf("ParseSearch(%q) error %#v is not a QueryError about %q wrapping ErrBadQuery", tt.in, err, apilog.ParamSearch)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("ParseSearch(%q) error %q does not contain %q", tt.in, err, w)
				}
			}
			if len(s.Terms) != 0 || s.String() != "" {
				t.Errorf("ParseSearch(%q) returned %+v (%q) with its error, want the zero Search", tt.in, s.Terms, s.String())
			}
		})
	}
}

var (
	t0 = time.Date(2025, 3, 14, 15, 9, 26, 535897932, time.UTC)

	// matchRow has a value in every search target, all distinct.
	matchRow = apilog.Row{
		Entry: apilog.Entry{
			ID: 7, Account: "acct_1", KeyID: "key_1", RequestID: "req_zz9",
			Method: "POST", Endpoint: "/v1/flux-pro/Generate", Status: 422,
			ErrorCode: "BSE4006", IPHash: hashOf("203.0.113.7"),
			Time: t0, Duration: 1500 * time.Millisecond,
		},
		KeyName: "Production-API", KeyPrefix: "bye_AB12", KeyStatus: apilog.KeyActive,
	}
	// unknownKeyRow is a row whose key the store does not know.
	unknownKeyRow = apilog.Row{
		Entry: apilog.Entry{
			ID: 8, Account: "acct_1", Method: "GET", Endpoint: "/v1/models",
			Status: 200, Time: t0.Add(time.Second),
		},
	}
	// unicodeRow has non-ASCII text.
	unicodeRow = apilog.Row{
		Entry: apilog.Entry{
			ID: 9, Account: "acct_1", KeyID: "key_2", Method: "GET",
			Endpoint: "/v1/ÉCOLE/straße", Status: 200, Time: t0,
		},
		KeyName: "\u212Aelvin-Äpfel", KeyPrefix: "bye_ſ01", KeyStatus: apilog.KeyRotated,
	}
)

func TestSearchMatch(t *testing.T) {
	tests := []struct {
		search string
		row    apilog.Row
		want   bool
	}{
		{"", matchRow, true},
		{"", unknownKeyRow, true},
		// Each of the seven targets, as plain text.
		{"production", matchRow, true},
		{"PRODUCTION-api", matchRow, true},
		{"bye_ab", matchRow, true},
		{"post", matchRow, true},
		{"flux-pro/generate", matchRow, true},
		{"422", matchRow, true},
		{"42", matchRow, true},
		{"bse4006", matchRow, true},
		{"h(203.0", matchRow, true},
		// The request ID, equal as typed: case-sensitive, never a part.
		{"req_zz9", matchRow, true},
		{"REQ_ZZ9", matchRow, false},
		{"req_zz", matchRow, false},
		{"zz9", matchRow, false},
		{`"req_zz9"`, matchRow, true},
		{"-req_zz9", matchRow, false},
		{"req:req_zz9", matchRow, true},
		{"REQ:req_zz9", matchRow, true},
		{"req:REQ_ZZ9", matchRow, false},
		{"req:req_zz", matchRow, false},
		{"req:post", matchRow, false}, // req: narrows to the request ID
		{"-req:req_zz9", matchRow, false},
		{"-req:other", matchRow, true},
		{"req:req_zz9 status:4xx", matchRow, true},
		{"req:req_zz9 status:5xx", matchRow, false},
		// An ID that is also a part of another target matches both ways.
		{"/v1/flux-pro/Generate", apilog.Row{Entry: apilog.Entry{RequestID: "/v1/flux-pro/Generate", Endpoint: "/x"}}, true},
		{"flux", apilog.Row{Entry: apilog.Entry{RequestID: "flux", Endpoint: "/x"}}, true},
		{"FLUX", apilog.Row{Entry: apilog.Entry{RequestID: "flux", Endpoint: "/x"}}, false},
		{"FLUX", apilog.Row{Entry: apilog.Entry{RequestID: "flux", Endpoint: "/flux"}}, true},
		{"req:flux", apilog.Row{Entry: apilog.Entry{RequestID: "x", Endpoint: "/flux"}}, false},
		// Not targets: the account, the key ID, the key status, the time.
		{"acct_1", matchRow, false},
		{"key_1", matchRow, false},
		{"active", matchRow, false},
		{"2025", matchRow, false},
		// Plain "4xx" is text, not a class.
		{"4xx", matchRow, false},
		// Terms are ANDed.
		{"production post 422", matchRow, true},
		{"production get", matchRow, false},
		// Phrases.
		{`"flux-pro/generate"`, matchRow, true},
		{`"flux pro"`, matchRow, false},
		// Qualifiers narrow to one field.
		{"key:production", matchRow, true},
		{"key:bye_ab12", matchRow, true},
		{"key:post", matchRow, false},
		{"method:post", matchRow, true},
		{"method:po", matchRow, true},
		{"method:flux", matchRow, false},
		{"endpoint:flux", matchRow, true},
		{"endpoint:post", matchRow, false},
		{"error:bse40", matchRow, true},
		{"error:422", matchRow, false},
		{"ip:h(203", matchRow, true},
		{"ip:bse", matchRow, false},
		{"ip:203.0.113.7", matchRow, true},
		{"ip:::ffff:203.0.113.7", matchRow, true},
		{"ip:198.51.100.1", matchRow, false},
		{"status:422", matchRow, true},
		{"status:4xx", matchRow, true},
		{"status:42x", matchRow, true},
		{"status:5xx", matchRow, false},
		{"status:400-421", matchRow, false},
		{"status:422-499", matchRow, true},
		{"status:100-422", matchRow, true},
		{"duration:>1s", matchRow, true},
		{"duration:>1500ms", matchRow, false},
		{"duration:>=1500ms", matchRow, true},
		{"duration:<=1500ms", matchRow, true},
		{"duration:<1500ms", matchRow, false},
		{"duration:1s-2s", matchRow, true},
		{"duration:2s-3s", matchRow, false},
		{"-duration:<1s", matchRow, true},
		{"-duration:>1s", matchRow, false},
		{"post duration:>1s", matchRow, true},
		// Plain terms do not search durations.
		{"1500", matchRow, false},
		// status: matches the code only, not "422" in other text.
		{"status:4xx", apilog.Row{Entry: apilog.Entry{Status: 200, Endpoint: "/v1/422", ErrorCode: "E422"}}, false},
		// Negation.
		{"-production", matchRow, false},
		{"-staging", matchRow, true},
		{"-status:2xx", matchRow, true},
		{"-status:4xx", matchRow, false},
		{"-key:production", matchRow, false},
		{"-method:get", matchRow, true},
		{`-"flux-pro"`, matchRow, false},
		{"post -staging", matchRow, true},
		{"post -production", matchRow, false},
		// An unknown key: no name or prefix to match.
		{"key:production", unknownKeyRow, false},
		{"-key:production", unknownKeyRow, true},
		{"-key:a", unknownKeyRow, true},
		{"models", unknownKeyRow, true},
		{"status:2xx", unknownKeyRow, true},
		{"error:bse", unknownKeyRow, false},
		{"-error:bse", unknownKeyRow, true},
		// Literal dash: "-" matches text containing a dash.
		{"-", matchRow, true},
		{"-", unknownKeyRow, false},
		// Non-ASCII folding in row values and in the search.
		{"kelvin", unicodeRow, true},
		{"KELVIN", unicodeRow, true},
		{"\u212Aelvin", unicodeRow, true},
		{"äpfel", unicodeRow, true},
		{"ÄPFEL", unicodeRow, true},
		{"bye_s01", unicodeRow, true},
		{"BYE_S01", unicodeRow, true},
		{"école", unicodeRow, true},
		{"STRAẞE", unicodeRow, true},
		{"strasse", unicodeRow, false},
		{"\u212Aelvin", apilog.Row{KeyName: "kelvin"}, true},
		{"ſ", apilog.Row{Entry: apilog.Entry{Method: "S"}}, true},
	}
	for _, tt := range tests {
		t.Run(tt.search, func(t *testing.T) {
			s, err := apilog.ParseSearch(tt.search, fakeHasher{})
			if err != nil {
				t.Fatalf("ParseSearch(%q): %v", tt.search, err)
			}
			if got := s.Match(&tt.row); got != tt.want {
				t.Errorf("ParseSearch(%q).Match(row %d %q) = %v, want %v", tt.search, tt.row.ID, tt.row.KeyName, got, tt.want)
			}
		})
	}
}

func TestTermMatch(t *testing.T) {
	anyTerm := apilog.Term{Text: "4"}
	statusTerm := apilog.Term{Field: apilog.FieldStatus, StatusMin: 400, StatusMax: 499}
	keyTerm := apilog.Term{Field: apilog.FieldKey, Text: "4"}
	negKey := apilog.Term{Field: apilog.FieldKey, Text: "4", Negate: true}
	plainID := apilog.Term{Text: "ab-1", Exact: "Ab-1"}
	reqTerm := apilog.Term{Field: apilog.FieldRequestID, Exact: "Ab-1"}
	tests := []struct {
		name string
		got  bool
		want bool
	}{
		{"any matches key", anyTerm.MatchText(apilog.FieldKey, "k4"), true},
		{"any matches ip", anyTerm.MatchText(apilog.FieldIP, "44"), true},
		{"any misses", anyTerm.MatchText(apilog.FieldMethod, "GET"), false},
		{"any never matches the status field as text", anyTerm.MatchText(apilog.FieldStatus, "404"), false},
		{"status term never matches text", statusTerm.MatchText(apilog.FieldStatus, "404"), false},
		{"key term on key", keyTerm.MatchText(apilog.FieldKey, "k4"), true},
		{"key term on endpoint", keyTerm.MatchText(apilog.FieldEndpoint, "/4"), false},
		{"negate is ignored by MatchText", negKey.MatchText(apilog.FieldKey, "k4"), true},
		{"any status as text", anyTerm.MatchStatus(204), true},
		{"any status as text misses", anyTerm.MatchStatus(200), false},
		{"any status below range", anyTerm.MatchStatus(-4), false},
		{"any status above range", anyTerm.MatchStatus(1004), false},
		{"status range low edge", statusTerm.MatchStatus(400), true},
		{"status range high edge", statusTerm.MatchStatus(499), true},
		{"status range below", statusTerm.MatchStatus(399), false},
		{"status range above", statusTerm.MatchStatus(500), false},
		{"key term never matches a status", keyTerm.MatchStatus(404), false},
		{"negate is ignored by MatchRow", negKey.MatchRow(&apilog.Row{KeyName: "k4"}), true},
		{"plain term by its exact text", plainID.MatchRequestID("Ab-1"), true},
		{"plain term by its fold", plainID.MatchRequestID("ab-1"), false},
		{"plain term by a part", plainID.MatchRequestID("Ab-12"), false},
		{"hand-built plain term with no exact text", anyTerm.MatchRequestID("4"), false},
		{"req term", reqTerm.MatchRequestID("Ab-1"), true},
		{"req term on text", reqTerm.MatchText(apilog.FieldEndpoint, "Ab-1"), false},
		{"req term on a status", reqTerm.MatchStatus(404), false},
		{"key term never matches a request ID", keyTerm.MatchRequestID("4"), false},
		{"req term by MatchRow", reqTerm.MatchRow(&apilog.Row{Entry: apilog.Entry{RequestID: "Ab-1"}}), true},
		{"req term ignores the other targets", reqTerm.MatchRow(&apilog.Row{Entry: apilog.Entry{RequestID: "x", Endpoint: "Ab-1"}}), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.got != tt.want {
				t.Errorf("got %v, want %v", tt.got, tt.want)
			}
		})
	}
}

func TestQueryMatch(t *testing.T) {
	from := t0
	to := t0.Add(time.Hour)
	at := func(r apilog.Row, tm time.Time) apilog.Row { r.Time = tm; return r }
	other := matchRow
	other.Account = "acct_2"
	search := func(s string) apilog.Search {
		q, err := apilog.ParseSearch(s, fakeHasher{})
		if err != nil {
			t.Fatalf("ParseSearch(%q): %v", s, err)
		}
		return q
	}
	tests := []struct {
		name string
		q    apilog.Query
		row  apilog.Row
		want bool
	}{
		{"scope matches", apilog.Query{Account: "acct_1"}, matchRow, true},
		{"scope excludes other tenant", apilog.Query{Account: "acct_1"}, other, false},
		{"all accounts", apilog.Query{AllAccounts: true}, other, true},
		{"scope is exact", apilog.Query{Account: "ACCT_1"}, matchRow, false},

		{"from is inclusive", apilog.Query{Account: "acct_1", From: from}, at(matchRow, from), true},
		{"before from", apilog.Query{Account: "acct_1", From: from}, at(matchRow, from.Add(-time.Nanosecond)), false},
		{"to is exclusive", apilog.Query{Account: "acct_1", To: to}, at(matchRow, to), false},
		{"just before to", apilog.Query{Account: "acct_1", To: to}, at(matchRow, to.Add(-time.Nanosecond)), true},
		{"inside range", apilog.Query{Account: "acct_1", From: from, To: to}, at(matchRow, from.Add(time.Minute)), true},
		{"empty range", apilog.Query{Account: "acct_1", From: from, To: from}, at(matchRow, from), false},
		{"open range", apilog.Query{Account: "acct_1"}, at(matchRow, time.Unix(0, 1)), true},
		{"bound in another zone", apilog.Query{Account: "acct_1", From: from.In(time.FixedZone("X", -7*3600))}, at(matchRow, from), true},
		{"to in another zone", apilog.Query{Account: "acct_1", To: to.In(time.FixedZone("Y", 5*3600))}, at(matchRow, to), false},

		{"class matches", apilog.Query{Account: "acct_1", StatusClasses: []apilog.StatusClass{apilog.StatusClientError}}, matchRow, true},
		{"any of classes", apilog.Query{Account: "acct_1", StatusClasses: []apilog.StatusClass{apilog.StatusSuccess, apilog.StatusClientError}}, matchRow, true},
		{"class misses", apilog.Query{Account: "acct_1", StatusClasses: []apilog.StatusClass{apilog.StatusSuccess, apilog.StatusServerError}}, matchRow, false},
		{"other class", apilog.Query{Account: "acct_1", StatusClasses: []apilog.StatusClass{apilog.StatusOther}}, apilog.Row{Entry: apilog.Entry{Account: "acct_1", Status: 0}}, true},
		{"other class 600", apilog.Query{Account: "acct_1", StatusClasses: []apilog.StatusClass{apilog.StatusOther}}, apilog.Row{Entry: apilog.Entry{Account: "acct_1", Status: 600}}, true},
		{"other class excludes 200", apilog.Query{Account: "acct_1", StatusClasses: []apilog.StatusClass{apilog.StatusOther}}, unknownKeyRow, false},

		{"method matches", apilog.Query{Account: "acct_1", Methods: []string{"GET", "POST"}}, matchRow, true},
		{"method misses", apilog.Query{Account: "acct_1", Methods: []string{"GET"}}, matchRow, false},
		{"method exact case", apilog.Query{Account: "acct_1", Methods: []string{"post"}}, matchRow, false},

		{"key id matches", apilog.Query{Account: "acct_1", KeyIDs: []string{"key_0", "key_1"}}, matchRow, true},
		{"key id misses", apilog.Query{Account: "acct_1", KeyIDs: []string{"key_2"}}, matchRow, false},
		{"unknown key row vs key ids", apilog.Query{Account: "acct_1", KeyIDs: []string{"key_1"}}, unknownKeyRow, false},

		{"search", apilog.Query{Account: "acct_1", Search: search("production")}, matchRow, true},
		{"search misses", apilog.Query{Account: "acct_1", Search: search("staging")}, matchRow, false},
		{"negated search", apilog.Query{Account: "acct_1", Search: search("-status:4xx")}, matchRow, false},
		{"negated search on unknown key", apilog.Query{Account: "acct_1", Search: search("-key:production")}, unknownKeyRow, true},
		{"search does not bypass scope", apilog.Query{Account: "acct_1", Search: search("production")}, other, false},

		{"every filter", apilog.Query{
			Account: "acct_1", From: from, To: to,
			StatusClasses: []apilog.StatusClass{apilog.StatusClientError},
			Methods:       []string{"POST"}, KeyIDs: []string{"key_1"},
			Search: search(`key:prod -status:2xx "flux-pro"`),
		}, matchRow, true},
		{"every filter, one fails", apilog.Query{
			Account: "acct_1", From: from, To: to,
			StatusClasses: []apilog.StatusClass{apilog.StatusClientError},
			Methods:       []string{"POST"}, KeyIDs: []string{"key_1"},
			Search: search(`key:prod -status:4xx`),
		}, matchRow, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.q.Match(&tt.row); got != tt.want {
				t.Errorf("Query.Match(row %d at %s) = %v, want %v", tt.row.ID, tt.row.Time.Format(time.RFC3339Nano), got, tt.want)
			}
		})
	}
}

// fuzzSeeds are every input of the tables above.
func fuzzSeeds() []string {
	var seeds []string
	for _, tt := range parseSearchTests {
		seeds = append(seeds, tt.in)
	}
	for _, tt := range parseSearchErrorTests {
		seeds = append(seeds, tt.in)
	}
	return append(seeds, `status:4xx -key:staging "flux pro"`, `ip:1.2.3.4 "ip:1.2.3.4"`)
}

func FuzzParseSearch(f *testing.F) {
	for _, s := range fuzzSeeds() {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		for _, h := range []apilog.IPHasher{fakeHasher{}, nil} {
			s, err := apilog.ParseSearch(in, h)
			if err != nil {
				if !errors.Is(err, apilog.ErrBadQuery) {
					t.Fatalf("ParseSearch(%q) error %q does not wrap ErrBadQuery", in, err)
				}
				continue
			}
			if s.String() != in {
				t.Errorf("ParseSearch(%q).String() = %q", in, s.String())
			}
			if len(s.Terms) > apilog.MaxSearchTerms {
				t.Errorf("ParseSearch(%q) = %d terms, over %d", in, len(s.Terms), apilog.MaxSearchTerms)
			}
			for i, term := range s.Terms {
				switch {
				case term.Field < apilog.FieldAny || term.Field > apilog.FieldRequestID:
					t.Errorf("ParseSearch(%q) term %d: field %d is not a Field", in, i, term.Field)
				case term.Field == apilog.FieldRequestID:
					if term.Exact == "" || term.Text != "" {
						t.Errorf("ParseSearch(%q) term %d: request ID %q, text %q", in, i, term.Exact, term.Text)
					}
				case term.Field == apilog.FieldDuration:
					if term.DurationMin < 0 || term.DurationMin > term.DurationMax || term.Text != "" {
						t.Errorf("ParseSearch(%q) term %d: duration range %v-%v, text %q", in, i, term.DurationMin, term.DurationMax, term.Text)
					}
				case term.Field == apilog.FieldStatus:
					if term.StatusMin < 0 || term.StatusMin > term.StatusMax || term.StatusMax > apilog.MaxStatus {
						t.Errorf("ParseSearch(%q) term %d: status range %d-%d", in, i, term.StatusMin, term.StatusMax)
					}
					if term.Text != "" {
						t.Errorf("ParseSearch(%q) term %d: status term has text %q", in, i, term.Text)
					}
				default:
					if term.Text == "" {
						t.Errorf("ParseSearch(%q) term %d: empty text", in, i)
					}
					if f := apilog.Fold(term.Text); f != term.Text {
						t.Errorf("ParseSearch(%q) term %d: text %q is not folded (Fold is %q)", in, i, term.Text, f)
					}
					if term.StatusMin != 0 || term.StatusMax != 0 {
						t.Errorf("ParseSearch(%q) term %d: text term has status range %d-%d", in, i, term.StatusMin, term.StatusMax)
					}
					// A plain term keeps its text as typed, for request IDs.
					if term.Field == apilog.FieldAny && apilog.Fold(term.Exact) != term.Text {
						t.Errorf("ParseSearch(%q) term %d: exact text %q does not fold to %q", in, i, term.Exact, term.Text)
					}
				}
			}
			// What the parser gives, Normalize takes: one set of rules.
			if _, err := (apilog.Query{Account: "a", Search: s}).Normalize(); err != nil {
				t.Errorf("ParseSearch(%q) gives a search Normalize refuses: %v", in, err)
			}
		}
	})
}
