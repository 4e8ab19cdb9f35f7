package httpui_test

import (
	"context"
	"encoding/csv"
	"fmt"
	"html"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/apilog/apilog"
	"github.com/apilog/apilog/httpui"
	"github.com/apilog/apilog/memstore"
)

// pinStore returns a store of acct_a's rows made by entries(0, n), one key.
func pinStore(t *testing.T, n int, at func(i int) time.Time) *memstore.Store {
	t.Helper()
	s := memstore.New(nil)
	t.Cleanup(func() { s.Close() })
	ctx := context.Background()
	if err := s.UpsertKey(ctx, apilog.Key{ID: "k1", Account: "acct_a", Name: "production-api", Prefix: "bye_AB12"}); err != nil {
		t.Fatal(err)
	}
	if err := s.Append(ctx, entries(0, n, at)); err != nil {
		t.Fatal(err)
	}
	return s
}

// entries returns rows from..to-1 of acct_a: each with its own request ID
// (req-<i>), its time from at, and durations and endpoints in no order.
func entries(from, to int, at func(i int) time.Time) []apilog.Entry {
	var out []apilog.Entry
	for i := from; i < to; i++ {
		out = append(out, apilog.Entry{Account: "acct_a", KeyID: "k1", Method: "GET", Status: 200,
			Endpoint: fmt.Sprintf("/v1/models/m%03d", i*7%101), Time: at(i), RequestID: "req-" + strconv.Itoa(i),
			Duration: time.Duration(1+i*37%97) * 17 * time.Millisecond})
	}
	return out
}

// want returns the IDs, in the view's order, of every acct_a row with an
// ID up to maxID: what paging through the pinned view must show, once
// each. The reference is apilog's Query.Apply over all the store's rows,
// those that arrived after the pin included.
func want(t *testing.T, s apilog.Store, view url.Values, maxID int64, now time.Time) []int64 {
	t.Helper()
	all, err := s.Query(context.Background(), apilog.Query{Account: "acct_a", PageSize: apilog.MaxPageSize})
	if err != nil {
		t.Fatal(err)
	}
	sort, err := apilog.ParseSort(view.Get("sort"), view.Get("dir"))
	if err != nil {
		t.Fatal(err)
	}
	q := apilog.Query{Account: "acct_a", Sort: sort, MaxID: maxID, PageSize: apilog.MaxPageSize}
	if view.Get("range") == "1h" {
		q.From = now.Add(-time.Hour)
	}
	p, err := q.Apply(all.Rows)
	if err != nil {
		t.Fatal(err)
	}
	var ids []int64
	for _, r := range p.Rows {
		ids = append(ids, r.ID)
	}
	return ids
}

// sameRows reports how got differs from want: rows shown twice, rows
// left out, the order.
func sameRows(t *testing.T, what string, got, want []int64) {
	t.Helper()
	seen := map[int64]bool{}
	var twice, missing []int64
	for _, id := range got {
		if seen[id] {
			twice = append(twice, id)
		}
		seen[id] = true
	}
	for _, id := range want {
		if !seen[id] {
			missing = append(missing, id)
		}
	}
	if len(twice) > 0 || len(missing) > 0 {
		t.Errorf("%s: %d rows shown twice (%v), %d on no page (%v)", what, len(twice), twice[:min(5, len(twice))], len(missing), missing[:min(5, len(missing))])
	}
	if !slices.Equal(got, want) {
		t.Errorf("%s: %d rows, want %d in the view's order", what, len(got), len(want))
	}
}

func ids(p apiPage) []int64 {
	var out []int64
	for _, r := range p.Rows {
		out = append(out, r.ID)
	}
	return out
}

var (
	dataID    = regexp.MustCompile(`<tr data-id="(\d+)"`)
	nextLink  = regexp.MustCompile(`<a href="([^"]*)" rel="next">`)
	hiddenIn  = regexp.MustCompile(`<input type="hidden" name="([^"]+)" value="([^"]*)">`)
	exportsOf = regexp.MustCompile(`(?s)<form id="rows".*?</form>`)
)

// pageRows returns the row IDs of a page, the href of its Next link ("" on
// the last page), and the query its export form sends.
func pageRows(t *testing.T, body string) (rows []int64, next string, export url.Values) {
	t.Helper()
	for _, m := range dataID.FindAllStringSubmatch(body, -1) {
		id, _ := strconv.ParseInt(m[1], 10, 64)
		rows = append(rows, id)
	}
	if m := nextLink.FindStringSubmatch(body); m != nil {
		next = html.UnescapeString(m[1])
	}
	export = url.Values{}
	for _, m := range hiddenIn.FindAllStringSubmatch(exportsOf.FindString(body), -1) {
		export.Add(html.UnescapeString(m[1]), html.UnescapeString(m[2]))
	}
	return rows, next, export
}

