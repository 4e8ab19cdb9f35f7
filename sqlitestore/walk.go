package sqlitestore

import (
	"context"
	"database/sql"
	"fmt"
	"maps"
	"math"
	"slices"
	"strings"

	"github.com/apilog/apilog"
	"github.com/apilog/apilog/timecount"
)

// The fast paths below serve the queries a Logs page makes most: the
// unfiltered view, or a time range of it, in any sort. Every other query
// goes through the general SQL of query.go.

// timePage returns the IDs of rows [off, off+limit) of the time-ordered
// view, stepping over the rows past the row-ID bound (see timecount.Step).
func (pl *exec) timePage(ctx context.Context, tx *sql.Tx, off, limit int) ([]int64, error) {
	n := limit + len(pl.past)
	if len(pl.past) == 0 {
		// The IDs alone, read into their slice: a stream's million rows
		// take 8 MB rather than twice that and a copy.
		query, args, skip, err := pl.timeWindow(ctx, off, n, "id")
		if err != nil {
			return nil, err
		}
		ids, err := queryN(ctx, tx, skip+n, query, args, scanID)
		if err != nil || skip >= len(ids) {
			return nil, err
		}
		return ids[skip:min(skip+limit, len(ids))], nil
	}
	query, args, skip, err := pl.timeWindow(ctx, off, n, "id, ts")
	if err != nil {
		return nil, err
	}
	xs, err := readIDTimes(ctx, tx, skip+n, query, args...)
	if err != nil || skip >= len(xs) {
		return nil, err
	}
	xs = timecount.Step(xs[skip:min(skip+n, len(xs))], idTime.row, pl.past, pl.Query.MaxID, off, limit, pl.Query.Sort.Dir == apilog.Desc)
	return idsOf(xs, 0, limit), nil
}

// timeWindow returns the query of the columns cols of rows [off, off+limit)
// of the time-ordered view without the row-ID bound, and the rows at its
// start to skip: the counts locate the second that holds row off, and the
// time index is read from there.
func (pl *exec) timeWindow(ctx context.Context, off, limit int, cols string) (string, []any, int, error) {
	desc := pl.Query.Sort.Dir == apilog.Desc
	// The rank of the first row in the order over every row in scope.
	r, err := pl.counts.Rank(ctx, off, desc, pl.From, pl.To, pl.FromOpen, pl.ToOpen)
	if err != nil {
		return "", nil, 0, err
	}
	b, before, err := pl.counts.Seek(ctx, r, desc)
	if err != nil {
		return "", nil, 0, err
	}
	last := levels[len(levels)-1]
	query, args := "SELECT "+cols+" FROM entries INDEXED BY "+idxTimeAll+" WHERE 1", []any{}
	if pl.acct != 0 {
		query, args = "SELECT "+cols+" FROM entries WHERE account = ?", []any{pl.acct}
	}
	order := " ORDER BY ts ASC, id DESC LIMIT ?"
	if desc {
		query += " AND ts <= ?"
		args = append(args, b<<last|(1<<last-1))
		if !pl.FromOpen {
			query += " AND ts >= ?"
			args = append(args, pl.From)
		}
		order = " ORDER BY ts DESC, id DESC LIMIT ?"
	} else {
		query += " AND ts >= ?"
		args = append(args, b<<last)
		if !pl.ToOpen {
			query += " AND ts < ?"
			args = append(args, pl.To)
		}
	}
	skip := r - before
	return query + order, append(args, skip+limit), skip, nil
}

// idTime is a row's ID and time, as the merge of several index ranges
// needs them.
type idTime struct{ id, ts int64 }

func (x idTime) row() timecount.Row { return timecount.Row{ID: x.id, Time: x.ts} }

// readIDTimes reads the rows of query, which returns about n (0 when
// unknown).
func readIDTimes(ctx context.Context, tx *sql.Tx, n int, query string, args ...any) ([]idTime, error) {
	return queryN(ctx, tx, n, query, args, func(sc scanFunc) (x idTime, err error) { return x, sc(&x.id, &x.ts) })
}

