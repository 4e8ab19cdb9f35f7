package apilogtest

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/apilog/apilog"
)

// sortRows is the sort fixture: every column has ties, so the tie breakers
// (time descending, then ID descending) decide, and two rows share a time.
func sortRows(f *fixture) {
	upper := apilog.Key{ID: "key_upper", Account: acctMain, Name: "PRODUCTION-API", Prefix: "bye_AA00"}
	f.key(keyActive, keyNew, keyRotated, upper, keyOther)
	type row struct {
		req, key, method, endpoint string
		status                     int
		code, ip                   string
		minute                     int
		ms                         int // duration
	}
	for _, r := range []row{
		{"a", "key_prod", "POST", "/v1/generate/image/flux-pro", 200, "", "c3", 1, 120},
		{"b", "key_new", "GET", "/v1/models", 401, "BSE4006", "a1", 2, 5},
		{"c", "key_old", "DELETE", "/v1/keys/k1", 500, "BSE5000", "b2", 3, 3000},
		{"d", "", "PUT", "/v1/keys/k1", 401, "BSE4001", "a1", 4, 120},
		{"e", "key_upper", "GET", "/v1/Models", 200, "", "ff", 5, 0},
		{"f", "key_prod", "POST", "/v1/generate/image/flux-pro", 200, "", "c3", 5, 3000}, // same time as e
		{"g", "key_new", "GET", "/v1/models", 302, "", "00", 0, 5},
		{"h", "key_prod", "POST", "/v1/generate/image/flux-pro", 200, "", "c3", 5, 3000}, // a twin of f
	} {
		e := entry(r.req, r.minute)
		e.KeyID, e.Method, e.Endpoint, e.Status, e.ErrorCode, e.IPHash = r.key, r.method, r.endpoint, r.status, r.code, r.ip
		e.Duration = time.Duration(r.ms) * time.Millisecond
		f.add(e)
	}
}

func testSort(t *testing.T, f *fixture) {
	sortRows(f)
	tests := []struct {
		col  apilog.Column
		dir  apilog.Direction
		want []string
	}{
		// Time descending, then ID descending: h and f share e's minute and come in reverse insertion order.
		{"", "", []string{"h", "f", "e", "d", "c", "b", "a", "g"}},
		{apilog.ColumnTime, apilog.Desc, []string{"h", "f", "e", "d", "c", "b", "a", "g"}},
		{apilog.ColumnTime, apilog.Asc, []string{"g", "a", "b", "c", "d", "h", "f", "e"}},
		// Key name case-insensitively (production-api = PRODUCTION-API), then prefix (bye_AA00 < bye_AB12).
		{apilog.ColumnAPI, apilog.Asc, []string{"d", "e", "h", "f", "a", "c", "b", "g"}},
		{apilog.ColumnAPI, apilog.Desc, []string{"b", "g", "c", "h", "f", "a", "e", "d"}},
		{apilog.ColumnMethod, apilog.Asc, []string{"c", "e", "b", "g", "h", "f", "a", "d"}},
		{apilog.ColumnMethod, apilog.Desc, []string{"d", "h", "f", "a", "e", "b", "g", "c"}},
		// Byte order: "/v1/Models" < "/v1/generate..." < "/v1/keys" < "/v1/models".
		{apilog.ColumnEndpoint, apilog.Asc, []string{"e", "h", "f", "a", "d", "c", "b", "g"}},
		{apilog.ColumnEndpoint, apilog.Desc, []string{"b", "g", "d", "c", "h", "f", "a", "e"}},
		{apilog.ColumnStatus, apilog.Asc, []string{"h", "f", "e", "a", "g", "d", "b", "c"}},
		{apilog.ColumnStatus, apilog.Desc, []string{"c", "d", "b", "g", "h", "f", "e", "a"}},
		// Rows without an error code come last in both directions.
		{apilog.ColumnError, apilog.Asc, []string{"d", "b", "c", "h", "f", "e", "a", "g"}},
		{apilog.ColumnError, apilog.Desc, []string{"c", "b", "d", "h", "f", "e", "a", "g"}},
		{apilog.ColumnIP, apilog.Asc, []string{"g", "d", "b", "c", "h", "f", "a", "e"}},
		{apilog.ColumnIP, apilog.Desc, []string{"e", "h", "f", "a", "c", "d", "b", "g"}},
		// Slowest first by default; equal durations newest first both ways.
		{apilog.ColumnDuration, "", []string{"h", "f", "c", "d", "a", "b", "g", "e"}},
		{apilog.ColumnDuration, apilog.Asc, []string{"e", "b", "g", "d", "a", "h", "f", "c"}},
	}
	for _, tt := range tests {
		srt, err := apilog.ParseSort(string(tt.col), string(tt.dir))
		if err != nil {
			t.Fatalf("ParseSort(%q, %q): %v", tt.col, tt.dir, err)
		}
		if got := f.ids(inMain(apilog.Query{Sort: srt})); !slices.Equal(got, tt.want) {
			t.Errorf("sort %s %s: %q, want %q", tt.col, tt.dir, got, tt.want)
		}
		// Pages of one row each give the same order: ties are total.
		var paged []string
		for page := 1; page <= len(tt.want)+1; page++ {
			p := f.query(inMain(apilog.Query{Sort: srt, Page: page, PageSize: 1}))
			paged = append(paged, requestIDs(p.Rows)...)
		}
		if !slices.Equal(paged, tt.want) {
			t.Errorf("sort %s %s one row a page: %q, want %q", tt.col, tt.dir, paged, tt.want)
		}
	}
}

