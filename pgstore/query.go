package pgstore

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/apilog/apilog"
	"github.com/apilog/apilog/internal/querylimit"
	"github.com/apilog/apilog/plan"
	"github.com/apilog/apilog/timecount"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// Query returns a page of rows; see [apilog.Store.Query]. It reads one
// snapshot of the database in a read-only transaction, so its rows and
// totals agree with each other while other instances append.
func (s *Store) Query(ctx context.Context, q apilog.Query) (apilog.Page, error) {
	var p apilog.Page
	err := s.read(ctx, q, 0, false, func(ctx context.Context, tx pgx.Tx, q *apilog.Query, floor int64) error {
		var err error
		p, err = s.query(ctx, tx, q, floor)
		return err
	})
	if err != nil {
		return apilog.Page{}, fmt.Errorf("pgstore: query: %w", err)
	}
	return p, nil
}

// read runs f on q, normalized, in a read-only snapshot, under the store's
// limits on queries: a turn among the searches, and QueryTimeout, which
// f's ctx carries. floor is the lowest ID a writer still running may
// commit (see run). With all above 0 the query's window is its first all
// rows, past MaxPageSize: what Stream reads. With scan set the query reads
// every row it matches, filtered or not (a chart), and waits for a turn
// among the searches as they do.
func (s *Store) read(ctx context.Context, q apilog.Query, all int, scan bool, f func(ctx context.Context, tx pgx.Tx, q *apilog.Query, floor int64) error) error {
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
	// QueryTimeout bounds the whole query: the wait for a turn among the
	// searches, the wait for a connection, and a walk's many statements,
	// each of which statement_timeout bounds alone.
	ctx, done, err := s.limit.Enter(ctx, scan || q.Filtered())
	if err != nil {
		return err
	}
	defer done()
	if err := s.run(ctx, func(tx pgx.Tx, floor int64) error { return f(ctx, tx, &q, floor) }); err != nil {
		return s.queryErr(ctx, err)
	}
	return nil
}

// queryErr is the error of a query that failed under ctx: it wraps
// apilog.ErrTimeout when QueryTimeout or statement_timeout stopped it.
func (s *Store) queryErr(ctx context.Context, err error) error {
	var pgErr *pgconn.PgError
	statementTimeout := errors.As(err, &pgErr) && pgErr.Code == "57014" && ctx.Err() == nil
	if statementTimeout || querylimit.TimedOut(ctx) {
		return fmt.Errorf("%w (QueryTimeout %s)", apilog.ErrTimeout, s.opts.QueryTimeout)
	}
	return err
}

// run calls f in a read-only snapshot on a connection of its own, with the
// lowest ID a writer still running may commit.
func (s *Store) run(ctx context.Context, f func(tx pgx.Tx, floor int64) error) error {
	conn, err := s.pool.Acquire(ctx)
	if err != nil {
		return err
	}
	defer conn.Release()
	// The writers in flight are read before the snapshot is taken, the
	// sequence before them: a writer that commits after the snapshot either
	// held its floor lock then (and is listed) or takes its IDs from the
	// sequence after it was read (and is above high). Read after the
	// snapshot, a writer that commits in between would be in neither.
	var high, floor int64
	b := &pgx.Batch{}
	b.Queue(s.sql("SELECT CASE WHEN is_called THEN last_value + $1 ELSE last_value - 1 END FROM {s}.entries_id_seq"), idBlock-1).QueryRow(func(r pgx.Row) error { return r.Scan(&high) })
	b.Queue(`SELECT coalesce(min(objid::int8) << 16, -1) FROM pg_locks
		WHERE locktype = 'advisory' AND objsubid = 2 AND classid = $1::int8::oid
		AND database = (SELECT oid FROM pg_database WHERE datname = current_database())`, int64(uint32(s.lockClass))).QueryRow(func(r pgx.Row) error { return r.Scan(&floor) })
	if err := conn.SendBatch(ctx, b).Close(); err != nil {
		return err
	}
	if floor < 0 || high < floor {
		floor = high
	}
	return pgx.BeginTxFunc(ctx, conn, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly}, func(tx pgx.Tx) error {
		return f(tx, floor)
	})
}

// Strategy names how a query was answered; see Options.Explain.
type Strategy string

// The strategies, chosen by exec.strategy.
const (
	// StrategyNone: no row can match (an unknown account, an empty time
	// range); nothing is read.
	StrategyNone Strategy = "none"
	// StrategyTimeSeek: the time-ordered view with no filter but a time
	// range: the counts table gives the total and locates the page, and
	// the rows of that stretch of time are read (off the time index for
	// one account, through the BRIN index for all).
	StrategyTimeSeek Strategy = "time-seek"
	// StrategyWalk: a view sorted by a column of few values (the key, the
	// status, a text column) with no filter: the column's values are
	// walked in order and each one's rows read off its index, values
	// before the page skipped by count.
	StrategyWalk Strategy = "walk"
	// StrategyWalkFiltered: as StrategyWalk, each value's rows tested
	// against the filters, when the matches are a large enough share of
	// the rows.
	StrategyWalkFiltered Strategy = "walk-filtered"
	// StrategyOrdered: one statement ordered by the column (time or
	// duration), which PostgreSQL reads off the column's index or sorts,
	// as its statistics suggest.
	StrategyOrdered Strategy = "ordered"
	// StrategySort: the matches are few enough to collect from the
	// filters' indexes and sort, by the ranks of the column's values
	// (computed in Go, by the rules of package apilog).
	StrategySort Strategy = "sort"
)

