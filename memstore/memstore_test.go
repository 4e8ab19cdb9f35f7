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
