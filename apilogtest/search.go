package apilogtest

import (
	"maps"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/apilog/apilog"
)

// searchRows is the search fixture, built on the reference page's examples.
func searchRows(f *fixture) {
	unicodeKey := apilog.Key{ID: "key_uni", Account: acctMain, Name: "Äpfel-Straße", Prefix: "bye_ÜÖ01"}
	kelvin := apilog.Key{ID: "key_kelvin", Account: acctMain, Name: "\u212Aelvin-probe", Prefix: "bye_KV02"} // Kelvin sign
	f.key(keyActive, keyNew, keyRotated, keyExpired, unicodeKey, kelvin, keyOther)
	rows := []apilog.Entry{
		entry("ok", 1),
		entry("unauth", 2),
		entry("get-image", 3),
		entry("delete", 4),
		entry("no-key", 5),
		entry("colon", 6),
		entry("unicode", 7),
		entry("kelvin", 8),
		entry("phrase", 9),
	}
	rows[0].IPHash = "a1b2c3d4e5f6" + "7890abcdef1234567890abcdef1234567890abcdef1234567890ab"
	rows[1].Status, rows[1].ErrorCode, rows[1].IPHash = 401, "BSE4006", hashIP("203.0.113.7")
	rows[2].KeyID, rows[2].Method, rows[2].Endpoint, rows[2].IPHash = "key_new", "GET", "/v1/generate/image/img_123", hashIP("2001:db8::1")
	rows[3].KeyID, rows[3].Method, rows[3].Endpoint, rows[3].Status, rows[3].ErrorCode = "key_old", "DELETE", "/v1/keys/key_9", 403, "BSE4031"
	rows[4].KeyID, rows[4].Method, rows[4].Endpoint, rows[4].Status, rows[4].ErrorCode = "", "GET", "/v1/models", 401, "BSE4001"
	rows[5].KeyID, rows[5].Method, rows[5].Endpoint, rows[5].Status, rows[5].ErrorCode = "key_exp", "PUT", "/v1/models/x:generate", 500, "BSE5000"
	rows[6].KeyID, rows[6].Method, rows[6].Endpoint = "key_uni", "GET", "/v1/ÉCOLE/straße"
	rows[7].KeyID, rows[7].Method, rows[7].Endpoint, rows[7].Status = "key_kelvin", "GET", "/v1/status", 302
	rows[8].KeyID, rows[8].Endpoint = "", "/v1/prompts/a cat in space"
	// acctOther's row matches many of the searches below; it must never show.
	other := entry("other-tenant", 10)
	other.Account = acctOther
	other.ErrorCode, other.Status = "BSE4006", 401
	f.add(append(rows, other)...)
}

