package sqlitestore

import (
	"context"
	"math"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/apilog/apilog"
	"github.com/apilog/apilog/apilogtest"
	"github.com/apilog/apilog/plan"
)

// TestMaskScan checks the masked scan against the reference: in chunks of
// a few hundred rows, each in a snapshot of its own, with the IDs two to a
// column and one to a column (the way it reads a store past two billion
// distinct values).
func TestMaskScan(t *testing.T) {
	var got []Strategy
	s, p, joined := pathsStore(t, 5_000, &got)
	defer func(pack int64, rows int, dense int64, share float64) {
		packBelow, maskRows, maxDense, idShare = pack, rows, dense, share
	}(packBelow, maskRows, maxDense, idShare)
	search, err := apilog.ParseSearch(apilogtest.WorstSearch, apilogtest.Hasher{})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		col       apilog.Column
		rows      int
		packBelow int64
		maxDense  int64 // 0: the terms' tables are maps
		byID      bool  // read the table by ID rather than off the time index
		account   string
		maxID     int64
	}{
		{apilog.ColumnTime, 40_000, 0, 0, false, "", 0},
		{apilog.ColumnIP, 40_000, 0, 0, true, "", 0},
		{apilog.ColumnAPI, 40_000, 0, 1 << 20, false, "acct_a", 0},
		{apilog.ColumnTime, 333, 1 << 31, 1 << 20, true, "acct_a", 0},
		{apilog.ColumnTime, 333, 1 << 31, 1 << 20, false, "", 0},
		{apilog.ColumnDuration, 1000, 1 << 31, 0, true, "acct_a", 3_000},
		{apilog.ColumnDuration, 1000, 1 << 31, 0, false, "acct_a", 3_000},
		{apilog.ColumnEndpoint, 1, 0, 1 << 20, true, "", 2_000},
		{apilog.ColumnEndpoint, 1, 0, 1 << 20, false, "", 2_000},
	} {
		col := c.col
		maskRows, packBelow, maxDense = c.rows, c.packBelow, c.maxDense
		idShare = 2 // more than the scope can hold: never by ID
		if c.byID {
			idShare = 0
		}
		got = nil
		q := apilog.Query{Account: c.account, AllAccounts: c.account == "", Search: search, Sort: apilog.Sort{Column: col},
			Now: p.Now, To: p.Now.Add(-time.Hour), MaxID: c.maxID}
		page, err := s.Query(context.Background(), q)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != 1 || got[0] != StrategyMask {
			t.Fatalf("%+v: strategies %q, want mask", c, got)
		}
		want, err := q.Apply(joined)
		if err != nil {
			t.Fatal(err)
		}
		if len(want.Rows) == 0 {
			t.Fatalf("%+v: the reference has no rows", c)
		}
		if diff := apilogtest.DiffPage(page, want); diff != "" {
			t.Errorf("%+v: %s", c, diff)
		}
	}
}