// exec is a compiled query with its SQL.
type exec struct {
	*plan.Plan
	s    *Store
	tx   pgx.Tx
	acct int64 // 0 for all accounts
	keys map[int64]keyRow
	// keysLoaded is set once keys holds every slot in scope, or those of
	// the page's rows.
	keysLoaded bool

	where []string // the filters, without the account, time range and bound
	args  []any    // their arguments; where refers to them as $1...

	// bound, when bounded, is the highest row ID the page may show: rows
	// above it exist in scope. pastN is the number of rows in scope
	// and range above it, which the counts include; past lists them, in ID
	// order, when listed.
	bound   int64
	bounded bool
	pastN   int
	past    []timecount.Row
	pastBy  map[int64]int // when listed, the number by value of the sort column
	listed  bool

	counts timecount.Reader // the counts table, read for this query

	// implied is set when the filters alone confine rows to the account: a
	// condition on key slots or interned values (which belong to one
	// account) must hold. The account condition is then left out where it
	// would only cost, so that PostgreSQL counts on those columns' indexes
	// alone instead of reading every row's account.
	implied bool

	// reqRows are the rows in scope of each request ID a term matches by
	// (plan.RequestIDs), read with the scope; rowTS their times, by ID.
	reqRows map[string][]int64
	rowTS   map[int64]int64
}

// keyRow is a key slot as rows show it at q.Now.
type keyRow struct {
	keyID  string
	name   string
	prefix string
	status apilog.KeyStatus
	since  time.Time // of status
}

// dict is the store's dictionary as package plan reads it: the values in
// scope as they were when the query began (the cache only appends to its
// lists, so a copy of their headers is a stable snapshot, read without
// the cache's lock, which Append needs to add a value), and the keys.
//
// Matching a search runs in Go, where statement_timeout does not reach:
// the lists stop once the deadline has passed, and late says so, for the
// query to fail with apilog.ErrTimeout rather than use a plan made of
// part of them.
type dict struct {
	values   map[apilog.Field][]idValue
	keys     map[int64]keyRow
	deadline time.Time
	late     bool
}

func (pl *exec) dict(deadline time.Time) *dict {
	d := &dict{values: map[apilog.Field][]idValue{}, keys: pl.keys, deadline: deadline}
	c := &pl.s.cache
	c.mu.RLock()
	defer c.mu.RUnlock()
	for f, tf := range textFields {
		d.values[f] = c.byKind[[2]int64{pl.acct, tf.kind}]
	}
	return d
}

func (d *dict) Values(f apilog.Field) iter.Seq2[int64, string] {
	return func(yield func(int64, string) bool) {
		for i, v := range d.values[f] {
			if i%64 == 63 && time.Now().After(d.deadline) {
				d.late = true
				return
			}
			if !yield(v.id, v.value) {
				return
			}
		}
	}
}

func (d *dict) Slots() iter.Seq[plan.Slot] {
	return func(yield func(plan.Slot) bool) {
		for id, k := range d.keys {
			if !yield(plan.Slot{ID: id, KeyID: k.keyID, Name: k.name, Prefix: k.prefix}) {
				return
			}
		}
	}
}

// textFields are the interned fields of an entry: their column in entries
// and their kind in strs.
var textFields = map[apilog.Field]struct {
	col  string
	kind int64
}{
	apilog.FieldMethod:   {"method", kindMethod},
	apilog.FieldEndpoint: {"endpoint", kindEndpoint},
	apilog.FieldError:    {"error", kindError},
	apilog.FieldIP:       {"ip", kindIP},
}

// numberColumns are the entries columns of the KindNumber columns.
var numberColumns = map[apilog.Column]string{
	apilog.ColumnStatus:   "status",
	apilog.ColumnDuration: "duration",
	apilog.ColumnTime:     "ts",
}

// sortColumnOf returns the entries column a column sorts by, or an error
// for a column this schema has no index for, so that a column added to
// apilog's table is refused rather than sorted wrong.
func sortColumnOf(c apilog.Column) (string, error) {
	switch c.Kind() {
	case apilog.KindKey:
		return "key", nil
	case apilog.KindText:
		if f, ok := textFields[c.Field()]; ok {
			return f.col, nil
		}
	case apilog.KindNumber:
		if col, ok := numberColumns[c]; ok {
			return col, nil
		}
	}
	return "", fmt.Errorf("column %q has no index in this schema", c)
}

