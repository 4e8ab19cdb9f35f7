package apilogtest

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/apilog/apilog"
	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

// streamRows writes rows enough for several of any store's batches, of
// two tenants, with every kind of value, times out of order.
func streamRows(f *fixture, n int) {
	keys := []string{"key_prod", "key_new", "key_old", ""}
	methods := []string{"GET", "POST", "DELETE"}
	var batch []apilog.Entry
	for i := range n {
		e := entry(fmt.Sprintf("s%05d", i), (i*37)%601-300)
		e.KeyID, e.Method = keys[i%len(keys)], methods[i%len(methods)]
		if i%5 == 4 {
			e.Account = acctOther
		}
		e.Status = []int{200, 401, 500, 302, 404}[i%5]
		e.Endpoint = fmt.Sprintf("/v1/things/%d", i%23)
		e.Duration = time.Duration(i%9) * time.Millisecond
		e.IPHash = fmt.Sprintf("%02x", i%13)
		batch = append(batch, e)
	}
	f.add(batch...)
}

// stream reads q whole with apilog.Stream, checking each batch's size;
// during, if given, runs after the first batch.
func (f *fixture) stream(q apilog.Query, limit int, during func()) ([]apilog.Row, error) {
	f.t.Helper()
	var got []apilog.Row
	batches := 0
	err := apilog.Stream(ctx, f.s, q, limit, func(rows []apilog.Row) error {
		if len(rows) == 0 || len(rows) > apilog.MaxPageSize {
			f.t.Errorf("Stream(%s) gave a batch of %d rows, want 1 to %d", describe(q), len(rows), apilog.MaxPageSize)
		}
		got = append(got, rows...)
		if batches++; batches == 1 && during != nil {
			during()
		}
		return nil
	})
	return got, err
}

// everything returns the reference's answer to q: all its pages.
func (f *fixture) everything(q apilog.Query) []apilog.Row {
	f.t.Helper()
	var all []apilog.Row
	q.PageSize = apilog.MaxPageSize
	for q.Page = 1; ; q.Page++ {
		p, err := q.Apply(f.rows(q.Now))
		if err != nil {
			f.t.Fatalf("Apply(%s): %v", describe(q), err)
		}
		all = append(all, p.Rows...)
		if q.Page >= p.TotalPages {
			return all
		}
	}
}

