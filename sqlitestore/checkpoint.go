package sqlitestore

import (
	"os"
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
// walCheckpoint, the checkpointer pauses the writer (wmu) and copies what it
// can of the WAL with a PASSIVE checkpoint while queries go on; then it
// holds new queries back (qmu), waits for the running ones, copies what is
// left, and restarts the WAL from its beginning. Queries wait only for that
// last step. Its connection waits at most 20 ms for a lock: only another
// process (a backup, a shell) can hold one, and then it tries again later.
const walCheckpoint = 16 << 20

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
		s.ck.Exec("PRAGMA wal_checkpoint(PASSIVE)")
		s.qmu.Lock()
		s.ck.Exec("PRAGMA wal_checkpoint(RESTART)")
		s.qmu.Unlock()
		s.wmu.Unlock()
		// At most a few checkpoints a second: each ends in an fsync.
		select {
		case <-s.stop:
			return
		case <-time.After(100 * time.Millisecond):
		}
	}
}