// floor is the lowest ID a transaction that was not committed before the
// query's snapshot can have written, read before it (see Query).
func (s *Store) query(ctx context.Context, tx pgx.Tx, q *apilog.Query, floor int64) (apilog.Page, error) {
	pl, page, st, err := s.find(ctx, tx, q, floor)
	if err != nil || st == StrategyNone {
		return page, err
	}
	off, limit := pl.Offset, pl.Limit
	if off >= page.TotalRows {
		return page, nil
	}
	limit = min(limit, page.TotalRows-off)
	var rows []entryRow
	switch st {
	case StrategyTimeSeek:
		rows, err = pl.timePage(ctx, off, limit)
	case StrategyWalk, StrategyWalkFiltered:
		rows, err = pl.walkPage(ctx, off, limit, page.TotalRows)
	default:
		rows, err = pl.sortPage(ctx, off, limit)
	}
	if err != nil {
		return page, err
	}
	if !pl.keysLoaded && len(rows) > 0 {
		// Only the page's keys are shown: an operator's page does not read
		// every tenant's keys.
		slots := make([]int32, 0, len(rows))
		for _, r := range rows {
			slots = append(slots, int32(r.key))
		}
		b := &pgx.Batch{}
		pl.queueKeys(b, q.Now, slots)
		if err := tx.SendBatch(ctx, b).Close(); err != nil {
			return page, err
		}
	}
	page.Rows = pl.rows(rows)
	return page, nil
}

// find compiles q and counts its matches: the page without its rows, and
// the strategy that reads them.
func (s *Store) find(ctx context.Context, tx pgx.Tx, q *apilog.Query, floor int64) (*exec, apilog.Page, Strategy, error) {
	pl, page, err := s.compile(ctx, tx, q, floor)
	if err != nil {
		return nil, page, "", err
	}
	if pl == nil {
		// No row of this account was ever stored.
		if s.opts.Explain != nil {
			s.opts.Explain(*q, StrategyNone)
		}
		return nil, page, StrategyNone, nil
	}
	total, err := pl.total(ctx)
	if err != nil {
		return nil, page, "", err
	}
	st, err := pl.strategy(ctx, total)
	if err != nil {
		return nil, page, "", err
	}
	if s.opts.Explain != nil {
		s.opts.Explain(*q, st)
	}
	page.TotalRows, page.TotalPages = total, apilog.PageCount(total, q.PageSize)
	return pl, page, st, nil
}

// compile compiles q in tx: the plan with its SQL, and the page without
// its rows or totals; no plan when no row of q's account was ever stored.
func (s *Store) compile(ctx context.Context, tx pgx.Tx, q *apilog.Query, floor int64) (*exec, apilog.Page, error) {
	start := time.Now()
	page := apilog.Page{Number: q.Page, Size: q.PageSize, TotalPages: apilog.PageCount(0, q.PageSize), MaxID: q.MaxID}
	if _, err := sortColumnOf(q.Sort.Column); err != nil {
		return nil, page, err
	}
	pl := &exec{s: s, tx: tx}
	pl.counts = timecount.Reader{Levels: levels, Source: counts{pl}}
	known := pl.scope(q)
	// One round trip for what every query needs: the session settings,
	// the dictionary's news, and (when the account is known) the scope's
	// last ID, the writers in flight and the keys.
	b := &pgx.Batch{}
	// A search's value lists differ from run to run: a plan made for one
	// (PostgreSQL's generic plan, after a statement has run a few times)
	// can be a thousand times slower for another.
	b.Queue("SELECT set_config('statement_timeout', $1, true), set_config('plan_cache_mode', 'force_custom_plan', true), set_config('max_parallel_workers_per_gather', '0', true)",
		strconv.FormatInt(s.opts.QueryTimeout.Milliseconds(), 10))
	apply := s.cache.queueRefresh(s, b)
	var last int64
	if known {
		pl.queueScope(b, q, &last)
	}
	if err := tx.SendBatch(ctx, b).Close(); err != nil {
		return nil, page, err
	}
	if err := apply(); err != nil {
		return nil, page, err
	}
	if !known {
		if !pl.scope(q) {
			return nil, page, nil
		}
		b := &pgx.Batch{}
		pl.queueScope(b, q, &last)
		if err := tx.SendBatch(ctx, b).Close(); err != nil {
			return nil, page, err
		}
	}
	// A writer still running may commit rows below the highest ID seen: the
	// page shows only the rows up to the lowest ID such a writer can take.
	safe := min(last, floor)
	if page.MaxID == 0 {
		page.MaxID = safe
	}
	d := pl.dict(start.Add(s.opts.QueryTimeout))
	pl.Plan = plan.Compile(*q, d)
	// Cannot fail: queueScope read the rows of every ID the plan asks for.
	_ = pl.ResolveRequestIDs(func(id string) ([]int64, error) { return pl.reqRows[id], nil })
	if d.late {
		return nil, page, fmt.Errorf("%w: matching the search with every distinct value took all of QueryTimeout (%s)", apilog.ErrTimeout, s.opts.QueryTimeout)
	}
	pl.filters()
	if page.MaxID < last && !pl.None {
		if err := pl.bind(ctx, page.MaxID); err != nil {
			return nil, page, err
		}
	}
	return pl, page, nil
}

