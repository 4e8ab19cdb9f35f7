package sqlitestore_test

import (
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/apilog/apilog"
	"github.com/apilog/apilog/apilogtest"
	"github.com/apilog/apilog/sqlitestore"
)

// explainedStore opens a new store that records the strategy of each query
// in *got.
func explainedStore(t *testing.T) (*sqlitestore.Store, *[]sqlitestore.Strategy) {
	t.Helper()
	got := new([]sqlitestore.Strategy)
	s, err := sqlitestore.Open(filepath.Join(t.TempDir(), "s.db"), &sqlitestore.Options{
		Explain: func(_ apilog.Query, st sqlitestore.Strategy) { *got = append(*got, st) },
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s, got
}

// TestStrategies asks for one query of each strategy, checks through the
// Explain hook that the store chose it, and checks its page against the
// reference.
func TestStrategies(t *testing.T) {
	s, got := explainedStore(t)
	p := apilogtest.FillPaths(t, s, 20_000)
	joined := apilogtest.Join(p.Entries, p.Keys, p.Now)
	search := func(text string) apilog.Search {
		q, err := apilog.ParseSearch(text, apilogtest.Hasher{})
		if err != nil {
			t.Fatal(err)
		}
		return q
	}
	by := func(c apilog.Column, d apilog.Direction) apilog.Sort { return apilog.Sort{Column: c, Dir: d} }
	ok2xx := []apilog.StatusClass{apilog.StatusSuccess}
	tests := []struct {
		name string
		q    apilog.Query
		want sqlitestore.Strategy
	}{
		{"unknown account", apilog.Query{Account: "acct_nobody"}, sqlitestore.StrategyNone},
		{"empty time range", apilog.Query{Account: "acct_a", From: p.Start, To: p.Start}, sqlitestore.StrategyNone},
		{"newest first", apilog.Query{Account: "acct_a"}, sqlitestore.StrategyTimeSeek},
		{"oldest first, a deep page", apilog.Query{Account: "acct_a", Sort: by(apilog.ColumnTime, apilog.Asc), Page: 20, PageSize: 700}, sqlitestore.StrategyTimeSeek},
		{"last day, all accounts", apilog.Query{AllAccounts: true, From: p.Start.Add(24 * time.Hour)}, sqlitestore.StrategyTimeSeek},
		{"pinned second page", apilog.Query{Account: "acct_a", Page: 2, MaxID: p.Entries[15_000].ID}, sqlitestore.StrategyTimeSeek},
		{"pinned long ago", apilog.Query{Account: "acct_a", Page: 2, MaxID: p.Entries[5_000].ID}, sqlitestore.StrategyIndexScan},
		{"pinned long ago, all accounts, by endpoint", apilog.Query{AllAccounts: true, Page: 2, MaxID: p.Entries[5_000].ID, Sort: by(apilog.ColumnEndpoint, apilog.Desc)}, sqlitestore.StrategyWalkFiltered},
		{"pinned, last day, oldest first", apilog.Query{Account: "acct_a", From: p.Start.Add(24 * time.Hour), Sort: by(apilog.ColumnTime, apilog.Asc), Page: 2, MaxID: p.Entries[18_000].ID}, sqlitestore.StrategyTimeSeek},
		{"by endpoint", apilog.Query{Account: "acct_a", Sort: by(apilog.ColumnEndpoint, apilog.Asc)}, sqlitestore.StrategyWalk},
		{"by key, descending, page 3", apilog.Query{Account: "acct_a", Sort: by(apilog.ColumnAPI, apilog.Desc), Page: 3}, sqlitestore.StrategyWalk},
		{"by status, all accounts", apilog.Query{AllAccounts: true, Sort: by(apilog.ColumnStatus, apilog.Desc)}, sqlitestore.StrategyWalk},
		{"2xx by IP", apilog.Query{Account: "acct_a", StatusClasses: ok2xx, Sort: by(apilog.ColumnIP, apilog.Asc)}, sqlitestore.StrategyWalkFiltered},
		{"pinned, by method", apilog.Query{Account: "acct_a", Sort: by(apilog.ColumnMethod, apilog.Asc), Page: 2, MaxID: p.Entries[15_000].ID}, sqlitestore.StrategyWalkFiltered},
		{"slowest first", apilog.Query{Account: "acct_a", Sort: by(apilog.ColumnDuration, apilog.Desc)}, sqlitestore.StrategyWalk},
		{"fastest first, all accounts", apilog.Query{AllAccounts: true, Sort: by(apilog.ColumnDuration, apilog.Asc), Page: 2}, sqlitestore.StrategyWalk},
		{"slowest first, page 9, 2xx", apilog.Query{Account: "acct_a", StatusClasses: ok2xx, Sort: by(apilog.ColumnDuration, apilog.Desc), Page: 9}, sqlitestore.StrategyWalkFiltered},
		{"2xx, newest first", apilog.Query{Account: "acct_a", StatusClasses: ok2xx}, sqlitestore.StrategyIndexScan},
		{"one error code, newest first", apilog.Query{Account: "acct_a", Search: search("error:BSE5030")}, sqlitestore.StrategySort},
		{"one error code, by duration", apilog.Query{Account: "acct_a", Search: search("error:BSE5030"), Sort: by(apilog.ColumnDuration, apilog.Desc)}, sqlitestore.StrategySort},
		{"one error code, by key", apilog.Query{AllAccounts: true, Search: search("error:BSE5030"), Sort: by(apilog.ColumnAPI, apilog.Asc)}, sqlitestore.StrategyKeySort},
		{"the worst search", apilog.Query{Account: "acct_a", Search: search(apilogtest.WorstSearch)}, sqlitestore.StrategyMask},
		{"one letter, by IP, page 3", apilog.Query{Account: "acct_a", Search: search("e"), Sort: by(apilog.ColumnIP, apilog.Asc), Page: 3}, sqlitestore.StrategyMask},
		{"one letter, by error code, descending", apilog.Query{Account: "acct_a", Search: search("e"), Sort: by(apilog.ColumnError, apilog.Desc)}, sqlitestore.StrategyMask},
		{"one letter, by error code, ascending (empties last)", apilog.Query{Account: "acct_a", Search: search("e"), Sort: by(apilog.ColumnError, apilog.Asc)}, sqlitestore.StrategyMask},
		{"one letter, by key, all accounts, page 2", apilog.Query{AllAccounts: true, Search: search("e"), Sort: by(apilog.ColumnAPI, apilog.Desc), Page: 2}, sqlitestore.StrategyMask},
		{"one letter, 2xx, slowest first", apilog.Query{Account: "acct_a", Search: search("e"), StatusClasses: ok2xx, Sort: by(apilog.ColumnDuration, apilog.Desc)}, sqlitestore.StrategyMask},
		{"one letter and not another, pinned, oldest first", apilog.Query{Account: "acct_a", Search: search("e -zz"), Page: 2, MaxID: p.Entries[15_000].ID, Sort: by(apilog.ColumnTime, apilog.Asc)}, sqlitestore.StrategyMask},
		{"one error code among broad terms", apilog.Query{Account: "acct_a", Search: search("error:BSE5030 e a o")}, sqlitestore.StrategySort},
	}
	// Deep pages (past 50,000 rows, 700 here) that SQL would find by walking
	// or sorting most matches, and searches by time that SQL would read more
	// than 100,000 rows for (5,000 here), are scanned instead, when the
	// matches are many (over 50,000, 2,000 here).
	scaled := []struct {
		name string
		q    apilog.Query
		want sqlitestore.Strategy
	}{
		{"IPs with a letter, by IP: too long a list to walk", apilog.Query{Account: "acct_a", Search: search("ip:e"), Sort: by(apilog.ColumnIP, apilog.Asc)}, sqlitestore.StrategyMask},
		{"IPs with a letter, by IP, deep page", apilog.Query{Account: "acct_a", Search: search("ip:e"), Sort: by(apilog.ColumnIP, apilog.Asc), Page: 8, PageSize: 100}, sqlitestore.StrategyMask},
		{"IPs with a letter, oldest first, deep page", apilog.Query{Account: "acct_a", Search: search("ip:e"), Sort: by(apilog.ColumnTime, apilog.Asc), Page: 8, PageSize: 100}, sqlitestore.StrategyIndexScan},
		{"IPs without a common letter, oldest first, page 2", apilog.Query{Account: "acct_a", Search: search("-ip:a"), Sort: by(apilog.ColumnTime, apilog.Asc), Page: 2, PageSize: 100}, sqlitestore.StrategyMask},
		{"IPs with a letter, 4xx and 5xx, by IP", apilog.Query{Account: "acct_a", Search: search("ip:e"), StatusClasses: []apilog.StatusClass{apilog.StatusClientError, apilog.StatusServerError}, Sort: by(apilog.ColumnIP, apilog.Asc), Page: 2, PageSize: 100}, sqlitestore.StrategyMask},
		{"2xx by IP, deep page", apilog.Query{Account: "acct_a", StatusClasses: ok2xx, Sort: by(apilog.ColumnIP, apilog.Desc), Page: 8, PageSize: 100}, sqlitestore.StrategyMask},
		{"2xx, newest first, deep page", apilog.Query{Account: "acct_a", StatusClasses: ok2xx, Page: 8, PageSize: 100}, sqlitestore.StrategyIndexScan},
		{"by IP, deep page", apilog.Query{Account: "acct_a", Sort: by(apilog.ColumnIP, apilog.Desc), Page: 8, PageSize: 100}, sqlitestore.StrategyWalk},
		{"a letter, slower than 300ms, by IP", apilog.Query{Account: "acct_a", Search: search("e duration:>300ms"), Sort: by(apilog.ColumnIP, apilog.Asc)}, sqlitestore.StrategyMask},
		{"a letter, 300ms to 1s, slowest first", apilog.Query{Account: "acct_a", Search: search("e duration:300ms-1s"), Sort: by(apilog.ColumnDuration, apilog.Desc), Page: 2, PageSize: 100}, sqlitestore.StrategyMask},
		{"slower than 300ms, by endpoint", apilog.Query{Account: "acct_a", Search: search("duration:>300ms"), Sort: by(apilog.ColumnEndpoint, apilog.Asc)}, sqlitestore.StrategyWalkFiltered},
		{"a letter, not under 300ms, newest first, all accounts", apilog.Query{AllAccounts: true, Search: search("e -duration:<300ms")}, sqlitestore.StrategyMask},
		{"an error code, by IP, page 2", apilog.Query{Account: "acct_a", Search: search("error:BSE5030"), Sort: by(apilog.ColumnIP, apilog.Desc), Page: 2, PageSize: 100}, sqlitestore.StrategySort},
	}
	run := func(tt struct {
		name string
		q    apilog.Query
		want sqlitestore.Strategy
	}) {
		t.Run(tt.name, func(t *testing.T) {
			*got = nil
			q := tt.q
			q.Now = p.Now
			page, err := s.Query(context.Background(), q)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(*got, []sqlitestore.Strategy{tt.want}) {
				t.Errorf("strategies %q, want %q", got, tt.want)
			}
			want, err := q.Apply(joined)
			if err != nil {
				t.Fatal(err)
			}
			if diff := apilogtest.DiffPage(page, want); diff != "" {
				t.Error(diff)
			}
			if tt.want != sqlitestore.StrategyNone && len(want.Rows) == 0 {
				t.Errorf("the reference has no rows: the case shows nothing")
			}
		})
	}
	for _, tt := range tests {
		run(tt)
	}
	defer sqlitestore.ScaleMask(700, 2_000, 5_000)()
	for _, tt := range scaled {
		run(tt)
	}
}

// TestManyAccounts checks the operator's view of more accounts than a walk
// reads one by one: every column's sort both ways, a filter, a search and
// a pinned page, against the reference, none of them walked.
func TestManyAccounts(t *testing.T) {
	ctx := context.Background()
	s, got := explainedStore(t)
	start := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	var entries []apilog.Entry
	var keys []apilog.Key
	for i := range 40 {
		g := apilogtest.NewSynthetic(uint64(i), fmt.Sprintf("acct_%02d", i), 2, start.Add(time.Duration(i)*time.Minute))
		for _, k := range g.Keys {
			if err := s.UpsertKey(ctx, k); err != nil {
				t.Fatal(err)
			}
		}
		keys = append(keys, g.Keys...)
		entries = append(entries, g.Entries(30)...)
	}
	if err := s.Append(ctx, entries); err != nil {
		t.Fatal(err)
	}
	for i := range entries {
		entries[i].ID = int64(i + 1)
	}
	now := start.Add(24 * time.Hour)
	joined := apilogtest.Join(entries, keys, now)
	var queries []apilog.Query
	for _, col := range apilog.Columns {
		for _, dir := range []apilog.Direction{apilog.Asc, apilog.Desc} {
			queries = append(queries, apilog.Query{Sort: apilog.Sort{Column: col, Dir: dir}, PageSize: 50, Page: 2})
		}
	}
	flux, err := apilog.ParseSearch("flux", apilogtest.Hasher{})
	if err != nil {
		t.Fatal(err)
	}
	queries = append(queries,
		apilog.Query{StatusClasses: []apilog.StatusClass{apilog.StatusSuccess}, Sort: apilog.Sort{Column: apilog.ColumnEndpoint}, PageSize: 50},
		apilog.Query{Search: flux, PageSize: 20},
		apilog.Query{MaxID: 1000, Page: 3, PageSize: 100},
		apilog.Query{MaxID: 1000, Page: 3, PageSize: 100, Sort: apilog.Sort{Column: apilog.ColumnMethod}},
	)
	for _, q := range queries {
		*got = nil
		q.AllAccounts, q.Now = true, now
		page, err := s.Query(ctx, q)
		if err != nil {
			t.Fatal(err)
		}
		want, err := q.Apply(joined)
		if err != nil {
			t.Fatal(err)
		}
		if len(want.Rows) == 0 {
			t.Fatalf("%+v: the reference has no rows", q)
		}
		if diff := apilogtest.DiffPage(page, want); diff != "" {
			t.Errorf("sort %s, page %d: %s", q.Sort, q.Page, diff)
		}
		if slices.Contains(*got, sqlitestore.StrategyWalk) || slices.Contains(*got, sqlitestore.StrategyWalkFiltered) {
			t.Errorf("sort %s: strategies %q: a walk reads the 40 accounts one by one", q.Sort, *got)
		}
	}
}
