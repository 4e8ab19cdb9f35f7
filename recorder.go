package apilog

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"slices"
	"sync"
	"time"
)

// Errors that [Recorder.Record] returns for an entry it did not queue. The
// entry is counted in [RecorderStats.Dropped].
var (
	// ErrQueueFull means the recorder's queue was full: at once in the
	// default mode, or for RecorderOptions.BlockTimeout in blocking mode.
	ErrQueueFull = errors.New("apilog: recorder queue full")

	// ErrRecorderClosed means Record was called after Close.
	ErrRecorderClosed = errors.New("apilog: recorder closed")
)

// RecorderOptions configures a [Recorder]. The zero value of every field
// is a useful default.
type RecorderOptions struct {
	// QueueSize bounds the entries accepted and not yet written, which
	// bounds the memory the recorder holds while the store is slow or
	// down. Default 65,536.
	QueueSize int

	// BatchSize is the most entries written to the store in one Append.
	// Default 1,000.
	BatchSize int

	// BatchDelay is how long the first entry of a batch waits for more
	// before the batch is written anyway. Default 50 ms.
	BatchDelay time.Duration

	// BlockTimeout, when positive, makes Record wait up to this long for
	// room in a full queue before dropping the entry. By default Record
	// never waits: a full queue drops the newest entry, so a slow database
	// never slows the API it records.
	BlockTimeout time.Duration

	// RetryFor is how long a batch the store refuses is retried, with
	// backoff from 10 ms up to 1 s between attempts, before its entries
	// are counted as failed. It lets a locked, full or restarting database
	// recover without losing entries. Default 30 s. Entries the store
	// rejects as invalid (ErrBadEntry) are never retried.
	RetryFor time.Duration

	// OnError, if set, is called with every loss: how many entries and
	// why (ErrQueueFull, an invalid entry's ErrBadEntry, or the store's
	// error after the retries). Across all calls, lost adds up to the
	// Dropped and Failed counts, except for the entries Record refused
	// after Close. Full-queue drops are reported in sums, from the
	// recorder's goroutine, at most once a second; an invalid entry from
	// the goroutine that recorded it. It must not block for long.
	OnError func(err error, lost int)

	// Logger receives the same losses, and each failed attempt to write,
	// at Warn and Error level. Nil means slog.Default(). Entries are never
	// logged, only counts and the store's errors.
	Logger *slog.Logger

	// Now is the clock. A zero Entry.Time is set to it, and BatchDelay,
	// RetryFor and the once-a-second loss reports are measured on it, so a
	// test moves them by moving its clock. The recorder sleeps on real
	// timers all the same, and a partial batch is written, or a refused one
	// given up, once its BatchDelay or RetryFor has passed on the clock or
	// been slept, whichever is first: a clock that stands still holds no
	// entry. Loss reports follow the clock alone; a clock that stands still
	// holds them back until Close, which reports the sum. Now is called
	// from every goroutine that records. Optional. Default time.Now.
	Now func() time.Time
}

// RecorderStats counts what a Recorder did with the entries it was given.
// At every instant Recorded = Written + Dropped + Failed + Pending.
type RecorderStats struct {
	Recorded int64 // calls to Record
	Written  int64 // entries the store committed
	Dropped  int64 // entries not queued (full queue, closed) or abandoned at a Close that ran out of time
	Failed   int64 // entries that failed validation, or that the store refused past the retries
	Pending  int64 // entries queued, being written, or in a Record waiting for room

	Batches int64 // successful Appends
	Retries int64 // Appends that failed and were tried again
}

