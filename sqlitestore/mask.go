package sqlitestore

import (
	"cmp"
	"context"
	"database/sql"
	"database/sql/driver"
	"fmt"
	"io"
	"math"
	"slices"
	"strings"

	"github.com/apilog/apilog"
	"github.com/apilog/apilog/internal/window"
	"github.com/apilog/apilog/plan"
)

// A search is put to SQLite as one condition per term, each an OR of "IN"
// lists over the columns the term matches. A term that matches few rows
// lets SQLite read only those off their indexes and test the other terms
// on them; when every term matches many rows, SQLite probes every list for
// every row in scope: 24 one-letter terms took 34 s at a million rows.
// Such searches (StrategyMask) read each row in scope once instead and
// test it in Go, where the terms are bits and a row costs one lookup per
// value it holds: under 1 µs a row, whatever the number of terms.

// maskChunk is the fewest matches kept before the ones that cannot reach
// the page are dropped.
const maskChunk = 4096

// maskWork bounds the lists SQL may probe, as rows times lists per row: a
// search whose narrowest term matches more rows than maskWork over its
// lists is tested in Go (about 0.3 µs a probe, so 15 ms).
var maskWork = 50_000

// maskDeep is the offset past which a page is deep (see broad).
// maskWork and maskDeep are variables for the tests, whose stores hold
// fewer rows.
var maskDeep = 50_000

// maskRows is how many rows a masked scan reads in one snapshot: about
// 30 ms, less than the checkpointer waits for a query (drainWait). A
// variable for the tests, which read in smaller chunks.
var maskRows = 40_000

// packBelow is the bound under which IDs are handed over two to a column
// (a variable for the test of the other way).
var packBelow int64 = 1 << 31

// broad reports whether the query should be tested in Go (StrategyMask)
// rather than put to SQLite. Neither its filters nor any of its terms may
// match few rows: those are read off their indexes, whatever the rest. The
// rows of each are counted off the indexes, up to maskWork over the lists
// per row, the terms narrowest first (by the values they match), so
// deciding costs at most about maskWork rows (or, in scopes of more than a
// million rows, a twentieth of them: see maskShare). Then SQL keeps only what it
// counts on one index and pages by reading few rows in order:
//
//   - a view with no search: with no filter the counts and walks answer
//     any page, and filters by time read the time index in order; other
//     sorts walk the column's values, except for deep pages (past
//     maskDeep rows) and more accounts than a walk serves, which would
//     sort most of the matches;
//   - a search of one term on one column and no filter, by time, if a
//     sample of the first rows (maskSample) says its page lies within
//     maskScan rows of the start;
//   - such a search by another column, on a shallow page, if its list
//     holds few values (maskWalkValues): a walk puts it to SQLite once for
//     each value of the column it reads.
//
// Past these, SQL would count or sort most of the matches row by row, or
// walk them: a walk of 50,000 IP hashes for page 400 of "ip:e" took over
// 10 s, "key:a" in 4xx and 5xx by IP 3.4 s, a sort of 800,000 matches for
// page 1,500 of "key:a" 2.4 s. The scan costs the same for any of them
// (0.7 s a million rows).
func (pl *exec) broad(ctx context.Context, tx *sql.Tx) (bool, error) {
	if slices.ContainsFunc(pl.Terms, func(t plan.Term) bool { return t.ScanRequestID }) {
		// A masked scan reads no request ID: SQL tests the column.
		return false, nil
	}
	probes, values := 0, 0
	var terms []*plan.Term
	size := func(t *plan.Term) int {
		n := len(t.Slots) + len(t.Status) + len(t.Rows)
		for _, ids := range t.Values {
			n += len(ids)
		}
		return n
	}
	for i := range pl.Terms {
		t := &pl.Terms[i]
		probes += len(t.Values)
		if len(t.Slots) > 0 {
			probes++
		}
		if len(t.Status) > 0 {
			probes++
		}
		if len(t.Rows) > 0 {
			probes++
		}
		values += size(t)
		if t.Duration != nil {
			// No index counts a duration range in any account (the
			// account's Duration index leads with the account): its rows
			// are not counted, and the term is never the narrow one.
			probes++
			continue
		}
		if !t.Negate {
			terms = append(terms, t)
		}
	}
	byTime := pl.sort.col == "ts"
	walk := !byTime && pl.Offset < maskDeep && pl.walkable()
	if probes == 0 && (len(pl.where) == 0 || byTime || walk) {
		return false, nil
	}
	slices.SortStableFunc(terms, func(a, b *plan.Term) int { return cmp.Compare(size(a), size(b)) })
	var err error
	if pl.inScope, err = pl.inRange(ctx); err != nil {
		return false, err
	}
	limit := max(maskWork/max(probes, 1), pl.inScope/maskShare, 1)
	if len(pl.where) > 0 {
		// A key, method or status filter that matches few rows narrows the
		// search as well as a term does.
		where, args := pl.whereSQL(true)
		var n int
		err := tx.QueryRowContext(ctx, "SELECT count(*) FROM (SELECT 1 FROM entries e"+where+" LIMIT ?)", append(args, limit)...).Scan(&n)
		if err != nil || n < limit {
			return false, err
		}
	}
	for _, t := range terms {
		cond, args := pl.termSQL(t)
		var n int
		err := tx.QueryRowContext(ctx, "SELECT count(*) FROM (SELECT 1 FROM entries e WHERE "+cond+" LIMIT ?)", append(args, limit)...).Scan(&n)
		if err != nil || n < limit {
			return false, err
		}
	}
	switch {
	case probes != 1 || len(pl.Terms) != 1 || len(pl.where) > 0:
		// SQLite counts a single list on its index alone; for more it
		// reads each candidate row from the table, at twice to four times
		// the scan's cost a row: 1.9 s to count "ip:e" in 4xx and 5xx.
		return true, nil
	case byTime:
		return pl.sparse(ctx, tx)
	}
	return !walk || values > maskWalkValues, nil
}

