package pgstore

import (
	"context"
	"slices"
	"strconv"
	"strings"

	"github.com/apilog/apilog"
	"github.com/jackc/pgx/v5"
)

// A group is the rows that share one value of the sort column, as one
// or more values of the column it is read from (several when equal texts
// of several accounts, or equal keys, are one group).
type group []int64

// walkPage returns rows [off, off+limit) of a view sorted by a column of
// few values (key, status, text). It walks the column's values in order
// and reads each value's rows off its index, newest first, until the page
// is full; the groups before off are skipped by their counts. Groups go to
// the server in chunks that grow, each chunk one statement, so that a
// column of many values with few rows each (IP hashes) costs a few round
// trips.
func (pl *exec) walkPage(ctx context.Context, off, limit, total int) ([]entryRow, error) {
	next, n, err := pl.groups(ctx)
	if err != nil {
		return nil, err
	}
	probe, where, args := pl.probe()
	var out []entryRow
	skip := off
	// The first chunk: as many groups as should hold the page, if the
	// rows were spread evenly, twice over.
	size := 4
	if n > 0 && total > 0 {
		size = min(max(2*(off+limit)*n/total, size), 1024)
	}
	var held group // a wide group met while filling a chunk
	for ; len(out) < limit; size = min(size*4, 1024) {
		var gs []group
		for len(gs) < size && len(held) == 0 {
			g, ok, err := next()
			if err != nil {
				return nil, err
			}
			if !ok {
				break
			}
			if len(g) > wideGroup {
				held = g
				break
			}
			gs = append(gs, g)
		}
		if len(gs) == 0 && len(held) > 0 {
			g := held
			held = nil
			if skip > 0 {
				n, err := pl.wideCount(ctx, g, where, args)
				if err != nil {
					return nil, err
				}
				if n <= skip {
					skip -= n
					continue
				}
			}
			rows, err := pl.wideRows(ctx, g, where, args, skip, limit-len(out))
			if err != nil {
				return nil, err
			}
			skip = 0
			out = append(out, rows...)
			continue
		}
		if len(gs) == 0 {
			break
		}
		if skip > 0 {
			// The groups before the page are skipped by count, and the one
			// that holds its first row is read from there on its own.
			values, ords, extra := pl.flatten(gs)
			counts := make([]int, len(gs))
			rows, err := pl.tx.Query(ctx, pl.s.sql("SELECT g.ord, (SELECT count(*) FROM {s}.entries e WHERE "+probe+where+") - g.extra "+
				"FROM unnest($1::int4[], $2::int4[], $3::int4[]) AS g(v, ord, extra)"), append([]any{values, ords, extra}, args...)...)
			if err != nil {
				return nil, err
			}
			var ord, n int
			if _, err := pgx.ForEachRow(rows, []any{&ord, &n}, func() error { counts[ord] += n; return nil }); err != nil {
				return nil, err
			}
			i := 0
			for i < len(gs) && counts[i] <= skip {
				skip -= counts[i]
				i++
			}
			if i == len(gs) {
				continue
			}
			first, err := pl.groupFrom(ctx, gs[i], probe, where, args, skip, limit)
			if err != nil {
				return nil, err
			}
			out = append(out, first...)
			skip = 0
			gs = gs[i+1:]
		}
		rest, err := pl.groupRows(ctx, gs, probe, where, args, "", 0, limit-len(out))
		if err != nil {
			return nil, err
		}
		out = append(out, rest...)
	}
	return out[:min(len(out), limit)], nil
}

// wideGroup is the most values a group has for its rows to be read value
// by value, each off its index. A wider group (the same endpoint in
// thousands of accounts, in the operator's view) is read in one scan of
// its rows, whose cost is its rows rather than its values.
const wideGroup = 64

// wideWhere returns the WHERE clause of a wide group's rows, its values
// the array $1, and its arguments.
func (pl *exec) wideWhere(g group, where string, args []any) (string, []any) {
	sc, _ := sortColumnOf(pl.Query.Sort.Column)
	return " WHERE e." + sc + " = ANY($1::int4[])" + shiftArgs(where, -2), append([]any{ids32(g)}, args...)
}

