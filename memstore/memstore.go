// Package memstore is an in-memory [apilog.Store]: concurrency-safe, fast
// enough for a million rows, and gone when the process ends. It suits tests,
// demos and small apps; its rows do not survive a restart.
//
// Rows are kept column by column in fixed-size chunks, with every text value
// but the request ID interned, so a row costs about 46 bytes plus its request
// ID; each chunk finds its rows by request ID in a hash table of its own. A search matches each distinct value once and then checks each row with
// a few table lookups; a page is cut with a bounded heap instead of sorting
// every match. Queries share a read lock: a long query delays Append (the
// recorder queues meanwhile), and, once an Append waits, the queries that
// arrive after it.
package memstore

import (
	"cmp"
	"context"
	"fmt"
	"hash/maphash"
	"math"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/apilog/apilog"
)

const (
	chunkBits = 14
	chunkSize = 1 << chunkBits
	chunkMask = chunkSize - 1
)

// Options configures a Store. The zero value is ready to use.
type Options struct {
	// Clock returns the current time; key statuses are computed at it when
	// a Query has no Now. Optional. Default is time.Now.
	Clock func() time.Time

	// Explain, if set, is told how each query was answered. Optional; for
	// tests and tuning.
	Explain func(q apilog.Query, s Strategy)
}

// Store is an in-memory apilog.Store. Create it with New.
type Store struct {
	clock     func() time.Time
	explainFn func(apilog.Query, Strategy)

	// Append hands out IDs and queues its batch under pendMu, and applies
	// it to the columns under mu only when no query holds mu: a long query
	// never makes Append wait (a recorder in front would drop entries).
	// The next query, or the next Append to get mu, applies what is
	// queued, so a query sees every Append that returned before it began.
	pendMu  sync.Mutex
	pending [][]apilog.Entry
	ids     int  // the IDs handed out: the last row's, applied or pending
	shut    bool // closed, as Append sees it

	mu        sync.RWMutex
	closed    bool
	n         int // rows stored; row i has ID i+1
	chunks    []*chunk
	accounts  dict
	lastRow   []int // by account: its last row's ID, for Page.MaxID
	methods   dict
	endpoints dict
	errCodes  dict
	ipHashes  dict
	slotIDs   map[slotID]uint32
	slots     []slot
	seed      maphash.Seed // of the chunks' request-ID tables
}

var (
	_ apilog.Store     = (*Store)(nil)
	_ apilog.KeyLister = (*Store)(nil)
)

// chunk holds chunkSize rows, one array per column.
type chunk struct {
	// minTime and maxTime bound the chunk's times, so that a time range
	// skips whole chunks and a time-sorted page stops early.
	minTime, maxTime int64

	time     [chunkSize]int64 // Unix nanoseconds
	duration [chunkSize]int64
	slot     [chunkSize]uint32
	method   [chunkSize]uint32
	endpoint [chunkSize]uint32
	errCode  [chunkSize]uint32
	ipHash   [chunkSize]uint32
	status   [chunkSize]uint16
	reqEnd   [chunkSize]uint32 // request ID i is reqIDs[reqEnd[i-1]:reqEnd[i]]
	reqIDs   []byte
	// reqHead and reqNext find a row by its request ID: chained hashing,
	// reqHead[hash] the place plus one of the last row added whose ID has
	// that hash (0: none), reqNext[j] that of the row before row j in its
	// chain. An insert is O(1) whatever the duplicates: an open-addressing
	// table probed one run for every row of a shared ID (a client sending
	// one X-Request-Id every time), 2.5 s for a million rows under the
	// write lock. 4 bytes a row, where a map of strings took about 50.
	reqHead [chunkSize]uint16
	reqNext [chunkSize]uint16
}

const _ = uint16(chunkSize) // a compile error if a place plus one outgrows uint16

// requestID returns row j's request ID.
func (c *chunk) requestID(j int) []byte {
	start := uint32(0)
	if j > 0 {
		start = c.reqEnd[j-1]
	}
	return c.reqIDs[start:c.reqEnd[j]]
}

// indexRequestID adds row j, whose request ID hashes to h, to the chunk's
// table.
func (c *chunk) indexRequestID(j int, h uint64) {
	b := h & chunkMask
	c.reqNext[j] = c.reqHead[b]
	c.reqHead[b] = uint16(j + 1)
}

