package sqlitestore

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"strings"

	"github.com/apilog/apilog"
	"github.com/apilog/apilog/plan"
)

var _ apilog.VolumeCounter = (*Store)(nil)

// volumeLevels are the bucket sizes of the volume table, in nanoseconds,
// smallest first, each a multiple of the one before (0004_volume.sql
// names them in seconds, as the level column holds them).
var volumeLevels = [...]int64{10e9, 60e9, 3600e9, 86400e9}

// volumeKey is one row of the volume table.
type volumeKey struct{ account, level, bucket, class int64 }

// volumeDeltas are changes to the volume table.
type volumeDeltas map[volumeKey]int64

var volumeTable = newCountTable("volume", "account", "level", "bucket", "class")

// add adds d rows of account at ts with status, at every level, to the
// account's counts and allAccounts'.
func (v volumeDeltas) add(account, ts int64, status int, d int64) {
	class := int64(apilog.ClassOf(status))
	for _, size := range volumeLevels {
		k := volumeKey{account, size / 1e9, ts / size, class}
		v[k] += d
		k.account = allAccounts
		v[k] += d
	}
}

func (v volumeDeltas) apply(ctx context.Context, tx *sql.Tx) error {
	for k, d := range v {
		if err := volumeTable.add(ctx, tx, d, k.account, k.level, k.bucket, k.class); err != nil {
			return err
		}
	}
	return nil
}