func testSearch(t *testing.T, f *fixture) {
	searchRows(f)
	all := []string{"colon", "delete", "get-image", "kelvin", "no-key", "ok", "phrase", "unauth", "unicode"}
	tests := []struct {
		search string
		want   []string // sorted
	}{
		{"", all},
		{"   ", all},
		// Each target, case-insensitive.
		{"production-api", []string{"ok", "unauth"}},
		{"PRODUCTION", []string{"ok", "unauth"}},
		{"bye_ab12", []string{"ok", "unauth"}},
		{"delete", []string{"delete"}},
		{"post", []string{"ok", "phrase", "unauth"}},
		{"/v1/generate/image", []string{"get-image", "ok", "unauth"}},
		{"401", []string{"no-key", "unauth"}},
		{"50", []string{"colon"}},
		{"bse4006", []string{"unauth"}},
		{"BSE40", []string{"delete", "no-key", "unauth"}},
		{"a1b2c3d4e5f6", []string{"ok"}},
		// Terms are ANDed.
		{"production 401", []string{"unauth"}},
		{"get models", []string{"no-key"}},
		{"get nothing-matches", nil},
		// Phrases keep spaces.
		{`"a cat in"`, []string{"phrase"}},
		{`"cat  in"`, nil},
		{`a cat in`, []string{"phrase"}},
		// Qualifiers.
		{"key:staging", []string{"delete", "get-image"}},
		{"key:bye_EF56", []string{"get-image"}},
		{"key:post", nil},
		{"method:get", []string{"get-image", "kelvin", "no-key", "unicode"}},
		{"METHOD:put", []string{"colon"}},
		{"endpoint:models", []string{"colon", "no-key"}},
		{"endpoint:401", nil},
		{"status:401", []string{"no-key", "unauth"}},
		{"status:4xx", []string{"delete", "no-key", "unauth"}},
		{"status:40x", []string{"delete", "no-key", "unauth"}},
		{"status:500-599", []string{"colon"}},
		{"status:300-399", []string{"kelvin"}},
		{"status:4", nil},
		{"error:BSE4", []string{"delete", "no-key", "unauth"}},
		{"error:get", nil},
		{"ip:a1b2c3d4e5f6", []string{"ok"}},
		{"ip:A1B2C3", []string{"ok"}},
		{"ip:203.0.113.7", []string{"unauth"}},
		{"ip:::ffff:203.0.113.7", []string{"unauth"}},
		{"ip:2001:DB8::1", []string{"get-image"}},
		{"ip:198.51.100.1", nil},
		{`key:"production-api"`, []string{"ok", "unauth"}},
		// Negation.
		{"-status:2xx", []string{"colon", "delete", "kelvin", "no-key", "unauth"}},
		{"-get", []string{"colon", "delete", "ok", "phrase", "unauth"}},
		{"-key:production -status:2xx", []string{"colon", "delete", "kelvin", "no-key"}},
		{"production -401", []string{"ok"}},
		{`-"a cat"`, []string{"colon", "delete", "get-image", "kelvin", "no-key", "ok", "unauth", "unicode"}},
		{`"-get"`, nil},
		// An unknown word: is plain text.
		{"x:generate", []string{"colon"}},
		{"/v1/models/x:generate", []string{"colon"}},
		{"foo:bar", nil},
		{`"key:staging"`, nil},
		// Unicode simple case folding.
		{"äpfel", []string{"unicode"}},
		{"ÄPFEL-STRASSE", nil}, // simple folding: ß is not "ss"
		{"STRAßE", []string{"unicode"}},
		{"école", []string{"unicode"}},
		{"bye_üö", []string{"unicode"}},
		{"kelvin", []string{"kelvin"}},
		{"\u212A", []string{"delete", "kelvin"}}, // the Kelvin sign is a k: "/v1/keys"
	}
	for _, tt := range tests {
		got := f.ids(inMain(apilog.Query{Search: search(t, tt.search)}))
		slices.Sort(got)
		if !slices.Equal(got, tt.want) && len(got)+len(tt.want) > 0 {
			t.Errorf("search %q: rows %q, want %q", tt.search, got, tt.want)
		}
	}
}

