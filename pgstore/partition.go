package pgstore

import (
	"context"
	"fmt"
	"math"
	"strconv"
	"time"

	"github.com/apilog/apilog"
	"github.com/jackc/pgx/v5"
)

// partitionBits is the width of a partition of entries: 2^46 ns, about
// 19.5 hours, so that one bucket of the counts table's top level is one
// partition and a partition dropped takes its counts with it exactly.
const partitionBits = 46

// maxTS is the largest time a row can hold.
const maxTS = math.MaxInt64

// ahead is how many partitions past the current one exist at all times.
const ahead = 2

// partitionName is the name of the partition of bucket b.
func partitionName(b int64) string { return "entries_" + strconv.FormatInt(b, 10) }

// ensurePartitions creates the partitions the entries' times fall in that
// do not exist yet: normally none, as the maintainer creates them ahead; a
// clock far off, or a backfill, needs others.
func (s *Store) ensurePartitions(ctx context.Context, entries []apilog.Entry) error {
	// Held through the creation, so that a concurrent Append waits for the
	// partition it needs too; creating one is rare.
	s.partMu.Lock()
	defer s.partMu.Unlock()
	for i := range entries {
		b := entries[i].Time.UnixNano() >> partitionBits
		if s.parts[b] {
			continue
		}
		if err := s.createPartition(ctx, b); err != nil {
			return fmt.Errorf("partition for %s: %w", time.Unix(0, b<<partitionBits).UTC().Format(time.RFC3339), err)
		}
		s.parts[b] = true
	}
	return nil
}

// createPartition creates and attaches the partition of bucket b unless
// it exists. The table is created on its own and then attached, which
// locks entries only against other schema changes (SHARE UPDATE
// EXCLUSIVE), where CREATE TABLE … PARTITION OF would stop every query and
// insert until it commits. An advisory lock keeps two instances from
// racing to create the same one.
func (s *Store) createPartition(ctx context.Context, b int64) error {
	return pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, "SELECT pg_advisory_xact_lock($1)", s.tag<<48|2); err != nil {
			return err
		}
		var exists bool
		if err := tx.QueryRow(ctx, s.sql("SELECT EXISTS (SELECT 1 FROM {s}.partitions WHERE bucket = $1)"), b).Scan(&exists); err != nil || exists {
			return err
		}
		lo, hi := strconv.FormatInt(b<<partitionBits, 10), "MAXVALUE"
		check := "ts >= " + lo
		if b < maxTS>>partitionBits {
			hi = strconv.FormatInt((b+1)<<partitionBits, 10)
			check += " AND ts < " + hi
		}
		name := s.schema + "." + pgx.Identifier{partitionName(b)}.Sanitize()
		_, err := tx.Exec(ctx, fmt.Sprintf(`SET LOCAL lock_timeout = %[1]d;
			CREATE TABLE %[2]s (LIKE %[3]s.entries INCLUDING ALL);
			ALTER TABLE %[2]s ADD CONSTRAINT in_range CHECK (%[8]s);
			ALTER TABLE %[3]s.entries ATTACH PARTITION %[2]s FOR VALUES FROM (%[4]s) TO (%[5]s);
			ALTER TABLE %[2]s DROP CONSTRAINT in_range;
			INSERT INTO %[3]s.partitions (bucket, name) VALUES (%[6]d, '%[7]s')`,
			s.opts.LockTimeout.Milliseconds(), name, s.schema, lo, hi, b, partitionName(b), check))
		return err
	})
}

// maintainer runs maintain every MaintainInterval until Close.
func (s *Store) maintainer() {
	defer s.wg.Done()
	t := time.NewTicker(s.opts.MaintainInterval)
	defer t.Stop()
	for {
		select {
		case <-s.done.Done():
			return
		case <-t.C:
		}
		// Bounded, so that a server that stopped answering holds the
		// maintainer for a while at most; Close cancels it at once.
		ctx, cancel := context.WithTimeout(s.done, max(s.opts.MaintainInterval, 30*time.Second))
		// A failure (the server away, a lock not granted in time) is tried
		// again next time; Append creates any partition it needs itself.
		_ = s.maintain(ctx)
		cancel()
	}
}

// maintain creates the partitions from the current one to ahead of it
// and, with MaxAge, drops the ones whose every row is older.
func (s *Store) maintain(ctx context.Context) error {
	rows, err := s.pool.Query(ctx, s.sql("SELECT bucket FROM {s}.partitions ORDER BY bucket"))
	if err != nil {
		return err
	}
	existing, err := pgx.CollectRows(rows, pgx.RowTo[int64])
	if err != nil {
		return err
	}
	s.partMu.Lock()
	clear(s.parts) // another instance may have dropped some
	for _, b := range existing {
		s.parts[b] = true
	}
	s.partMu.Unlock()
	now := s.clock().UnixNano() >> partitionBits
	var want []apilog.Entry
	for b := now; b <= now+ahead; b++ {
		want = append(want, apilog.Entry{Time: time.Unix(0, b<<partitionBits)})
	}
	if err := s.ensurePartitions(ctx, want); err != nil {
		return err
	}
	if s.opts.MaxAge <= 0 {
		return nil
	}
	cutoff := s.clock().Add(-s.opts.MaxAge).UnixNano()
	for _, b := range existing {
		if b < maxTS>>partitionBits && (b+1)<<partitionBits <= cutoff {
			if err := s.dropPartition(ctx, b); err != nil {
				return err
			}
		}
	}
	return nil
}

// dropPartition detaches and drops the partition of bucket b and takes
// its rows off the counts, in one transaction, so that no query sees the
// counts and the rows disagree. Detaching locks entries for the moment it
// takes; LockTimeout bounds the wait for the queries in flight.
func (s *Store) dropPartition(ctx context.Context, b int64) error {
	name := s.schema + "." + pgx.Identifier{partitionName(b)}.Sanitize()
	lo1, hi1 := levels.Within(b, 1)
	lo2, hi2 := levels.Within(b, 2)
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, "SELECT pg_advisory_xact_lock($1)", s.tag<<48|2); err != nil {
			return err
		}
		var exists bool
		if err := tx.QueryRow(ctx, s.sql("SELECT EXISTS (SELECT 1 FROM {s}.partitions WHERE bucket = $1)"), b).Scan(&exists); err != nil || !exists {
			return err
		}
		_, err := tx.Exec(ctx, fmt.Sprintf(`SET LOCAL lock_timeout = %d;
			ALTER TABLE %s.entries DETACH PARTITION %s;
			DROP TABLE %[3]s;
			DELETE FROM %[2]s.partitions WHERE bucket = %[4]d;
			DELETE FROM %[2]s.counts WHERE (level = %[5]d AND bucket = %[4]d)
				OR (level = %[6]d AND bucket BETWEEN %[7]d AND %[8]d)
				OR (level = %[9]d AND bucket BETWEEN %[10]d AND %[11]d)`,
			s.opts.LockTimeout.Milliseconds(), s.schema, name, b,
			levels[0], levels[1], lo1, hi1, levels[2], lo2, hi2))
		return err
	})
	if err != nil {
		return err
	}
	s.partMu.Lock()
	delete(s.parts, b)
	s.partMu.Unlock()
	return nil
}