// findRequestID calls found with the place of each of the chunk's first
// n rows whose request ID is id, which hashes to h, last added first,
// until found returns false.
func (c *chunk) findRequestID(id string, h uint64, n int, found func(j int) bool) {
	for p := c.reqHead[h&chunkMask]; p != 0; p = c.reqNext[p-1] {
		if j := int(p) - 1; j < n && string(c.requestID(j)) == id && !found(j) {
			return
		}
	}
}

// slotID names a key as rows refer to it: the account and the key ID
// together, so that a key is only ever joined to its own tenant's rows.
type slotID struct {
	account uint32
	keyID   string
}

type slot struct {
	slotID
	key  *apilog.Key // current state, never modified once stored; nil if unknown
	rows int         // rows that refer to the slot: an unfiltered view's total
}

// dict interns the distinct values of a column; value 0 is "".
type dict struct {
	ids  map[string]uint32
	vals []string
}

func newDict() dict { return dict{ids: map[string]uint32{}, vals: []string{""}} }

func (d *dict) intern(s string) uint32 {
	if s == "" {
		return 0
	}
	if id, ok := d.ids[s]; ok {
		return id
	}
	id := uint32(len(d.vals))
	s = strings.Clone(s) // do not keep the caller's larger buffer alive
	d.ids[s] = id
	d.vals = append(d.vals, s)
	return id
}

// New returns an empty Store. opts may be nil.
func New(opts *Options) *Store {
	s := &Store{clock: time.Now, slotIDs: map[slotID]uint32{}, seed: maphash.MakeSeed()}
	for _, d := range []*dict{&s.accounts, &s.methods, &s.endpoints, &s.errCodes, &s.ipHashes} {
		*d = newDict()
	}
	if opts != nil {
		if opts.Clock != nil {
			s.clock = opts.Clock
		}
		s.explainFn = opts.Explain
	}
	s.slotFor(0, "") // slot 0: no account, no key; never matches a query
	return s
}

// slotFor returns the slot of a key ID within an account, creating it.
func (s *Store) slotFor(account uint32, keyID string) uint32 {
	id := slotID{account, keyID}
	if n, ok := s.slotIDs[id]; ok {
		return n
	}
	id.keyID = strings.Clone(keyID)
	n := uint32(len(s.slots))
	s.slotIDs[id] = n
	s.slots = append(s.slots, slot{slotID: id})
	return n
}

// Append implements apilog.Store.
func (s *Store) Append(ctx context.Context, entries []apilog.Entry) error {
	for i := range entries {
		if err := entries[i].Validate(); err != nil {
			return fmt.Errorf("memstore: append: entry %d: %w", i, err)
		}
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("memstore: append: %w", err)
	}
	batch := slices.Clone(entries)
	s.pendMu.Lock()
	if s.shut {
		s.pendMu.Unlock()
		return fmt.Errorf("memstore: append: %w", apilog.ErrClosed)
	}
	if s.ids+len(entries) > math.MaxUint32 {
		s.pendMu.Unlock()
		return fmt.Errorf("memstore: append: store is full at %d rows", s.ids)
	}
	for i := range entries {
		s.ids++
		entries[i].ID, batch[i].ID = int64(s.ids), int64(s.ids)
	}
	s.pending = append(s.pending, batch)
	s.pendMu.Unlock()
	if s.mu.TryLock() {
		s.apply()
		s.mu.Unlock()
	}
	return nil
}

// catchUp applies the batches Append queued, waiting for the queries in
// flight if there are any.
func (s *Store) catchUp() {
	s.pendMu.Lock()
	queued := len(s.pending) > 0
	s.pendMu.Unlock()
	if queued {
		s.mu.Lock()
		s.apply()
		s.mu.Unlock()
	}
}

// apply adds the queued batches to the columns, in the order of their IDs.
// The caller holds mu.
func (s *Store) apply() {
	s.pendMu.Lock()
	batches := s.pending
	s.pending = nil
	s.pendMu.Unlock()
	if s.closed {
		return
	}
	for _, b := range batches {
		for i := range b {
			s.add(&b[i])
		}
	}
}

