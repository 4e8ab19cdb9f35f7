package pgstore_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/apilog/apilog"
	"github.com/apilog/apilog/apilogtest"
	"github.com/apilog/apilog/pgstore"
	"github.com/apilog/apilog/pgstore/pgstoretest"
)

// TestInternAcrossStores has a second Store, as another process would,
// append values the first one interned: its inserts skip them and it must
// read their IDs back, alongside values new to both.
func TestInternAcrossStores(t *testing.T) {
	ctx := context.Background()
	url, schema := pgstoretest.Schema(t)
	open := func() *pgstore.Store {
		s, err := pgstore.Open(ctx, url, &pgstore.Options{Schema: schema})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		return s
	}
	a, b := open(), open()
	g := apilogtest.NewSynthetic(1, "acct_a", 20, time.Date(2026, 11, 1, 12, 0, 0, 0, time.UTC))
	first := g.Entries(300)
	if err := a.Append(ctx, slices.Clone(first)); err != nil {
		t.Fatal(err)
	}
	// The same values again, with values of a new account and new IP
	// hashes among them.
	again := slices.Clone(first)
	for i := range again {
		again[i].Time = again[i].Time.Add(time.Hour)
	}
	again = append(again, g.Entries(100)...)
	other := apilogtest.NewSynthetic(2, "acct_b", 5, time.Date(2026, 11, 1, 14, 0, 0, 0, time.UTC))
	again = append(again, other.Entries(100)...)
	if err := b.Append(ctx, again); err != nil {
		t.Fatal(err)
	}
	want := append(slices.Clone(first), again...)

	for name, s := range map[string]*pgstore.Store{"first store": a, "second store": b} {
		p, err := s.Query(ctx, apilog.Query{AllAccounts: true, PageSize: apilog.MaxPageSize, Now: time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)})
		if err != nil {
			t.Fatal(err)
		}
		if len(p.Rows) != len(want) {
			t.Fatalf("%s: %d rows, want %d", name, len(p.Rows), len(want))
		}
		got := map[string]apilog.Entry{}
		for _, r := range p.Rows {
			got[r.RequestID+r.Time.String()] = r.Entry
		}
		for _, w := range want {
			e, ok := got[w.RequestID+w.Time.UTC().String()]
			if !ok {
				t.Fatalf("%s: row %s at %s is missing", name, w.RequestID, w.Time)
			}
			e.ID, w.ID = 0, 0
			e.Time, w.Time = time.Time{}, time.Time{}
			if e != w {
				t.Errorf("%s: row %s reads back as\n%+v, want\n%+v", name, w.RequestID, e, w)
			}
		}
	}
}
