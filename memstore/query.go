package memstore

import (
	"cmp"
	"context"
	"fmt"
	"hash/maphash"
	"iter"
	"math"
	"slices"
	"time"

	"github.com/apilog/apilog"
	"github.com/apilog/apilog/internal/window"
	"github.com/apilog/apilog/plan"
)

// Query implements apilog.Store.
func (s *Store) Query(ctx context.Context, q apilog.Query) (apilog.Page, error) {
	s.catchUp()
	s.mu.RLock()
	defer s.mu.RUnlock()
	x, err := s.prepare(ctx, &q)
	if err != nil {
		return apilog.Page{}, fmt.Errorf("memstore: query: %w", err)
	}
	rows, total, err := s.query(ctx, x)
	if err != nil {
		return apilog.Page{}, fmt.Errorf("memstore: query: %w", err)
	}
	page := apilog.Page{
		Number:     q.Page,
		Size:       q.PageSize,
		TotalRows:  total,
		TotalPages: apilog.PageCount(total, q.PageSize),
		MaxID:      q.MaxID,
	}
	if q.MaxID == 0 {
		page.MaxID = s.lastID(&q)
	}
	for _, i := range rows {
		page.Rows = append(page.Rows, s.row(i, q.Now))
	}
	return page, nil
}

// Strategy names how a query was answered, for Options.Explain.
type Strategy string

// The strategies, chosen by exec.strategy.
const (
	// StrategyNone: nothing can match (an empty time range).
	StrategyNone Strategy = "none"
	// StrategyTimeWalk: the slots alone filter rows, so the total is their
	// row counts, and a time-ordered page is read from the chunks nearest
	// its end of the time order, newest (or oldest) first.
	StrategyTimeWalk Strategy = "time-walk"
	// StrategyHeap: the page is cut from the matches with a bounded heap of
	// the rows up to its end.
	StrategyHeap Strategy = "heap"
	// StrategyHeapFromEnd: as StrategyHeap, from the far end of the order,
	// for pages near the last.
	StrategyHeapFromEnd Strategy = "heap-from-end"
	// StrategySelect: a page deep in a large result is cut by quickselect,
	// which does not grow with the page number.
	StrategySelect Strategy = "select"
)

// heapMax is the largest number of rows a bounded heap keeps; deeper pages
// are cut by quickselect.
const heapMax = 8192

// strategy chooses how to answer x, given its total: the one place that
// decides. The total is known before the rows are tested only when the
// slots alone decide it (counted); then a time-ordered page is walked.
// Otherwise every row is tested (scanned) and the page cut from the
// matches.
func (x *exec) strategy(total int, counted bool) Strategy {
	off, end := x.Offset, x.Offset+x.Limit
	switch {
	case x.None:
		return StrategyNone
	case counted && x.Query.Sort.Column == apilog.ColumnTime && min(end, total-off) <= heapMax:
		return StrategyTimeWalk
	case end <= heapMax:
		return StrategyHeap
	case total-off <= heapMax:
		return StrategyHeapFromEnd
	}
	return StrategySelect
}

// query returns the indexes of the rows on x's page, in order, and the
// number of rows that match.
func (s *Store) query(ctx context.Context, x *exec) ([]uint32, int, error) {
	cmp, err := s.order(x, s.chunks)
	if err != nil {
		return nil, 0, err
	}
	total, counted := s.count(x)
	var matches []uint32
	if x.strategy(total, counted) != StrategyTimeWalk && !x.None {
		if matches, err = s.filter(ctx, x); err != nil {
			return nil, 0, err
		}
		total, counted = len(matches), false
	}
	strategy := x.strategy(total, counted)
	s.explain(x, strategy)
	off := x.Offset
	if strategy == StrategyNone || off >= total {
		return nil, total, nil
	}
	end := min(off+x.Limit, total)
	newest := x.Query.Sort.Dir == apilog.Desc // the order is newest first, for the time column
	timeSort := x.Query.Sort.Column == apilog.ColumnTime
	switch strategy {
	case StrategyTimeWalk:
		if end <= total-off {
			rows, err := s.walkTime(ctx, x, end, cmp, newest)
			return rows[off:], total, err
		}
		rows, err := s.walkTime(ctx, x, total-off, reverse(cmp), !newest)
		slices.Reverse(rows)
		return rows[:end-off], total, err
	case StrategyHeap:
		return firstK(matches, end, cmp, timeSort && newest)[off:], total, nil
	case StrategyHeapFromEnd:
		rows := firstK(matches, total-off, reverse(cmp), timeSort && !newest)
		slices.Reverse(rows)
		return rows[:end-off], total, nil
	}
	window.Select(matches, off, end, cmp)
	return matches[off:end], total, nil
}