// add adds e, whose ID is the next row's, to the columns. The caller
// holds mu.
func (s *Store) add(e *apilog.Entry) {
	if s.n&chunkMask == 0 && s.n>>chunkBits == len(s.chunks) {
		s.chunks = append(s.chunks, &chunk{minTime: math.MaxInt64, maxTime: math.MinInt64})
	}
	c, j := s.chunks[s.n>>chunkBits], s.n&chunkMask
	t := e.Time.UnixNano()
	c.time[j], c.minTime, c.maxTime = t, min(c.minTime, t), max(c.maxTime, t)
	c.duration[j] = int64(e.Duration)
	acct := s.accounts.intern(e.Account)
	c.slot[j] = s.slotFor(acct, e.KeyID)
	s.slots[c.slot[j]].rows++
	c.method[j] = s.methods.intern(e.Method)
	c.endpoint[j] = s.endpoints.intern(e.Endpoint)
	c.errCode[j] = s.errCodes.intern(e.ErrorCode)
	c.ipHash[j] = s.ipHashes.intern(e.IPHash)
	c.status[j] = uint16(e.Status)
	c.reqIDs = append(c.reqIDs, e.RequestID...)
	c.reqEnd[j] = uint32(len(c.reqIDs))
	if e.RequestID != "" {
		// No term matches an empty ID (apilog.Term.RequestID), and a
		// client without IDs would put every row in one chain.
		c.indexRequestID(j, maphash.String(s.seed, e.RequestID))
	}
	s.n++
	for int(acct) >= len(s.lastRow) {
		s.lastRow = append(s.lastRow, 0)
	}
	s.lastRow[acct] = s.n
}

// UpsertKey implements apilog.Store.
func (s *Store) UpsertKey(ctx context.Context, key apilog.Key) error {
	if err := key.Validate(); err != nil {
		return fmt.Errorf("memstore: upsert key: %w", err)
	}
	key = key.Clean()
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("memstore: upsert key: %w", err)
	}
	key.ID, key.Account = strings.Clone(key.ID), strings.Clone(key.Account)
	key.Name, key.Prefix = strings.Clone(key.Name), strings.Clone(key.Prefix)
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return fmt.Errorf("memstore: upsert key: %w", apilog.ErrClosed)
	}
	s.slots[s.slotFor(s.accounts.intern(key.Account), key.ID)].key = &key
	return nil
}

// DeleteKey implements apilog.Store.
func (s *Store) DeleteKey(ctx context.Context, account, id string) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("memstore: delete key: %w", err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return fmt.Errorf("memstore: delete key: %w", apilog.ErrClosed)
	}
	if a, ok := s.accounts.ids[account]; ok {
		if n, ok := s.slotIDs[slotID{a, id}]; ok {
			s.slots[n].key = nil
		}
	}
	return nil
}

// Keys implements apilog.KeyLister: up to limit of account's keys, as
// UpsertKey last stored them, by name, then by ID (byte order). The slots
// of keys that rows refer to but UpsertKey never stored, or that were
// deleted, are not listed. A limit below 1 lists none; an account the
// store has not seen has none. It reads every slot under the read lock,
// as a query does.
func (s *Store) Keys(ctx context.Context, account string, limit int) ([]apilog.Key, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.closed {
		return nil, fmt.Errorf("memstore: keys: %w", apilog.ErrClosed)
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("memstore: keys: %w", err)
	}
	acct, ok := s.accounts.ids[account]
	if !ok || limit < 1 {
		return nil, nil
	}
	var keys []apilog.Key
	for i := range s.slots {
		if sl := &s.slots[i]; sl.account == acct && sl.key != nil {
			keys = append(keys, *sl.key)
		}
	}
	slices.SortFunc(keys, func(a, b apilog.Key) int {
		return cmp.Or(strings.Compare(a.Name, b.Name), strings.Compare(a.ID, b.ID))
	})
	return keys[:min(limit, len(keys))], nil
}

// Close implements apilog.Store. It frees the rows.
func (s *Store) Close() error {
	s.pendMu.Lock()
	s.shut, s.pending = true, nil
	s.pendMu.Unlock()
	s.mu.Lock()
	defer s.mu.Unlock()
	s.closed = true
	s.chunks, s.slots, s.slotIDs = nil, nil, nil
	s.accounts, s.methods, s.endpoints, s.errCodes, s.ipHashes = dict{}, dict{}, dict{}, dict{}, dict{}
	return nil
}
