package apilog

import (
	"context"
	"fmt"
	"math"
	"time"
)

// ClassCounts counts rows by status class: ClassCounts[StatusServerError]
// is the 5xx rows.
type ClassCounts [StatusServerError + 1]int

// Total returns the rows of every class.
func (c ClassCounts) Total() int {
	n := 0
	for _, v := range c {
		n += v
	}
	return n
}

// Buckets are N equal spans of time from Start: bucket i holds the times
// in [Start + i·Step, Start + (i+1)·Step).
type Buckets struct {
	Start time.Time
	Step  time.Duration
	N     int
}

// MaxBuckets bounds Buckets.N, so that a chart's request cannot make a
// store count into unbounded memory.
const MaxBuckets = 1000

// Validate returns a [*QueryError] when b cannot be counted into: a step
// below one nanosecond, more than MaxBuckets buckets, a start or an end
// that a time in Unix nanoseconds cannot hold (1678 to 2262), or buckets
// that span more than a Duration does (292 years).
func (b Buckets) Validate() error {
	start := b.Start.UnixNano()
	switch {
	case b.Step <= 0:
		return badQuery(ParamBuckets, "a step of %v: want a positive duration", b.Step)
	case b.N < 0 || b.N > MaxBuckets:
		return badQuery(ParamBuckets, "%d buckets: want 0 to %d", b.N, MaxBuckets)
	case !time.Unix(0, start).Equal(b.Start):
		return badQuery(ParamBuckets, "start %v: want a time from 1678 to 2262", b.Start)
	case b.N > 0 && (uint64(b.Step) > (math.MaxInt64-uint64(start))/uint64(b.N) || int64(b.Step) > math.MaxInt64/int64(b.N)):
		// The end, and the span of the buckets (a Duration), must hold.
		return badQuery(ParamBuckets, "%d buckets of %v from %v: they must end by 2262 and span at most 292 years", b.N, b.Step, b.Start.UTC())
	}
	return nil
}

// Index returns the bucket that holds ts, a time in Unix nanoseconds, or
// false when none does. b must be valid.
func (b Buckets) Index(ts int64) (int, bool) {
	start := b.Start.UnixNano()
	if ts < start {
		return 0, false
	}
	i := (uint64(ts) - uint64(start)) / uint64(b.Step) // the difference may pass MaxInt64
	if i >= uint64(b.N) {
		return 0, false
	}
	return int(i), true
}

// At returns the start of bucket i.
func (b Buckets) At(i int) time.Time { return b.Start.Add(time.Duration(i) * b.Step) }

// End returns the end of the last bucket.
func (b Buckets) End() time.Time { return b.At(b.N) }

// Volume is the number of rows a query selects in each time bucket, by
// status class: what the Logs page's chart draws.
type Volume struct {
	Buckets
	Counts []ClassCounts // one per bucket
	// From and To are the range counted, [From, To): the query's, its
	// open ends closed at its scope's first row and just after its last.
	// The first and last buckets may reach beyond them.
	From, To time.Time
}

// VolumeCounter is a Store that counts the rows of a query by time bucket
// and status class itself, from summaries or in one pass over the rows.
// Every store of this module implements it; [CountVolume] counts any
// Store, through VolumeCounter when it can.
type VolumeCounter interface {
	// CountVolume returns, for each of b's buckets, the rows that match q
	// (its search, filters, time range and row-ID bound; q.Sort, q.Page
	// and q.PageSize are ignored) with a time in the bucket, by status
	// class. A malformed q or b returns an error wrapping a [*QueryError].
	CountVolume(ctx context.Context, q Query, b Buckets) ([]ClassCounts, error)
}

// ApplyVolume returns the counts of b's buckets of the rows q selects from
// rows: the reference semantics of [VolumeCounter.CountVolume].
func (q Query) ApplyVolume(rows []Row, b Buckets) ([]ClassCounts, error) {
	q, err := q.Normalize()
	if err != nil {
		return nil, err
	}
	if err := b.Validate(); err != nil {
		return nil, err
	}
	out := make([]ClassCounts, b.N)
	for i := range rows {
		if q.Match(&rows[i]) {
			if j, ok := b.Index(rows[i].Time.UnixNano()); ok {
				out[j][ClassOf(rows[i].Status)]++
			}
		}
	}
	return out, nil
}

// The chart's number of buckets: at least MinChartBuckets when the range
// spans that many minutes, at most MaxChartBuckets.
const (
	MinChartBuckets = 40
	MaxChartBuckets = 120
)

// chartSteps are the round bucket sizes of a chart, each at most three
// times the one before, so that the first to give at most
// MaxChartBuckets buckets (one of them cut by the alignment) gives at
// least MinChartBuckets.
var chartSteps = []time.Duration{
	time.Minute, 2 * time.Minute, 5 * time.Minute, 10 * time.Minute, 15 * time.Minute, 30 * time.Minute,
	time.Hour, 2 * time.Hour, 3 * time.Hour, 6 * time.Hour, 12 * time.Hour,
	day, 2 * day, 5 * day, 10 * day, 30 * day, 90 * day, 180 * day, 360 * day,
}

