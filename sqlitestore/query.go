package sqlitestore

import (
	"cmp"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"iter"
	"maps"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/apilog/apilog"
	"github.com/apilog/apilog/plan"
	"github.com/apilog/apilog/timecount"
)

// Query returns a page of rows; see [apilog.Store.Query]. It reads one
// snapshot of the database in a short read transaction, so its rows and
// totals agree with each other while Append goes on. A search that reads
// every row in scope (StrategyMask) reads them in a series of short
// snapshots, leaving out the rows given after the first: its total may
// still count rows that retention deletes while it runs.
func (s *Store) Query(ctx context.Context, q apilog.Query) (apilog.Page, error) {
	var p apilog.Page
	err := s.read(ctx, q, 0, func(r *reader, q *apilog.Query) error {
		pl, page, ids, err := s.find(r, q, -1)
		if err != nil {
			return err
		}
		p = page
		p.Rows, err = pl.rows(r.ctx, r.tx, ids)
		return err
	})
	if err != nil {
		return apilog.Page{}, fmt.Errorf("sqlitestore: query: %w", err)
	}
	return p, nil
}

// read runs f on q, normalized, in a reader: under the store's limits on
// queries (a turn among the searches, QueryTimeout) and the checkpointer's
// gate. With all above 0 the query's window is its first all rows, past
// MaxPageSize: what Stream reads.
func (s *Store) read(ctx context.Context, q apilog.Query, all int, f func(r *reader, q *apilog.Query) error) error {
	release, err := s.enter()
	if err != nil {
		return err
	}
	defer release()
	if q, err = q.Normalize(); err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	if q.Now.IsZero() {
		q.Now = s.clock()
	}
	if all > 0 {
		q.Page, q.PageSize = 1, all
	}
	ctx, done, err := s.limit.Enter(ctx, q.Filtered())
	if err != nil {
		return err
	}
	defer done()
	if q.Filtered() {
		if err := s.waitHold(ctx); err != nil {
			return s.queryErr(ctx, err)
		}
	}
	r := &reader{s: s, base: ctx}
	defer r.close()
	if err := r.begin(); err != nil {
		return s.queryErr(r.ctx, err)
	}
	if s.searchHook != nil && q.Filtered() {
		if err := s.searchHook(r.ctx, r.tx); err != nil {
			return s.queryErr(r.ctx, err)
		}
	}
	if err := f(r, &q); err != nil {
		return s.queryErr(r.ctx, err)
	}
	return nil
}

// reader is a query's read transaction and the gate it holds for it (see
// drain). A long scan renews it between chunks (StrategyMask), so that its
// snapshot never keeps the WAL from restarting for long.
type reader struct {
	s     *Store
	base  context.Context // the query's
	ctx   context.Context // base, ended also when the gate is cut
	conn  *sql.Conn       // tx's, for the driver's own rows (scanInts)
	tx    *sql.Tx
	g     *gate
	leave func()
}

func (r *reader) begin() error {
	for {
		r.g = r.s.gate.Load()
		r.g.RLock()
		// A drain may have swapped this gate out and finished with it
		// between the Load and the RLock: its context is then over.
		if r.g.ctx.Err() == nil {
			break
		}
		r.g.RUnlock()
	}
	r.ctx, r.leave = r.g.enter(r.base)
	conn, err := r.s.r.Conn(r.ctx)
	if err != nil {
		return err
	}
	r.conn = conn
	r.tx, err = conn.BeginTx(r.ctx, nil)
	return err
}

func (r *reader) close() {
	if r.tx != nil {
		r.tx.Rollback()
		r.tx = nil
	}
	if r.conn != nil {
		r.conn.Close()
		r.conn = nil
	}
	if r.g != nil {
		r.leave()
		r.g.RUnlock()
		r.g = nil
	}
}

// renew ends the snapshot and begins another, after any restart of the
// WAL that holds searches back.
func (r *reader) renew() error {
	r.close()
	if err := r.s.waitHold(r.base); err != nil {
		return err
	}
	return r.begin()
}

// queryErr is the error of a query that failed under ctx: it wraps
// apilog.ErrTimeout when the timeout or the checkpointer stopped it.
func (s *Store) queryErr(ctx context.Context, err error) error {
	if errors.Is(context.Cause(ctx), errCut) {
		err = fmt.Errorf("%w: %w: %w", apilog.ErrTimeout, errCut, err)
	}
	return s.limit.Err(ctx, err)
}

// Strategy names how a query was answered; see Options.Explain.
type Strategy string

