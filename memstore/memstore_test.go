package memstore_test

import (
	"context"
	"fmt"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/apilog/apilog"
	"github.com/apilog/apilog/apilogtest"
	"github.com/apilog/apilog/memstore"
)

func TestConformance(t *testing.T) {
	apilogtest.TestStore(t, func(t *testing.T) apilog.Store { return memstore.New(nil) })
}

// TestAppendDuringQuery checks that Append returns while a query is still
// running, instead of waiting for it (a recorder in front would drop
// entries meanwhile), and that the next query sees what it appended, with
// the IDs Append gave.
func TestAppendDuringQuery(t *testing.T) {
	ctx := context.Background()
	inQuery, release := make(chan struct{}), make(chan struct{})
	var block atomic.Bool
	s := memstore.New(&memstore.Options{Explain: func(apilog.Query, memstore.Strategy) {
		if block.Load() {
			inQuery <- struct{}{}
			<-release
		}
	}})
	defer s.Close()
	entry := func(req string) apilog.Entry {
		return apilog.Entry{Account: "acct_1", Method: "GET", Endpoint: "/v1/models", Status: 200, RequestID: req, Time: time.Unix(1_800_000_000, 0)}
	}
	first := []apilog.Entry{entry("r1")}
	if err := s.Append(ctx, first); err != nil {
		t.Fatal(err)
	}

	block.Store(true)
	queried := make(chan error, 1)
	go func() {
		_, err := s.Query(ctx, apilog.Query{Account: "acct_1"})
		queried <- err
	}()
	<-inQuery // the query holds the store
	block.Store(false)
	appended := make(chan error, 1)
	batch := []apilog.Entry{entry("r2"), entry("r3")}
	go func() { appended <- s.Append(ctx, batch) }()
	select {
	case err := <-appended:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(10 * time.Second):
		close(release)
		t.Fatal("Append waited for a query in flight")
	}
	close(release)
	if err := <-queried; err != nil {
		t.Fatal(err)
	}

	p, err := s.Query(ctx, apilog.Query{Account: "acct_1"})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, r := range p.Rows {
		got = append(got, fmt.Sprintf("%s=%d", r.RequestID, r.ID))
	}
	if want := []string{"r3=3", "r2=2", "r1=1"}; !slices.Equal(got, want) || batch[0].ID != 2 || batch[1].ID != 3 || p.MaxID != 3 {
		t.Errorf("after the query: rows %v, max ID %d, Append's IDs %d, %d; want %v, 3, 2, 3", got, p.MaxID, batch[0].ID, batch[1].ID, want)
	}
}

// TestStreamWhileAppending: a stream sorts and reads its rows outside the
// lock while Append fills the chunk they are in (go test -race), and
// gives the rows of the moment it began, in order.
func TestStreamWhileAppending(t *testing.T) {
	ctx := context.Background()
	s := memstore.New(nil)
	defer s.Close()
	start := time.Date(2026, 12, 3, 0, 0, 0, 0, time.UTC)
	n := 0
	add := func(k int) {
		batch := make([]apilog.Entry, k)
		for i := range batch {
			batch[i] = apilog.Entry{Account: "a", Method: "GET", Endpoint: fmt.Sprint("/v1/", n%7), Status: 200, Time: start.Add(time.Duration(n%101) * time.Second)}
			n++
		}
		if err := s.Append(ctx, batch); err != nil {
			t.Error(err)
		}
	}
	add(5000)
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			select {
			case <-stop:
				return
			default:
				add(10)
				time.Sleep(20 * time.Microsecond)
			}
		}
	}()
	defer func() {
		close(stop)
		<-done
	}()
	for range 5 {
		q := apilog.Query{Account: "a", Sort: apilog.Sort{Column: apilog.ColumnEndpoint, Dir: apilog.Asc}}
		var got []apilog.Row
		if err := apilog.Stream(ctx, s, q, 1<<20, func(rows []apilog.Row) error { got = append(got, rows...); return nil }); err != nil {
			t.Fatal(err)
		}
		q.MaxID = got[0].ID
		for _, r := range got {
			q.MaxID = max(q.MaxID, r.ID)
		}
		q.PageSize = apilog.MaxPageSize
		p, err := s.Query(ctx, q)
		if err != nil {
			t.Fatal(err)
		}
		if p.TotalRows != len(got) || !slices.Equal(apilogtest.RowIDs(p.Rows), apilogtest.RowIDs(got[:min(len(got), apilog.MaxPageSize)])) {
			t.Errorf("a stream of %d rows while appending differs from the page of its rows (%d)", len(got), p.TotalRows)
		}
	}
}
