package sqlitestore

import (
	"os"
	"sync"
	"time"
)

// Checkpoints copy the WAL back into the database so that the WAL can start
// over. SQLite's automatic checkpoint runs inside the commit that crosses
// its threshold, with two fsyncs; when readers keep it from finishing, every
// later commit runs it again: ingest fell to a fifth with two readers
// querying. A checkpoint that runs beside the writer never finishes either,
// since the writer adds frames faster than it copies them. And even with
// the writer paused, a RESTART checkpoint that waits for readers timed out
// a third of the time under a reader that queried without pause, though no
// query lasted 30 ms: each retry found a query holding the WAL again.
//
// So the writer never checkpoints by itself. Once commits grow the WAL past
// walCheckpoint, the checkpointer pauses the writer (wmu) and copies the WAL
// with a PASSIVE checkpoint while queries go on, then waits for the queries
// that began before the copy ended (drain), and copies again if they held
// it back. Queries that begin after a complete copy read the database file
// alone, so once the earlier ones are done the next commit restarts the
// WAL from its beginning. No query ever waits for this (holding new
// queries back instead made them wait up to 26 ms behind a search), and
// ingest waits for queries at most drainWait per round. The
// checkpointer's connection waits at most 20 ms for a lock: only another
// process (a backup, a shell) can hold one, and then it tries again after a
// later commit.
const (
	walCheckpoint = 16 << 20
	drainWait     = 50 * time.Millisecond
)

// passive runs a PASSIVE checkpoint and reports whether it copied the whole
// WAL. Errors count as not done: the next round tries again.
func (s *Store) passive() bool {
	var busy, log, done int
	err := s.ck.QueryRow("PRAGMA wal_checkpoint(PASSIVE)").Scan(&busy, &log, &done)
	return err == nil && busy == 0 && log == done
}

// drain waits for the queries that began before it was called. Queries
// that begin meanwhile do not wait: they hold the next gate.
func (s *Store) drain() { s.drainFor(-1) }

// drainFor is drain for at most d (no limit when d < 0); it reports whether
// those queries are done.
func (s *Store) drainFor(d time.Duration) bool {
	old := s.gate.Swap(new(sync.RWMutex))
	done := make(chan struct{})
	go func() {
		// A barrier: Lock returns once every query that held the old gate is done.
		old.Lock()
		//lint:ignore SA2001 the critical section is empty on purpose (see above)
		old.Unlock()
		close(done)
	}()
	if d < 0 {
		<-done
		return true
	}
	select {
	case <-done:
		return true
	case <-time.After(d):
		return false
	}
}

// kick tells the checkpointer that a commit grew the WAL.
func (s *Store) kick() {
	select {
	case s.kicks <- struct{}{}:
	default:
	}
}

func (s *Store) checkpointer() {
	defer s.wg.Done()
	for {
		select {
		case <-s.stop:
			return
		case <-s.kicks:
		}
		st, err := os.Stat(s.path + "-wal")
		if err != nil || st.Size() < walCheckpoint {
			continue
		}
		// A checkpoint that fails is tried again after the next commit; it is
		// not an error of any caller's.
		s.wmu.Lock()
		for range 3 {
			done := s.passive()
			// Wait for the queries that began before the copy ended: they
			// may hold snapshots the copy could not pass, or read the WAL.
			// A query slower than drainWait leaves it to a later round, so
			// that ingest waits at most that long.
			if !s.drainFor(drainWait) || done {
				break
			}
		}
		s.wmu.Unlock()
		// At most a few checkpoints a second: each ends in an fsync.
		select {
		case <-s.stop:
			return
		case <-time.After(100 * time.Millisecond):
		}
	}
}