// wideCount returns the number of a wide group's rows, less those above
// the bound the walk steps over.
func (pl *exec) wideCount(ctx context.Context, g group, where string, args []any) (int, error) {
	w, a := pl.wideWhere(g, where, args)
	var n int
	if err := pl.tx.QueryRow(ctx, pl.s.sql("SELECT count(*) FROM {s}.entries e"+w), a...).Scan(&n); err != nil {
		return 0, err
	}
	if pl.stepping() {
		for _, v := range g {
			n -= pl.pastBy[v]
		}
	}
	return n, nil
}

// wideRows returns rows [skip, skip+limit) of a wide group.
func (pl *exec) wideRows(ctx context.Context, g group, where string, args []any, skip, limit int) ([]entryRow, error) {
	w, a := pl.wideWhere(g, where, args)
	if pl.stepping() {
		w += " AND e.id <= " + strconv.FormatInt(pl.bound, 10)
	}
	n := len(a)
	return pl.readRows(ctx, "SELECT "+rowCols+" FROM {s}.entries e"+w+" ORDER BY e.ts DESC, e.id DESC LIMIT $"+strconv.Itoa(n+1)+" OFFSET $"+strconv.Itoa(n+2),
		append(a, limit, skip)...)
}

// flatten returns the values of groups with the index of the group each
// belongs to and the number of its rows above the row-ID bound that the
// walk steps over (see stepping).
func (pl *exec) flatten(gs []group) (values, ords, extra []int32) {
	step := pl.stepping()
	for i, g := range gs {
		for _, v := range g {
			n := 0
			if step {
				n = pl.pastBy[v]
			}
			values, ords, extra = append(values, int32(v)), append(ords, int32(i)), append(extra, int32(n))
		}
	}
	return values, ords, extra
}

// stepping reports whether the walk steps over the rows above the row-ID
// bound rather than test each row against it: when nothing else filters,
// a value's rows are counted and read on its index alone, and the few
// rows above the bound, listed by bind, are taken off.
func (pl *exec) stepping() bool { return pl.bounded && pl.listed && len(pl.where) == 0 }

// groupRows returns rows [skip, skip+limit) of the groups gs in order, in
// one statement: each value's rows read off its index up to what the page
// can take, then put in group order. cond, if set, is one more condition
// on the rows, with its one argument at the end of args.
func (pl *exec) groupRows(ctx context.Context, gs []group, probe, where string, args []any, cond string, skip, limit int) ([]entryRow, error) {
	if len(gs) == 0 || limit <= 0 {
		return nil, nil
	}
	values, ords, extra := pl.flatten(gs)
	n := len(args) + 3
	var outer string
	if pl.stepping() {
		outer = " WHERE r.id <= " + strconv.FormatInt(pl.bound, 10)
	}
	query := "SELECT " + strings.ReplaceAll(rowCols, "e.", "r.") + " FROM unnest($1::int4[], $2::int4[], $3::int4[]) AS g(v, ord, extra) CROSS JOIN LATERAL (" +
		"SELECT " + rowCols + " FROM {s}.entries e WHERE " + probe + where + cond + " ORDER BY e.ts DESC, e.id DESC LIMIT $" + strconv.Itoa(n+1) + " + g.extra" +
		") r" + outer + " ORDER BY g.ord, r.ts DESC, r.id DESC LIMIT $" + strconv.Itoa(n+2) + " OFFSET $" + strconv.Itoa(n+3)
	return pl.readRows(ctx, query, append(append([]any{values, ords, extra}, args...), skip+limit, limit, skip)...)
}

