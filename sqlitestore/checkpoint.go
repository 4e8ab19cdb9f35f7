package sqlitestore

import (
	"context"
	"errors"
	"os"
	"slices"
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
// WAL from its beginning. No query waits for such a round (holding new
// queries back instead made them wait up to 26 ms behind a search), and
// ingest waits for queries at most drainWait per round.
//
// A query that is still running then keeps the WAL from restarting, and
// searches one after another (each up to QueryTimeout) kept it growing
// without end: 2.2 GB in a few minutes of ingest at 10,000 rows a second,
// which writes about 50 MB of WAL a second on data with 50,000 client
// addresses (each row lands on a page of its own in several indexes). So
// the long scans read in short snapshots (StrategyMask renews its snapshot
// every maskRows rows), and once the WAL passes walCut the queries that
// still hold it back are stopped (their error wraps errCut and
// apilog.ErrTimeout: the page says the search took too long), new searches
// wait a moment, and the copy completes (restart). If it still does not,
// another process (a backup, a shell) holds the WAL: cutting is then of no
// use, and stops for cutPause. Under such ingest a query that holds one
// snapshot for more than a fraction of a second is stopped; at the ingest
// of most APIs, QueryTimeout comes first. The checkpointer's connection
// waits at most 20 ms for a lock: only another process (a backup, a shell)
// can hold one, and then it tries again after a later commit.
const (
	walCheckpoint = 16 << 20
	walCut        = 32 << 20
	drainWait     = 50 * time.Millisecond
	// cutWait bounds the wait for stopped queries: SQLite notices an
	// interrupt between steps, and a query in Go code at its next row.
	cutWait  = 250 * time.Millisecond
	cutPause = 2 * time.Second
)

// errCut is why a query was stopped for holding the WAL back.
var errCut = errors.New("stopped to let the log's write-ahead file restart under heavy ingest")

// gate is read-held by each query for its snapshot. drain swaps in a new
// gate and waits for the holders of the old one; cut stops them.
type gate struct {
	sync.RWMutex
	ctx context.Context
	cut context.CancelCauseFunc
}

func newGate() *gate {
	ctx, cut := context.WithCancelCause(context.Background())
	return &gate{ctx: ctx, cut: cut}
}

// enter returns ctx, ended also when the gate is cut, and the function
// that releases it.
func (g *gate) enter(ctx context.Context) (context.Context, func()) {
	ctx, cancel := context.WithCancelCause(ctx)
	stop := context.AfterFunc(g.ctx, func() { cancel(context.Cause(g.ctx)) })
	return ctx, func() { stop(); cancel(nil) }
}

// passive runs a PASSIVE checkpoint and reports whether it copied the whole
// WAL. Errors count as not done: the next round tries again.
func (s *Store) passive() bool {
	var busy, log, done int
	err := s.ck.QueryRow("PRAGMA wal_checkpoint(PASSIVE)").Scan(&busy, &log, &done)
	return err == nil && busy == 0 && log == done
}

// drain waits for the queries that began before it was called. Queries
// that begin meanwhile do not wait: they hold the next gate.
func (s *Store) drain() { s.drainFor(-1, false) }

// drainFor is drain for at most d (no limit when d < 0); it reports whether
// those queries are done. With cut, the queries still running after d are
// stopped, and waited for up to cutWait more.
//
// The queries of gates that earlier calls gave up on began earlier still,
// so they are waited for (and cut) too.
func (s *Store) drainFor(d time.Duration, cut bool) bool {
	old := s.gate.Swap(newGate())
	done := make(chan struct{})
	go func() {
		// A barrier: Lock returns once every query that held the old gate is done.
		old.Lock()
		//lint:ignore SA2001 the critical section is empty on purpose (see above)
		old.Unlock()
		old.cut(nil) // release its context
		close(done)
	}()
	s.drainMu.Lock()
	s.draining = append(slices.DeleteFunc(s.draining, drained), oldGate{old, done})
	waits := slices.Clone(s.draining)
	s.drainMu.Unlock()
	all := func(deadline <-chan time.Time) bool {
		for _, w := range waits {
			select {
			case <-w.done:
			case <-deadline:
				return false
			}
		}
		return true
	}
	if d < 0 {
		return all(nil)
	}
	if all(time.After(d)) {
		return true
	}
	if !cut {
		return false
	}
	for _, w := range waits {
		w.cut(errCut)
	}
	return all(time.After(cutWait))
}

// oldGate is a gate swapped out by drainFor, and the channel closed when
// its queries are done.
type oldGate struct {
	*gate
	done chan struct{}
}

func drained(g oldGate) bool {
	select {
	case <-g.done:
		return true
	default:
		return false
	}
}

// round copies the WAL and waits for the queries that began before the
// copy ended: they may hold snapshots the copy could not pass, or read the
// WAL. A query slower than drainWait leaves it to a later round, so that
// ingest waits at most that long. The caller holds wmu.
func (s *Store) round() bool {
	for range 3 {
		done := s.passive()
		drained := s.drainFor(drainWait, false)
		if !drained || done {
			return drained && done
		}
	}
	return false
}

// restart is the round of a WAL past walCut: the queries that hold it back
// are stopped and the copy completes. New searches wait meanwhile (hold):
// one that began between the stopping and the end of the copy would hold
// the WAL back again, its snapshot taken from it. The other queries mostly
// take milliseconds, and the last drain waits for those; one that runs
// longer is stopped by the next restart. The caller holds wmu.
func (s *Store) restart() bool {
	if time.Now().Before(s.noCutUntil) {
		return s.round()
	}
	held := make(chan struct{})
	s.hold.Store(&held)
	defer func() {
		s.hold.Store(nil)
		close(held)
	}()
	s.passive()
	if !s.drainFor(drainWait, true) {
		return false // a query slow to stop: the next round tries again
	}
	for try := 0; !s.passive(); try++ {
		if try == 3 {
			// Every query of this store is done, and the copy still
			// cannot complete: another process holds the WAL.
			s.noCutUntil = time.Now().Add(cutPause)
			return false
		}
		// A reader taking its snapshot can make a PASSIVE checkpoint
		// stop short for a moment.
		time.Sleep(5 * time.Millisecond)
	}
	return s.drainFor(drainWait, false)
}

// waitHold waits until no restart holds new searches back, or ctx ends.
func (s *Store) waitHold(ctx context.Context) error {
	held := s.hold.Load()
	if held == nil {
		return nil
	}
	select {
	case <-*held:
		return nil
	case <-ctx.Done():
		return ctx.Err()
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
	ok := true // the last round let the WAL restart
	for {
		select {
		case <-s.stop:
			return
		case <-s.kicks:
		}
		st, err := os.Stat(s.path + "-wal")
		if err != nil || st.Size() <= walCheckpoint {
			continue
		}
		// A checkpoint that fails is tried again after the next commit; it is
		// not an error of any caller's.
		// Ingest can write 50 MB of WAL a second: a round that failed
		// past walCut/2 + walCheckpoint/2 would leave the next one twice
		// that, so it is cut at once rather than after another try.
		cut := st.Size() >= walCut || !ok && st.Size() >= (walCut+walCheckpoint)/2
		s.wmu.Lock()
		if cut {
			ok = s.restart()
		} else {
			ok = s.round()
		}
		s.wmu.Unlock()
		// At most a few checkpoints a second, each ending in an fsync;
		// after a round that failed, the next commit tries again.
		if ok {
			select {
			case <-s.stop:
				return
			case <-time.After(100 * time.Millisecond):
			}
		}
	}
}
