package apilog

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"
)

// Errors that callers branch on. Errors returned by this package and by
// stores wrap one of them with the detail.
var (
	// ErrBadQuery means a search, sort, page or filter is malformed. Every
	// such error is a [*QueryError], which names the part of the query that
	// is wrong and says why in words safe to show the user who typed it.
	ErrBadQuery = errors.New("apilog: bad query")

	// ErrBadEntry means an Entry or Key is not valid; nothing of the call
	// that returned it was stored.
	ErrBadEntry = errors.New("apilog: bad entry")

	// ErrClosed means the store was closed.
	ErrClosed = errors.New("apilog: store closed")

	// ErrTimeout means a store stopped a query that ran past its time
	// limit, so that no search holds a connection other viewers need. The
	// same query would fail again; a narrower search or a shorter time
	// range answers sooner.
	ErrTimeout = errors.New("apilog: the query took too long and was stopped")
)

// Param names a part of a query as the Logs page's URL does, so that a
// [QueryError] can point at what the user typed.
type Param string

// The parts of a query.
const (
	ParamAccount  Param = "account"   // Query.Account and AllAccounts
	ParamSearch   Param = "q"         // Query.Search, the search box
	ParamStatus   Param = "status"    // Query.StatusClasses
	ParamMethod   Param = "method"    // Query.Methods
	ParamKey      Param = "key"       // Query.KeyIDs
	ParamFrom     Param = "from"      // Query.From
	ParamTo       Param = "to"        // Query.To
	ParamSort     Param = "sort"      // Sort.Column
	ParamDir      Param = "dir"       // Sort.Dir
	ParamPage     Param = "page"      // Query.Page
	ParamPageSize Param = "page_size" // Query.PageSize
	ParamMaxID    Param = "max_id"    // Query.MaxID
	ParamFormat   Param = "format"    // an export's Format
	ParamBuckets  Param = "buckets"   // a chart's Buckets
)

// QueryError is a malformed query. It unwraps to [ErrBadQuery], so callers
// that only need to know use errors.Is; a page that shows the error reads
// it with errors.As.
type QueryError struct {
	Param   Param  // the part of the query that is wrong
	Message string // what is wrong, for the person who typed it; no package names
}

// Error returns the message with the part it is about, for logs; a page
// shows Param and Message itself.
func (e *QueryError) Error() string {
	return "apilog: bad query: " + string(e.Param) + ": " + e.Message
}

// Unwrap returns ErrBadQuery.
func (e *QueryError) Unwrap() error { return ErrBadQuery }

// badQuery returns a *QueryError about param.
func badQuery(param Param, format string, args ...any) error {
	return &QueryError{Param: param, Message: fmt.Sprintf(format, args...)}
}

// Store keeps entries and keys and answers the Logs page's queries. Every
// implementation passes the conformance suite in package apilogtest. All
// methods are safe for concurrent use and return ctx.Err() (wrapped) when
// ctx ends before they do; after Close they return [ErrClosed].
type Store interface {
	// Append stores entries in one batch that commits whole or not at all.
	// It ignores each entry's ID and, on success, sets it to the ID the store
	// assigned: unique and increasing in insertion order. Times are stored
	// in UTC with nanoseconds. An invalid entry (see [Entry.Validate]) fails
	// the whole batch with an error that wraps [ErrBadEntry] and gives its
	// index. An empty batch does nothing.
	Append(ctx context.Context, entries []Entry) error

	// UpsertKey creates the key or replaces the stored one with the same
	// Account and ID: a rename, a rotation, a revocation. Rows show a key's
	// current state, so the change shows on every row the key ever made. An
	// invalid key (see [Key.Validate]) returns an error wrapping [ErrBadEntry].
	UpsertKey(ctx context.Context, key Key) error

	// DeleteKey removes the key; its rows stay and show as an unknown key.
	// Deleting a key the store does not have is not an error.
	DeleteKey(ctx context.Context, account, id string) error

	// Query returns one page of the rows that match q, in q's order, with
	// the totals for all pages. A malformed q returns an error that wraps
	// the [*QueryError] of [Query.Normalize].
	Query(ctx context.Context, q Query) (Page, error)

	// Close releases the store. Calls after Close return ErrClosed; a
	// second Close returns nil.
	Close() error
}

