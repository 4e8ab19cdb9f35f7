package pgstore

import (
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/apilog/apilog"
	"github.com/apilog/apilog/timecount"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// A batch is written in one transaction, in three round trips, that
//
//  1. takes a shared advisory lock whose key holds the end of the last
//     block of IDs the sequence gave (its floor, as a block number; see Store.lockClass), so that a
//     query can tell which IDs may still commit below the ones it sees;
//  2. reserves the batch's row IDs from the sequence, a block at a time
//     (see idBlock), so that Append knows them without reading them back
//     (1 and 2 in the round trip that begins the transaction);
//  3. copies the rows in (COPY);
//  4. adds the batch to the counts and last-ID tables, in this writer's
//     shard and in sorted key order, last, in the round trip that commits,
//     so that the rows it locks are held for the commit only.
//
// Accounts, key slots and values are interned before, each in a statement
// of its own that commits at once: a value another process adds at the
// same moment is found by re-reading it, and one interned for a batch that
// then fails costs a few bytes and nothing else.

// reservation is what an Append whose commit may have happened needs to
// find out whether it did: the IDs it reserved and where its first row is.
type reservation struct {
	ids     []int64
	account int64
	ts      int64
	floor   int64
}

// Append stores entries in one transaction; see [apilog.Store.Append]. It
// returns after the commit. When the commit's outcome is unknown (the
// connection broke during it), Append returns the error and remembers the
// batch: called again with the same entries, as the Recorder does, it
// first finds out whether the batch was stored, so a retry never stores it
// twice.
func (s *Store) Append(ctx context.Context, entries []apilog.Entry) error {
	release, err := s.enter()
	if err != nil {
		return err
	}
	defer release()
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("pgstore: append: %w", err)
	}
	for i := range entries {
		if err := entries[i].Validate(); err != nil {
			return fmt.Errorf("pgstore: append: entry %d: %w", i, err)
		}
	}
	if len(entries) == 0 {
		return nil
	}
	// Batches are hashed only while one is unsure, the exception: hashing
	// every batch cost about 0.2 ms in 25.
	var r reservation
	var unsure bool
	var digest [32]byte
	s.unsureMu.Lock()
	pending := len(s.unsure) > 0
	s.unsureMu.Unlock()
	if pending {
		digest = digestOf(entries)
		s.unsureMu.Lock()
		r, unsure = s.unsure[digest]
		s.unsureMu.Unlock()
	}
	if unsure {
		done, err := s.committed(ctx, r)
		if err != nil {
			return fmt.Errorf("pgstore: append %d entries: finding out whether an earlier attempt was stored: %w", len(entries), err)
		}
		s.unsureMu.Lock()
		delete(s.unsure, digest)
		s.unsureMu.Unlock()
		if done {
			for i := range entries {
				entries[i].ID = r.ids[i]
			}
			return nil
		}
	}
	ids, err := s.append(ctx, entries)
	if isNoPartition(err) {
		// A partition this process knew of was dropped (by retention, here
		// or in another instance) since: learn which exist and try again.
		s.partMu.Lock()
		clear(s.parts)
		s.partMu.Unlock()
		ids, err = s.append(ctx, entries)
	}
	if err != nil {
		var pgErr *pgconn.PgError
		if errors.As(err, &pgErr) && pgErr.Code == "53100" {
			// PostgreSQL's own words ("could not extend file …") do not say it.
			return fmt.Errorf("pgstore: append %d entries: the database server's disk is full: %w", len(entries), err)
		}
		return fmt.Errorf("pgstore: append %d entries: %w", len(entries), err)
	}
	for i := range entries {
		entries[i].ID = ids[i]
	}
	return nil
}