// The strategies, chosen by exec.strategy (a page's) and Store.volume (a
// chart's).
const (
	// StrategyNone: no row can match (an unknown account, an empty time
	// range); nothing is read.
	StrategyNone Strategy = "none"
	// StrategyTimeSeek: the time-ordered view with no filter but a time
	// range: the counts table gives the total and locates the page, and the
	// time index is read from there.
	StrategyTimeSeek Strategy = "time-seek"
	// StrategyWalk: a view sorted by a column other than time, with no
	// filter at all: the column's values (or, for durations, groups of
	// them) are walked in order and each one's rows read off its index,
	// groups before the page skipped by count.
	StrategyWalk Strategy = "walk"
	// StrategyWalkFiltered: as StrategyWalk, testing each row against the
	// filters, when the matches are a large enough share of the rows.
	StrategyWalkFiltered Strategy = "walk-filtered"
	// StrategyIndexScan: a view sorted by time, filtered: the time index is
	// read in order, testing each row, until the page is full; one stream
	// per account, merged.
	StrategyIndexScan Strategy = "index-scan"
	// StrategySort: the matches are few enough to collect from the
	// filters' indexes and sort.
	StrategySort Strategy = "sort"
	// StrategyKeySort: as StrategySort for the API column, whose order (by
	// Unicode case folding) is ranked in Go rather than by a collation.
	StrategyKeySort Strategy = "key-sort"
	// StrategyMask: a search that no index narrows (each of its terms
	// matches a large share of the values, or it only excludes): every row
	// in scope is read once and tested in Go with the terms as bits, so
	// that the cost per row does not grow with the number of terms; the
	// total is counted and the page kept on the way.
	StrategyMask Strategy = "mask"

	// How a chart (CountVolume) was counted, StrategyNone and StrategyMask
	// aside:

	// StrategyVolumeCounts: from the volume table, with no filter but
	// status classes.
	StrategyVolumeCounts Strategy = "volume-counts"
	// StrategyVolumeGroups: by SQL, grouping the matches found on the
	// filters' indexes by bucket.
	StrategyVolumeGroups Strategy = "volume-groups"
	// StrategyVolumeBars: a duration range's matches counted bar by bar,
	// each bar a few ranges of the duration index.
	StrategyVolumeBars Strategy = "volume-bars"
)

// find answers q but for its rows: the page without them, and the IDs of
// its rows in order, which pl.rows reads (in r, renewed by a masked scan).
// When most is 0 or more, more matches than most are only counted: a
// stream past its limit reads no IDs.
func (s *Store) find(r *reader, q *apilog.Query, most int) (*exec, apilog.Page, []int64, error) {
	ctx, tx := r.ctx, r.tx
	page := apilog.Page{Number: q.Page, Size: q.PageSize, TotalPages: apilog.PageCount(0, q.PageSize), MaxID: q.MaxID}
	if err := s.cache.refresh(ctx, tx); err != nil {
		return nil, page, nil, err
	}
	var last int64 // the highest ID given, in this snapshot
	if err := tx.QueryRowContext(ctx, "SELECT coalesce(max(id), 0) FROM entries").Scan(&last); err != nil {
		return nil, page, nil, err
	}
	pl, err := s.compile(ctx, tx, q, last)
	if err != nil {
		return nil, page, nil, err
	}
	pl.most = most
	if page.MaxID == 0 {
		// The scope's own last ID: the table's would show one tenant how
		// busy the others are.
		page.MaxID = last
		if pl.acct != 0 {
			if err := tx.QueryRowContext(ctx, "SELECT last_id FROM accounts WHERE id = ?", pl.acct).Scan(&page.MaxID); err != nil {
				return nil, page, nil, err
			}
		} else if q.Account != "" {
			page.MaxID = 0 // an account with no rows
		}
	}
	var (
		total int
		ids   []int64
		st    Strategy
	)
	if pl.masked {
		st = StrategyMask
		total, ids, err = pl.maskPage(r, last)
	} else {
		st, total, ids, err = pl.page(ctx, tx)
	}
	if err != nil {
		return nil, page, nil, err
	}
	if s.opts.Explain != nil {
		s.opts.Explain(*q, st)
	}
	page.TotalRows, page.TotalPages = total, apilog.PageCount(total, q.PageSize)
	return pl, page, ids, nil
}

