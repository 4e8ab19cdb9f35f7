package pgstore_test

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/apilog/apilog"
	"github.com/apilog/apilog/apilogtest"
	"github.com/apilog/apilog/pgstore"
	"github.com/apilog/apilog/pgstore/pgstoretest"
	"github.com/jackc/pgx/v5"
)

// TestRequestIDIndex checks that a schema of version 1 gains the
// request-ID index (migration 2) on every partition, old and new, that a
// lookup of a request ID uses it, and that searches by request ID find
// their rows, in scope only.
func TestRequestIDIndex(t *testing.T) {
	ctx := context.Background()
	url, schema := pgstoretest.Schema(t)
	s := openStoreIn(t, url, schema)
	p := apilogtest.FillPaths(t, s, 3_000) // several weeks: several partitions
	s.Close()
	pool := openPool(t)
	sch := pgx.Identifier{schema}.Sanitize()
	// Back to version 1.
	if _, err := pool.Exec(ctx, "DROP INDEX "+sch+".entries_request_id; UPDATE "+sch+".schema_version SET version = 1"); err != nil {
		t.Fatal(err)
	}
	s = openStoreIn(t, url, schema)
	defer s.Close()
	var version int
	if err := pool.QueryRow(ctx, "SELECT version FROM "+sch+".schema_version").Scan(&version); err != nil || version != pgstore.SchemaVersion {
		t.Fatalf("after Open: schema version %d (%v), want %d", version, err, pgstore.SchemaVersion)
	}
	// A new partition gets the index as the others do.
	late := p.Entries[0]
	late.ID, late.Time, late.RequestID = 0, p.Now.Add(30*24*3600e9), "late-one"
	if err := s.Append(ctx, []apilog.Entry{late}); err != nil {
		t.Fatal(err)
	}
	var partitions, indexed int
	err := pool.QueryRow(ctx, `SELECT count(*), count(*) FILTER (WHERE EXISTS (
			SELECT 1 FROM pg_index i
			JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = i.indkey[0]
			JOIN pg_attribute b ON b.attrelid = i.indrelid AND b.attnum = i.indkey[1]
			WHERE i.indrelid = c.oid AND a.attname = 'request_id' AND b.attname = 'account' AND i.indnkeyatts = 2))
		FROM pg_inherits h JOIN pg_class c ON c.oid = h.inhrelid WHERE h.inhparent = $1::regclass`, schema+".entries").Scan(&partitions, &indexed)
	if err != nil || partitions < 3 || indexed != partitions {
		t.Errorf("%d of %d partitions have an index on (request_id, account) (%v), want every one of at least 3", indexed, partitions, err)
	}
	// The lookup, as queueRequestIDs writes it, reads the request-ID index,
	// for one account and every account, and only the partitions of the
	// query's time range.
	row := p.Entries[len(p.Entries)/2]
	// As autovacuum leaves a table, with its statistics.
	if _, err := pool.Exec(ctx, "VACUUM (ANALYZE) "+sch+".entries"); err != nil {
		t.Fatal(err)
	}
	day := apilog.Query{From: row.Time.Add(-time.Hour), To: row.Time.Add(time.Hour)}
	for _, c := range []struct {
		name  string
		q     apilog.Query
		acct  int64
		parts int // partitions read at most; 0: every one
	}{
		{"one account", apilog.Query{}, 1, 0},
		{"every account", apilog.Query{}, 0, 0},
		{"one account, two hours", day, 1, 2},
		{"every account, two hours, pinned", apilog.Query{From: day.From, To: day.To, MaxID: row.ID}, 0, 2},
	} {
		query, args := s.RequestIDLookup([]string{row.RequestID, "no-such-id"}, c.q, c.acct)
		var plan []string
		rows, err := pool.Query(ctx, "EXPLAIN "+query, args...)
		if err == nil {
			plan, err = pgx.CollectRows(rows, pgx.RowTo[string])
		}
		scans := 0
		for _, l := range plan {
			if strings.Contains(l, " on entries_") {
				scans++
				// (PostgreSQL reads a partition of a few rows whole.)
				if strings.Contains(l, "Index") && !strings.Contains(l, "request_id") {
					t.Errorf("%s: the lookup reads a partition off another index: %s", c.name, l)
				}
			}
		}
		if err != nil || !slices.ContainsFunc(plan, func(l string) bool {
			return strings.Contains(l, "Index") && strings.Contains(l, "request_id")
		}) ||
			c.parts > 0 && scans > c.parts {
			t.Errorf("%s: the lookup's plan reads %d partitions, not the request-ID index, or more than %d (%v):\n%s", c.name, scans, c.parts, err, strings.Join(plan, "\n"))
		}
	}
	other := "acct_a"
	if row.Account == other {
		other = "acct_b"
	}
	search := func(text string) apilog.Search {
		q, err := apilog.ParseSearch(text, apilogtest.Hasher{})
		if err != nil {
			t.Fatal(err)
		}
		return q
	}
	for _, tt := range []struct {
		q    apilog.Query
		want []int64
	}{
		{apilog.Query{Account: row.Account, Search: search("req:" + row.RequestID)}, []int64{row.ID}},
		{apilog.Query{Account: row.Account, Search: search(row.RequestID), Sort: apilog.Sort{Column: apilog.ColumnEndpoint}}, []int64{row.ID}},
		{apilog.Query{AllAccounts: true, Search: search("req:" + row.RequestID)}, []int64{row.ID}},
		{apilog.Query{Account: other, Search: search("req:" + row.RequestID)}, nil},
	} {
		tt.q.Now = p.Now
		page, err := s.Query(ctx, tt.q)
		if got := apilogtest.RowIDs(page.Rows); err != nil || !slices.Equal(got, tt.want) && len(got)+len(tt.want) > 0 {
			t.Errorf("search %q in %q (all %v): rows %v (%v), want %v", tt.q.Search, tt.q.Account, tt.q.AllAccounts, got, err, tt.want)
		}
	}
}
