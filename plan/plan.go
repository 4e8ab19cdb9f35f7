// Package plan compiles an [apilog.Query] into what a store executes: the
// time range clamped to what a row can hold, the status classes as code
// ranges, each filter and search term resolved to the IDs of the store's
// distinct values and key slots that match, the API column's order ranked
// in Go, and the window of rows the page wants.
//
// Every rule of a query lives in package apilog; this package applies
// those rules to a store's dictionary once, so that a store (in this module
// or outside it) writes only execution: how to find the rows whose value
// IDs the plan lists, in the order it asks for. The conformance suite in
// apilogtest checks the result against [apilog.Query.Apply].
package plan

import (
	"cmp"
	"fmt"
	"iter"
	"math"
	"slices"
	"strings"
	"sync/atomic"
	"time"

	"github.com/apilog/apilog"
)

// TextFields returns the entry fields a store keeps as distinct values:
// what [Dict.Values] is asked for.
func TextFields() []apilog.Field {
	return []apilog.Field{apilog.FieldMethod, apilog.FieldEndpoint, apilog.FieldError, apilog.FieldIP}
}

// Slot is a key as rows refer to it: one key ID within one account. Name
// and Prefix are the key's current ones, empty when the store does not know
// the key (no key was sent, or it was deleted).
type Slot struct {
	ID           int64
	KeyID        string
	Name, Prefix string
}

// Dict is a store's view of what rows in a query's scope (its account, or
// every account) can hold. The IDs are the store's own; the plan hands them
// back.
type Dict interface {
	// Values yields the ID and text of every distinct value of a field of
	// TextFields.
	Values(f apilog.Field) iter.Seq2[int64, string]
	// Slots yields every key slot.
	Slots() iter.Seq[Slot]
}

// Range is an inclusive range of status codes.
type Range struct{ Lo, Hi int }

// Term is a search term resolved against a dictionary: a row matches it
// when its slot, one of its values, its status or its row ID is listed
// (and Negate turns that around).
type Term struct {
	Negate bool
	Slots  []int64                  // slots whose key name or prefix matches, ascending
	Values map[apilog.Field][]int64 // per text field, the IDs of the values that match, ascending
	Status []Range                  // status codes that match
	// Duration bounds the durations that match a duration: term, in
	// nanoseconds, inclusive; nil for every other term.
	Duration *Span
	// RequestID is the request ID a row matches the term by, byte for byte
	// ([apilog.Term.RequestID]); "" for none. A request ID is nearly
	// unique, so it is no dictionary value: the store looks it up on an
	// index of its own and lists the rows that hold it as Rows, with
	// ResolveRequestIDs.
	RequestID string
	// Rows are the IDs of the rows in the query's scope (its account, or
	// every account) whose request ID is RequestID, ascending.
	Rows []int64
	// ScanRequestID is set when more rows than RequestIDCap hold
	// RequestID (a client that sends one ID with every request): Rows is
	// then nil, and the store tests each row's request ID against the
	// term instead, as it tests its other columns. A list that long would
	// cost more to load and ship than the scan it saves.
	ScanRequestID bool
}

// requestIDCap is the most rows a term lists by request ID (Term.Rows);
// see RequestIDCap.
var requestIDCap atomic.Int64

func init() { requestIDCap.Store(2000) }

// RequestIDCap returns the most rows a term lists by request ID: past it
// the term scans (Term.ScanRequestID). A real request ID names one row, or
// a few retries; 2,000 row IDs cost about 20 kB and well under a
// millisecond to load, where a million cost a second.
func RequestIDCap() int { return int(requestIDCap.Load()) }

// RequestIDLimit is the most rows a store's lookup of one request ID reads:
// one past the cap, so that ResolveRequestIDs sees that the cap is passed.
func RequestIDLimit() int { return RequestIDCap() + 1 }

// SetRequestIDCap sets RequestIDCap to n and returns a function that puts
// it back: for tests, which exercise the scan with a few rows.
func SetRequestIDCap(n int) (restore func()) {
	old := requestIDCap.Swap(int64(n))
	return func() { requestIDCap.Store(old) }
}

// Span is an inclusive range of int64s.
type Span struct{ Lo, Hi int64 }

// Plan is a compiled query.
type Plan struct {
	Query apilog.Query // normalized, Now set

	Times // the time range, and None

	Statuses []Range // nil: any status; the status class filter
	Methods  []int64 // nil: any method; else the method value IDs, maybe none
	Slots    []int64 // nil: any slot in scope; else the key filter's slots, maybe none
	Terms    []Term

	// KeyGroups is the order of the API column, ascending: the slots of
	// keys that sort equal, group by group. Set only when the sort is by the
	// API column; see KeyRank.
	KeyGroups [][]int64

	// Offset and Limit are the page's window in the sorted matches.
	Offset, Limit int
}