// page chooses a strategy for the query and answers it: the total, and
// the IDs of the page's rows in order.
func (pl *exec) page(ctx context.Context, tx *sql.Tx) (st Strategy, total int, ids []int64, err error) {
	total, err = pl.total(ctx, tx)
	if err != nil || pl.over(total) {
		return "", total, nil, err
	}
	st, err = pl.strategy(ctx, tx, total)
	if err != nil {
		return "", 0, nil, err
	}
	off, limit := pl.Offset, pl.Limit
	if st == StrategyNone || off >= total {
		return st, total, nil, nil
	}
	limit = min(limit, total-off)
	switch st {
	case StrategyTimeSeek:
		ids, err = pl.timePage(ctx, tx, off, limit)
	case StrategyWalk:
		ids, err = pl.walkPage(ctx, tx, off, limit, false)
	case StrategyWalkFiltered:
		ids, err = pl.walkPage(ctx, tx, off, limit, true)
	case StrategyIndexScan:
		ids, err = pl.scanPage(ctx, tx, off, limit)
	case StrategyKeySort:
		ids, err = pl.keySortPage(ctx, tx, off, limit)
	default:
		ids, err = pl.sortPage(ctx, tx, off, limit)
	}
	return st, total, ids, err
}

// strategy chooses how to answer the query, given its total: the one
// place that decides.
//
// Reading a column's order and testing each row reads about
// (off+limit)/fraction rows, where fraction is the share of the rows in
// scope that match; collecting the matches from the filters' indexes and
// sorting them reads total rows. SQLite cannot know the fraction, so the
// store chooses for it.
func (pl *exec) strategy(ctx context.Context, tx *sql.Tx, total int) (Strategy, error) {
	switch {
	case pl.None:
		return StrategyNone, nil
	case pl.fast() && pl.sort.col == "ts" && (!pl.bounded || pl.listed):
		return StrategyTimeSeek, nil
	case pl.fast() && !pl.bounded && pl.sort.access == walkValues && pl.FromOpen && pl.ToOpen && pl.walkable():
		return StrategyWalk, nil
	}
	all, err := pl.inRange(ctx)
	if err != nil {
		return "", err
	}
	inOrder := float64(pl.Offset+pl.Limit)*float64(all)/float64(max(total, 1)) < float64(total)
	switch {
	case inOrder && pl.sort.access == scanIndex:
		return StrategyIndexScan, nil
	case inOrder && pl.walkable():
		return StrategyWalkFiltered, nil
	case pl.Query.Sort.Column.Kind() == apilog.KindKey:
		return StrategyKeySort, nil
	}
	return StrategySort, nil
}

// walkAccounts is the most accounts a walk of a column's values reads
// one by one: each value of the column is looked up in each account's
// part of its index, so the operator's view of 20,000 accounts took 0.9 s
// to walk a few status codes. Past it the matches are sorted, at a cost
// that grows with the rows rather than the accounts.
const walkAccounts = 16

// walkable reports whether the walks may serve the query: few accounts
// in scope.
func (pl *exec) walkable() bool { return len(pl.accts) <= walkAccounts }

// maxTS is the largest time a row can hold.
const maxTS = math.MaxInt64

// maxExcess is the most rows given since a query's row-ID bound that the
// time-ordered view's seek steps over one by one; past more, the view is
// read off the time index with the bound as a filter.
const maxExcess = 10_000

// exec is a compiled query with its SQL: the account, the WHERE clause over
// entries (alias e) and its arguments, and the keys in scope.
type exec struct {
	*plan.Plan
	s     *Store
	acct  int64   // 0 for all accounts
	accts []int64 // the accounts in scope: acct, or every one
	sort  sortColumn
	where []string // besides the account, the time range and the bound
	args  []any
	keys  map[int64]keyRow // every slot in scope

	counts timecount.Reader // the counts table, read for this query

	// bounded is set when the row-ID bound leaves out rows that the fast
	// paths step over: pastN is the number in scope and range, and past
	// lists them (in ID order) when listed. A bound on a filtered query is
	// one of the where terms instead.
	bounded bool
	pastN   int
	past    []timecount.Row
	listed  bool

	// most, when 0 or more, is the most matches a stream takes: past it
	// they are only counted (see over).
	most int

	// masked is set when the search is tested in Go (StrategyMask): its
	// terms are not in the WHERE clause.
	masked bool
	// inScope is the rows in scope and range (inRange), read by broad for
	// a masked query.
	inScope int
	// visit, when set, is called with the time and status of each row a
	// masked scan finds: how a chart is counted in the same scan.
	visit func(ts, status int64)

	// implied is set when the WHERE clause alone confines rows to the
	// account: a condition on key slots or interned values (which belong
	// to one account) must hold. The account condition is then left out,
	// so that SQLite counts on those columns' indexes alone instead of
	// reading every row of the account.
	implied bool
}

// keyRow is a key slot as rows show it at q.Now.
type keyRow struct {
	keyID  string
	name   string
	prefix string
	status apilog.KeyStatus
	since  time.Time // of status
}

// dict is the store's dictionary as package plan reads it: the values
// interned for the accounts in scope and their key slots. The caller holds
// the cache's read lock.
type dict struct{ pl *exec }