// maskSample is the rows sparse reads to estimate the share of rows in
// scope that match, and maskScan the most rows SQL may read in order (a
// variable for the tests).
const maskSample = 5_000

var maskScan = 100_000

// maskShare: a term or filter that matches fewer than 1/maskShare of the
// rows in scope is narrow enough for SQL, however many rows that is, since
// the scan reads them all.
const maskShare = 20

// maskWalkValues is the most values a walk's lists may hold.
const maskWalkValues = 1_000

// sparse reports whether a search by time matches so few of the rows in
// scope that SQL would read more than maskScan of them, in order, to reach
// the end of the page: it counts the matches among the first maskSample
// rows in the sort's order.
func (pl *exec) sparse(ctx context.Context, tx *sql.Tx) (bool, error) {
	where, args := pl.where, pl.args
	pl.where, pl.args = nil, nil
	scope, scopeArgs := pl.whereSQL(true)
	pl.where, pl.args = where, args
	conds := slices.Clone(where)
	args = slices.Clone(args)
	for i := range pl.Terms {
		cond, a := pl.termWhere(&pl.Terms[i])
		conds = append(conds, cond)
		args = append(args, a...)
	}
	var sample, n int
	err := tx.QueryRowContext(ctx, "SELECT count(*), count(*) FILTER (WHERE "+strings.Join(conds, " AND ")+") FROM (SELECT e.* FROM entries e INDEXED BY "+pl.timeIndex()+
		scope+" ORDER BY e.ts"+pl.direction()+" LIMIT ?) e", append(append(slices.Clip(args), scopeArgs...), maskSample)...).Scan(&sample, &n)
	if err != nil || sample < maskSample {
		return false, err // the scope holds too few rows to matter
	}
	return float64(pl.Offset+pl.Limit)*float64(sample) > float64(maskScan)*float64(n), nil
}

