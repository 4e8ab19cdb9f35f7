package sqlitestore

import (
	"context"
	"database/sql"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/apilog/apilog"
)

// Query returns a page of rows; see [apilog.Store.Query]. It reads one
// snapshot of the database in a short read transaction, so its rows and
// totals agree with each other while Append goes on.
func (s *Store) Query(ctx context.Context, q apilog.Query) (apilog.Page, error) {
	release, err := s.enter()
	if err != nil {
		return apilog.Page{}, err
	}
	defer release()
	if q, err = q.Normalize(); err != nil {
		return apilog.Page{}, err
	}
	if err := ctx.Err(); err != nil {
		return apilog.Page{}, fmt.Errorf("sqlitestore: query: %w", err)
	}
	if q.Now.IsZero() {
		q.Now = s.clock()
	}
	gate := s.gate.Load()
	gate.RLock()
	defer gate.RUnlock()
	tx, err := s.r.BeginTx(ctx, nil)
	if err != nil {
		return apilog.Page{}, fmt.Errorf("sqlitestore: query: %w", err)
	}
	defer tx.Rollback()
	p, err := s.query(ctx, tx, &q)
	if err != nil {
		return apilog.Page{}, fmt.Errorf("sqlitestore: query: %w", err)
	}
	return p, nil
}

func (s *Store) query(ctx context.Context, tx *sql.Tx, q *apilog.Query) (apilog.Page, error) {
	page := apilog.Page{Number: q.Page, Size: q.PageSize, TotalPages: apilog.PageCount(0, q.PageSize)}
	if err := s.cache.refresh(ctx, tx); err != nil {
		return page, err
	}
	pl, err := s.plan(ctx, tx, q)
	if err != nil || pl.none {
		return page, err
	}
	var total int
	if pl.fast() {
		total, err = pl.inRange(ctx, tx)
	} else {
		total, err = pl.count(ctx, tx)
	}
	if err != nil {
		return page, err
	}
	page.TotalRows, page.TotalPages = total, apilog.PageCount(total, q.PageSize)
	off, limit := apilog.Window(q.Page, q.PageSize)
	if off >= total {
		return page, nil
	}
	limit = min(limit, total-off)
	var ids []int64
	switch {
	case pl.fast() && q.Sort.Column == apilog.ColumnTime:
		ids, err = pl.timePage(ctx, tx, off, limit)
	case pl.fast() && pl.from == minTS && pl.toOpen:
		ids, err = pl.walkPage(ctx, tx, off, limit, false)
	case q.Sort.Column != apilog.ColumnTime && pl.walkCheaper(ctx, tx, off, limit, total):
		ids, err = pl.walkPage(ctx, tx, off, limit, true)
	default:
		ids, err = pl.page(ctx, tx, off, limit, total)
	}
	if err != nil {
		return page, err
	}
	page.Rows, err = pl.rows(ctx, tx, ids)
	return page, err
}

// minTS and maxTS stand for an open end of a time range.
const (
	minTS = math.MinInt64
	maxTS = math.MaxInt64
)

// plan is a query translated to the schema: the account, the WHERE clause
// over entries (alias e) and its arguments, and the keys in scope.
type plan struct {
	s    *Store
	q    *apilog.Query
	acct int64 // 0 for all accounts
	none bool  // nothing can match

	// from and to bound ts as [from, to); from is minTS when open, and
	// toOpen is set when to is (a row may have ts = maxTS).
	from, to int64
	toOpen   bool
	where    []string // besides the account and time range
	args     []any
	keys     map[int64]keyRow // every slot in scope
	counted  map[int64]int    // atLeast's answers

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
}