// Recorder writes entries to a Store in the background, in batches, so that
// recording a request costs the request almost nothing. Its methods are safe
// for concurrent use.
//
// Every entry given to Record ends in exactly one of the counts of
// [RecorderStats]: written, dropped or failed; none vanishes. [Recorder.Flush]
// waits until the entries recorded before it are written.
type Recorder struct {
	store   Store
	opt     RecorderOptions
	log     *slog.Logger
	wake    chan struct{} // a nudge for the writer; capacity 1
	closing chan struct{} // closed by Close: Record refuses and the writer drains
	exited  chan struct{} // closed when the writer returns
	abort   context.CancelFunc
	ctx     context.Context // the writer's; cancelled when Close runs out of time

	mu       sync.Mutex
	queue    ring
	firstAt  time.Time     // when the oldest queued entry was queued
	room     chan struct{} // closed when a write ends; nil when no one waits
	inflight int64         // entries in the batch being written
	waiting  int64         // Record calls waiting for room
	seq      int64         // entries queued, ever
	done     int64         // of those, resolved: written, failed or abandoned
	flushes  []*flushWait
	stats    RecorderStats

	// Losses of queued entries, for Flush to report each once.
	lost, lostReported int64
	lastLoss           error

	// Full-queue drops, reported to OnError in sums.
	fullDrops, fullReported int64
	reportedAt              time.Time // the writer's own

	closeOnce sync.Once
}

// flushWait is a Flush waiting for the entries up to seq to be resolved.
type flushWait struct {
	seq  int64
	lost int64 // queued entries up to seq that were not written, ever
	err  error // why, the last reason
	done chan struct{}
}

// NewRecorder returns a Recorder writing to store, which must not be nil,
// and starts its writer goroutine; stop it with Close. A nil opts means
// the defaults.
func NewRecorder(store Store, opts *RecorderOptions) *Recorder {
	var opt RecorderOptions
	if opts != nil {
		opt = *opts
	}
	if opt.QueueSize <= 0 {
		opt.QueueSize = 65536
	}
	if opt.BatchSize <= 0 {
		opt.BatchSize = 1000
	}
	if opt.BatchDelay <= 0 {
		opt.BatchDelay = 50 * time.Millisecond
	}
	if opt.RetryFor <= 0 {
		opt.RetryFor = 30 * time.Second
	}
	if opt.Now == nil {
		opt.Now = time.Now
	}
	r := &Recorder{
		store:   store,
		opt:     opt,
		log:     opt.Logger,
		wake:    make(chan struct{}, 1),
		closing: make(chan struct{}),
		exited:  make(chan struct{}),
	}
	if r.log == nil {
		r.log = slog.Default()
	}
	r.ctx, r.abort = context.WithCancel(context.Background())
	go r.run()
	return r
}

// Record queues e to be written and returns at once. A zero e.Time is
// set to the current time. It returns nil when e was queued, an error
// wrapping [ErrBadEntry] when e is not valid (counted as failed), and
// [ErrQueueFull] or [ErrRecorderClosed] when e was dropped.
func (r *Recorder) Record(e Entry) error {
	return r.enqueue(queued{e: e})
}

// queued is an entry in the queue. When h is set, the writer sets the
// entry's IPHash to h's hash of addr: the HMAC is then off the path of the
// request the middleware records, and the address never leaves memory.
type queued struct {
	e    Entry
	addr netip.Addr
	h    IPHasher
}

// enqueue is Record for an entry the middleware may have left to hash.
func (r *Recorder) enqueue(q queued) error {
	if q.e.Time.IsZero() {
		q.e.Time = r.opt.Now()
	}
	invalid := q.e.Validate()
	r.mu.Lock()
	r.stats.Recorded++
	if invalid != nil {
		r.stats.Failed++
		r.mu.Unlock()
		r.report(invalid, 1)
		return invalid
	}
	var timer *time.Timer
	for r.full() && !r.isClosing() {
		if timer == nil {
			if r.opt.BlockTimeout <= 0 {
				break
			}
			timer = time.NewTimer(r.opt.BlockTimeout)
			defer timer.Stop()
		}
		if r.room == nil {
			r.room = make(chan struct{})
		}
		room := r.room
		r.waiting++
		r.mu.Unlock()
		timedOut := false
		select {
		case <-room:
		case <-r.closing:
		case <-timer.C:
			timedOut = true
		}
		r.mu.Lock()
		r.waiting--
		if timedOut {
			break // room that came with the timeout is used below
		}
	}
	switch {
	case r.isClosing():
		r.stats.Dropped++
		r.mu.Unlock()
		return ErrRecorderClosed
	case r.full():
		r.stats.Dropped++
		r.fullDrops++
		r.mu.Unlock()
		return ErrQueueFull
	}
	if r.queue.len() == 0 {
		r.firstAt = r.opt.Now()
		r.nudge()
	}
	r.queue.push(q, r.opt.QueueSize)
	r.seq++
	if r.queue.len() == r.opt.BatchSize {
		r.nudge()
	}
	r.mu.Unlock()
	return nil
}

