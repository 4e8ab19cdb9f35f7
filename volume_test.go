package apilog_test

import (
	"errors"
	"math"
	"testing"
	"time"

	"github.com/apilog/apilog"
)

func TestChartBuckets(t *testing.T) {
	at := time.Date(2026, 12, 3, 14, 7, 31, 5, time.UTC)
	zone := time.FixedZone("UTC+5:45", 5*3600+45*60)
	for _, c := range []struct {
		span time.Duration
		step time.Duration
	}{
		{time.Nanosecond, time.Minute},
		{30 * time.Minute, time.Minute},
		{119 * time.Minute, time.Minute},
		{2 * time.Hour, 2 * time.Minute}, // 121 buckets of a minute, once aligned
		{24 * time.Hour, 15 * time.Minute},
		{7 * 24 * time.Hour, 2 * time.Hour},
		{29 * 24 * time.Hour, 6 * time.Hour},
		{30 * 24 * time.Hour, 12 * time.Hour},
		{365 * 24 * time.Hour, 5 * 24 * time.Hour},
		{200 * 360 * 24 * time.Hour, 606 * 24 * time.Hour},
	} {
		for _, from := range []time.Time{at, at.In(zone)} {
			b := apilog.ChartBuckets(from, from.Add(c.span))
			if b.Step != c.step {
				t.Errorf("ChartBuckets over %v: steps of %v, want %v", c.span, b.Step, c.step)
			}
			if b.Start.Location() != time.UTC || b.Start.UnixNano()%int64(b.Step) != 0 {
				t.Errorf("ChartBuckets over %v from %v: starts at %v, want UTC on a multiple of %v", c.span, from, b.Start, b.Step)
			}
			if b.Start.After(from) || b.End().Before(from.Add(c.span)) {
				t.Errorf("ChartBuckets over %v from %v: %v, which does not cover the range", c.span, from, b)
			}
			if b.N > apilog.MaxChartBuckets || b.Step > time.Minute && b.N < apilog.MinChartBuckets {
				t.Errorf("ChartBuckets over %v: %v, want %d to %d buckets", c.span, b, apilog.MinChartBuckets, apilog.MaxChartBuckets)
			}
			if err := b.Validate(); err != nil {
				t.Errorf("ChartBuckets over %v: %v", c.span, err)
			}
		}
	}
	if b := apilog.ChartBuckets(at, at); b.N != 0 {
		t.Errorf("ChartBuckets of an empty range: %v, want none", b)
	}
	// Ranges to and past the ends of the times a row can hold.
	for _, r := range [][2]time.Time{
		{time.Unix(0, 0), time.Date(9999, 1, 1, 0, 0, 0, 0, time.UTC)},
		{time.Date(1, 1, 1, 0, 0, 0, 0, time.UTC), time.Unix(0, 1<<63-1)},
		{time.Unix(0, 1<<63-1-int64(time.Minute)), time.Unix(0, 1<<63-1)},
		{time.Date(1900, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(1969, 1, 1, 0, 0, 0, 0, time.UTC)},
	} {
		b := apilog.ChartBuckets(r[0], r[1])
		if err := b.Validate(); err != nil || b.N > apilog.MaxChartBuckets || b.N < 0 {
			t.Errorf("ChartBuckets(%v, %v) = %v: %v", r[0], r[1], b, err)
		}
	}
}

func TestBucketsValidate(t *testing.T) {
	at := time.Date(2026, 12, 3, 0, 0, 0, 0, time.UTC)
	for _, c := range []struct {
		b  apilog.Buckets
		ok bool
	}{
		{apilog.Buckets{Start: at, Step: time.Minute, N: 0}, true},
		{apilog.Buckets{Start: at, Step: time.Nanosecond, N: apilog.MaxBuckets}, true},
		{apilog.Buckets{Start: time.Unix(0, -1<<63), Step: time.Duration(1<<63 - 1), N: 1}, true},
		{apilog.Buckets{Start: at, Step: 0, N: 1}, false},
		{apilog.Buckets{Start: at, Step: -time.Second, N: 1}, false},
		{apilog.Buckets{Start: at, Step: time.Second, N: -1}, false},
		{apilog.Buckets{Start: at, Step: time.Second, N: apilog.MaxBuckets + 1}, false},
		{apilog.Buckets{Start: time.Time{}, Step: time.Second, N: 1}, false},
		{apilog.Buckets{Start: at, Step: 250 * 365 * 24 * time.Hour, N: 1}, false},
		{apilog.Buckets{Start: time.Unix(0, -1<<63), Step: time.Duration(1<<63 - 1), N: 2}, false}, // spans past a Duration
		{apilog.Buckets{Start: time.Unix(0, -6e18), Step: 4e18, N: 3}, false},
		{apilog.Buckets{Start: time.Unix(0, -6e18), Step: 3e18, N: 3}, true},
	} {
		err := c.b.Validate()
		var qe *apilog.QueryError
		if c.ok && err != nil || !c.ok && (!errors.As(err, &qe) || qe.Param != apilog.ParamBuckets) {
			t.Errorf("%v.Validate() = %v, want ok %v", c.b, err, c.ok)
		}
	}
}

// FuzzChartBuckets: for any range, the chart's buckets are valid, at most
// MaxChartBuckets, aligned, and cover the range within the times a row
// can hold (but for a last bucket that would end past 2262).
func FuzzChartBuckets(f *testing.F) {
	f.Add(int64(0), int64(1))
	f.Add(int64(1790812800000000000), int64(1790833400000000000))
	f.Add(int64(math.MinInt64), int64(math.MaxInt64))
	f.Add(int64(math.MaxInt64-int64(time.Minute)), int64(math.MaxInt64))
	f.Fuzz(func(t *testing.T, a, b int64) {
		from, to := time.Unix(0, a), time.Unix(0, b)
		bk := apilog.ChartBuckets(from, to)
		if err := bk.Validate(); err != nil || bk.N < 0 || bk.N > apilog.MaxChartBuckets {
			t.Fatalf("ChartBuckets(%d, %d) = %v: %v", a, b, bk, err)
		}
		start := bk.Start.UnixNano()
		if start%int64(bk.Step) != 0 {
			t.Fatalf("ChartBuckets(%d, %d) = %v: not aligned", a, b, bk)
		}
		lo, hi := max(a, 0), max(b, 0)
		if hi <= lo {
			if bk.N != 0 {
				t.Fatalf("ChartBuckets(%d, %d) = %v: buckets for an empty range", a, b, bk)
			}
			return
		}
		if start > lo {
			t.Fatalf("ChartBuckets(%d, %d) = %v: starts after the range", a, b, bk)
		}
		if end := bk.End().UnixNano(); end < hi && end <= math.MaxInt64-int64(bk.Step) {
			t.Fatalf("ChartBuckets(%d, %d) = %v: ends before the range", a, b, bk)
		}
	})
}