// Times is a query's time range as a store reads it.
type Times struct {
	// None is set when no row can match, whatever the store holds: a time
	// range outside 1970 to 2262, or one that is empty.
	None bool

	// From and To bound times as [From, To) in Unix nanoseconds. FromOpen
	// and ToOpen are set when a bound is absent (or beyond what a row can
	// hold), so that a store can tell the unfiltered view apart; From is
	// then 0 and To math.MaxInt64 (and a row at math.MaxInt64 is in range).
	From, To         int64
	FromOpen, ToOpen bool
}

// TimesOf returns q's time range, as Compile sets it: for a store that
// reads rows by time before it compiles the plan (pgstore's request-ID
// lookup, in the round trip that reads the scope).
func TimesOf(q apilog.Query) Times {
	t := Times{From: 0, To: math.MaxInt64, FromOpen: true, ToOpen: true}
	epoch, end := time.Unix(0, 0), time.Unix(0, math.MaxInt64)
	if !q.From.IsZero() && q.From.After(epoch) {
		if q.From.After(end) {
			t.None = true
		}
		t.From, t.FromOpen = q.From.UnixNano(), false
	}
	if !q.To.IsZero() && !q.To.After(end) {
		if !q.To.After(epoch) {
			t.None = true
		}
		t.To, t.ToOpen = q.To.UnixNano(), false
	}
	if !t.FromOpen && !t.ToOpen && t.From >= t.To {
		t.None = true
	}
	return t
}

// Compile returns the plan of q over d. q must be normalized (see
// [apilog.Query.Normalize]) and have Now set.
func Compile(q apilog.Query, d Dict) *Plan {
	p := &Plan{Query: q}
	p.Times = TimesOf(q)
	p.Offset, p.Limit = apilog.Window(q.Page, q.PageSize)
	if p.None {
		return p
	}
	if len(q.StatusClasses) > 0 {
		p.Statuses = Ranges(func(code int) bool { return slices.Contains(q.StatusClasses, apilog.ClassOf(code)) })
	}
	if len(q.Methods) > 0 {
		want := make(map[string]bool, len(q.Methods))
		for _, m := range q.Methods {
			want[m] = true
		}
		p.Methods = []int64{}
		for id, v := range d.Values(apilog.FieldMethod) {
			if want[v] {
				p.Methods = append(p.Methods, id)
			}
		}
		slices.Sort(p.Methods)
	}
	var slots []Slot
	if NeedsSlots(q) {
		for s := range d.Slots() {
			slots = append(slots, s)
		}
		slices.SortFunc(slots, func(a, b Slot) int { return cmp.Compare(a.ID, b.ID) })
	}
	if len(q.KeyIDs) > 0 {
		want := make(map[string]bool, len(q.KeyIDs))
		for _, k := range q.KeyIDs {
			want[k] = true
		}
		p.Slots = []int64{}
		for _, s := range slots {
			if want[s.KeyID] {
				p.Slots = append(p.Slots, s.ID)
			}
		}
	}
	p.Terms = compileTerms(q.Search.Terms, d, slots)
	if q.Sort.Column.Kind() == apilog.KindKey {
		p.KeyGroups = keyGroups(slots)
	}
	return p
}

// NeedsSlots reports whether compiling q reads the dictionary's key slots:
// for a key filter, a search term that may match a key, or the API
// column's order. A store with many keys can skip reading them otherwise.
func NeedsSlots(q apilog.Query) bool {
	keyTerm := slices.ContainsFunc(q.Search.Terms, func(t apilog.Term) bool {
		return t.Field == apilog.FieldAny || t.Field == apilog.FieldKey
	})
	return len(q.KeyIDs) > 0 || keyTerm || q.Sort.Column.Kind() == apilog.KindKey
}

