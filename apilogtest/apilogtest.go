// Package apilogtest checks that an [apilog.Store] follows the rules of
// package apilog, the way testing/fstest checks an fs.FS. Every store runs
// the same suite and must agree with the others row for row:
//
//	func TestConformance(t *testing.T) {
//		apilogtest.TestStore(t, func(t *testing.T) apilog.Store {
//			return memstore.New(nil)
//		})
//	}
package apilogtest

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/netip"
	"slices"
	"testing"
	"time"

	"github.com/apilog/apilog"
	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

// TestStore runs the conformance suite. newStore must return a new, empty
// store for each subtest; the suite closes it. A store that fails a subtest
// does not follow the rule the subtest names.
func TestStore(t *testing.T, newStore func(t *testing.T) apilog.Store) {
	t.Helper()
	run := func(name string, test func(t *testing.T, f *fixture)) {
		t.Run(name, func(t *testing.T) {
			s := newStore(t)
			f := &fixture{t: t, s: s, keys: map[[2]string]apilog.Key{}}
			t.Cleanup(func() {
				if err := s.Close(); err != nil {
					t.Errorf("Close: %v", err)
				}
			})
			test(t, f)
		})
	}
	run("Append", testAppend)
	run("AppendBadEntry", testAppendBadEntry)
	run("KeyStatus", testKeyStatus)
	run("KeyExpiryInstant", testKeyExpiryInstant)
	run("KeyChangesShowOnOldRows", testKeyChanges)
	run("UnknownKey", testUnknownKey)
	run("KeyTextCleaned", testKeyTextCleaned)
	run("KeyList", testKeyList)
	run("StatusClasses", testStatusClasses)
	run("Search", testSearch)
	run("SearchLiteral", testSearchLiteral)
	run("SearchDuration", testSearchDuration)
	run("SearchRequestID", testSearchRequestID)
	run("SearchSharedRequestID", testSearchSharedRequestID)
	run("Filters", testFilters)
	run("Sort", testSort)
	run("Pagination", testPagination)
	run("PinnedPaging", testPinnedPaging)
	run("Stream", testStream)
	run("Volume", testVolume)
	run("TenantIsolation", testTenantIsolation)
	run("BadQuery", testBadQuery)
	run("Context", testContext)
	run("Model", testModel)
	run("Concurrency", testConcurrency)
	t.Run("Closed", func(t *testing.T) { testClosed(t, newStore(t)) })
}

// Fixed instants: rows are written in November 2026 and read a month later.
var (
	t0  = time.Date(2026, 11, 1, 12, 0, 0, 0, time.UTC)
	now = t0.Add(30 * 24 * time.Hour)
	ctx = context.Background()
)

// Accounts of the fixtures. acctOther reuses key IDs of acctMain with other
// names, so a join or a search across tenants shows.
const (
	acctMain  = "acct_babysea"
	acctOther = "acct_other"
)

// Hasher is the IPHasher the suite gives ParseSearch: SHA-256 of the
// address's text, hex encoded. (The recorder's real one is keyed.)
type Hasher struct{}

// HashIP implements apilog.IPHasher.
func (Hasher) HashIP(addr netip.Addr) string {
	sum := sha256.Sum256([]byte("apilogtest:" + addr.String()))
	return hex.EncodeToString(sum[:])
}

func hashIP(s string) string { return Hasher{}.HashIP(netip.MustParseAddr(s)) }

// fixture is a store with what the suite put into it, from which it knows
// the expected answer to any query.
type fixture struct {
	t       *testing.T
	s       apilog.Store
	entries []apilog.Entry
	keys    map[[2]string]apilog.Key
}

func (f *fixture) key(keys ...apilog.Key) {
	f.t.Helper()
	for _, k := range keys {
		if err := f.s.UpsertKey(ctx, k); err != nil {
			f.t.Fatalf("UpsertKey(%s/%s): %v", k.Account, k.ID, err)
		}
		f.keys[[2]string{k.Account, k.ID}] = k.Clean() // as the store keeps it
	}
}

func (f *fixture) deleteKey(account, id string) {
	f.t.Helper()
	if err := f.s.DeleteKey(ctx, account, id); err != nil {
		f.t.Fatalf("DeleteKey(%s/%s): %v", account, id, err)
	}
	delete(f.keys, [2]string{account, id})
}

func (f *fixture) add(entries ...apilog.Entry) {
	f.t.Helper()
	batch := slices.Clone(entries)
	if err := f.s.Append(ctx, batch); err != nil {
		f.t.Fatalf("Append(%d entries): %v", len(batch), err)
	}
	for i := range batch {
		if len(f.entries) > 0 && batch[i].ID <= f.entries[len(f.entries)-1].ID {
			f.t.Fatalf("Append gave ID %d after ID %d: IDs must increase in insertion order", batch[i].ID, f.entries[len(f.entries)-1].ID)
		}
		f.entries = append(f.entries, batch[i])
	}
}