func (s *Store) append(ctx context.Context, entries []apilog.Entry) ([]int64, error) {
	refs, err := s.intern(ctx, entries)
	if err != nil {
		return nil, err
	}
	if err := s.ensurePartitions(ctx, entries); err != nil {
		return nil, err
	}
	shard := <-s.shards
	defer func() { s.shards <- shard }()

	conn, err := s.pool.Acquire(ctx)
	if err != nil {
		return nil, err
	}
	// The transaction's BEGIN and COMMIT travel in the batches of
	// statements that open and close it, not in round trips of their own.
	// Until the COMMIT has been answered, a return rolls the transaction
	// back; the pool drops a connection that is still in one.
	open := false
	defer func() {
		if open {
			conn.Exec(context.WithoutCancel(ctx), "ROLLBACK")
		}
		conn.Release()
	}()
	var (
		floor int64
		ids   []int64
	)
	for {
		var again int64
		var bases []int64
		b := &pgx.Batch{}
		b.Queue("BEGIN")
		open = true
		// A writer that stopped answering (its process paused, its network
		// gone) would hold its floor lock, and so hide every newer row from
		// every page, until the server noticed: not for longer than this.
		b.Queue("SELECT set_config('idle_in_transaction_session_timeout', '10s', true), set_config('statement_timeout', '60s', true)")
		b.Queue(s.sql(`SELECT f, pg_advisory_xact_lock_shared($1::int4, (f >> 16)::int4)
			FROM (SELECT CASE WHEN is_called THEN last_value + $2 ELSE last_value - 1 END FROM {s}.entries_id_seq) AS q(f)`),
			s.lockClass, idBlock-1).QueryRow(func(r pgx.Row) error { return r.Scan(&floor, nil) })
		// Read again once the lock is held: a writer that reserved IDs in
		// between may have committed, and a query that did not see this
		// lock may have shown its rows, which a lock on the older floor
		// would hide from the next (a page's rows would vanish). If it
		// moved, the transaction starts over.
		b.Queue(s.sql("SELECT CASE WHEN is_called THEN last_value + $1 ELSE last_value - 1 END FROM {s}.entries_id_seq"), idBlock-1).
			QueryRow(func(r pgx.Row) error { return r.Scan(&again) })
		b.Queue("SELECT nextval($2::regclass) FROM generate_series(1, $1)", (len(entries)+idBlock-1)/idBlock, s.schema+".entries_id_seq").
			Query(func(rows pgx.Rows) error {
				var base int64
				_, err := pgx.ForEachRow(rows, []any{&base}, func() error { bases = append(bases, base); return nil })
				return err
			})
		if err := conn.SendBatch(ctx, b).Close(); err != nil {
			return nil, err
		}
		if again == floor {
			ids = make([]int64, len(entries))
			for i := range ids {
				ids[i] = bases[i/idBlock] + int64(i%idBlock)
			}
			break
		}
		if _, err := conn.Exec(ctx, "ROLLBACK"); err != nil {
			return nil, err
		}
		open = false
	}
	if _, err := conn.CopyFrom(ctx, pgx.Identifier{s.opts.Schema, "entries"}, entryColumns, newRowSource(entries, ids, refs)); err != nil {
		return nil, err
	}
	b := &pgx.Batch{}
	s.summarize(b, entries, ids, refs, shard)
	b.Queue("COMMIT")
	br := conn.SendBatch(ctx, b)
	// The server skips what follows a failed statement, so an error it
	// returned for one before the COMMIT means nothing was stored. Any
	// other error, and any at the COMMIT (the connection may have broken
	// after the COMMIT took effect, or the server said goodbye before
	// its answer was read), leaves the outcome unknown: remember the
	// batch, so that a retry asks before it writes.
	var committing bool
	for i := range b.Len() {
		committing = i == b.Len()-1
		if _, err = br.Exec(); err != nil {
			break
		}
	}
	if cerr := br.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		if committing || !errors.As(err, new(*pgconn.PgError)) {
			s.unsureMu.Lock()
			s.unsure[digestOf(entries)] = reservation{ids: ids, account: refs[0][refAccount], ts: entries[0].Time.UnixNano(), floor: floor}
			s.unsureMu.Unlock()
		}
		return nil, err
	}
	open = false
	return ids, nil
}

// idBlock is the sequence's increment: the IDs one nextval reserves. A
// batch of up to this many rows takes consecutive IDs, so a query bounded
// below a writer still running (see Store.query) sees it whole or not at
// all; a larger batch takes several blocks, and another writer's may fall
// between them.
const idBlock = 65536

// isNoPartition reports whether err is PostgreSQL's refusal of a row no
// partition takes.
func isNoPartition(err error) bool {
	var pgErr *pgconn.PgError
	return errors.As(err, &pgErr) && pgErr.Code == "23514" && strings.HasPrefix(pgErr.Message, "no partition")
}

