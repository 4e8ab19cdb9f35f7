package plan_test

import (
	"errors"
	"iter"
	"maps"
	"math"
	"slices"
	"testing"
	"time"

	"github.com/apilog/apilog"
	"github.com/apilog/apilog/plan"
	"github.com/google/go-cmp/cmp"
)

// dict is a store's dictionary in a few maps: value IDs per field, slots.
type dict struct {
	values map[apilog.Field]map[int64]string
	slots  []plan.Slot
}

func (d dict) Values(f apilog.Field) iter.Seq2[int64, string] {
	return func(yield func(int64, string) bool) {
		for id, v := range d.values[f] {
			if !yield(id, v) {
				return
			}
		}
	}
}

func (d dict) Slots() iter.Seq[plan.Slot] {
	return func(yield func(plan.Slot) bool) {
		for _, s := range d.slots {
			if !yield(s) {
				return
			}
		}
	}
}

var testDict = dict{
	values: map[apilog.Field]map[int64]string{
		apilog.FieldMethod:   {1: "GET", 2: "POST", 3: "DELETE"},
		apilog.FieldEndpoint: {10: "/v1/models", 11: "/v1/generate/image/flux-pro", 12: "/v1/keys/k1"},
		apilog.FieldError:    {0: "", 20: "BSE4006", 21: "BSE5000"},
		apilog.FieldIP:       {30: "c3ab", 31: "ffee"},
	},
	slots: []plan.Slot{
		{ID: 7, KeyID: "key_new", Name: "staging-api", Prefix: "bye_ZZ01"},
		{ID: 5, KeyID: "key_prod", Name: "production-api", Prefix: "bye_AB12"},
		{ID: 6, KeyID: "key_upper", Name: "PRODUCTION-API", Prefix: "bye_AA00"},
		{ID: 8, KeyID: "key_twin", Name: "production-API", Prefix: "bye_AB12"},
		{ID: 4, KeyID: ""}, // no key
	},
}

func compile(t *testing.T, q apilog.Query) *plan.Plan {
	t.Helper()
	q.Account = "acct"
	q, err := q.Normalize()
	if err != nil {
		t.Fatal(err)
	}
	q.Now = time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	return plan.Compile(q, testDict)
}

func TestCompileTimeRange(t *testing.T) {
	at := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	tests := []struct {
		name             string
		from, to         time.Time
		none             bool
		fromOpen, toOpen bool
		lo, hi           int64
	}{
		{"open", time.Time{}, time.Time{}, false, true, true, 0, math.MaxInt64},
		{"from", at, time.Time{}, false, false, true, at.UnixNano(), math.MaxInt64},
		{"to", time.Time{}, at, false, true, false, 0, at.UnixNano()},
		{"before 1970 is open", time.Unix(-5, 0), at, false, true, false, 0, at.UnixNano()},
		{"after 2262 is open", at, time.Unix(0, math.MaxInt64).Add(time.Hour), false, false, true, at.UnixNano(), math.MaxInt64},
		{"ends before 1970", time.Time{}, time.Unix(-5, 0), true, true, false, 0, 0},
		{"starts after 2262", time.Unix(0, math.MaxInt64).Add(time.Hour), time.Time{}, true, false, true, 0, 0},
		{"empty", at, at, true, false, false, 0, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := compile(t, apilog.Query{From: tt.from, To: tt.to})
			if p.None != tt.none || p.FromOpen != tt.fromOpen || p.ToOpen != tt.toOpen {
				t.Fatalf("none %v, open %v/%v; want %v, %v/%v", p.None, p.FromOpen, p.ToOpen, tt.none, tt.fromOpen, tt.toOpen)
			}
			if !tt.none && (p.From != tt.lo || p.To != tt.hi) {
				t.Errorf("range [%d, %d), want [%d, %d)", p.From, p.To, tt.lo, tt.hi)
			}
			if !tt.none && !p.InRange(p.From) {
				t.Errorf("InRange(From) = false")
			}
		})
	}
}

func TestCompileFilters(t *testing.T) {
	search, err := apilog.ParseSearch(`flux -status:4xx key:production 5000`, nil)
	if err != nil {
		t.Fatal(err)
	}
	p := compile(t, apilog.Query{
		StatusClasses: []apilog.StatusClass{apilog.StatusClientError, apilog.StatusServerError},
		Methods:       []string{"POST", "PATCH"},
		KeyIDs:        []string{"key_prod", "key_gone"},
		Search:        search,
		Page:          3, PageSize: 100,
	})
	got := struct {
		Statuses      []plan.Range
		Methods       []int64
		Slots         []int64
		Terms         []plan.Term
		Offset, Limit int
		Filtered      bool
	}{p.Statuses, p.Methods, p.Slots, p.Terms, p.Offset, p.Limit, p.Filtered()}
	want := got
	want.Statuses = []plan.Range{{400, 599}}
	want.Methods = []int64{2}
	want.Slots = []int64{5}
	want.Terms = []plan.Term{
		{Values: map[apilog.Field][]int64{apilog.FieldEndpoint: {11}}, RequestID: "flux"},
		{Negate: true, Values: map[apilog.Field][]int64{}, Status: []plan.Range{{400, 499}}},
		{Slots: []int64{5, 6, 8}, Values: map[apilog.Field][]int64{}},
		{Values: map[apilog.Field][]int64{apilog.FieldError: {21}}, RequestID: "5000"},
	}
	want.Offset, want.Limit, want.Filtered = 200, 100, true
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("plan (-want +got):\n%s", diff)
	}
	// A method filter nothing matches is an empty list, not "any".
	if p := compile(t, apilog.Query{Methods: []string{"PATCH"}}); p.Methods == nil || len(p.Methods) != 0 {
		t.Errorf("a method no row has: %v, want an empty list", p.Methods)
	}
	if p := compile(t, apilog.Query{}); p.Methods != nil || p.Slots != nil || p.Statuses != nil || p.Filtered() {
		t.Errorf("no filters: %+v", p)
	}
}