// maskPage answers a masked query: the total, and the IDs of the page's
// rows in order. It keeps at most twice the rows up to the page's end (or
// maskChunk) in memory.
//
// It reads the rows in scope newest first, in chunks of maskRows, each in a
// snapshot of its own (r is renewed between them): a scan of a million
// rows takes about a second, and a snapshot that old would keep the WAL
// from restarting under heavy ingest until the checkpointer stopped it.
// Rows are never changed, and the rows given after the query's first
// snapshot (IDs past last) are left out, so the chunks add up to the rows
// of that snapshot, less any that retention deletes meanwhile.
func (pl *exec) maskPage(r *reader, last int64) (int, []int64, error) {
	bits := pl.Bits()
	slotBits := pl.termTable(func(t *plan.Term) []int64 { return t.Slots })
	// nil unless a term's request ID has rows: a search that names none
	// costs one test a row.
	rowBits := pl.RowBits()
	var values [4]idTable[uint32] // by the order of plan.TextFields, as scanned
	for i, f := range plan.TextFields() {
		values[i] = pl.termTable(func(t *plan.Term) []int64 { return t.Values[f] })
	}
	value, extra := pl.sortValue()
	sortCol, durations := extra != "", bits.Durations()
	if durations {
		extra += ", e.duration"
	}
	// The driver boxes each column of each row in an interface (an
	// allocation for any value past 255): the IDs are handed over two to
	// a column when they fit in 32 bits (they would only pass that after
	// billions of distinct values).
	c := &pl.s.cache
	c.mu.RLock()
	packed := c.maxS < packBelow && c.maxSlot < packBelow
	c.mu.RUnlock()
	var cols []string
	for _, f := range plan.TextFields() {
		cols = append(cols, "e."+textFields[f].col)
	}
	if packed {
		cols = []string{"(" + cols[0] + " << 32) | " + cols[1], "(" + cols[2] + " << 32) | " + cols[3]}
	}
	byID, err := pl.byID(r.ctx, r.tx)
	if err != nil {
		return 0, nil, err
	}
	if pl.Query.MaxID > 0 {
		last = min(last, pl.Query.MaxID) // the page's row-ID bound: bound leaves it here
	}
	var row struct{ id, ts, keyStatus, x, d int64 } // the row read last
	where := func(toOpen bool) (string, []any) {
		was := pl.ToOpen
		pl.ToOpen = pl.ToOpen || toOpen
		defer func() { pl.ToOpen = was }()
		w, args := pl.whereSQL(true)
		if w == "" {
			w = " WHERE 1"
		}
		return w, args
	}
	head := "SELECT e.id, e.ts, (e.key << 10) | e.status, " + strings.Join(cols, ", ") + extra + " FROM entries e"
	// chunk returns the query of the next chunk, given whether it is the
	// first and how many rows the one before returned, or false when the
	// scan is done. Each reads at most maskRows rows in scope (by ID: at
	// most maskRows rows at all). SQLite seeks from one bound only: given
	// two on the same column, it could seek from the wrong one and step
	// over every row already read.
	var chunk func(first bool, n int) (string, []any, bool)
	if byID {
		var low int64
		if err := r.tx.QueryRowContext(r.ctx, "SELECT coalesce(min(id), 0) FROM entries").Scan(&low); err != nil {
			return 0, nil, err
		}
		w, args := where(false)
		hi := last + 1
		chunk = func(bool, int) (string, []any, bool) {
			if hi <= low {
				return "", nil, false
			}
			lo := max(hi-int64(maskRows), low)
			q, a := head+" NOT INDEXED"+w+" AND e.id >= ? AND e.id < ?", append(slices.Clip(args), lo, hi)
			hi = lo
			return q, a, true
		}
	} else {
		// Chunks after the first leave the time range's end out: they start
		// below it, from the row read last.
		src := " INDEXED BY " + pl.timeIndex()
		w, args := where(false)
		first := head + src + w + " AND e.id <= ? ORDER BY e.ts DESC, e.id DESC LIMIT ?"
		w, nextArgs := where(true)
		next := head + src + w + " AND e.id <= ? AND (e.ts, e.id) < (?, ?) ORDER BY e.ts DESC, e.id DESC LIMIT ?"
		chunk = func(isFirst bool, n int) (string, []any, bool) {
			switch {
			case isFirst:
				return first, append(slices.Clip(args), last, maskRows), true
			case n < maskRows:
				return "", nil, false
			}
			return next, append(slices.Clip(nextArgs), last, row.ts, row.id, maskRows), true
		}
	}
	order := func(a, b scanned) int {
		if c := cmp.Compare(a.v, b.v); c != 0 {
			return c
		}
		return apilog.TieBreak(a.ts, a.id, b.ts, b.id)
	}
	end := pl.Offset + pl.Limit
	keep := math.MaxInt // a page past any the store could hold keeps nothing
	if end < math.MaxInt/2 {
		keep = max(2*end, maskChunk)
	}
	var (
		total int
		out   []scanned
		vals  [4]int64
	)
	dest := []*int64{&row.id, &row.ts, &row.keyStatus}
	for i := range cols {
		dest = append(dest, &vals[i])
	}
	if sortCol {
		dest = append(dest, &row.x)
	}
	if durations {
		dest = append(dest, &row.d)
	}
	// scan reads one chunk and returns the number of rows read.
	scan := func(q string, a []any) (int, error) {
		return scanInts(r.ctx, r.conn, q, a, dest, func() {
			if packed {
				vals = [4]int64{vals[0] >> 32, vals[0] & (1<<32 - 1), vals[1] >> 32, vals[1] & (1<<32 - 1)}
			}
			slot, status := row.keyStatus>>10, row.keyStatus&(1<<10-1)
			b := slotBits.at(slot)
			if status <= apilog.MaxStatus {
				b |= bits.Status[status]
			}
			for i, v := range vals {
				b |= values[i].at(v)
			}
			if durations {
				b |= bits.Duration(row.d)
			}
			if rowBits != nil {
				b |= rowBits[row.id]
			}
			if !bits.Match(b) {
				return
			}
			if pl.visit != nil {
				pl.visit(row.ts, status)
			}
			total++
			if pl.over(total) {
				out = nil // counted only, from here on
				return
			}
			out = append(out, scanned{v: value(row.ts, slot, vals, row.x), ts: row.ts, id: row.id})
			if len(out) >= keep && end < len(out) {
				// Drop the rows that cannot reach the page: linear time, so
				// the whole scan stays linear.
				window.Nth(out, end, order)
				out = out[:end]
			}
		})
	}
	for first, n := true, 0; ; first = false {
		q, a, ok := chunk(first, n)
		if !ok {
			break
		}
		// The first chunk too: compiling the search took a while.
		if err := r.renew(); err != nil {
			return 0, nil, err
		}
		var err error
		if n, err = scan(q, a); err != nil {
			return 0, nil, err
		}
	}
	if pl.Offset >= len(out) {
		return total, nil, nil
	}
	end = min(end, len(out))
	window.Select(out, pl.Offset, end, order)
	return total, windowOf(out[pl.Offset:end], 0, end-pl.Offset, scannedID), nil
}