func (d dict) Values(f apilog.Field) iter.Seq2[int64, string] {
	return func(yield func(int64, string) bool) {
		c := &d.pl.s.cache
		for _, acct := range d.pl.accts {
			for _, id := range c.byKind[[2]int64{acct, textFields[f].kind}] {
				if !yield(id, c.strs[id].value) {
					return
				}
			}
		}
	}
}

func (d dict) Slots() iter.Seq[plan.Slot] {
	return func(yield func(plan.Slot) bool) {
		for id, k := range d.pl.keys {
			if !yield(plan.Slot{ID: id, KeyID: k.keyID, Name: k.name, Prefix: k.prefix}) {
				return
			}
		}
	}
}

// compile translates q to SQL over this schema; last is the highest row ID.
func (s *Store) compile(ctx context.Context, tx *sql.Tx, q *apilog.Query, last int64) (*exec, error) {
	sc, err := sortColumnOf(q.Sort.Column)
	if err != nil {
		return nil, err
	}
	pl := &exec{s: s, sort: sc}
	pl.counts = timecount.Reader{Levels: levels, Source: counts{pl, tx}}
	if q.Account != "" {
		s.cache.mu.RLock()
		id, ok := s.cache.accounts[q.Account]
		s.cache.mu.RUnlock()
		if !ok {
			pl.Plan = &plan.Plan{Query: *q, Times: plan.Times{None: true}}
			return pl, nil
		}
		pl.acct = id
	}
	pl.keys = map[int64]keyRow{}
	if plan.NeedsSlots(*q) {
		// Otherwise only the page's rows' keys are read, by rows: the
		// operator's view may span tens of thousands of keys.
		if err := pl.loadKeys(ctx, tx, q.Now, nil); err != nil {
			return nil, err
		}
	}
	s.cache.mu.RLock()
	pl.accts = []int64{pl.acct}
	if pl.acct == 0 {
		pl.accts = slices.Sorted(maps.Keys(s.cache.accountNames))
	}
	pl.Plan = plan.Compile(*q, dict{pl})
	s.cache.mu.RUnlock()
	if pl.None {
		return pl, nil
	}
	if err := pl.ResolveRequestIDs(func(id string) ([]int64, error) { return pl.requestIDRows(ctx, tx, id) }); err != nil {
		return nil, err
	}
	if pl.Statuses != nil {
		cond, args := statusSQL(pl.Statuses)
		pl.where = append(pl.where, cond)
		pl.args = append(pl.args, args...)
	}
	if pl.Methods != nil {
		pl.in("e.method", pl.Methods)
		pl.implied = true
	}
	if pl.Slots != nil {
		pl.in("e.key", pl.Slots)
		pl.implied = true
	}
	if pl.masked, err = pl.broad(ctx, tx); err != nil {
		return nil, err
	}
	if !pl.masked {
		for i := range pl.Terms {
			pl.term(&pl.Terms[i])
		}
	}
	if pl.Query.MaxID > 0 && pl.Query.MaxID < last {
		if err := pl.bound(ctx, tx, last); err != nil {
			return nil, err
		}
	}
	return pl, nil
}

// requestIDRows returns the IDs of the rows in scope whose request ID is
// id, off the request-ID index: a plain term looks its text up too, so
// this runs for nearly every search, and most find no row. Scoped here,
// the rows keep a term's condition confined to the account (see implied).
func (pl *exec) requestIDRows(ctx context.Context, tx *sql.Tx, id string) ([]int64, error) {
	query, args := pl.requestIDSQL(id)
	return queryAll(ctx, tx, query, args, scanID)
}

// requestIDSQL is requestIDRows' statement, read off the index alone
// (request_id, account, and the row ID). INDEXED BY makes a missing index
// an error rather than a scan of every row. It reads at most
// plan.RequestIDLimit rows: past the cap the term tests the column
// instead (termSQL).
func (pl *exec) requestIDSQL(id string) (string, []any) {
	query, args := "SELECT id FROM entries INDEXED BY "+idxRequestID+" WHERE request_id = ?", []any{id}
	if pl.acct != 0 {
		query, args = query+" AND account = ?", append(args, pl.acct)
	}
	return query + " LIMIT ?", append(args, plan.RequestIDLimit())
}

