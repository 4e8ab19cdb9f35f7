package apilogtest

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/apilog/apilog"
)

func testAppend(t *testing.T, f *fixture) {
	f.key(keyActive)
	if err := f.s.Append(ctx, nil); err != nil {
		t.Fatalf("Append(nil): %v", err)
	}
	e := entry("precise", 0)
	// Nanoseconds and a non-UTC zone: the store keeps the instant and returns UTC.
	e.Time = time.Date(2026, 11, 1, 13, 2, 3, 123456789, time.FixedZone("CET", 3600))
	e.Duration = 1234567 * time.Nanosecond
	e.ID = 999 // ignored
	f.add(e, entry("second", 5))
	if f.entries[0].ID == 999 || f.entries[0].ID <= 0 {
		t.Errorf("Append kept the caller's ID %d; the store assigns IDs", f.entries[0].ID)
	}
	rows := f.query(inMain(apilog.Query{Sort: apilog.Sort{Column: apilog.ColumnTime, Dir: apilog.Asc}})).Rows
	if len(rows) != 2 {
		t.Fatalf("%d rows, want 2", len(rows))
	}
	// The first and last instants an entry may have are kept and found by
	// every kind of query.
	first, last := entry("first-instant", 0), entry("last-instant", 0)
	first.Time, last.Time = time.Unix(0, 0), time.Unix(0, 1<<63-1)
	f.add(first, last)
	for _, q := range []apilog.Query{
		{},
		{Methods: []string{"POST"}},
		{Search: search(t, "post")},
		{Sort: apilog.Sort{Column: apilog.ColumnStatus}},
		{From: time.Date(1, 1, 1, 0, 0, 0, 0, time.UTC), To: time.Date(3000, 1, 1, 0, 0, 0, 0, time.UTC)},
	} {
		if p := f.query(inMain(q)); p.TotalRows != 4 {
			t.Errorf("query %s: %d rows, want all 4, the first and last instants included", describe(q), p.TotalRows)
		}
	}
	if got := rows[0]; !got.Time.Equal(e.Time) || got.Time.Nanosecond() != 123456789 || got.Duration != e.Duration {
		t.Errorf("row time %v duration %v, want %v and %v", got.Time, got.Duration, e.Time.UTC(), e.Duration)
	}
}

// testAppendBadEntry checks that one bad entry fails its whole batch and
// that what was stored before is kept.
func testAppendBadEntry(t *testing.T, f *fixture) {
	f.add(entry("kept", 0))
	bad := []struct {
		name  string
		field string
		edit  func(*apilog.Entry)
	}{
		{"no account", "account", func(e *apilog.Entry) { e.Account = "" }},
		{"no method", "method", func(e *apilog.Entry) { e.Method = "" }},
		{"status 1000", "status", func(e *apilog.Entry) { e.Status = 1000 }},
		{"status -1", "status", func(e *apilog.Entry) { e.Status = -1 }},
		{"zero time", "time", func(e *apilog.Entry) { e.Time = time.Time{} }},
		{"time before 1970", "time", func(e *apilog.Entry) { e.Time = time.Date(1969, 1, 1, 0, 0, 0, 0, time.UTC) }},
		{"negative duration", "duration", func(e *apilog.Entry) { e.Duration = -1 }},
		{"long endpoint", "endpoint", func(e *apilog.Entry) { e.Endpoint = "/" + strings.Repeat("a", apilog.MaxEndpointLen) }},
		{"invalid UTF-8", "endpoint", func(e *apilog.Entry) { e.Endpoint = "/v1/\xff" }},
		{"long error code", "error code", func(e *apilog.Entry) { e.ErrorCode = strings.Repeat("E", apilog.MaxFieldLen+1) }},
	}
	for _, tt := range bad {
		e := entry("bad", 1)
		tt.edit(&e)
		err := f.s.Append(ctx, []apilog.Entry{entry("good-before", 1), e, entry("good-after", 1)})
		if !errors.Is(err, apilog.ErrBadEntry) || !strings.Contains(err.Error(), tt.field) || !strings.Contains(err.Error(), "entry 1") {
			t.Errorf("%s: Append: %v, want ErrBadEntry naming entry 1 and %q", tt.name, err, tt.field)
		}
	}
	if got := f.ids(apilog.Query{AllAccounts: true}); len(got) != 1 || got[0] != "kept" {
		t.Errorf("after failed batches the store holds %q, want only [kept]", got)
	}
	for _, k := range []apilog.Key{{Account: acctMain}, {ID: "k"}, {ID: "k", Account: acctMain, Name: "\xff"}} {
		if err := f.s.UpsertKey(ctx, k); !errors.Is(err, apilog.ErrBadEntry) {
			t.Errorf("UpsertKey(%+v): %v, want ErrBadEntry", k, err)
		}
	}
}