// strategy chooses how to answer the query, given its total: the one
// place that decides.
//
// Reading a column's order and testing each row reads about
// (off+limit)/fraction rows, where fraction is the share of the rows in
// scope that match; collecting the matches and sorting them reads total
// rows. PostgreSQL's statistics cannot see the fraction of a search that
// matches a list of value IDs, so the store chooses for it.
func (pl *exec) strategy(ctx context.Context, total int) (Strategy, error) {
	col := pl.Query.Sort.Column
	walkable := col.Kind() == apilog.KindKey || col.Kind() == apilog.KindText || col == apilog.ColumnStatus && pl.acct != 0
	switch {
	case pl.None:
		return StrategyNone, nil
	case len(pl.where) == 0 && col == apilog.ColumnTime && (!pl.bounded || pl.listed):
		return StrategyTimeSeek, nil
	case len(pl.where) == 0 && walkable:
		return StrategyWalk, nil
	case col.Kind() == apilog.KindNumber && col != apilog.ColumnStatus || col == apilog.ColumnTime:
		return StrategyOrdered, nil
	}
	all, err := pl.inRange(ctx)
	if err != nil {
		return "", err
	}
	inOrder := float64(pl.Offset+pl.Limit)*float64(all)/float64(max(total, 1)) < float64(total)
	switch {
	case inOrder && walkable:
		return StrategyWalkFiltered, nil
	case col == apilog.ColumnStatus:
		return StrategyOrdered, nil
	}
	return StrategySort, nil
}

// scope sets the query's account from the cache, and reports whether it
// is known (or not needed).
func (pl *exec) scope(q *apilog.Query) bool {
	if q.Account == "" {
		return true
	}
	c := &pl.s.cache
	c.mu.RLock()
	defer c.mu.RUnlock()
	id, ok := c.accounts[q.Account]
	pl.acct = id
	return ok
}

// queueScope queues the reads of the scope's last row ID and the key
// slots in scope with their state at now.
func (pl *exec) queueScope(b *pgx.Batch, q *apilog.Query, last *int64) {
	now := q.Now
	s := pl.s
	b.Queue(s.sql("SELECT coalesce(max(last_id), 0) FROM {s}.last_ids WHERE account = $1"), pl.acct).QueryRow(func(r pgx.Row) error { return r.Scan(last) })
	pl.queueRequestIDs(b, q)
	if len(q.KeyIDs) > 0 || len(q.Search.Terms) > 0 || q.Sort.Column.Kind() == apilog.KindKey {
		pl.queueKeys(b, now, nil)
	}
}

// queueRequestIDs queues the lookup of the rows in scope of the request
// IDs the search's terms match rows by, on the request-ID index: a plain
// term looks its text up too, so this runs for nearly every search, and
// most find no row. Scoped here, the rows keep a term's condition confined
// to the account (see implied).
//
// One statement looks every ID up, each in a LATERAL subquery that reads at
// most plan.RequestIDLimit rows (past the cap the term tests the column:
// see term), bounded by the query's time range, so that PostgreSQL reads
// only the partitions in it (a statement per ID, unbounded, probed every
// partition's index: 9 ms for one term over 140 partitions, where one day
// now takes 1 ms, and 32 terms 244 ms, now 2.3), and by its MaxID. Every statement that uses the rows found (term) holds the
// same bounds, so the rows left out are never missed: a chart narrows the
// range to its buckets before it compiles (CountVolume), and a page bound
// below MaxID binds id <= bound whenever a term is there.
func (pl *exec) queueRequestIDs(b *pgx.Batch, q *apilog.Query) {
	pl.reqRows, pl.rowTS = map[string][]int64{}, map[int64]int64{}
	ids := plan.RequestIDs(q.Search)
	query, args := pl.s.requestIDLookup(ids, q, pl.acct)
	if query == "" {
		return
	}
	var (
		n         int
		rowID, ts int64
	)
	b.Queue(query, args...).Query(func(rows pgx.Rows) error {
		_, err := pgx.ForEachRow(rows, []any{&n, &rowID, &ts}, func() error {
			id := ids[n-1]
			pl.reqRows[id] = append(pl.reqRows[id], rowID)
			pl.rowTS[rowID] = ts
			return nil
		})
		return err
	})
}

// requestIDLookup is queueRequestIDs' statement for ids in account acct
// (0: every account): each row's ID's place in ids, from 1, its row ID
// and its time. "" when there is nothing to look up.
func (s *Store) requestIDLookup(ids []string, q *apilog.Query, acct int64) (string, []any) {
	times := plan.TimesOf(*q)
	if len(ids) == 0 || times.None {
		return "", nil
	}
	keys := make([][]byte, len(ids))
	for i, id := range ids {
		keys[i] = []byte(id)
	}
	args := []any{keys, plan.RequestIDLimit()}
	where := ""
	add := func(cond string, v any) {
		args = append(args, v)
		where += " AND e." + cond + " $" + strconv.Itoa(len(args))
	}
	if acct != 0 {
		add("account =", acct)
	}
	if !times.FromOpen {
		add("ts >=", times.From)
	}
	if !times.ToOpen {
		add("ts <", times.To)
	}
	if q.MaxID > 0 {
		add("id <=", q.MaxID)
	}
	return s.sql("SELECT r.n, e.id, e.ts FROM unnest($1::bytea[]) WITH ORDINALITY AS r(id, n)" +
		" CROSS JOIN LATERAL (SELECT e.id, e.ts FROM {s}.entries e WHERE e.request_id = r.id" + where + " LIMIT $2) e"), args
}

