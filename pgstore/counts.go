package pgstore

import (
	"cmp"
	"context"
	"maps"
	"slices"

	"github.com/jackc/pgx/v5"
)

// levels are the bucket sizes of the counts table, largest first: a bucket
// of level l holds the rows with the same ts >> l, one bucket of a level
// spans 1<<fanout buckets of the next, and one of the top level is one
// partition of entries.
var levels = [...]int64{partitionBits, 38, 30}

const fanout = 8 // levels[i] - levels[i+1]

type countKey struct{ account, level, bucket int64 }

// addCount adds d rows at ts to the buckets of every level.
func addCount(deltas map[countKey]int64, account, ts, d int64) {
	for _, l := range levels {
		deltas[countKey{account, l, ts >> l}] += d
	}
}

func mapsKeys[K comparable, V any](m map[K]V) func(func(K) bool) { return maps.Keys(m) }

// queueCounts queues the upsert of deltas into shard, in key order: two
// writers that share a shard lock its rows in the same order.
func queueCounts(s *Store, b *pgx.Batch, deltas map[countKey]int64, shard int16) {
	keys := slices.SortedFunc(maps.Keys(deltas), func(a, b countKey) int {
		return cmp.Or(cmp.Compare(a.account, b.account), cmp.Compare(a.level, b.level), cmp.Compare(a.bucket, b.bucket))
	})
	var accts, lvls, buckets, ns []int64
	for _, k := range keys {
		accts, lvls, buckets, ns = append(accts, k.account), append(lvls, k.level), append(buckets, k.bucket), append(ns, deltas[k])
	}
	b.Queue(s.sql(`INSERT INTO {s}.counts (account, level, bucket, shard, n)
		SELECT a, l, b, $5, n FROM unnest($1::int4[], $2::int2[], $3::int8[], $4::int8[]) AS u(a, l, b, n)
		ON CONFLICT (account, level, bucket, shard) DO UPDATE SET n = {s}.counts.n + excluded.n`), accts, lvls, buckets, ns, shard)
}

// span is the range of buckets of level index i inside the bucket of the
// level above that holds ts, or every bucket for the top level.
func span(i int, ts int64) (lo, hi int64) {
	if i == 0 {
		return 0, 1<<63 - 1
	}
	up := ts >> levels[i-1] << fanout
	return up, up | (1<<fanout - 1)
}

// bucket is one bucket of the counts table, summed over shards.
type bucket struct{ b, n int64 }

// buckets returns the buckets of level index i in [lo, hi] of the plan's
// scope, in ascending or descending order. A query reads the same ranges
// for its total and for each end of its page, so they are kept.
func (pl *exec) buckets(ctx context.Context, i int, lo, hi int64, desc bool) ([]bucket, error) {
	k := [3]int64{int64(i), lo, hi}
	out, ok := pl.bucketLists[k]
	if !ok {
		rows, err := pl.tx.Query(ctx, pl.s.sql(`SELECT bucket, sum(n)::int8 FROM {s}.counts
			WHERE account = $1 AND level = $2 AND bucket BETWEEN $3 AND $4 GROUP BY bucket HAVING sum(n) > 0 ORDER BY bucket`),
			pl.acct, levels[i], lo, hi)
		if err != nil {
			return nil, err
		}
		var x bucket
		if _, err = pgx.ForEachRow(rows, []any{&x.b, &x.n}, func() error { out = append(out, x); return nil }); err != nil {
			return nil, err
		}
		if pl.bucketLists == nil {
			pl.bucketLists = map[[3]int64][]bucket{}
		}
		pl.bucketLists[k] = out
	}
	if desc {
		out = slices.Clone(out)
		slices.Reverse(out)
	}
	return out, nil
}

// atLeast returns the number of rows in scope with ts >= x: the buckets
// above x's at each level, and the rows of x's smallest bucket counted on
// the time index. A query asks for the same bounds more than once (its
// total, then its page), so the answers are kept in the plan.
func (pl *exec) atLeast(ctx context.Context, x int64) (int, error) {
	x = max(x, 0) // no row is older than 1970
	if n, ok := pl.counted[x]; ok {
		return n, nil
	}
	sum := func(i int, lo, hi int64) (int, error) {
		bs, err := pl.buckets(ctx, i, lo, hi, false)
		n := 0
		for _, b := range bs {
			n += int(b.n)
		}
		return n, err
	}
	var n int
	if x == 0 {
		var err error
		if n, err = sum(0, 0, maxTS); err != nil {
			return 0, err
		}
	} else {
		for i, l := range levels {
			_, hi := span(i, x)
			m, err := sum(i, x>>l+1, hi)
			if err != nil {
				return 0, err
			}
			n += m
		}
		last := levels[len(levels)-1]
		m, err := pl.countTime(ctx, x, x|(1<<last-1))
		if err != nil {
			return 0, err
		}
		n += m
	}
	if pl.counted == nil {
		pl.counted = map[int64]int{}
	}
	pl.counted[x] = n
	return n, nil
}

// inRange returns the number of rows in scope within the query's time
// range: the total of the unfiltered view.
func (pl *exec) inRange(ctx context.Context) (int, error) {
	n, err := pl.atLeast(ctx, pl.From)
	if err != nil || pl.ToOpen {
		return n, err
	}
	above, err := pl.atLeast(ctx, pl.To)
	return n - above, err
}

// countTime counts the rows in scope with ts in [lo, hi].
func (pl *exec) countTime(ctx context.Context, lo, hi int64) (int, error) {
	query := "SELECT count(*) FROM {s}.entries WHERE ts BETWEEN $1 AND $2"
	args := []any{lo, hi}
	if pl.acct != 0 {
		query += " AND account = $3"
		args = append(args, pl.acct)
	}
	var n int
	err := pl.tx.QueryRow(ctx, pl.s.sql(query), args...).Scan(&n)
	return n, err
}

// seek finds the row at rank r (0-based) of the time order over every row
// in scope: newest first when desc. It returns the smallest bucket that
// holds it and the number of rows that come before that bucket.
func (pl *exec) seek(ctx context.Context, r int, desc bool) (b int64, before int, err error) {
	lo, hi := int64(0), int64(1<<63-1)
	for i := range levels {
		bs, err := pl.buckets(ctx, i, lo, hi, desc)
		if err != nil {
			return 0, 0, err
		}
		found := false
		for _, x := range bs {
			if before+int(x.n) > r {
				b, found = x.b, true
				break
			}
			before += int(x.n)
		}
		if !found {
			return 0, 0, errCountsMismatch
		}
		if i+1 < len(levels) {
			lo = b << fanout
			hi = lo | (1<<fanout - 1)
		}
	}
	return b, before, nil
}
