package sqlitestore

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/apilog/apilog"
	"github.com/apilog/apilog/apilogtest"
)

// TestMaskUnpacked checks the masked scan with IDs one to a column, the
// way it reads a store past two billion distinct values, against the
// reference.
func TestMaskUnpacked(t *testing.T) {
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
	defer func(old int64) { packBelow = old }(packBelow)
	packBelow = 0
	search, err := apilog.ParseSearch(apilogtest.WorstSearch, apilogtest.Hasher{})
	if err != nil {
		t.Fatal(err)
	}
	for _, col := range []apilog.Column{apilog.ColumnTime, apilog.ColumnIP, apilog.ColumnAPI} {
		got = nil
		q := apilog.Query{AllAccounts: true, Search: search, Sort: apilog.Sort{Column: col}, Now: p.Now}
		page, err := s.Query(context.Background(), q)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != 1 || got[0] != StrategyMask {
			t.Fatalf("by %s: strategies %q, want mask", col, got)
		}
		want, err := q.Apply(joined)
		if err != nil {
			t.Fatal(err)
		}
		if len(want.Rows) == 0 {
			t.Fatalf("by %s: the reference has no rows", col)
		}
		if diff := apilogtest.DiffPage(page, want); diff != "" {
			t.Errorf("by %s: %s", col, diff)
		}
	}
}
