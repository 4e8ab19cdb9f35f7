package apilogtest

import (
	"fmt"
	"testing"
	"time"

	"github.com/apilog/apilog"
	"github.com/apilog/apilog/plan"
	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

// sharedIDCap is the cap on the rows a term lists by request ID
// (plan.RequestIDCap) while testSearchSharedRequestID runs: low, so that a
// few rows pass it.
const sharedIDCap = 3

// testSearchSharedRequestID checks request IDs that more rows share than
// a term lists (a client that sends one X-Request-Id with every request,
// another tenant's rows among them): past the cap the term tests each
// row's ID instead, and must give the reference's answer all the same, for
// req:, -req: and a plain term, in totals, pages and the chart, in one
// account and every account, with a time range and a MaxID pin. Rows
// with no request ID match no term.
func testSearchSharedRequestID(t *testing.T, f *fixture) {
	t.Cleanup(plan.SetRequestIDCap(sharedIDCap))
	f.key(keyActive, keyOther)
	var rows []apilog.Entry
	minute := 0
	add := func(account, req string, n int) {
		for i := range n {
			minute++
			e := entry(req, minute)
			e.Status = []int{200, 404, 503, 201}[minute%4]
			e.Endpoint = fmt.Sprintf("/v1/things/%d", minute%5)
			if account == acctOther {
				e.Account = acctOther
			}
			if i == 1 && req == "" {
				e.Endpoint = "/v1/same/x" // the plain term "same" finds it by substring
			}
			rows = append(rows, e)
		}
	}
	// Interleaved, so that pages and the pin cut through each ID's rows.
	for range 2 {
		add(acctMain, "same", 4)     // 8 in acctMain: past the cap
		add(acctOther, "same", 3)    // 6 more in acctOther
		add(acctMain, "pair", 1)     // 2: under the cap
		add(acctMain, "", 2)         // no ID: matches no term
		add(acctOther, "b-heavy", 4) // past the cap in acctOther alone
		add(acctMain, "u"+fmt.Sprint(minute), 1)
	}
	add(acctMain, "b-heavy", 1) // one in acctMain: under the cap there
	f.add(rows...)
	pin := f.entries[len(f.entries)/2].ID
	searches := []string{
		"req:same", "-req:same", "same", "-same", "req:same status:5xx", "same -req:pair",
		"req:pair", "pair req:same", "-req:same -req:pair", "req:b-heavy", "b-heavy", "-req:b-heavy",
	}
	scopes := []apilog.Query{inMain(apilog.Query{}), {Account: acctOther}, {AllAccounts: true}}
	for _, text := range searches {
		for _, scope := range scopes {
			base := scope
			base.Search = search(t, text)
			var views []apilog.Query
			for page := 1; page <= 3; page++ {
				q := base
				q.PageSize, q.Page = 3, page
				views = append(views, q)
			}
			for _, v := range []apilog.Query{
				{Sort: apilog.Sort{Column: apilog.ColumnEndpoint, Dir: apilog.Asc}, PageSize: 4, Page: 2},
				{Sort: apilog.Sort{Column: apilog.ColumnStatus}, PageSize: 50},
				{MaxID: pin, PageSize: 50},
				{From: t0.Add(5 * time.Minute), To: t0.Add(20 * time.Minute), PageSize: 2, Page: 2},
			} {
				q := base
				q.Sort, q.PageSize, q.Page, q.MaxID, q.From, q.To = v.Sort, v.PageSize, v.Page, v.MaxID, v.From, v.To
				views = append(views, q)
			}
			for _, q := range views {
				f.query(q)
			}
			for _, q := range []apilog.Query{base, views[len(views)-2], views[len(views)-1]} {
				q.Now, q.Page, q.PageSize, q.Sort = now, 0, 0, apilog.Sort{}
				got, err := apilog.CountVolume(ctx, f.s, q)
				if err != nil {
					t.Fatalf("CountVolume(%s): %v", describe(q), err)
				}
				if diff := cmp.Diff(referenceVolume(t, q, f.rows(now)), got, cmpopts.EquateEmpty()); diff != "" {
					t.Errorf("CountVolume(%s) differs from the reference (-want +got):\n%s", describe(q), diff)
				}
			}
		}
	}
}
