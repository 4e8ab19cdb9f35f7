package apilog_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/apilog/apilog"
	"github.com/google/go-cmp/cmp"
)

// fakeStore keeps what it is given, and fails or blocks on demand.
type fakeStore struct {
	apilog.Store // nil: only Append is called

	mu      sync.Mutex
	entries []apilog.Entry
	batches []int
	calls   int
	fail    func(call int) error // nil error: the Append succeeds
	gate    chan struct{}        // when set, Append waits for it or ctx
	entered chan struct{}        // when set, Append signals it on entry
}

func (s *fakeStore) Append(ctx context.Context, entries []apilog.Entry) error {
	s.mu.Lock()
	s.calls++
	call, gate, entered := s.calls, s.gate, s.entered
	s.mu.Unlock()
	if entered != nil {
		select {
		case entered <- struct{}{}:
		default:
		}
	}
	if gate != nil {
		select {
		case <-gate:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.fail != nil {
		if err := s.fail(call); err != nil {
			return err
		}
	}
	for _, e := range entries {
		if err := e.Validate(); err != nil {
			return err
		}
	}
	s.entries = append(s.entries, entries...)
	s.batches = append(s.batches, len(entries))
	return nil
}

func (s *fakeStore) written() []apilog.Entry {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]apilog.Entry(nil), s.entries...)
}

// entry returns a valid entry numbered n in its request ID.
func entry(n int) apilog.Entry {
	return apilog.Entry{
		Account: "acct_1", KeyID: "key_1", RequestID: fmt.Sprintf("req-%d", n),
		Method: "GET", Endpoint: "/v1/models", Status: 200,
		Time: time.Date(2026, 11, 26, 0, 0, 0, n, time.UTC),
	}
}

// checkIdentity fails the test unless the stats add up.
func checkIdentity(t *testing.T, s apilog.RecorderStats) {
	t.Helper()
	if s.Recorded != s.Written+s.Dropped+s.Failed+s.Pending {
		t.Errorf("stats %+v: recorded %d != written+dropped+failed+pending %d", s, s.Recorded, s.Written+s.Dropped+s.Failed+s.Pending)
	}
}

// losses counts what OnError was told.
type losses struct {
	mu   sync.Mutex
	n    int
	errs []error
}

func (l *losses) onError(err error, lost int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.n += lost
	l.errs = append(l.errs, err)
}

func (l *losses) total() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.n
}