// testSearchDuration checks duration: terms at their bounds, with other
// terms and negated, sorted by duration, and that another tenant's rows
// of every duration stay out.
func testSearchDuration(t *testing.T, f *fixture) {
	f.key(keyActive, keyOther)
	durations := map[string]time.Duration{
		"zero": 0, "99ms": 99 * time.Millisecond, "100ms": 100 * time.Millisecond,
		"500ms": 500 * time.Millisecond, "500ms+1ns": 500*time.Millisecond + 1,
		"1s": time.Second, "5s": 5 * time.Second, "1h": time.Hour,
	}
	var rows []apilog.Entry
	minute := 0
	for _, name := range slices.Sorted(maps.Keys(durations)) {
		minute++
		e := entry(name, minute)
		e.Duration = durations[name]
		if name == "1s" || name == "zero" {
			e.Status = 503
		}
		rows = append(rows, e)
		other := e
		other.Account, other.KeyID, other.RequestID = acctOther, keyOther.ID, "other-"+name
		rows = append(rows, other)
	}
	f.add(rows...)
	tests := []struct {
		search string
		want   []string // sorted by duration, slowest first
	}{
		{"duration:>500ms", []string{"1h", "5s", "1s", "500ms+1ns"}},
		{"duration:>=500ms", []string{"1h", "5s", "1s", "500ms+1ns", "500ms"}},
		{"duration:<100ms", []string{"99ms", "zero"}},
		{"duration:<=100ms", []string{"100ms", "99ms", "zero"}},
		{"duration:100ms-1s", []string{"1s", "500ms+1ns", "500ms", "100ms"}},
		{"duration:0s-0s", []string{"zero"}},
		{"-duration:100ms-1s", []string{"1h", "5s", "99ms", "zero"}},
		{"duration:>1s status:503", nil},
		{"duration:>=1s 503", []string{"1s"}},
		{"duration:>=1s -503", []string{"1h", "5s"}},
		{"duration:>2h", nil},
		{"duration:<1h duration:>=1s", []string{"5s", "1s"}},
	}
	for _, tt := range tests {
		q := inMain(apilog.Query{Search: search(t, tt.search), Sort: apilog.Sort{Column: apilog.ColumnDuration, Dir: apilog.Desc}})
		if got := f.ids(q); !slices.Equal(got, tt.want) && len(got)+len(tt.want) > 0 {
			t.Errorf("search %q: rows %q, want %q", tt.search, got, tt.want)
		}
		q.Account, q.AllAccounts = "", true
		if got := f.ids(q); len(got) != 2*len(tt.want) {
			t.Errorf("search %q, all accounts: rows %q, want each of %q twice", tt.search, got, tt.want)
		}
	}
}