// mergeStreams merges streams each sorted by cmp.
func mergeStreams(streams [][]idTime, cmp func(a, b idTime) int) []idTime {
	if len(streams) == 1 {
		return streams[0]
	}
	var all []idTime
	for _, s := range streams {
		all = append(all, s...)
	}
	slices.SortFunc(all, cmp)
	return all
}

// idsOf returns the IDs of xs[off:off+limit], clamped.
func idsOf(xs []idTime, off, limit int) []int64 {
	return windowOf(xs, off, limit, func(x idTime) int64 { return x.id })
}

// windowOf returns the IDs of xs[off:off+limit], clamped.
func windowOf[T any](xs []T, off, limit int, id func(T) int64) []int64 {
	if off >= len(xs) {
		return nil
	}
	xs = xs[off:min(off+limit, len(xs))]
	ids := make([]int64, len(xs))
	for i, x := range xs {
		ids[i] = id(x)
	}
	return ids
}

// probe is one index range of a group: the rows WHERE cond.
type probe struct {
	cond string
	args []any
}

// A group is the rows that share one value of the sort column, as one or
// more index ranges: several when keys tie on name and prefix.
type group []probe

// walkPage returns the IDs of rows [off, off+limit) of the view sorted by a
// column other than time. It walks the column's distinct values in order
// and reads each value's rows off its index, newest first, until the page
// is full; the groups before off are skipped by their counts. With
// filtered set, each value's rows are tested against the query's filters.
func (pl *exec) walkPage(ctx context.Context, tx *sql.Tx, off, limit int, filtered bool) ([]int64, error) {
	next, err := pl.groups(ctx, tx)
	if err != nil {
		return nil, err
	}
	// Named: SQLite would rather use a filter's index (or the row ID's, for
	// the bound) and sort the group, or, for a status, the duration index,
	// which holds the account, the status and the exact time.
	from := "entries e INDEXED BY " + pl.sort.index
	var filter string
	var fargs []any
	if filtered {
		// Without the account: each group's probe is of one account's
		// values (or names it), and the account is not in the value
		// indexes, so testing it would read every row of the group.
		if conds, args := pl.conds(0); len(conds) > 0 {
			filter, fargs = " AND ("+strings.Join(conds, " AND ")+")", args
		}
	}
	var out []int64
	skip := off
	for len(out) < limit {
		g, ok, err := next()
		if err != nil || !ok {
			return out, err
		}
		for i := range g {
			g[i].cond += filter
			g[i].args = append(slices.Clip(g[i].args), fargs...)
		}
		if skip > 0 {
			n, err := g.count(ctx, tx, from)
			if err != nil {
				return nil, err
			}
			if n <= skip {
				skip -= n
				continue
			}
		}
		ids, err := pl.groupRows(ctx, tx, g, from, skip, limit-len(out))
		if err != nil {
			return nil, err
		}
		skip = 0
		out = append(out, ids...)
	}
	return out, nil
}

// The order within a group: time then ID, both descending, read off an
// index that ends in ts >> 30 and sorted exactly within each such second.
const groupOrder = " ORDER BY ts >> 30 DESC, ts DESC, id DESC"

// exact reports whether a group's rows share the sort column's value, so
// that they are in time order; otherwise (duration groups) they are sorted
// by the column first.
func (pl *exec) exact() bool { return pl.sort.group == "" || pl.sort.group == pl.sort.col }

func (g group) count(ctx context.Context, tx *sql.Tx, from string) (int, error) {
	n := 0
	for _, p := range g {
		var m int
		if err := tx.QueryRowContext(ctx, "SELECT count(*) FROM "+from+" WHERE "+p.cond, p.args...).Scan(&m); err != nil {
			return 0, err
		}
		n += m
	}
	return n, nil
}