func (s *Store) plan(ctx context.Context, tx *sql.Tx, q *apilog.Query) (*plan, error) {
	pl := &plan{s: s, q: q, from: minTS, to: maxTS, toOpen: true}
	if q.Account != "" {
		s.cache.mu.RLock()
		id, ok := s.cache.accounts[q.Account]
		s.cache.mu.RUnlock()
		if !ok {
			pl.none = true
			return pl, nil
		}
		pl.acct = id
	}
	if err := pl.loadKeys(ctx, tx); err != nil {
		return nil, err
	}
	s.cache.mu.RLock()
	defer s.cache.mu.RUnlock()
	// The time range, clamped to what a row can hold: 1970 to 2262.
	if !q.From.IsZero() && q.From.After(time.Unix(0, 0)) {
		if q.From.After(time.Unix(0, math.MaxInt64)) {
			pl.none = true
			return pl, nil
		}
		pl.from = q.From.UnixNano()
	}
	if !q.To.IsZero() && !q.To.After(time.Unix(0, math.MaxInt64)) {
		if !q.To.After(time.Unix(0, 0)) {
			pl.none = true
			return pl, nil
		}
		pl.to, pl.toOpen = q.To.UnixNano(), false
	}
	if len(q.StatusClasses) > 0 {
		cond, args := statusSQL(func(code int) bool {
			return slices.Contains(q.StatusClasses, apilog.ClassOf(code))
		})
		pl.where = append(pl.where, cond)
		pl.args = append(pl.args, args...)
	}
	if len(q.Methods) > 0 {
		var ids []int64
		for _, m := range q.Methods {
			ids = append(ids, pl.strIDs(kindMethod, func(v string) bool { return v == m })...)
		}
		pl.in("e.method", ids)
		pl.implied = true
	}
	if len(q.KeyIDs) > 0 {
		var ids []int64
		for slot, k := range pl.keys {
			if slices.Contains(q.KeyIDs, k.keyID) {
				ids = append(ids, slot)
			}
		}
		pl.in("e.key", ids)
		pl.implied = true
	}
	for i := range q.Search.Terms {
		pl.term(&q.Search.Terms[i])
	}
	return pl, nil
}

// accounts returns the IDs of the accounts in scope.
func (pl *plan) accounts() []int64 {
	if pl.acct != 0 {
		return []int64{pl.acct}
	}
	c := &pl.s.cache
	c.mu.RLock()
	defer c.mu.RUnlock()
	ids := make([]int64, 0, len(c.accountNames))
	for id := range c.accountNames {
		ids = append(ids, id)
	}
	return ids
}

// loadKeys reads the key slots in scope with their current state.
func (pl *plan) loadKeys(ctx context.Context, tx *sql.Tx) error {
	query := "SELECT id, key_id, known, name, prefix, inactive, created_at, rotated_at, revoked_at, expires_at FROM keys"
	var args []any
	if pl.acct != 0 {
		query += " WHERE account = ?"
		args = append(args, pl.acct)
	}
	rows, err := tx.QueryContext(ctx, query, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	pl.keys = map[int64]keyRow{}
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
			for i, t := range []*time.Time{&key.CreatedAt, &key.RotatedAt, &key.RevokedAt, &key.ExpiresAt} {
				if times[i] != nil {
					if err := t.UnmarshalBinary(times[i]); err != nil {
						return fmt.Errorf("key slot %d: %w", slot, err)
					}
				}
			}
			k.name, k.prefix, k.status = key.Name, key.Prefix, key.Status(pl.q.Now)
		}
		pl.keys[slot] = k
	}
	return rows.Err()
}

// strIDs returns the IDs of the interned values of kind in scope that
// match. The caller holds the cache's read lock.
func (pl *plan) strIDs(kind int64, match func(string) bool) []int64 {
	var ids []int64
	scan := func(acct int64) {
		for _, id := range pl.s.cache.byKind[[2]int64{acct, kind}] {
			if match(pl.s.cache.strs[id].value) {
				ids = append(ids, id)
			}
		}
	}
	if pl.acct != 0 {
		scan(pl.acct)
	} else {
		for acct := range pl.s.cache.accountNames {
			scan(acct)
		}
	}
	return ids
}

