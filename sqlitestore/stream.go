package sqlitestore

import (
	"context"
	"fmt"

	"github.com/apilog/apilog"
)

// streamBatch is the most rows Stream reads in one snapshot.
const streamBatch = 2000

// Stream implements apilog.Streamer. It finds the matches' IDs in order as
// Query finds a page's, in one snapshot and under the same limits (a turn
// among the searches, QueryTimeout), which pins the rows streamed; it then
// reads their rows streamBatch at a time, each batch in a short snapshot
// of its own and released before yield runs, so that neither a slow reader
// nor a long export holds a connection or keeps the WAL from restarting.
// The keys show their state as of the first batch. Rows that retention
// deletes meanwhile are left out.
func (s *Store) Stream(ctx context.Context, q apilog.Query, limit int, yield func([]apilog.Row) error) error {
	var (
		pl  *exec
		ids []int64
	)
	err := s.read(ctx, q, max(limit, 1), func(r *reader, q *apilog.Query) error {
		var (
			p   apilog.Page
			err error
		)
		if pl, p, ids, err = s.find(r, q); err == nil && p.TotalRows > limit {
			err = &apilog.TooManyRowsError{Rows: p.TotalRows, Limit: limit}
		}
		return err
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