// groupRows returns the IDs of the group's rows [skip, skip+limit) in order.
func (pl *exec) groupRows(ctx context.Context, tx *sql.Tx, g group, from string, skip, limit int) ([]int64, error) {
	if !pl.exact() {
		return pl.sortedRows(ctx, tx, g, from, skip, limit)
	}
	if len(g) == 1 {
		p := g[0]
		cond, args := p.cond, p.args
		if skip > 0 {
			// Find the second that holds row skip on the index alone, so that
			// only that second's rows are read from the table.
			var sec int64
			if err := tx.QueryRowContext(ctx, "SELECT ts >> 30 FROM "+from+" WHERE "+cond+" ORDER BY ts >> 30 DESC LIMIT 1 OFFSET ?",
				append(args, skip)...).Scan(&sec); err != nil {
				return nil, err
			}
			var before int
			if err := tx.QueryRowContext(ctx, "SELECT count(*) FROM "+from+" WHERE "+cond+" AND ts >> 30 > ?",
				append(args, sec)...).Scan(&before); err != nil {
				return nil, err
			}
			cond += " AND ts >> 30 <= ?"
			args = append(slices.Clip(args), sec)
			skip -= before
		}
		s, err := readIDTimes(ctx, tx, 0, "SELECT id, ts FROM "+from+" WHERE "+cond+groupOrder+" LIMIT ? OFFSET ?", append(args, limit, skip)...)
		return idsOf(s, 0, limit), err
	}
	var streams [][]idTime
	for _, p := range g {
		s, err := readIDTimes(ctx, tx, 0, "SELECT id, ts FROM "+from+" WHERE "+p.cond+groupOrder+" LIMIT ?", append(slices.Clip(p.args), skip+limit)...)
		if err != nil {
			return nil, err
		}
		streams = append(streams, s)
	}
	merged := mergeStreams(streams, func(a, b idTime) int {
		return apilog.TieBreak(a.ts, a.id, b.ts, b.id)
	})
	return idsOf(merged, skip, limit), nil
}

// sortedRows is groupRows for a group of several values of the sort column (a
// duration group): SQLite sorts the group's index entries, which hold the
// value, by the value and then the time.
func (pl *exec) sortedRows(ctx context.Context, tx *sql.Tx, g group, from string, skip, limit int) ([]int64, error) {
	order := " ORDER BY " + pl.sort.col + pl.direction() + ", ts DESC, id DESC"
	var all []scanned
	for _, p := range g {
		lim, off := skip+limit, 0
		if len(g) == 1 {
			lim, off = limit, skip // one stream: SQLite skips
		}
		s, err := queryAll(ctx, tx, "SELECT id, "+pl.sort.col+", ts FROM "+from+" WHERE "+p.cond+order+" LIMIT ? OFFSET ?",
			append(slices.Clip(p.args), lim, off), scanValue)
		if err != nil {
			return nil, err
		}
		all = append(all, s...)
	}
	if len(g) == 1 {
		return windowOf(all, 0, limit, scannedID), nil
	}
	slices.SortFunc(all, pl.valueOrder)
	return windowOf(all, skip, limit, scannedID), nil
}