// rows returns every entry joined with its key as seen at instant at.
func (f *fixture) rows(at time.Time) []apilog.Row {
	keys := make([]apilog.Key, 0, len(f.keys))
	for _, k := range f.keys {
		keys = append(keys, k)
	}
	return Join(f.entries, keys, at)
}

// Join returns entries as a store should return them at instant at: in
// UTC, joined with the current state of their keys (keys holds each key's
// latest version). Pass the result to apilog.Query.Apply for the reference
// answer to any query.
func Join(entries []apilog.Entry, keys []apilog.Key, at time.Time) []apilog.Row {
	byID := make(map[[2]string]*apilog.Key, len(keys))
	for i := range keys {
		byID[[2]string{keys[i].Account, keys[i].ID}] = &keys[i]
	}
	rows := make([]apilog.Row, len(entries))
	for i, e := range entries {
		e.Time = e.Time.UTC()
		rows[i] = apilog.JoinKey(e, byID[[2]string{e.Account, e.KeyID}], at)
	}
	return rows
}

// RowIDs returns the IDs of rows, in order.
func RowIDs(rows []apilog.Row) []int64 {
	out := make([]int64, len(rows))
	for i, r := range rows {
		out[i] = r.ID
	}
	return out
}

// DiffPage says how got differs from want in what a page shows: its
// total, and its rows by ID in order; "" when they agree. Tests diff a
// store's page against the reference's (Query.Apply) with it.
func DiffPage(got, want apilog.Page) string {
	if g, w := RowIDs(got.Rows), RowIDs(want.Rows); got.TotalRows != want.TotalRows || !slices.Equal(g, w) {
		return fmt.Sprintf("rows %v of %d, want %v of %d", g, got.TotalRows, w, want.TotalRows)
	}
	return ""
}

// query runs q on the store, checks the page against the reference
// (apilog.Query.Apply over the fixture's rows) and returns it.
func (f *fixture) query(q apilog.Query) apilog.Page {
	f.t.Helper()
	if q.Now.IsZero() {
		q.Now = now
	}
	got, err := f.s.Query(ctx, q)
	if err != nil {
		f.t.Fatalf("Query(%s): %v", describe(q), err)
	}
	want, err := q.Apply(f.rows(q.Now))
	if err != nil {
		f.t.Fatalf("Apply(%s): %v", describe(q), err)
	}
	if diff := cmp.Diff(want, got, cmpopts.EquateEmpty(), cmpopts.IgnoreFields(apilog.Page{}, "MaxID")); diff != "" {
		f.t.Fatalf("Query(%s) differs from the reference (-want +got):\n%s", describe(q), diff)
	}
	// The bound a page was read at: the query's, or the highest ID in its
	// scope; never a higher one, which would tell a tenant how busy the
	// others are.
	if got.MaxID != want.MaxID {
		f.t.Fatalf("Query(%s): Page.MaxID %d, want %d: the query's, or the highest ID in its scope", describe(q), got.MaxID, want.MaxID)
	}
	for _, r := range got.Rows {
		if r.Time.Location() != time.UTC {
			f.t.Fatalf("Query(%s): row %d time %v is not in UTC", describe(q), r.ID, r.Time)
		}
	}
	return got
}

// ids runs q for all rows (one page of MaxPageSize) and returns their
// request IDs in order.
func (f *fixture) ids(q apilog.Query) []string {
	f.t.Helper()
	q.PageSize = apilog.MaxPageSize
	return requestIDs(f.query(q).Rows)
}

func requestIDs(rows []apilog.Row) []string {
	ids := make([]string, len(rows))
	for i, r := range rows {
		ids[i] = r.RequestID
	}
	return ids
}

// search parses text with the suite's Hasher, failing the test on error.
func search(t testing.TB, text string) apilog.Search {
	t.Helper()
	s, err := apilog.ParseSearch(text, Hasher{})
	if err != nil {
		t.Fatalf("ParseSearch(%q): %v", text, err)
	}
	return s
}

func describe(q apilog.Query) string {
	return fmt.Sprintf("account=%q all=%v search=%q from=%v to=%v classes=%v methods=%q keys=%q max-id=%d sort=%v page=%d size=%d",
		q.Account, q.AllAccounts, q.Search.String(), q.From, q.To, q.StatusClasses, q.Methods, q.KeyIDs, q.MaxID, q.Sort, q.Page, q.PageSize)
}

// entry returns a successful request of acctMain at t0+minute minutes;
// tests change what they need.
func entry(req string, minute int) apilog.Entry {
	return apilog.Entry{
		Account:   acctMain,
		KeyID:     "key_prod",
		RequestID: req,
		Method:    "POST",
		Endpoint:  "/v1/generate/image/flux-pro",
		Status:    200,
		IPHash:    hashIP("192.0.2.1"),
		Time:      t0.Add(time.Duration(minute) * time.Minute),
		Duration:  1500 * time.Millisecond,
	}
}

func inMain(q apilog.Query) apilog.Query {
	q.Account = acctMain
	return q
}