// groupFrom returns rows [skip, skip+limit) of one group. The time of
// row skip is found on the index alone (no table row is read for the rows
// skipped), then the rows from that time on are read.
func (pl *exec) groupFrom(ctx context.Context, g group, probe, where string, args []any, skip, limit int) ([]entryRow, error) {
	if skip < limit || pl.stepping() {
		// Few rows to skip; or rows above the bound among them, which only
		// reading them tells apart.
		return pl.groupRows(ctx, []group{g}, probe, where, args, "", skip, limit)
	}
	values, ords, extra := pl.flatten([]group{g})
	n := len(args) + 3
	head := append([]any{values, ords, extra}, args...)
	var at int64
	if err := pl.tx.QueryRow(ctx, pl.s.sql("SELECT r.ts FROM unnest($1::int4[], $2::int4[], $3::int4[]) AS g(v, ord, extra) CROSS JOIN LATERAL ("+
		"SELECT e.ts FROM {s}.entries e WHERE "+probe+where+" ORDER BY e.ts DESC LIMIT $"+strconv.Itoa(n+1)+
		") r ORDER BY r.ts DESC OFFSET $"+strconv.Itoa(n+2)+" LIMIT 1"), append(head, skip+1, skip)...).Scan(&at); err != nil {
		return nil, err
	}
	var above int
	if err := pl.tx.QueryRow(ctx, pl.s.sql("SELECT sum((SELECT count(*) FROM {s}.entries e WHERE "+probe+where+" AND e.ts > $"+strconv.Itoa(n+1)+"))::int8 "+
		"FROM unnest($1::int4[], $2::int4[], $3::int4[]) AS g(v, ord, extra)"), append(head, at)...).Scan(&above); err != nil {
		return nil, err
	}
	return pl.groupRows(ctx, []group{g}, probe, where, append(slices.Clip(args), at), " AND e.ts <= $"+strconv.Itoa(n+1), skip-above, limit)
}

// probe returns the condition that selects a group value's rows (g.v is
// the value) and the rest of the WHERE clause, with its arguments
// numbered from $4. A value ID or key slot implies its account, which is
// left out so that the column's own index serves; a status names it.
func (pl *exec) probe() (probe, where string, args []any) {
	sc, _ := sortColumnOf(pl.Query.Sort.Column)
	probe = "e." + sc + " = g.v"
	conds, args := pl.conds("e.", !pl.stepping(), pl.Query.Sort.Column == apilog.ColumnStatus)
	for _, w := range pl.where {
		conds = append(conds, shiftArgs(w, len(args)))
	}
	args = append(args, pl.args...)
	for _, c := range conds {
		where += " AND " + shiftArgs(c, 3)
	}
	return probe, where, args
}

// groups returns an iterator over the groups of the sort column in order,
// and how many values they hold (0: not known).
func (pl *exec) groups(ctx context.Context) (next func() (group, bool, error), n int, err error) {
	if pl.Query.Sort.Column == apilog.ColumnStatus {
		// The statuses present, found one at a time on the status index.
		desc := pl.Query.Sort.Dir == apilog.Desc
		query := "SELECT min(status) FROM {s}.entries WHERE account = $1 AND status > $2"
		prev := int64(-1)
		if desc {
			query = "SELECT max(status) FROM {s}.entries WHERE account = $1 AND status < $2"
			prev = apilog.MaxStatus + 1
		}
		done := false
		return func() (group, bool, error) {
			if done {
				return nil, false, nil
			}
			var st *int64
			if err := pl.tx.QueryRow(ctx, pl.s.sql(query), pl.acct, prev).Scan(&st); err != nil {
				return nil, false, err
			}
			if st == nil {
				done = true
				return nil, false, nil
			}
			prev = *st
			return group{prev}, true, nil
		}, 0, nil
	}
	ids, ords := pl.ordered()
	n = len(ids)
	return func() (group, bool, error) {
		if len(ids) == 0 {
			return nil, false, nil
		}
		n := 1
		for ords != nil && n < len(ids) && ords[n] == ords[0] {
			n++
		}
		g := group(ids[:n])
		ids = ids[n:]
		if ords != nil {
			ords = ords[n:]
		}
		return g, true, nil
	}, n, nil
}