// full reports whether the queue is at its bound, which counts the batch
// being written too, since the memory it holds is as real.
func (r *Recorder) full() bool {
	return int64(r.queue.len())+r.inflight >= int64(r.opt.QueueSize)
}

func (r *Recorder) isClosing() bool {
	select {
	case <-r.closing:
		return true
	default:
		return false
	}
}

// nudge wakes the writer without blocking.
func (r *Recorder) nudge() {
	select {
	case r.wake <- struct{}{}:
	default:
	}
}

// Flush returns when every entry queued before the call has been written
// to the store, or has failed, or when ctx ends. It returns an error when
// some of those entries were not written, saying how many and why, unless
// an earlier Flush or Close already reported them. (Entries Record did not
// queue were reported by its error.)
func (r *Recorder) Flush(ctx context.Context) error {
	w := r.waitFor()
	if w != nil {
		r.nudge()
		select {
		case <-w.done:
		case <-ctx.Done():
			r.mu.Lock()
			r.flushes = slices.DeleteFunc(r.flushes, func(f *flushWait) bool { return f == w })
			r.mu.Unlock()
			return fmt.Errorf("apilog: flush: %w", ctx.Err())
		}
	}
	if err := r.lossSince(w); err != nil {
		return fmt.Errorf("apilog: flush: %w", err)
	}
	return nil
}

// waitFor registers a wait for the entries queued so far, or returns nil
// when they are all resolved.
func (r *Recorder) waitFor() *flushWait {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.done >= r.seq {
		return nil
	}
	w := &flushWait{seq: r.seq, lost: r.lost, err: r.lastLoss, done: make(chan struct{})}
	r.flushes = append(r.flushes, w)
	return w
}

// lossSince returns an error for the queued entries up to w's (up to the
// last resolved when w is nil) that were not written and that no Flush has
// reported yet, and marks them reported.
func (r *Recorder) lossSince(w *flushWait) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	lost, why := r.lost, r.lastLoss
	if w != nil {
		lost, why = w.lost, w.err
	}
	n := lost - r.lostReported
	if n <= 0 {
		return nil
	}
	r.lostReported = lost
	return fmt.Errorf("%d entries were not written: %w", n, why)
}

// Close stops intake, writes what is queued, and stops the writer. If ctx
// ends first, the write in progress is cancelled, the entries still queued
// are counted as dropped, and Close returns an error saying how many were
// lost. Close returns an error too when queued entries failed (unless a
// Flush reported them). A second Close waits for the first to finish, or
// for its own ctx, and returns nil.
func (r *Recorder) Close(ctx context.Context) error {
	first := false
	r.closeOnce.Do(func() {
		first = true
		r.mu.Lock()
		close(r.closing)
		r.mu.Unlock()
	})
	if !first {
		select {
		case <-r.exited:
			return nil
		case <-ctx.Done():
			return fmt.Errorf("apilog: close: %w", ctx.Err())
		}
	}
	r.nudge()
	w := r.waitFor()
	if w != nil {
		select {
		case <-w.done:
		case <-ctx.Done():
			r.abort() // the writer resolves everything and returns
			<-w.done
		}
	}
	<-r.exited
	r.abort()
	if err := r.lossSince(w); err != nil {
		return fmt.Errorf("apilog: close: %w", err)
	}
	return nil
}

// Stats returns the counters as of one instant.
func (r *Recorder) Stats() RecorderStats {
	r.mu.Lock()
	defer r.mu.Unlock()
	s := r.stats
	s.Pending = int64(r.queue.len()) + r.inflight + r.waiting
	return s
}

