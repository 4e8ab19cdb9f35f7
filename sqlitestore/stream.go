package sqlitestore

import (
	"context"
	"fmt"

	"github.com/apilog/apilog"
	"github.com/apilog/apilog/plan"
)

// streamBatch is the most rows Stream reads in one snapshot.
const streamBatch = 2000

// Stream implements apilog.Streamer. It finds the matches' IDs in order as
// Query finds a page's, and reads the keys in scope, in one snapshot and
// under the same limits (a turn among the searches, QueryTimeout): that
// pins the rows streamed and the keys they show. Past limit it only
// counts. It then reads the rows streamBatch at a time, each batch in a
// short snapshot of its own, bounded by QueryTimeout and released before
// yield runs, so that neither a slow reader nor a long export holds a
// connection or keeps the WAL from restarting. Rows that retention deletes
// meanwhile are left out.
func (s *Store) Stream(ctx context.Context, q apilog.Query, limit int, yield func([]apilog.Row) error) error {
	limit = max(limit, 0)
	var (
		pl  *exec
		ids []int64
	)
	err := s.read(ctx, q, max(limit, 1), func(r *reader, q *apilog.Query) error {
		var (
			p   apilog.Page
			err error
		)
		if pl, p, ids, err = s.find(r, q, limit); err != nil {
			return err
		}
		if p.TotalRows > limit {
			return &apilog.TooManyRowsError{Rows: p.TotalRows, Limit: limit}
		}
		if len(ids) > 0 && !plan.NeedsSlots(*q) {
			// Every key in scope now, rather than each as a batch first
			// meets it: the rows show the keys of one moment.
			return pl.loadKeys(r.ctx, r.tx, q.Now, nil)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("sqlitestore: stream: %w", err)
	}
	for len(ids) > 0 {
		batch := ids[:min(streamBatch, len(ids))]
		ids = ids[len(batch):]
		rows, err := s.streamRows(ctx, pl, batch)
		if err != nil {
			return fmt.Errorf("sqlitestore: stream: %w", err)
		}
		if len(rows) == 0 {
			continue
		}
		if err := yield(rows); err != nil {
			return err
		}
	}
	return nil
}

// streamRows reads the rows with ids, in that order, in a snapshot of
// their own.
func (s *Store) streamRows(ctx context.Context, pl *exec, ids []int64) ([]apilog.Row, error) {
	release, err := s.enter()
	if err != nil {
		return nil, err
	}
	defer release()
	ctx, cancel := s.limit.Bound(ctx)
	defer cancel()
	r := &reader{s: s, base: ctx}
	defer r.close()
	if err := r.begin(); err != nil {
		return nil, s.queryErr(r.ctx, err)
	}
	rows, err := pl.rows(r.ctx, r.tx, ids)
	if err != nil {
		return nil, s.queryErr(r.ctx, err)
	}
	return rows, nil
}