// testTenantIsolation checks that no query shows another account's rows or
// key names.
func testTenantIsolation(t *testing.T, f *fixture) {
	searchRows(f)
	leak := entry("leak", 11)
	leak.Account = acctOther // key_prod in acctOther is keyOther
	f.add(leak)
	queries := []apilog.Query{
		{},
		{Search: search(t, "other-tenant-secret-name")},
		{Search: search(t, "oth_ZZ99")},
		{Search: search(t, "key:other")},
		{Search: search(t, "-nothing")},
		{KeyIDs: []string{"key_prod"}},
		{Search: search(t, "BSE4006")},
		{Sort: apilog.Sort{Column: apilog.ColumnAPI}, PageSize: 1, Page: 2},
	}
	for _, q := range queries {
		for _, r := range f.query(inMain(q)).Rows {
			if r.Account != acctMain || r.KeyName == keyOther.Name || r.KeyPrefix == keyOther.Prefix {
				t.Errorf("query %s shows account %q key %q %q", describe(q), r.Account, r.KeyName, r.KeyPrefix)
			}
		}
	}
	if n := len(f.ids(inMain(apilog.Query{Search: search(t, "other-tenant-secret-name")}))); n != 0 {
		t.Errorf("acctMain found %d rows by acctOther's key name", n)
	}
	got := f.ids(apilog.Query{Account: acctOther})
	if want := []string{"leak", "other-tenant"}; !sameSet(got, want) {
		t.Errorf("acctOther sees %q, want %q", got, want)
	}
	for _, r := range f.query(apilog.Query{Account: acctOther}).Rows {
		if r.RequestID == "leak" && (r.KeyName != keyOther.Name) {
			t.Errorf("acctOther's key_prod row shows key %q, want its own key %q", r.KeyName, keyOther.Name)
		}
	}
	if n := len(f.ids(apilog.Query{Account: "acct_nobody"})); n != 0 {
		t.Errorf("an unknown account sees %d rows", n)
	}
	if n := f.query(apilog.Query{AllAccounts: true}).TotalRows; n != len(f.entries) {
		t.Errorf("AllAccounts sees %d rows, want %d", n, len(f.entries))
	}
}

func sameSet(a, b []string) bool {
	m := map[string]int{}
	for _, s := range a {
		m[s]++
	}
	for _, s := range b {
		m[s]--
	}
	for _, n := range m {
		if n != 0 {
			return false
		}
	}
	return true
}