// queueKeys queues the read of key slots with their state at now: those
// of slots, or (nil) every one in scope, which the plan needs to match a
// key filter, a search or the API column's order.
func (pl *exec) queueKeys(b *pgx.Batch, now time.Time, slots []int32) {
	query := "SELECT id, key_id, known, name, prefix, created_at, rotated_at, revoked_at, expires_at, inactive FROM {s}.keys"
	var args []any
	switch {
	case slots != nil:
		query += " WHERE id = ANY($1::int4[])"
		args = append(args, slots)
	case pl.acct != 0:
		query += " WHERE account = $1"
		args = append(args, pl.acct)
	}
	if pl.keys == nil {
		pl.keys = map[int64]keyRow{}
	}
	pl.keysLoaded = true
	var (
		slot                int64
		keyID, name, prefix []byte
		known, inactive     bool
		times               [4][]byte
	)
	b.Queue(pl.s.sql(query), args...).Query(func(rows pgx.Rows) error {
		_, err := pgx.ForEachRow(rows, []any{&slot, &keyID, &known, &name, &prefix, &times[0], &times[1], &times[2], &times[3], &inactive}, func() error {
			k := keyRow{keyID: string(keyID)}
			if known {
				key := apilog.Key{Name: string(name), Prefix: string(prefix), Inactive: inactive}
				if err := keyTimes(&key, &times); err != nil {
					return fmt.Errorf("key slot %d: %w", slot, err)
				}
				k.name, k.prefix = key.Name, key.Prefix
				k.status, k.since = key.State(now)
			}
			pl.keys[slot] = k
			return nil
		})
		return err
	})
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
// latest state, by name, then by ID, in byte order (bytea's). A limit
// below 1 lists none; an unknown account has none. It is one statement in
// a read-only transaction, under the limits of an unfiltered query: the
// account's slots off the keys table's (account, key_id) index, sorted.
func (s *Store) Keys(ctx context.Context, account string, limit int) ([]apilog.Key, error) {
	release, err := s.enter()
	if err != nil {
		return nil, fmt.Errorf("pgstore: keys: %w", err)
	}
	defer release()
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("pgstore: keys: %w", err)
	}
	if limit < 1 || account == "" { // "" has no keys: a Key needs an account
		return nil, nil
	}
	ctx, done, err := s.limit.Enter(ctx, false)
	if err != nil {
		return nil, fmt.Errorf("pgstore: keys: %w", err)
	}
	defer done()
	var keys []apilog.Key
	err = pgx.BeginTxFunc(ctx, s.pool, pgx.TxOptions{AccessMode: pgx.ReadOnly}, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, s.sql(`SELECT key_id, name, prefix, inactive, created_at, rotated_at, revoked_at, expires_at
			FROM {s}.keys WHERE account = (SELECT id FROM {s}.accounts WHERE name = $1) AND known
			ORDER BY name, key_id LIMIT $2`), []byte(account), limit)
		if err != nil {
			return err
		}
		var (
			keyID, name, prefix []byte
			inactive            bool
			times               [4][]byte
		)
		_, err = pgx.ForEachRow(rows, []any{&keyID, &name, &prefix, &inactive, &times[0], &times[1], &times[2], &times[3]}, func() error {
			key := apilog.Key{ID: string(keyID), Account: account, Name: string(name), Prefix: string(prefix), Inactive: inactive}
			if err := keyTimes(&key, &times); err != nil {
				return fmt.Errorf("key %q: %w", key.ID, err)
			}
			keys = append(keys, key)
			return nil
		})
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("pgstore: keys: %w", s.queryErr(ctx, err))
	}
	return keys, nil
}

// arg adds an argument and returns its placeholder.
func (pl *exec) arg(v any) string {
	pl.args = append(pl.args, v)
	return "$" + strconv.Itoa(len(pl.args))
}

// ids32 is ids as PostgreSQL's int4[].
func ids32(ids []int64) []int32 {
	out := make([]int32, len(ids))
	for i, id := range ids {
		out[i] = int32(id)
	}
	return out
}

// filters compiles the plan's filters into where.
func (pl *exec) filters() {
	if pl.Statuses != nil {
		pl.where = append(pl.where, pl.statusSQL(pl.Statuses))
	}
	if pl.Methods != nil {
		pl.where = append(pl.where, "e.method = ANY("+pl.arg(ids32(pl.Methods))+"::int4[])")
		pl.implied = true
	}
	if pl.Slots != nil {
		pl.where = append(pl.where, "e.key = ANY("+pl.arg(ids32(pl.Slots))+"::int4[])")
		pl.implied = true
	}
	for i := range pl.Terms {
		pl.where = append(pl.where, pl.term(&pl.Terms[i]))
	}
}

