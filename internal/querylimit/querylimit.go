// Package querylimit bounds a store's queries the same way in every SQL
// store: searches (a query with a search or a filter, or any that reads
// every row it matches) run a few at a time, so that the unfiltered
// views, answered from indexes and counts, always find a connection; and
// every query ends at a timeout, so that none holds a connection, or a
// snapshot that keeps the log from being trimmed, for long.
package querylimit

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/apilog/apilog"
)

// Limiter bounds queries. Create it with New.
type Limiter struct {
	slots   chan struct{}
	timeout time.Duration
}

// New returns a Limiter that runs at most max searches at once and ends
// every query after timeout.
func New(max int, timeout time.Duration) *Limiter {
	return &Limiter{slots: make(chan struct{}, max), timeout: timeout}
}

// errTimeout is the cause of a query's context ending at the timeout.
var errTimeout = errors.New("query timeout")

// Enter admits a query: a search (a filtered query, or any that reads
// every row it matches) waits for a turn, up to the timeout. It returns
// ctx bounded by the timeout, which the query runs under, and done, which
// the query calls when it ends. The error wraps apilog.ErrTimeout when the
// wait took the whole timeout, or is ctx's.
func (l *Limiter) Enter(ctx context.Context, search bool) (context.Context, func(), error) {
	ctx, cancel := l.Bound(ctx)
	if !search {
		return ctx, cancel, nil
	}
	select {
	case l.slots <- struct{}{}:
		return ctx, func() { <-l.slots; cancel() }, nil
	case <-ctx.Done():
		defer cancel()
		if context.Cause(ctx) == errTimeout {
			return nil, nil, fmt.Errorf("%w: %d searches ran for all of the query timeout (%s)", apilog.ErrTimeout, cap(l.slots), l.timeout)
		}
		return nil, nil, ctx.Err()
	}
}

// Bound returns ctx ended at the timeout, as Enter bounds a query but
// without a turn: for a store's short reads that follow a query's, such as
// a stream's batches of rows.
func (l *Limiter) Bound(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeoutCause(ctx, l.timeout, errTimeout)
}

// Err returns err, of a query run under a ctx from Enter or Bound, wrapping
// apilog.ErrTimeout when the timeout ended the query.
func (l *Limiter) Err(ctx context.Context, err error) error {
	if err != nil && context.Cause(ctx) == errTimeout {
		return fmt.Errorf("%w (query timeout %s): %w", apilog.ErrTimeout, l.timeout, err)
	}
	return err
}

// TimedOut reports whether ctx, from Enter, ended at the timeout.
func TimedOut(ctx context.Context) bool { return context.Cause(ctx) == errTimeout }
