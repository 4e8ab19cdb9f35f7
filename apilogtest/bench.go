package apilogtest

import (
	"context"
	"errors"
	"fmt"
	"os"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/apilog/apilog"
)

// BenchQuery measures the Logs page's queries on s, which holds
// FillBench's data of rows rows: pages, totals, searches, filters, a time
// range, pinned pages, every column's sort both ways, and the operator's
// view of every account. Each reports the rows that matched.
func BenchQuery(b *testing.B, s apilog.Store, rows int) {
	ctx := context.Background()
	// A request ID from the middle of the account's rows, as pasted from
	// an error body: found by req: and as a plain term.
	mid, err := s.Query(ctx, apilog.Query{Account: BenchAccount, Page: max(1, rows/2/500), PageSize: 500})
	if err != nil || len(mid.Rows) == 0 {
		b.Fatalf("a row to take a request ID from: %d rows, %v", len(mid.Rows), err)
	}
	reqID := mid.Rows[0].RequestID
	cases := []struct {
		name string
		q    apilog.Query
	}{
		{"first-page", apilog.Query{}},
		{"page-1000", apilog.Query{Page: 1000}},
		{"total", apilog.Query{PageSize: 1}},
		{"all-accounts", apilog.Query{AllAccounts: true}},
		{"all-accounts-page-1000", apilog.Query{AllAccounts: true, Page: 1000}},
		{"search-flux", apilog.Query{Search: search(b, "flux")}},
		{"search-401", apilog.Query{Search: search(b, "401")}},
		{"search-production", apilog.Query{Search: search(b, "production")}},
		{"search-ab12", apilog.Query{Search: search(b, "ab12")}},
		{"search-flux-total", apilog.Query{Search: search(b, "flux"), PageSize: 1}},
		{"search-req", apilog.Query{Search: search(b, "req:"+reqID)}},
		{"search-plain-id", apilog.Query{Search: search(b, reqID)}},
		{"status-5xx", apilog.Query{StatusClasses: []apilog.StatusClass{apilog.StatusServerError}}},
		{"status-5xx-sort-endpoint", apilog.Query{StatusClasses: []apilog.StatusClass{apilog.StatusServerError}, Sort: apilog.Sort{Column: apilog.ColumnEndpoint}}},
		{"status-2xx-sort-endpoint", apilog.Query{StatusClasses: []apilog.StatusClass{apilog.StatusSuccess}, Sort: apilog.Sort{Column: apilog.ColumnEndpoint}}},
		{"search-flux-sort-ip", apilog.Query{Search: search(b, "flux"), Sort: apilog.Sort{Column: apilog.ColumnIP}}},
		{"last-hour", apilog.Query{From: BenchStart.Add(-time.Hour).Add(time.Duration(rows) * 20 * time.Millisecond)}},
		// Page 2 pinned to the rows before the last hundred arrived (MaxID
		// -100 is relative to the last row's ID, below).
		{"page-2-pinned", apilog.Query{Page: 2, MaxID: -100}},
		{"page-2-pinned-sort-endpoint", apilog.Query{Page: 2, MaxID: -100, Sort: apilog.Sort{Column: apilog.ColumnEndpoint}}},
	}
	first, err := s.Query(ctx, apilog.Query{AllAccounts: true, PageSize: 1})
	if err != nil {
		b.Fatal(err)
	}
	for _, col := range apilog.Columns {
		if col == apilog.ColumnTime {
			continue
		}
		for _, dir := range []apilog.Direction{apilog.Asc, apilog.Desc} {
			cases = append(cases, struct {
				name string
				q    apilog.Query
			}{fmt.Sprintf("sort-%s-%s", col, dir), apilog.Query{Sort: apilog.Sort{Column: col, Dir: dir}}})
		}
	}
	for _, c := range cases {
		if !c.q.AllAccounts {
			c.q.Account = BenchAccount
		}
		if c.q.MaxID < 0 {
			c.q.MaxID += first.MaxID
		}
		b.Run(c.name, func(b *testing.B) {
			var p apilog.Page
			for b.Loop() {
				var err error
				if p, err = s.Query(ctx, c.q); err != nil {
					b.Fatal(err)
				}
			}
			if p.TotalRows == 0 {
				b.Fatalf("no rows")
			}
			b.ReportMetric(float64(p.TotalRows), "rows")
		})
	}
}