// term returns the condition of one search term: the row matches when
// any of its targets does.
func (pl *exec) term(t *plan.Term) string {
	var or []string
	add := func(col string, ids []int64) {
		if len(ids) > 0 {
			or = append(or, "e."+col+" = ANY("+pl.arg(ids32(ids))+"::int4[])")
		}
	}
	add("key", t.Slots)
	for _, f := range plan.TextFields() {
		add(textFields[f].col, t.Values[f])
	}
	// The rows of the term's request ID, found in scope (queueRequestIDs):
	// by time and ID, on the time index; so no statement but the lookup
	// reads the request ID (unless too many rows share it: ScanRequestID).
	if len(t.Rows) > 0 {
		ts := make([]int64, len(t.Rows))
		for i, id := range t.Rows {
			ts[i] = pl.rowTS[id]
		}
		cond := "e.ts = ANY(" + pl.arg(ts) + "::int8[]) AND e.id = ANY(" + pl.arg(t.Rows) + "::int8[])"
		if pl.acct != 0 {
			cond = "e.account = " + pl.arg(pl.acct) + " AND " + cond
		}
		or = append(or, "("+cond+")")
	}
	// Every row has a status and a duration, whatever its account: the
	// term scopes them to the account itself, so that it alone confines
	// rows to the account.
	var own []string
	if len(t.Status) > 0 {
		own = append(own, pl.statusSQL(t.Status))
	}
	if d := t.Duration; d != nil {
		own = append(own, "e.duration BETWEEN "+pl.arg(d.Lo)+" AND "+pl.arg(d.Hi))
	}
	if t.ScanRequestID {
		// More rows share the ID than a list should hold: the column, as
		// another tenant's rows may share it too.
		own = append(own, "e.request_id = "+pl.arg([]byte(t.RequestID)))
	}
	if len(own) > 0 {
		cond := strings.Join(own, " OR ")
		if pl.acct != 0 {
			cond = "e.account = " + pl.arg(pl.acct) + " AND (" + cond + ")"
		}
		or = append(or, "("+cond+")")
	}
	cond := "false"
	if len(or) > 0 {
		cond = "(" + strings.Join(or, " OR ") + ")"
	}
	if t.Negate {
		cond = "NOT " + cond
	} else {
		pl.implied = true
	}
	return cond
}

// statusSQL returns a condition on e.status that holds for the codes in
// ranges.
func (pl *exec) statusSQL(ranges []plan.Range) string {
	var or []string
	for _, r := range ranges {
		if r.Lo == r.Hi {
			or = append(or, "e.status = "+pl.arg(int16(r.Lo)))
		} else {
			or = append(or, "e.status BETWEEN "+pl.arg(int16(r.Lo))+" AND "+pl.arg(int16(r.Hi)))
		}
	}
	switch len(or) {
	case 0:
		return "false"
	case 1:
		return or[0]
	}
	return "(" + strings.Join(or, " OR ") + ")"
}

// maxExcess is the most rows above a query's row-ID bound that the
// time-ordered view's seek steps over one by one; past more, the bound is
// a filter like any other.
const maxExcess = 10_000

// bind applies the row-ID bound. When the query is otherwise unfiltered,
// the rows in scope and range above it are counted (through the BRIN
// index on IDs: the cost is the rows added since, not the table) and taken
// off the counts; up to maxExcess of them are also listed, for the
// time-ordered view's seek. Otherwise the bound is a filter.
func (pl *exec) bind(ctx context.Context, bound int64) error {
	pl.bound, pl.bounded = bound, true
	if len(pl.where) > 0 {
		return nil
	}
	conds, args := pl.conds("e.", false, true)
	conds = append(conds, "e.id > $"+strconv.Itoa(len(args)+1))
	args = append(args, bound)
	where := " WHERE " + strings.Join(conds, " AND ")
	sc, err := sortColumnOf(pl.Query.Sort.Column)
	if err != nil {
		return err
	}
	type pastRow struct {
		timecount.Row
		v int64 // the row's value of the sort column
	}
	rows, err := pl.tx.Query(ctx, pl.s.sql("SELECT e.id, e.ts, e."+sc+"::int8 FROM {s}.entries e"+where+" LIMIT "+strconv.Itoa(maxExcess+1)), args...)
	if err != nil {
		return err
	}
	listed, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (pastRow, error) {
		var x pastRow
		return x, r.Scan(&x.ID, &x.Time, &x.v)
	})
	if err != nil {
		return err
	}
	if len(listed) <= maxExcess {
		pl.pastBy = map[int64]int{}
		for _, x := range listed {
			pl.past = append(pl.past, x.Row)
			pl.pastBy[x.v]++
		}
		pl.pastN, pl.listed = len(listed), true
		return nil
	}
	return pl.tx.QueryRow(ctx, pl.s.sql("SELECT count(*) FROM {s}.entries e"+where), args...).Scan(&pl.pastN)
}

// conds returns the scope and range conditions, numbered from $1, with
// their arguments; with bounded set, the bound too; with scoped unset, no
// account condition. p is the alias prefix.
func (pl *exec) conds(p string, bounded, scoped bool) ([]string, []any) {
	var conds []string
	var args []any
	add := func(cond string, v any) {
		args = append(args, v)
		conds = append(conds, p+cond+" $"+strconv.Itoa(len(args)))
	}
	if pl.acct != 0 && scoped {
		add("account =", pl.acct)
	}
	if !pl.FromOpen {
		add("ts >=", pl.From)
	}
	if !pl.ToOpen {
		add("ts <", pl.To)
	}
	if bounded && pl.bounded {
		add("id <=", pl.bound)
	}
	return conds, args
}

