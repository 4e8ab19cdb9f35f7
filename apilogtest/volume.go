package apilogtest

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/apilog/apilog"
	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

// testVolume checks the chart's counts against the reference
// (Query.ApplyVolume): apilog.CountVolume over every kind of view, and,
// when the store is an apilog.VolumeCounter, its counts in buckets of
// every size, aligned or not, with rows on their edges.
func testVolume(t *testing.T, f *fixture) {
	f.key(keyActive, keyNew, keyRotated, keyOther)
	streamRows(f, 1200)
	// Rows on bucket edges, a nanosecond either side of them, and of the
	// status class "other".
	var edges []apilog.Entry
	for i, d := range []time.Duration{0, -time.Nanosecond, time.Nanosecond, 10 * time.Second, time.Hour - time.Nanosecond, time.Hour, 24 * time.Hour} {
		e := entry(fmt.Sprintf("edge%d", i), 0)
		e.Time = t0.Add(d)
		e.Status = []int{0, 101, 200, 301, 404, 503, 999}[i]
		edges = append(edges, e)
	}
	f.add(edges...)
	pin := f.entries[len(f.entries)-1].ID
	late := entry("late", 7)
	late.Status = 500
	f.add(late) // past the pin below

	zone := time.FixedZone("UTC-3:30", -(3*3600 + 1800))
	views := []apilog.Query{
		inMain(apilog.Query{}),
		{AllAccounts: true},
		{Account: acctOther},
		{Account: "acct_none"},
		inMain(apilog.Query{StatusClasses: []apilog.StatusClass{apilog.StatusClientError, apilog.StatusServerError}}),
		inMain(apilog.Query{StatusClasses: []apilog.StatusClass{apilog.StatusOther}}),
		inMain(apilog.Query{Methods: []string{"GET", "DELETE"}}),
		inMain(apilog.Query{KeyIDs: []string{"key_old", ""}}),
		inMain(apilog.Query{Search: search(t, "things/1")}),
		inMain(apilog.Query{Search: search(t, "-key:staging status:4xx")}),
		inMain(apilog.Query{Search: search(t, "duration:>4ms")}),
		inMain(apilog.Query{Search: search(t, "req:s00100")}),
		inMain(apilog.Query{Search: search(t, "s00207 -req:s00207")}),
		inMain(apilog.Query{Search: search(t, "-req:s00100 status:4xx")}),
		{AllAccounts: true, Search: search(t, "s00104")},
		{AllAccounts: true, Search: search(t, "status:5xx")},
		inMain(apilog.Query{From: t0.Add(-95*time.Minute + 17*time.Second), To: t0.Add(33*time.Minute + time.Nanosecond)}),
		inMain(apilog.Query{From: t0.Add(-time.Hour).In(zone)}),
		inMain(apilog.Query{To: t0.Add(time.Hour).In(zone), StatusClasses: []apilog.StatusClass{apilog.StatusSuccess}}),
		inMain(apilog.Query{From: t0.Add(time.Minute), To: t0.Add(time.Minute)}), // empty
		inMain(apilog.Query{From: t0.Add(400 * time.Hour)}),                      // no rows
		inMain(apilog.Query{MaxID: pin}),
		inMain(apilog.Query{MaxID: pin, StatusClasses: []apilog.StatusClass{apilog.StatusServerError}}),
		inMain(apilog.Query{MaxID: f.entries[600].ID, Search: search(t, "post")}),
	}
	for _, q := range views {
		q.Now = now
		rows := f.rows(now)
		got, err := apilog.CountVolume(ctx, f.s, q)
		if err != nil {
			t.Fatalf("CountVolume(%s): %v", describe(q), err)
		}
		want := referenceVolume(t, q, rows)
		if diff := cmp.Diff(want, got, cmpopts.EquateEmpty()); diff != "" {
			t.Errorf("CountVolume(%s) differs from the reference (-want +got):\n%s", describe(q), diff)
		}
		if got.Start.Location() != time.UTC || got.Start.UnixNano()%int64(got.Step) != 0 {
			t.Errorf("CountVolume(%s) starts at %v, steps of %v: want UTC, a multiple of the step since the epoch", describe(q), got.Start, got.Step)
		}
		if got.N > 0 && (got.N > apilog.MaxChartBuckets || got.N < apilog.MinChartBuckets && got.Step > time.Minute) {
			t.Errorf("CountVolume(%s): %v, want %d to %d buckets", describe(q), got.Buckets, apilog.MinChartBuckets, apilog.MaxChartBuckets)
		}
	}

	vc, ok := f.s.(apilog.VolumeCounter)
	if !ok {
		t.Logf("%T is not an apilog.VolumeCounter: its chart is counted from apilog.Stream", f.s)
		return
	}
	day := t0.Truncate(24 * time.Hour)
	buckets := []apilog.Buckets{
		{Start: t0.Add(-6 * time.Hour), Step: 10 * time.Minute, N: 80},
		{Start: t0.Add(-6 * time.Hour), Step: time.Hour, N: 13},
		{Start: day.Add(-24 * time.Hour), Step: 24 * time.Hour, N: 3},
		{Start: t0.Add(-5 * time.Minute), Step: 10 * time.Second, N: 100},
		{Start: t0.Add(-3*time.Minute + 3*time.Second), Step: 7 * time.Second, N: 60},
		{Start: t0.Add(-time.Nanosecond), Step: 90 * time.Second, N: 40},
		{Start: t0.Add(-4 * time.Hour), Step: 5 * time.Minute, N: 1}, // one bucket, inside the data
		{Start: t0.Add(1000 * time.Hour), Step: time.Minute, N: 50},  // after every row
		{Start: t0, Step: time.Minute, N: 0},
	}
	for _, q := range views {
		q.Now = now
		for _, b := range buckets {
			got, err := vc.CountVolume(ctx, q, b)
			if err != nil {
				t.Fatalf("CountVolume(%s, %v): %v", describe(q), b, err)
			}
			want, err := q.ApplyVolume(f.rows(now), b)
			if err != nil {
				t.Fatalf("ApplyVolume(%s, %v): %v", describe(q), b, err)
			}
			if diff := cmp.Diff(want, got, cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("CountVolume(%s, %v) differs from the reference (-want +got):\n%s", describe(q), b, diff)
			}
		}
	}

	canceled, cancel := context.WithCancel(ctx)
	cancel()
	good := apilog.Buckets{Start: t0, Step: time.Minute, N: 10}
	for _, c := range []struct {
		ctx  context.Context
		q    apilog.Query
		b    apilog.Buckets
		want error
	}{
		{ctx, apilog.Query{}, good, apilog.ErrBadQuery},
		{ctx, inMain(apilog.Query{}), apilog.Buckets{Start: t0, N: 10}, apilog.ErrBadQuery},
		{ctx, inMain(apilog.Query{}), apilog.Buckets{Start: t0, Step: time.Second, N: apilog.MaxBuckets + 1}, apilog.ErrBadQuery},
		{ctx, inMain(apilog.Query{}), apilog.Buckets{Start: t0, Step: time.Duration(1) << 62, N: 10}, apilog.ErrBadQuery},
		{canceled, inMain(apilog.Query{}), good, context.Canceled},
		{canceled, inMain(apilog.Query{Search: search(t, "post")}), good, context.Canceled},
	} {
		if _, err := vc.CountVolume(c.ctx, c.q, c.b); !errors.Is(err, c.want) {
			t.Errorf("CountVolume(%s, %v): %v, want %v", describe(c.q), c.b, err, c.want)
		}
	}
}