var entryColumns = []string{"id", "ts", "duration", "account", "key", "method", "endpoint", "error", "ip", "status", "request_id"}

// newRowSource returns the batch's rows for COPY, in entryColumns' order,
// made as pgx asks for them: pgx encodes on a goroutine of its own while
// the connection sends, so making them overlaps with the server's work.
// Each row is the same slice of pointers into one reused row, which pgx
// encodes before it asks for the next, so no value is boxed or copied.
func newRowSource(entries []apilog.Entry, ids []int64, refs []refs) pgx.CopyFromSource {
	var r struct {
		id, ts, duration                         int64
		account, key, method, endpoint, errc, ip int64
		status                                   int16
		requestID                                []byte
	}
	row := []any{&r.id, &r.ts, &r.duration, &r.account, &r.key, &r.method, &r.endpoint, &r.errc, &r.ip, &r.status, &r.requestID}
	// Never nil, even for an empty request ID, which COPY would write as
	// NULL.
	r.requestID = make([]byte, 0, 64)
	return pgx.CopyFromSlice(len(entries), func(i int) ([]any, error) {
		e, x := &entries[i], &refs[i]
		r.id, r.ts, r.duration = ids[i], e.Time.UnixNano(), int64(e.Duration)
		r.account, r.key = x[refAccount], x[refSlot]
		r.method, r.endpoint, r.errc, r.ip = x[kindMethod], x[kindEndpoint], x[kindError], x[kindIP]
		r.status = int16(e.Status)
		r.requestID = append(r.requestID[:0], e.RequestID...)
		return row, nil
	})
}

// committed reports whether the batch of an Append whose commit's outcome
// was unknown is in the table. It first waits for that transaction to end,
// if it still runs: the exclusive lock on its floor key is granted once
// the shared one it took is released.
func (s *Store) committed(ctx context.Context, r reservation) (bool, error) {
	var found bool
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, "SELECT pg_advisory_xact_lock($1::int4, $2::int4)", s.lockClass, r.floor>>16); err != nil {
			return err
		}
		return tx.QueryRow(ctx, s.sql("SELECT EXISTS (SELECT 1 FROM {s}.entries WHERE account = $1 AND ts = $2 AND id = $3)"),
			r.account, r.ts, r.ids[0]).Scan(&found)
	})
	return found, err
}

// digestOf identifies a batch by everything in it but the IDs.
func digestOf(entries []apilog.Entry) [32]byte {
	h := sha256.New()
	var buf []byte
	for i := range entries {
		e := &entries[i]
		buf = buf[:0]
		for _, f := range [...]string{e.Account, e.KeyID, e.RequestID, e.Method, e.Endpoint, e.ErrorCode, e.IPHash} {
			buf = binary.AppendUvarint(buf, uint64(len(f)))
			buf = append(buf, f...)
		}
		buf = binary.AppendVarint(buf, int64(e.Status))
		buf = binary.AppendVarint(buf, e.Time.UnixNano())
		buf = binary.AppendVarint(buf, int64(e.Duration))
		h.Write(buf)
	}
	var d [32]byte
	h.Sum(d[:0])
	return d
}

// summarize queues the batch's additions to the counts and last IDs, of
// each account and of every account (0), in the writer's shard.
func (s *Store) summarize(b *pgx.Batch, entries []apilog.Entry, ids []int64, refs []refs, shard int16) {
	deltas := map[timecount.Key]int64{}
	last := map[int64]int64{}
	// Rows come in about time order, so most run on in the smallest
	// bucket of the row before: a run is added to the map once, not
	// each row three times for each account.
	var run struct{ account, ts, n int64 }
	flush := func() {
		for _, a := range [...]int64{run.account, 0} {
			levels.Add(deltas, a, run.ts, run.n)
		}
	}
	small := levels[len(levels)-1]
	for i := range entries {
		acct := refs[i][refAccount]
		ts := entries[i].Time.UnixNano()
		if run.n > 0 && (acct != run.account || ts>>small != run.ts>>small) {
			flush()
			run.n = 0
		}
		if run.n == 0 {
			run.account, run.ts = acct, ts
		}
		run.n++
		last[acct] = max(last[acct], ids[i])
		last[0] = max(last[0], ids[i])
	}
	flush()
	queueCounts(s, b, deltas, shard)
	accts := slices.Sorted(maps.Keys(last))
	lastIDs := make([]int64, len(accts))
	for i, a := range accts {
		lastIDs[i] = last[a]
	}
	b.Queue(s.sql(`INSERT INTO {s}.last_ids (account, shard, last_id) SELECT a, $3, l FROM unnest($1::int4[], $2::int8[]) AS u(a, l)
		ON CONFLICT (account, shard) DO UPDATE SET last_id = greatest({s}.last_ids.last_id, excluded.last_id)`), accts, lastIDs, shard)
}

