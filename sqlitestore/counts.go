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
func (pl *exec) buckets(ctx context.Context, tx *sql.Tx, i int, lo, hi int64, desc bool) ([]bucket, error) {
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
	return queryAll(ctx, tx, query, args, func(sc scanFunc) (b bucket, err error) { return b, sc(&b.b, &b.n) })
}

// atLeast returns the number of rows in scope with ts >= x: the buckets
// above x's at each level, and the rows of x's smallest bucket counted on
// the time index. A query asks for the same bounds more than once (its
// total, then its page plan), so the answers are kept in the plan.
func (pl *exec) atLeast(ctx context.Context, tx *sql.Tx, x int64) (int, error) {
	x = max(x, 0) // no row is older than 1970
	if n, ok := pl.counted[x]; ok {
		return n, nil
	}
	sum := func(i int, lo, hi int64) (int, error) {
		bs, err := pl.buckets(ctx, tx, i, lo, hi, false)
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
		m, err := pl.countTime(ctx, tx, x, x|(1<<last-1))
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
func (pl *exec) inRange(ctx context.Context, tx *sql.Tx) (int, error) {
	n, err := pl.atLeast(ctx, tx, pl.From)
	if err != nil || pl.ToOpen {
		return n, err
	}
	above, err := pl.atLeast(ctx, tx, pl.To)
	return n - above, err
}

// countTime counts the rows in scope with ts in [lo, hi] on the time index.
func (pl *exec) countTime(ctx context.Context, tx *sql.Tx, lo, hi int64) (int, error) {
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
func (pl *exec) seek(ctx context.Context, tx *sql.Tx, r int, desc bool) (b int64, before int, err error) {
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
