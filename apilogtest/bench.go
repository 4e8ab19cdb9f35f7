package apilogtest

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/apilog/apilog"
)

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
