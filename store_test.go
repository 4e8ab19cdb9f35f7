package apilog_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/apilog/apilog"
	"github.com/apilog/apilog/apilogtest"
	"github.com/apilog/apilog/memstore"
)

// pagesOnly is a Store that is not a Streamer: apilog.Stream reads it
// page by page.
type pagesOnly struct{ apilog.Store }

// TestStreamPages runs the conformance suite, Stream's part included,
// through the page-by-page reading of a store that has no Stream.
func TestStreamPages(t *testing.T) {
	apilogtest.TestStore(t, func(t *testing.T) apilog.Store { return pagesOnly{memstore.New(nil)} })
}

// TestStreamPagesPinned: read page by page, a stream of several pages is
// the rows of its first page's moment, whatever is appended between the
// pages, and every row comes once, in order.
func TestStreamPagesPinned(t *testing.T) {
	ctx := context.Background()
	s := pagesOnly{memstore.New(nil)}
	t.Cleanup(func() { s.Close() })
	start := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	add := func(n int, minute int) {
		batch := make([]apilog.Entry, n)
		for i := range batch {
			batch[i] = apilog.Entry{Account: "a", RequestID: fmt.Sprint("r", i), Method: "GET", Endpoint: "/v1/x",
				Status: 200, Time: start.Add(time.Duration(minute+i%97) * time.Minute)}
		}
		if err := s.Append(ctx, batch); err != nil {
			t.Fatal(err)
		}
	}
	n := 2*apilog.MaxPageSize + 500
	add(n, 0)
	var got []int64
	pages := 0
	err := apilog.Stream(ctx, s, apilog.Query{Account: "a"}, n, func(rows []apilog.Row) error {
		pages++
		for _, r := range rows {
			got = append(got, r.ID)
		}
		add(50, 500) // newer rows, which would push every page's rows onto the next
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	want := make([]int64, n)
	for i := range want {
		want[i] = int64(i + 1)
	}
	slices.SortFunc(want, func(a, b int64) int { // the default order: newest first
		ta, tb := a-1, b-1
		return apilog.TieBreak(int64(ta%97), a, int64(tb%97), b)
	})
	if pages != 3 || !slices.Equal(got, want) {
		t.Errorf("Stream of %d rows in %d pages with rows appended between them: %d rows, want each of the first %d once, newest first", n, pages, len(got), n)
	}
	err = apilog.Stream(ctx, s, apilog.Query{Account: "a"}, n, func([]apilog.Row) error { return nil })
	if tooMany := (*apilog.TooManyRowsError)(nil); !errors.As(err, &tooMany) || tooMany.Rows != n+3*50 {
		t.Errorf("Stream past its limit: %v, want a *TooManyRowsError of %d rows", err, n+3*50)
	}
}
