package pgstore_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/apilog/apilog"
	"github.com/apilog/apilog/apilogtest"
	"github.com/apilog/apilog/pgstore"
)

// TestStrategies asks for queries of each strategy and path, checks through
// the Explain hook that the store chose the strategy, and checks each page
// against the reference.
func TestStrategies(t *testing.T) {
	var got []pgstore.Strategy
	s := openStore(t, &pgstore.Options{Explain: func(_ apilog.Query, st pgstore.Strategy) { got = append(got, st) }})
	defer s.Close()
	p := apilogtest.FillPaths(t, s, 20_000)
	joined := apilogtest.Join(p.Entries, p.Keys, p.Now)
	search := func(text string) apilog.Search {
		q, err := apilog.ParseSearch(text, apilogtest.Hasher{})
		if err != nil {
			t.Fatal(err)
		}
		return q
	}
	by := func(c apilog.Column, d apilog.Direction) apilog.Sort { return apilog.Sort{Column: c, Dir: d} }
	ok2xx := []apilog.StatusClass{apilog.StatusSuccess}
	tests := []struct {
		name string
		q    apilog.Query
		want pgstore.Strategy
	}{
		{"unknown account", apilog.Query{Account: "acct_nobody"}, pgstore.StrategyNone},
		{"empty time range", apilog.Query{Account: "acct_a", From: p.Start, To: p.Start}, pgstore.StrategyNone},
		{"newest first", apilog.Query{Account: "acct_a"}, pgstore.StrategyTimeSeek},
		{"oldest first, a deep page", apilog.Query{Account: "acct_a", Sort: by(apilog.ColumnTime, apilog.Asc), Page: 20, PageSize: 700}, pgstore.StrategyTimeSeek},
		{"last day, all accounts", apilog.Query{AllAccounts: true, From: p.Start.Add(24 * time.Hour)}, pgstore.StrategyTimeSeek},
		{"last day, oldest first, page 3", apilog.Query{Account: "acct_a", From: p.Start.Add(24 * time.Hour), Sort: by(apilog.ColumnTime, apilog.Asc), Page: 3}, pgstore.StrategyTimeSeek},
		{"before the last day, page 2", apilog.Query{Account: "acct_a", To: p.Start.Add(24 * time.Hour), Page: 2}, pgstore.StrategyTimeSeek},
		{"pinned second page", apilog.Query{Account: "acct_a", Page: 2, MaxID: p.Entries[15_000].ID}, pgstore.StrategyTimeSeek},
		{"pinned long ago", apilog.Query{Account: "acct_a", Page: 2, MaxID: p.Entries[5_000].ID}, pgstore.StrategyOrdered},
		{"pinned long ago, all accounts, by endpoint", apilog.Query{AllAccounts: true, Page: 2, MaxID: p.Entries[5_000].ID, Sort: by(apilog.ColumnEndpoint, apilog.Desc)}, pgstore.StrategyWalk},
		{"pinned, last day, oldest first", apilog.Query{Account: "acct_a", From: p.Start.Add(24 * time.Hour), Sort: by(apilog.ColumnTime, apilog.Asc), Page: 2, MaxID: p.Entries[18_000].ID}, pgstore.StrategyTimeSeek},
		{"by endpoint", apilog.Query{Account: "acct_a", Sort: by(apilog.ColumnEndpoint, apilog.Asc)}, pgstore.StrategyWalk},
		{"by endpoint, a deep page", apilog.Query{Account: "acct_a", Sort: by(apilog.ColumnEndpoint, apilog.Asc), Page: 15, PageSize: 100}, pgstore.StrategyWalk},
		{"by IP, descending, page 4", apilog.Query{Account: "acct_a", Sort: by(apilog.ColumnIP, apilog.Desc), Page: 4, PageSize: 50}, pgstore.StrategyWalk},
		{"by key, descending, page 3", apilog.Query{Account: "acct_a", Sort: by(apilog.ColumnAPI, apilog.Desc), Page: 3}, pgstore.StrategyWalk},
		{"by error, all accounts", apilog.Query{AllAccounts: true, Sort: by(apilog.ColumnError, apilog.Asc), Page: 2}, pgstore.StrategyWalk},
		{"by status", apilog.Query{Account: "acct_a", Sort: by(apilog.ColumnStatus, apilog.Asc), Page: 2}, pgstore.StrategyWalk},
		{"by status, all accounts", apilog.Query{AllAccounts: true, Sort: by(apilog.ColumnStatus, apilog.Desc)}, pgstore.StrategyOrdered},
		{"2xx by IP", apilog.Query{Account: "acct_a", StatusClasses: ok2xx, Sort: by(apilog.ColumnIP, apilog.Asc)}, pgstore.StrategyWalkFiltered},
		{"pinned, by method, page 2", apilog.Query{Account: "acct_a", Sort: by(apilog.ColumnMethod, apilog.Asc), Page: 2, MaxID: p.Entries[15_000].ID}, pgstore.StrategyWalk},
		{"pinned, by endpoint, a deep page", apilog.Query{Account: "acct_a", Sort: by(apilog.ColumnEndpoint, apilog.Desc), Page: 12, PageSize: 100, MaxID: p.Entries[19_000].ID}, pgstore.StrategyWalk},
		{"slowest first", apilog.Query{Account: "acct_a", Sort: by(apilog.ColumnDuration, apilog.Desc)}, pgstore.StrategyOrdered},
		{"fastest first, all accounts", apilog.Query{AllAccounts: true, Sort: by(apilog.ColumnDuration, apilog.Asc), Page: 2}, pgstore.StrategyOrdered},
		{"2xx, newest first", apilog.Query{Account: "acct_a", StatusClasses: ok2xx}, pgstore.StrategyOrdered},
		{"one error code, by key", apilog.Query{AllAccounts: true, Search: search("error:BSE5030"), Sort: by(apilog.ColumnAPI, apilog.Asc)}, pgstore.StrategySort},
		{"one error code, by IP, descending", apilog.Query{Account: "acct_a", Search: search("error:BSE5030"), Sort: by(apilog.ColumnIP, apilog.Desc)}, pgstore.StrategySort},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got = nil
			q := tt.q
			q.Now = p.Now
			page, err := s.Query(context.Background(), q)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(got, []pgstore.Strategy{tt.want}) {
				t.Errorf("strategies %q, want %q", got, tt.want)
			}
			want, err := q.Apply(joined)
			if err != nil {
				t.Fatal(err)
			}
			if diff := apilogtest.DiffPage(page, want); diff != "" {
				t.Error(diff)
			}
			if tt.want != pgstore.StrategyNone && len(want.Rows) == 0 {
				t.Errorf("the reference has no rows: the case shows nothing")
			}
		})
	}
}