// exported returns the request IDs of an export.
func exported(t *testing.T, h http.Handler, query string) []string {
	t.Helper()
	w := get(t, h, "/export.csv?"+query)
	recs, err := csv.NewReader(w.Body).ReadAll()
	if err != nil || w.Code != 200 || len(recs) == 0 {
		t.Fatalf("export %s: %d, %v", query, w.Code, err)
	}
	col := slices.Index(recs[0], "request_id")
	var out []string
	for _, r := range recs[1:] {
		out = append(out, r[col])
	}
	return out
}

// TestPagingWhileRowsArrive: rows keep arriving while a viewer pages
// through a view of 1,200 rows, some of them sorting onto the pages
// already read. Following the pager (the JSON's pin, or the page's Next
// links) shows every row there was when the first page was read, once,
// in order, and an export of a page is that page's rows.
func TestPagingWhileRowsArrive(t *testing.T) {
	for _, tt := range []struct{ name, query string }{
		{"newest first", ""},
		{"slowest first", "sort=duration"},
		{"endpoint ascending", "sort=endpoint&dir=asc"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			s := pinStore(t, 1200, func(i int) time.Time { return t0.Add(-time.Duration(i) * time.Second) })
			h := newHandler(t, s, nil)
			view, _ := url.ParseQuery(tt.query)
			requestIDs := map[int64]string{}
			n := 1200
			// arrive appends 60 rows that sort onto every page of each
			// order: newest, oldest and in between; slowest and fastest;
			// endpoints first and last.
			arrive := func() {
				t.Helper()
				batch := entries(n, n+60, func(i int) time.Time {
					return t0.Add([]time.Duration{time.Hour, -100 * time.Second, -700 * time.Second, -24 * time.Hour}[i%4] + time.Duration(i)*time.Millisecond)
				})
				for i := range batch {
					batch[i].Duration = []time.Duration{10 * time.Minute, time.Microsecond, 500 * time.Millisecond}[i%3]
					batch[i].Endpoint = []string{"/v1/aaa", "/v1/models/m050", "/v1/zzz"}[i%3]
				}
				if err := s.Append(context.Background(), batch); err != nil {
					t.Fatal(err)
				}
				n += len(batch)
			}

			// Through the JSON, as the script pages: the pin of the first
			// page, set on the view's query with the page number.
			first := decodeAPI(t, get(t, h, "/api/logs?"+tt.query))
			if first.MaxID != 1200 || first.Pin["max_id"] != "1200" || first.Pin["asof"] != "" || first.TotalPages != 3 {
				t.Fatalf("first page: max_id %d, pin %v, %d pages; want max_id 1200 and no asof (no relative range) on 3 pages", first.MaxID, first.Pin, first.TotalPages)
			}
			got := ids(first)
			var page2 []int64
			for page := 2; page <= first.TotalPages; page++ {
				arrive()
				q, _ := url.ParseQuery(tt.query)
				for k, v := range first.Pin {
					if v != "" {
						q.Set(k, v)
					}
				}
				q.Set("page", strconv.Itoa(page))
				p := decodeAPI(t, get(t, h, "/api/logs?"+q.Encode()))
				if p.MaxID != first.MaxID || p.TotalRows != 1200 {
					t.Errorf("page %d: max_id %d, %d rows in all; want the pin's %d and 1,200", page, p.MaxID, p.TotalRows, first.MaxID)
				}
				if page == 2 {
					page2 = ids(p)
				}
				got = append(got, ids(p)...)
			}
			all := want(t, s, view, first.MaxID, time.Time{})
			sameRows(t, "JSON", got, all)

			// The same reads without the pin would have gone wrong: the
			// arrivals reach page 2.
			if unpinned := ids(decodeAPI(t, get(t, h, "/api/logs?"+tt.query+"&page=2"))); slices.Equal(unpinned, page2) {
				t.Error("page 2 without max_id is the pinned page 2: the arrivals test nothing")
			}

			// An export with the pin is the pinned page, whatever arrived.
			q, _ := url.ParseQuery(tt.query)
			q.Set("max_id", first.Pin["max_id"])
			q.Set("page", "2")
			all2, _ := s.Query(context.Background(), apilog.Query{Account: "acct_a", PageSize: apilog.MaxPageSize})
			for _, r := range all2.Rows {
				requestIDs[r.ID] = r.RequestID
			}
			var wantIDs []string
			for _, id := range page2 {
				wantIDs = append(wantIDs, requestIDs[id])
			}
			if got := exported(t, h, q.Encode()); !slices.Equal(got, wantIDs) {
				t.Errorf("export of pinned page 2: %d rows, want the %d rows of the page as shown", len(got), len(wantIDs))
			}

			// Through the page, as without script: its Next links and
			// its export form carry the pin of the first page.
			body := get(t, h, "/?"+tt.query).Body.String()
			got, next, _ := pageRows(t, body)
			pinned := int64(n)
			for next != "" {
				arrive()
				u, err := url.Parse(next)
				if err != nil || u.Query().Get("max_id") != strconv.FormatInt(pinned, 10) {
					t.Fatalf("Next link %q (%v) does not carry max_id=%d", next, err, pinned)
				}
				body = get(t, h, "/"+next).Body.String()
				rows, after, export := pageRows(t, body)
				got, next = append(got, rows...), after
				if export.Get("max_id") != strconv.FormatInt(pinned, 10) {
					t.Fatalf("the export form sends %v, without the pin", export)
				}
				var shown []string
				for _, id := range rows {
					shown = append(shown, requestIDs[id])
				}
				arrive()
				if got := exported(t, h, export.Encode()); !slices.Equal(got, shown) {
					t.Errorf("the export form of page %s: %d rows, want the %d rows of the page", u.Query().Get("page"), len(got), len(shown))
				}
			}
			sameRows(t, "page", got, want(t, s, view, pinned, time.Time{}))
		})
	}
}