// referenceVolume is CountVolume's answer computed from the rows: the
// buckets over q's range, closed at its scope's first and last rows.
func referenceVolume(t *testing.T, q apilog.Query, rows []apilog.Row) apilog.Volume {
	t.Helper()
	from, to := q.From, q.To
	var first, last time.Time
	for _, r := range rows {
		if (q.AllAccounts || r.Account == q.Account) && (q.MaxID == 0 || r.ID <= q.MaxID) &&
			(q.From.IsZero() || !r.Time.Before(q.From)) && (q.To.IsZero() || r.Time.Before(q.To)) {
			if first.IsZero() || r.Time.Before(first) {
				first = r.Time
			}
			if last.IsZero() || r.Time.After(last) {
				last = r.Time
			}
		}
	}
	if from.IsZero() || to.IsZero() {
		if first.IsZero() {
			from, to = time.Unix(0, 0), time.Unix(0, 0)
		} else if from.IsZero() {
			from = first
		}
		if to.IsZero() && !first.IsZero() {
			to = last.Add(time.Nanosecond)
		}
	}
	v := apilog.Volume{Buckets: apilog.ChartBuckets(from, to), From: from.UTC(), To: to.UTC()}
	if end := v.End(); v.To.After(end) {
		v.To = end
	}
	var err error
	if v.Counts, err = q.ApplyVolume(rows, v.Buckets); err != nil {
		t.Fatalf("ApplyVolume(%s): %v", describe(q), err)
	}
	return v
}