// BenchWorstSearches measures the most expensive valid searches on s,
// which holds FillBench's data: WorstSearch and a one-letter search (which
// matches nearly every row), each on its first page, sorted by IP hash at
// page 400 (deep in the worst search's 470 pages at a million rows), and
// sorted by key at page 100. A store should answer each in
// about a second at a million rows, whatever the number of terms.
func BenchWorstSearches(b *testing.B, s apilog.Store) {
	ctx := context.Background()
	for _, text := range []string{WorstSearch, "e"} {
		search, err := apilog.ParseSearch(text, Hasher{})
		if err != nil {
			b.Fatal(err)
		}
		name := fmt.Sprintf("%d-terms", len(search.Terms))
		for _, c := range []struct {
			name string
			q    apilog.Query
		}{
			{name, apilog.Query{Search: search}},
			{name + "-sort-ip-page-400", apilog.Query{Search: search, Sort: apilog.Sort{Column: apilog.ColumnIP}, Page: 400}},
			{name + "-sort-key-page-100", apilog.Query{Search: search, Sort: apilog.Sort{Column: apilog.ColumnAPI}, Page: 100}},
		} {
			c.q.Account = BenchAccount
			b.Run(c.name, func(b *testing.B) {
				var p apilog.Page
				for b.Loop() {
					if p, err = s.Query(ctx, c.q); err != nil {
						b.Fatal(err)
					}
				}
				if len(p.Rows) == 0 {
					b.Fatalf("no rows")
				}
				b.ReportMetric(float64(p.TotalRows), "rows")
			})
		}
	}
}

// BenchFirstPageUnderSearches measures the first page of BenchAccount's
// default view on pages, alone ("quiet") and while 8 goroutines loop
// WorstSearch on searches ("8-searches"), which may be the same Store: a
// store's limits on searches (a turn each, a timeout) should keep the page
// from waiting for them. It reports how many searches the store cut with
// apilog.ErrTimeout. The data is FillBench's.
func BenchFirstPageUnderSearches(b *testing.B, pages, searches apilog.Store) {
	ctx := context.Background()
	worst, err := apilog.ParseSearch(WorstSearch, Hasher{})
	if err != nil {
		b.Fatal(err)
	}
	page := func(b *testing.B) {
		for b.Loop() {
			if _, err := pages.Query(ctx, apilog.Query{Account: BenchAccount}); err != nil {
				b.Fatal(err)
			}
		}
	}
	b.Run("quiet", page)
	b.Run("8-searches", func(b *testing.B) {
		stop := make(chan struct{})
		done := make(chan error, 8)
		var cut atomic.Int64
		for range 8 {
			go func() {
				for {
					select {
					case <-stop:
						done <- nil
						return
					default:
					}
					_, err := searches.Query(ctx, apilog.Query{Account: BenchAccount, Search: worst})
					if errors.Is(err, apilog.ErrTimeout) {
						cut.Add(1)
					} else if err != nil {
						done <- err
						return
					}
				}
			}()
		}
		time.Sleep(500 * time.Millisecond) // the searches under way
		page(b)
		close(stop)
		for range 8 {
			if err := <-done; err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(cut.Load()), "searches-cut")
	})
}

