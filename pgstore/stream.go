package pgstore

import (
	"context"
	"fmt"

	"github.com/apilog/apilog"
	"github.com/jackc/pgx/v5"
)

// streamBatch is the most rows Stream reads in one statement.
const streamBatch = 2000

// matchRefs locate the matches of a stream, in order: enough to read each row
// again off the (account, ts) index of its partition, 20 bytes a row.
type matchRefs struct {
	accounts []int32
	times    []int64
	ids      []int64
}

// Stream implements apilog.Streamer. It finds the matches in order, and
// reads the keys in scope, in one snapshot, as Query counts a page's,
// under the same limits (a turn among the searches, QueryTimeout): that
// pins the rows streamed and the keys they show. Past limit it only
// counts. It then reads the rows streamBatch at a time, each batch in one
// statement bounded by QueryTimeout on a connection taken for it and given
// back before yield runs, so that neither a slow reader nor a long export
// holds a connection or a snapshot. Rows that retention drops meanwhile
// are left out.
func (s *Store) Stream(ctx context.Context, q apilog.Query, limit int, yield func([]apilog.Row) error) error {
	limit = max(limit, 0)
	var (
		pl *exec
		rs matchRefs
	)
	err := s.read(ctx, q, max(limit, 1), false, func(ctx context.Context, tx pgx.Tx, q *apilog.Query, floor int64) error {
		found, page, st, err := s.find(ctx, tx, q, floor)
		switch {
		case err != nil || st == StrategyNone:
			return err
		case page.TotalRows > limit:
			return &apilog.TooManyRowsError{Rows: page.TotalRows, Limit: limit}
		}
		pl = found
		if rs, err = pl.refs(ctx, page.TotalRows); err != nil || len(rs.ids) == 0 || pl.keysLoaded {
			return err
		}
		// Every key in scope now, rather than each as a batch first meets
		// it: the rows show the keys of one moment.
		b := &pgx.Batch{}
		pl.queueKeys(b, q.Now, nil)
		return tx.SendBatch(ctx, b).Close()
	})
	if err != nil {
		return fmt.Errorf("pgstore: stream: %w", err)
	}
	for len(rs.ids) > 0 {
		n := min(streamBatch, len(rs.ids))
		rows, err := s.streamRows(ctx, pl, rs.accounts[:n], rs.times[:n], rs.ids[:n])
		if err != nil {
			return fmt.Errorf("pgstore: stream: %w", err)
		}
		rs = matchRefs{rs.accounts[n:], rs.times[n:], rs.ids[n:]}
		if len(rows) == 0 {
			continue
		}
		if err := yield(rows); err != nil {
			return err
		}
	}
	return nil
}

// refs reads the matches in the query's order.
func (pl *exec) refs(ctx context.Context, total int) (matchRefs, error) {
	from, where, order, args := pl.sorted()
	rows, err := pl.tx.Query(ctx, pl.s.sql("SELECT e.account, e.ts, e.id FROM "+from+where+" ORDER BY "+order), args...)
	if err != nil {
		return matchRefs{}, err
	}
	rs := matchRefs{make([]int32, 0, total), make([]int64, 0, total), make([]int64, 0, total)}
	var (
		acct   int32
		ts, id int64
	)
	_, err = pgx.ForEachRow(rows, []any{&acct, &ts, &id}, func() error {
		rs.accounts, rs.times, rs.ids = append(rs.accounts, acct), append(rs.times, ts), append(rs.ids, id)
		return nil
	})
	return rs, err
}

// streamRows reads the rows of refs, in their order, joined with their
// keys.
func (s *Store) streamRows(ctx context.Context, pl *exec, accounts []int32, times, ids []int64) ([]apilog.Row, error) {
	release, err := s.enter()
	if err != nil {
		return nil, err
	}
	defer release()
	ctx, cancel := s.limit.Bound(ctx)
	defer cancel()
	rows, err := s.batchRows(ctx, pl, accounts, times, ids)
	if err != nil {
		return nil, s.queryErr(ctx, err)
	}
	return rows, nil
}

// batchRows is streamRows on a connection of its own.
func (s *Store) batchRows(ctx context.Context, pl *exec, accounts []int32, times, ids []int64) ([]apilog.Row, error) {
	conn, err := s.pool.Acquire(ctx)
	if err != nil {
		return nil, err
	}
	defer conn.Release()
	// Each row is looked up on the (account, ts) index of the partition
	// that holds its time.
	rows, err := conn.Query(ctx, s.sql("SELECT "+rowCols+" FROM unnest($1::int4[], $2::int8[], $3::int8[]) AS u(account, ts, id)"+
		" JOIN {s}.entries e ON e.account = u.account AND e.ts = u.ts AND e.id = u.id"), accounts, times, ids)
	if err != nil {
		return nil, err
	}
	es, err := pgx.CollectRows(rows, scanRow)
	if err != nil {
		return nil, err
	}
	var missing []int32
	for _, e := range es {
		if _, ok := pl.keys[e.key]; !ok {
			missing = append(missing, int32(e.key))
		}
	}
	if len(missing) > 0 {
		b := &pgx.Batch{}
		pl.queueKeys(b, pl.Query.Now, missing)
		if err := conn.SendBatch(ctx, b).Close(); err != nil {
			return nil, err
		}
	}
	at := make(map[int64]int, len(ids))
	for i, id := range ids {
		at[id] = i
	}
	ordered := make([]entryRow, len(ids))
	for _, e := range es {
		ordered[at[e.id]] = e
	}
	n := 0
	for _, e := range ordered {
		if e.id != 0 { // not deleted since it was found
			ordered[n] = e
			n++
		}
	}
	return pl.rows(ordered[:n]), nil
}