func TestCompileKeyOrder(t *testing.T) {
	p := compile(t, apilog.Query{Sort: apilog.Sort{Column: apilog.ColumnAPI}})
	// No key first (an empty name), then production-api by prefix (the
	// twins share a group), then staging-api.
	want := [][]int64{{4}, {6}, {5, 8}, {7}}
	if diff := cmp.Diff(want, p.KeyGroups); diff != "" {
		t.Errorf("key groups (-want +got):\n%s", diff)
	}
	if r := p.KeyRank(); len(r) != 9 || r[5] != r[8] || r[4] != 0 || r[7] != 3 || r[0] != -1 {
		t.Errorf("ranks %v", r)
	}
	if p := compile(t, apilog.Query{}); p.KeyGroups != nil {
		t.Errorf("a time sort ranks keys: %v", p.KeyGroups)
	}
}

// TestRequestIDs checks which terms look a request ID up, that each
// distinct ID is looked up once, and the bits of the rows found.
func TestRequestIDs(t *testing.T) {
	search, err := apilog.ParseSearch(`Req-1 req:Req-1 -req:r2 key:Req-1 status:2xx duration:>1s`, nil)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := plan.RequestIDs(search), []string{"Req-1", "r2"}; !slices.Equal(got, want) {
		t.Errorf("RequestIDs = %q, want %q", got, want)
	}
	p := compile(t, apilog.Query{Search: search})
	if got := p.RowBits(); got != nil {
		t.Errorf("RowBits before any lookup = %v, want nil", got)
	}
	var asked []string
	rows := map[string][]int64{"Req-1": {9, 3, 9}, "r2": nil}
	if err := p.ResolveRequestIDs(func(id string) ([]int64, error) {
		asked = append(asked, id)
		return rows[id], nil
	}); err != nil {
		t.Fatal(err)
	}
	if want := []string{"Req-1", "r2"}; !slices.Equal(asked, want) {
		t.Errorf("looked up %q, want %q, each once", asked, want)
	}
	type term struct {
		id   string
		rows []int64
	}
	var got []term
	for _, tm := range p.Terms {
		got = append(got, term{tm.RequestID, tm.Rows})
	}
	want := []term{{"Req-1", []int64{3, 9}}, {"Req-1", []int64{3, 9}}, {"r2", nil}, {}, {}, {}}
	if diff := cmp.Diff(want, got, cmp.AllowUnexported(term{})); diff != "" {
		t.Errorf("terms' request IDs and rows (-want +got):\n%s", diff)
	}
	if got, want := p.RowBits(), map[int64]uint32{3: 0b11, 9: 0b11}; !maps.Equal(got, want) {
		t.Errorf("RowBits = %v, want %v", got, want)
	}
	failed := errors.New("index gone")
	if err := p.ResolveRequestIDs(func(string) ([]int64, error) { return nil, failed }); !errors.Is(err, failed) {
		t.Errorf("ResolveRequestIDs with a failing lookup = %v, want it wrapped", err)
	}
}

// TestRequestIDCap checks that a term whose request ID more rows share
// than RequestIDCap lists none and scans instead, with its bit, while the
// other terms keep their rows; and that the lookup is asked for one row
// past the cap, so that it can tell.
func TestRequestIDCap(t *testing.T) {
	defer plan.SetRequestIDCap(3)()
	if got := plan.RequestIDLimit(); got != 4 {
		t.Errorf("RequestIDLimit = %d, want the cap plus one", got)
	}
	search, err := apilog.ParseSearch(`status:5xx req:shared few -shared none`, nil)
	if err != nil {
		t.Fatal(err)
	}
	p := compile(t, apilog.Query{Search: search})
	rows := map[string][]int64{"shared": {1, 2, 3, 4}, "few": {1, 2, 3}, "none": nil}
	if err := p.ResolveRequestIDs(func(id string) ([]int64, error) { return rows[id], nil }); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		term int
		rows []int64
		scan bool
	}{
		{0, nil, false},              // status: no request ID
		{1, nil, true},               // past the cap
		{2, []int64{1, 2, 3}, false}, // at the cap: listed
		{3, nil, true},               // negated, the same ID
		{4, nil, false},              // found nothing: nothing to scan for
	}
	for _, tt := range tests {
		tm := p.Terms[tt.term]
		if !slices.Equal(tm.Rows, tt.rows) || tm.ScanRequestID != tt.scan {
			t.Errorf("term %d (%q): rows %v, scan %v; want %v, %v", tt.term, tm.RequestID, tm.Rows, tm.ScanRequestID, tt.rows, tt.scan)
		}
	}
	want := []plan.RequestIDScan{{ID: "shared", Bit: 1 << 1}, {ID: "shared", Bit: 1 << 3}}
	if got := p.RequestIDScans(); !slices.Equal(got, want) {
		t.Errorf("RequestIDScans = %v, want %v", got, want)
	}
}