// TestMaskFarPage asks a broad search for a page past any the store could
// hold: no rows, the right total, no panic.
func TestMaskFarPage(t *testing.T) {
	s, err := Open(filepath.Join(t.TempDir(), "s.db"), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	p := apilogtest.FillPaths(t, s, 5_000)
	search, err := apilog.ParseSearch("e", apilogtest.Hasher{})
	if err != nil {
		t.Fatal(err)
	}
	q := apilog.Query{AllAccounts: true, Search: search, Now: p.Now, Page: math.MaxInt / 2}
	page, err := s.Query(context.Background(), q)
	if err != nil {
		t.Fatal(err)
	}
	want, err := q.Apply(apilogtest.Join(p.Entries, p.Keys, p.Now))
	if err != nil {
		t.Fatal(err)
	}
	if len(page.Rows) != 0 || page.TotalRows != want.TotalRows || want.TotalRows <= maskChunk {
		t.Errorf("page %d: %d rows of %d, want none of %d", q.Page, len(page.Rows), page.TotalRows, want.TotalRows)
	}
}

// pathsStore opens a store of apilogtest.FillPaths' rows that appends the
// strategy of each query to *got, and returns it with the rows joined.
func pathsStore(t *testing.T, rows int, got *[]Strategy) (*Store, *apilogtest.Paths, []apilog.Row) {
	t.Helper()
	s, err := Open(filepath.Join(t.TempDir(), "s.db"), &Options{
		Explain: func(_ apilog.Query, st Strategy) { *got = append(*got, st) },
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	p := apilogtest.FillPaths(t, s, rows)
	return s, p, apilogtest.Join(p.Entries, p.Keys, p.Now)
}

// TestRequestIDOffIndex checks that a request ID is looked up on its
// index alone (covering, the account included), in the query's scope, at
// most plan.RequestIDLimit rows, and joins the search as row IDs: the rows
// are read by their IDs, and no other statement tests the request ID, so
// a plain term that is no request ID costs one lookup that finds nothing.
// Past the cap the term tests the column instead, and finds the same rows.
func TestRequestIDOffIndex(t *testing.T) {
	var got []Strategy
	s, p, rows := pathsStore(t, 3_000, &got)
	row := rows[len(rows)/2].Entry
	other := "acct_a"
	if row.Account == other {
		other = "acct_b"
	}
	explain := func(r *reader, query string, args []any) []string {
		steps, err := queryAll(r.ctx, r.tx, "EXPLAIN QUERY PLAN "+query, args, func(sc scanFunc) (d string, err error) {
			var id, parent, unused int64
			return d, sc(&id, &parent, &unused, &d)
		})
		if err != nil {
			t.Fatal(err)
		}
		return steps
	}
	for _, c := range []struct {
		name     string
		q        apilog.Query
		rows     []int64  // the terms' rows
		strategy Strategy // few matches: collected and sorted
		cap      int      // plan.RequestIDCap; 0 for the default
	}{
		{"req:", apilog.Query{Account: row.Account, Search: search(t, "req:"+row.RequestID)}, []int64{row.ID}, StrategySort, 0},
		{"plain ID", apilog.Query{Account: row.Account, Search: search(t, row.RequestID)}, []int64{row.ID}, StrategySort, 0},
		{"plain ID by endpoint", apilog.Query{Account: row.Account, Search: search(t, row.RequestID), Sort: apilog.Sort{Column: apilog.ColumnEndpoint}}, []int64{row.ID}, StrategySort, 0},
		{"every account", apilog.Query{AllAccounts: true, Search: search(t, "req:"+row.RequestID)}, []int64{row.ID}, StrategySort, 0},
		{"another account", apilog.Query{Account: other, Search: search(t, "req:"+row.RequestID)}, nil, StrategySort, 0},
		{"no such ID", apilog.Query{Account: row.Account, Search: search(t, "flux")}, nil, "", 0},
		{"past the cap", apilog.Query{Account: row.Account, Search: search(t, "req:"+row.RequestID)}, []int64{row.ID}, "", -1},
		{"past the cap, every account", apilog.Query{AllAccounts: true, Search: search(t, "req:"+row.RequestID)}, []int64{row.ID}, "", -1},
	} {
		t.Run(c.name, func(t *testing.T) {
			if c.cap != 0 {
				// A cap of 0: the one row found passes it.
				defer plan.SetRequestIDCap(0)()
			}
			c.q.Now = p.Now
			err := s.read(context.Background(), c.q, 0, func(r *reader, q *apilog.Query) error {
				pl, err := s.compile(r.ctx, r.tx, q, int64(len(rows)))
				if err != nil || pl.None || pl.masked {
					t.Fatalf("compiled: none %v, masked %v, %v", pl.None, pl.masked, err)
				}
				id, term := pl.Terms[0].RequestID, pl.Terms[0]
				lookup, args := pl.requestIDSQL(id)
				if got, _ := queryAll(r.ctx, r.tx, lookup, args, scanID); c.cap != 0 {
					if !term.ScanRequestID || term.Rows != nil || len(got) != 1 {
						t.Errorf("past the cap: scan %v, rows %v, lookup %v; want a scan, no rows, and a lookup of the cap plus one", term.ScanRequestID, term.Rows, got)
					}
				} else if got := term.Rows; term.ScanRequestID || !slices.Equal(got, c.rows) {
					t.Errorf("the term's rows: %v (scan %v), want %v", got, term.ScanRequestID, c.rows)
				}
				// Off the index alone, for one account as for every one.
				want := "USING COVERING INDEX " + idxRequestID + " (request_id=? AND account=?)"
				if pl.acct == 0 {
					want = "USING COVERING INDEX " + idxRequestID + " (request_id=?)"
				}
				if steps := explain(r, lookup, args); !slices.ContainsFunc(steps, func(d string) bool {
					return strings.HasPrefix(d, "SEARCH entries ") && strings.HasSuffix(d, want)
				}) {
					t.Errorf("the lookup's plan %q, want %q", steps, want)
				}
				// The count reads the rows by ID; it names no request ID,
				// unless past the cap.
				where, args := pl.whereSQL(false)
				count := "SELECT count(*) FROM entries e" + where
				if scan := c.cap != 0; strings.Contains(count, "request_id") != scan {
					t.Errorf("the count tests the request ID: %v, want %v: %s", !scan, scan, count)
				}
				if len(c.rows) > 0 && c.cap == 0 {
					if steps := explain(r, count, args); !slices.ContainsFunc(steps, func(d string) bool { return strings.Contains(d, "INTEGER PRIMARY KEY (rowid=?)") }) {
						t.Errorf("the count's plan %q reads no row by its ID", steps)
					}
				}
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
			got = nil
			page, err := s.Query(context.Background(), c.q)
			if err != nil {
				t.Fatal(err)
			}
			if ids := apilogtest.RowIDs(page.Rows); (c.strategy != "" || c.cap != 0) && !slices.Equal(ids, c.rows) && len(ids)+len(c.rows) > 0 {
				t.Errorf("rows %v, want %v", ids, c.rows)
			}
			if c.strategy != "" && !slices.Equal(got, []Strategy{c.strategy}) {
				t.Errorf("strategies %q, want %q", got, c.strategy)
			}
		})
	}
}
