// Package timecount keeps and reads row counts by time bucket at a few
// bucket sizes, so that a store answers a total, the count of a time range
// and the place of the n-th row in time order from a few hundred counts
// instead of counting rows.
//
// A store adds to its counts in the transaction that adds or removes rows
// ([Levels.Add]) and reads them, within one query's scope and snapshot,
// through a [Source]; a [Reader] does the arithmetic.
package timecount

import (
	"cmp"
	"context"
	"errors"
	"slices"
)

// Levels are the bucket sizes, as shifts of a time in Unix nanoseconds,
// largest first: a bucket of level l holds the rows with the same ts >> l.
// Each level's buckets split into the same number of the next level's, so
// consecutive levels differ by one constant, the fanout.
type Levels []int64

func (l Levels) fanout() int64 { return l[0] - l[1] }

// Key is one bucket of one account.
type Key struct{ Account, Level, Bucket int64 }

// Add adds d rows of account at ts to deltas, in a bucket of every level.
func (l Levels) Add(deltas map[Key]int64, account, ts, d int64) {
	for _, lv := range l {
		deltas[Key{account, lv, ts >> lv}] += d
	}
}

// Within returns the range of buckets of level index i that make up the
// bucket top of the first level.
func (l Levels) Within(top int64, i int) (lo, hi int64) {
	shift := l[0] - l[i]
	return top << shift, top<<shift | (1<<shift - 1)
}

// Bucket is a bucket's count of rows.
type Bucket struct{ Bucket, N int64 }

// Source reads a store's counts and rows within one query's scope (an
// account, or every one) and snapshot.
type Source interface {
	// Buckets returns the non-empty buckets of level (one of Levels) from
	// lo to hi, in ascending order.
	Buckets(ctx context.Context, level, lo, hi int64) ([]Bucket, error)
	// CountRows counts the rows with a time from lo to hi on the rows
	// themselves.
	CountRows(ctx context.Context, lo, hi int64) (int, error)
}

// ErrMismatch means the counts and the rows disagree: a bug, or a database
// changed by hand. A store reports it rather than return a wrong page.
var ErrMismatch = errors.New("time-bucket counts do not match the rows; the database was changed outside the store")

// Reader answers a query's questions from a Source. A query asks the same
// ones more than once (its total, then each end of its page), so the
// answers are kept: a Reader serves one query.
type Reader struct {
	Levels Levels
	Source Source

	atLeast map[int64]int
	lists   map[[3]int64][]Bucket
}

// buckets returns the buckets of level index i in [lo, hi], in ascending
// or descending order.
func (r *Reader) buckets(ctx context.Context, i int, lo, hi int64, desc bool) ([]Bucket, error) {
	k := [3]int64{int64(i), lo, hi}
	out, ok := r.lists[k]
	if !ok {
		var err error
		if out, err = r.Source.Buckets(ctx, r.Levels[i], lo, hi); err != nil {
			return nil, err
		}
		if r.lists == nil {
			r.lists = map[[3]int64][]Bucket{}
		}
		r.lists[k] = out
	}
	if desc {
		out = slices.Clone(out)
		slices.Reverse(out)
	}
	return out, nil
}

// span is the range of buckets of level index i inside the bucket of the
// level above that holds ts, or every bucket for the top level.
func (r *Reader) span(i int, ts int64) (lo, hi int64) {
	if i == 0 {
		return 0, 1<<63 - 1
	}
	f := r.Levels.fanout()
	up := ts >> r.Levels[i-1] << f
	return up, up | (1<<f - 1)
}