// refs are the IDs an entry's row refers to: refs[kind] is its interned
// value of each kind (kindMethod to kindIP), and the two other places
// hold its account and its key slot.
type refs [6]int64

const (
	refAccount = 0
	refSlot    = 5
)

// intern returns the IDs each entry's row refers to, adding the accounts,
// key slots and values the cache lacks to the database. Each entry is
// looked up once, and again only when something of it was missing.
func (s *Store) intern(ctx context.Context, entries []apilog.Entry) ([]refs, error) {
	c := &s.cache
	out := make([]refs, len(entries))
	var (
		names     []string
		slots     []slotKey
		strs      []strKey
		missing   []int // entries that lacked something
		noAccount []int // entries that lacked their account
	)
	c.mu.RLock()
	for i := range entries {
		if ok, known := resolve(c, &entries[i], &out[i], &slots, &strs); !ok {
			missing = append(missing, i)
			if !known {
				names = append(names, entries[i].Account)
				noAccount = append(noAccount, i)
			}
		}
	}
	c.mu.RUnlock()
	if len(missing) == 0 {
		return out, nil
	}
	if len(names) > 0 {
		// The slots and values of a new account are keyed by its ID.
		if err := s.internAccounts(ctx, names); err != nil {
			return nil, err
		}
		c.mu.RLock()
		for _, i := range noAccount {
			resolve(c, &entries[i], &out[i], &slots, &strs)
		}
		c.mu.RUnlock()
	}
	if err := s.internSlots(ctx, slots); err != nil {
		return nil, err
	}
	if err := s.internStrs(ctx, strs); err != nil {
		return nil, err
	}
	c.mu.RLock()
	defer c.mu.RUnlock()
	for _, i := range missing {
		if ok, _ := resolve(c, &entries[i], &out[i], nil, nil); !ok {
			return nil, fmt.Errorf("entry %d: its account, key or a value was interned but not found", i)
		}
	}
	return out, nil
}

// resolve fills r with the IDs c knows for e's account, key slot and
// values, and reports whether it knows them all and whether it knows the
// account. It appends the slots and values it lacks to slots and strs
// unless they are nil; without the account it looks no further. The
// caller holds c.mu.
func resolve(c *cache, e *apilog.Entry, r *refs, slots *[]slotKey, strs *[]strKey) (ok, knownAccount bool) {
	acct, found := c.accounts[e.Account]
	if !found {
		return false, false
	}
	r[refAccount] = acct
	ok = true
	if r[refSlot], found = c.slots[slotKey{acct, e.KeyID}]; !found {
		ok = false
		if slots != nil {
			*slots = append(*slots, slotKey{acct, e.KeyID})
		}
	}
	for kind, v := range [...]string{kindMethod: e.Method, kindEndpoint: e.Endpoint, kindError: e.ErrorCode, kindIP: e.IPHash} {
		if kind == 0 {
			continue
		}
		k := strKey{acct, int64(kind), v}
		if r[kind], found = c.strIDs[k]; !found {
			ok = false
			if strs != nil {
				*strs = append(*strs, k)
			}
		}
	}
	return ok, true
}

// The intern functions insert what is missing, in sorted order (two
// writers adding the same values wait for each other's row locks in the
// same order, never in a cycle), and take the IDs of the rows they added
// from the insert's RETURNING: one round trip when no other writer added
// any of the values first, as is usual. The values the insert skipped,
// added by another writer, are then read back in a statement of their own
// (a new snapshot, which sees that writer's commit), each looked up on the
// unique index: a join of the values with the whole table would be hashed
// over every row of it (21 ms per batch at 50,000 values), paid by every
// batch that brings a new value.