func testPagination(t *testing.T, f *fixture) {
	f.key(keyActive)
	written := 0
	grow := func(n int) {
		var batch []apilog.Entry
		for ; written < n; written++ {
			e := entry(fmt.Sprintf("r%04d", written), 0)
			// Times repeat every 7 rows so that ties cross page edges.
			e.Time = t0.Add(time.Duration(written/7) * time.Second)
			batch = append(batch, e)
		}
		if len(batch) > 0 {
			f.add(batch...)
		}
	}
	tests := []struct {
		rows, size int
		wantPages  int
		lastLen    int
	}{
		{0, 500, 1, 0},
		{1, 500, 1, 1},
		{499, 500, 1, 499},
		{500, 500, 1, 500},
		{501, 500, 2, 1},
		{1001, 500, 3, 1},
		{1001, 1, 1001, 1},
		{1001, 10000, 1, 1001},
	}
	for _, tt := range tests {
		grow(tt.rows)
		seen := map[string]bool{}
		for page := 1; page <= tt.wantPages; page++ {
			p := f.query(inMain(apilog.Query{Page: page, PageSize: tt.size}))
			if p.TotalRows != tt.rows || p.TotalPages != tt.wantPages || p.Number != page || p.Size != tt.size {
				t.Fatalf("%d rows, size %d, page %d: total %d rows %d pages, number %d size %d; want %d rows %d pages",
					tt.rows, tt.size, page, p.TotalRows, p.TotalPages, p.Number, p.Size, tt.rows, tt.wantPages)
			}
			wantLen := tt.size
			if page == tt.wantPages {
				wantLen = tt.lastLen
			}
			if len(p.Rows) != wantLen {
				t.Fatalf("%d rows, size %d, page %d: %d rows, want %d", tt.rows, tt.size, page, len(p.Rows), wantLen)
			}
			for _, r := range p.Rows {
				if seen[r.RequestID] {
					t.Fatalf("%d rows, size %d: row %s on two pages", tt.rows, tt.size, r.RequestID)
				}
				seen[r.RequestID] = true
			}
		}
		if len(seen) != tt.rows {
			t.Fatalf("%d rows, size %d: pages hold %d rows", tt.rows, tt.size, len(seen))
		}
		// Past the last page: no rows, the right totals.
		for _, page := range []int{tt.wantPages + 1, 1 << 40} {
			p := f.query(inMain(apilog.Query{Page: page, PageSize: tt.size}))
			if len(p.Rows) != 0 || p.TotalRows != tt.rows || p.TotalPages != tt.wantPages {
				t.Errorf("%d rows, page %d past the last: %d rows, totals %d/%d", tt.rows, page, len(p.Rows), p.TotalRows, p.TotalPages)
			}
		}
	}
	// The default page size is 500.
	if p := f.query(inMain(apilog.Query{})); p.Size != 500 || len(p.Rows) != 500 {
		t.Errorf("default page: size %d with %d rows, want 500", p.Size, len(p.Rows))
	}
}