// groups returns an iterator over the groups of the sort column in order.
func (pl *exec) groups(ctx context.Context, tx *sql.Tx) (func() (group, bool, error), error) {
	desc := pl.Query.Sort.Dir == apilog.Desc
	switch col := pl.Query.Sort.Column; {
	case col.Kind() == apilog.KindNumber && pl.sort.group != "":
		value := pl.sort.group
		prev, done := int64(-1), false
		if desc {
			prev = math.MaxInt64
		}
		accounts := pl.accounts()
		return func() (group, bool, error) {
			if done {
				return nil, false, nil
			}
			query := "SELECT min(" + value + ") FROM entries WHERE account = ? AND " + value + " > ?"
			if desc {
				query = "SELECT max(" + value + ") FROM entries WHERE account = ? AND " + value + " < ?"
			}
			// The next status of each account in scope; the group is the
			// accounts that have the first of them.
			next := map[int64]int64{}
			for _, acct := range accounts {
				var st sql.NullInt64
				if err := tx.QueryRowContext(ctx, query, acct, prev).Scan(&st); err != nil {
					return nil, false, err
				}
				if st.Valid {
					next[acct] = st.Int64
				}
			}
			if len(next) == 0 {
				done = true
				return nil, false, nil
			}
			first := slices.Collect(maps.Values(next))
			if desc {
				prev = slices.Max(first)
			} else {
				prev = slices.Min(first)
			}
			var g group
			for acct, v := range next {
				if v == prev {
					g = append(g, probe{"account = ? AND " + value + " = ?", []any{acct, prev}})
				}
			}
			return g, true, nil
		}, nil
	case col.Kind() == apilog.KindKey:
		// The plan ranked the slots; equal keys are one group.
		groups := slices.Clone(pl.KeyGroups)
		if desc {
			slices.Reverse(groups)
		}
		return func() (group, bool, error) {
			if len(groups) == 0 {
				return nil, false, nil
			}
			var g group
			for _, slot := range groups[0] {
				g = append(g, probe{"key = ?", []any{slot}})
			}
			groups = groups[1:]
			return g, true, nil
		}, nil
	case col.Kind() != apilog.KindText:
		return nil, fmt.Errorf("column %q has no values to walk", col)
	}
	f := textFields[pl.Query.Sort.Column.Field()]
	c := &pl.s.cache
	ids := pl.textValues(pl.Query.Sort.Column.Field())
	// The same value in several accounts is one group.
	order := pl.textOrder()
	return func() (group, bool, error) {
		if len(ids) == 0 {
			return nil, false, nil
		}
		c.mu.RLock()
		defer c.mu.RUnlock()
		var g group
		for len(g) == 0 || len(ids) > 0 && order(ids[0], g[0].args[0].(int64)) == 0 {
			g = append(g, probe{f.col + " = ?", []any{ids[0]}})
			ids = ids[1:]
		}
		return g, true, nil
	}, nil
}

// textValues returns the IDs of the values of field f in scope in the
// sort's order (Sort.TextOrder): one account's, kept in byte order (see
// sorted), as they are or reversed; several accounts', or a column whose
// empty values go last, sorted. The same value in several accounts is
// adjacent.
func (pl *exec) textValues(f apilog.Field) []int64 {
	c := &pl.s.cache
	var ids []int64
	for _, acct := range pl.accounts() {
		ids = append(ids, c.sorted(acct, textFields[f].kind)...)
	}
	c.mu.RLock()
	defer c.mu.RUnlock()
	switch {
	case len(pl.accounts()) > 1 || pl.Query.Sort.Column.EmptyLast():
		ids = slices.Clone(ids)
		slices.SortStableFunc(ids, pl.textOrder())
	case pl.Query.Sort.Dir == apilog.Desc:
		ids = slices.Clone(ids)
		slices.Reverse(ids)
	}
	return ids
}

// textOrder is Sort.TextOrder over value IDs; the caller holds the cache's
// read lock while it compares.
func (pl *exec) textOrder() func(a, b int64) int {
	c := &pl.s.cache
	text := pl.Query.Sort.TextOrder()
	return func(a, b int64) int { return text(c.strs[a].value, c.strs[b].value) }
}

// sorted returns the IDs of the account's values of kind in byte order of
// the values. The order is kept and new values are merged into it, so a
// sort by IP hash does not sort fifty thousand strings per query.
func (c *cache) sorted(acct, kind int64) []int64 {
	k := [2]int64{acct, kind}
	c.mu.RLock()
	s, all := c.order[k], c.byKind[k]
	c.mu.RUnlock()
	if len(s) == len(all) {
		return s
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	s, all = c.order[k], c.byKind[k]
	if len(s) == len(all) {
		return s
	}
	byValue := func(a, b int64) int { return strings.Compare(c.strs[a].value, c.strs[b].value) }
	add := slices.Clone(all[len(s):])
	slices.SortFunc(add, byValue)
	merged := make([]int64, 0, len(all))
	i, j := 0, 0
	for i < len(s) && j < len(add) {
		if byValue(s[i], add[j]) <= 0 {
			merged = append(merged, s[i])
			i++
		} else {
			merged = append(merged, add[j])
			j++
		}
	}
	merged = append(append(merged, s[i:]...), add[j:]...)
	c.order[k] = merged
	return merged
}