// BenchSearchSweep puts to s, once each, every combination of a set of
// searches (one-letter, one-column, status-code, key, duration, negated
// and broad ones), filters (none, 4xx and 5xx, GET and 2xx), sorts (time,
// IP, API, duration, endpoint) and pages (1, 50, 99, 1,500): 600 queries over
// FillBench's data, which should each answer within the store's bound on
// any query. It reports the slowest, the median and how many took over a
// second; a query the store cut (apilog.ErrTimeout) counts as over.
func BenchSearchSweep(b *testing.B, s apilog.Store) {
	ctx := context.Background()
	filters := []func(*apilog.Query){
		func(*apilog.Query) {},
		func(q *apilog.Query) {
			q.StatusClasses = []apilog.StatusClass{apilog.StatusClientError, apilog.StatusServerError}
		},
		func(q *apilog.Query) {
			q.Methods = []string{"GET"}
			q.StatusClasses = []apilog.StatusClass{apilog.StatusSuccess}
		},
	}
	cols := []apilog.Column{apilog.ColumnTime, apilog.ColumnIP, apilog.ColumnAPI, apilog.ColumnDuration, apilog.ColumnEndpoint}
	var took []time.Duration
	for b.Loop() {
		took = took[:0]
		for _, text := range []string{"", "e", "ip:e", "-ip:e", "ip:00", "200", "key:a", "endpoint:/", "duration:>1s", "e -duration:<100ms"} {
			search, err := apilog.ParseSearch(text, Hasher{})
			if err != nil {
				b.Fatal(err)
			}
			for _, f := range filters {
				for _, col := range cols {
					for _, page := range []int{1, 50, 99, 1500} {
						q := apilog.Query{Account: BenchAccount, Search: search, Sort: apilog.Sort{Column: col}, Page: page}
						f(&q)
						start := time.Now()
						_, err := s.Query(ctx, q)
						d := time.Since(start)
						if errors.Is(err, apilog.ErrTimeout) {
							d = max(d, time.Hour)
						} else if err != nil {
							b.Fatalf("%q by %s, page %d: %v", text, col, page, err)
						}
						took = append(took, d)
					}
				}
			}
		}
	}
	slices.Sort(took)
	over := len(took) - sort.Search(len(took), func(i int) bool { return took[i] > time.Second })
	b.ReportMetric(float64(took[len(took)-1].Milliseconds()), "max-ms")
	b.ReportMetric(float64(took[len(took)/2].Milliseconds()), "median-ms")
	b.ReportMetric(float64(over), "over-1s")
}

// BenchExport measures apilog.ExportQuery of whole results of s, which
// holds FillBench's data of rows rows, as CSV to a writer that discards
// it: the account's every row newest first, by endpoint and by key, a
// search and a filter. Each reports the rows written a second, the CSV's
// size and the most the process's resident memory grew over its size at
// the start of the export (sampled every millisecond; Linux only). The
// baseline, "csv-only", writes a page of rows again and again: the cost
// of the CSV alone, rows/s that no store can beat.
func BenchExport(b *testing.B, s apilog.Store, rows int) {
	ctx := context.Background()
	page, err := s.Query(ctx, apilog.Query{Account: BenchAccount})
	if err != nil {
		b.Fatal(err)
	}
	b.Run("csv-only", func(b *testing.B) {
		w := &discard{}
		e, err := apilog.NewExporter(w, apilog.CSV)
		if err != nil {
			b.Fatal(err)
		}
		n := 0
		for b.Loop() {
			for i := range page.Rows {
				if err := e.Write(&page.Rows[i]); err != nil {
					b.Fatal(err)
				}
			}
			n += len(page.Rows)
		}
		b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "rows/s")
	})
	for _, c := range []struct {
		name string
		q    apilog.Query
	}{
		{"all", apilog.Query{}},
		{"by-endpoint", apilog.Query{Sort: apilog.Sort{Column: apilog.ColumnEndpoint, Dir: apilog.Asc}}},
		{"by-key", apilog.Query{Sort: apilog.Sort{Column: apilog.ColumnAPI}}},
		{"search-flux", apilog.Query{Search: search(b, "flux")}},
		{"status-4xx", apilog.Query{StatusClasses: []apilog.StatusClass{apilog.StatusClientError}}},
	} {
		b.Run(c.name, func(b *testing.B) {
			q := c.q
			q.Account = BenchAccount
			var n, bytes, grew int
			for b.Loop() {
				w := &discard{}
				stop := watchRSS()
				k, err := apilog.ExportQuery(ctx, w, apilog.CSV, s, q, rows)
				grew = max(grew, stop())
				if err != nil {
					b.Fatal(err)
				}
				n, bytes = n+k, w.n
			}
			b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "rows/s")
			b.ReportMetric(float64(bytes)/1e6, "csv-MB")
			if grew >= 0 {
				b.ReportMetric(float64(grew)/(1<<20), "rss-growth-MB")
			}
		})
	}
}