// testPinnedPaging reads a view page by page while rows arrive between the
// reads, as a Logs page is read under live traffic: with the first page's
// MaxID, the later pages neither repeat nor skip a row, in every order,
// whatever times the new rows carry.
func testPinnedPaging(t *testing.T, f *fixture) {
	f.key(keyActive, keyNew, keyRotated)
	keys := []string{"key_prod", "key_new", "key_old", ""}
	methods := []string{"GET", "POST", "DELETE"}
	n := 0
	add := func(count int) {
		var batch []apilog.Entry
		for range count {
			e := entry(fmt.Sprintf("p%03d", n), (n*37)%61-30) // times out of order, some before the first rows
			e.KeyID, e.Method = keys[n%len(keys)], methods[n%len(methods)]
			if n%5 == 4 {
				e.Account = acctOther // another tenant's rows between this one's
			}
			e.Status = []int{200, 401, 500, 302}[n%4]
			e.Duration = time.Duration(n%9) * time.Millisecond
			e.IPHash = fmt.Sprintf("%02x", n%13)
			batch = append(batch, e)
			n++
		}
		f.add(batch...)
	}
	add(40)
	// Views beyond the plain one: another scope, a filter, a time range.
	views := []apilog.Query{
		{AllAccounts: true, Sort: apilog.Sort{Column: apilog.ColumnTime, Dir: apilog.Asc}},
		inMain(apilog.Query{StatusClasses: []apilog.StatusClass{apilog.StatusSuccess, apilog.StatusServerError}, Sort: apilog.Sort{Column: apilog.ColumnEndpoint}}),
		inMain(apilog.Query{From: t0.Add(-20 * time.Minute), To: t0.Add(20 * time.Minute), Sort: apilog.Sort{Column: apilog.ColumnDuration}}),
		inMain(apilog.Query{Search: search(t, "-key:staging"), Sort: apilog.Sort{Column: apilog.ColumnAPI, Dir: apilog.Desc}}),
	}
	for _, col := range apilog.Columns {
		for _, dir := range []apilog.Direction{apilog.Asc, apilog.Desc} {
			views = append(views, inMain(apilog.Query{Sort: apilog.Sort{Column: col, Dir: dir}}))
		}
	}
	for _, view := range views {
		q := view
		q.PageSize, q.Now = 7, now
		first := f.query(q)
		want, err := (func() (apilog.Page, error) {
			all := q
			all.MaxID, all.PageSize = first.MaxID, apilog.MaxPageSize
			return all.Apply(f.rows(now))
		})()
		if err != nil {
			t.Fatal(err)
		}
		got := requestIDs(first.Rows)
		q.MaxID = first.MaxID
		for page := 2; page <= first.TotalPages; page++ {
			if page == 2 || page == first.TotalPages {
				add(3) // new rows between the reads (not at every page, or the view would grow as it is read)
			}
			q.Page = page
			p := f.query(q)
			if p.TotalRows != first.TotalRows || p.TotalPages != first.TotalPages {
				t.Fatalf("%s page %d: totals %d rows in %d pages, want the first page's %d in %d",
					describe(q), page, p.TotalRows, p.TotalPages, first.TotalRows, first.TotalPages)
			}
			got = append(got, requestIDs(p.Rows)...)
		}
		if w := requestIDs(want.Rows); !slices.Equal(got, w) {
			t.Errorf("%s: pages pinned to row %d read %q, want %q", describe(q), first.MaxID, got, w)
		}
	}
	// A bound past every row is no bound; an old one hides what came after.
	mainRows := func(maxID int64) (n int) {
		for _, e := range f.entries {
			if e.Account == acctMain && e.ID <= maxID {
				n++
			}
		}
		return n
	}
	q := inMain(apilog.Query{MaxID: 1 << 40, Now: now})
	if p, want := f.query(q), mainRows(1<<40); p.TotalRows != want {
		t.Errorf("MaxID past every row: %d rows, want %d", p.TotalRows, want)
	}
	q.MaxID = f.entries[9].ID
	if p, want := f.query(q), mainRows(q.MaxID); p.TotalRows != want {
		t.Errorf("MaxID of the tenth row: %d rows, want %d", p.TotalRows, want)
	}
}
