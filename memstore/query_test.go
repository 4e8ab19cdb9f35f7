package memstore

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/apilog/apilog"
	"github.com/apilog/apilog/apilogtest"
	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

// TestQueryPaths checks the paths the conformance suite's small fixtures do
// not reach: several chunks, times out of insertion order, pages deep
// enough for quickselect, and the early stop of time-ordered walks.
func TestQueryPaths(t *testing.T) {
	ctx := context.Background()
	start := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	gen := apilogtest.NewSynthetic(7, "acct_a", 50, start)
	other := apilogtest.NewSynthetic(8, "acct_b", 5, start)
	s := New(nil)
	for _, k := range append(gen.Keys, other.Keys...) {
		if err := s.UpsertKey(ctx, k); err != nil {
			t.Fatal(err)
		}
	}
	rng := rand.New(rand.NewPCG(3, 4))
	var all []apilog.Entry
	const rows = 3*chunkSize + 1234
	for len(all) < rows {
		batch := append(gen.Entries(900), other.Entries(100)...)
		for i := range batch {
			// Requests finish out of order: jitter start times by up to a minute,
			// and a few by a day, backwards and forwards.
			batch[i].Time = batch[i].Time.Add(time.Duration(rng.IntN(120)-60) * time.Second)
			if rng.IntN(500) == 0 {
				batch[i].Time = batch[i].Time.Add(time.Duration(rng.IntN(2)*2-1) * 24 * time.Hour)
			}
			if rng.IntN(1000) == 0 && i > 0 {
				batch[i].Time = batch[i-1].Time // exact ties
			}
		}
		if err := s.Append(ctx, batch); err != nil {
			t.Fatal(err)
		}
		all = append(all, batch...)
	}
	now := start.Add(24 * time.Hour)
	joined := apilogtest.Join(all, append(gen.Keys, other.Keys...), now)
	post, err := apilog.ParseSearch("post", nil)
	if err != nil {
		t.Fatal(err)
	}
	var queries []apilog.Query
	for _, col := range apilog.Columns {
		for _, dir := range []apilog.Direction{apilog.Asc, apilog.Desc} {
			for _, page := range []int{1, 2, 17, 40, 41, 85, 86, 100} {
				queries = append(queries, apilog.Query{Account: "acct_a", Sort: apilog.Sort{Column: col, Dir: dir}, Page: page})
			}
			queries = append(queries,
				apilog.Query{Account: "acct_a", Sort: apilog.Sort{Column: col, Dir: dir}, Page: 3, PageSize: 10000},
				apilog.Query{AllAccounts: true, Sort: apilog.Sort{Column: col, Dir: dir}, Page: 5, PageSize: 7000},
				apilog.Query{Account: "acct_b", Sort: apilog.Sort{Column: col, Dir: dir}, Page: 2, PageSize: 3000},
				apilog.Query{Account: "acct_a", Search: post, Sort: apilog.Sort{Column: col, Dir: dir}, Page: 4, PageSize: 2500},
				apilog.Query{Account: "acct_a", From: start.Add(10 * time.Minute), To: start.Add(20 * time.Minute), Sort: apilog.Sort{Column: col, Dir: dir}},
			)
		}
	}
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

func TestNth(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	for _, n := range []int{0, 1, 2, 33, 100, 5000} {
		for range 20 {
			xs := make([]uint32, n)
			for i := range xs {
				xs[i] = uint32(i)
			}
			switch rng.IntN(3) {
			case 0:
				rng.Shuffle(n, func(i, j int) { xs[i], xs[j] = xs[j], xs[i] })
			case 1:
				slices.Reverse(xs)
			}
			off := rng.IntN(n + 1)
			end := off + rng.IntN(n-off+1)
			cmp := func(a, b uint32) int { return int(a) - int(b) }
			selectWindow(xs, off, end, cmp)
			for i := off; i < end; i++ {
				if xs[i] != uint32(i) {
					t.Fatalf("n=%d window [%d,%d): xs[%d] = %d", n, off, end, i, xs[i])
				}
			}
		}
	}
}