// whereSQL returns the full WHERE clause (scope, range, bound and filters)
// and its arguments. With scoped set, the account condition is there even
// when implied, so that an index that leads with the account can serve.
func (pl *exec) whereSQL(scoped bool) (string, []any) {
	conds, args := pl.conds("e.", true, scoped || !pl.implied)
	shift := len(args)
	for _, w := range pl.where {
		conds = append(conds, shiftArgs(w, shift))
	}
	args = append(args, pl.args...)
	if len(conds) == 0 {
		return "", args
	}
	return " WHERE " + strings.Join(conds, " AND "), args
}

// shiftArgs renumbers the placeholders $n of cond to $n+by.
func shiftArgs(cond string, by int) string {
	if by == 0 {
		return cond
	}
	var b strings.Builder
	for i := 0; i < len(cond); i++ {
		if cond[i] != '$' {
			b.WriteByte(cond[i])
			continue
		}
		j := i + 1
		for j < len(cond) && cond[j] >= '0' && cond[j] <= '9' {
			j++
		}
		n, _ := strconv.Atoi(cond[i+1 : j])
		b.WriteString("$" + strconv.Itoa(n+by))
		i = j - 1
	}
	return b.String()
}

// total returns the number of matching rows: from the counts table when
// the query has no filter, else by counting.
func (pl *exec) total(ctx context.Context) (int, error) {
	if pl.None {
		return 0, nil
	}
	if len(pl.where) == 0 {
		n, err := pl.inRange(ctx)
		return n - pl.pastN, err
	}
	where, args := pl.whereSQL(false)
	var n int
	err := pl.tx.QueryRow(ctx, pl.s.sql("SELECT count(*) FROM {s}.entries e"+where), args...).Scan(&n)
	return n, err
}

// The columns of a row as queries read them, and what they are read into.
const rowCols = "e.id, e.ts, e.duration, e.account, e.key, e.method, e.endpoint, e.error, e.ip, e.status, e.request_id"

type entryRow struct {
	id, ts, duration                        int64
	account, key, method, endpoint, err, ip int64
	status                                  int16
	requestID                               []byte
}

func scanRow(r pgx.CollectableRow) (entryRow, error) {
	var e entryRow
	return e, r.Scan(&e.id, &e.ts, &e.duration, &e.account, &e.key, &e.method, &e.endpoint, &e.err, &e.ip, &e.status, &e.requestID)
}

func (pl *exec) readRows(ctx context.Context, query string, args ...any) ([]entryRow, error) {
	rows, err := pl.tx.Query(ctx, pl.s.sql(query), args...)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, scanRow)
}

// rows joins read rows with the dictionary and the keys.
func (pl *exec) rows(in []entryRow) []apilog.Row {
	out := make([]apilog.Row, len(in))
	c := &pl.s.cache
	c.mu.RLock()
	defer c.mu.RUnlock()
	for i, e := range in {
		k := pl.keys[e.key]
		r := &out[i]
		r.ID, r.Account, r.KeyID, r.RequestID = e.id, c.accountNames[e.account], k.keyID, string(e.requestID)
		r.Method, r.Endpoint, r.ErrorCode, r.IPHash = c.strs[e.method].value, c.strs[e.endpoint].value, c.strs[e.err].value, c.strs[e.ip].value
		r.Status, r.Time, r.Duration = int(e.status), time.Unix(0, e.ts).UTC(), time.Duration(e.duration)
		r.KeyName, r.KeyPrefix, r.KeyStatus, r.KeySince = k.name, k.prefix, k.status, k.since
	}
	return out
}

// direction is the SQL of the sort's direction.
func (pl *exec) direction() string {
	if pl.Query.Sort.Dir == apilog.Desc {
		return " DESC"
	}
	return " ASC"
}

// sortPage returns rows [off, off+limit) of the matches in the query's
// order, in one statement: ordered by a number column, or by the ranks of
// the sort column's values.
func (pl *exec) sortPage(ctx context.Context, off, limit int) ([]entryRow, error) {
	from, where, order, args := pl.sorted()
	args = append(args, limit, off)
	return pl.readRows(ctx, "SELECT "+rowCols+" FROM "+from+where+" ORDER BY "+order+
		" LIMIT $"+strconv.Itoa(len(args)-1)+" OFFSET $"+strconv.Itoa(len(args)), args...)
}

// sorted returns the FROM, WHERE and ORDER BY clauses of the matches in
// the query's order, and their arguments.
func (pl *exec) sorted() (from, where, order string, args []any) {
	col := pl.Query.Sort.Column
	where, args = pl.whereSQL(col.Kind() == apilog.KindNumber)
	from = "{s}.entries e"
	switch {
	case col == apilog.ColumnTime:
		order = "e.ts" + pl.direction() + ", e.id DESC"
	case col.Kind() == apilog.KindNumber:
		order = "e." + numberColumns[col] + pl.direction() + ", e.ts DESC, e.id DESC"
	default:
		ids, ranks := pl.ranks()
		args = append(args, ids, ranks)
		sc, _ := sortColumnOf(col)
		from += " JOIN unnest($" + strconv.Itoa(len(args)-1) + "::int4[], $" + strconv.Itoa(len(args)) + "::int4[]) AS r(v, rank) ON r.v = e." + sc
		order = "r.rank, e.ts DESC, e.id DESC"
	}
	return from, where, order, args
}

