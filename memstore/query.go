package memstore

import (
	"cmp"
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"time"

	"github.com/apilog/apilog"
)

// Query implements apilog.Store.
func (s *Store) Query(ctx context.Context, q apilog.Query) (apilog.Page, error) {
	q, err := q.Normalize()
	if err != nil {
		return apilog.Page{}, fmt.Errorf("memstore: query: %w", err)
	}
	if q.Now.IsZero() {
		q.Now = s.clock()
	}
	if err := ctx.Err(); err != nil {
		return apilog.Page{}, fmt.Errorf("memstore: query: %w", err)
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.closed {
		return apilog.Page{}, fmt.Errorf("memstore: query: %w", apilog.ErrClosed)
	}
	rows, total, err := s.query(ctx, &q)
	if err != nil {
		return apilog.Page{}, fmt.Errorf("memstore: query: %w", err)
	}
	page := apilog.Page{
		Number:     q.Page,
		Size:       q.PageSize,
		TotalRows:  total,
		TotalPages: apilog.PageCount(total, q.PageSize),
	}
	for _, i := range rows {
		page.Rows = append(page.Rows, s.row(i, q.Now))
	}
	return page, nil
}

// heapMax is the largest page end a bounded heap serves; deeper pages are
// cut by quickselect, which does not grow with the page number.
const heapMax = 8192

// query returns the indexes of the rows on q's page, in order, and the
// number of rows that match q.
func (s *Store) query(ctx context.Context, q *apilog.Query) ([]uint32, int, error) {
	p := s.plan(q)
	off, limit := apilog.Window(q.Page, q.PageSize)
	cmp := s.order(q)
	newest := q.Sort.Dir == apilog.Desc // the order is newest first, for the time column

	// The default view (time order, no filter but the scope) needs neither
	// a scan for its total nor a look at most rows.
	if total, ok := p.count(s.slots); ok && q.Sort.Column == apilog.ColumnTime && min(off+limit, total-off) <= heapMax {
		if off >= total {
			return nil, total, nil
		}
		end := min(off+limit, total)
		if end <= total-off {
			rows, err := s.walkTime(ctx, p, end, cmp, newest)
			return rows[off:], total, err
		}
		rows, err := s.walkTime(ctx, p, total-off, reverse(cmp), !newest)
		slices.Reverse(rows)
		return rows[:end-off], total, err
	}

	matches, err := s.filter(ctx, p)
	if err != nil || off >= len(matches) {
		return nil, len(matches), err
	}
	total := len(matches)
	end := min(off+limit, total)
	timeSort := q.Sort.Column == apilog.ColumnTime
	switch {
	case end <= heapMax:
		return firstK(matches, end, cmp, timeSort && newest)[off:], total, nil
	case total-off <= heapMax:
		rows := firstK(matches, total-off, reverse(cmp), timeSort && !newest)
		slices.Reverse(rows)
		return rows[:end-off], total, nil
	}
	selectWindow(matches, off, end, cmp)
	return matches[off:end], total, nil
}

func reverse(cmp func(a, b uint32) int) func(a, b uint32) int {
	return func(a, b uint32) int { return cmp(b, a) }
}

// plan holds the tables a query's filters become: one entry per distinct
// value, so that the scan checks a row with lookups instead of string work.
type plan struct {
	from, last int64  // the time range as Unix nanoseconds, both inclusive
	slotOK     []bool // account scope and key filter, by slot
	methodOK   []bool // nil: any method
	statusOK   []bool // nil: any status
	terms      bool
	rowFilter  bool   // a filter that needs each row: time, status, method or search
	all, neg   uint32 // bit i: term i; neg: the negated ones
	slotBits   []uint32
	methBits   []uint32
	endBits    []uint32
	errBits    []uint32
	ipBits     []uint32
	statBits   []uint32
}

func (s *Store) plan(q *apilog.Query) *plan {
	p := &plan{from: nanos(q.From, math.MinInt64), last: math.MaxInt64}
	// To is exclusive; the plan's last instant is inclusive, so that an open
	// range, or one that ends past 2262, keeps a row at the largest
	// representable time.
	if !q.To.IsZero() && !q.To.After(time.Unix(0, math.MaxInt64)) {
		p.last = max(nanos(q.To, math.MaxInt64), math.MinInt64+1) - 1
	}
	account, scoped := s.accounts.ids[q.Account]
	p.slotOK = make([]bool, len(s.slots))
	for i, sl := range s.slots {
		p.slotOK[i] = i > 0 && (q.AllAccounts || scoped && sl.account == account) &&
			(len(q.KeyIDs) == 0 || slices.Contains(q.KeyIDs, sl.keyID))
	}
	if len(q.Methods) > 0 {
		p.methodOK = make([]bool, len(s.methods.vals))
		for i, m := range s.methods.vals {
			p.methodOK[i] = slices.Contains(q.Methods, m)
		}
	}
	if len(q.StatusClasses) > 0 {
		p.statusOK = make([]bool, apilog.MaxStatus+1)
		for code := range p.statusOK {
			p.statusOK[code] = slices.Contains(q.StatusClasses, apilog.ClassOf(code))
		}
	}
	terms := q.Search.Terms
	p.terms = len(terms) > 0
	p.rowFilter = p.terms || p.methodOK != nil || p.statusOK != nil || !q.From.IsZero() || !q.To.IsZero()
	if !p.terms {
		return p
	}
	match := func(vals []string, field apilog.Field) []uint32 {
		bits := make([]uint32, len(vals))
		for i := range terms {
			t := &terms[i]
			if t.Field != apilog.FieldAny && t.Field != field {
				continue
			}
			for v, text := range vals {
				if t.MatchText(field, text) {
					bits[v] |= 1 << i
				}
			}
		}
		return bits
	}
	p.methBits = match(s.methods.vals, apilog.FieldMethod)
	p.endBits = match(s.endpoints.vals, apilog.FieldEndpoint)
	p.errBits = match(s.errCodes.vals, apilog.FieldError)
	p.ipBits = match(s.ipHashes.vals, apilog.FieldIP)
	p.slotBits = make([]uint32, len(s.slots))
	p.statBits = make([]uint32, apilog.MaxStatus+1)
	for i := range terms {
		t := &terms[i]
		bit := uint32(1) << i
		p.all |= bit
		if t.Negate {
			p.neg |= bit
		}
		for n, sl := range s.slots {
			if sl.key != nil && (t.MatchText(apilog.FieldKey, sl.key.Name) || t.MatchText(apilog.FieldKey, sl.key.Prefix)) {
				p.slotBits[n] |= bit
			}
		}
		for code := range p.statBits {
			if t.MatchStatus(code) {
				p.statBits[code] |= bit
			}
		}
	}
	return p
}

// count returns the number of rows that match, when the slots alone decide.
func (p *plan) count(slots []slot) (int, bool) {
	if p.rowFilter {
		return 0, false
	}
	n := 0
	for i, ok := range p.slotOK {
		if ok {
			n += slots[i].rows
		}
	}
	return n, true
}

// nanos converts a time bound to Unix nanoseconds; a zero bound is open.
func nanos(t time.Time, open int64) int64 {
	switch {
	case t.IsZero():
		return open
	case t.Before(time.Unix(0, math.MinInt64)):
		return math.MinInt64
	case t.After(time.Unix(0, math.MaxInt64)):
		return math.MaxInt64
	}
	return t.UnixNano()
}

// filter returns the indexes of the rows that match q, in insertion order.
func (s *Store) filter(ctx context.Context, p *plan) ([]uint32, error) {
	var out []uint32
	for ci, c := range s.chunks {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		if c.maxTime < p.from || c.minTime > p.last {
			continue
		}
		n := min(chunkSize, s.n-ci<<chunkBits)
		base := uint32(ci << chunkBits)
		for j := range n {
			sl := c.slot[j]
			if !p.slotOK[sl] {
				continue
			}
			if t := c.time[j]; t < p.from || t > p.last {
				continue
			}
			st, m := c.status[j], c.method[j]
			if p.statusOK != nil && !p.statusOK[st] || p.methodOK != nil && !p.methodOK[m] {
				continue
			}
			if p.terms {
				bits := p.slotBits[sl] | p.methBits[m] | p.statBits[st] |
					p.endBits[c.endpoint[j]] | p.errBits[c.errCode[j]] | p.ipBits[c.ipHash[j]]
				if bits^p.neg != p.all {
					continue
				}
			}
			out = append(out, base+uint32(j))
		}
	}
	return out, nil
}

// order returns the comparison of row indexes under q's sort, the same order
// as q.Sort.Compare on the joined rows.
func (s *Store) order(q *apilog.Query) func(a, b uint32) int {
	srt := q.Sort
	at := func(i uint32) (*chunk, uint32) { return s.chunks[i>>chunkBits], i & chunkMask }
	var primary func(ca *chunk, ia uint32, cb *chunk, ib uint32) int
	text := func(d *dict, col func(*chunk) *[chunkSize]uint32) func(*chunk, uint32, *chunk, uint32) int {
		return func(ca *chunk, ia uint32, cb *chunk, ib uint32) int {
			va, vb := col(ca)[ia], col(cb)[ib]
			if va == vb {
				return 0
			}
			return srt.CompareText(d.vals[va], d.vals[vb])
		}
	}
	switch srt.Column {
	case apilog.ColumnAPI:
		rank := s.keyRanks()
		primary = func(ca *chunk, ia uint32, cb *chunk, ib uint32) int {
			return srt.Directed(cmp.Compare(rank[ca.slot[ia]], rank[cb.slot[ib]]))
		}
	case apilog.ColumnMethod:
		primary = text(&s.methods, func(c *chunk) *[chunkSize]uint32 { return &c.method })
	case apilog.ColumnEndpoint:
		primary = text(&s.endpoints, func(c *chunk) *[chunkSize]uint32 { return &c.endpoint })
	case apilog.ColumnError:
		primary = text(&s.errCodes, func(c *chunk) *[chunkSize]uint32 { return &c.errCode })
	case apilog.ColumnIP:
		primary = text(&s.ipHashes, func(c *chunk) *[chunkSize]uint32 { return &c.ipHash })
	case apilog.ColumnStatus:
		primary = func(ca *chunk, ia uint32, cb *chunk, ib uint32) int {
			return srt.Directed(cmp.Compare(ca.status[ia], cb.status[ib]))
		}
	case apilog.ColumnTime:
		primary = func(ca *chunk, ia uint32, cb *chunk, ib uint32) int {
			return srt.Directed(cmp.Compare(ca.time[ia], cb.time[ib]))
		}
	}
	return func(a, b uint32) int {
		ca, ia := at(a)
		cb, ib := at(b)
		if c := primary(ca, ia, cb, ib); c != 0 {
			return c
		}
		return apilog.TieBreak(ca.time[ia], int64(a), cb.time[ib], int64(b))
	}
}

// keyRanks ranks the slots in the API column's ascending order; equal keys
// share a rank. An unknown key sorts as an empty name.
func (s *Store) keyRanks() []int {
	idx := make([]int, len(s.slots))
	for i := range idx {
		idx[i] = i
	}
	nameOf := func(i int) (string, string) {
		if k := s.slots[i].key; k != nil {
			return k.Name, k.Prefix
		}
		return "", ""
	}
	cmpSlots := func(a, b int) int {
		na, pa := nameOf(a)
		nb, pb := nameOf(b)
		return apilog.CompareKeys(na, pa, nb, pb)
	}
	slices.SortFunc(idx, cmpSlots)
	rank := make([]int, len(s.slots))
	for i := 1; i < len(idx); i++ {
		rank[idx[i]] = rank[idx[i-1]]
		if cmpSlots(idx[i-1], idx[i]) != 0 {
			rank[idx[i]]++
		}
	}
	return rank
}

// walkTime returns, in order, the first k rows under cmp, a time order,
// when only the slots filter rows. It visits chunks newest first when
// newest, else oldest first, and stops once no chunk left can hold a row
// that beats the k-th: rows arrive in about time order, so a first page
// reads about one chunk.
func (s *Store) walkTime(ctx context.Context, p *plan, k int, cmp func(a, b uint32) int, newest bool) ([]uint32, error) {
	n := len(s.chunks)
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
		c, rows := s.chunks[ci], min(chunkSize, s.n-ci<<chunkBits)
		base := uint32(ci << chunkBits)
		for r := range rows {
			j := r
			if newest {
				j = rows - 1 - r
			}
			if p.slotOK[c.slot[j]] {
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

// selectWindow reorders xs so that xs[off:end] holds, in order, the rows
// that sorting all of xs by cmp would put there: quickselect to off, then
// to end, then a sort of the window only.
func selectWindow(xs []uint32, off, end int, cmp func(a, b uint32) int) {
	nth(xs, off, cmp)
	nth(xs[off:], end-off, cmp)
	slices.SortFunc(xs[off:end], cmp)
}

// nth partially sorts xs so that every row before index k comes before
// every row from k on. Row indexes are distinct, so cmp never ties.
func nth(xs []uint32, k int, cmp func(a, b uint32) int) {
	lo, hi := 0, len(xs) // the boundary k lies within xs[lo:hi]
	for hi-lo > 32 {
		// A random pivot: insertion order is close to time order, which
		// would make a fixed choice quadratic.
		pivot := xs[lo+rand.IntN(hi-lo)]
		i, j := lo, hi-1
		for i <= j {
			for cmp(xs[i], pivot) < 0 {
				i++
			}
			for cmp(xs[j], pivot) > 0 {
				j--
			}
			if i <= j {
				xs[i], xs[j] = xs[j], xs[i]
				i, j = i+1, j-1
			}
		}
		// Now xs[lo:j+1] <= pivot <= xs[i:hi], and xs[j+1:i] == pivot.
		switch {
		case k <= j:
			hi = j + 1
		case k >= i:
			lo = i
		default:
			return
		}
	}
	slices.SortFunc(xs[lo:hi], cmp)
}

// row materializes row i joined with its key's state at now.
func (s *Store) row(i uint32, now time.Time) apilog.Row {
	c, j := s.chunks[i>>chunkBits], i&chunkMask
	start := uint32(0)
	if j > 0 {
		start = c.reqEnd[j-1]
	}
	sl := s.slots[c.slot[j]]
	e := apilog.Entry{
		ID:        int64(i) + 1,
		Account:   s.accounts.vals[sl.account],
		KeyID:     sl.keyID,
		RequestID: string(c.reqIDs[start:c.reqEnd[j]]),
		Method:    s.methods.vals[c.method[j]],
		Endpoint:  s.endpoints.vals[c.endpoint[j]],
		Status:    int(c.status[j]),
		ErrorCode: s.errCodes.vals[c.errCode[j]],
		IPHash:    s.ipHashes.vals[c.ipHash[j]],
		Time:      time.Unix(0, c.time[j]).UTC(),
		Duration:  time.Duration(c.duration[j]),
	}
	return apilog.JoinKey(e, sl.key, now)
}
