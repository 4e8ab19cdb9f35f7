package sqlitestore

import (
	"context"
	"math"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/apilog/apilog"
	"github.com/apilog/apilog/apilogtest"
	"github.com/google/go-cmp/cmp"
)

// TestVolumeStrategies checks each way a chart is counted against the
// reference, on data of several weeks with rows on many bucket edges: the
// volume table (with the rows themselves at unaligned ends, and the rows
// past a pin taken off), SQL groups, and the masked scan, in chunks, off
// the time index and by ID.
func TestVolumeStrategies(t *testing.T) {
	var got []Strategy
	s, p, joined := pathsStore(t, 12_000, &got)
	defer func(rows int, share float64) { maskRows, idShare = rows, share }(maskRows, idShare)
	worst, err := apilog.ParseSearch(apilogtest.WorstSearch, apilogtest.Hasher{})
	if err != nil {
		t.Fatal(err)
	}
	// Statuses of no class but StatusOther, and rows in the last second
	// there is (past 2262: the end of a second there overflows).
	hour := p.Start.Add(time.Hour)
	extra := []apilog.Entry{}
	for i, code := range []int{0, 101, 999} {
		extra = append(extra, apilog.Entry{Account: "acct_a", KeyID: p.Keys[0].ID, Method: "GET", Status: code, Time: hour.Add(time.Duration(i)*time.Minute + 30*time.Second)})
	}
	for _, ns := range []int64{math.MaxInt64 - 100, math.MaxInt64 - 2e9, math.MaxInt64 - 10} {
		extra = append(extra, apilog.Entry{Account: "acct_a", KeyID: p.Keys[0].ID, Method: "GET", Status: 200, Time: time.Unix(0, ns)})
	}
	// Slow rows on bar edges, for the charts counted bar by bar.
	for _, at := range []time.Time{p.Start.Add(24 * time.Hour), p.Start.Add(7*time.Second + 21*time.Minute)} {
		extra = append(extra, apilog.Entry{Account: "acct_a", KeyID: p.Keys[0].ID, Method: "GET", Status: 200, Time: at, Duration: 500 * time.Millisecond})
	}
	if err := s.Append(context.Background(), extra); err != nil {
		t.Fatal(err)
	}
	chartRows := joined
	joined = apilogtest.Join(append(slices.Clip(p.Entries), extra...), p.Keys, p.Now)
	first, last := chartRows[0].Time, chartRows[0].Time
	for _, r := range chartRows {
		if r.Time.Before(first) {
			first = r.Time
		}
		if r.Time.After(last) {
			last = r.Time
		}
	}
	chart := apilog.ChartBuckets(first, last.Add(time.Nanosecond))
	end := apilog.Buckets{Start: time.Unix(0, math.MaxInt64-60e9-1), Step: 20 * time.Second, N: 3}
	// A bucket edge in the second (as the indexes hold it, ts >> 30) of
	// the thousand rows just after the hour.
	u := hour.UnixNano() >> 30
	edge := time.Unix(0, (max(hour.UnixNano(), u<<30)+min(hour.UnixNano()+1e9, (u+1)<<30))/2)
	keys := []string{}
	for _, k := range p.Keys {
		keys = append(keys, k.ID)
	}
	odd := apilog.Buckets{Start: p.Start.Add(7 * time.Second), Step: 7 * time.Minute, N: 100}
	minutes := apilog.Buckets{Start: hour.Add(-10 * time.Minute), Step: 10 * time.Second, N: 200}
	a := func(q apilog.Query) apilog.Query { q.Account = "acct_a"; return q }
	classes := []apilog.StatusClass{apilog.StatusClientError, apilog.StatusServerError}
	for _, c := range []struct {
		name string
		q    apilog.Query
		b    apilog.Buckets
		want Strategy
	}{
		{"all time", a(apilog.Query{}), chart, StrategyVolumeCounts},
		{"every account", apilog.Query{AllAccounts: true}, chart, StrategyVolumeCounts},
		{"classes", a(apilog.Query{StatusClasses: classes}), chart, StrategyVolumeCounts},
		{"unaligned range", a(apilog.Query{From: p.Start.Add(3*24*time.Hour + 1234567), To: p.Start.Add(9*24*time.Hour - 3*time.Second)}), chart, StrategyVolumeCounts},
		{"the second of a thousand rows", a(apilog.Query{From: hour.Add(-1), To: hour.Add(time.Second / 2)}), minutes, StrategyVolumeCounts},
		{"pinned", a(apilog.Query{MaxID: 11_500, StatusClasses: classes}), chart, StrategyVolumeCounts},
		{"pinned far back", a(apilog.Query{MaxID: 1000}), chart, StrategyVolumeCounts},
		{"unaligned buckets", a(apilog.Query{}), odd, StrategyVolumeGroups},
		{"key", a(apilog.Query{KeyIDs: []string{p.Keys[0].ID, p.Keys[3].ID}}), chart, StrategyVolumeGroups},
		{"search", a(apilog.Query{Search: search(t, "flux status:4xx")}), chart, StrategyVolumeGroups},
		// The value indexes hold the second, not the time: the seconds at a
		// bucket's edge and the range's are read from the table.
		{"key, the second of a thousand rows", a(apilog.Query{KeyIDs: []string{p.Keys[0].ID}, From: hour.Add(-1), To: hour.Add(time.Second / 2)}), minutes, StrategyVolumeGroups},
		{"key, the range's start in that second", a(apilog.Query{KeyIDs: []string{p.Keys[0].ID}}), apilog.Buckets{Start: hour.Add(-time.Second / 3), Step: time.Minute, N: 5}, StrategyVolumeGroups},
		{"keys, a bucket edge in that second", a(apilog.Query{KeyIDs: keys}), apilog.Buckets{Start: edge.Add(-time.Minute), Step: time.Minute, N: 5}, StrategyVolumeGroups},
		{"key, the last second there is", a(apilog.Query{KeyIDs: []string{p.Keys[0].ID}}), end, StrategyVolumeGroups},
		{"the last second there is", a(apilog.Query{}), end, StrategyVolumeGroups},
		{"pinned, unaligned", a(apilog.Query{MaxID: 11_000}), odd, StrategyVolumeGroups},
		{"duration, a day", a(apilog.Query{Search: search(t, "duration:>100ms"), From: p.Start.Add(24*time.Hour + 5), To: p.Start.Add(48 * time.Hour)}), chart, StrategyVolumeBars},
		{"a negated search, a day", a(apilog.Query{Search: search(t, "-flux"), From: p.Start.Add(24 * time.Hour), To: p.Start.Add(48*time.Hour - 5)}), chart, StrategyVolumeGroups},
		{"search, unaligned", a(apilog.Query{Search: search(t, "flux"), From: p.Start.Add(2*24*time.Hour + 999), To: p.Start.Add(5*24*time.Hour - 1)}), chart, StrategyVolumeGroups},
		{"search, pinned", a(apilog.Query{Search: search(t, "flux"), MaxID: 11_000}), chart, StrategyVolumeGroups},
		{"every account, search", apilog.Query{AllAccounts: true, Search: search(t, "flux")}, chart, StrategyVolumeGroups},
		{"duration", a(apilog.Query{Search: search(t, "duration:>100ms")}), chart, StrategyVolumeBars},
		{"duration, unaligned", a(apilog.Query{Search: search(t, "duration:10ms-2s"), From: p.Start.Add(5), To: p.Start.Add(3 * 24 * time.Hour)}), odd, StrategyVolumeBars},
		{"duration and a key", a(apilog.Query{Search: search(t, "duration:10ms-2s"), KeyIDs: []string{p.Keys[0].ID}}), odd, StrategyVolumeGroups},
		{"duration, the last second there is", a(apilog.Query{Search: search(t, "duration:<1s")}), end, StrategyVolumeBars},
		{"two durations, pinned, classes", a(apilog.Query{Search: search(t, "duration:>100ms duration:<1.5s"), MaxID: 11_000, StatusClasses: classes}), chart, StrategyVolumeBars},
		{"durations no row has", a(apilog.Query{Search: search(t, "duration:>1000h")}), chart, ""},
		{"every account, duration", apilog.Query{AllAccounts: true, Search: search(t, "duration:>100ms")}, chart, StrategyVolumeGroups},
		{"broad search", apilog.Query{AllAccounts: true, Search: worst}, chart, StrategyMask},
		{"broad search by ID", apilog.Query{AllAccounts: true, Search: worst, MaxID: 9_000}, chart, StrategyMask},
		{"broad search, unaligned", a(apilog.Query{Search: worst, StatusClasses: classes}), odd, StrategyMask},
		{"from before 1970", a(apilog.Query{}), apilog.Buckets{Start: time.Unix(-1e9, 0), Step: 40 * 24 * time.Hour, N: 1000}, StrategyVolumeGroups},
		{"unknown account", apilog.Query{Account: "acct_none"}, chart, ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			maskRows, idShare = 333, 2
			if c.q.MaxID > 0 {
				idShare = 0
			}
			got = nil
			c.q.Now = p.Now
			counts, err := s.CountVolume(context.Background(), c.q, c.b)
			if err != nil {
				t.Fatal(err)
			}
			if c.want != "" && !slices.Equal(got, []Strategy{c.want}) {
				t.Errorf("strategies %q, want %q", got, c.want)
			}
			want, err := c.q.ApplyVolume(joined, c.b)
			if err != nil {
				t.Fatal(err)
			}
			total := 0
			for _, w := range want {
				total += w.Total()
			}
			if total == 0 && c.want != "" {
				t.Fatalf("the reference counts no rows")
			}
			if diff := cmp.Diff(want, counts); diff != "" {
				t.Errorf("differs from the reference (-want +got):\n%s", diff)
			}
		})
	}
}