// idShare is the least share of the table's rows a masked scan's scope
// (its accounts, in its time range) holds for the scan to read the whole
// table in the order of its IDs rather than the scope off the time index:
// SQLite reads a table in its own order at about twice the rate it reads
// it through an index (0.44 s against 0.9 s for a million rows), since
// each row found on the index is a lookup in the table. A variable for the
// tests, which try both.
var idShare = 0.5

// scanInts runs query on conn, within its transaction, reads each row's
// columns into dest, all integers, and calls each; it returns the number
// of rows read. It talks to the driver directly: database/sql's Scan,
// which converts each value by reflection, took a fifth of a masked scan.
func scanInts(ctx context.Context, conn *sql.Conn, query string, args []any, dest []*int64, each func()) (n int, err error) {
	named := make([]driver.NamedValue, len(args))
	for i, a := range args {
		v, err := driver.DefaultParameterConverter.ConvertValue(a)
		if err != nil {
			return 0, err
		}
		named[i] = driver.NamedValue{Ordinal: i + 1, Value: v}
	}
	err = conn.Raw(func(dc any) error {
		qc, ok := dc.(driver.QueryerContext)
		if !ok {
			return fmt.Errorf("sqlitestore: the driver's connection (%T) cannot query", dc)
		}
		rows, err := qc.QueryContext(ctx, query, named)
		if err != nil {
			return err
		}
		defer rows.Close()
		vals := make([]driver.Value, len(dest))
		for {
			if err := rows.Next(vals); err == io.EOF {
				return nil
			} else if err != nil {
				return err
			}
			for i, v := range vals {
				x, ok := v.(int64)
				if !ok {
					return fmt.Errorf("sqlitestore: column %d of a scan is %T, not an integer", i, v)
				}
				*dest[i] = x
			}
			n++
			each()
		}
	})
	return n, err
}