// lastID returns the ID of the last row in q's scope: not the store's, which
// would show one tenant how busy the others are.
func (s *Store) lastID(q *apilog.Query) int64 {
	if q.AllAccounts {
		return int64(s.n)
	}
	if a, ok := s.accounts.ids[q.Account]; ok && int(a) < len(s.lastRow) {
		return int64(s.lastRow[a])
	}
	return 0
}

func (s *Store) explain(x *exec, st Strategy) {
	if s.explainFn != nil {
		s.explainFn(x.Query, st)
	}
}

func reverse(cmp func(a, b uint32) int) func(a, b uint32) int {
	return func(a, b uint32) int { return cmp(b, a) }
}

// exec is a compiled query with the tables a scan needs: one entry per
// distinct value, so that the scan checks a row with lookups instead of
// string work.
type exec struct {
	*plan.Plan
	end       int    // rows [0, end) are in view: the row-ID bound
	last      int64  // the time range's last instant, inclusive
	slotOK    []bool // account scope and key filter, by slot
	methodOK  []bool // nil: any method
	statusOK  *[apilog.MaxStatus + 1]bool
	terms     bool
	rowFilter bool // a filter that needs each row: time, status, method or search
	bits      *plan.Bits
	durations bool             // a term tests durations
	rowBits   map[int64]uint32 // by row ID, the terms it matches by request ID; nil: none
	// reqScans are the terms whose request ID too many rows share to list
	// (plan.Term.ScanRequestID): each row's ID is compared with theirs.
	reqScans []plan.RequestIDScan
	// only, when not nil, lists the indexes of the only rows that can
	// match, ascending: a term matches no value, slot, status or
	// duration, only the rows of its request ID (req:, or a pasted ID).
	only     []uint32
	slotBits []uint32
	methBits []uint32
	endBits  []uint32
	errBits  []uint32
	ipBits   []uint32
}

// dictView is the store's dictionary as the compiler sees it: the slots of
// the accounts in scope, and every interned value (values are shared
// across accounts; rows of other accounts fail on their slot).
type dictView struct {
	s             *Store
	account       uint32
	scoped, every bool
}

func (d dictView) inScope(i int, sl *slot) bool {
	return i > 0 && (d.every || d.scoped && sl.account == d.account)
}

func (d dictView) Values(f apilog.Field) iter.Seq2[int64, string] {
	return func(yield func(int64, string) bool) {
		for i, v := range d.s.dictOf(f).vals {
			if !yield(int64(i), v) {
				return
			}
		}
	}
}

func (d dictView) Slots() iter.Seq[plan.Slot] {
	return func(yield func(plan.Slot) bool) {
		for i := range d.s.slots {
			sl := &d.s.slots[i]
			if !d.inScope(i, sl) {
				continue
			}
			ps := plan.Slot{ID: int64(i), KeyID: sl.keyID}
			if sl.key != nil {
				ps.Name, ps.Prefix = sl.key.Name, sl.key.Prefix
			}
			if !yield(ps) {
				return
			}
		}
	}
}

// textFields are the interned text fields: their dictionary and their
// chunk column, for matching a search (plan.TextFields) and for sorting.
var textFields = map[apilog.Field]struct {
	dict func(s *Store) *dict
	col  func(c *chunk) *[chunkSize]uint32
}{
	apilog.FieldMethod:   {func(s *Store) *dict { return &s.methods }, func(c *chunk) *[chunkSize]uint32 { return &c.method }},
	apilog.FieldEndpoint: {func(s *Store) *dict { return &s.endpoints }, func(c *chunk) *[chunkSize]uint32 { return &c.endpoint }},
	apilog.FieldError:    {func(s *Store) *dict { return &s.errCodes }, func(c *chunk) *[chunkSize]uint32 { return &c.errCode }},
	apilog.FieldIP:       {func(s *Store) *dict { return &s.ipHashes }, func(c *chunk) *[chunkSize]uint32 { return &c.ipHash }},
}

// dictOf returns the dictionary of a text field; an empty one for a field
// this store does not keep.
func (s *Store) dictOf(f apilog.Field) *dict {
	if tf, ok := textFields[f]; ok {
		return tf.dict(s)
	}
	return &dict{}
}

