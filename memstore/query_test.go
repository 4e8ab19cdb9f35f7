package memstore

import (
	"context"
	"slices"
	"testing"

	"github.com/apilog/apilog"
	"github.com/apilog/apilog/apilogtest"
)

// TestQueryPaths checks the paths the conformance suite's small fixtures do
// not reach: several chunks, times out of insertion order, pages deep
// enough for quickselect, and the early stop of time-ordered walks.
func TestQueryPaths(t *testing.T) {
	s := New(nil)
	apilogtest.FillPaths(t, s, 3*chunkSize+1234).Check(t, s)
}

// TestStrategies asks for one query of each strategy and checks through the
// Explain hook that the store chose it.
func TestStrategies(t *testing.T) {
	var got []Strategy
	s := New(&Options{Explain: func(_ apilog.Query, st Strategy) { got = append(got, st) }})
	p := apilogtest.FillPaths(t, s, 3*chunkSize)
	by := func(c apilog.Column) apilog.Sort { return apilog.Sort{Column: c} }
	tests := []struct {
		name string
		q    apilog.Query
		want Strategy
	}{
		{"empty time range", apilog.Query{Account: "acct_a", From: p.Start, To: p.Start}, StrategyNone},
		{"newest first", apilog.Query{Account: "acct_a"}, StrategyTimeWalk},
		{"pinned page 2", apilog.Query{Account: "acct_a", Page: 2, MaxID: 30_000}, StrategyTimeWalk},
		{"by endpoint", apilog.Query{Account: "acct_a", Sort: by(apilog.ColumnEndpoint)}, StrategyHeap},
		{"2xx, newest first", apilog.Query{Account: "acct_a", StatusClasses: []apilog.StatusClass{apilog.StatusSuccess}}, StrategyHeap},
		{"by duration, last page", apilog.Query{Account: "acct_a", Sort: by(apilog.ColumnDuration), Page: 80, PageSize: 500}, StrategyHeapFromEnd},
		{"by IP, deep page", apilog.Query{AllAccounts: true, Sort: by(apilog.ColumnIP), Page: 20, PageSize: 1000}, StrategySelect},
	}
	for _, tt := range tests {
		got = nil
		q := tt.q
		q.Now = p.Now
		if _, err := s.Query(context.Background(), q); err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(got, []Strategy{tt.want}) {
			t.Errorf("%s: strategies %q, want %q", tt.name, got, tt.want)
		}
	}
}