// run is the writer: it takes batches off the queue and writes them until
// the recorder is closed and the queue is empty, or Close runs out of time.
func (r *Recorder) run() {
	defer close(r.exited)
	defer r.reportDrops(true)
	// The writer measures on the clock but sleeps on real timers, each at
	// most the interval it waits for (see sleepFor): a clock that stands
	// still or goes back then costs a wakeup per interval, never a busy
	// loop or a stall. batchTimer runs once per batch, from when the writer
	// first sees its entries, and is not restarted by other wakeups, so a
	// batch is due after BatchDelay of real time whatever the clock says.
	timer := time.NewTimer(time.Hour) // for the drops to report
	defer timer.Stop()
	batchTimer := time.NewTimer(time.Hour)
	batchTimer.Stop()
	defer batchTimer.Stop()
	batchArmed, batchWaited := false, false
	taken := make([]queued, 0, min(r.opt.BatchSize, r.opt.QueueSize))
	batch := make([]Entry, 0, cap(taken))
	for {
		r.mu.Lock()
		for {
			if r.ctx.Err() != nil {
				n := r.abandonLocked()
				r.mu.Unlock()
				r.report(errAbandoned, n)
				return
			}
			n := r.queue.len()
			if n == 0 && r.isClosing() {
				r.mu.Unlock()
				return
			}
			now := r.opt.Now()
			if n >= r.opt.BatchSize || n > 0 && (batchWaited || len(r.flushes) > 0 || r.isClosing() || now.Sub(r.firstAt) >= r.opt.BatchDelay) {
				break
			}
			// Sleep until the batch is due, or unreported drops are.
			var batchDue, dropsDue <-chan time.Time
			if n > 0 {
				if !batchArmed {
					batchTimer.Reset(sleepFor(r.opt.BatchDelay, now.Sub(r.firstAt)))
					batchArmed = true
				}
				batchDue = batchTimer.C
			}
			if r.fullDrops > r.fullReported {
				timer.Reset(sleepFor(time.Second, now.Sub(r.reportedAt)))
				dropsDue = timer.C
			}
			r.mu.Unlock()
			r.reportDrops(false)
			select {
			case <-r.wake:
			case <-batchDue:
				batchWaited = true
			case <-dropsDue:
			case <-r.closing:
			case <-r.ctx.Done():
			}
			r.mu.Lock()
		}
		taken = r.queue.take(taken[:0], r.opt.BatchSize)
		r.inflight = int64(len(taken))
		batchTimer.Stop()
		batchArmed, batchWaited = false, false
		if r.queue.len() > 0 {
			r.firstAt = r.opt.Now()
		}
		r.mu.Unlock()

		batch = batch[:0]
		for _, q := range taken {
			if q.h != nil {
				q.e.IPHash = q.h.HashIP(q.addr)
			}
			batch = append(batch, q.e)
		}
		clear(taken)

		err := r.write(batch)
		if err != nil {
			r.report(err, len(batch)) // before a Flush waiting for them returns
		}

		r.mu.Lock()
		r.inflight = 0
		if r.room != nil {
			close(r.room)
			r.room = nil
		}
		if err == nil {
			r.stats.Written += int64(len(batch))
			r.stats.Batches++
		} else {
			r.stats.Failed += int64(len(batch))
		}
		r.resolveLocked(int64(len(batch)), err)
		r.mu.Unlock()
		clear(batch) // let the entries' strings go
		r.reportDrops(false)
	}
}

// sleepFor returns how long to sleep until interval has passed since an
// event that the clock says was elapsed ago. It is never more than interval,
// so that a clock set back cannot make the writer sleep past it.
func sleepFor(interval, elapsed time.Duration) time.Duration {
	if elapsed < 0 {
		return interval
	}
	return max(interval-elapsed, 0)
}