// prepare normalizes q, sets its Now, and compiles it. The caller holds
// the read lock.
func (s *Store) prepare(ctx context.Context, q *apilog.Query) (*exec, error) {
	if s.closed {
		return nil, apilog.ErrClosed
	}
	var err error
	if *q, err = q.Normalize(); err != nil {
		return nil, err
	}
	if q.Now.IsZero() {
		q.Now = s.clock()
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	return s.compile(q), nil
}

// compile compiles q and turns the plan into lookup tables.
func (s *Store) compile(q *apilog.Query) *exec {
	account, scoped := s.accounts.ids[q.Account]
	d := dictView{s: s, account: account, scoped: scoped, every: q.AllAccounts}
	x := &exec{Plan: plan.Compile(*q, d), end: s.n, last: math.MaxInt64}
	if m := q.MaxID; m > 0 && m < int64(s.n) {
		x.end = int(m) // row i has ID i+1
	}
	if !x.ToOpen {
		x.last = x.To - 1
	}
	x.slotOK = make([]bool, len(s.slots))
	if x.Slots != nil {
		for _, sl := range x.Slots {
			x.slotOK[sl] = true
		}
	} else {
		for i := range s.slots {
			x.slotOK[i] = d.inScope(i, &s.slots[i])
		}
	}
	if x.Methods != nil {
		x.methodOK = make([]bool, len(s.methods.vals))
		for _, id := range x.Methods {
			x.methodOK[id] = true
		}
	}
	if x.Statuses != nil {
		x.statusOK = plan.StatusTable(x.Statuses)
	}
	x.terms = len(x.Terms) > 0
	x.rowFilter = x.Filtered()
	if !x.terms {
		return x
	}
	_ = x.ResolveRequestIDs(func(id string) ([]int64, error) { return s.findRequestID(id, x, d), nil }) // cannot fail
	x.rowBits = x.RowBits()
	x.reqScans = x.RequestIDScans()
	x.only = onlyRows(x.Plan)
	x.bits = x.Bits()
	x.durations = x.bits.Durations()
	x.methBits = x.ValueBits(apilog.FieldMethod, int64(len(s.methods.vals)))
	x.endBits = x.ValueBits(apilog.FieldEndpoint, int64(len(s.endpoints.vals)))
	x.errBits = x.ValueBits(apilog.FieldError, int64(len(s.errCodes.vals)))
	x.ipBits = x.ValueBits(apilog.FieldIP, int64(len(s.ipHashes.vals)))
	x.slotBits = x.SlotBits(int64(len(s.slots)))
	return x
}

// findRequestID returns the IDs of the rows in x's scope and time range
// whose request ID is id, off each chunk's table: at most
// plan.RequestIDLimit of them, so that an ID every row shares costs no
// more than the cap (the plan then scans for it). Rows past MaxID are
// found too; scan leaves them out.
func (s *Store) findRequestID(id string, x *exec, d dictView) []int64 {
	var out []int64
	limit := plan.RequestIDLimit()
	h := maphash.String(s.seed, id)
	for ci, c := range s.chunks {
		n := min(chunkSize, s.n-ci<<chunkBits)
		if len(out) >= limit {
			break
		}
		if c.maxTime < x.From || c.minTime > x.last {
			continue
		}
		c.findRequestID(id, h, n, func(j int) bool {
			if t := c.time[j]; t < x.From || t > x.last {
				return true
			}
			if sl := c.slot[j]; d.inScope(int(sl), &s.slots[sl]) {
				out = append(out, int64(ci<<chunkBits+j)+1) // row i has ID i+1
			}
			return len(out) < limit
		})
	}
	return out
}

// onlyRows returns the indexes of the only rows that can match p's
// search, ascending, when one of its terms, not negated, can match only
// by request ID: the fewest such rows; else nil.
func onlyRows(p *plan.Plan) []uint32 {
	var only []int64
	found := false
	for i := range p.Terms {
		t := &p.Terms[i]
		byIDOnly := !t.Negate && t.RequestID != "" && !t.ScanRequestID && len(t.Slots) == 0 && len(t.Status) == 0 && t.Duration == nil
		for _, ids := range t.Values {
			byIDOnly = byIDOnly && len(ids) == 0
		}
		if byIDOnly && (!found || len(t.Rows) < len(only)) {
			only, found = t.Rows, true
		}
	}
	if !found {
		return nil
	}
	out := make([]uint32, len(only))
	for i, id := range only {
		out[i] = uint32(id - 1)
	}
	return out
}

// count returns the number of rows that match, when the slots alone decide:
// their row counts, less the rows past the row-ID bound.
func (s *Store) count(x *exec) (int, bool) {
	if x.rowFilter || x.None {
		return 0, false
	}
	n := 0
	for i, ok := range x.slotOK {
		if ok {
			n += s.slots[i].rows
		}
	}
	for i := x.end; i < s.n; i++ {
		if x.slotOK[s.chunks[i>>chunkBits].slot[i&chunkMask]] {
			n--
		}
	}
	return n, true
}

// filter returns the indexes of the rows that match x, in insertion order.
func (s *Store) filter(ctx context.Context, x *exec) ([]uint32, error) {
	var out []uint32
	err := s.scan(ctx, x, func(c *chunk, base uint32, j int) { out = append(out, base+uint32(j)) })
	return out, err
}

// scan calls match with each row that matches x, in insertion order: its
// chunk, the index of the chunk's first row and its place in the chunk.
func (s *Store) scan(ctx context.Context, x *exec, match func(c *chunk, base uint32, j int)) error {
	if x.only != nil {
		for _, i := range x.only {
			if int(i) < x.end {
				ci := int(i >> chunkBits)
				s.scanChunk(x, ci, int(i&chunkMask), int(i&chunkMask)+1, match)
			}
		}
		return nil
	}
	for ci, c := range s.chunks {
		if err := ctx.Err(); err != nil {
			return err
		}
		if ci<<chunkBits >= x.end {
			break
		}
		if c.maxTime < x.From || c.minTime > x.last {
			continue
		}
		s.scanChunk(x, ci, 0, min(chunkSize, x.end-ci<<chunkBits), match)
	}
	return nil
}

// scanChunk is scan over rows [from, to) of chunk ci.
func (s *Store) scanChunk(x *exec, ci, from, to int, match func(c *chunk, base uint32, j int)) {
	c := s.chunks[ci]
	base := uint32(ci << chunkBits)
	// Bounds the compiler can see, so that it checks no index in the loop.
	from, to = max(from, 0), min(to, chunkSize)
	for j := from; j < to; j++ {
		sl := c.slot[j]
		if !x.slotOK[sl] {
			continue
		}
		if t := c.time[j]; t < x.From || t > x.last {
			continue
		}
		st, m := c.status[j], c.method[j]
		if x.statusOK != nil && !x.statusOK[st] || x.methodOK != nil && !x.methodOK[m] {
			continue
		}
		if x.terms {
			bits := x.slotBits[sl] | x.methBits[m] | x.bits.Status[st] |
				x.endBits[c.endpoint[j]] | x.errBits[c.errCode[j]] | x.ipBits[c.ipHash[j]]
			if x.durations {
				bits |= x.bits.Duration(c.duration[j])
			}
			if x.rowBits != nil {
				bits |= x.rowBits[int64(base)+int64(j)+1]
			}
			if x.reqScans != nil {
				id := c.requestID(j)
				for _, r := range x.reqScans {
					if string(id) == r.ID {
						bits |= r.Bit
					}
				}
			}
			if !x.bits.Match(bits) {
				continue
			}
		}
		match(c, base, j)
	}
}

// numbers are the columns of KindNumber, as the chunks hold them.
var numbers = map[apilog.Column]func(c *chunk, j uint32) int64{
	apilog.ColumnStatus:   func(c *chunk, j uint32) int64 { return int64(c.status[j]) },
	apilog.ColumnDuration: func(c *chunk, j uint32) int64 { return c.duration[j] },
	apilog.ColumnTime:     func(c *chunk, j uint32) int64 { return c.time[j] },
}

// order returns the comparison of row indexes under x's sort, the same order
// as Sort.Compare on the joined rows, by the column's kind. It reads the
// rows from chunks and the texts from the dictionaries as they are now,
// never the store's fields: a stream sorts with it after the lock is
// gone, while Append grows both (rows and texts never change once stored).
func (s *Store) order(x *exec, chunks []*chunk) (func(a, b uint32) int, error) {
	srt := x.Query.Sort
	var primary func(ca *chunk, ia uint32, cb *chunk, ib uint32) int
	switch srt.Column.Kind() {
	case apilog.KindKey:
		rank := x.KeyRank() // every slot a row in scope refers to is ranked
		primary = func(ca *chunk, ia uint32, cb *chunk, ib uint32) int {
			return srt.Directed(cmp.Compare(rank[ca.slot[ia]], rank[cb.slot[ib]]))
		}
	case apilog.KindText:
		tf, ok := textFields[srt.Column.Field()]
		if !ok {
			return nil, fmt.Errorf("column %q has no values kept to sort by", srt.Column)
		}
		col, vals, text := tf.col, tf.dict(s).vals, srt.TextOrder()
		primary = func(ca *chunk, ia uint32, cb *chunk, ib uint32) int {
			va, vb := col(ca)[ia], col(cb)[ib]
			if va == vb {
				return 0
			}
			return text(vals[va], vals[vb])
		}
	case apilog.KindNumber:
		val, ok := numbers[srt.Column]
		if !ok {
			return nil, fmt.Errorf("column %q has no values kept to sort by", srt.Column)
		}
		primary = func(ca *chunk, ia uint32, cb *chunk, ib uint32) int {
			return srt.Directed(cmp.Compare(val(ca, ia), val(cb, ib)))
		}
	default:
		return nil, fmt.Errorf("column %q has no order", srt.Column)
	}
	return func(a, b uint32) int {
		ca, ia := chunks[a>>chunkBits], a&chunkMask
		cb, ib := chunks[b>>chunkBits], b&chunkMask
		if c := primary(ca, ia, cb, ib); c != 0 {
			return c
		}
		return apilog.TieBreak(ca.time[ia], int64(a), cb.time[ib], int64(b))
	}, nil
}

// walkTime returns, in order, the first k rows under cmp, a time order,
// when only the slots filter rows. It visits chunks newest first when
// newest, else oldest first, and stops once no chunk left can hold a row
// that beats the k-th: rows arrive in about time order, so a first page
// reads about one chunk.
func (s *Store) walkTime(ctx context.Context, x *exec, k int, cmp func(a, b uint32) int, newest bool) ([]uint32, error) {
	n := (x.end + chunkMask) >> chunkBits // the chunks that hold rows in view
	// reach[i] is the newest (or oldest) time in the chunks still to visit
	// once chunk i is next.
	reach := make([]int64, n)
	for i := range n {
		if newest {
			reach[i] = s.chunks[i].maxTime
			if i > 0 {
				reach[i] = max(reach[i], reach[i-1])
			}
		} else {
			j := n - 1 - i
			reach[j] = s.chunks[j].minTime
			if j < n-1 {
				reach[j] = min(reach[j], reach[j+1])
			}
		}
	}
	h := topK{k: k, cmp: cmp}
	for step := range n {
		ci := step
		if newest {
			ci = n - 1 - step
		}
		if len(h.h) == k {
			// Strict comparisons leave ties on time to the row order.
			worst := s.timeOf(h.h[0])
			if newest && reach[ci] < worst || !newest && reach[ci] > worst {
				break
			}
		}
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		c, rows := s.chunks[ci], min(chunkSize, x.end-ci<<chunkBits)
		base := uint32(ci << chunkBits)
		for r := range rows {
			j := r
			if newest {
				j = rows - 1 - r
			}
			if x.slotOK[c.slot[j]] {
				h.offer(base + uint32(j))
			}
		}
	}
	return h.sorted(), nil
}

func (s *Store) timeOf(i uint32) int64 { return s.chunks[i>>chunkBits].time[i&chunkMask] }

// firstK returns the k rows of xs that come first under cmp, in order. xs
// is in insertion order; backward offers it newest first, which for a
// newest-first order fills the heap with its final rows at once.
func firstK(xs []uint32, k int, cmp func(a, b uint32) int, backward bool) []uint32 {
	h := topK{k: k, cmp: cmp}
	if backward {
		for i := len(xs) - 1; i >= 0; i-- {
			h.offer(xs[i])
		}
	} else {
		for _, x := range xs {
			h.offer(x)
		}
	}
	return h.sorted()
}

// topK keeps the k rows that come first under cmp in a max-heap: h[0] is
// the last of the best k so far.
type topK struct {
	h   []uint32
	k   int
	cmp func(a, b uint32) int
}

func (t *topK) offer(x uint32) {
	h := t.h
	if len(h) < t.k {
		h = append(h, x)
		for i := len(h) - 1; i > 0; {
			p := (i - 1) / 2
			if t.cmp(h[p], h[i]) >= 0 {
				break
			}
			h[p], h[i] = h[i], h[p]
			i = p
		}
		t.h = h
		return
	}
	if t.cmp(x, h[0]) >= 0 {
		return
	}
	h[0] = x
	for i := 0; ; {
		l, r, big := 2*i+1, 2*i+2, i
		if l < len(h) && t.cmp(h[l], h[big]) > 0 {
			big = l
		}
		if r < len(h) && t.cmp(h[r], h[big]) > 0 {
			big = r
		}
		if big == i {
			break
		}
		h[i], h[big] = h[big], h[i]
		i = big
	}
}

func (t *topK) sorted() []uint32 {
	slices.SortFunc(t.h, t.cmp)
	return t.h
}

// row materializes row i joined with its key's state at now.
func (s *Store) row(i uint32, now time.Time) apilog.Row { return s.rowWith(i, now, nil) }

// rowWith is row with the keys of keys, by slot, when given: a stream's,
// as they were when it began.
func (s *Store) rowWith(i uint32, now time.Time, keys []*apilog.Key) apilog.Row {
	c, j := s.chunks[i>>chunkBits], i&chunkMask
	sl := s.slots[c.slot[j]]
	e := apilog.Entry{
		ID:        int64(i) + 1,
		Account:   s.accounts.vals[sl.account],
		KeyID:     sl.keyID,
		RequestID: string(c.requestID(int(j))),
		Method:    s.methods.vals[c.method[j]],
		Endpoint:  s.endpoints.vals[c.endpoint[j]],
		Status:    int(c.status[j]),
		ErrorCode: s.errCodes.vals[c.errCode[j]],
		IPHash:    s.ipHashes.vals[c.ipHash[j]],
		Time:      time.Unix(0, c.time[j]).UTC(),
		Duration:  time.Duration(c.duration[j]),
	}
	key := sl.key
	if keys != nil {
		key = keys[c.slot[j]]
	}
	return apilog.JoinKey(e, key, now)
}

// streamBatch is the most rows Stream materializes at once.
const streamBatch = 1000

// Stream implements apilog.Streamer. The matches are found under the read
// lock, as a query's are, with the keys of the moment: that fixes the rows
// streamed and the keys they show. The sort (with a query's order, taken
// under the lock) and the making of the rows, a batch at a time with the
// lock taken for each, are outside it, so that a long export keeps no UpsertKey, and
// so no query, waiting. It holds 4 bytes a match.
func (s *Store) Stream(ctx context.Context, q apilog.Query, limit int, yield func([]apilog.Row) error) error {
	m, err := s.matches(ctx, q, max(limit, 0))
	if err != nil {
		return fmt.Errorf("memstore: stream: %w", err)
	}
	slices.SortFunc(m.order, m.cmp)
	for len(m.order) > 0 {
		batch := m.order[:min(streamBatch, len(m.order))]
		m.order = m.order[len(batch):]
		rows, err := s.rows(ctx, batch, m)
		if err != nil {
			return fmt.Errorf("memstore: stream: %w", err)
		}
		if err := yield(rows); err != nil {
			return err
		}
	}
	return nil
}

// streamed is what a stream sorts and reads its rows with: the matches,
// their order (see order: it needs no lock), and the keys and the instant
// their statuses are computed at, as the stream began.
type streamed struct {
	order []uint32
	cmp   func(a, b uint32) int
	keys  []*apilog.Key // by slot
	now   time.Time
}

// matches returns the rows that match q, unsorted, with what sorts them.
func (s *Store) matches(ctx context.Context, q apilog.Query, limit int) (streamed, error) {
	s.catchUp()
	s.mu.RLock()
	defer s.mu.RUnlock()
	x, err := s.prepare(ctx, &q)
	if err != nil {
		return streamed{}, err
	}
	if x.None {
		return streamed{}, nil
	}
	m := streamed{keys: make([]*apilog.Key, len(s.slots)), now: q.Now}
	if m.cmp, err = s.order(x, s.chunks); err != nil {
		return streamed{}, err
	}
	if m.order, err = s.filter(ctx, x); err != nil {
		return streamed{}, err
	}
	if len(m.order) > limit {
		return streamed{}, &apilog.TooManyRowsError{Rows: len(m.order), Limit: limit}
	}
	for i := range s.slots {
		m.keys[i] = s.slots[i].key
	}
	return m, nil
}

// rows makes the rows of a batch of a stream.
func (s *Store) rows(ctx context.Context, batch []uint32, m streamed) ([]apilog.Row, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.closed {
		return nil, apilog.ErrClosed
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	rows := make([]apilog.Row, len(batch))
	for j, i := range batch {
		rows[j] = s.rowWith(i, m.now, m.keys)
	}
	return rows, nil
}
