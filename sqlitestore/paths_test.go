package sqlitestore_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/apilog/apilog"
	"github.com/apilog/apilog/apilogtest"
	"github.com/apilog/apilog/sqlitestore"
	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

// TestQueryPaths checks the fast paths against the reference on data the
// conformance suite's small fixtures do not have: times over several weeks
// (every level of the time-bucket counts), requests that finish out of
// order, thousands of rows in one second (a skip inside a second), keys
// that tie on name and prefix, a deleted key, and the same checks again
// after a prune took rows off the counts. Some IP hashes are not hex
// SHA-256, so they are stored as text beside the others' bytes.
func TestQueryPaths(t *testing.T) {
	ctx := context.Background()
	start := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	gen := apilogtest.NewSynthetic(7, "acct_a", 50, start)
	other := apilogtest.NewSynthetic(8, "acct_b", 5, start)
	// Two keys with the same name and prefix: the API column ties them.
	gen.Keys[1].Name, gen.Keys[1].Prefix = gen.Keys[0].Name, gen.Keys[0].Prefix
	s, err := sqlitestore.Open(filepath.Join(t.TempDir(), "paths.db"), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	keys := append(slices.Clone(gen.Keys), other.Keys...)
	for _, k := range keys {
		if err := s.UpsertKey(ctx, k); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.DeleteKey(ctx, gen.Keys[2].Account, gen.Keys[2].ID); err != nil {
		t.Fatal(err)
	}
	keys = slices.Delete(keys, 2, 3)

	rng := rand.New(rand.NewPCG(3, 4))
	var all []apilog.Entry
	for b := 0; len(all) < 30_000; b++ {
		batch := append(gen.Entries(900), other.Entries(100)...)
		for i := range batch {
			e := &batch[i]
			// Every tenth batch jumps days ahead, so the data spans weeks.
			e.Time = e.Time.Add(time.Duration(b/10) * 3 * 24 * time.Hour)
			e.Time = e.Time.Add(time.Duration(rng.IntN(120)-60) * time.Second)
			if rng.IntN(500) == 0 {
				e.Time = e.Time.Add(time.Duration(rng.IntN(2)*2-1) * 24 * time.Hour)
			}
			if b == 7 {
				// A burst: a whole batch in one second.
				e.Time = start.Add(time.Hour + time.Duration(rng.IntN(1e9)))
			}
			if rng.IntN(1000) == 0 && i > 0 {
				e.Time = batch[i-1].Time // exact ties
			}
			if rng.IntN(50) == 0 {
				// Hashes that are not 64 hex digits are kept as text, and
				// must sort among the others by their text.
				e.IPHash = fmt.Sprintf("%x", rng.IntN(1<<16))
			}
		}
		if err := s.Append(ctx, batch); err != nil {
			t.Fatal(err)
		}
		all = append(all, batch...)
	}
	now := start.Add(24 * time.Hour)
	post, err := apilog.ParseSearch("post", nil)
	if err != nil {
		t.Fatal(err)
	}
	var queries []apilog.Query
	for _, col := range apilog.Columns {
		for _, dir := range []apilog.Direction{apilog.Asc, apilog.Desc} {
			sort := apilog.Sort{Column: col, Dir: dir}
			for _, page := range []int{1, 2, 17, 40, 54, 55} {
				queries = append(queries, apilog.Query{Account: "acct_a", Sort: sort, Page: page})
			}
			queries = append(queries,
				apilog.Query{Account: "acct_a", Sort: sort, Page: 2, PageSize: 10000},
				apilog.Query{Account: "acct_a", Sort: sort, Page: 1234, PageSize: 7},
				apilog.Query{AllAccounts: true, Sort: sort, Page: 3, PageSize: 7000},
				apilog.Query{Account: "acct_b", Sort: sort, Page: 2, PageSize: 1000},
				apilog.Query{Account: "acct_a", Search: post, Sort: sort, Page: 4, PageSize: 2500},
				apilog.Query{Account: "acct_a", From: start.Add(time.Hour), To: start.Add(time.Hour + time.Second), Sort: sort, Page: 2, PageSize: 300},
				apilog.Query{Account: "acct_a", From: start.Add(10 * time.Minute), To: start.Add(10 * 24 * time.Hour), Sort: sort, Page: 3},
				apilog.Query{AllAccounts: true, From: start.Add(2 * 24 * time.Hour), Sort: sort, Page: 2},
			)
		}
	}
	check := func(t *testing.T, all []apilog.Entry) {
		joined := apilogtest.Join(all, keys, now)
		for _, q := range queries {
			q.Now = now
			name := fmt.Sprintf("%s/%s/account=%s/page=%d/size=%d/search=%s/from=%v", q.Sort.Column, q.Sort.Dir, q.Account, q.Page, q.PageSize, q.Search, !q.From.IsZero())
			got, err := s.Query(ctx, q)
			if err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			want, err := q.Apply(joined)
			if err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			if got.TotalRows != want.TotalRows || !slices.EqualFunc(got.Rows, want.Rows, func(a, b apilog.Row) bool { return a.ID == b.ID }) {
				t.Errorf("%s: %d rows of %d, want %d of %d; diff of first rows:\n%s", name, len(got.Rows), got.TotalRows, len(want.Rows), want.TotalRows,
					cmp.Diff(want.Rows[:min(3, len(want.Rows))], got.Rows[:min(3, len(got.Rows))], cmpopts.EquateEmpty()))
			}
		}
	}
	t.Run("full", func(t *testing.T) { check(t, all) })

	cutoff := start.Add(5 * 24 * time.Hour)
	n, err := s.Prune(ctx, cutoff)
	if err != nil {
		t.Fatal(err)
	}
	kept := slices.DeleteFunc(slices.Clone(all), func(e apilog.Entry) bool { return e.Time.Before(cutoff) })
	if n != len(all)-len(kept) || n == 0 {
		t.Fatalf("Prune deleted %d rows, want %d", n, len(all)-len(kept))
	}
	t.Run("pruned", func(t *testing.T) { check(t, kept) })
}