// bound applies the row-ID bound, given the highest ID. When the query is
// otherwise unfiltered the bound is stepped over: the rows in scope past it
// are counted on the row ID's own range (of every account, so the cost is
// the rows added since, not the table) and taken off the counts; up to
// maxExcess of them are also listed, for the time-ordered view's seek.
// Otherwise the bound is a filter.
func (pl *exec) bound(ctx context.Context, tx *sql.Tx, last int64) error {
	if pl.masked {
		return nil // maskPage bounds its scan by the ID
	}
	if len(pl.where) > 0 {
		pl.where = append(pl.where, "e.id <= ?")
		pl.args = append(pl.args, pl.Query.MaxID)
		return nil
	}
	if last-pl.Query.MaxID > maxExcess {
		conds, args := pl.conds(pl.acct) // before bounded is set: without the bound
		query := "SELECT count(*) FROM entries e NOT INDEXED WHERE e.id > ?"
		if len(conds) > 0 {
			query += " AND " + strings.Join(conds, " AND ")
		}
		pl.bounded = true
		return tx.QueryRowContext(ctx, query, append([]any{pl.Query.MaxID}, args...)...).Scan(&pl.pastN)
	}
	pl.bounded = true
	// The account and the range are tested here, not in SQL, which might
	// read the account's whole time index instead of the row ID's range.
	type past struct{ id, ts, acct int64 }
	rows, err := queryAll(ctx, tx, "SELECT id, ts, account FROM entries WHERE id > ?", []any{pl.Query.MaxID},
		func(sc scanFunc) (p past, err error) { return p, sc(&p.id, &p.ts, &p.acct) })
	if err != nil {
		return err
	}
	pl.listed = true
	for _, p := range rows {
		if (pl.acct == 0 || p.acct == pl.acct) && pl.InRange(p.ts) {
			pl.past = append(pl.past, timecount.Row{ID: p.id, Time: p.ts})
		}
	}
	pl.pastN = len(pl.past)
	return nil
}

// over reports whether total matches are more than a stream takes.
func (pl *exec) over(total int) bool { return pl.most >= 0 && total > pl.most }

// accounts returns the IDs of the accounts in scope, read once by compile.
func (pl *exec) accounts() []int64 { return pl.accts }

// loadKeys reads key slots with their state at now: those listed, or
// (slots nil) every one in scope.
func (pl *exec) loadKeys(ctx context.Context, tx *sql.Tx, now time.Time, slots []int64) error {
	query := "SELECT id, key_id, known, name, prefix, inactive, created_at, rotated_at, revoked_at, expires_at FROM keys"
	var args []any
	switch {
	case slots != nil:
		query += " WHERE " + inSQL("id")
		args = append(args, jsonIDs(slots))
	case pl.acct != 0:
		query += " WHERE account = ?"
		args = append(args, pl.acct)
	}
	rows, err := tx.QueryContext(ctx, query, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var (
			slot  int64
			k     keyRow
			known bool
			key   apilog.Key
			times [4][]byte
		)
		if err := rows.Scan(&slot, &k.keyID, &known, &key.Name, &key.Prefix, &key.Inactive,
			&times[0], &times[1], &times[2], &times[3]); err != nil {
			return err
		}
		if known {
			if err := keyTimes(&key, &times); err != nil {
				return fmt.Errorf("key slot %d: %w", slot, err)
			}
			k.name, k.prefix = key.Name, key.Prefix
			k.status, k.since = key.State(now)
		}
		pl.keys[slot] = k
	}
	return rows.Err()
}

// keyTimes sets key's times from their columns (created_at, rotated_at,
// revoked_at, expires_at), as keyTime stored them: NULL is the zero time.
func keyTimes(key *apilog.Key, times *[4][]byte) error {
	for i, t := range [...]*time.Time{&key.CreatedAt, &key.RotatedAt, &key.RevokedAt, &key.ExpiresAt} {
		*t = time.Time{}
		if times[i] != nil {
			if err := t.UnmarshalBinary(times[i]); err != nil {
				return err
			}
		}
	}
	return nil
}

// Keys lists up to limit of account's keys; see [apilog.KeyLister]. They
// are those UpsertKey stored and DeleteKey did not remove (known), in their
// latest state, by name, then by ID, in byte order (SQLite's BINARY
// collation). A limit below 1 lists none; an unknown account has none. It
// is one statement on a read connection, under the limits of an unfiltered
// query: the account's slots off the keys table's (account, key_id) index,
// sorted.
func (s *Store) Keys(ctx context.Context, account string, limit int) ([]apilog.Key, error) {
	// The scope only gets the call through Query.Normalize: the statement
	// below is confined to account. "" has no keys (a Key needs an account).
	q := apilog.Query{Account: account, AllAccounts: account == ""}
	var keys []apilog.Key
	err := s.read(ctx, q, 0, func(r *reader, _ *apilog.Query) error {
		if limit < 1 {
			return nil
		}
		rows, err := r.tx.QueryContext(r.ctx, `SELECT key_id, name, prefix, inactive, created_at, rotated_at, revoked_at, expires_at
			FROM keys WHERE account = (SELECT id FROM accounts WHERE name = ?) AND known
			ORDER BY name, key_id LIMIT ?`, account, limit)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var (
				key   = apilog.Key{Account: account}
				times [4][]byte
			)
			if err := rows.Scan(&key.ID, &key.Name, &key.Prefix, &key.Inactive, &times[0], &times[1], &times[2], &times[3]); err != nil {
				return err
			}
			if err := keyTimes(&key, &times); err != nil {
				return fmt.Errorf("key %q: %w", key.ID, err)
			}
			keys = append(keys, key)
		}
		return rows.Err()
	})
	if err != nil {
		return nil, fmt.Errorf("sqlitestore: keys: %w", err)
	}
	return keys, nil
}

