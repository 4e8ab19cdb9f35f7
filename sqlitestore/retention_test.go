package sqlitestore_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/apilog/apilog"
	"github.com/apilog/apilog/apilogtest"
	"github.com/apilog/apilog/sqlitestore"
	"github.com/google/go-cmp/cmp"
)

// waitTotal polls until the store holds want rows of account, or fails.
func waitTotal(t *testing.T, s *sqlitestore.Store, account string, want int) apilog.Page {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		p, err := s.Query(context.Background(), apilog.Query{Account: account, PageSize: apilog.MaxPageSize})
		if err != nil {
			t.Fatal(err)
		}
		if p.TotalRows == want {
			return p
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d rows after 10s, want %d", p.TotalRows, want)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestRetention(t *testing.T) {
	ctx := context.Background()
	start := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	tests := []struct {
		name string
		opts sqlitestore.Options
		want func(all []apilog.Entry) []apilog.Entry
	}{{
		name: "MaxRows",
		opts: sqlitestore.Options{MaxRows: 2500},
		want: func(all []apilog.Entry) []apilog.Entry { return all[len(all)-2500:] }, // the newest by ID
	}, {
		name: "MaxAge",
		// The entries are about 20 ms apart, 5,000 of them about 100 s: the
		// clock stands at 100 s, so a maximum age of 50 s keeps about half.
		opts: sqlitestore.Options{MaxAge: 50 * time.Second, Clock: func() time.Time { return start.Add(100 * time.Second) }},
		want: func(all []apilog.Entry) []apilog.Entry {
			var kept []apilog.Entry
			for _, e := range all {
				if !e.Time.Before(start.Add(50 * time.Second)) {
					kept = append(kept, e)
				}
			}
			return kept
		},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.opts.PruneInterval = 10 * time.Millisecond
			s, err := sqlitestore.Open(filepath.Join(t.TempDir(), "r.db"), &tt.opts)
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			g := apilogtest.NewSynthetic(1, "acct", 10, start)
			var all []apilog.Entry
			for range 5 {
				batch := g.Entries(1000)
				if err := s.Append(ctx, batch); err != nil {
					t.Fatal(err)
				}
				all = append(all, batch...)
			}
			want := tt.want(all)
			if len(want) == 0 || len(want) == len(all) {
				t.Fatalf("bad fixture: %d of %d rows to keep", len(want), len(all))
			}
			p := waitTotal(t, s, "acct", len(want))
			// The page is newest first; want is in insertion order.
			for i, r := range p.Rows {
				if w := want[len(want)-1-i]; r.ID != w.ID {
					t.Fatalf("row %d: ID %d, want %d", i, r.ID, w.ID)
				}
			}
			// The chart's counts lose the pruned rows too, in the account's
			// and in every account's, at every level of the volume table.
			rows := apilogtest.Join(want, g.Keys, start)
			for _, q := range []apilog.Query{{Account: "acct"}, {AllAccounts: true}} {
				for _, step := range []time.Duration{10 * time.Second, time.Minute, time.Hour, 24 * time.Hour} {
					b := apilog.Buckets{Start: start, Step: step, N: 20}
					got, err := s.CountVolume(ctx, q, b)
					if err != nil {
						t.Fatal(err)
					}
					if w, _ := q.ApplyVolume(rows, b); !cmp.Equal(w, got) {
						t.Errorf("CountVolume(all=%v, %v) after pruning: %v, want %v", q.AllAccounts, b, got, w)
					}
				}
			}
		})
	}
}

// TestPruneReusesSpace checks that a store pruned as fast as it grows does
// not grow: freed pages take the next rows.
func TestPruneReusesSpace(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "space.db")
	start := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	g := apilogtest.NewSynthetic(1, "acct", 10, start)
	size := func() int64 {
		st, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		return st.Size()
	}
	var sizes []int64
	for round := range 4 {
		s, err := sqlitestore.Open(path, nil)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.Prune(ctx, start.Add(time.Duration(round)*24*time.Hour)); err != nil {
			t.Fatal(err)
		}
		for range 20 {
			batch := g.Entries(1000)
			for i := range batch {
				batch[i].Time = batch[i].Time.Add(time.Duration(round) * 24 * time.Hour)
			}
			if err := s.Append(ctx, batch); err != nil {
				t.Fatal(err)
			}
		}
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
		sizes = append(sizes, size())
	}
	// Round 0 fills the file; each later round deletes the previous round's
	// rows and writes as many again.
	for _, sz := range sizes[2:] {
		if float64(sz) > 1.15*float64(sizes[1]) {
			t.Errorf("file sizes by round %v: grew by more than 15%% after round 1", sizes)
		}
	}
}