// in adds "col IN ids" to the WHERE clause. The IDs travel as one JSON
// array argument, so the statement text does not depend on the data.
func (pl *plan) in(col string, ids []int64) {
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

// term adds one search term: the row matches when any of its targets does.
func (pl *plan) term(t *apilog.Term) {
	var or []string
	var args []any
	var slots []int64
	for slot, k := range pl.keys {
		if t.MatchText(apilog.FieldKey, k.name) || t.MatchText(apilog.FieldKey, k.prefix) {
			slots = append(slots, slot)
		}
	}
	slices.Sort(slots)
	add := func(col string, ids []int64) {
		if len(ids) > 0 {
			or = append(or, inSQL(col))
			args = append(args, jsonIDs(ids))
		}
	}
	add("e.key", slots)
	for _, f := range [...]struct {
		col   string
		kind  int64
		field apilog.Field
	}{{"e.method", kindMethod, apilog.FieldMethod}, {"e.endpoint", kindEndpoint, apilog.FieldEndpoint},
		{"e.error", kindError, apilog.FieldError}, {"e.ip", kindIP, apilog.FieldIP}} {
		add(f.col, pl.strIDs(f.kind, func(v string) bool { return t.MatchText(f.field, v) }))
	}
	if st, stArgs := statusSQL(t.MatchStatus); st != "0" {
		if pl.acct != 0 {
			st = "(e.account = ? AND " + st + ")"
			args = append(args, pl.acct)
		}
		or = append(or, st)
		args = append(args, stArgs...)
	}
	cond := "0"
	if len(or) > 0 {
		cond = "(" + strings.Join(or, " OR ") + ")"
	}
	if t.Negate {
		cond = "NOT " + cond
	} else {
		pl.implied = true
	}
	pl.where = append(pl.where, cond)
	pl.args = append(pl.args, args...)
}

// statusSQL returns a condition on e.status that holds for the codes 0 to
// 999 that match, as ranges, with its arguments.
func statusSQL(match func(code int) bool) (string, []any) {
	var or []string
	var args []any
	for lo := 0; lo <= apilog.MaxStatus; lo++ {
		if !match(lo) {
			continue
		}
		hi := lo
		for hi < apilog.MaxStatus && match(hi+1) {
			hi++
		}
		if lo == hi {
			or = append(or, "e.status = ?")
			args = append(args, lo)
		} else {
			or = append(or, "e.status BETWEEN ? AND ?")
			args = append(args, lo, hi)
		}
		lo = hi
	}
	switch len(or) {
	case 0:
		return "0", nil
	case 1:
		return or[0], args
	}
	return "(" + strings.Join(or, " OR ") + ")", args
}

// whereSQL returns the full WHERE clause and its arguments. With scoped
// set, the account condition is there even when implied, so that the time
// index can serve the query.
func (pl *plan) whereSQL(scoped bool) (string, []any) {
	var conds []string
	var args []any
	if pl.acct != 0 && (scoped || !pl.implied) {
		conds = append(conds, "e.account = ?")
		args = append(args, pl.acct)
	}
	if pl.from != minTS {
		conds = append(conds, "e.ts >= ?")
		args = append(args, pl.from)
	}
	if !pl.toOpen {
		conds = append(conds, "e.ts < ?")
		args = append(args, pl.to)
	}
	conds = append(conds, pl.where...)
	args = append(args, pl.args...)
	if len(conds) == 0 {
		return "", nil
	}
	return " WHERE " + strings.Join(conds, " AND "), args
}

// count returns the number of matching rows.
func (pl *plan) count(ctx context.Context, tx *sql.Tx) (int, error) {
	where, args := pl.whereSQL(false)
	var n int
	err := tx.QueryRowContext(ctx, "SELECT count(*) FROM entries e"+where, args...).Scan(&n)
	return n, err
}

// page returns the IDs of the matching rows at [off, off+limit) in the
// query's order; total is their number.
//
// A time-ordered page is read one of two ways: walking the time index and
// testing each row, which reads about (off+limit)/fraction rows where
// fraction is the share of the account's rows in the time range that
// match, or collecting the matching rows from the other indexes and
// sorting them, which reads total rows. The walk is forced when it is the
// cheaper, since SQLite cannot know the fraction.
func (pl *plan) page(ctx context.Context, tx *sql.Tx, off, limit, total int) ([]int64, error) {
	scoped := !pl.implied
	indexed := ""
	if pl.acct != 0 && pl.q.Sort.Column == apilog.ColumnTime {
		all, err := pl.inRange(ctx, tx)
		if err != nil {
			return nil, err
		}
		if float64(off+limit)*float64(all)/float64(max(total, 1)) < float64(total) {
			scoped, indexed = true, " INDEXED BY entries_time"
		}
	}
	where, args := pl.whereSQL(scoped)
	query := "SELECT e.id FROM entries e" + indexed + where + " ORDER BY " + pl.orderSQL() + " LIMIT ? OFFSET ?"
	return queryAll(ctx, tx, query, append(args, limit, off), scanID)
}

// walkCheaper reports whether a filtered page sorted by a column is cheaper
// to read by walking the column's values and testing their rows, about
// (off+limit)/fraction rows where fraction is the share of the rows in scope
// that match, than by sorting the total matching rows. A broad filter (2xx,
// a search for "flux") walks; a narrow one sorts. Errors choose the sort.
func (pl *plan) walkCheaper(ctx context.Context, tx *sql.Tx, off, limit, total int) bool {
	all, err := pl.inRange(ctx, tx)
	return err == nil && float64(off+limit)*float64(all)/float64(max(total, 1)) < float64(total)
}

// orderSQL is the ORDER BY clause of the query's sort, ties broken by time
// and then ID, both descending (see [apilog.Sort.Compare]).
func (pl *plan) orderSQL() string {
	dir := " ASC"
	if pl.q.Sort.Dir == apilog.Desc {
		dir = " DESC"
	}
	const tie = ", e.ts DESC, e.id DESC"
	value := func(col string) string { return "(SELECT value FROM strs WHERE id = " + col + ")" }
	// An IP hash kept as its 32 bytes sorts as its hex text, like the
	// others: SQLite would put every BLOB after every TEXT.
	ipValue := "(SELECT CASE WHEN typeof(value) = 'blob' THEN lower(hex(value)) ELSE value END FROM strs WHERE id = e.ip)"
	switch pl.q.Sort.Column {
	case apilog.ColumnTime:
		return "e.ts" + dir + ", e.id DESC"
	case apilog.ColumnStatus:
		return "e.status" + dir + tie
	case apilog.ColumnMethod:
		return value("e.method") + dir + tie
	case apilog.ColumnEndpoint:
		return value("e.endpoint") + dir + tie
	case apilog.ColumnIP:
		return ipValue + dir + tie
	case apilog.ColumnError:
		return value("e.error") + " = '', " + value("e.error") + dir + tie
	case apilog.ColumnAPI:
		known := func(col string) string {
			return "(SELECT CASE WHEN known THEN " + col + " ELSE '' END FROM keys WHERE id = e.key)"
		}
		return known("name") + " COLLATE apilog_fold" + dir + ", " + known("prefix") + dir + tie
	}
	panic("unreachable: sort normalized") // Normalize rejects other columns
}

// rows reads the entries with ids, in that order, joined with their keys.
func (pl *plan) rows(ctx context.Context, tx *sql.Tx, ids []int64) ([]apilog.Row, error) {
	if len(ids) == 0 {
		return nil, nil
	}
	rows, err := tx.QueryContext(ctx, "SELECT e.id, "+entryCols+" FROM entries e WHERE e.id IN (SELECT value FROM json_each(?))", jsonIDs(ids))
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	at := make(map[int64]int, len(ids))
	for i, id := range ids {
		at[id] = i
	}
	out := make([]apilog.Row, len(ids))
	c := &pl.s.cache
	c.mu.RLock()
	defer c.mu.RUnlock()
	for rows.Next() {
		var (
			r                                    apilog.Row
			acct, slot, method, ep, errc, ip, ts int64
			dur                                  int64
		)
		if err := rows.Scan(&r.ID, &acct, &slot, &method, &ep, &r.Status, &errc, &ip, &ts, &dur, &r.RequestID); err != nil {
			return nil, err
		}
		k := pl.keys[slot]
		r.Account, r.KeyID = c.accountNames[acct], k.keyID
		r.Method, r.Endpoint, r.ErrorCode, r.IPHash = c.strs[method].value, c.strs[ep].value, c.strs[errc].value, c.strs[ip].value
		r.Time, r.Duration = time.Unix(0, ts).UTC(), time.Duration(dur)
		r.KeyName, r.KeyPrefix, r.KeyStatus = k.name, k.prefix, k.status
		out[at[r.ID]] = r
	}
	return out, rows.Err()
}