// compileTerms resolves the terms against the dictionary. It reads each
// field's values once for all the terms: a dictionary may hold fifty
// thousand IP hashes, and a search 32 terms.
func compileTerms(terms []apilog.Term, d Dict, slots []Slot) []Term {
	if len(terms) == 0 {
		return nil
	}
	out := make([]Term, len(terms))
	for i := range terms {
		t := &terms[i]
		out[i] = Term{Negate: t.Negate, Values: map[apilog.Field][]int64{}, Status: Ranges(t.MatchStatus)}
		out[i].RequestID, _ = t.RequestID()
		if t.Field == apilog.FieldDuration {
			out[i].Duration = &Span{int64(t.DurationMin), int64(t.DurationMax)}
		}
		for _, s := range slots {
			if t.MatchText(apilog.FieldKey, s.Name) || t.MatchText(apilog.FieldKey, s.Prefix) {
				out[i].Slots = append(out[i].Slots, s.ID)
			}
		}
	}
	for _, f := range TextFields() {
		var which []int // the terms that may match this field
		for i := range terms {
			if terms[i].Field == apilog.FieldAny || terms[i].Field == f {
				which = append(which, i)
			}
		}
		if len(which) == 0 {
			continue
		}
		for id, v := range d.Values(f) {
			// Folded once for all the terms: ContainsFold would fold it
			// again for each (an eighth of the worst search's time went there).
			v := apilog.Fold(v)
			for _, i := range which {
				if strings.Contains(v, terms[i].Text) {
					out[i].Values[f] = append(out[i].Values[f], id)
				}
			}
		}
		for _, i := range which {
			slices.Sort(out[i].Values[f])
		}
	}
	return out
}

// RequestIDs returns the distinct request IDs the terms match rows by,
// in the order of the terms: what a store looks up before it compiles a
// plan, when it looks them up in the same round trip as the rest.
func RequestIDs(s apilog.Search) []string {
	var out []string
	for i := range s.Terms {
		if id, ok := s.Terms[i].RequestID(); ok && !slices.Contains(out, id) {
			out = append(out, id)
		}
	}
	return out
}

// ResolveRequestIDs sets each term's Rows, or its ScanRequestID: find
// returns the IDs of the rows in the query's scope whose request ID is id
// (an exact match, on an index: a plain term looks its text up too, so
// this runs for nearly every search), at most RequestIDLimit of them; it
// may leave out rows outside the query's time range and MaxID, which no
// statement reads. It is called once for each distinct ID.
func (p *Plan) ResolveRequestIDs(find func(id string) ([]int64, error)) error {
	type lookup struct {
		rows []int64
		scan bool
	}
	found := map[string]lookup{}
	limit := RequestIDCap()
	for i := range p.Terms {
		t := &p.Terms[i]
		if t.RequestID == "" {
			continue
		}
		l, ok := found[t.RequestID]
		if !ok {
			rows, err := find(t.RequestID)
			if err != nil {
				return fmt.Errorf("looking up request ID %q: %w", t.RequestID, err)
			}
			l.rows = slices.Compact(slices.Sorted(slices.Values(rows)))
			if len(l.rows) > limit {
				l = lookup{scan: true}
			}
			found[t.RequestID] = l
		}
		t.Rows, t.ScanRequestID = l.rows, l.scan
	}
	return nil
}

// RequestIDScans returns the terms that test each row's request ID
// (Term.ScanRequestID), as the request ID and the term's bit (see Bits);
// nil for none.
func (p *Plan) RequestIDScans() []RequestIDScan {
	var out []RequestIDScan
	for i := range p.Terms {
		if t := &p.Terms[i]; t.ScanRequestID {
			out = append(out, RequestIDScan{ID: t.RequestID, Bit: 1 << i})
		}
	}
	return out
}

// RequestIDScan is a term that tests each row's request ID: a row whose
// request ID is ID matches the term, bit Bit.
type RequestIDScan struct {
	ID  string
	Bit uint32
}

// RowBits returns, by row ID, the terms each row listed in a term's Rows
// matches, as bits (see Bits); nil when no term lists a row, so that a
// store scanning rows tests them only then.
func (p *Plan) RowBits() map[int64]uint32 {
	var out map[int64]uint32
	p.TermBits(func(t *Term) []int64 { return t.Rows }, func(id int64, bit uint32) {
		if out == nil {
			out = map[int64]uint32{}
		}
		out[id] |= bit
	})
	return out
}

// keyGroups ranks slots in the API column's ascending order.
func keyGroups(slots []Slot) [][]int64 {
	sorted := slices.Clone(slots)
	order := func(a, b Slot) int { return apilog.CompareKeys(a.Name, a.Prefix, b.Name, b.Prefix) }
	slices.SortStableFunc(sorted, order)
	var groups [][]int64
	for i, s := range sorted {
		if i == 0 || order(sorted[i-1], s) != 0 {
			groups = append(groups, nil)
		}
		groups[len(groups)-1] = append(groups[len(groups)-1], s.ID)
	}
	return groups
}

