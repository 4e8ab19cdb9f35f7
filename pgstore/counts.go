package pgstore

import (
	"cmp"
	"context"
	"maps"
	"slices"

	"github.com/apilog/apilog/timecount"
	"github.com/jackc/pgx/v5"
)

// levels are the bucket sizes of the counts table: 2^46 ns (one
// partition of entries, so that a partition dropped takes its counts with
// it exactly), 2^38 (4.6 minutes) and 2^30 (about a second).
var levels = timecount.Levels{partitionBits, 38, 30}

// queueCounts queues the upsert of deltas into shard, in key order: two
// writers that share a shard lock its rows in the same order.
func queueCounts(s *Store, b *pgx.Batch, deltas map[timecount.Key]int64, shard int16) {
	keys := slices.SortedFunc(maps.Keys(deltas), func(a, b timecount.Key) int {
		return cmp.Or(cmp.Compare(a.Account, b.Account), cmp.Compare(a.Level, b.Level), cmp.Compare(a.Bucket, b.Bucket))
	})
	var accts, lvls, buckets, ns []int64
	for _, k := range keys {
		accts, lvls, buckets, ns = append(accts, k.Account), append(lvls, k.Level), append(buckets, k.Bucket), append(ns, deltas[k])
	}
	b.Queue(s.sql(`INSERT INTO {s}.counts (account, level, bucket, shard, n)
		SELECT a, l, b, $5, n FROM unnest($1::int4[], $2::int2[], $3::int8[], $4::int8[]) AS u(a, l, b, n)
		ON CONFLICT (account, level, bucket, shard) DO UPDATE SET n = {s}.counts.n + excluded.n`), accts, lvls, buckets, ns, shard)
}

// counts reads the counts table and the rows in a query's scope (account
// 0 is every account) and snapshot, for a timecount.Reader.
type counts struct{ pl *exec }

func (c counts) Buckets(ctx context.Context, level, lo, hi int64) ([]timecount.Bucket, error) {
	rows, err := c.pl.tx.Query(ctx, c.pl.s.sql(`SELECT bucket, sum(n)::int8 FROM {s}.counts
		WHERE account = $1 AND level = $2 AND bucket BETWEEN $3 AND $4 GROUP BY bucket HAVING sum(n) > 0 ORDER BY bucket`),
		c.pl.acct, level, lo, hi)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (b timecount.Bucket, err error) {
		return b, r.Scan(&b.Bucket, &b.N)
	})
}

func (c counts) CountRows(ctx context.Context, lo, hi int64) (int, error) {
	query := "SELECT count(*) FROM {s}.entries WHERE ts BETWEEN $1 AND $2"
	args := []any{lo, hi}
	if c.pl.acct != 0 {
		query += " AND account = $3"
		args = append(args, c.pl.acct)
	}
	var n int
	err := c.pl.tx.QueryRow(ctx, c.pl.s.sql(query), args...).Scan(&n)
	return n, err
}

// inRange returns the number of rows in scope within the query's time
// range: the total of the unfiltered view.
func (pl *exec) inRange(ctx context.Context) (int, error) {
	return pl.counts.Between(ctx, pl.From, pl.To, pl.ToOpen)
}
