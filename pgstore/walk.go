package pgstore

import (
	"context"
	"strconv"
	"strings"

	"github.com/apilog/apilog"
	"github.com/jackc/pgx/v5"
)

// A group is the rows that share one value of the sort column: the rows
// WHERE cond, with args numbered from $1.
type group struct {
	cond string
	args []any
}

// walkPage returns rows [off, off+limit) of a view sorted by a column of
// few values (key, status, text). It walks the column's values in order
// and reads each value's rows off its index, newest first, until the page
// is full; the groups before off are skipped by their counts. Groups go to
// the server in pipelined batches that grow, so that a column of many
// values with few rows each (IP hashes) costs a few round trips.
func (pl *exec) walkPage(ctx context.Context, off, limit int) ([]entryRow, error) {
	next, err := pl.groups(ctx)
	if err != nil {
		return nil, err
	}
	var out []entryRow
	skip := off
	for size := 4; len(out) < limit; size = min(size*4, 256) {
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
			counts := make([]int, len(gs))
			b := &pgx.Batch{}
			for i, g := range gs {
				where, args := pl.groupWhere(g)
				b.Queue(pl.s.sql("SELECT count(*) FROM {s}.entries e"+where), args...).QueryRow(func(r pgx.Row) error { return r.Scan(&counts[i]) })
			}
			if err := pl.tx.SendBatch(ctx, b).Close(); err != nil {
				return nil, err
			}
			i := 0
			for i < len(gs) && counts[i] <= skip {
				skip -= counts[i]
				i++
			}
			gs = gs[i:]
			if len(gs) == 0 {
				continue
			}
		}
		results := make([][]entryRow, len(gs))
		b := &pgx.Batch{}
		for i, g := range gs {
			where, args := pl.groupWhere(g)
			n := len(args)
			args = append(args, limit-len(out), skip)
			skip = 0
			b.Queue(pl.s.sql("SELECT "+rowCols+" FROM {s}.entries e"+where+" ORDER BY e.ts DESC, e.id DESC LIMIT $"+strconv.Itoa(n+1)+" OFFSET $"+strconv.Itoa(n+2)), args...).
				Query(func(rows pgx.Rows) error {
					var err error
					results[i], err = pgx.CollectRows(rows, scanRow)
					return err
				})
		}
		if err := pl.tx.SendBatch(ctx, b).Close(); err != nil {
			return nil, err
		}
		for _, rs := range results {
			out = append(out, rs[:min(len(rs), limit-len(out))]...)
		}
	}
	return out, nil
}

// groupWhere returns the WHERE clause of a group's rows with the query's
// range, bound and filters, and its arguments. A value ID or key slot
// implies its account, which is left out so that the column's own index
// serves; a status group names it.
func (pl *exec) groupWhere(g group) (string, []any) {
	conds := []string{g.cond}
	args := append([]any(nil), g.args...)
	acct := pl.acct
	pl.acct = 0
	scope, sargs := pl.conds("e.", true)
	pl.acct = acct
	for _, c := range scope {
		conds = append(conds, shiftArgs(c, len(args)))
	}
	args = append(args, sargs...)
	for _, w := range pl.where {
		conds = append(conds, shiftArgs(w, len(args)))
	}
	args = append(args, pl.args...)
	return " WHERE " + strings.Join(conds, " AND "), args
}

// groups returns an iterator over the groups of the sort column in order.
func (pl *exec) groups(ctx context.Context) (func() (group, bool, error), error) {
	sc, err := sortColumnOf(pl.Query.Sort.Column)
	if err != nil {
		return nil, err
	}
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
				return group{}, false, nil
			}
			var st *int64
			if err := pl.tx.QueryRow(ctx, pl.s.sql(query), pl.acct, prev).Scan(&st); err != nil {
				return group{}, false, err
			}
			if st == nil {
				done = true
				return group{}, false, nil
			}
			prev = *st
			return group{"e.account = $1 AND e.status = $2", []any{pl.acct, int16(prev)}}, true, nil
		}, nil
	}
	groups := pl.orderedGroups()
	return func() (group, bool, error) {
		if len(groups) == 0 {
			return group{}, false, nil
		}
		g := groups[0]
		groups = groups[1:]
		if len(g) == 1 {
			return group{"e." + sc + " = $1", []any{int32(g[0])}}, true, nil
		}
		return group{"e." + sc + " = ANY($1::int4[])", []any{ids32(g)}}, true, nil
	}, nil
}