// KeyRank returns the rank of every slot in KeyGroups, indexed by slot ID:
// equal keys share a rank. Slots the dictionary did not list rank -1.
func (p *Plan) KeyRank() []int {
	var n int64
	for _, g := range p.KeyGroups {
		for _, s := range g {
			n = max(n, s+1)
		}
	}
	rank := make([]int, n)
	for i := range rank {
		rank[i] = -1
	}
	for i, g := range p.KeyGroups {
		for _, s := range g {
			rank[s] = i
		}
	}
	return rank
}

// Filtered reports whether rows must be tested one by one: a time range, a
// status, method or search filter. The account scope, the key filter and
// the row-ID bound are not counted: a store answers those from its slots
// and IDs.
func (p *Plan) Filtered() bool {
	return !p.FromOpen || !p.ToOpen || p.Statuses != nil || p.Methods != nil || len(p.Terms) > 0
}

// InRange reports whether a time, as Unix nanoseconds, is in the plan's
// range.
func (p *Plan) InRange(ts int64) bool {
	return ts >= p.From && (ts < p.To || p.ToOpen)
}

// Ranges returns the codes from 0 to apilog.MaxStatus for which match
// holds, as ascending ranges.
func Ranges(match func(code int) bool) []Range {
	var out []Range
	for lo := 0; lo <= apilog.MaxStatus; lo++ {
		if !match(lo) {
			continue
		}
		hi := lo
		for hi < apilog.MaxStatus && match(hi+1) {
			hi++
		}
		out = append(out, Range{lo, hi})
		lo = hi
	}
	return out
}

// StatusTable returns, by status code, whether a code is in ranges.
func StatusTable(ranges []Range) *[apilog.MaxStatus + 1]bool {
	var t [apilog.MaxStatus + 1]bool
	for _, r := range ranges {
		for c := r.Lo; c <= r.Hi; c++ {
			t[c] = true
		}
	}
	return &t
}

// Bits is a search's terms as bits, term i as bit 1<<i, so that a store
// tests a row with one lookup per value it holds, whatever the number of
// terms: OR the bits of the row's slot, values and status (and of its ID,
// RowBits, when a term lists rows), and Match.
type Bits struct {
	All, Neg  uint32 // every term; the negated ones
	Status    [apilog.MaxStatus + 1]uint32
	durations []durationBit
}

type durationBit struct {
	Span
	bit uint32
}

// Terms are bits of a uint32.
const _ = uint32(1) << (apilog.MaxSearchTerms - 1) // a compile error if MaxSearchTerms outgrows them

// Bits returns the terms' bits: which terms each status code matches.
func (p *Plan) Bits() *Bits {
	b := &Bits{}
	for i := range p.Terms {
		t := &p.Terms[i]
		bit := uint32(1) << i
		b.All |= bit
		if t.Negate {
			b.Neg |= bit
		}
		for _, r := range t.Status {
			for c := r.Lo; c <= r.Hi; c++ {
				b.Status[c] |= bit
			}
		}
		if t.Duration != nil {
			b.durations = append(b.durations, durationBit{*t.Duration, bit})
		}
	}
	return b
}

// Durations reports whether any term tests durations, so that a store
// reads them only then.
func (b *Bits) Durations() bool { return len(b.durations) > 0 }

// Duration returns the terms a row of duration d (nanoseconds) matches.
func (b *Bits) Duration(d int64) uint32 {
	var out uint32
	for _, t := range b.durations {
		if d >= t.Lo && d <= t.Hi {
			out |= t.bit
		}
	}
	return out
}

// Match reports whether a row whose slot, values and status match the
// terms in bits matches the search: every term, each negated one not.
func (b *Bits) Match(bits uint32) bool { return bits^b.Neg == b.All }

// TermBits calls yield with each ID that a term lists, where ids picks
// what the term lists (its slots, or its values of a field), and that
// term's bit. ValueBits and SlotBits are its dense tables; a store whose
// IDs are too sparse for one builds its own.
func (p *Plan) TermBits(ids func(*Term) []int64, yield func(id int64, bit uint32)) {
	for i := range p.Terms {
		for _, id := range ids(&p.Terms[i]) {
			yield(id, 1<<i)
		}
	}
}

// ValueBits returns, indexed by value ID, the terms each value of field f
// matches; n is one past the largest ID the store will look up.
func (p *Plan) ValueBits(f apilog.Field, n int64) []uint32 {
	out := make([]uint32, n)
	p.TermBits(func(t *Term) []int64 { return t.Values[f] }, func(id int64, bit uint32) { out[id] |= bit })
	return out
}

// SlotBits is ValueBits for the key slots.
func (p *Plan) SlotBits(n int64) []uint32 {
	out := make([]uint32, n)
	p.TermBits(func(t *Term) []int64 { return t.Slots }, func(id int64, bit uint32) { out[id] |= bit })
	return out
}
