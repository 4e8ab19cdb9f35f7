package memstore_test

import (
	"context"
	"fmt"
	"math"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/apilog/apilog"
	"github.com/apilog/apilog/apilogtest"
	"github.com/apilog/apilog/memstore"
)

// The benchmarks share one store of benchRows entries of one account, made
// by apilogtest.Synthetic (200 keys, ~40 endpoints, ~50,000 IP hashes).
const benchRows = 1_000_000

var (
	benchOnce  sync.Once
	benchStore *memstore.Store
	benchAll   []apilog.Row // the same rows joined, for the reference baseline
	benchStart = time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	benchNow   = benchStart.Add(30 * 24 * time.Hour)
)

func loadBench(b *testing.B) (*memstore.Store, []apilog.Row) {
	b.Helper()
	benchOnce.Do(func() {
		gen := apilogtest.NewSynthetic(1, "acct_bench", 200, benchStart)
		benchStore = memstore.New(nil)
		for _, k := range gen.Keys {
			if err := benchStore.UpsertKey(context.Background(), k); err != nil {
				b.Fatal(err)
			}
		}
		for range benchRows / 10000 {
			if err := benchStore.Append(context.Background(), gen.Entries(10000)); err != nil {
				b.Fatal(err)
			}
		}
		for page := 1; ; page++ {
			p, err := benchStore.Query(context.Background(), apilog.Query{AllAccounts: true, Page: page, PageSize: apilog.MaxPageSize, Now: benchNow})
			if err != nil {
				b.Fatal(err)
			}
			benchAll = append(benchAll, p.Rows...)
			if page >= p.TotalPages {
				break
			}
		}
		if len(benchAll) != benchRows {
			b.Fatalf("loaded %d rows, want %d", len(benchAll), benchRows)
		}
	})
	return benchStore, benchAll
}

func mustSearch(b *testing.B, text string) apilog.Search {
	s, err := apilog.ParseSearch(text, nil)
	if err != nil {
		b.Fatal(err)
	}
	return s
}

// BenchmarkQuery measures the page queries of the Logs page on 1,000,000
// rows. Each reports the rows it matched, so a fast wrong answer shows.
func BenchmarkQuery(b *testing.B) {
	s, rows := loadBench(b)
	reqID := rows[len(rows)/2].RequestID // as pasted from an error body
	cases := []struct {
		name string
		q    apilog.Query
	}{
		{"FirstPage", apilog.Query{}},
		{"Page1000", apilog.Query{Page: 1000, PageSize: 500}},
		{"LastPage", apilog.Query{Page: 2000}},
		{"Search/flux", apilog.Query{Search: mustSearch(b, "flux")}},
		{"Search/miss", apilog.Query{Search: mustSearch(b, "zzzz")}},
		{"Search/status401", apilog.Query{Search: mustSearch(b, "401")}},
		{"Search/3terms", apilog.Query{Search: mustSearch(b, "post -status:2xx bse")}},
		{"Search/req", apilog.Query{Search: mustSearch(b, "req:"+reqID)}},
		{"Search/plainID", apilog.Query{Search: mustSearch(b, reqID)}},
		{"Filter/5xx", apilog.Query{StatusClasses: []apilog.StatusClass{apilog.StatusServerError}}},
		{"Sort/api", apilog.Query{Sort: apilog.Sort{Column: apilog.ColumnAPI}}},
		{"Sort/endpoint", apilog.Query{Sort: apilog.Sort{Column: apilog.ColumnEndpoint}}},
		{"Sort/ip", apilog.Query{Sort: apilog.Sort{Column: apilog.ColumnIP}}},
		{"Sort/status", apilog.Query{Sort: apilog.Sort{Column: apilog.ColumnStatus, Dir: apilog.Desc}}},
		{"Sort/error", apilog.Query{Sort: apilog.Sort{Column: apilog.ColumnError}}},
		{"Sort/duration", apilog.Query{Sort: apilog.Sort{Column: apilog.ColumnDuration, Dir: apilog.Desc}}},
		{"Sort/duration-asc", apilog.Query{Sort: apilog.Sort{Column: apilog.ColumnDuration, Dir: apilog.Asc}}},
		// Page 2 pinned to the rows before the last hundred arrived.
		{"Page2/pinned", apilog.Query{Page: 2, MaxID: benchRows - 100}},
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			q := c.q
			q.Account, q.Now = "acct_bench", benchNow
			var total int
			for b.Loop() {
				p, err := s.Query(context.Background(), q)
				if err != nil {
					b.Fatal(err)
				}
				total = p.TotalRows
			}
			b.ReportMetric(float64(total), "matches")
		})
	}
}

