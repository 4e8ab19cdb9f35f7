package sqlitestore

import (
	"context"
	"database/sql"
)

// levels are the bucket sizes of the counts table, largest first: a bucket
// of level l holds the rows with the same ts >> l, and one bucket of a
// level spans 1<<10 buckets of the next.
var levels = [...]int64{50, 40, 30}

const fanout = 10 // levels[i] - levels[i+1]

type countKey struct{ account, level, bucket int64 }

// addCount adds d rows at ts to the buckets of every level.
func addCount(deltas map[countKey]int64, account, ts, d int64) {
	for _, l := range levels {
		deltas[countKey{account, l, ts >> l}] += d
	}
}

// applyCounts writes the deltas to the counts table, dropping empty buckets.
func applyCounts(ctx context.Context, tx *sql.Tx, deltas map[countKey]int64) error {
	for k, d := range deltas {
		if d == 0 {
			continue
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO counts (account, level, bucket, n) VALUES (?, ?, ?, ?)
			ON CONFLICT DO UPDATE SET n = n + excluded.n`, k.account, k.level, k.bucket, d); err != nil {
			return err
		}
		if d < 0 {
			if _, err := tx.ExecContext(ctx, "DELETE FROM counts WHERE account = ? AND level = ? AND bucket = ? AND n <= 0",
				k.account, k.level, k.bucket); err != nil {
				return err
			}
		}
	}
	return nil
}

// span is the range of buckets of level l inside the bucket of the level
// above that holds ts, or every bucket for the top level.
func span(i int, ts int64) (lo, hi int64) {
	if i == 0 {
		return 0, 1<<63 - 1
	}
	up := ts >> levels[i-1] << fanout
	return up, up | (1<<fanout - 1)
}

// bucket is one row of the counts table, summed over the accounts in scope.
type bucket struct{ b, n int64 }

// buckets returns the buckets of level index i in [lo, hi] for the plan's
// account (or all accounts), in ascending or descending order.
func (pl *plan) buckets(ctx context.Context, tx *sql.Tx, i int, lo, hi int64, desc bool) ([]bucket, error) {
	query := "SELECT bucket, sum(n) FROM counts WHERE level = ? AND bucket BETWEEN ? AND ?"
	args := []any{levels[i], lo, hi}
	if pl.acct != 0 {
		query += " AND account = ?"
		args = append(args, pl.acct)
	}
	query += " GROUP BY bucket ORDER BY bucket"
	if desc {
		query += " DESC"
	}
	rows, err := tx.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []bucket
	for rows.Next() {
		var b bucket
		if err := rows.Scan(&b.b, &b.n); err != nil {
			return nil, err
		}
		out = append(out, b)
	}
	return out, rows.Err()
}

// atLeast returns the number of rows in scope with ts >= x: the buckets
// above x's at each level, and the rows of x's smallest bucket counted on
// the time index.
func (pl *plan) atLeast(ctx context.Context, tx *sql.Tx, x int64) (int, error) {
	if x <= 0 {
		return pl.total(ctx, tx)
	}
	n := 0
	for i, l := range levels {
		_, hi := span(i, x)
		bs, err := pl.buckets(ctx, tx, i, x>>l+1, hi, false)
		if err != nil {
			return 0, err
		}
		for _, b := range bs {
			n += int(b.n)
		}
	}
	last := levels[len(levels)-1]
	m, err := pl.countTime(ctx, tx, x, x|(1<<last-1))
	return n + m, err
}

// total returns the number of rows in scope.
func (pl *plan) total(ctx context.Context, tx *sql.Tx) (int, error) {
	bs, err := pl.buckets(ctx, tx, 0, 0, 1<<63-1, false)
	n := 0
	for _, b := range bs {
		n += int(b.n)
	}
	return n, err
}

// countTime counts the rows in scope with ts in [lo, hi] on the time index.
func (pl *plan) countTime(ctx context.Context, tx *sql.Tx, lo, hi int64) (int, error) {
	n := 0
	for _, acct := range pl.accounts() {
		var m int
		if err := tx.QueryRowContext(ctx, "SELECT count(*) FROM entries WHERE account = ? AND ts BETWEEN ? AND ?", acct, lo, hi).Scan(&m); err != nil {
			return 0, err
		}
		n += m
	}
	return n, nil
}

// seek finds the row at rank r (0-based) of the time order over every row
// in scope: newest first when desc. It returns the smallest bucket that
// holds it and the number of rows that come before that bucket.
func (pl *plan) seek(ctx context.Context, tx *sql.Tx, r int, desc bool) (b int64, before int, err error) {
	lo, hi := int64(0), int64(1<<63-1)
	for i := range levels {
		bs, err := pl.buckets(ctx, tx, i, lo, hi, desc)
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
			// The counts and the rows disagree: a bug, or a database edited by
			// hand. Report it rather than return a wrong page.
			return 0, 0, errCountsMismatch
		}
		if i+1 < len(levels) {
			lo = b << fanout
			hi = lo | (1<<fanout - 1)
		}
	}
	return b, before, nil
}