// KeyLister is a [Store] that lists an account's keys, for the Logs
// page's key filter. Every store of this module implements it; the page
// works without it, with no key filter.
type KeyLister interface {
	// Keys returns up to limit of account's keys, as UpsertKey last
	// stored them (deleted ones are not listed), by name, then by ID.
	// Names and IDs compare in byte order. A limit below 1 lists no key,
	// and so does an account the store does not know; neither is an error.
	Keys(ctx context.Context, account string, limit int) ([]Key, error)
}

// Streamer is a Store that reads a query's whole result, not one page of
// it: what an export of everything a view selects needs. Every store of
// this module implements it; [Stream] reads any Store, through Streamer
// when it can.
type Streamer interface {
	// Stream calls yield with the rows that match q, in q's order, from
	// the first, in batches of a few thousand or fewer; q.Page and
	// q.PageSize are ignored. The rows are those of one moment, the call's
	// start (q.MaxID, when set, pins them earlier, as it pins a page): rows
	// appended meanwhile are left out, and none repeats or is skipped.
	//
	// When more than limit rows match (any, for a limit below 1) it
	// returns an error wrapping a [*TooManyRowsError] before calling yield. A yield that
	// returns an error stops the stream, and Stream returns that error.
	// The store holds no connection and no snapshot while yield runs, so a
	// slow reader of the rows keeps nothing from other queries. It holds
	// memory for the matches' places in order (4 to 20 bytes a match in
	// this module's stores) and one batch.
	Stream(ctx context.Context, q Query, limit int, yield func(rows []Row) error) error
}

// ErrTooManyRows means more rows match than a caller allows at once (see
// [Streamer]); the error wraps a [*TooManyRowsError], which says how many.
var ErrTooManyRows = errors.New("apilog: too many rows")

// TooManyRowsError is the result of a Stream or an export past its limit.
type TooManyRowsError struct {
	Rows  int // the rows that match
	Limit int // the most the caller allowed
}

// Error says how many rows match and the limit.
func (e *TooManyRowsError) Error() string {
	return fmt.Sprintf("apilog: %d rows match, over the limit of %d", e.Rows, e.Limit)
}

// Unwrap returns ErrTooManyRows.
func (e *TooManyRowsError) Unwrap() error { return ErrTooManyRows }

// Stream reads every row that matches q, as [Streamer.Stream] does: through
// s's own Stream when s is a Streamer, else page by page with Query, the
// pages pinned to the first one's row-ID bound. Read that way, a deep page
// costs some stores more than the first, a row deleted meanwhile (by
// retention) moves the rows after it one page up, so that one is skipped,
// and each page shows the keys as they are when it is read. A wrapper
// around a store (for metrics, say) should pass Stream on.
func Stream(ctx context.Context, s Store, q Query, limit int, yield func(rows []Row) error) error {
	limit = max(limit, 0)
	if st, ok := s.(Streamer); ok {
		return st.Stream(ctx, q, limit, yield)
	}
	q.PageSize = MaxPageSize
	for q.Page = 1; ; q.Page++ {
		p, err := s.Query(ctx, q)
		if err != nil {
			return err
		}
		if q.Page == 1 {
			if p.TotalRows > limit {
				return &TooManyRowsError{Rows: p.TotalRows, Limit: limit}
			}
			q.MaxID = p.MaxID
		}
		if len(p.Rows) > 0 {
			if err := yield(p.Rows); err != nil {
				return err
			}
		}
		if q.Page >= p.TotalPages {
			return nil
		}
	}
}

// Query selects, orders and pages rows. The zero value of every field but
// the scope is useful: no filter, the default sort, the first page of
// DefaultPageSize rows.
type Query struct {
	// Account scopes the query to one tenant's rows. It is required unless
	// AllAccounts is set, so that a forgotten scope is an error rather than
	// every tenant's rows.
	Account string
	// AllAccounts queries every tenant's rows, for operators.
	AllAccounts bool

	Search Search // see ParseSearch

	From, To      time.Time     // time range [From, To); a zero bound is open
	StatusClasses []StatusClass // any of these classes; none means all
	Methods       []string      // any of these methods, compared exactly; none means all
	KeyIDs        []string      // any of these keys; none means all

	// MaxID, when above 0, leaves out the rows with a greater ID: the rows
	// recorded after a first page was read (see [Page.MaxID]). Passing the
	// first page's MaxID to the next pages and to an export pins them to
	// the same rows, whatever arrives meanwhile and whatever the clocks say.
	MaxID int64

	Sort     Sort
	Page     int // 1-based; 0 is the first page
	PageSize int // 1 to MaxPageSize; 0 is DefaultPageSize

	// Now is the instant key statuses are computed at. Zero means the
	// store's clock at the time of the query.
	Now time.Time
}