// testStream checks apilog.Stream over the store (its Stream, when it is
// an apilog.Streamer): every row of every view exactly once, in the
// view's order, as the reference has it; pinned to the moment it began
// (or to q.MaxID); the limit; and a yield that fails.
func testStream(t *testing.T, f *fixture) {
	f.key(keyActive, keyNew, keyRotated, keyOther)
	const n = 2600
	streamRows(f, n)
	views := []apilog.Query{
		inMain(apilog.Query{}),
		{AllAccounts: true, Sort: apilog.Sort{Column: apilog.ColumnTime, Dir: apilog.Asc}},
		inMain(apilog.Query{StatusClasses: []apilog.StatusClass{apilog.StatusSuccess, apilog.StatusServerError}, Sort: apilog.Sort{Column: apilog.ColumnEndpoint}}),
		inMain(apilog.Query{From: t0.Add(-100 * time.Minute), To: t0.Add(100 * time.Minute), Sort: apilog.Sort{Column: apilog.ColumnDuration}}),
		inMain(apilog.Query{Search: search(t, "-key:staging things/1"), Sort: apilog.Sort{Column: apilog.ColumnAPI, Dir: apilog.Desc}}),
		inMain(apilog.Query{Search: search(t, "duration:>4ms"), Methods: []string{"GET"}}),
		inMain(apilog.Query{Search: search(t, "s00100"), Sort: apilog.Sort{Column: apilog.ColumnEndpoint}}),
		inMain(apilog.Query{Search: search(t, "-req:s00100 things/1")}),
		inMain(apilog.Query{MaxID: f.entries[n/2].ID, Sort: apilog.Sort{Column: apilog.ColumnIP}}),
		inMain(apilog.Query{Page: 3, PageSize: 10}), // ignored
		{Account: "acct_none"},
	}
	for _, col := range apilog.Columns {
		for _, dir := range []apilog.Direction{apilog.Asc, apilog.Desc} {
			views = append(views, inMain(apilog.Query{Sort: apilog.Sort{Column: col, Dir: dir}}))
		}
	}
	for _, q := range views {
		q.Now = now
		want := f.everything(q)
		got, err := f.stream(q, n, nil)
		if err != nil {
			t.Fatalf("Stream(%s): %v", describe(q), err)
		}
		if diff := cmp.Diff(want, got, cmpopts.EquateEmpty()); diff != "" {
			t.Errorf("Stream(%s) differs from the reference (-want +got):\n%s", describe(q), diff)
		}
	}

	// Rows appended while the stream is read are not in it, this
	// tenant's or another's, and a key renamed meanwhile shows its old
	// name on every row: it is the rows and keys of the moment it began.
	renamed := keyActive
	for _, q := range []apilog.Query{
		inMain(apilog.Query{Now: now}),
		inMain(apilog.Query{Now: now, Sort: apilog.Sort{Column: apilog.ColumnTime, Dir: apilog.Asc}}),
		inMain(apilog.Query{Now: now, Search: search(t, "get"), Sort: apilog.Sort{Column: apilog.ColumnEndpoint}}),
		{AllAccounts: true, Now: now},
	} {
		want := f.everything(q)
		got, err := f.stream(q, n+1000, func() {
			early, late := entry("during-early", -1000), entry("during-late", 1000)
			other := late
			other.Account = acctOther
			f.add(early, late, other)
			renamed.Name += "-renamed"
			f.key(renamed)
		})
		if err != nil {
			t.Fatalf("Stream(%s) with rows appended during it: %v", describe(q), err)
		}
		if g, w := RowIDs(got), RowIDs(want); !slices.Equal(g, w) {
			t.Errorf("Stream(%s) with rows appended during it: %d rows, want the %d of when it began", describe(q), len(g), len(w))
		} else if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("Stream(%s) with a key renamed during it differs from the rows of when it began (-want +got):\n%s", describe(q), diff)
		}
	}

	// The limit: past it no row is given and the error says how many match.
	q := inMain(apilog.Query{Now: now, Methods: []string{"POST"}})
	total := len(f.everything(q))
	called := false
	err := apilog.Stream(ctx, f.s, q, total-1, func([]apilog.Row) error { called = true; return nil })
	var tooMany *apilog.TooManyRowsError
	if !errors.As(err, &tooMany) || tooMany.Rows != total || tooMany.Limit != total-1 || !errors.Is(err, apilog.ErrTooManyRows) {
		t.Errorf("Stream(%s) with limit %d: %v, want a *TooManyRowsError of %d rows", describe(q), total-1, err, total)
	}
	if called {
		t.Errorf("Stream(%s) past its limit gave rows", describe(q))
	}
	if got, err := f.stream(q, total, nil); err != nil || len(got) != total {
		t.Errorf("Stream(%s) with limit %d = its rows: %d rows, %v", describe(q), total, len(got), err)
	}

	// A yield that fails stops the stream, with its error.
	stop := errors.New("stop")
	calls := 0
	err = apilog.Stream(ctx, f.s, inMain(apilog.Query{}), n, func([]apilog.Row) error { calls++; return stop })
	if !errors.Is(err, stop) || calls != 1 {
		t.Errorf("Stream with a yield that fails: %v after %d calls, want its error after 1", err, calls)
	}

	// Bad queries and ended contexts give no rows.
	canceled, cancel := context.WithCancel(ctx)
	cancel()
	for _, c := range []struct {
		ctx  context.Context
		q    apilog.Query
		want error
	}{
		{ctx, apilog.Query{}, apilog.ErrBadQuery},
		{ctx, inMain(apilog.Query{Sort: apilog.Sort{Column: "nope"}}), apilog.ErrBadQuery},
		{canceled, inMain(apilog.Query{}), context.Canceled},
	} {
		err := apilog.Stream(c.ctx, f.s, c.q, n, func([]apilog.Row) error { t.Errorf("Stream(%s) gave rows", describe(c.q)); return nil })
		if !errors.Is(err, c.want) {
			t.Errorf("Stream(%s): %v, want %v", describe(c.q), err, c.want)
		}
	}
}
