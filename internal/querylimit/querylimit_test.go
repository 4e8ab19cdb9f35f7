package querylimit

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/apilog/apilog"
)

// TestLimiter checks the turns and the timeout: filtered queries beyond
// the limit wait, and fail with ErrTimeout when the wait takes the whole
// timeout; an unfiltered query never waits; a query's context ends at the
// timeout, and Err then wraps ErrTimeout; a caller's cancellation is not a
// timeout.
func TestLimiter(t *testing.T) {
	const timeout = 100 * time.Millisecond
	l := New(1, timeout)
	const filtered = true
	ctx := context.Background()

	held, done, err := l.Enter(ctx, filtered)
	if err != nil {
		t.Fatal(err)
	}
	// The turn is taken: another filtered query waits, and times out.
	if _, _, err := l.Enter(ctx, filtered); !errors.Is(err, apilog.ErrTimeout) {
		t.Errorf("a second search while the one turn is held: %v, want ErrTimeout", err)
	}
	// An unfiltered query goes straight through.
	pageCtx, pageDone, err := l.Enter(ctx, false)
	if err != nil {
		t.Fatalf("an unfiltered query while the turn is held: %v", err)
	}
	pageDone()
	if pageCtx.Err() == nil {
		t.Error("done did not end the query's context")
	}
	// The held query's context ends at the timeout, as a timeout.
	<-held.Done()
	if !TimedOut(held) || !errors.Is(l.Err(held, held.Err()), apilog.ErrTimeout) {
		t.Errorf("at the timeout: TimedOut %v, Err %v; want a timeout", TimedOut(held), l.Err(held, held.Err()))
	}
	done()
	// The turn is free again.
	_, done, err = l.Enter(ctx, filtered)
	if err != nil {
		t.Fatalf("after done: %v", err)
	}
	done()

	// A caller that leaves is not a timeout.
	canceled, cancel := context.WithCancel(ctx)
	cancel()
	_, done, err = l.Enter(canceled, false)
	if err != nil {
		t.Fatal(err)
	}
	done()
	held, done, _ = l.Enter(ctx, filtered)
	if _, _, err := l.Enter(canceled, filtered); !errors.Is(err, context.Canceled) || errors.Is(err, apilog.ErrTimeout) {
		t.Errorf("a canceled wait: %v, want context.Canceled", err)
	}
	if err := l.Err(held, errors.New("other")); errors.Is(err, apilog.ErrTimeout) {
		t.Errorf("an error before the timeout: %v wraps ErrTimeout", err)
	}
	done()
}

// TestBound: a bounded context ends at the timeout, with no turn taken,
// and its error wraps apilog.ErrTimeout.
func TestBound(t *testing.T) {
	l := New(1, 20*time.Millisecond)
	// The one turn is taken: Bound must not wait for it.
	_, done, err := l.Enter(context.Background(), true)
	if err != nil {
		t.Fatal(err)
	}
	defer done()
	ctx, cancel := l.Bound(context.Background())
	defer cancel()
	<-ctx.Done()
	if err := l.Err(ctx, ctx.Err()); !errors.Is(err, apilog.ErrTimeout) {
		t.Errorf("Err of a bounded context at its timeout: %v, want ErrTimeout", err)
	}
}
