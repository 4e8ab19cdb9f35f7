package sqlitestore

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/apilog/apilog/timecount"
)

// pruneBatch is the most rows one prune transaction deletes, so that the
// writer lock is held for milliseconds and Append is never stalled long.
const pruneBatch = 1000

// Prune deletes the rows older than before, in small transactions, and
// returns how many it deleted. Freed pages are reused by later appends, so
// a store pruned at a steady rate stops growing.
func (s *Store) Prune(ctx context.Context, before time.Time) (int, error) {
	release, err := s.enter()
	if err != nil {
		return 0, err
	}
	defer release()
	if before.Before(time.Unix(0, 0)) {
		return 0, nil
	}
	last := before.UnixNano() - 1 // the newest time to delete
	if before.After(time.Unix(0, maxTS)) {
		last = maxTS
	}
	s.cache.mu.RLock()
	accounts := make([]int64, 0, len(s.cache.accountNames))
	for id := range s.cache.accountNames {
		accounts = append(accounts, id)
	}
	s.cache.mu.RUnlock()
	total := 0
	for _, acct := range accounts {
		for {
			n, err := s.deleteBatch(ctx, "SELECT id FROM entries WHERE account = ? AND ts <= ? LIMIT ?", acct, last, pruneBatch)
			total += n
			if err != nil {
				return total, fmt.Errorf("sqlitestore: prune: %w", err)
			}
			if n < pruneBatch {
				break
			}
		}
	}
	if total > 0 {
		return total, s.collect(ctx)
	}
	return total, nil
}

// pruneRows deletes the oldest rows, by ID, beyond max.
func (s *Store) pruneRows(ctx context.Context, max int) (total int, err error) {
	defer func() {
		if total > 0 && err == nil {
			err = s.collect(ctx)
		}
	}()
	for {
		var n int
		if err := s.r.QueryRowContext(ctx, "SELECT coalesce(sum(n), 0) FROM counts WHERE account = ? AND level = 50", allAccounts).Scan(&n); err != nil {
			return total, err
		}
		if n <= max {
			return total, nil
		}
		d, err := s.deleteBatch(ctx, "SELECT id FROM entries ORDER BY id LIMIT ?", min(n-max, pruneBatch))
		total += d
		if err != nil || d == 0 {
			return total, err
		}
	}
}

// deleteBatch deletes the entries that sel selects, in one transaction,
// and takes them off the time-bucket and chart counts.
func (s *Store) deleteBatch(ctx context.Context, sel string, args ...any) (int, error) {
	s.wmu.Lock()
	defer s.wmu.Unlock()
	n := 0
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		deleted, err := queryAll(ctx, tx, "DELETE FROM entries WHERE id IN ("+sel+") RETURNING account, ts, status", args,
			func(sc scanFunc) (at [3]int64, err error) { return at, sc(&at[0], &at[1], &at[2]) })
		if err != nil {
			return err
		}
		deltas := map[timecount.Key]int64{}
		vol := volumeDeltas{}
		for _, at := range deleted {
			levels.Add(deltas, at[0], at[1], -1)
			vol.add(at[0], at[1], int(at[2]), -1)
		}
		n = len(deleted)
		if err := vol.apply(ctx, tx); err != nil {
			return err
		}
		return applyCounts(ctx, tx, deltas)
	})
	if err != nil {
		return 0, err
	}
	s.kick()
	return n, nil
}

// pruner enforces the retention options until Close.
func (s *Store) pruner() {
	defer s.wg.Done()
	if s.opts.MaxAge == 0 && s.opts.MaxRows == 0 {
		return
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		<-s.stop
		cancel()
	}()
	t := time.NewTicker(s.opts.PruneInterval)
	defer t.Stop()
	for {
		s.prune(ctx)
		select {
		case <-s.stop:
			return
		case <-t.C:
		}
	}
}

// prune enforces MaxAge and MaxRows once. Its errors are retried at the
// next tick: a pruner that cannot delete (a full disk) must not stop the
// store.
func (s *Store) prune(ctx context.Context) {
	if s.opts.MaxAge > 0 {
		s.Prune(ctx, s.clock().Add(-s.opts.MaxAge))
	}
	if s.opts.MaxRows > 0 {
		s.pruneRows(ctx, s.opts.MaxRows)
	}
}

// collect deletes the interned values that no row refers to any more, so
// that a pruned store's dictionaries (and the cache that mirrors them) stop
// growing while new client IPs and paths keep arriving. They leave the
// cache once the queries that began before they were deleted are done:
// those may be reading rows that referred to them.
func (s *Store) collect(ctx context.Context) error {
	s.collectMu.Lock() // one at a time, so that each purges what it drained for
	defer s.collectMu.Unlock()
	var dead []int64
	defer func() {
		s.drain()
		s.cache.purge(dead)
	}()
	for _, f := range textFields {
		ids := s.cache.idsOf(f.kind)
		for len(ids) > 0 {
			n := min(len(ids), pruneBatch)
			d, err := s.collectBatch(ctx, f.col, ids[:n])
			if err != nil {
				return fmt.Errorf("sqlitestore: collect %s values: %w", f.col, err)
			}
			dead = append(dead, d...)
			ids = ids[n:]
		}
	}
	return nil
}

// collectBatch deletes the values among ids that no row of col refers to,
// and returns their IDs.
func (s *Store) collectBatch(ctx context.Context, col string, ids []int64) ([]int64, error) {
	s.wmu.Lock()
	defer s.wmu.Unlock()
	var dead []int64
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		var err error
		dead, err = queryAll(ctx, tx, "DELETE FROM strs WHERE id IN (SELECT value FROM json_each(?)) AND NOT EXISTS (SELECT 1 FROM entries WHERE "+
			col+" = strs.id) RETURNING id", []any{jsonIDs(ids)}, scanID)
		return err
	})
	if err != nil {
		return nil, err
	}
	s.cache.forget(dead) // before the next Append can intern them again
	return dead, nil
}