func (s *Store) internAccounts(ctx context.Context, names []string) error {
	if len(names) == 0 {
		return nil
	}
	slices.Sort(names)
	names = slices.Compact(names)
	add := func(sql string, args ...any) error {
		rows, err := s.pool.Query(ctx, s.sql(sql), args...)
		if err != nil {
			return err
		}
		type account struct {
			id   int64
			name []byte
		}
		var got []account
		var a account
		if _, err := pgx.ForEachRow(rows, []any{&a.id, &a.name}, func() error { got = append(got, a); return nil }); err != nil {
			return err
		}
		s.cache.mu.Lock()
		defer s.cache.mu.Unlock()
		for _, a := range got {
			s.cache.addAccount(a.id, string(a.name))
		}
		names = slices.DeleteFunc(names, func(n string) bool { _, ok := s.cache.accounts[n]; return ok })
		return nil
	}
	if err := add("INSERT INTO {s}.accounts (name) SELECT n FROM unnest($1::bytea[]) AS u(n) ORDER BY n ON CONFLICT DO NOTHING RETURNING id, name",
		bytesOf(names)); err != nil || len(names) == 0 {
		return err
	}
	return add("SELECT id, name FROM {s}.accounts WHERE name = ANY($1::bytea[])", bytesOf(names))
}

func (s *Store) internSlots(ctx context.Context, keys []slotKey) error {
	if len(keys) == 0 {
		return nil
	}
	// Byte order, as PostgreSQL orders bytea.
	slices.SortFunc(keys, func(a, b slotKey) int {
		return cmp.Or(cmp.Compare(a.account, b.account), strings.Compare(a.keyID, b.keyID))
	})
	keys = slices.Compact(keys)
	add := func(sql string) error {
		accts := make([]int64, len(keys))
		ids := make([][]byte, len(keys))
		for i, k := range keys {
			accts[i], ids[i] = k.account, []byte(k.keyID)
		}
		rows, err := s.pool.Query(ctx, s.sql(sql), accts, ids)
		if err != nil {
			return err
		}
		type slot struct {
			id, account int64
			keyID       []byte
		}
		var got []slot
		var k slot
		if _, err := pgx.ForEachRow(rows, []any{&k.id, &k.account, &k.keyID}, func() error { got = append(got, k); return nil }); err != nil {
			return err
		}
		s.cache.mu.Lock()
		defer s.cache.mu.Unlock()
		for _, k := range got {
			s.cache.addSlot(k.id, slotKey{k.account, string(k.keyID)})
		}
		keys = slices.DeleteFunc(keys, func(k slotKey) bool { _, ok := s.cache.slots[k]; return ok })
		return nil
	}
	if err := add(`INSERT INTO {s}.keys (account, key_id) SELECT a, k FROM unnest($1::int4[], $2::bytea[]) AS u(a, k)
		ORDER BY a, k ON CONFLICT DO NOTHING RETURNING id, account, key_id`); err != nil || len(keys) == 0 {
		return err
	}
	// LIMIT keeps the planner from flattening the lookup into a join.
	return add(`SELECT k.id, k.account, k.key_id FROM unnest($1::int4[], $2::bytea[]) AS u(a, kid)
		CROSS JOIN LATERAL (SELECT id, account, key_id FROM {s}.keys WHERE account = u.a AND key_id = u.kid LIMIT 1) k`)
}

