package sqlitestore

import (
	"context"
	"database/sql"
	"fmt"
	"math"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/apilog/apilog"
	"github.com/apilog/apilog/apilogtest"
	"github.com/google/go-cmp/cmp"
)

// TestSortColumns checks that every column of the core's table has a row
// in sortColumns, whose index the migrations create.
func TestSortColumns(t *testing.T) {
	s, err := Open(filepath.Join(t.TempDir(), "c.db"), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	for _, c := range apilog.Columns {
		sc, err := sortColumnOf(c)
		if err != nil {
			t.Errorf("column %q: %v", c, err)
			continue
		}
		var n int
		if err := s.r.QueryRow("SELECT count(*) FROM sqlite_schema WHERE type = 'index' AND name = ?", sc.index).Scan(&n); err != nil || n != 1 {
			t.Errorf("column %q: index %s: %d in the schema, %v", c, sc.index, n, err)
		}
	}
	if _, err := sortColumnOf("secret"); err == nil {
		t.Error("sortColumnOf(secret) = nil error")
	}
	if _, err := s.Query(context.Background(), apilog.Query{AllAccounts: true, Sort: apilog.Sort{Column: "secret"}}); err == nil {
		t.Error("a query sorted by an unknown column did not fail")
	}
}

// TestMigrate opens a database of schema version 1, which has no duration
// index, no accounts' last IDs and no time index of every account, and
// checks that Open adds them and keeps the rows.
func TestMigrate(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "v1.db")
	s, err := Open(path, nil)
	if err != nil {
		t.Fatal(err)
	}
	t0 := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	var batch []apilog.Entry
	for i := range 100 {
		batch = append(batch, apilog.Entry{Account: "a", Method: "GET", Status: 200, Time: t0.Add(time.Duration(i) * time.Second), Duration: time.Duration(i%7) * time.Millisecond,
			RequestID: fmt.Sprintf("req-%d", i%50)})
	}
	batch = append(batch, apilog.Entry{Account: "b", Method: "GET", Status: 200, Time: t0, RequestID: "req-7"})
	if err := s.Append(ctx, batch); err != nil {
		t.Fatal(err)
	}
	// Rows of every status class, at times on and off the volume table's
	// bucket edges, for its migration to count as Append does.
	for i, code := range []int{0, 101, 204, 302, 404, 503, 999} {
		at := t0.Add(-time.Duration(i*i) * 7 * time.Minute).Add(time.Duration(i) * time.Nanosecond)
		batch = append(batch[:0], apilog.Entry{Account: "c", Method: "GET", Status: code, Time: at}, apilog.Entry{Account: "c", Method: "GET", Status: code, Time: at.Add(-26 * time.Hour)})
		if err := s.Append(ctx, batch); err != nil {
			t.Fatal(err)
		}
	}
	volume := func() [][5]int64 {
		rows, err := queryAll(ctx, s.r, "SELECT account, level, bucket, class, n FROM volume ORDER BY 1, 2, 3, 4", nil,
			func(sc scanFunc) (r [5]int64, err error) { return r, sc(&r[0], &r[1], &r[2], &r[3], &r[4]) })
		if err != nil {
			t.Fatal(err)
		}
		return rows
	}
	appended := volume()
	s.Close()
	db, err := sql.Open("sqlite3", path)
	if err != nil {
		t.Fatal(err)
	}
	// Back to version 1: its value indexes had no status.
	v1 := "DROP INDEX " + idxRequestID + "; DROP INDEX " + idxDuration + "; DROP INDEX " + idxTimeAll + "; DELETE FROM counts WHERE account = 0; ALTER TABLE accounts DROP COLUMN last_id; DROP TABLE volume; PRAGMA user_version = 1"
	for _, col := range []string{"key", "method", "endpoint", "error", "ip"} {
		v1 += "; DROP INDEX entries_" + col + "; CREATE INDEX entries_" + col + " ON entries (" + col + ", ts >> 30)"
	}
	if _, err := db.Exec(v1); err != nil {
		t.Fatal(err)
	}
	db.Close()

	if s, err = Open(path, nil); err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	var version int
	s.r.QueryRow("PRAGMA user_version").Scan(&version)
	if version != SchemaVersion {
		t.Fatalf("after Open: schema version %d, want %d", version, SchemaVersion)
	}
	// Each value index, and the duration's, ends in the status (migration 5).
	for _, idx := range []string{idxKey, idxMethod, idxEndpoint, idxError, idxIP, idxDuration} {
		var last sql.NullString
		if err := s.r.QueryRow("SELECT name FROM pragma_index_xinfo(?) WHERE key = 1 ORDER BY seqno DESC LIMIT 1", idx).Scan(&last); err != nil || last.String != "status" {
			t.Errorf("after Open, the last column of %s is %q (%v), want status", idx, last.String, err)
		}
	}
	// The request ID's index (migration 6), which a search's lookup names.
	var reqCols string
	if err := s.r.QueryRow("SELECT group_concat(name) FROM pragma_index_info(?)", idxRequestID).Scan(&reqCols); err != nil || reqCols != "request_id,account" {
		t.Errorf("after Open, %s indexes %q (%v), want request_id,account", idxRequestID, reqCols, err)
	}
	for _, tt := range []struct {
		q    apilog.Query
		want []int64
	}{
		{apilog.Query{Account: "a", Search: search(t, "req:req-7")}, []int64{58, 8}},
		{apilog.Query{Account: "b", Search: search(t, "req-7")}, []int64{101}},
		{apilog.Query{AllAccounts: true, Search: search(t, "req:req-7")}, []int64{58, 8, 101}},
	} {
		p, err := s.Query(ctx, tt.q)
		if got := apilogtest.RowIDs(p.Rows); err != nil || !slices.Equal(got, tt.want) {
			t.Errorf("search %q after the migration: rows %v (%v), want %v", tt.q.Search, got, err, tt.want)
		}
	}
	if diff := cmp.Diff(appended, volume()); diff != "" || len(appended) == 0 {
		t.Errorf("the volume table as migrated differs from Append's (-append +migration):\n%s", diff)
	}
	p, err := s.Query(ctx, apilog.Query{Account: "a", Sort: apilog.Sort{Column: apilog.ColumnDuration}})
	if err != nil || p.TotalRows != 100 || p.Rows[0].Duration != 6*time.Millisecond || p.Rows[0].ID != 98 {
		t.Fatalf("slowest first after the migration: %d rows, first %+v, %v", p.TotalRows, p.Rows[0].Entry, err)
	}
	// Each account's pin is its own last row, not the table's.
	if p.MaxID != 100 {
		t.Errorf("account a's Page.MaxID %d, want 100", p.MaxID)
	}
	if p, err := s.Query(ctx, apilog.Query{Account: "b"}); err != nil || p.MaxID != 101 {
		t.Errorf("account b's Page.MaxID %d (%v), want 101", p.MaxID, err)
	}
	if p, err := s.Query(ctx, apilog.Query{AllAccounts: true, PageSize: 10}); err != nil || p.TotalRows != 115 || len(p.Rows) != 10 || p.Rows[0].ID != 100 {
		t.Errorf("every account after the migration: %d rows, %d on the page, %v", p.TotalRows, len(p.Rows), err)
	}
}

