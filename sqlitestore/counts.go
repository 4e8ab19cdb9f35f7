package sqlitestore

import (
	"context"
	"database/sql"
	"strings"

	"github.com/apilog/apilog/timecount"
)

// levels are the bucket sizes of the counts table: 2^50 ns (13 days),
// 2^40 (18 minutes) and 2^30 (about a second).
var levels = timecount.Levels{50, 40, 30}

// allAccounts is the counts table's account of every account's rows
// together (account IDs start at 1): the operator's view reads its
// buckets, instead of adding up those of thousands of accounts.
const allAccounts = 0

// applyCounts writes the deltas to the counts table, and to allAccounts,
// dropping empty buckets.
func applyCounts(ctx context.Context, tx *sql.Tx, deltas map[timecount.Key]int64) error {
	all := make(map[timecount.Key]int64, 2*len(deltas))
	for k, d := range deltas {
		all[k] += d
		k.Account = allAccounts
		all[k] += d
	}
	for k, d := range all {
		if err := countsTable.add(ctx, tx, d, k.Account, k.Level, k.Bucket); err != nil {
			return err
		}
	}
	return nil
}

// countTable is a table of counts (counts, volume): a count n under a key
// of a few integer columns, its row dropped when it reaches 0.
type countTable struct{ upsert, drop string }

func newCountTable(table string, cols ...string) countTable {
	where := strings.Join(cols, " = ? AND ") + " = ?"
	return countTable{
		upsert: "INSERT INTO " + table + " (" + strings.Join(cols, ", ") + ", n) VALUES (" + strings.Repeat("?, ", len(cols)) +
			"?) ON CONFLICT DO UPDATE SET n = n + excluded.n",
		drop: "DELETE FROM " + table + " WHERE " + where + " AND n <= 0",
	}
}

var countsTable = newCountTable("counts", "account", "level", "bucket")

// add adds d to the count under key.
func (t countTable) add(ctx context.Context, tx *sql.Tx, d int64, key ...any) error {
	if d == 0 {
		return nil
	}
	if _, err := tx.ExecContext(ctx, t.upsert, append(key, d)...); err != nil {
		return err
	}
	if d < 0 {
		_, err := tx.ExecContext(ctx, t.drop, key...)
		return err
	}
	return nil
}

// counts reads the counts table and the rows in a query's scope (its
// account, or every one) within its read transaction, for a
// timecount.Reader.
type counts struct {
	pl *exec
	tx *sql.Tx
}

func (c counts) Buckets(ctx context.Context, level, lo, hi int64) ([]timecount.Bucket, error) {
	query := "SELECT bucket, n FROM counts WHERE account = ? AND level = ? AND bucket BETWEEN ? AND ? ORDER BY bucket"
	args := []any{c.pl.acct, level, lo, hi} // allAccounts when 0
	return queryAll(ctx, c.tx, query, args, func(sc scanFunc) (b timecount.Bucket, err error) { return b, sc(&b.Bucket, &b.N) })
}

// CountRows counts on the time index: the account's part of it, or the
// index of every account.
func (c counts) CountRows(ctx context.Context, lo, hi int64) (int, error) {
	query, args := "SELECT count(*) FROM entries INDEXED BY "+idxTimeAll+" WHERE ts BETWEEN ? AND ?", []any{lo, hi}
	if c.pl.acct != 0 {
		query, args = "SELECT count(*) FROM entries WHERE account = ? AND ts BETWEEN ? AND ?", []any{c.pl.acct, lo, hi}
	}
	var n int
	err := c.tx.QueryRowContext(ctx, query, args...).Scan(&n)
	return n, err
}

// inRange returns the number of rows in scope within the query's time
// range: the total of the unfiltered view.
func (pl *exec) inRange(ctx context.Context) (int, error) {
	return pl.counts.Between(ctx, pl.From, pl.To, pl.ToOpen)
}
