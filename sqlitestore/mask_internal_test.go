package sqlitestore

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/apilog/apilog"
	"github.com/apilog/apilog/apilogtest"
)

// TestMaskScan checks the masked scan against the reference: in chunks of
// a few hundred rows, each in a snapshot of its own, with the IDs two to a
// column and one to a column (the way it reads a store past two billion
// distinct values).
func TestMaskScan(t *testing.T) {
	var got []Strategy
	s, err := Open(filepath.Join(t.TempDir(), "s.db"), &Options{
		Explain: func(_ apilog.Query, st Strategy) { got = append(got, st) },
	})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	p := apilogtest.FillPaths(t, s, 5_000)
	joined := apilogtest.Join(p.Entries, p.Keys, p.Now)
	defer func(pack int64, rows int) { packBelow, maskRows = pack, rows }(packBelow, maskRows)
	search, err := apilog.ParseSearch(apilogtest.WorstSearch, apilogtest.Hasher{})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		col       apilog.Column
		rows      int
		packBelow int64
	}{
		{apilog.ColumnTime, 40_000, 0},
		{apilog.ColumnIP, 40_000, 0},
		{apilog.ColumnAPI, 40_000, 0},
		{apilog.ColumnTime, 333, 1 << 31},
		{apilog.ColumnDuration, 1000, 1 << 31},
		{apilog.ColumnEndpoint, 1, 0},
	} {
		col := c.col
		maskRows, packBelow = c.rows, c.packBelow
		got = nil
		q := apilog.Query{AllAccounts: true, Search: search, Sort: apilog.Sort{Column: col}, Now: p.Now}
		page, err := s.Query(context.Background(), q)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != 1 || got[0] != StrategyMask {
			t.Fatalf("by %s, %d rows a chunk: strategies %q, want mask", col, c.rows, got)
		}
		want, err := q.Apply(joined)
		if err != nil {
			t.Fatal(err)
		}
		if len(want.Rows) == 0 {
			t.Fatalf("by %s, %d rows a chunk: the reference has no rows", col, c.rows)
		}
		if diff := apilogtest.DiffPage(page, want); diff != "" {
			t.Errorf("by %s, %d rows a chunk: %s", col, c.rows, diff)
		}
	}
}
