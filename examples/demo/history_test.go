package main

import (
	"cmp"
	"context"
	"net/netip"
	"slices"
	"testing"
	"time"

	"github.com/apilog/apilog"
	"github.com/apilog/apilog/memstore"
)

// TestHistory records the demo's week of history into a store, through
// the middleware as the demo does, and checks that it tells the story the
// README promises: spread over the seven days, in time order, busier by
// day, with a burst of 5xx in the incident, and keys refused only once
// they were expired or revoked.
func TestHistory(t *testing.T) {
	const n = 9000
	zone := time.FixedZone("demo", 2*3600)
	now := time.Date(2026, 12, 2, 9, 30, 0, 0, zone) // a Wednesday morning
	ctx := context.Background()
	store := memstore.New(nil)
	defer store.Close()
	for _, k := range keys(now) {
		if err := store.UpsertKey(ctx, k.key); err != nil {
			t.Fatal(err)
		}
	}
	rec := apilog.NewRecorder(store, &apilog.RecorderOptions{BlockTimeout: 5 * time.Second})
	hasher, err := apilog.NewIPHasher(make([]byte, apilog.MinIPHashSecret))
	if err != nil {
		t.Fatal(err)
	}
	opts := apilog.MiddlewareOptions{Hasher: hasher, TrustedProxies: []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}}
	if err := record(ctx, rec, opts, now, n, 1); err != nil {
		t.Fatal(err)
	}
	if err := rec.Close(ctx); err != nil {
		t.Fatal(err)
	}

	var rows []apilog.Row
	for page := 1; ; page++ {
		p, err := store.Query(ctx, apilog.Query{AllAccounts: true, Page: page, PageSize: apilog.MaxPageSize,
			Sort: apilog.Sort{Column: apilog.ColumnTime, Dir: apilog.Asc}})
		if err != nil {
			t.Fatal(err)
		}
		rows = append(rows, p.Rows...)
		if page >= p.TotalPages {
			break
		}
	}
	if len(rows) != n {
		t.Fatalf("%d rows stored, want %d", len(rows), n)
	}

	// In time order: sorted by time, the IDs increase too.
	if !slices.IsSortedFunc(rows, func(a, b apilog.Row) int { return cmp.Compare(a.ID, b.ID) }) {
		t.Error("sorted by time, the row IDs do not increase")
	}

	// Each of the seven days back from now holds 10–20% of the rows.
	perDay := make([]int, 7)
	for _, r := range rows {
		age := now.Sub(r.Time)
		if age < 0 || age > week {
			t.Fatalf("row at %v: outside the week before %v", r.Time, now)
		}
		perDay[min(int(age/(24*time.Hour)), 6)]++
	}
	for d, c := range perDay {
		if share := float64(c) / n; share < 0.10 || share > 0.20 {
			t.Errorf("day %d before now holds %.1f%% of the rows, want 10–20%% (per day: %v)", d+1, 100*share, perDay)
		}
	}

	// Busier by day: the afternoons (12–18 local) carry at least twice the
	// nights (0–6).
	var nights, afternoons int
	for _, r := range rows {
		switch h := r.Time.In(zone).Hour(); {
		case h < 6:
			nights++
		case h >= 12 && h < 18:
			afternoons++
		}
	}
	if afternoons < 2*nights {
		t.Errorf("%d requests in the afternoons, %d at night: want a daily rhythm", afternoons, nights)
	}

	// The incident: its generations fail with 5xx, and it is busier than
	// the same 25 minutes the day before.
	in := incidentBefore(now)
	var during, dayBefore, posts, failed int
	for _, r := range rows {
		switch {
		case in.during(r.Time):
			during++
			// A generation the API accepted: not refused (401), nor of an
			// unknown model (404) or without a prompt (400).
			if r.Method == "POST" && !slices.Contains([]int{400, 401, 404}, r.Status) {
				posts++
				if r.Status >= 500 && r.ErrorCode == incidentCode {
					failed++
				}
			}
		case in.during(r.Time.Add(24 * time.Hour)):
			dayBefore++
		}
	}
	if posts == 0 || failed != posts {
		t.Errorf("in the incident, %d of %d accepted generations failed with 5xx, want all", failed, posts)
	}
	// Its error code is its own: a search for it shows the incident.
	for _, r := range rows {
		if r.ErrorCode == incidentCode && !in.during(r.Time) {
			t.Fatalf("a row with the incident's code %s at %v, outside the incident", incidentCode, r.Time)
		}
	}
	if during < 2*dayBefore || during == 0 {
		t.Errorf("%d requests in the incident, %d in the same minutes a day before: want a burst", during, dayBefore)
	}

	// A key was accepted until it expired or was revoked, and refused after.
	for _, k := range keys(now) {
		if k.key.ExpiresAt.IsZero() && k.key.RevokedAt.IsZero() {
			continue
		}
		end := k.key.ExpiresAt
		if end.IsZero() {
			end = k.key.RevokedAt
		}
		var before, after, refusedAfter int
		for _, r := range rows {
			if r.KeyID != k.key.ID {
				continue
			}
			if r.Time.Before(end) {
				if r.Status != 401 {
					before++
				}
				continue
			}
			after++
			if r.Status == 401 {
				refusedAfter++
			}
		}
		if before == 0 || after == 0 || refusedAfter != after {
			t.Errorf("key %s: %d accepted before %v; %d of %d refused after", k.key.ID, before, end, refusedAfter, after)
		}
	}
}