// in adds "col IN ids" to the WHERE clause. The IDs travel as one JSON
// array argument, so the statement text does not depend on the data.
func (pl *exec) in(col string, ids []int64) {
	if len(ids) == 0 {
		pl.where = append(pl.where, "0")
		return
	}
	pl.where = append(pl.where, inSQL(col))
	pl.args = append(pl.args, jsonIDs(ids))
}

func inSQL(col string) string { return col + " IN (SELECT value FROM json_each(?))" }

func jsonIDs(ids []int64) string {
	b := make([]byte, 0, 8*len(ids)+2)
	b = append(b, '[')
	for i, id := range ids {
		if i > 0 {
			b = append(b, ',')
		}
		b = strconv.AppendInt(b, id, 10)
	}
	return string(append(b, ']'))
}

// term adds one search term to the WHERE clause.
func (pl *exec) term(t *plan.Term) {
	cond, args := pl.termWhere(t)
	pl.implied = pl.implied || !t.Negate
	pl.where = append(pl.where, cond)
	pl.args = append(pl.args, args...)
}

// termWhere returns the condition under which a row passes a term.
func (pl *exec) termWhere(t *plan.Term) (string, []any) {
	cond, args := pl.termSQL(t)
	if t.Negate {
		cond = "NOT " + cond
	}
	return cond, args
}

// termSQL returns the condition under which a row matches a term, Negate
// aside: any of its targets does.
func (pl *exec) termSQL(t *plan.Term) (string, []any) {
	var or []string
	var args []any
	add := func(col string, ids []int64) {
		if len(ids) > 0 {
			or = append(or, inSQL(col))
			args = append(args, jsonIDs(ids))
		}
	}
	add("e.key", t.Slots)
	for _, f := range plan.TextFields() {
		add("e."+textFields[f].col, t.Values[f])
	}
	// The rows of the term's request ID, found in scope (requestIDRows):
	// by row ID, so no statement but the lookup reads the request ID
	// (unless too many rows share it: ScanRequestID, below).
	add("e.id", t.Rows)
	// Every row has a status and a duration, whatever its account: the
	// term scopes them to the account itself, so that it alone confines
	// rows to the account (see implied).
	var own []string
	var ownArgs []any
	if len(t.Status) > 0 {
		st, stArgs := statusSQL(t.Status)
		own, ownArgs = append(own, st), append(ownArgs, stArgs...)
	}
	if d := t.Duration; d != nil {
		own, ownArgs = append(own, "e.duration BETWEEN ? AND ?"), append(ownArgs, d.Lo, d.Hi)
	}
	if t.ScanRequestID {
		// More rows share the ID than a list should hold: the column, as
		// another tenant's rows may share it too.
		own, ownArgs = append(own, "e.request_id = ?"), append(ownArgs, t.RequestID)
	}
	if len(own) > 0 {
		cond := strings.Join(own, " OR ")
		if pl.acct != 0 {
			cond = "e.account = ? AND (" + cond + ")"
			args = append(args, pl.acct)
		}
		or = append(or, "("+cond+")")
		args = append(args, ownArgs...)
	}
	if len(or) == 0 {
		return "0", nil
	}
	return "(" + strings.Join(or, " OR ") + ")", args
}

// statusSQL returns a condition on e.status that holds for the codes in
// ranges, with its arguments.
func statusSQL(ranges []plan.Range) (string, []any) {
	var or []string
	var args []any
	for _, r := range ranges {
		if r.Lo == r.Hi {
			or = append(or, "e.status = ?")
			args = append(args, r.Lo)
		} else {
			or = append(or, "e.status BETWEEN ? AND ?")
			args = append(args, r.Lo, r.Hi)
		}
	}
	switch len(or) {
	case 0:
		return "0", nil
	case 1:
		return or[0], args
	}
	return "(" + strings.Join(or, " OR ") + ")", args
}