// testSearchRequestID checks that a request ID finds its row: req:
// exactly, and a plain term too, besides its substring matches; never by
// a part or in another case, and never another tenant's row that shares
// the ID.
func testSearchRequestID(t *testing.T, f *fixture) {
	f.key(keyActive, keyOther)
	const hexID = "4f1c0a9e2b7d4c6f8e1a3b5c7d9e0f12" // as the middleware makes them
	rows := []apilog.Entry{
		entry(hexID, 1),
		entry("image", 2),                    // an ID that is also a part of every other row's endpoint
		entry("Req-ABC", 3),                  // its ID in another case is part of req-abc-path's endpoint
		entry("req-abc-path", 4),             // ...
		entry("c1:a+b/c=~_.", 5),             // a client's ID, of every character the middleware keeps
		entry("retry-7", 6),                  // two rows of one ID: a client retrying with its ID
		entry("retry-7", 7),                  // ...
		entry("shared-other", 8),             // an ID of both tenants
		entry("4f1c0a9e2b7d4c6f8e1a3b5c", 9), // a prefix of hexID
	}
	rows[1].Endpoint = "/v1/models"
	rows[3].Endpoint = "/v1/req-abc/x"
	// acctOther's rows hold IDs of acctMain's and one of their own: a
	// search in acctMain must never find them.
	other := func(req string, minute int) apilog.Entry {
		e := entry(req, minute)
		e.Account, e.KeyID, e.Endpoint = acctOther, keyOther.ID, "/v1/other"
		return e
	}
	f.add(append(rows, other(hexID, 10), other("shared-other", 11), other("only-other", 12))...)
	everyImage := []string{"4f1c0a9e2b7d4c6f8e1a3b5c", hexID, "Req-ABC", "c1:a+b/c=~_.", "retry-7", "retry-7", "shared-other"}
	tests := []struct {
		search string
		want   []string // sorted
	}{
		{"req:" + hexID, []string{hexID}},
		{hexID, []string{hexID}},
		{`"` + hexID + `"`, []string{hexID}},
		{"REQ:" + hexID, []string{hexID}},
		{"req:" + strings.ToUpper(hexID), nil},
		{strings.ToUpper(hexID), nil},
		{"req:" + hexID[:24], []string{hexID[:24]}},
		{"req:" + hexID[1:], nil},
		{hexID[:8], nil}, // a part of an ID is no match
		{"-req:" + hexID, []string{hexID[:24], "Req-ABC", "c1:a+b/c=~_.", "image", "req-abc-path", "retry-7", "retry-7", "shared-other"}},
		{"-" + hexID, []string{hexID[:24], "Req-ABC", "c1:a+b/c=~_.", "image", "req-abc-path", "retry-7", "retry-7", "shared-other"}},
		// An ID that is also a substring of other rows' endpoint: the plain
		// term finds both, req: only the ID.
		{"image", append([]string{"image"}, everyImage...)},
		{"req:image", []string{"image"}},
		{"-image", []string{"req-abc-path"}},
		{"-req:image", append([]string{"req-abc-path"}, everyImage...)},
		// Case differs: no exact match, but the substring rules apply.
		{"req-abc", []string{"req-abc-path"}},
		{"Req-ABC", []string{"Req-ABC", "req-abc-path"}},
		{"req:req-abc", nil},
		{"req:Req-ABC", []string{"Req-ABC"}},
		// Every character a client's ID may hold, typed as is.
		{"c1:a+b/c=~_.", []string{"c1:a+b/c=~_."}},
		{"req:c1:a+b/c=~_.", []string{"c1:a+b/c=~_."}},
		{"retry-7", []string{"retry-7", "retry-7"}},
		// With other terms and filters.
		{"req:" + hexID + " status:2xx", []string{hexID}},
		{"req:" + hexID + " status:5xx", nil},
		{"req:" + hexID + " req:image", nil},
		{"req:" + hexID + " -req:image", []string{hexID}},
		{hexID + " post", []string{hexID}},
		{hexID + " key:staging", nil},
		// Another tenant's IDs: never here.
		{"shared-other", []string{"shared-other"}},
		{"req:shared-other", []string{"shared-other"}},
		{"only-other", nil},
		{"req:only-other", nil},
		{"-req:only-other", append([]string{"image", "req-abc-path"}, everyImage...)},
	}
	for _, tt := range tests {
		got := f.ids(inMain(apilog.Query{Search: search(t, tt.search)}))
		slices.Sort(got)
		want := slices.Sorted(slices.Values(tt.want))
		if !slices.Equal(got, want) && len(got)+len(want) > 0 {
			t.Errorf("search %q: rows %q, want %q", tt.search, got, want)
		}
	}
	// Each tenant's own, and the operator's view of both; and a MaxID pin
	// below and above the row of an ID (a store that finds rows by ID
	// alone must still leave out those past the pin).
	idOf := func(i int) int64 { return f.entries[i].ID }
	client, firstRetry := rows[4].RequestID, idOf(5)
	for _, tt := range []struct {
		q    apilog.Query
		want []string
	}{
		{inMain(apilog.Query{Search: search(t, "req:"+client), MaxID: idOf(4) - 1}), nil},
		{inMain(apilog.Query{Search: search(t, "req:"+client), MaxID: idOf(4)}), []string{client}},
		{inMain(apilog.Query{Search: search(t, client), MaxID: idOf(4) - 1}), nil},
		{inMain(apilog.Query{Search: search(t, client), MaxID: idOf(4) + 1}), []string{client}},
		{inMain(apilog.Query{Search: search(t, "req:retry-7"), MaxID: firstRetry}), []string{"retry-7"}},
		{inMain(apilog.Query{Search: search(t, "retry-7"), MaxID: firstRetry}), []string{"retry-7"}},
		{inMain(apilog.Query{Search: search(t, "retry-7"), MaxID: idOf(6)}), []string{"retry-7", "retry-7"}},
		{apilog.Query{AllAccounts: true, Search: search(t, "req:"+hexID), MaxID: idOf(8)}, []string{hexID}},
		{apilog.Query{AllAccounts: true, Search: search(t, hexID), MaxID: idOf(9)}, []string{hexID, hexID}},
		{apilog.Query{Account: acctOther, Search: search(t, "req:"+hexID)}, []string{hexID}},
		{apilog.Query{Account: acctOther, Search: search(t, "only-other")}, []string{"only-other"}},
		{apilog.Query{Account: acctOther, Search: search(t, "req:image")}, nil},
		{apilog.Query{AllAccounts: true, Search: search(t, "req:"+hexID)}, []string{hexID, hexID}},
		{apilog.Query{AllAccounts: true, Search: search(t, "shared-other")}, []string{"shared-other", "shared-other"}},
		{apilog.Query{AllAccounts: true, Search: search(t, "req:only-other")}, []string{"only-other"}},
		{inMain(apilog.Query{Search: search(t, "req:retry-7"), Sort: apilog.Sort{Column: apilog.ColumnTime, Dir: apilog.Asc}, PageSize: 1, Page: 2}), []string{"retry-7"}},
		{inMain(apilog.Query{Search: search(t, hexID), StatusClasses: []apilog.StatusClass{apilog.StatusSuccess}, Sort: apilog.Sort{Column: apilog.ColumnEndpoint}}), []string{hexID}},
	} {
		q := tt.q
		if q.PageSize == 0 {
			q.PageSize = apilog.MaxPageSize
		}
		got := requestIDs(f.query(q).Rows)
		slices.Sort(got)
		if !slices.Equal(got, tt.want) && len(got)+len(tt.want) > 0 {
			t.Errorf("%s: rows %q, want %q", describe(q), got, tt.want)
		}
	}
}