// write appends batch, retrying with backoff for opt.RetryFor.
func (r *Recorder) write(batch []Entry) error {
	start := r.opt.Now()
	// RetryFor is over when the clock or the backoff slept on real timers
	// says so, whichever is first: a clock that stands still must not keep
	// a batch, and the Flush and Close waiting for it, forever.
	var slept time.Duration
	backoff := 10 * time.Millisecond
	for attempt := 1; ; attempt++ {
		err := r.store.Append(r.ctx, batch)
		if err == nil {
			return nil
		}
		if errors.Is(err, ErrBadEntry) || r.ctx.Err() != nil {
			return err
		}
		// Compared so that a clock that jumped centuries cannot overflow.
		if elapsed := max(r.opt.Now().Sub(start), slept); elapsed > r.opt.RetryFor-backoff {
			return fmt.Errorf("%d attempts over %s: %w", attempt, elapsed.Round(time.Millisecond), err)
		}
		r.mu.Lock()
		r.stats.Retries++
		r.mu.Unlock()
		r.log.Warn("apilog: writing a batch failed; retrying", "entries", len(batch), "attempt", attempt, "retry_in", backoff, "err", err)
		r.reportDrops(false) // an overload is most likely now
		select {
		case <-time.After(backoff):
			slept += backoff
		case <-r.ctx.Done():
			return fmt.Errorf("%d attempts, then Close ran out of time: %w", attempt, err)
		}
		backoff = min(2*backoff, time.Second)
	}
}

// resolveLocked marks the next n queued entries resolved; err is nil when
// they were written.
func (r *Recorder) resolveLocked(n int64, err error) {
	from := r.done
	r.done += n
	if err != nil {
		r.lost += n
		r.lastLoss = err
	}
	kept := r.flushes[:0]
	for _, f := range r.flushes {
		if err != nil && f.seq > from {
			f.lost += min(f.seq, r.done) - from
			f.err = err
		}
		if f.seq <= r.done {
			close(f.done)
			continue
		}
		kept = append(kept, f)
	}
	clear(r.flushes[len(kept):])
	r.flushes = kept
}

// abandonLocked drops everything queued, because Close ran out of time, and
// returns how many entries that was.
func (r *Recorder) abandonLocked() int {
	n := r.queue.len()
	if n > 0 {
		r.queue.take(nil, n)
		r.stats.Dropped += int64(n)
		r.resolveLocked(int64(n), errAbandoned)
	}
	return n
}

// reportDrops reports the full-queue drops since the last report, at most
// once a second of the clock unless final, so that an overload is one line
// a second.
func (r *Recorder) reportDrops(final bool) {
	now := r.opt.Now()
	if !final && now.Sub(r.reportedAt) < time.Second {
		return
	}
	r.mu.Lock()
	n := r.fullDrops - r.fullReported
	r.fullReported = r.fullDrops
	r.mu.Unlock()
	if n > 0 {
		r.reportedAt = now
		r.report(ErrQueueFull, int(n))
	}
}

// report tells the logger and OnError of n lost entries.
func (r *Recorder) report(err error, n int) {
	if n == 0 {
		return
	}
	r.log.Error("apilog: entries lost", "entries", n, "err", err)
	if r.opt.OnError != nil {
		r.opt.OnError(err, n)
	}
}

// errAbandoned is why entries still queued when Close ran out of time were
// not written.
var errAbandoned = errors.New("abandoned: Close's context ended first")

// ring is a FIFO of queued entries that grows as needed up to its limit.
type ring struct {
	buf        []queued
	head, size int
}

func (q *ring) len() int { return q.size }

// push adds e; the caller has checked that the queue has room.
func (q *ring) push(e queued, limit int) {
	if q.size == len(q.buf) {
		grown := make([]queued, min(max(2*len(q.buf), 64), limit))
		n := copy(grown, q.buf[q.head:])
		copy(grown[n:], q.buf[:q.head])
		q.buf, q.head = grown, 0
	}
	q.buf[(q.head+q.size)%len(q.buf)] = e
	q.size++
}

// take moves up to n entries from the front to dst.
func (q *ring) take(dst []queued, n int) []queued {
	n = min(n, q.size)
	for range n {
		if dst != nil {
			dst = append(dst, q.buf[q.head])
		}
		q.buf[q.head] = queued{}
		q.head = (q.head + 1) % len(q.buf)
	}
	q.size -= n
	return dst
}