// AtLeast returns the number of rows with ts >= x: the buckets above x's
// at each level, and the rows of x's smallest bucket counted on the rows.
func (r *Reader) AtLeast(ctx context.Context, x int64) (int, error) {
	x = max(x, 0) // no row is older than 1970
	if n, ok := r.atLeast[x]; ok {
		return n, nil
	}
	sum := func(i int, lo, hi int64) (int, error) {
		bs, err := r.buckets(ctx, i, lo, hi, false)
		n := 0
		for _, b := range bs {
			n += int(b.N)
		}
		return n, err
	}
	var n int
	if x == 0 {
		var err error
		if n, err = sum(0, 0, 1<<63-1); err != nil {
			return 0, err
		}
	} else {
		for i, l := range r.Levels {
			_, hi := r.span(i, x)
			m, err := sum(i, x>>l+1, hi)
			if err != nil {
				return 0, err
			}
			n += m
		}
		last := r.Levels[len(r.Levels)-1]
		m, err := r.Source.CountRows(ctx, x, x|(1<<last-1))
		if err != nil {
			return 0, err
		}
		n += m
	}
	if r.atLeast == nil {
		r.atLeast = map[int64]int{}
	}
	r.atLeast[x] = n
	return n, nil
}

// Between returns the number of rows with from <= ts < to; toOpen means
// no upper bound.
func (r *Reader) Between(ctx context.Context, from, to int64, toOpen bool) (int, error) {
	n, err := r.AtLeast(ctx, from)
	if err != nil || toOpen {
		return n, err
	}
	above, err := r.AtLeast(ctx, to)
	return n - above, err
}

// Seek finds the row at rank (0-based) of the time order over every row:
// newest first when desc. It returns the bucket of the smallest level
// that holds it and the number of rows before that bucket.
func (r *Reader) Seek(ctx context.Context, rank int, desc bool) (bucket int64, before int, err error) {
	lo, hi := int64(0), int64(1<<63-1)
	f := r.Levels.fanout()
	for i := range r.Levels {
		bs, err := r.buckets(ctx, i, lo, hi, desc)
		if err != nil {
			return 0, 0, err
		}
		found := false
		for _, x := range bs {
			if before+int(x.N) > rank {
				bucket, found = x.Bucket, true
				break
			}
			before += int(x.N)
		}
		if !found {
			return 0, 0, ErrMismatch
		}
		lo = bucket << f
		hi = lo | (1<<f - 1)
	}
	return bucket, before, nil
}

// Rank returns the rank, in the time order over every row (newest first
// when desc), of the row at off in the same order over the rows with
// from <= ts < to only (fromOpen and toOpen: no such bound).
func (r *Reader) Rank(ctx context.Context, off int, desc bool, from, to int64, fromOpen, toOpen bool) (int, error) {
	switch {
	case desc && !toOpen:
		n, err := r.AtLeast(ctx, to)
		return off + n, err
	case !desc && !fromOpen:
		total, err := r.AtLeast(ctx, 0)
		if err != nil {
			return 0, err
		}
		n, err := r.AtLeast(ctx, from)
		return off + total - n, err
	}
	return off, nil
}

// Row is a row's place in the time order: its ID and its time.
type Row struct{ ID, Time int64 }

// Order is the time order over rows: by time, newest first when desc, and
// then by ID, highest first, whichever the direction (see
// apilog.TieBreak).
func Order(desc bool) func(a, b Row) int {
	return func(a, b Row) int {
		if c := cmp.Compare(a.Time, b.Time); c != 0 {
			if desc {
				return -c
			}
			return c
		}
		return cmp.Compare(b.ID, a.ID)
	}
}

// Step returns the rows at ranks [off, off+limit) of the time order once
// the rows above a row-ID bound (past, in any order) are left out, given
// window: the rows of the time order from rank off over every row, those
// above the bound included, limit+len(past) of them (or all there are).
// A store that knows the few rows added since a page was read so reads
// the pinned page off its time index, without testing each row.
func Step[T any](window []T, row func(T) Row, past []Row, bound int64, off, limit int, desc bool) []T {
	order := Order(desc)
	past = slices.SortedFunc(slices.Values(past), order)
	var out []T
	for i, x := range window {
		r := row(x)
		if r.ID > bound {
			continue
		}
		// Its rank among the rows within the bound: its place in the
		// window less the rows past the bound that come before it.
		before, _ := slices.BinarySearchFunc(past, r, order)
		if rank := off + i - before; rank >= off && rank < off+limit {
			out = append(out, x)
		}
	}
	return out
}