func (s *Store) internStrs(ctx context.Context, keys []strKey) error {
	if len(keys) == 0 {
		return nil
	}
	slices.SortFunc(keys, func(a, b strKey) int {
		return cmp.Or(cmp.Compare(a.account, b.account), cmp.Compare(a.kind, b.kind), strings.Compare(a.value, b.value))
	})
	keys = slices.Compact(keys)
	add := func(sql string) error {
		accts := make([]int64, len(keys))
		kinds := make([]int16, len(keys))
		values := make([][]byte, len(keys))
		for i, k := range keys {
			accts[i], kinds[i], values[i] = k.account, int16(k.kind), []byte(k.value)
		}
		rows, err := s.pool.Query(ctx, s.sql(sql), accts, kinds, values)
		if err != nil {
			return err
		}
		type str struct {
			id, account, kind int64
			value             []byte
		}
		var got []str
		var v str
		if _, err := pgx.ForEachRow(rows, []any{&v.id, &v.account, &v.kind, &v.value}, func() error { got = append(got, v); return nil }); err != nil {
			return err
		}
		s.cache.mu.Lock()
		defer s.cache.mu.Unlock()
		for _, v := range got {
			s.cache.addStr(v.id, strKey{v.account, v.kind, string(v.value)})
		}
		keys = slices.DeleteFunc(keys, func(k strKey) bool { _, ok := s.cache.strIDs[k]; return ok })
		return nil
	}
	if err := add(`INSERT INTO {s}.strs (account, kind, value) SELECT a, k, v FROM unnest($1::int4[], $2::int2[], $3::bytea[]) AS u(a, k, v)
		ORDER BY a, k, v ON CONFLICT DO NOTHING RETURNING id, account, kind, value`); err != nil || len(keys) == 0 {
		return err
	}
	// LIMIT keeps the planner from flattening the lookup into a join.
	return add(`SELECT s.id, s.account, s.kind, s.value FROM unnest($1::int4[], $2::int2[], $3::bytea[]) AS u(a, k, v)
		CROSS JOIN LATERAL (SELECT id, account, kind, value FROM {s}.strs WHERE account = u.a AND kind = u.k AND value = u.v LIMIT 1) s`)
}

func bytesOf(ss []string) [][]byte {
	out := make([][]byte, len(ss))
	for i, s := range ss {
		out[i] = []byte(s)
	}
	return out
}

// UpsertKey creates or replaces a key; see [apilog.Store.UpsertKey].
func (s *Store) UpsertKey(ctx context.Context, k apilog.Key) error {
	release, err := s.enter()
	if err != nil {
		return err
	}
	defer release()
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("pgstore: upsert key: %w", err)
	}
	if err := k.Validate(); err != nil {
		return fmt.Errorf("pgstore: upsert key: %w", err)
	}
	k = k.Clean()
	if err := s.internAccounts(ctx, []string{k.Account}); err != nil {
		return wrap(err, "upsert key")
	}
	s.cache.mu.RLock()
	acct := s.cache.accounts[k.Account]
	s.cache.mu.RUnlock()
	_, err = s.pool.Exec(ctx, s.sql(`INSERT INTO {s}.keys (account, key_id, known, name, prefix, inactive, created_at, rotated_at, revoked_at, expires_at)
		VALUES ($1, $2, true, $3, $4, $5, $6, $7, $8, $9)
		ON CONFLICT (account, key_id) DO UPDATE SET known = true, name = excluded.name, prefix = excluded.prefix,
			inactive = excluded.inactive, created_at = excluded.created_at, rotated_at = excluded.rotated_at,
			revoked_at = excluded.revoked_at, expires_at = excluded.expires_at`),
		acct, []byte(k.ID), []byte(k.Name), []byte(k.Prefix), k.Inactive,
		keyTime(k.CreatedAt), keyTime(k.RotatedAt), keyTime(k.RevokedAt), keyTime(k.ExpiresAt))
	return wrap(err, "upsert key")
}

// DeleteKey forgets a key; see [apilog.Store.DeleteKey]. Its slot stays,
// so its rows keep their place and show as an unknown key.
func (s *Store) DeleteKey(ctx context.Context, account, id string) error {
	release, err := s.enter()
	if err != nil {
		return err
	}
	defer release()
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("pgstore: delete key: %w", err)
	}
	_, err = s.pool.Exec(ctx, s.sql(`UPDATE {s}.keys SET known = false, name = '', prefix = '', inactive = false,
		created_at = NULL, rotated_at = NULL, revoked_at = NULL, expires_at = NULL
		WHERE account = (SELECT id FROM {s}.accounts WHERE name = $1) AND key_id = $2`), []byte(account), []byte(id))
	return wrap(err, "delete key")
}

// keyTime stores a key's instant exactly, whatever its year, and the zero
// time as NULL.
func keyTime(t time.Time) []byte {
	if t.IsZero() {
		return nil
	}
	b, err := t.MarshalBinary()
	if err != nil {
		// Only a zone offset that is not a whole minute fails; the instant
		// is what counts.
		b, _ = t.UTC().MarshalBinary()
	}
	return b
}
