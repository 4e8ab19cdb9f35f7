package pgstore

import (
	"context"
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
func (pl *exec) walkPage(ctx context.Context, off, limit int) ([]entryRow, error) {
	next, err := pl.groups(ctx)
	if err != nil {
		return nil, err
	}
	probe, where, args := pl.probe()
	var out []entryRow
	skip := off
	for size := 4; len(out) < limit; size = min(size*4, 1024) {
		var gs []group
		for len(gs) < size {
			g, ok, err := next()
			if err != nil {
				return nil, err
			}
			if !ok {
				break
			}
			gs = append(gs, g)
		}
		if len(gs) == 0 {
			break
		}
		if skip > 0 {
			values, ords := flatten(gs)
			// The groups before the page are skipped by count, and the one
			// that holds its first row is read from there on its own.
			counts := make([]int, len(gs))
			rows, err := pl.tx.Query(ctx, pl.s.sql("SELECT g.ord, (SELECT count(*) FROM {s}.entries e WHERE "+probe+where+") "+
				"FROM unnest($1::int4[], $2::int4[]) AS g(v, ord)"), append([]any{values, ords}, args...)...)
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
			first, err := pl.groupRows(ctx, gs[i:i+1], probe, where, args, skip, limit)
			if err != nil {
				return nil, err
			}
			out = append(out, first...)
			skip = 0
			gs = gs[i+1:]
		}
		rest, err := pl.groupRows(ctx, gs, probe, where, args, 0, limit-len(out))
		if err != nil {
			return nil, err
		}
		out = append(out, rest...)
	}
	return out[:min(len(out), limit)], nil
}

// flatten returns the values of groups with the index of the group each
// belongs to.
func flatten(gs []group) (values, ords []int32) {
	for i, g := range gs {
		for _, v := range g {
			values, ords = append(values, int32(v)), append(ords, int32(i))
		}
	}
	return values, ords
}

// groupRows returns rows [skip, skip+limit) of the groups gs in order: in
// one statement, each value's rows read off its index up to what the page
// can take, then put in group order.
func (pl *exec) groupRows(ctx context.Context, gs []group, probe, where string, args []any, skip, limit int) ([]entryRow, error) {
	if len(gs) == 0 || limit <= 0 {
		return nil, nil
	}
	values, ords := flatten(gs)
	n := len(args) + 2
	query := "SELECT " + strings.ReplaceAll(rowCols, "e.", "r.") + " FROM unnest($1::int4[], $2::int4[]) AS g(v, ord) CROSS JOIN LATERAL (" +
		"SELECT " + rowCols + " FROM {s}.entries e WHERE " + probe + where + " ORDER BY e.ts DESC, e.id DESC LIMIT $" + strconv.Itoa(n+1) +
		") r ORDER BY g.ord, r.ts DESC, r.id DESC LIMIT $" + strconv.Itoa(n+2) + " OFFSET $" + strconv.Itoa(n+3)
	return pl.readRows(ctx, query, append(append([]any{values, ords}, args...), skip+limit, limit, skip)...)
}

// probe returns the condition that selects a group value's rows (g.v is
// the value) and the rest of the WHERE clause, with its arguments
// numbered from $3. A value ID or key slot implies its account, which is
// left out so that the column's own index serves; a status names it.
func (pl *exec) probe() (probe, where string, args []any) {
	sc, _ := sortColumnOf(pl.Query.Sort.Column)
	probe = "e." + sc + " = g.v"
	conds, args := pl.conds("e.", true, pl.Query.Sort.Column == apilog.ColumnStatus)
	for _, w := range pl.where {
		conds = append(conds, shiftArgs(w, len(args)))
	}
	args = append(args, pl.args...)
	for _, c := range conds {
		where += " AND " + shiftArgs(c, 2)
	}
	return probe, where, args
}

// groups returns an iterator over the groups of the sort column in order.
func (pl *exec) groups(ctx context.Context) (func() (group, bool, error), error) {
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
		}, nil
	}
	groups := pl.orderedGroups()
	return func() (group, bool, error) {
		if len(groups) == 0 {
			return nil, false, nil
		}
		g := groups[0]
		groups = groups[1:]
		return g, true, nil
	}, nil
}