type discard struct{ n int }

func (d *discard) Write(p []byte) (int, error) { d.n += len(p); return len(p), nil }

// watchRSS samples the process's resident memory every millisecond until
// the returned func is called, which returns the most it grew over its
// size at the start, or -1 where /proc/self/statm cannot tell.
func watchRSS() func() int {
	start := rss()
	if start < 0 {
		return func() int { return -1 }
	}
	done, peak := make(chan struct{}), make(chan int)
	go func() {
		most := start
		t := time.NewTicker(time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-t.C:
				most = max(most, rss())
			case <-done:
				peak <- max(most, rss())
				return
			}
		}
	}()
	return func() int {
		close(done)
		return <-peak - start
	}
}

// rss returns the process's resident memory in bytes, or -1.
func rss() int {
	b, err := os.ReadFile("/proc/self/statm")
	if err != nil {
		return -1
	}
	f := strings.Fields(string(b))
	if len(f) < 2 {
		return -1
	}
	pages, err := strconv.Atoi(f[1])
	if err != nil {
		return -1
	}
	return pages * os.Getpagesize()
}

// BenchVolume measures the chart's counts (apilog.CountVolume: the
// scope's first and last rows, then the buckets) on s, which holds
// FillBench's data of rows rows: all time, the last hour, and views
// filtered by class, key, method, a search and the worst search. Each
// reports the rows counted and the buckets; "page" is the same view's
// first page, the baseline of what a viewer waits for anyway.
func BenchVolume(b *testing.B, s apilog.Store, rows int) {
	ctx := context.Background()
	end := BenchStart.Add(time.Duration(rows) * 20 * time.Millisecond)
	cases := []struct {
		name string
		q    apilog.Query
	}{
		{"all-time", apilog.Query{}},
		{"all-accounts", apilog.Query{AllAccounts: true}},
		{"last-hour", apilog.Query{From: end.Add(-time.Hour), To: end}},
		{"status-5xx", apilog.Query{StatusClasses: []apilog.StatusClass{apilog.StatusServerError}}},
		{"status-2xx", apilog.Query{StatusClasses: []apilog.StatusClass{apilog.StatusSuccess}}},
		{"key", apilog.Query{KeyIDs: []string{fmt.Sprintf("key_%s_%04d", BenchAccount, 7)}}},
		{"method-delete", apilog.Query{Methods: []string{"DELETE"}}},
		{"search-flux", apilog.Query{Search: search(b, "flux")}},
		{"search-401", apilog.Query{Search: search(b, "401")}},
		{"search-slow", apilog.Query{Search: search(b, "duration:>1s")}},
		{"last-hour-slow", apilog.Query{From: end.Add(-time.Hour), To: end, Search: search(b, "duration:>1s")}},
		{"last-hour-flux", apilog.Query{From: end.Add(-time.Hour), To: end, Search: search(b, "flux")}},
		{"search-worst", apilog.Query{Search: search(b, WorstSearch)}},
	}
	for _, c := range cases {
		if !c.q.AllAccounts {
			c.q.Account = BenchAccount
		}
		b.Run(c.name, func(b *testing.B) {
			var v apilog.Volume
			for b.Loop() {
				var err error
				if v, err = apilog.CountVolume(ctx, s, c.q); err != nil {
					b.Fatal(err)
				}
			}
			n := 0
			for _, cc := range v.Counts {
				n += cc.Total()
			}
			if n == 0 {
				b.Fatalf("no rows counted")
			}
			b.ReportMetric(float64(n), "rows")
			b.ReportMetric(float64(v.N), "buckets")
		})
	}
}
