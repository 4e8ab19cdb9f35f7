package sqlitestore

import (
	"context"
	"database/sql"
	"encoding/hex"
	"fmt"
	"slices"
	"strings"
	"sync"
)

// strKey identifies an interned value.
type strKey struct {
	account int64
	kind    int64
	value   string
}

type slotKey struct {
	account int64
	keyID   string
}

// cache mirrors the small tables in memory: accounts, key slots and interned
// values. IDs only grow (AUTOINCREMENT never reuses one), so a query brings
// the cache up to date by reading the rows past the highest IDs it has,
// inside its own read transaction. The writer adds what it interned only
// after its commit, so the cache never holds a rolled-back ID. Interned
// values that no row uses any more are deleted by collect, and leave the
// cache once no query can still read a row that used them.
type cache struct {
	mu                        sync.RWMutex
	maxAccount, maxSlot, maxS int64

	accounts     map[string]int64
	accountNames map[int64]string
	slots        map[slotKey]int64
	strIDs       map[strKey]int64
	strs         map[int64]strKey     // ID → value (with its account and kind)
	byKind       map[[2]int64][]int64 // (account, kind) → IDs in the order added, for matching a search
	order        map[[2]int64][]int64 // (account, kind) → IDs by value, for sorting; see sorted
}

// idsOf returns the IDs of every value of kind.
func (c *cache) idsOf(kind int64) []int64 {
	c.mu.RLock()
	defer c.mu.RUnlock()
	var ids []int64
	for k, list := range c.byKind {
		if k[1] == kind {
			ids = append(ids, list...)
		}
	}
	return ids
}

// forget stops the writer from using values deleted from strs; queries
// still read them until purge.
func (c *cache) forget(ids []int64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, id := range ids {
		delete(c.strIDs, c.strs[id])
	}
}

// purge drops forgotten values from the cache.
func (c *cache) purge(ids []int64) {
	if len(ids) == 0 {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	dead := make(map[int64]bool, len(ids))
	for _, id := range ids {
		dead[id] = true
		delete(c.strs, id)
	}
	for k, list := range c.byKind {
		c.byKind[k] = slices.DeleteFunc(list, func(id int64) bool { return dead[id] })
		delete(c.order, k) // rebuilt by the next sort
	}
}

// queryer is what refresh reads through: the writer or a read transaction.
type queryer interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}

// refresh reads the rows added since the last refresh.
func (c *cache) refresh(ctx context.Context, q queryer) error {
	c.mu.RLock()
	maxA, maxSlot, maxS := c.maxAccount, c.maxSlot, c.maxS
	c.mu.RUnlock()

	type account struct {
		id   int64
		name string
	}
	type slot struct {
		id int64
		k  slotKey
	}
	type str struct {
		id int64
		k  strKey
	}
	accounts, err := queryAll(ctx, q, "SELECT id, name FROM accounts WHERE id > ? ORDER BY id", []any{maxA}, func(sc scanFunc) (a account, err error) {
		return a, sc(&a.id, &a.name)
	})
	if err != nil {
		return err
	}
	slots, err := queryAll(ctx, q, "SELECT id, account, key_id FROM keys WHERE id > ? ORDER BY id", []any{maxSlot}, func(sc scanFunc) (s slot, err error) {
		return s, sc(&s.id, &s.k.account, &s.k.keyID)
	})
	if err != nil {
		return err
	}
	strs, err := queryAll(ctx, q, "SELECT id, account, kind, value FROM strs WHERE id > ? ORDER BY id", []any{maxS}, func(sc scanFunc) (s str, err error) {
		var v any
		err = sc(&s.id, &s.k.account, &s.k.kind, &v)
		s.k.value = decodeValue(v)
		return s, err
	})
	if err != nil {
		return err
	}
	if len(accounts)+len(slots)+len(strs) == 0 {
		return nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.init()
	for _, a := range accounts {
		c.addAccount(a.id, a.name)
	}
	for _, s := range slots {
		c.addSlot(s.id, s.k)
	}
	for _, s := range strs {
		c.addStr(s.id, s.k)
	}
	if n := len(accounts); n > 0 {
		c.maxAccount = max(c.maxAccount, accounts[n-1].id)
	}
	if n := len(slots); n > 0 {
		c.maxSlot = max(c.maxSlot, slots[n-1].id)
	}
	if n := len(strs); n > 0 {
		c.maxS = max(c.maxS, strs[n-1].id)
	}
	return nil
}

func (c *cache) init() {
	if c.accounts == nil {
		c.accounts = map[string]int64{}
		c.accountNames = map[int64]string{}
		c.slots = map[slotKey]int64{}
		c.strIDs = map[strKey]int64{}
		c.strs = map[int64]strKey{}
		c.byKind = map[[2]int64][]int64{}
		c.order = map[[2]int64][]int64{}
	}
}

// The add methods are idempotent: the writer and a query may both add a
// row. The caller holds c.mu.

func (c *cache) addAccount(id int64, name string) {
	if _, ok := c.accountNames[id]; !ok {
		c.accounts[name] = id
		c.accountNames[id] = name
	}
}

func (c *cache) addSlot(id int64, k slotKey) { c.slots[k] = id }

func (c *cache) addStr(id int64, k strKey) {
	if _, ok := c.strs[id]; ok {
		return
	}
	k.value = strings.Clone(k.value)
	c.strIDs[k] = id
	c.strs[id] = k
	ak := [2]int64{k.account, k.kind}
	c.byKind[ak] = append(c.byKind[ak], id)
}

// scanFunc reads the current result row into dest, as sql.Rows.Scan.
type scanFunc = func(dest ...any) error

// queryAll runs query and returns one value per result row, read by row.
func queryAll[T any](ctx context.Context, q queryer, query string, args []any, row func(scanFunc) (T, error)) ([]T, error) {
	return queryN(ctx, q, 0, query, args, row)
}

// queryN is queryAll for a query that returns about n rows: its slice is
// made for them at once, so that a stream's million does not take twice
// the room while it grows.
func queryN[T any](ctx context.Context, q queryer, n int, query string, args []any, row func(scanFunc) (T, error)) ([]T, error) {
	rows, err := q.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := make([]T, 0, n)
	for rows.Next() {
		v, err := row(rows.Scan)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, rows.Err()
}

// scanID reads a row of one integer.
func scanID(sc scanFunc) (id int64, err error) { return id, sc(&id) }

// encodeValue returns how a value is stored: an IP hash of 64 lowercase hex
// digits as its 32 bytes, which halves what the 50,000 or so distinct hashes
// of a busy API take; any other value as text.
func encodeValue(kind int64, v string) any {
	if kind != kindIP || len(v) != 64 || strings.ToLower(v) != v {
		return v
	}
	b, err := hex.DecodeString(v)
	if err != nil {
		return v
	}
	return b
}

// decodeValue reverses encodeValue.
func decodeValue(v any) string {
	switch v := v.(type) {
	case []byte:
		return hex.EncodeToString(v)
	case string:
		return v
	}
	return fmt.Sprint(v)
}