// BenchmarkReference is the baseline for BenchmarkQuery: apilog's reference
// semantics, Query.Apply, over the same rows already joined in memory. It
// folds text per row and sorts every match, as a naive store would.
func BenchmarkReference(b *testing.B) {
	_, rows := loadBench(b)
	for _, c := range []struct {
		name string
		q    apilog.Query
	}{
		{"FirstPage", apilog.Query{}},
		{"Search/flux", apilog.Query{Search: mustSearch(b, "flux")}},
	} {
		b.Run(c.name, func(b *testing.B) {
			q := c.q
			q.Account, q.Now = "acct_bench", benchNow
			for b.Loop() {
				if _, err := q.Apply(rows); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkAppend measures batches of 1,000 entries into an empty store.
func BenchmarkAppend(b *testing.B) {
	gen := apilogtest.NewSynthetic(2, "acct_bench", 200, benchStart)
	batch := gen.Entries(1000)
	s := memstore.New(nil)
	for b.Loop() {
		if err := s.Append(context.Background(), batch); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(batch)), "ns/entry")
}

// BenchmarkAppendRequestIDs measures Append by how its rows' request IDs
// repeat: each unique, one shared by every row (a client that sends the
// same X-Request-Id each time), or none. Each chunk indexes its rows by
// request ID; a shared ID must cost about what unique ones do (it took
// 7.5 times as long when every duplicate probed the same run of an
// open-addressing table), and no ID less. Compare their ns/entry.
func BenchmarkAppendRequestIDs(b *testing.B) {
	gen := apilogtest.NewSynthetic(2, "acct_bench", 200, benchStart)
	batch := gen.Entries(1000)
	unique := make([]string, 1<<20) // unique within any chunk, and long enough a cycle
	for i := range unique {
		unique[i] = fmt.Sprintf("%032x", i*2654435761)
	}
	for _, c := range []struct {
		name string
		id   func(i int) string
	}{
		{"unique", func(i int) string { return unique[i%len(unique)] }},
		{"shared", func(int) string { return "4f1c0a9e2b7d4c6f8e1a3b5c7d9e0f12" }},
		{"empty", func(int) string { return "" }},
	} {
		b.Run(c.name, func(b *testing.B) {
			s := memstore.New(nil)
			n := 0
			for b.Loop() {
				for i := range batch {
					batch[i].ID, batch[i].RequestID = 0, c.id(n)
					n++
				}
				if err := s.Append(context.Background(), batch); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(n), "ns/entry")
		})
	}
}

// BenchmarkMemory reports the heap a store of 1,000,000 entries holds.
func BenchmarkMemory(b *testing.B) {
	for b.Loop() {
		gen := apilogtest.NewSynthetic(3, "acct_mem", 200, benchStart)
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		s := memstore.New(nil)
		for range benchRows / 10000 {
			if err := s.Append(context.Background(), gen.Entries(10000)); err != nil {
				b.Fatal(err)
			}
		}
		runtime.GC()
		runtime.ReadMemStats(&after)
		b.ReportMetric(float64(after.HeapAlloc-before.HeapAlloc)/benchRows, "B/entry")
		runtime.KeepAlive(s)
		runtime.KeepAlive(gen)
	}
}

// BenchmarkExport measures the export of whole results of a million rows
// of apilogtest.FillBench's data, as the other stores' benchmarks do; run
// with -benchtime 3x.
func BenchmarkExport(b *testing.B) {
	s := memstore.New(nil)
	defer s.Close()
	if err := apilogtest.FillBench(context.Background(), s, benchRows); err != nil {
		b.Fatal(err)
	}
	apilogtest.BenchExport(b, s, benchRows)
}

// BenchmarkVolume measures the chart's counts on FillBench's 1,000,000
// rows; "reference" is Query.ApplyVolume over the same rows joined, the
// baseline of the same run.
func BenchmarkVolume(b *testing.B) {
	ctx := context.Background()
	s := memstore.New(nil)
	defer s.Close()
	if err := apilogtest.FillBench(ctx, s, benchRows); err != nil {
		b.Fatal(err)
	}
	apilogtest.BenchVolume(b, s, benchRows)
	b.Run("reference-all-time", func(b *testing.B) {
		q := apilog.Query{Account: apilogtest.BenchAccount, Now: benchNow}
		var rows []apilog.Row
		err := apilog.Stream(ctx, s, apilog.Query{AllAccounts: true, Now: benchNow}, math.MaxInt, func(batch []apilog.Row) error {
			rows = append(rows, batch...)
			return nil
		})
		if err != nil {
			b.Fatal(err)
		}
		v, err := apilog.CountVolume(ctx, s, q)
		if err != nil {
			b.Fatal(err)
		}
		for b.Loop() {
			if _, err := q.ApplyVolume(rows, v.Buckets); err != nil {
				b.Fatal(err)
			}
		}
	})
}