const day = 24 * time.Hour

// ChartBuckets returns the buckets of a chart of the times [from, to),
// taken within the times a row can hold (1970 to 2262): the smallest round
// step (1 minute, 2, 5, 10, 15, 30 minutes, 1 hour, 2, 3, 6, 12 hours, 1
// day, 2, 5, 10, 30, 90, 180, 360 days, then whole days) that needs at
// most MaxChartBuckets buckets, each aligned to a multiple of the step
// since the Unix epoch, so that the buckets of a day start at UTC
// midnight whatever the viewer's time zone. An empty range has no buckets.
// A bucket that would end past 2262 is left out.
func ChartBuckets(from, to time.Time) Buckets {
	lo, hi := clampNanos(from), clampNanos(to)
	aligned := func(step time.Duration) Buckets {
		start := lo / int64(step) * int64(step)
		b := Buckets{Start: time.Unix(0, start).UTC(), Step: step}
		if hi > lo {
			n := (uint64(hi-start) + uint64(step) - 1) / uint64(step)
			if n*uint64(step) > math.MaxInt64-uint64(start) {
				n-- // the last bucket would end past 2262
			}
			b.N = int(n) // steps are a minute or more: n is under 2^38
		}
		return b
	}
	for _, step := range chartSteps {
		if b := aligned(step); b.N <= MaxChartBuckets {
			return b
		}
	}
	// Past the last round step (beyond a century), whole days.
	step := (time.Duration(hi-lo)/(MaxChartBuckets-1) + day - 1) / day * day
	for {
		if b := aligned(step); b.N <= MaxChartBuckets {
			return b
		}
		step += day
	}
}

// clampNanos returns t in Unix nanoseconds, within the times a row can
// hold.
func clampNanos(t time.Time) int64 {
	switch {
	case t.Before(time.Unix(0, 0)):
		return 0
	case t.After(time.Unix(0, math.MaxInt64)):
		return math.MaxInt64
	}
	return t.UnixNano()
}

// CountVolume counts the rows q selects by status class in the buckets of
// [ChartBuckets] over q's time range, its open ends taken from the first
// and last rows in q's scope (its account, up to q.MaxID): all time, for
// a query without a range. The axis then stays the same as the filters
// change. It counts through s's own CountVolume when s is a
// [VolumeCounter]; otherwise it reads every matching row with [Stream].
func CountVolume(ctx context.Context, s Store, q Query) (Volume, error) {
	from, to, err := span(ctx, s, q)
	if err != nil {
		return Volume{}, err
	}
	v := Volume{Buckets: ChartBuckets(from, to), From: from, To: to}
	if end := v.End(); v.To.After(end) {
		v.To = end // ChartBuckets leaves out a bucket that would end past 2262
	}
	if v.N == 0 {
		return v, nil
	}
	if err := v.Validate(); err != nil {
		return Volume{}, err // a bug of ChartBuckets: never a panic in the fallback
	}
	if vc, ok := s.(VolumeCounter); ok {
		v.Counts, err = vc.CountVolume(ctx, q, v.Buckets)
		return v, err
	}
	v.Counts = make([]ClassCounts, v.N)
	err = Stream(ctx, s, q, math.MaxInt, func(rows []Row) error {
		for i := range rows {
			if j, ok := v.Index(rows[i].Time.UnixNano()); ok {
				v.Counts[j][ClassOf(rows[i].Status)]++
			}
		}
		return nil
	})
	return v, err
}

// span returns the time range of q's chart: q's range, its open ends
// closed at the first row and just after the last row in q's scope. With
// no row in scope an open range is empty.
func span(ctx context.Context, s Store, q Query) (from, to time.Time, err error) {
	if q, err = q.Normalize(); err != nil {
		return time.Time{}, time.Time{}, err
	}
	from, to = q.From, q.To
	scope := Query{Account: q.Account, AllAccounts: q.AllAccounts, From: q.From, To: q.To, MaxID: q.MaxID, Now: q.Now, PageSize: 1}
	for _, end := range []struct {
		t   *time.Time
		dir Direction
	}{{&from, Asc}, {&to, Desc}} {
		if !end.t.IsZero() {
			continue
		}
		scope.Sort = Sort{Column: ColumnTime, Dir: end.dir}
		p, err := s.Query(ctx, scope)
		if err != nil {
			return time.Time{}, time.Time{}, err
		}
		if len(p.Rows) == 0 {
			return time.Unix(0, 0).UTC(), time.Unix(0, 0).UTC(), nil
		}
		*end.t = p.Rows[0].Time
		if end.dir == Desc {
			*end.t = end.t.Add(time.Nanosecond)
		}
	}
	return from.UTC(), to.UTC(), nil
}

// String describes b for messages.
func (b Buckets) String() string {
	return fmt.Sprintf("%d buckets of %v from %s", b.N, b.Step, b.Start.UTC().Format(time.RFC3339Nano))
}