// fast reports whether the query has no filter but its scope, its time
// range and a bound stepped over (see bound), so that it can be
// answered from the counts table and the indexes alone.
func (pl *exec) fast() bool { return len(pl.where) == 0 && !pl.masked }

// conds returns the conditions of the WHERE clause and their arguments:
// the account acct (none when 0), the time range, the bound, the filters.
func (pl *exec) conds(acct int64) ([]string, []any) {
	var conds []string
	var args []any
	if !pl.FromOpen {
		conds = append(conds, "e.ts >= ?")
		args = append(args, pl.From)
	}
	if !pl.ToOpen {
		conds = append(conds, "e.ts < ?")
		args = append(args, pl.To)
	}
	return pl.condsWith(acct, conds, args)
}

// condsWith is conds with the time range tested by the given conditions
// instead: a test of ts >> 30, which the value indexes hold, lets SQLite
// answer off an index alone where a test of ts would read the table.
func (pl *exec) condsWith(acct int64, timeConds []string, timeArgs []any) ([]string, []any) {
	var conds []string
	var args []any
	if acct != 0 {
		conds = append(conds, "e.account = ?")
		args = append(args, acct)
	}
	conds, args = append(conds, timeConds...), append(args, timeArgs...)
	if pl.bounded {
		conds = append(conds, "e.id <= ?")
		args = append(args, pl.Query.MaxID)
	}
	return append(conds, pl.where...), append(args, pl.args...)
}

// whereSQL returns the full WHERE clause and its arguments. With scoped
// set, the account condition is there even when implied, so that an index
// that leads with the account can serve the query.
func (pl *exec) whereSQL(scoped bool) (string, []any) {
	acct := pl.acct
	if pl.implied && !scoped {
		acct = 0
	}
	conds, args := pl.conds(acct)
	if len(conds) == 0 {
		return "", nil
	}
	return " WHERE " + strings.Join(conds, " AND "), args
}

// total returns the number of matching rows: from the counts table when
// the query is fast, else by counting.
func (pl *exec) total(ctx context.Context, tx *sql.Tx) (int, error) {
	if pl.None {
		return 0, nil
	}
	if pl.fast() {
		n, err := pl.inRange(ctx)
		return n - pl.pastN, err
	}
	where, args := pl.whereSQL(false)
	var n int
	err := tx.QueryRowContext(ctx, "SELECT count(*) FROM entries e"+where, args...).Scan(&n)
	return n, err
}

// direction is the SQL of the sort's direction.
func (pl *exec) direction() string {
	if pl.Query.Sort.Dir == apilog.Desc {
		return " DESC"
	}
	return " ASC"
}

// sortPage returns the IDs of the matching rows at [off, off+limit) in the
// query's order, sorted by SQLite.
func (pl *exec) sortPage(ctx context.Context, tx *sql.Tx, off, limit int) ([]int64, error) {
	where, args := pl.whereSQL(false)
	query := "SELECT e.id FROM entries e" + where + " ORDER BY " + pl.orderSQL() + " LIMIT ? OFFSET ?"
	return queryAll(ctx, tx, query, append(args, limit, off), scanID)
}

// orderSQL is the ORDER BY clause of a sort by a column other than the
// API, ties broken by time and then ID, both descending (see
// [apilog.Sort.Compare]).
func (pl *exec) orderSQL() string {
	dir := pl.direction()
	const tie = ", e.ts DESC, e.id DESC"
	col := pl.Query.Sort.Column
	switch {
	case pl.sort.col == "ts":
		return "e.ts" + dir + ", e.id DESC"
	case col.Kind() == apilog.KindNumber:
		return "e." + pl.sort.col + dir + tie
	}
	value := "(SELECT value FROM strs WHERE id = e." + pl.sort.col + ")"
	if col.Field() == apilog.FieldIP {
		// An IP hash kept as its 32 bytes sorts as its hex text, like the
		// others: SQLite would put every BLOB after every TEXT.
		value = "(SELECT CASE WHEN typeof(value) = 'blob' THEN lower(hex(value)) ELSE value END FROM strs WHERE id = e.ip)"
	}
	if col.EmptyLast() {
		return value + " = '', " + value + dir + tie
	}
	return value + dir + tie
}

