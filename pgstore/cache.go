package pgstore

import (
	"context"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/jackc/pgx/v5"
)

// Kinds of interned values in the strs table.
const (
	kindMethod   = 1
	kindEndpoint = 2
	kindError    = 3
	kindIP       = 4
)

type strKey struct {
	account int64
	kind    int64
	value   string
}

type slotKey struct {
	account int64
	keyID   string
}

// cache mirrors the small tables in memory: accounts, key slots and
// interned values. Other processes add to them, and their IDs are not
// committed in order, so a query brings the cache up to date by reading
// the rows whose transaction is no older than the oldest one running at
// the last refresh (since), inside its own snapshot. Values are never
// deleted, so an ID once known stays valid.
type cache struct {
	mu    sync.RWMutex
	since uint64 // an xid8: rows added by older transactions are all here

	accounts     map[string]int64
	accountNames map[int64]string
	slots        map[slotKey]int64
	slotOf       map[int64]slotKey
	strIDs       map[strKey]int64
	strs         map[int64]strKey
	byKind       map[[2]int64][]int64 // (account, kind) → IDs in the order added, for matching a search
	order        map[[2]int64][]int64 // (account, kind) → IDs by value, for sorting; see sorted
}

func (c *cache) init() {
	c.accounts = map[string]int64{}
	c.accountNames = map[int64]string{}
	c.slots = map[slotKey]int64{}
	c.slotOf = map[int64]slotKey{}
	c.strIDs = map[strKey]int64{}
	c.strs = map[int64]strKey{}
	c.byKind = map[[2]int64][]int64{}
	c.order = map[[2]int64][]int64{}
}

// The add functions are idempotent; the caller holds mu.
func (c *cache) addAccount(id int64, name string) {
	if _, ok := c.accountNames[id]; !ok {
		c.accounts[name], c.accountNames[id] = id, name
	}
}

func (c *cache) addSlot(id int64, k slotKey) {
	if _, ok := c.slotOf[id]; !ok {
		c.slots[k], c.slotOf[id] = id, k
	}
}

func (c *cache) addStr(id int64, k strKey) {
	if _, ok := c.strs[id]; !ok {
		c.strIDs[k], c.strs[id] = id, k
		bk := [2]int64{k.account, k.kind}
		c.byKind[bk] = append(c.byKind[bk], id)
	}
}

// refresh reads what other transactions added since the last refresh, in
// tx's snapshot.
func (c *cache) refresh(ctx context.Context, s *Store, tx pgx.Tx) error {
	c.mu.RLock()
	old := c.since // read under the lock: other queries refresh at once
	c.mu.RUnlock()
	since := strconv.FormatUint(old, 10)
	b := &pgx.Batch{}
	type account struct {
		id   int64
		name []byte
	}
	type slot struct {
		id, account int64
		keyID       []byte
	}
	type str struct {
		id, account, kind int64
		value             []byte
	}
	var (
		accounts []account
		slots    []slot
		strs     []str
		xmin     string
	)
	b.Queue(s.sql("SELECT id, name FROM {s}.accounts WHERE xid >= $1::text::xid8"), since).Query(func(rows pgx.Rows) error {
		var a account
		_, err := pgx.ForEachRow(rows, []any{&a.id, &a.name}, func() error { accounts = append(accounts, a); return nil })
		return err
	})
	b.Queue(s.sql("SELECT id, account, key_id FROM {s}.keys WHERE xid >= $1::text::xid8"), since).Query(func(rows pgx.Rows) error {
		var k slot
		_, err := pgx.ForEachRow(rows, []any{&k.id, &k.account, &k.keyID}, func() error { slots = append(slots, k); return nil })
		return err
	})
	b.Queue(s.sql("SELECT id, account, kind, value FROM {s}.strs WHERE xid >= $1::text::xid8"), since).Query(func(rows pgx.Rows) error {
		var v str
		_, err := pgx.ForEachRow(rows, []any{&v.id, &v.account, &v.kind, &v.value}, func() error { strs = append(strs, v); return nil })
		return err
	})
	b.Queue("SELECT pg_snapshot_xmin(pg_current_snapshot())::text").QueryRow(func(row pgx.Row) error { return row.Scan(&xmin) })
	if err := tx.SendBatch(ctx, b).Close(); err != nil {
		return err
	}
	next, err := strconv.ParseUint(xmin, 10, 64)
	if err != nil {
		return err
	}
	if len(accounts)+len(slots)+len(strs) == 0 && next <= old {
		return nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, a := range accounts {
		c.addAccount(a.id, string(a.name))
	}
	for _, k := range slots {
		c.addSlot(k.id, slotKey{k.account, string(k.keyID)})
	}
	for _, v := range strs {
		c.addStr(v.id, strKey{v.account, v.kind, string(v.value)})
	}
	c.since = max(c.since, next)
	return nil
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