// testSearchLiteral checks that text SQL or LIKE would treat specially is
// matched literally.
func testSearchLiteral(t *testing.T, f *fixture) {
	f.key(keyActive)
	odd := []string{"/v1/promo/50%_off", "/v1/q/' OR 1=1--", `/v1/back\slash`, "/v1/under_score", "/v1/percent%", `/v1/"quoted"`, "/v1/star*"}
	for i, ep := range odd {
		e := entry(ep, i)
		e.Endpoint = ep
		f.add(e)
	}
	plain := entry("plain", 20)
	plain.Endpoint = "/v1/promo/50xxoff"
	f.add(plain)
	tests := []struct {
		search string
		want   []string
	}{
		{"50%_off", []string{"/v1/promo/50%_off"}},
		{`"' OR 1=1--"`, []string{"/v1/q/' OR 1=1--"}},
		{"%", []string{"/v1/percent%", "/v1/promo/50%_off"}},
		{"endpoint:_", []string{"/v1/promo/50%_off", "/v1/under_score"}},
		{`\`, []string{`/v1/back\slash`}},
		{"*", []string{"/v1/star*"}},
		{"'", []string{"/v1/q/' OR 1=1--"}},
	}
	for _, tt := range tests {
		got := f.ids(inMain(apilog.Query{Search: search(t, tt.search)}))
		slices.Sort(got)
		if !slices.Equal(got, tt.want) {
			t.Errorf("search %q: rows %q, want %q", tt.search, got, tt.want)
		}
	}
}

// testStatusClasses checks each class and its edges, through the class
// filter and the status: qualifier.
func testStatusClasses(t *testing.T, f *fixture) {
	codes := []int{0, 101, 199, 200, 204, 299, 300, 301, 399, 400, 401, 499, 500, 503, 599, 600, 999}
	for i, code := range codes {
		e := entry(statusName(code), i)
		e.Status = code
		f.add(e)
	}
	tests := []struct {
		class apilog.StatusClass
		color string
		want  []int
	}{
		{apilog.StatusOther, "gray", []int{0, 101, 199, 600, 999}},
		{apilog.StatusSuccess, "green", []int{200, 204, 299}},
		{apilog.StatusRedirect, "blue", []int{300, 301, 399}},
		{apilog.StatusClientError, "amber", []int{400, 401, 499}},
		{apilog.StatusServerError, "red", []int{500, 503, 599}},
	}
	statuses := func(rows []apilog.Row) []int {
		var out []int
		for _, r := range rows {
			out = append(out, r.Status)
		}
		slices.Sort(out)
		return out
	}
	for _, tt := range tests {
		q := inMain(apilog.Query{StatusClasses: []apilog.StatusClass{tt.class}, PageSize: 100})
		if got := statuses(f.query(q).Rows); !slices.Equal(got, tt.want) {
			t.Errorf("class %v: statuses %v, want %v", tt.class, got, tt.want)
		}
		if tt.class.Color() != tt.color {
			t.Errorf("class %v: color %q, want %q", tt.class, tt.class.Color(), tt.color)
		}
		for _, code := range tt.want {
			if apilog.ClassOf(code) != tt.class {
				t.Errorf("ClassOf(%d) = %v, want %v", code, apilog.ClassOf(code), tt.class)
			}
		}
	}
	q := inMain(apilog.Query{StatusClasses: []apilog.StatusClass{apilog.StatusClientError, apilog.StatusServerError}, PageSize: 100})
	if got, want := statuses(f.query(q).Rows), []int{400, 401, 499, 500, 503, 599}; !slices.Equal(got, want) {
		t.Errorf("classes 4xx and 5xx: statuses %v, want %v", got, want)
	}
	q = inMain(apilog.Query{Search: search(t, "status:199-200"), PageSize: 100})
	if got, want := statuses(f.query(q).Rows), []int{199, 200}; !slices.Equal(got, want) {
		t.Errorf("status:199-200: statuses %v, want %v", got, want)
	}
}

func statusName(code int) string { return "status-" + strconv.Itoa(code) }

// testFilters checks the structured filters beside the search: the time
// range [From, To), methods, key IDs and their combination.
func testFilters(t *testing.T, f *fixture) {
	searchRows(f)
	at := func(minute int) time.Time { return t0.Add(time.Duration(minute) * time.Minute) }
	tests := []struct {
		name string
		q    apilog.Query
		want []string
	}{
		{"from inclusive", apilog.Query{From: at(8)}, []string{"kelvin", "phrase"}},
		{"to exclusive", apilog.Query{To: at(2)}, []string{"ok"}},
		{"range", apilog.Query{From: at(2), To: at(4)}, []string{"get-image", "unauth"}},
		{"empty range", apilog.Query{From: at(2), To: at(2)}, nil},
		{"from in another zone", apilog.Query{From: at(8).In(time.FixedZone("UTC+5", 5*3600))}, []string{"kelvin", "phrase"}},
		{"methods", apilog.Query{Methods: []string{"DELETE", "PUT"}}, []string{"colon", "delete"}},
		{"methods are exact", apilog.Query{Methods: []string{"delete"}}, nil},
		{"keys", apilog.Query{KeyIDs: []string{"key_new", "key_old"}}, []string{"delete", "get-image"}},
		{"no key", apilog.Query{KeyIDs: []string{""}}, []string{"no-key", "phrase"}},
		{"all together", apilog.Query{
			From: at(1), To: at(9), Methods: []string{"GET", "POST"},
			StatusClasses: []apilog.StatusClass{apilog.StatusClientError},
			Search:        search(t, "-key:staging"),
		}, []string{"no-key", "unauth"}},
	}
	for _, tt := range tests {
		got := f.ids(inMain(tt.q))
		slices.Sort(got)
		if !slices.Equal(got, tt.want) && len(got)+len(tt.want) > 0 {
			t.Errorf("%s: rows %q, want %q", tt.name, got, tt.want)
		}
	}
}