// ranks returns the value IDs of the sort column (key slots, or values of
// a text field) in scope with their rank in the query's order, direction
// included: equal values share a rank.
func (pl *exec) ranks() (ids, ranks []int32) {
	all, ords := pl.ordered()
	return ids32(all), ords
}

// ordered returns the IDs of the sort column's values (key slots, or a
// text field's values) in the query's order, direction included, with the
// index of each one's group of equal values. The cache keeps the values
// in order, so that a sort by IP hash sorts nothing per query.
func (pl *exec) ordered() (ids []int64, ords []int32) {
	desc := pl.Query.Sort.Dir == apilog.Desc
	if pl.Query.Sort.Column.Kind() == apilog.KindKey {
		groups := slices.Clone(pl.KeyGroups)
		if desc {
			slices.Reverse(groups)
		}
		for i, g := range groups {
			for _, id := range g {
				ids, ords = append(ids, id), append(ords, int32(i))
			}
		}
		return ids, ords
	}
	// The values in byte order, the same text of several accounts side by
	// side: one group. Empty texts go last where the column says so.
	sorted := pl.s.cache.sorted(pl.acct, textFields[pl.Query.Sort.Column.Field()].kind)
	var empty []idValue
	if pl.Query.Sort.Column.EmptyLast() {
		n := 0
		for n < len(sorted) && sorted[n].value == "" {
			n++
		}
		sorted, empty = sorted[n:], sorted[:n]
	}
	ids, ords = make([]int64, 0, len(sorted)+len(empty)), make([]int32, 0, len(sorted)+len(empty))
	ord := int32(-1)
	add := func(v idValue, prev *idValue) {
		if prev == nil || prev.value != v.value {
			ord++
		}
		ids, ords = append(ids, v.id), append(ords, ord)
	}
	for i := range sorted {
		j, k := i, i-1
		if desc {
			j, k = len(sorted)-1-i, len(sorted)-i
		}
		var prev *idValue
		if i > 0 {
			prev = &sorted[k]
		}
		add(sorted[j], prev)
	}
	for i := range empty {
		var prev *idValue
		if i > 0 {
			prev = &empty[i-1]
		}
		add(empty[i], prev)
	}
	return ids, ords
}

// timePage returns rows [off, off+limit) of the time-ordered view,
// stepping over the rows past the row-ID bound (see timecount.Step).
func (pl *exec) timePage(ctx context.Context, off, limit int) ([]entryRow, error) {
	rows, err := pl.timeWindow(ctx, off, limit+len(pl.past))
	if err != nil {
		return nil, err
	}
	bound := int64(math.MaxInt64)
	if pl.bounded {
		bound = pl.bound
	}
	return timecount.Step(rows, func(e entryRow) timecount.Row { return timecount.Row{ID: e.id, Time: e.ts} },
		pl.past, bound, off, limit, pl.Query.Sort.Dir == apilog.Desc), nil
}

// timeWindow returns rows [off, off+limit) of the time-ordered view without
// the row-ID bound: the counts locate the seconds that hold the first and
// the last of them, and the rows of that stretch are read.
func (pl *exec) timeWindow(ctx context.Context, off, limit int) ([]entryRow, error) {
	desc := pl.Query.Sort.Dir == apilog.Desc
	// The rank of the first row in the order over every row in scope.
	r, err := pl.counts.Rank(ctx, off, desc, pl.From, pl.To, pl.FromOpen, pl.ToOpen)
	if err != nil {
		return nil, err
	}
	first, before, err := pl.counts.Seek(ctx, r, desc)
	if err != nil {
		return nil, err
	}
	lastRank := r + limit - 1
	total, err := pl.counts.AtLeast(ctx, 0)
	if err != nil {
		return nil, err
	}
	lastRank = min(lastRank, total-1)
	end, _, err := pl.counts.Seek(ctx, lastRank, desc)
	if err != nil {
		return nil, err
	}
	sec := levels[len(levels)-1]
	lo, hi := end<<sec, first<<sec|(1<<sec-1)
	if !desc {
		lo, hi = first<<sec, end<<sec|(1<<sec-1)
	}
	// The rows of the first stretch outside the range are among the ones
	// skipped; only the far end is cut to the range.
	if desc && !pl.FromOpen {
		lo = max(lo, pl.From)
	}
	if !desc && !pl.ToOpen {
		hi = min(hi, pl.To-1)
	}
	// Only the account: the rows of the first bucket outside the range
	// are counted in skip (r - before), so they must be read to be skipped;
	// the far end is cut above.
	var conds []string
	var args []any
	if pl.acct != 0 {
		conds, args = append(conds, "e.account = $1"), append(args, pl.acct)
	}
	conds = append(conds, fmt.Sprintf("e.ts BETWEEN $%d AND $%d", len(args)+1, len(args)+2))
	args = append(args, lo, hi)
	order := " ORDER BY e.ts" + pl.direction() + ", e.id DESC"
	skip := r - before
	args = append(args, limit, skip)
	return pl.readRows(ctx, "SELECT "+rowCols+" FROM {s}.entries e WHERE "+strings.Join(conds, " AND ")+order+
		fmt.Sprintf(" LIMIT $%d OFFSET $%d", len(args)-1, len(args)), args...)
}