func testBadQuery(t *testing.T, f *fixture) {
	f.add(entry("r", 0))
	tests := []struct {
		name  string
		q     apilog.Query
		param apilog.Param
		want  string
	}{
		{"no account", apilog.Query{}, apilog.ParamAccount, "account"},
		{"both scopes", apilog.Query{Account: acctMain, AllAccounts: true}, apilog.ParamAccount, "AllAccounts"},
		{"negative page", apilog.Query{Account: acctMain, Page: -1}, apilog.ParamPage, "-1"},
		{"page size over the maximum", apilog.Query{Account: acctMain, PageSize: apilog.MaxPageSize + 1}, apilog.ParamPageSize, "10001"},
		{"negative page size", apilog.Query{Account: acctMain, PageSize: -5}, apilog.ParamPageSize, "-5"},
		{"negative row-ID bound", apilog.Query{Account: acctMain, MaxID: -1}, apilog.ParamMaxID, "-1"},
		{"unknown column", apilog.Query{Account: acctMain, Sort: apilog.Sort{Column: "secret"}}, apilog.ParamSort, `"secret"`},
		{"unknown direction", apilog.Query{Account: acctMain, Sort: apilog.Sort{Dir: "up"}}, apilog.ParamDir, `"up"`},
		{"inverted range", apilog.Query{Account: acctMain, From: t0, To: t0.Add(-time.Second)}, apilog.ParamTo, "before it starts"},
		{"bad class", apilog.Query{Account: acctMain, StatusClasses: []apilog.StatusClass{9}}, apilog.ParamStatus, "status class 9"},
		{"too many key IDs", apilog.Query{Account: acctMain, KeyIDs: make([]string, apilog.MaxFilterValues+1)}, apilog.ParamKey, "1001 key IDs"},
		{"too many methods", apilog.Query{Account: acctMain, Methods: make([]string, apilog.MaxFilterValues+1)}, apilog.ParamMethod, "1001 methods"},
		{"33 hand-built terms", apilog.Query{Account: acctMain, Search: apilog.Search{Terms: make33Terms()}}, apilog.ParamSearch, "33 terms"},
		{"hand-built empty key term", apilog.Query{Account: acctMain, Search: apilog.Search{Terms: []apilog.Term{{Field: apilog.FieldKey}}}}, apilog.ParamSearch, "term 1"},
		{"hand-built unfolded term", apilog.Query{Account: acctMain, Search: apilog.Search{Terms: []apilog.Term{{Text: "POST"}}}}, apilog.ParamSearch, "not folded"},
		{"hand-built status range", apilog.Query{Account: acctMain, Search: apilog.Search{Terms: []apilog.Term{{Field: apilog.FieldStatus, StatusMin: 500, StatusMax: 1200}}}}, apilog.ParamSearch, "500-1200"},
	}
	for _, tt := range tests {
		// Every store returns the same error type, so that a page can name
		// the bad parameter without reading the message.
		_, err := f.s.Query(ctx, tt.q)
		var qe *apilog.QueryError
		if !errors.As(err, &qe) || !errors.Is(err, apilog.ErrBadQuery) {
			t.Errorf("%s: Query: %v, want a *apilog.QueryError wrapping ErrBadQuery", tt.name, err)
			continue
		}
		if qe.Param != tt.param || !strings.Contains(qe.Message, tt.want) {
			t.Errorf("%s: Query: error about %q: %q; want one about %q naming %s", tt.name, qe.Param, qe.Message, tt.param, tt.want)
		}
	}
}

func make33Terms() []apilog.Term {
	terms := make([]apilog.Term, apilog.MaxSearchTerms+1)
	for i := range terms {
		terms[i].Text = "x"
	}
	return terms
}

func testContext(t *testing.T, f *fixture) {
	canceled, cancel := context.WithCancel(ctx)
	cancel()
	// Even when there is nothing to read.
	if _, err := f.s.Query(canceled, inMain(apilog.Query{})); !errors.Is(err, context.Canceled) {
		t.Errorf("Query of an empty store with a canceled context: %v, want context.Canceled", err)
	}
	f.add(entry("r", 0))
	if err := f.s.Append(canceled, []apilog.Entry{entry("late", 1)}); !errors.Is(err, context.Canceled) {
		t.Errorf("Append with a canceled context: %v, want context.Canceled", err)
	}
	if _, err := f.s.Query(canceled, inMain(apilog.Query{})); !errors.Is(err, context.Canceled) {
		t.Errorf("Query with a canceled context: %v, want context.Canceled", err)
	}
	if err := f.s.UpsertKey(canceled, keyActive); !errors.Is(err, context.Canceled) {
		t.Errorf("UpsertKey with a canceled context: %v, want context.Canceled", err)
	}
	if got := f.ids(inMain(apilog.Query{})); len(got) != 1 {
		t.Errorf("after canceled calls the store holds %q, want [r]", got)
	}
}