// Filtered reports whether q has a search or a filter (status, method,
// key): the queries a store may have to answer by scanning rows, which
// stores run a few at a time so that the unfiltered views, answered from
// indexes and counts, always find a connection. A time range alone is not
// a filter.
func (q Query) Filtered() bool {
	return len(q.Search.Terms) > 0 || len(q.StatusClasses) > 0 || len(q.Methods) > 0 || len(q.KeyIDs) > 0
}

// MaxFilterValues bounds each of a Query's lists (methods, key IDs, status
// classes), so that one request cannot make a store do unbounded work.
const MaxFilterValues = 1000

// Normalize returns q with its defaults filled in (sort, page, page size), or
// a [*QueryError] that names the bad value. Stores call it first; Now is left
// to the store's clock.
func (q Query) Normalize() (Query, error) {
	switch {
	case q.Account == "" && !q.AllAccounts:
		return Query{}, badQuery(ParamAccount, "no account: set Query.Account, or AllAccounts for an operator's view")
	case q.Account != "" && q.AllAccounts:
		return Query{}, badQuery(ParamAccount, "account %q and AllAccounts both set", q.Account)
	case q.Page < 0:
		return Query{}, badQuery(ParamPage, "%d: want a whole number from 1", q.Page)
	case q.PageSize < 0 || q.PageSize > MaxPageSize:
		return Query{}, badQuery(ParamPageSize, "%d: want 1 to %d", q.PageSize, MaxPageSize)
	case q.MaxID < 0:
		return Query{}, badQuery(ParamMaxID, "%d: want a row ID", q.MaxID)
	case !q.From.IsZero() && !q.To.IsZero() && q.To.Before(q.From):
		return Query{}, badQuery(ParamTo, "the time range ends (%s) before it starts (%s)",
			q.To.UTC().Format(time.RFC3339), q.From.UTC().Format(time.RFC3339))
	}
	for _, c := range q.StatusClasses {
		if c < StatusOther || c > StatusServerError {
			return Query{}, badQuery(ParamStatus, "status class %d is not one of the five", int(c))
		}
	}
	for _, list := range [...]struct {
		param Param
		name  string
		n     int
	}{{ParamStatus, "status classes", len(q.StatusClasses)}, {ParamMethod, "methods", len(q.Methods)}, {ParamKey, "key IDs", len(q.KeyIDs)}} {
		if list.n > MaxFilterValues {
			return Query{}, badQuery(list.param, "%d %s, over %d", list.n, list.name, MaxFilterValues)
		}
	}
	if err := q.Search.validate(); err != nil {
		return Query{}, err
	}
	var err error
	if q.Sort, err = q.Sort.Normalize(); err != nil {
		return Query{}, err
	}
	q.Page = max(q.Page, 1)
	if q.PageSize == 0 {
		q.PageSize = DefaultPageSize
	}
	return q, nil
}

// Apply returns the page of rows that q selects from rows: the reference
// semantics of [Store.Query] over rows already joined with their keys. It
// sorts a copy; rows is not modified. Its Page.MaxID is q.MaxID, or the
// highest ID of the rows in q's scope.
func (q Query) Apply(rows []Row) (Page, error) {
	q, err := q.Normalize()
	if err != nil {
		return Page{}, err
	}
	var match []*Row // sorted as pointers: Compare's column funcs would make copies escape
	for i := range rows {
		if q.Match(&rows[i]) {
			match = append(match, &rows[i])
		}
	}
	slices.SortFunc(match, q.Sort.Compare)
	off, limit := Window(q.Page, q.PageSize)
	p := Page{Number: q.Page, Size: q.PageSize, TotalRows: len(match), TotalPages: PageCount(len(match), q.PageSize), MaxID: q.MaxID}
	if p.MaxID == 0 {
		for i := range rows {
			if q.AllAccounts || rows[i].Account == q.Account {
				p.MaxID = max(p.MaxID, rows[i].ID)
			}
		}
	}
	if off < len(match) {
		for _, r := range match[off:min(off+limit, len(match))] {
			p.Rows = append(p.Rows, *r)
		}
	}
	return p, nil
}