// TestDurationGroups checks the groups of durations that a duration
// range's chart reads against SQLite's own durationGroup of each duration.
func TestDurationGroups(t *testing.T) {
	db, err := sql.Open("sqlite3", ":memory:")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	group := func(d int64) (g int64) {
		if err := db.QueryRow("SELECT "+durationGroup+" FROM (SELECT ? AS duration)", d).Scan(&g); err != nil {
			t.Fatal(err)
		}
		return g
	}
	var ds []int64
	for p := int64(1); p > 0 && p <= math.MaxInt64/10; p *= 10 {
		for f := int64(1); f <= 10; f++ {
			ds = append(ds, f*p-1, f*p, f*p+1)
		}
	}
	ds = append(ds, 0, math.MaxInt64-1, math.MaxInt64, 9e18, 1e18*9-1)
	for _, d := range ds {
		if got, want := durationGroups(d, d), []int64{group(d)}; !slices.Equal(got, want) {
			t.Errorf("durationGroups(%d, %d) = %v, want %v", d, d, got, want)
		}
	}
	// A span's groups are those of its durations, in order, each once.
	for _, s := range [][2]int64{{0, math.MaxInt64}, {1e9 + 1, math.MaxInt64}, {0, 99_999_999}, {15, 2000}, {1e8, 1e8}} {
		var want []int64
		for _, d := range ds {
			if d >= s[0] && d <= s[1] && !slices.Contains(want, group(d)) {
				want = append(want, group(d))
			}
		}
		slices.Sort(want)
		got := durationGroups(s[0], s[1])
		for _, g := range want {
			if !slices.Contains(got, g) {
				t.Errorf("durationGroups(%d, %d) = %v, lacks %d", s[0], s[1], got, g)
			}
		}
		if !slices.IsSorted(got) || len(slices.Compact(slices.Clone(got))) != len(got) {
			t.Errorf("durationGroups(%d, %d) = %v, not ascending once each", s[0], s[1], got)
		}
	}
}