func testClosed(t *testing.T, s apilog.Store) {
	if err := s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if err := s.Close(); err != nil {
		t.Errorf("second Close: %v, want nil", err)
	}
	if err := s.Append(ctx, []apilog.Entry{entry("r", 0)}); !errors.Is(err, apilog.ErrClosed) {
		t.Errorf("Append after Close: %v, want ErrClosed", err)
	}
	if _, err := s.Query(ctx, inMain(apilog.Query{})); !errors.Is(err, apilog.ErrClosed) {
		t.Errorf("Query after Close: %v, want ErrClosed", err)
	}
	if err := s.UpsertKey(ctx, keyActive); !errors.Is(err, apilog.ErrClosed) {
		t.Errorf("UpsertKey after Close: %v, want ErrClosed", err)
	}
	if err := apilog.Stream(ctx, s, inMain(apilog.Query{}), 10, func([]apilog.Row) error { return nil }); !errors.Is(err, apilog.ErrClosed) {
		t.Errorf("Stream after Close: %v, want ErrClosed", err)
	}
	if _, err := apilog.CountVolume(ctx, s, inMain(apilog.Query{From: t0, To: t0.Add(time.Hour)})); !errors.Is(err, apilog.ErrClosed) {
		t.Errorf("CountVolume after Close: %v, want ErrClosed", err)
	}
}

// testModel writes random rows and keys and checks random queries against
// the reference, row for row.
func testModel(t *testing.T, f *fixture) {
	rng := rand.New(rand.NewPCG(1, 2))
	pick := func(xs ...string) string { return xs[rng.IntN(len(xs))] }
	accounts := []string{acctMain, acctOther}
	var keys []apilog.Key
	for i := range 12 {
		k := apilog.Key{
			ID: fmt.Sprintf("key_%d", i%8), Account: accounts[i%2],
			Name:   pick("production-api", "Production-API", "staging", "ßtraße", "batch", ""),
			Prefix: fmt.Sprintf("bye_%02X", rng.IntN(256)),
		}
		switch rng.IntN(4) {
		case 1:
			k.RotatedAt = t0.Add(time.Duration(rng.IntN(48)) * time.Hour)
		case 2:
			k.ExpiresAt = t0.Add(time.Duration(rng.IntN(48)) * time.Hour)
		case 3:
			k.RevokedAt, k.Inactive = t0.Add(time.Duration(rng.IntN(48))*time.Hour), rng.IntN(2) == 0
		}
		keys = append(keys, k)
	}
	f.key(keys...)
	for batch := range 6 {
		var es []apilog.Entry
		for i := range 400 {
			e := entry(fmt.Sprintf("m%d-%d", batch, i), 0)
			e.Account = accounts[rng.IntN(2)]
			e.KeyID = pick("key_0", "key_1", "key_2", "key_3", "key_5", "key_7", "", "key_gone")
			e.Method = pick("GET", "POST", "PUT", "DELETE", "PATCH")
			e.Endpoint = pick("/v1/generate/image/flux-pro", "/v1/models", "/v1/models/x:generate", "/v1/keys/1", "/v1/ÉCOLE", "/v1/50%_off")
			e.Status = []int{200, 201, 204, 302, 400, 401, 404, 429, 500, 503, 0, 199, 600}[rng.IntN(13)]
			if e.Status >= 400 {
				e.ErrorCode = fmt.Sprintf("BSE%d%03d", e.Status/100, rng.IntN(8))
			}
			e.IPHash = fmt.Sprintf("%02x%062x", rng.IntN(40), rng.IntN(1000))
			e.Time = t0.Add(time.Duration(rng.IntN(72*60)) * time.Minute)
			e.Duration = time.Duration(rng.IntN(40)) * time.Millisecond // ties, as real durations have
			es = append(es, e)
		}
		f.add(es...)
	}
	searches := []string{"", "post", "prod", "-get", "status:4xx", "status:200-299 -error:bse", "key:ß", "key:STRASSE",
		"x:generate", "1", "50%", "ip:0", "-key:production method:get", `"/v1/models"`, "école", "bse4",
		"m3-17", "req:m1-5", "-req:m2-9 post", "m4-2 -get", "M0-1", "req:m0"}
	for i := range 150 {
		q := apilog.Query{
			Search:   search(t, searches[i%len(searches)]),
			Sort:     apilog.Sort{Column: apilog.Columns[rng.IntN(len(apilog.Columns))], Dir: []apilog.Direction{"", apilog.Asc, apilog.Desc}[rng.IntN(3)]},
			PageSize: []int{1, 7, 50, 500}[rng.IntN(4)],
			Now:      t0.Add(time.Duration(rng.IntN(72)) * time.Hour),
		}
		q.Page = 1 + rng.IntN(max(1, 1200/q.PageSize/3))
		if rng.IntN(3) == 0 {
			q.AllAccounts = true
		} else {
			q.Account = accounts[rng.IntN(2)]
		}
		if rng.IntN(4) == 0 {
			q.From = t0.Add(time.Duration(rng.IntN(36)) * time.Hour)
			q.To = q.From.Add(time.Duration(rng.IntN(36)) * time.Hour)
		}
		if rng.IntN(4) == 0 {
			q.StatusClasses = []apilog.StatusClass{apilog.StatusClass(rng.IntN(5))}
		}
		if rng.IntN(4) == 0 {
			q.Methods = []string{pick("GET", "POST"), pick("PUT", "PATCH")}
		}
		if rng.IntN(5) == 0 {
			q.KeyIDs = []string{pick("key_1", "key_2", "", "key_gone")}
		}
		if rng.IntN(4) == 0 {
			q.MaxID = int64(1 + rng.IntN(2600)) // within the rows, or past them
		}
		f.query(q)
		if i == 75 { // change keys midway: rows follow
			keys[0].RevokedAt, keys[3].Name = t0, "renamed"
			f.key(keys[0], keys[3])
			f.deleteKey(keys[5].Account, keys[5].ID)
		}
	}
}