// byID reports whether a masked scan should read the table by ID.
func (pl *exec) byID(ctx context.Context, tx *sql.Tx) (bool, error) {
	var all int
	err := tx.QueryRowContext(ctx, "SELECT coalesce(sum(n), 0) FROM counts WHERE account = ? AND level = ?", allAccounts, levels[0]).Scan(&all)
	return float64(pl.inScope) >= idShare*float64(all), err
}

// sortValue returns how a masked row's sort value is made from its time,
// slot, text values (by the order of plan.TextFields) and extra column,
// and the SQL of that extra column if the sort needs one. The value orders
// rows ascending in the sort's direction; ties are broken by time and ID.
func (pl *exec) sortValue() (func(ts, slot int64, vals [4]int64, x int64) int64, string) {
	srt := pl.Query.Sort
	sign := int64(1)
	if srt.Dir == apilog.Desc {
		sign = -1
	}
	switch col := srt.Column; col.Kind() {
	case apilog.KindKey:
		rank := pl.KeyRank()
		return func(_, slot int64, _ [4]int64, _ int64) int64 {
			if slot >= 0 && slot < int64(len(rank)) {
				return sign * int64(rank[slot])
			}
			return sign * -1
		}, ""
	case apilog.KindText:
		i := slices.Index(plan.TextFields(), col.Field())
		rank := pl.textRank(col.Field())
		return func(_, _ int64, vals [4]int64, _ int64) int64 { return rank.at(vals[i]) }, ""
	}
	if pl.sort.col == "ts" {
		return func(ts, _ int64, _ [4]int64, _ int64) int64 { return sign * ts }, ""
	}
	return func(_, _ int64, _ [4]int64, x int64) int64 { return sign * x }, ", e." + pl.sort.col
}

// textRank ranks the values of a text field in scope in the sort's order
// (textValues); equal values, of different accounts, share a rank.
func (pl *exec) textRank(f apilog.Field) idTable[int64] {
	ids := pl.textValues(f)
	c := &pl.s.cache
	c.mu.RLock()
	defer c.mu.RUnlock()
	order := pl.textOrder()
	var n int64 // one past the largest ID
	for _, id := range ids {
		n = max(n, id+1)
	}
	rank := newIDTable[int64](n)
	var r int64
	for i, id := range ids {
		if i > 0 && order(ids[i-1], id) != 0 {
			r++
		}
		rank.or(id, r)
	}
	return rank
}

// termTable builds the table of the terms each ID matches, as bits, by
// what ids picks from each term (its slots, or its values of a field).
func (pl *exec) termTable(ids func(*plan.Term) []int64) idTable[uint32] {
	var n int64 // one past the largest ID
	pl.TermBits(ids, func(id int64, _ uint32) { n = max(n, id+1) })
	t := newIDTable[uint32](n)
	pl.TermBits(ids, t.or)
	return t
}

// idTable maps the IDs of values (or slots) to what a masked scan looks up
// for each row: a dense table while the IDs are few enough, else a map of
// the ones set. IDs are shared by every account and never reused, so the
// largest can be far past the values a query's scope holds.
type idTable[V uint32 | int64] struct {
	dense  []V
	sparse map[int64]V
}

// maxDense is the most IDs a dense idTable spans (4 or 8 MB); a variable
// for the test of the maps.
var maxDense int64 = 1 << 20

// newIDTable returns an empty table of IDs below n.
func newIDTable[V uint32 | int64](n int64) idTable[V] {
	if n <= maxDense {
		return idTable[V]{dense: make([]V, n)}
	}
	return idTable[V]{sparse: map[int64]V{}}
}

func (t *idTable[V]) or(id int64, v V) {
	if t.sparse != nil {
		t.sparse[id] |= v
		return
	}
	t.dense[id] |= v
}

func (t *idTable[V]) at(id int64) V {
	if uint64(id) < uint64(len(t.dense)) {
		return t.dense[id]
	}
	if t.sparse != nil {
		return t.sparse[id]
	}
	return 0
}