// TestPinnedRelativeRange: page 2 of "Last hour", read half an hour after
// page 1, is of the hour page 1 was of (asof), and of its rows (max_id):
// a row stamped after that hour by a clock running ahead, but recorded
// before page 1 was read, is on it and in its export. asof bounds no rows.
func TestPinnedRelativeRange(t *testing.T) {
	now := t0.Add(time.Hour)
	// A row every 5 s over the two hours before now: 720 in the last hour.
	s := pinStore(t, 1440, func(i int) time.Time { return now.Add(-time.Duration(i+1) * 5 * time.Second) })
	ahead := entries(9000, 9001, func(int) time.Time { return now.Add(5 * time.Minute) })
	if err := s.Append(context.Background(), ahead); err != nil {
		t.Fatal(err)
	}
	h := newHandler(t, s, &httpui.Options{Authorize: asViewer("acct_a"), Now: func() time.Time { return now }})
	const view = "range=1h&sort=time&dir=asc"
	first := decodeAPI(t, get(t, h, "/api/logs?"+view))
	if first.TotalRows != 721 || first.Pin["max_id"] != "1441" || first.Pin["asof"] != now.Format(time.RFC3339Nano) || first.AsOf != first.Pin["asof"] {
		t.Fatalf("first page: %d rows, pin %v, as_of %q; want 721 rows pinned at max_id 1441 and asof %s", first.TotalRows, first.Pin, first.AsOf, now.Format(time.RFC3339))
	}
	// The page's pager and export form carry asof for a relative range.
	body := get(t, h, "/?"+view).Body.String()
	_, next, export := pageRows(t, body)
	if !strings.Contains(next, "asof=") || export.Get("asof") == "" {
		t.Errorf("Next %q and export form %v, want both to carry asof", next, export)
	}

	at := now
	now = now.Add(30 * time.Minute)
	if err := s.Append(context.Background(), entries(1441, 1541, func(i int) time.Time { return at.Add(time.Duration(i-1440) * 10 * time.Second) })); err != nil {
		t.Fatal(err)
	}
	q := url.Values{"max_id": {first.Pin["max_id"]}, "asof": {first.Pin["asof"]}, "page": {"2"}}
	p := decodeAPI(t, get(t, h, "/api/logs?"+view+"&"+q.Encode()))
	v, _ := url.ParseQuery(view)
	all := want(t, s, v, first.MaxID, at)
	sameRows(t, "page 2", append(ids(first), ids(p)...), all)
	if got := p.Rows[len(p.Rows)-1].RequestID; got != "req-9000" {
		t.Errorf("the last row of page 2 is %q, want req-9000, stamped after asof", got)
	}
	var shown []string
	for _, r := range p.Rows {
		shown = append(shown, r.RequestID)
	}
	if got := exported(t, h, view+"&"+q.Encode()); !slices.Equal(got, shown) {
		t.Errorf("export of page 2: %d rows, want its %d", len(got), len(shown))
	}
	// Without asof the hour would be the last one: half of it is new.
	q.Del("asof")
	if p := decodeAPI(t, get(t, h, "/api/logs?"+view+"&"+q.Encode())); p.TotalRows == 721 {
		t.Error("without asof the relative range is still the first page's: asof is tested by nothing")
	}
}