// testConcurrency appends and queries at once; run it with -race. Every
// row appended is counted exactly once at the end.
func testConcurrency(t *testing.T, f *fixture) {
	f.key(keyActive)
	const writers, readers, batches, batchSize = 4, 4, 25, 20
	var wg sync.WaitGroup
	var stop atomic.Bool
	errs := make(chan error, writers+readers)
	for w := range writers {
		wg.Go(func() {
			for b := range batches {
				es := make([]apilog.Entry, batchSize)
				for i := range es {
					es[i] = entry(fmt.Sprintf("w%d-%d-%d", w, b, i), b)
				}
				if err := f.s.Append(ctx, es); err != nil {
					errs <- err
					return
				}
				if b%5 == 0 {
					k := keyActive
					k.Name = fmt.Sprintf("name-%d-%d", w, b)
					if err := f.s.UpsertKey(ctx, k); err != nil {
						errs <- err
						return
					}
				}
			}
		})
	}
	var rd sync.WaitGroup
	for range readers {
		rd.Go(func() {
			last := 0
			for !stop.Load() {
				p, err := f.s.Query(ctx, inMain(apilog.Query{Search: search(t, "post"), PageSize: 10}))
				if err != nil {
					errs <- err
					return
				}
				if p.TotalRows < last || p.TotalRows%batchSize != 0 {
					errs <- fmt.Errorf("a query saw %d rows after %d: batches must appear whole and never vanish", p.TotalRows, last)
					return
				}
				last = p.TotalRows
			}
		})
	}
	wg.Wait()
	stop.Store(true)
	rd.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	p, err := f.s.Query(ctx, inMain(apilog.Query{}))
	if err != nil {
		t.Fatal(err)
	}
	if want := writers * batches * batchSize; p.TotalRows != want {
		t.Errorf("%d rows after concurrent appends, want %d", p.TotalRows, want)
	}
}
