package sqlitestore

import (
	"fmt"
	"os"
	"time"
)

// Checkpoints copy the WAL back into the database so that the WAL can start
// over. SQLite's automatic checkpoint runs inside the commit that crosses
// its threshold, with two fsyncs; when readers keep it from finishing, every
// later commit runs it again: ingest fell to a fifth with two readers
// querying. A checkpoint that runs beside the writer never finishes either,
// since the writer adds frames faster than it copies them.
//
// So the writer never checkpoints by itself. A goroutine with its own
// connection does, once commits grow the WAL past walCheckpoint: it pauses
// the writer (wmu) and runs a RESTART checkpoint, which waits up to 100 ms
// for the readers of older snapshots to finish (new readers see the newest
// one, as nothing commits meanwhile), copies the WAL, and waits again for
// the readers that began meanwhile, so that the next commit restarts the
// WAL from its beginning. Past walLimit, slow readers kept that from
// happening, and a TRUNCATE checkpoint waits up to 250 ms.
const (
	walCheckpoint = 8 << 20
	walLimit      = 32 << 20
)

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
		mode, wait := "RESTART", 100
		if st.Size() >= walLimit {
			mode, wait = "TRUNCATE", 250
		}
		// A checkpoint that could not finish is tried again after the next
		// commit; it is not an error of any caller's.
		s.wmu.Lock()
		s.ck.Exec(fmt.Sprintf("PRAGMA busy_timeout = %d", wait))
		s.ck.Exec("PRAGMA wal_checkpoint(" + mode + ")")
		s.wmu.Unlock()
		// At most a few checkpoints a second: each ends in an fsync.
		select {
		case <-s.stop:
			return
		case <-time.After(100 * time.Millisecond):
		}
	}
}