func search(t *testing.T, text string) apilog.Search {
	t.Helper()
	s, err := apilog.ParseSearch(text, apilogtest.Hasher{})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// TestCover checks the splitting of a range into the volume table's
// buckets: whole buckets of the largest size in the middle, smaller ones
// and bare rows at the ends, every instant once.
func TestCover(t *testing.T) {
	const s, m, h = int64(10e9), int64(60e9), int64(3600e9)
	sizes := []int64{s, m, h}
	for _, c := range []struct {
		lo, hi int64
		want   []piece
	}{
		{0, 3 * h, []piece{{h, 0, 3 * h}}},
		{1, 2 * h, []piece{{0, 1, s}, {s, s, m}, {m, m, h}, {h, h, 2 * h}}},
		{h - 1, h + 1, []piece{{0, h - 1, h + 1}}},
		{2*h + 5*m + 3*s, 4*h + 2*m + 1, []piece{{s, 2*h + 5*m + 3*s, 2*h + 6*m}, {m, 2*h + 6*m, 3 * h}, {h, 3 * h, 4 * h}, {m, 4 * h, 4*h + 2*m}, {0, 4*h + 2*m, 4*h + 2*m + 1}}},
		{5, 5, nil},
		{1<<63 - 1 - s, 1<<63 - 1, []piece{{0, 1<<63 - 1 - s, 1<<63 - 1}}},
	} {
		if diff := cmp.Diff(c.want, cover(c.lo, c.hi, sizes), cmp.AllowUnexported(piece{})); diff != "" {
			t.Errorf("cover(%d, %d) (-want +got):\n%s", c.lo, c.hi, diff)
		}
	}
}

// TestVolumeGroupsOffIndex checks that a filtered chart counts its matches
// off one index alone, as SQLite plans it: read from the table, each match
// was a random read, and the chart took three times as long (0.3 s for
// 167,000 matches of a million rows).
func TestVolumeGroupsOffIndex(t *testing.T) {
	var got []Strategy
	s, p, _ := pathsStore(t, 2_000, &got)
	b := apilog.Buckets{Start: p.Start, Step: time.Hour, N: 1000}
	for _, c := range []struct {
		name  string
		q     apilog.Query
		index string
		bars  bool
	}{
		{"key", apilog.Query{KeyIDs: []string{p.Keys[0].ID}}, idxKey, false},
		{"method", apilog.Query{Methods: []string{"DELETE"}}, idxMethod, false},
		{"search", apilog.Query{Search: search(t, "flux")}, idxEndpoint, false},
		{"duration", apilog.Query{Search: search(t, "duration:>100ms")}, idxDuration, false},
		{"duration, bar by bar", apilog.Query{Search: search(t, "duration:>100ms")}, idxDuration, true},
		{"status", apilog.Query{Search: search(t, "status:404")}, idxStatus, false},
		{"pinned", apilog.Query{Search: search(t, "flux"), MaxID: 1000}, idxEndpoint, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			c.q.Account, c.q.Now, c.q.From, c.q.To = "acct_a", p.Now, b.Start, b.End()
			var steps []string
			err := s.read(context.Background(), c.q, 0, func(r *reader, q *apilog.Query) error {
				pl, err := s.compile(r.ctx, r.tx, q, 2_000)
				if err != nil || pl.None || pl.masked {
					t.Fatalf("compiled: none %v, masked %v, %v", pl.None, pl.masked, err)
				}
				var query string
				var args []any
				if c.bars {
					span, _ := pl.durationSpan()
					query, args = pl.volumeBarsSQL(b, durationGroups(span.Lo, span.Hi))
				} else if query, args, err = pl.volumeGroupsSQL(r.ctx, b); err != nil {
					return err
				}
				steps, err = queryAll(r.ctx, r.tx, "EXPLAIN QUERY PLAN "+query, args, func(sc scanFunc) (d string, err error) {
					var id, parent, unused int64
					return d, sc(&id, &parent, &unused, &d)
				})
				return err
			})
			if err != nil {
				t.Fatal(err)
			}
			want := "USING COVERING INDEX " + c.index + " "
			if c.bars {
				// Each bar's ranges of the index, not a scan of it.
				want = "USING COVERING INDEX " + idxDuration + " (account=? AND <expr>=? AND ts>? AND ts<?)"
			}
			if !slices.ContainsFunc(steps, func(d string) bool { return strings.Contains(d, want) }) {
				t.Errorf("the chart's plan %q does not read %s alone", steps, c.index)
			}
		})
	}
}
