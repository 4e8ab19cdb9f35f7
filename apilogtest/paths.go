package apilogtest

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/apilog/apilog"
	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

// Paths is a larger data set than the conformance suite's fixtures, for a
// store's own test of the query paths those fixtures do not reach: chunks,
// indexes, counts and page plans that only show with many rows. Fill it
// with FillPaths and compare with Check.
type Paths struct {
	Keys    []apilog.Key   // the keys in the store, one of the fill's deleted
	Entries []apilog.Entry // what the store holds, with the IDs it gave
	Start   time.Time      // the first entry's time, before jitter
	Now     time.Time      // the instant key statuses are read at
}

// FillPaths writes about rows entries to s, in batches of 1,000 across two
// accounts, and returns what it wrote. The data has what real logs have
// and small fixtures lack:
//
//   - times over several weeks, jittered by a minute as requests finish
//     out of order, a few by a day, some exact ties;
//   - one batch whose 1,000 rows all fall in one second;
//   - two keys with the same name and prefix, and a deleted key;
//   - some IP hashes that are not 64 hex digits.
func FillPaths(t *testing.T, s apilog.Store, rows int) *Paths {
	t.Helper()
	ctx := context.Background()
	p := &Paths{Start: time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)}
	p.Now = p.Start.Add(24 * time.Hour)
	gen := NewSynthetic(7, "acct_a", 50, p.Start)
	other := NewSynthetic(8, "acct_b", 5, p.Start)
	gen.Keys[1].Name, gen.Keys[1].Prefix = gen.Keys[0].Name, gen.Keys[0].Prefix
	p.Keys = append(slices.Clone(gen.Keys), other.Keys...)
	for _, k := range p.Keys {
		if err := s.UpsertKey(ctx, k); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.DeleteKey(ctx, gen.Keys[2].Account, gen.Keys[2].ID); err != nil {
		t.Fatal(err)
	}
	p.Keys = slices.Delete(p.Keys, 2, 3)

	rng := rand.New(rand.NewPCG(3, 4))
	for b := 0; len(p.Entries) < rows; b++ {
		batch := append(gen.Entries(900), other.Entries(100)...)
		for i := range batch {
			e := &batch[i]
			e.Time = e.Time.Add(time.Duration(b/10) * 3 * 24 * time.Hour)
			e.Time = e.Time.Add(time.Duration(rng.IntN(120)-60) * time.Second)
			if rng.IntN(500) == 0 {
				e.Time = e.Time.Add(time.Duration(rng.IntN(2)*2-1) * 24 * time.Hour)
			}
			if b == 7 {
				e.Time = p.Start.Add(time.Hour + time.Duration(rng.IntN(1e9)))
			}
			if rng.IntN(1000) == 0 && i > 0 {
				e.Time = batch[i-1].Time
			}
			if rng.IntN(50) == 0 {
				e.IPHash = fmt.Sprintf("%x", rng.IntN(1<<16))
			}
		}
		if err := s.Append(ctx, batch); err != nil {
			t.Fatal(err)
		}
		p.Entries = append(p.Entries, batch...)
	}
	return p
}

// Check compares s's answer to about 200 queries with the reference over
// p's keys and entries: every column both ways, the first, deep, last and
// past-the-end pages, odd page sizes, each account and all of them, a
// search, and time ranges down to one second.
func (p *Paths) Check(t *testing.T, s apilog.Store) {
	t.Helper()
	ctx := context.Background()
	joined := Join(p.Entries, p.Keys, p.Now)
	post := search(t, "post")
	last := apilog.PageCount(len(p.Entries)*9/10, apilog.DefaultPageSize)
	for _, col := range apilog.Columns {
		for _, dir := range []apilog.Direction{apilog.Asc, apilog.Desc} {
			sort := apilog.Sort{Column: col, Dir: dir}
			queries := []apilog.Query{
				{Account: "acct_a", Sort: sort, Page: 2, PageSize: apilog.MaxPageSize},
				{Account: "acct_a", Sort: sort, Page: 1234, PageSize: 7},
				{AllAccounts: true, Sort: sort, Page: 3, PageSize: 7000},
				{Account: "acct_b", Sort: sort, Page: 2, PageSize: 1000},
				{Account: "acct_a", Search: post, Sort: sort, Page: 4, PageSize: 2500},
				{Account: "acct_a", From: p.Start.Add(time.Hour), To: p.Start.Add(time.Hour + time.Second), Sort: sort, Page: 2, PageSize: 300},
				{Account: "acct_a", From: p.Start.Add(10 * time.Minute), To: p.Start.Add(10 * 24 * time.Hour), Sort: sort, Page: 3},
				{AllAccounts: true, From: p.Start.Add(2 * 24 * time.Hour), Sort: sort, Page: 2},
			}
			for _, page := range []int{1, 2, 17, last - 1, last, last + 1} {
				queries = append(queries, apilog.Query{Account: "acct_a", Sort: sort, Page: page})
			}
			for _, q := range queries {
				q.Now = p.Now
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
	}
}