// CountVolume implements apilog.VolumeCounter. A view with no filter but
// status classes and a time range, in buckets of whole multiples of 10
// seconds, is counted from the volume table: a few thousand of its rows,
// and the rows themselves only for the parts of its range that are not
// whole buckets of 10 s, and those past its row-ID bound. Other views are
// counted on the rows, under the same limits as their pages: by SQL on
// the filters' indexes, or in the scan that tests a broad search in Go.
func (s *Store) CountVolume(ctx context.Context, q apilog.Query, b apilog.Buckets) ([]apilog.ClassCounts, error) {
	if err := b.Validate(); err != nil {
		return nil, fmt.Errorf("sqlitestore: count volume: %w", err)
	}
	var out []apilog.ClassCounts
	err := s.read(ctx, q, 0, func(r *reader, q *apilog.Query) error {
		var err error
		out, err = s.volume(r, q, b)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("sqlitestore: count volume: %w", err)
	}
	return out, nil
}

// volume counts q's rows into b, in r.
func (s *Store) volume(r *reader, q *apilog.Query, b apilog.Buckets) ([]apilog.ClassCounts, error) {
	ctx, tx := r.ctx, r.tx
	out := make([]apilog.ClassCounts, b.N)
	// Rows outside the buckets are not counted: the range narrows to them.
	if q.From.IsZero() || q.From.Before(b.Start) {
		q.From = b.Start
	}
	if end := b.End(); q.To.IsZero() || q.To.After(end) {
		q.To = end
	}
	if b.N == 0 || !q.To.After(q.From) {
		return out, nil
	}
	if err := s.cache.refresh(ctx, tx); err != nil {
		return nil, err
	}
	var last int64
	if err := tx.QueryRowContext(ctx, "SELECT coalesce(max(id), 0) FROM entries").Scan(&last); err != nil {
		return nil, err
	}
	explain := func(st Strategy) {
		if s.opts.Explain != nil {
			s.opts.Explain(*q, st)
		}
	}
	bare := *q
	bare.StatusClasses = nil
	if !bare.Filtered() {
		ok, err := s.volumeFromCounts(ctx, tx, q, b, last, out)
		if ok && err == nil {
			explain(StrategyVolumeCounts)
		}
		if ok || err != nil {
			return out, err
		}
	}
	pl, err := s.compile(ctx, tx, q, last)
	if err != nil {
		return out, err
	}
	if pl.None {
		explain(StrategyNone)
		return out, nil
	}
	add := func(ts, status, n int64) {
		if i, ok := b.Index(ts); ok {
			out[i][apilog.ClassOf(int(status))] += int(n)
		}
	}
	if pl.masked {
		explain(StrategyMask)
		pl.most, pl.visit = 0, func(ts, status int64) { add(ts, status, 1) }
		_, _, err := pl.maskPage(r, last)
		return out, err
	}
	if span, ok := pl.durationSpan(); ok && !pl.indexed() && pl.acct != 0 {
		explain(StrategyVolumeBars)
		return out, pl.volumeBars(ctx, tx, b, span, out)
	}
	explain(StrategyVolumeGroups)
	if b.Start.UnixNano() < 0 {
		// Buckets from before 1970 (no row is) could overflow the
		// arithmetic: their rows are counted one by one.
		where, args := pl.whereSQL(false)
		return out, scanGroups(ctx, tx, "SELECT e.ts, e.status, 1 FROM entries e"+where, args, add)
	}
	return out, pl.volumeGroups(ctx, tx, b, out, add)
}

// volumeGroups counts the matches into out, b's buckets, off the indexes
// alone where the filters allow: the value indexes hold the status and the
// time to the second (ts >> 30), not to the nanosecond. A second wholly
// inside one bucket and the range is counted there by SQL; the few that
// straddle a bucket's edge or the range's (one per bucket at most, and the
// two ends: under 1/28 of the rows, as a bucket is a minute or more) are
// named instead, and their matching rows read from the table, off the time
// index. SQLite groups by sorting, the larger part of the cost: the groups
// are buckets alone, a single number, with the classes counted by FILTER.
func (pl *exec) volumeGroups(ctx context.Context, tx *sql.Tx, b apilog.Buckets, out []apilog.ClassCounts, add func(ts, status, n int64)) error {
	query, args, err := pl.volumeGroupsSQL(ctx, b)
	if err != nil {
		return err
	}
	rows, err := tx.QueryContext(ctx, query, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	var straddle []int64
	var row [1 + len(apilog.ClassCounts{})]int64 // the bucket, the matches, classes 1 on
	dest := make([]any, len(row))
	for i := range row {
		dest[i] = &row[i]
	}
	for rows.Next() {
		if err := rows.Scan(dest...); err != nil {
			return err
		}
		if k := row[0]; k < 0 {
			straddle = append(straddle, -1-k)
		} else if i, ok := b.Index(k); ok {
			addCounts(&out[i], row[1:])
		} else {
			return fmt.Errorf("a bucket at %d, outside the chart", k)
		}
	}
	if err := rows.Err(); err != nil || len(straddle) == 0 {
		return err
	}
	// CROSS JOIN keeps the seconds as the outer loop: each is a short range
	// of the time index, whatever the filters' indexes.
	conds, condArgs := pl.conds(pl.acct)
	// The second's bounds first: SQLite seeks on them. Its last instant is
	// written so, as (u + 1) << 30 overflows for the last second there is.
	conds = append([]string{"e.ts >= j.value << 30", "e.ts <= (j.value << 30) | 1073741823"}, conds...)
	query = "SELECT e.ts, e.status, 1 FROM json_each(?) j CROSS JOIN entries e INDEXED BY " + pl.timeIndex() +
		" WHERE " + strings.Join(conds, " AND ")
	return scanGroups(ctx, tx, query, append([]any{jsonIDs(straddle)}, condArgs...), add)
}

// durationSpan returns the durations that every positive duration: term
// matches, and whether there is one: with no filter that an index of its
// own serves (see indexed), the matches are found on the duration index.
func (pl *exec) durationSpan() (plan.Span, bool) {
	span, ok := plan.Span{Lo: 0, Hi: math.MaxInt64}, false
	for _, t := range pl.Terms {
		if !t.Negate && t.Duration != nil {
			span.Lo, span.Hi, ok = max(span.Lo, t.Duration.Lo), min(span.Hi, t.Duration.Hi), true
		}
	}
	return span, ok
}

// volumeBars counts the matches of a query with a duration range (span)
// into out bar by bar. Grouped in one query, the matches were sorted, the
// larger part of the cost when most rows match (0.33 s of 667,000); bar by
// bar, each bar is a range of the duration index for each group of
// durations in span, and the counts need no sort. The index holds the
// time and the status: the table is read only for the query's other
// filters. One account's index: every account's would be ranges for each.
func (pl *exec) volumeBars(ctx context.Context, tx *sql.Tx, b apilog.Buckets, span plan.Span, out []apilog.ClassCounts) error {
	// The groups the account's rows are in bound those read: a range up to
	// the largest duration would be ranges of 172 groups a bar, most empty.
	// One query each, for SQLite to read each off an end of the index.
	var lo, hi sql.NullInt64
	const groups = durationGroup + ") FROM entries INDEXED BY " + idxDuration + " WHERE account = ?"
	if err := tx.QueryRowContext(ctx, "SELECT min("+groups, pl.acct).Scan(&lo); err != nil {
		return err
	}
	if err := tx.QueryRowContext(ctx, "SELECT max("+groups, pl.acct).Scan(&hi); err != nil {
		return err
	}
	var in []int64
	for _, g := range durationGroups(span.Lo, span.Hi) {
		if lo.Valid && g >= lo.Int64 && g <= hi.Int64 {
			in = append(in, g)
		}
	}
	if len(in) == 0 {
		return nil
	}
	query, args := pl.volumeBarsSQL(b, in)
	rows, err := tx.QueryContext(ctx, query, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var i int
		var text string
		if err := rows.Scan(&i, &text); err != nil {
			return err
		}
		var n [len(apilog.ClassCounts{})]int64
		if err := json.Unmarshal([]byte(text), &n); err != nil {
			return err
		}
		addCounts(&out[i], n[:])
	}
	return rows.Err()
}

// volumeBarsSQL is the query of volumeBars over the given duration groups:
// rows of a bar's index and its counts as a JSON array.
func (pl *exec) volumeBarsSQL(b apilog.Buckets, groups []int64) (string, []any) {
	// Each bar as [lo, hi), within the range, which is tested so alone:
	// tested again, SQLite may seek on it instead, and read the range for
	// every bar.
	var bars strings.Builder
	bars.WriteByte('[')
	for i := range b.N {
		lo, hi := max(b.At(i).UnixNano(), pl.From), min(b.At(i+1).UnixNano(), pl.To)
		if lo >= hi {
			continue // outside the range
		}
		if bars.Len() > 1 {
			bars.WriteByte(',')
		}
		fmt.Fprintf(&bars, "[%d,%d,%d]", i, lo, hi)
	}
	bars.WriteByte(']')
	args := slices.Clone(classCountArgs)
	conds, condArgs := pl.condsWith(pl.acct, []string{durationGroup + " IN (SELECT value FROM json_each(?))", "e.ts >= j.value ->> 1", "e.ts < j.value ->> 2"},
		[]any{jsonIDs(groups)})
	// One value a bar, so that the counts are one scan of its ranges: the
	// counts as a JSON array.
	query := "SELECT j.value ->> 0, (SELECT json_array(" + classCounts + ") FROM entries e INDEXED BY " + idxDuration +
		" WHERE " + strings.Join(conds, " AND ") + ") FROM json_each(?) j"
	return query, append(append(args, condArgs...), bars.String())
}

// volumeGroupsSQL is the query of volumeGroups's counts by bucket: rows of
// the start of a bucket, or -1 - u for a second u to read row by row, then
// the number of matches and of each status class but StatusOther.
func (pl *exec) volumeGroupsSQL(ctx context.Context, b apilog.Buckets) (string, []any, error) {
	const sec = 1 << 30        // a second as the indexes hold it, ts >> 30
	from, to := pl.From, pl.To // set: volume closes the range at b's ends
	// The seconds wholly inside the range: [inLo, inHi].
	inLo, inHi := (from+sec-1)/sec, to/sec-1
	first, firstArgs := bucketSQL("(u << 30)", b)
	last, lastArgs := bucketSQL("((u << 30) | 1073741823)", b) // the second's last instant
	query := "SELECT CASE WHEN u BETWEEN ? AND ? AND " + first + " = " + last + " THEN " + first + " ELSE -1 - u END AS k, " + classCounts
	args := append([]any{inLo, inHi}, firstArgs...)
	args = append(append(append(args, lastArgs...), firstArgs...), classCountArgs...)
	wide := pl.indexed()
	if !wide {
		// Without such an index, a range that holds most of the scope's
		// rows is read off whatever index holds the status (the duration's,
		// the status's): one that holds little, off the time index.
		in, err := pl.inRange(ctx)
		if err != nil {
			return "", nil, err
		}
		all, err := pl.counts.Between(ctx, 0, math.MaxInt64, true)
		if err != nil {
			return "", nil, err
		}
		wide = 2*in >= all
	}
	var conds []string
	var condArgs []any
	if wide {
		// Tested to the second: a test of ts would make SQLite read the
		// table for every match, or walk the time index.
		acct := pl.acct
		if pl.implied {
			acct = 0
		}
		conds, condArgs = pl.condsWith(acct, []string{"e.ts >> 30 BETWEEN ? AND ?"}, []any{from / sec, (to - 1) / sec})
	} else {
		conds, condArgs = pl.conds(pl.acct)
	}
	// The seconds come from a subquery that SQLite does not merge into the
	// grouping: merged, its reference to ts (in ts >> 30) would make it read
	// the table for every match.
	query += " FROM (SELECT e.ts >> 30 AS u, e.status AS status FROM entries e WHERE " + strings.Join(conds, " AND ") + " LIMIT -1) AS e GROUP BY k"
	return query, append(args, condArgs...), nil
}

// indexed reports whether a filter must hold that one index serves with
// the time to the second and the status: a key, a method, or a search term
// that matches one column alone (several make SQLite read the table for
// each match, and do not narrow the time), and not a duration (its index
// holds the exact time, but not first).
func (pl *exec) indexed() bool {
	if pl.Methods != nil || pl.Slots != nil {
		return true
	}
	for _, t := range pl.Terms {
		if t.Negate || t.Duration != nil {
			continue
		}
		cols := 0
		if len(t.Slots) > 0 {
			cols++
		}
		for _, ids := range t.Values {
			if len(ids) > 0 {
				cols++
			}
		}
		if len(t.Status) > 0 {
			cols++
		}
		if len(t.Rows) > 0 {
			cols++ // the few rows of a request ID, read by row ID
		}
		if cols == 1 {
			return true
		}
	}
	return false
}

// classCounts is the SQL of what a chart counts of rows with a status
// (e.status): the rows, then those of each class but StatusOther (the
// rest); classCountArgs are its arguments. addCounts adds such counts to a
// bar's. Made once: the classes are apilog's, fixed.
var classCounts, classCountArgs = classCountsSQL()

func classCountsSQL() (string, []any) {
	cols := []string{"count(*)"}
	var args []any
	for c := 1; c < len(apilog.ClassCounts{}); c++ {
		cond, condArgs := statusSQL(plan.Ranges(func(code int) bool { return apilog.ClassOf(code) == apilog.StatusClass(c) }))
		cols = append(cols, "count(*) FILTER (WHERE "+cond+")")
		args = append(args, condArgs...)
	}
	return strings.Join(cols, ", "), args
}

// addCounts adds n, counts as classCounts gives them, to cc.
func addCounts(cc *apilog.ClassCounts, n []int64) {
	other := n[0]
	for c := 1; c < len(cc); c++ {
		cc[c] += int(n[c])
		other -= n[c]
	}
	cc[apilog.StatusOther] += int(other)
}

// bucketSQL is the SQL of the start of the bucket of b that holds the time
// col, with its arguments, for a col at or after b's start (which must be
// 1970 or later, for the arithmetic not to overflow): grouped by it, rows
// are counted a bucket at a time.
func bucketSQL(col string, b apilog.Buckets) (string, []any) {
	start, step := b.Start.UnixNano(), int64(b.Step)
	return "? + (" + col + " - ?) / ? * ?", []any{start, start, step, step}
}

// scanGroups runs a query of (time, status, count) rows and calls each.
func scanGroups(ctx context.Context, tx *sql.Tx, query string, args []any, each func(ts, status, n int64)) error {
	rows, err := tx.QueryContext(ctx, query, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var ts, status, n int64
		if err := rows.Scan(&ts, &status, &n); err != nil {
			return err
		}
		each(ts, status, n)
	}
	return rows.Err()
}

// volumeFromCounts counts an unfiltered view (q may name status classes)
// from the volume table into out, and reports whether it could: b's steps
// must be whole buckets of a level. The rows past the view's row-ID bound
// are taken off.
func (s *Store) volumeFromCounts(ctx context.Context, tx *sql.Tx, q *apilog.Query, b apilog.Buckets, last int64, out []apilog.ClassCounts) (bool, error) {
	start, step := b.Start.UnixNano(), int64(b.Step)
	top := -1 // the largest level b's buckets are made of
	for i, size := range volumeLevels {
		if step%size == 0 && start%size == 0 {
			top = i
		}
	}
	if top < 0 || start < 0 {
		return false, nil
	}
	var acct int64 // allAccounts
	if !q.AllAccounts {
		s.cache.mu.RLock()
		id, ok := s.cache.accounts[q.Account]
		s.cache.mu.RUnlock()
		if !ok {
			return true, nil // no rows: no account ID yet
		}
		acct = id
	}
	var want [len(apilog.ClassCounts{})]bool
	for c := range want {
		want[c] = len(q.StatusClasses) == 0
	}
	for _, c := range q.StatusClasses {
		want[c] = true
	}
	add := func(ts, class, n int64) {
		if i, ok := b.Index(ts); ok && want[class] {
			out[i][class] += int(n)
		}
	}
	// byStatus adds rows read with their status, times sign.
	byStatus := func(sign int64) func(ts, status, n int64) {
		return func(ts, status, n int64) { add(ts, int64(apilog.ClassOf(int(status))), sign*n) }
	}
	scopeSQL, scopeArgs := " WHERE account = ?", []any{acct}
	index := idxTime
	if acct == allAccounts {
		scopeSQL, scopeArgs, index = " WHERE 1", nil, idxTimeAll
	}
	if q.MaxID > 0 && q.MaxID < last {
		// The rows past the pin are taken off, found on the row ID's own
		// range: the cost is the rows given since, not the chart's.
		bucket, args := bucketSQL("ts", b)
		query := "SELECT " + bucket + ", status, count(*) FROM entries NOT INDEXED WHERE id > ? AND ts >= ? AND ts < ?"
		args = append(args, q.MaxID, q.From.UnixNano(), q.To.UnixNano())
		if acct != allAccounts {
			query, args = query+" AND account = ?", append(args, acct)
		}
		err := scanGroups(ctx, tx, query+" GROUP BY 1, 2", args, byStatus(-1))
		if err != nil {
			return false, err
		}
	}
	for _, p := range cover(q.From.UnixNano(), q.To.UnixNano(), volumeLevels[:top+1]) {
		if p.size == 0 {
			// Less than the smallest bucket: the rows themselves.
			err := scanGroups(ctx, tx, "SELECT ts, status, 1 FROM entries INDEXED BY "+index+scopeSQL+" AND ts >= ? AND ts < ?",
				append(scopeArgs, p.lo, p.hi), byStatus(1))
			if err != nil {
				return false, err
			}
			continue
		}
		err := scanGroups(ctx, tx, "SELECT bucket * ?, class, n FROM volume WHERE account = ? AND level = ? AND bucket >= ? AND bucket < ?",
			[]any{p.size, acct, p.size / 1e9, p.lo / p.size, p.hi / p.size}, add)
		if err != nil {
			return false, err
		}
	}
	return true, nil
}

// piece is a part of a time range [lo, hi): whole buckets of size, or
// (size 0) less than the smallest.
type piece struct{ size, lo, hi int64 }

// cover splits [lo, hi) into pieces of buckets of the given sizes (each a
// multiple of the one before), as few as it can: the largest buckets in
// the middle, smaller ones towards the ends, and the rows of the ends
// that fill no bucket of the smallest size. Pieces of the same size that
// touch are one.
func cover(lo, hi int64, sizes []int64) []piece {
	var out []piece
	push := func(size, a, b int64) {
		if n := len(out); n > 0 && out[n-1].size == size && out[n-1].hi == a {
			out[n-1].hi = b
			return
		}
		out = append(out, piece{size, a, b})
	}
	for t := lo; t < hi; {
		size := int64(0)
		for _, s := range sizes {
			if t%s == 0 && hi-t >= s {
				size = s
			}
		}
		switch {
		case size == 0:
			next := t - t%sizes[0] + sizes[0]
			if next < t || next > hi { // past hi, or past the last time there is
				next = hi
			}
			push(0, t, next)
			t = next
		case size == sizes[len(sizes)-1]:
			n := (hi - t) / size
			push(size, t, t+n*size)
			t += n * size
		default:
			push(size, t, t+size)
			t += size
		}
	}
	return out
}