// keySortPage is sortPage for the API column: the matches are read with
// their key slot and sorted in Go by the slots' rank.
func (pl *exec) keySortPage(ctx context.Context, tx *sql.Tx, off, limit int) ([]int64, error) {
	where, args := pl.whereSQL(false)
	type match struct{ id, slot, ts int64 }
	rows, err := queryAll(ctx, tx, "SELECT e.id, e.key, e.ts FROM entries e"+where, args, func(sc scanFunc) (m match, err error) {
		return m, sc(&m.id, &m.slot, &m.ts)
	})
	if err != nil {
		return nil, err
	}
	rank := pl.KeyRank()
	srt := pl.Query.Sort
	slices.SortFunc(rows, func(a, b match) int {
		if c := srt.Directed(cmp.Compare(rank[a.slot], rank[b.slot])); c != 0 {
			return c
		}
		return apilog.TieBreak(a.ts, a.id, b.ts, b.id)
	})
	return windowOf(rows, off, limit, func(m match) int64 { return m.id }), nil
}

// scanned is a row's ID, its value of the sort column and its time.
type scanned struct{ id, v, ts int64 }

func scanValue(sc scanFunc) (x scanned, err error) { return x, sc(&x.id, &x.v, &x.ts) }

func scannedID(x scanned) int64 { return x.id }

// valueOrder is the query's order over scanned rows of a number column.
func (pl *exec) valueOrder(a, b scanned) int {
	if c := pl.Query.Sort.Directed(cmp.Compare(a.v, b.v)); c != 0 {
		return c
	}
	return apilog.TieBreak(a.ts, a.id, b.ts, b.id)
}

// scanPage returns the IDs of rows [off, off+limit) of a view sorted by a
// column read in index order (time), testing each row against the filters:
// the account's part of the time index, or the index of every account.
func (pl *exec) scanPage(ctx context.Context, tx *sql.Tx, off, limit int) ([]int64, error) {
	conds, args := pl.conds(pl.acct)
	query := "SELECT e.id FROM entries e INDEXED BY " + pl.timeIndex()
	if len(conds) > 0 {
		query += " WHERE " + strings.Join(conds, " AND ")
	}
	query += " ORDER BY e.ts" + pl.direction() + ", e.id DESC LIMIT ? OFFSET ?"
	return queryAll(ctx, tx, query, append(args, limit, off), scanID)
}

// timeIndex is the time index that serves the query's scope: the
// account's part of (account, ts), or (ts) for every account.
func (pl *exec) timeIndex() string {
	if pl.acct == 0 {
		return idxTimeAll
	}
	return idxTime
}

// rows reads the entries with ids, in that order, joined with their keys.
func (pl *exec) rows(ctx context.Context, tx *sql.Tx, ids []int64) ([]apilog.Row, error) {
	if len(ids) == 0 {
		return nil, nil
	}
	// The entries as stored, read into a slice made for them: a stream
	// reads a million rows this way, and a growing slice of whole rows
	// took most of its memory.
	type entry struct {
		id, acct, slot, method, ep, errc, ip, ts, dur int64
		status                                        int
		requestID                                     string
	}
	es, err := queryN(ctx, tx, len(ids), "SELECT e.id, "+entryCols+" FROM entries e WHERE "+inSQL("e.id"), []any{jsonIDs(ids)},
		func(sc scanFunc) (e entry, err error) {
			return e, sc(&e.id, &e.acct, &e.slot, &e.method, &e.ep, &e.status, &e.errc, &e.ip, &e.ts, &e.dur, &e.requestID)
		})
	if err != nil {
		return nil, err
	}
	var missing []int64
	for _, e := range es {
		if _, ok := pl.keys[e.slot]; !ok {
			pl.keys[e.slot] = keyRow{} // listed once
			missing = append(missing, e.slot)
		}
	}
	if len(missing) > 0 {
		if err := pl.loadKeys(ctx, tx, pl.Query.Now, missing); err != nil {
			return nil, err
		}
	}
	at := make(map[int64]int, len(ids))
	for i, id := range ids {
		at[id] = i
	}
	out := make([]apilog.Row, len(ids))
	c := &pl.s.cache
	c.mu.RLock()
	defer c.mu.RUnlock()
	for _, e := range es {
		k, r := pl.keys[e.slot], &out[at[e.id]]
		r.ID, r.Account, r.KeyID, r.RequestID = e.id, c.accountNames[e.acct], k.keyID, e.requestID
		r.Method, r.Endpoint, r.ErrorCode, r.IPHash = c.strs[e.method].value, c.strs[e.ep].value, c.strs[e.errc].value, c.strs[e.ip].value
		r.Status, r.Time, r.Duration = e.status, time.Unix(0, e.ts).UTC(), time.Duration(e.dur)
		r.KeyName, r.KeyPrefix, r.KeyStatus, r.KeySince = k.name, k.prefix, k.status, k.since
	}
	// A masked scan reads its page's rows in a later snapshot than it
	// found them, and a stream its batches: retention may have deleted
	// some meanwhile.
	return slices.DeleteFunc(out, func(r apilog.Row) bool { return r.ID == 0 }), nil
}