// quietLogger returns a logger into a buffer the test can read.
func quietLogger() (*slog.Logger, *syncBuffer) {
	b := &syncBuffer{}
	return slog.New(slog.NewTextHandler(b, nil)), b
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

// checkNoWriter fails the test if a recorder goroutine outlives Close.
func checkNoWriter(t *testing.T) {
	t.Helper()
	var stacks string
	for range 100 {
		buf := make([]byte, 1<<20)
		stacks = string(buf[:runtime.Stack(buf, true)])
		if !strings.Contains(stacks, "apilog.(*Recorder)") {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Errorf("a recorder goroutine is still running after Close:\n%s", stacks)
}

func closeRecorder(t *testing.T, r *apilog.Recorder) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := r.Close(ctx); err != nil {
		t.Errorf("Close: %v", err)
	}
}

func TestRecorderWritesEverythingInOrder(t *testing.T) {
	s := &fakeStore{}
	log, _ := quietLogger()
	r := apilog.NewRecorder(s, &apilog.RecorderOptions{Logger: log})
	const n = 2500
	for i := range n {
		if err := r.Record(entry(i)); err != nil {
			t.Fatalf("Record %d: %v", i, err)
		}
	}
	if err := r.Flush(context.Background()); err != nil {
		t.Fatalf("Flush: %v", err)
	}
	got := s.written()
	if len(got) != n {
		t.Fatalf("after Flush the store has %d entries, want %d", len(got), n)
	}
	for i, e := range got {
		if e.RequestID != entry(i).RequestID {
			t.Fatalf("entry %d is %s, want %s: the recorder reordered entries", i, e.RequestID, entry(i).RequestID)
		}
	}
	for _, b := range s.batches {
		if b > 1000 {
			t.Errorf("a batch of %d entries, want at most 1,000", b)
		}
	}
	st := r.Stats()
	checkIdentity(t, st)
	if st.Written != n || st.Pending != 0 || st.Dropped != 0 || st.Failed != 0 {
		t.Errorf("stats %+v, want %d written and nothing else", st, n)
	}
	closeRecorder(t, r)
	checkNoWriter(t)
}

func TestRecorderWritesAPartialBatchAfterTheDelay(t *testing.T) {
	s := &fakeStore{}
	r := apilog.NewRecorder(s, &apilog.RecorderOptions{BatchDelay: 20 * time.Millisecond})
	defer closeRecorder(t, r)
	for i := range 3 {
		r.Record(entry(i))
	}
	// No Flush: the writer must not wait for a full batch.
	deadline := time.Now().Add(5 * time.Second)
	for len(s.written()) < 3 {
		if time.Now().After(deadline) {
			t.Fatalf("3 entries not written 5 s after Record (BatchDelay 20 ms); stats %+v", r.Stats())
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestRecorderStampsAZeroTime(t *testing.T) {
	s := &fakeStore{}
	r := apilog.NewRecorder(s, nil)
	e := entry(1)
	e.Time = time.Time{}
	before := time.Now()
	if err := r.Record(e); err != nil {
		t.Fatal(err)
	}
	closeRecorder(t, r)
	got := s.written()
	if len(got) != 1 || got[0].Time.Before(before) || got[0].Time.After(time.Now()) {
		t.Fatalf("written %+v: want one entry stamped with the time of Record", got)
	}
}

// fakeClock is a clock the test sets. Each reading moves it on by step,
// which may be zero or negative.
type fakeClock struct {
	mu   sync.Mutex
	now  time.Time
	step time.Duration
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	t := c.now
	c.now = c.now.Add(c.step)
	return t
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// eventually fails the test unless cond holds within 5 s.
func eventually(t *testing.T, cond func() bool, format string, args ...any) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("after 5 s: "+format, args...)
		}
		time.Sleep(time.Millisecond)
	}
}

var clockStart = time.Date(2026, 12, 1, 9, 30, 0, 0, time.UTC)

func TestRecorderStampsAZeroTimeFromItsClock(t *testing.T) {
	clock := &fakeClock{now: clockStart}
	s := &fakeStore{}
	r := apilog.NewRecorder(s, &apilog.RecorderOptions{Now: clock.Now})
	zero, set := entry(1), entry(2)
	zero.Time = time.Time{}
	for _, e := range []apilog.Entry{zero, set} {
		if err := r.Record(e); err != nil {
			t.Fatal(err)
		}
	}
	closeRecorder(t, r)
	var got []time.Time
	for _, e := range s.written() {
		got = append(got, e.Time)
	}
	if diff := cmp.Diff([]time.Time{clockStart, set.Time}, got); diff != "" {
		t.Errorf("written times (-want +got):\n%s", diff)
	}
}

// TestRecorderDelaysFollowTheClock: BatchDelay and RetryFor pass as soon as
// the clock says so, and, since the writer sleeps on real timers, no later
// than that much real time when the clock stands still or goes back.
func TestRecorderDelaysFollowTheClock(t *testing.T) {
	for _, tt := range []struct {
		name         string
		step         time.Duration // per reading of the clock
		batchDelay   time.Duration
		retryFor     time.Duration
		wantAttempts int
	}{
		// BatchDelay and RetryFor would take an hour and 30 s in real time.
		{name: "clock ahead", step: 2 * time.Hour, batchDelay: time.Hour, wantAttempts: 1},
		// Backoff of 10, 20 and 40 ms, then 70 ms slept + 80 > 100 ms.
		{name: "clock standing still", batchDelay: 20 * time.Millisecond, retryFor: 100 * time.Millisecond, wantAttempts: 4},
		{name: "clock going back", step: -time.Hour, batchDelay: 20 * time.Millisecond, retryFor: 100 * time.Millisecond, wantAttempts: 4},
	} {
		t.Run(tt.name, func(t *testing.T) {
			clock := &fakeClock{now: clockStart, step: tt.step}
			fault := errors.New("database is locked")
			s := &fakeStore{fail: func(int) error { return fault }}
			var l losses
			log, _ := quietLogger()
			r := apilog.NewRecorder(s, &apilog.RecorderOptions{
				BatchDelay: tt.batchDelay, RetryFor: tt.retryFor,
				OnError: l.onError, Logger: log, Now: clock.Now,
			})
			if err := r.Record(entry(1)); err != nil {
				t.Fatal(err)
			}
			// No Flush: the partial batch must come due on its own.
			eventually(t, func() bool { return r.Stats().Failed == 1 }, "stats %+v, want the entry written and given up", r.Stats())
			if st := r.Stats(); st.Retries != int64(tt.wantAttempts-1) {
				t.Errorf("stats %+v, want %d retries", st, tt.wantAttempts-1)
			}
			want := fmt.Sprintf("%d attempts over", tt.wantAttempts)
			if len(l.errs) != 1 || !errors.Is(l.errs[0], fault) || !strings.Contains(l.errs[0].Error(), want) {
				t.Errorf("OnError errors %v, want one saying %q", l.errs, want)
			}
			if err := r.Close(context.Background()); !errors.Is(err, fault) {
				t.Errorf("Close = %v, want the store's error", err)
			}
			checkNoWriter(t)
		})
	}
}

// TestRecorderLossReportsFollowTheClock: full-queue drops are reported at
// most once a second of the recorder's clock, not of real time.
func TestRecorderLossReportsFollowTheClock(t *testing.T) {
	clock := &fakeClock{now: clockStart}
	// A failing store keeps the writer retrying, and checking for drops to
	// report, with the queue full.
	var failing atomic.Bool
	failing.Store(true)
	fault := errors.New("database is locked")
	s := &fakeStore{fail: func(int) error {
		if failing.Load() {
			return fault
		}
		return nil
	}}
	var l losses
	log, logged := quietLogger()
	r := apilog.NewRecorder(s, &apilog.RecorderOptions{
		QueueSize: 2, BatchSize: 1, RetryFor: time.Hour,
		OnError: l.onError, Logger: log, Now: clock.Now,
	})
	drop := func(n int) {
		t.Helper()
		for range n {
			if err := r.Record(entry(9)); !errors.Is(err, apilog.ErrQueueFull) {
				t.Fatalf("Record into a full queue = %v, want ErrQueueFull", err)
			}
		}
	}
	for i := range 2 {
		if err := r.Record(entry(i)); err != nil {
			t.Fatal(err)
		}
	}
	drop(1)
	eventually(t, func() bool { return l.total() == 1 }, "%d drops reported, want the first at once", l.total())
	drop(2)
	// Longer than the real second after which the drops would be due.
	time.Sleep(1500 * time.Millisecond)
	if got := l.total(); got != 1 {
		t.Errorf("%d drops reported before the clock moved a second, want 1", got)
	}
	clock.Advance(time.Second)
	failing.Store(false) // the writer reports drops after a write too
	eventually(t, func() bool { return l.total() == 3 }, "%d drops reported after the clock moved a second, want 3", l.total())
	closeRecorder(t, r)
	if got := strings.Count(logged.String(), "entries lost"); got != 2 {
		t.Errorf("%d loss reports logged, want 2:\n%s", got, logged)
	}
	checkNoWriter(t)
}

func TestRecorderDropsNewestWhenFull(t *testing.T) {
	s := &fakeStore{gate: make(chan struct{}), entered: make(chan struct{}, 1)}
	var l losses
	log, logged := quietLogger()
	r := apilog.NewRecorder(s, &apilog.RecorderOptions{QueueSize: 10, BatchSize: 4, OnError: l.onError, Logger: log})
	for i := range 4 {
		r.Record(entry(i))
	}
	<-s.entered // the writer holds a batch of 4 in a stuck Append
	var dropped []int
	for i := 4; i < 30; i++ {
		start := time.Now()
		err := r.Record(entry(i))
		if time.Since(start) > time.Second {
			t.Fatalf("Record %d blocked for %v in the default mode", i, time.Since(start))
		}
		switch {
		case errors.Is(err, apilog.ErrQueueFull):
			dropped = append(dropped, i)
		case err != nil:
			t.Fatalf("Record %d: %v", i, err)
		}
	}
	st := r.Stats()
	checkIdentity(t, st)
	if len(dropped) != 20 || dropped[0] != 10 || st.Dropped != 20 || st.Pending != 10 {
		t.Errorf("dropped %v, stats %+v: want entries 10 to 29 dropped (the newest) and 10 pending", dropped, st)
	}
	close(s.gate)
	closeRecorder(t, r)
	st = r.Stats()
	checkIdentity(t, st)
	if st.Written != 10 || st.Dropped != 20 || st.Pending != 0 {
		t.Errorf("after Close: stats %+v, want 10 written and 20 dropped", st)
	}
	if got := l.total(); got != 20 {
		t.Errorf("OnError was told of %d lost entries, want 20", got)
	}
	if !strings.Contains(logged.String(), "entries=20") {
		t.Errorf("log does not report the 20 drops:\n%s", logged)
	}
	for i, e := range s.written() {
		if e.RequestID != entry(i).RequestID {
			t.Errorf("written entry %d is %s, want %s", i, e.RequestID, entry(i).RequestID)
		}
	}
	checkNoWriter(t)
}

func TestRecorderBlockMode(t *testing.T) {
	s := &fakeStore{gate: make(chan struct{}), entered: make(chan struct{}, 1)}
	log, _ := quietLogger()
	r := apilog.NewRecorder(s, &apilog.RecorderOptions{QueueSize: 8, BatchSize: 4, BlockTimeout: 50 * time.Millisecond, Logger: log})
	for i := range 4 {
		r.Record(entry(i))
	}
	<-s.entered // 4 entries in a stuck Append
	for i := 4; i < 8; i++ {
		if err := r.Record(entry(i)); err != nil {
			t.Fatalf("Record %d with room: %v", i, err)
		}
	}
	start := time.Now()
	if err := r.Record(entry(8)); !errors.Is(err, apilog.ErrQueueFull) {
		t.Fatalf("Record into a full queue: %v, want ErrQueueFull after the timeout", err)
	}
	if waited := time.Since(start); waited < 40*time.Millisecond {
		t.Errorf("Record gave up after %v, want it to wait about the 50 ms BlockTimeout", waited)
	}

	// A blocked Record goes through once the writer makes room.
	s2 := &fakeStore{gate: make(chan struct{}), entered: make(chan struct{}, 1)}
	r2 := apilog.NewRecorder(s2, &apilog.RecorderOptions{QueueSize: 2, BatchSize: 1, BlockTimeout: time.Minute, Logger: log})
	r2.Record(entry(1))
	<-s2.entered
	r2.Record(entry(2))
	done := make(chan error)
	go func() { done <- r2.Record(entry(3)) }()
	select {
	case err := <-done:
		t.Fatalf("Record returned %v before there was room", err)
	case <-time.After(50 * time.Millisecond):
	}
	close(s2.gate)
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("blocked Record: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("blocked Record still waiting 10 s after the store recovered")
	}
	close(s.gate)
	closeRecorder(t, r)
	closeRecorder(t, r2)
	st := r.Stats()
	checkIdentity(t, st)
	if st.Written != 8 || st.Dropped != 1 {
		t.Errorf("stats %+v, want 8 written, 1 dropped", st)
	}
	if st := r2.Stats(); st.Written != 3 || st.Dropped != 0 {
		t.Errorf("second recorder: stats %+v, want 3 written, none dropped", st)
	}
	checkNoWriter(t)
}

// TestRecorderRecovers fails the store for a while in the ways a database
// fails, then lets it work: nothing is lost and the counts stay exact.
func TestRecorderRecovers(t *testing.T) {
	for _, fault := range []error{
		errors.New("database is locked"),
		errors.New("database or disk is full"),
		apilog.ErrClosed,
	} {
		t.Run(fault.Error(), func(t *testing.T) {
			var failing atomic.Bool
			failing.Store(true)
			s := &fakeStore{fail: func(int) error {
				if failing.Load() {
					return fault
				}
				return nil
			}}
			log, logged := quietLogger()
			var l losses
			r := apilog.NewRecorder(s, &apilog.RecorderOptions{BatchSize: 10, OnError: l.onError, Logger: log})
			for i := range 100 {
				r.Record(entry(i))
			}
			time.Sleep(200 * time.Millisecond)
			st := r.Stats()
			checkIdentity(t, st)
			if st.Retries == 0 || st.Written != 0 || st.Pending != 100 {
				t.Fatalf("while failing: stats %+v, want retries and 100 pending", st)
			}
			failing.Store(false)
			recovered := time.Now()
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			if err := r.Flush(ctx); err != nil {
				t.Fatalf("Flush after the store recovered: %v", err)
			}
			if d := time.Since(recovered); d > 3*time.Second {
				t.Errorf("entries resumed %v after the store recovered, want within seconds", d)
			}
			closeRecorder(t, r)
			st = r.Stats()
			checkIdentity(t, st)
			if st.Written != 100 || st.Failed != 0 || st.Dropped != 0 || l.total() != 0 {
				t.Errorf("stats %+v, %d reported lost: want all 100 written", st, l.total())
			}
			if !strings.Contains(logged.String(), fault.Error()) {
				t.Errorf("the retries were not logged with the store's error:\n%s", logged)
			}
			checkNoWriter(t)
		})
	}
}

func TestRecorderGivesUpAfterRetryFor(t *testing.T) {
	fault := errors.New("disk I/O error")
	s := &fakeStore{fail: func(int) error { return fault }}
	var l losses
	log, logged := quietLogger()
	r := apilog.NewRecorder(s, &apilog.RecorderOptions{BatchSize: 5, RetryFor: 100 * time.Millisecond, OnError: l.onError, Logger: log})
	for i := range 12 {
		r.Record(entry(i))
	}
	err := r.Flush(context.Background())
	if !errors.Is(err, fault) || !strings.Contains(err.Error(), "12 entries were not written") {
		t.Errorf("Flush = %v, want it to say 12 entries were not written and wrap the store's error", err)
	}
	st := r.Stats()
	checkIdentity(t, st)
	if st.Failed != 12 || st.Written != 0 || st.Pending != 0 {
		t.Errorf("stats %+v, want 12 failed", st)
	}
	if l.total() != 12 || !errors.Is(l.errs[0], fault) {
		t.Errorf("OnError told of %d lost (%v), want 12 with the store's error", l.total(), l.errs)
	}
	if !strings.Contains(logged.String(), "level=ERROR") {
		t.Errorf("the loss is not logged as an error:\n%s", logged)
	}
	// A batch the store refuses as invalid is not retried.
	s2 := &fakeStore{fail: func(int) error { return fmt.Errorf("%w: index 0: method is empty", apilog.ErrBadEntry) }}
	r2 := apilog.NewRecorder(s2, &apilog.RecorderOptions{Logger: log})
	r2.Record(entry(1))
	if err := r2.Flush(context.Background()); !errors.Is(err, apilog.ErrBadEntry) {
		t.Errorf("Flush of a refused entry = %v, want ErrBadEntry", err)
	}
	if st := r2.Stats(); st.Retries != 0 || st.Failed != 1 {
		t.Errorf("stats %+v: an invalid batch was retried", st)
	}
	closeRecorder(t, r2)
	if err := r.Close(context.Background()); err != nil {
		t.Errorf("Close with nothing left: %v", err)
	}
	checkNoWriter(t)
}

func TestRecorderRejectsInvalidEntries(t *testing.T) {
	s := &fakeStore{}
	var l losses
	log, _ := quietLogger()
	r := apilog.NewRecorder(s, &apilog.RecorderOptions{OnError: l.onError, Logger: log})
	bad := entry(1)
	bad.Account = ""
	err := r.Record(bad)
	if !errors.Is(err, apilog.ErrBadEntry) || !strings.Contains(err.Error(), "account") {
		t.Errorf("Record(no account) = %v, want ErrBadEntry naming the account", err)
	}
	if err := r.Record(entry(2)); err != nil {
		t.Fatalf("a valid entry after an invalid one: %v", err)
	}
	closeRecorder(t, r)
	st := r.Stats()
	checkIdentity(t, st)
	if st.Failed != 1 || st.Written != 1 || l.total() != 1 {
		t.Errorf("stats %+v, %d reported: want 1 failed, 1 written, 1 reported", st, l.total())
	}
}

func TestRecorderClose(t *testing.T) {
	s := &fakeStore{}
	r := apilog.NewRecorder(s, nil)
	for i := range 50 {
		r.Record(entry(i))
	}
	closeRecorder(t, r)
	if got := len(s.written()); got != 50 {
		t.Errorf("Close wrote %d entries, want 50", got)
	}
	closeRecorder(t, r) // idempotent
	if err := r.Record(entry(51)); !errors.Is(err, apilog.ErrRecorderClosed) {
		t.Errorf("Record after Close = %v, want ErrRecorderClosed", err)
	}
	if err := r.Flush(context.Background()); err != nil {
		t.Errorf("Flush after Close = %v", err)
	}
	st := r.Stats()
	checkIdentity(t, st)
	if st.Recorded != 51 || st.Written != 50 || st.Dropped != 1 {
		t.Errorf("stats %+v, want 51 recorded, 50 written, 1 dropped", st)
	}
	checkNoWriter(t)
}

func TestRecorderCloseRunsOutOfTime(t *testing.T) {
	s := &fakeStore{gate: make(chan struct{}), entered: make(chan struct{}, 1)}
	log, _ := quietLogger()
	var l losses
	r := apilog.NewRecorder(s, &apilog.RecorderOptions{BatchSize: 10, OnError: l.onError, Logger: log})
	for i := range 25 {
		r.Record(entry(i))
	}
	<-s.entered
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	err := r.Close(ctx)
	if err == nil || !strings.Contains(err.Error(), "25 entries were not written") {
		t.Errorf("Close past its deadline = %v, want it to say 25 entries were not written", err)
	}
	st := r.Stats()
	checkIdentity(t, st)
	if st.Failed != 10 || st.Dropped != 15 || st.Pending != 0 || l.total() != 25 {
		t.Errorf("stats %+v, %d reported: want the stuck batch of 10 failed and 15 dropped, all reported", st, l.total())
	}
	// The losses come with their reasons: the cancelled batch and the
	// abandoned queue, not a full queue.
	var abandoned, cancelled int
	for _, err := range l.errs {
		switch {
		case errors.Is(err, apilog.ErrQueueFull):
			t.Errorf("OnError(%v): nothing was dropped for a full queue", err)
		case strings.Contains(err.Error(), "abandoned"):
			abandoned++
		case errors.Is(err, context.Canceled):
			cancelled++
		default:
			t.Errorf("OnError(%v)", err)
		}
	}
	if abandoned != 1 || cancelled != 1 {
		t.Errorf("OnError errors %v: want the cancelled batch and the abandoned queue", l.errs)
	}
	checkNoWriter(t)
}

func TestRecorderFlushHonorsContext(t *testing.T) {
	s := &fakeStore{gate: make(chan struct{})}
	r := apilog.NewRecorder(s, nil)
	r.Record(entry(1))
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	if err := r.Flush(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Flush with a stuck store = %v, want DeadlineExceeded", err)
	}
	close(s.gate)
	if err := r.Flush(context.Background()); err != nil {
		t.Errorf("Flush once the store works: %v", err)
	}
	closeRecorder(t, r)
}

// TestRecorderConcurrent records from 64 goroutines while others flush and
// read the stats; run it with -race.
func TestRecorderConcurrent(t *testing.T) {
	s := &fakeStore{}
	log, _ := quietLogger()
	r := apilog.NewRecorder(s, &apilog.RecorderOptions{QueueSize: 2048, BatchSize: 100, Logger: log})
	const workers, each = 64, 500
	var wg sync.WaitGroup
	var queued atomic.Int64
	stop := make(chan struct{})
	var checkers sync.WaitGroup
	checkers.Add(2)
	go func() {
		defer checkers.Done()
		for {
			select {
			case <-stop:
				return
			default:
				checkIdentity(t, r.Stats())
			}
		}
	}()
	go func() {
		defer checkers.Done()
		for {
			select {
			case <-stop:
				return
			default:
				if err := r.Flush(context.Background()); err != nil {
					t.Errorf("Flush: %v", err)
				}
			}
		}
	}()
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range each {
				if r.Record(entry(w*each+i)) == nil {
					queued.Add(1)
				}
			}
		}()
	}
	wg.Wait()
	close(stop)
	checkers.Wait()
	closeRecorder(t, r)
	st := r.Stats()
	checkIdentity(t, st)
	if st.Recorded != workers*each || st.Written != queued.Load() || int64(len(s.written())) != st.Written || st.Pending != 0 {
		t.Errorf("stats %+v; %d queued, %d in the store: want every queued entry written", st, queued.Load(), len(s.written()))
	}
	seen := map[string]bool{}
	for _, e := range s.written() {
		if seen[e.RequestID] {
			t.Fatalf("entry %s written twice", e.RequestID)
		}
		seen[e.RequestID] = true
	}
	checkNoWriter(t)
}

// TestRecorderBlockedRecordCounts: a Record waiting for room is pending,
// and a Close while it waits drops it as closed, not as a full queue.
func TestRecorderBlockedRecordCounts(t *testing.T) {
	s := &fakeStore{gate: make(chan struct{}), entered: make(chan struct{}, 1)}
	var l losses
	log, _ := quietLogger()
	r := apilog.NewRecorder(s, &apilog.RecorderOptions{QueueSize: 2, BatchSize: 1, BlockTimeout: time.Minute, OnError: l.onError, Logger: log})
	r.Record(entry(1))
	<-s.entered
	r.Record(entry(2))
	done := make(chan error)
	go func() { done <- r.Record(entry(3)) }()
	deadline := time.Now().Add(5 * time.Second)
	for r.Stats().Pending != 3 {
		if time.Now().After(deadline) {
			t.Fatalf("stats %+v, want the blocked Record pending", r.Stats())
		}
		time.Sleep(time.Millisecond)
	}
	checkIdentity(t, r.Stats())
	closed := make(chan error)
	go func() { closed <- r.Close(context.Background()) }()
	if err := <-done; !errors.Is(err, apilog.ErrRecorderClosed) {
		t.Errorf("Record blocked when Close came = %v, want ErrRecorderClosed", err)
	}
	close(s.gate)
	if err := <-closed; err != nil {
		t.Errorf("Close: %v", err)
	}
	st := r.Stats()
	checkIdentity(t, st)
	if st.Written != 2 || st.Dropped != 1 || l.total() != 0 {
		t.Errorf("stats %+v, %d reported: want 2 written and 1 dropped at close, which only its caller hears of", st, l.total())
	}
	checkNoWriter(t)
}

func TestRecorderSecondClose(t *testing.T) {
	s := &fakeStore{gate: make(chan struct{}), entered: make(chan struct{}, 1)}
	r := apilog.NewRecorder(s, nil)
	r.Record(entry(1))
	<-s.entered
	first := make(chan error)
	go func() { first <- r.Close(context.Background()) }()
	time.Sleep(10 * time.Millisecond)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Millisecond)
	defer cancel()
	start := time.Now()
	if err := r.Close(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("second Close while the first waits = %v, want its own deadline", err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("second Close took %v, want about its 30 ms deadline", d)
	}
	close(s.gate)
	if err := <-first; err != nil {
		t.Errorf("first Close: %v", err)
	}
	if err := r.Close(context.Background()); err != nil {
		t.Errorf("Close after Close: %v", err)
	}
	checkNoWriter(t)
}

// TestRecorderFlushReportsEarlierLosses: a Flush called after a batch
// already failed still says so, once.
func TestRecorderFlushReportsEarlierLosses(t *testing.T) {
	fault := errors.New("disk I/O error")
	s := &fakeStore{fail: func(int) error { return fault }}
	log, _ := quietLogger()
	r := apilog.NewRecorder(s, &apilog.RecorderOptions{RetryFor: time.Millisecond, BatchDelay: time.Millisecond, Logger: log})
	r.Record(entry(1))
	deadline := time.Now().Add(5 * time.Second)
	for r.Stats().Failed != 1 {
		if time.Now().After(deadline) {
			t.Fatalf("stats %+v, want the entry failed", r.Stats())
		}
		time.Sleep(time.Millisecond)
	}
	if err := r.Flush(context.Background()); !errors.Is(err, fault) || !strings.Contains(err.Error(), "1 entries") {
		t.Errorf("Flush after the failure = %v, want it reported", err)
	}
	if err := r.Flush(context.Background()); err != nil {
		t.Errorf("second Flush = %v, want nil: the loss was reported", err)
	}
	closeRecorder(t, r)
}

// TestRecorderCloseStress closes recorders at random moments of slow
// writes, with deadlines that often end first: Close always returns,
// every entry is counted once, and no goroutine is left.
func TestRecorderCloseStress(t *testing.T) {
	log, _ := quietLogger()
	for i := range 100 {
		var l losses
		delay := time.Duration(i%7) * time.Millisecond
		s := &fakeStore{fail: func(int) error { time.Sleep(delay); return nil }}
		r := apilog.NewRecorder(s, &apilog.RecorderOptions{QueueSize: 64, BatchSize: 8, OnError: l.onError, Logger: log})
		var wg sync.WaitGroup
		for w := range 4 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for j := range 50 {
					r.Record(entry(w*1000 + j))
				}
			}()
		}
		time.Sleep(time.Duration(i%5) * time.Millisecond)
		ctx, cancel := context.WithTimeout(context.Background(), time.Duration(i%4)*time.Millisecond)
		closed := make(chan struct{})
		go func() { r.Close(ctx); close(closed) }()
		select {
		case <-closed:
		case <-time.After(10 * time.Second):
			t.Fatalf("round %d: Close hung; stats %+v", i, r.Stats())
		}
		cancel()
		wg.Wait()
		st := r.Stats()
		checkIdentity(t, st)
		if st.Pending != 0 || st.Written != int64(len(s.written())) {
			t.Fatalf("round %d: stats %+v, %d in the store", i, st, len(s.written()))
		}
	}
	checkNoWriter(t)
}
