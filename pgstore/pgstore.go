// Package pgstore is the shared [apilog.Store]: one PostgreSQL database
// that every instance of an API records into and any instance serves the
// Logs page from, through github.com/jackc/pgx/v5.
//
// Any number of processes append at once, each batch in one transaction
// written with COPY; no lock is taken by every writer, and the counts they
// update are spread over shards. Entries are range partitioned by time,
// 2^46 ns (about 19.5 hours) a partition, created ahead by the store;
// MaxAge drops whole partitions. Text columns are interned per
// account into small tables every process mirrors in memory, so rows hold
// small integers, and every sortable column has an index ending in the
// time, so the first page of any sort is read off an index. Totals of the
// unfiltered view come from per-bucket counts the writers keep; searches
// match each distinct value once in Go, with the same rules as every other
// store, and then select rows by the matching IDs.
package pgstore

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"hash/fnv"
	"io/fs"
	"math/rand/v2"
	"path"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/apilog/apilog"
	"github.com/apilog/apilog/internal/querylimit"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// Options configures a Store. The zero value is ready to use.
type Options struct {
	// Schema is the PostgreSQL schema that holds the store's tables; Open
	// creates it. Default "apilog".
	Schema string

	// QueryTimeout bounds a Query, its wait for a turn among the searches
	// included, and each of its statements (PostgreSQL's
	// statement_timeout), so that no search can hold a connection for
	// long; a query stopped by it returns an error wrapping
	// apilog.ErrTimeout. Default 10s.
	QueryTimeout time.Duration

	// MaxSearches is how many queries with a search or a filter, and
	// charts (CountVolume, which reads every row it counts), run at once;
	// more wait for a turn, up to QueryTimeout. The unfiltered pages and
	// Append never wait for them, so a few expensive searches cannot
	// take every connection the page and the recorder need. Open sizes its
	// pool to MaxSearches plus 4 connections unless the URL sets
	// pool_max_conns; give a pool passed to OpenPool at least as many.
	// Default 4.
	MaxSearches int

	// MaxAge drops the rows older than this, a partition (about 19.5
	// hours of rows) at a time: a row is dropped between MaxAge and MaxAge
	// plus one partition after its time. Zero keeps rows forever.
	//
	// There is no MaxRows: dropping the first rows by ID would mean
	// deleting rows one by one across partitions, with the vacuum that
	// follows, which partitions by time exist to avoid.
	MaxAge time.Duration

	// MaintainInterval is how often the store creates the partitions
	// ahead and, with MaxAge, drops the old ones. Default 1 minute.
	MaintainInterval time.Duration

	// LockTimeout bounds how long attaching or dropping a partition waits
	// for the queries in flight, so that the page never queues behind it
	// for long; a partition not dropped is tried again later. Default 1s.
	LockTimeout time.Duration

	// Clock returns the current time: key statuses are computed at it when
	// a Query has no Now, MaxAge counts back from it, and partitions are
	// created ahead of it. Default time.Now.
	Clock func() time.Time

	// Explain, if set, is told how each query was answered (see Strategy).
	// Optional; for tests and tuning.
	Explain func(q apilog.Query, s Strategy)
}

// Store is an apilog.Store on a PostgreSQL database. Create it with Open
// or OpenPool.
type Store struct {
	pool   *pgxpool.Pool
	owned  bool // the pool was opened by Open, so Close closes it
	opts   Options
	clock  func() time.Time
	schema string // quoted
	tag    int64  // the high bits of the advisory lock keys of migrations and partitions
	// lockClass is the first key of the writers' floor locks: the schema's
	// OID, unique in the database, so that no other schema's writers (nor
	// another program's locks) are taken for this one's. The second key is
	// the floor's block number (see idBlock).
	lockClass int32

	cache cache

	partMu sync.Mutex
	parts  map[int64]bool // partition buckets known to exist

	unsureMu sync.Mutex
	unsure   map[[32]byte]reservation // batches whose commit may have happened; see Append
	shards   chan int16               // the counts shards this Store writes to
	limit    *querylimit.Limiter      // MaxSearches and QueryTimeout

	mu     sync.RWMutex // guards closed against Close
	closed bool
	done   context.Context // cancelled by Close, for the maintainer
	stop   context.CancelFunc
	wg     sync.WaitGroup
}

var (
	_ apilog.Store     = (*Store)(nil)
	_ apilog.KeyLister = (*Store)(nil)
)

// ErrNewerSchema means the database was written by a newer version of
// this package; Open refuses it rather than downgrade it.
var ErrNewerSchema = errors.New("pgstore: database written by a newer version")

// SchemaVersion is the version of the schema this package writes: the
// number of the last file in migrations/.
const SchemaVersion = 2

//go:embed migrations/*.sql
var migrations embed.FS

// Open connects to the database at connString (a postgres:// URL or a
// key=value string, as pgx takes it) and brings its schema up to date.
// opts may be nil. The Store owns the pool and closes it on Close.
func Open(ctx context.Context, connString string, opts *Options) (*Store, error) {
	cfg, err := pgxpool.ParseConfig(connString)
	if err != nil {
		// pgx's error may quote the string, password included.
		return nil, errors.New("pgstore: open: the connection string does not parse")
	}
	if !strings.Contains(connString, "pool_max_conns") {
		searches := defaultMaxSearches
		if opts != nil && opts.MaxSearches > 0 {
			searches = opts.MaxSearches
		}
		cfg.MaxConns = max(cfg.MaxConns, int32(searches+4))
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("pgstore: open: %w", err)
	}
	s, err := OpenPool(ctx, pool, opts)
	if err != nil {
		pool.Close()
		return nil, err
	}
	s.owned = true
	return s, nil
}

// OpenPool is Open on a pool the caller keeps: Close leaves it open. Every
// statement the store runs names its schema, so the pool's search_path does
// not matter.
func OpenPool(ctx context.Context, pool *pgxpool.Pool, opts *Options) (*Store, error) {
	s := &Store{pool: pool, clock: time.Now, parts: map[int64]bool{}, unsure: map[[32]byte]reservation{}}
	s.done, s.stop = context.WithCancel(context.Background())
	if opts != nil {
		s.opts = *opts
	}
	if s.opts.Schema == "" {
		s.opts.Schema = "apilog"
	}
	if s.opts.Clock != nil {
		s.clock = s.opts.Clock
	}
	if s.opts.QueryTimeout <= 0 {
		s.opts.QueryTimeout = 10 * time.Second
	}
	if s.opts.MaintainInterval <= 0 {
		s.opts.MaintainInterval = time.Minute
	}
	if s.opts.MaxSearches <= 0 {
		s.opts.MaxSearches = defaultMaxSearches
	}
	s.limit = querylimit.New(s.opts.MaxSearches, s.opts.QueryTimeout)
	if s.opts.LockTimeout <= 0 {
		s.opts.LockTimeout = time.Second
	}
	if s.opts.MaxAge < 0 {
		s.stop()
		return nil, fmt.Errorf("pgstore: open: MaxAge %v is negative", s.opts.MaxAge)
	}
	s.schema = pgx.Identifier{s.opts.Schema}.Sanitize()
	h := fnv.New32a()
	h.Write([]byte("apilog:" + s.opts.Schema))
	s.tag = int64(h.Sum32()&0xffff | 0x8000) // never 0, so never another program's small keys
	// In an order of this Store's own, so that two instances' first
	// batches do not both take shard 0.
	s.shards = make(chan int16, shardCount)
	for _, i := range rand.Perm(shardCount) {
		s.shards <- int16(i)
	}
	s.cache.init()
	if err := s.migrate(ctx); err != nil {
		s.stop()
		return nil, fmt.Errorf("pgstore: open schema %s: %w", s.opts.Schema, err)
	}
	var oid uint32
	if err := s.pool.QueryRow(ctx, "SELECT $1::regnamespace::oid", s.schema).Scan(&oid); err != nil {
		s.stop()
		return nil, fmt.Errorf("pgstore: open schema %s: %w", s.opts.Schema, err)
	}
	s.lockClass = int32(oid) // as pg_advisory_lock's int4 takes it; pg_locks shows it back as the OID
	if err := s.maintain(ctx); err != nil {
		s.stop()
		return nil, fmt.Errorf("pgstore: open schema %s: %w", s.opts.Schema, err)
	}
	s.wg.Add(1)
	go s.maintainer()
	return s, nil
}

const defaultMaxSearches = 4

// shardCount is the number of rows per bucket of the counts table that
// concurrent writers spread over.
const shardCount = 16

// sql returns query with {s} replaced by the store's schema.
func (s *Store) sql(query string) string { return strings.ReplaceAll(query, "{s}", s.schema) }

// migrate applies the migrations the schema lacks, under an advisory lock
// so that instances starting together apply each one once.
func (s *Store) migrate(ctx context.Context) error {
	conn, err := s.pool.Acquire(ctx)
	if err != nil {
		return err
	}
	defer conn.Release()
	// A session lock, taken and released on this one connection: a
	// migration is several statements and transactions.
	key := s.tag<<48 | 1
	if _, err := conn.Exec(ctx, "SELECT pg_advisory_lock($1)", key); err != nil {
		return err
	}
	defer conn.Exec(context.WithoutCancel(ctx), "SELECT pg_advisory_unlock($1)", key)
	// CREATE SCHEMA needs CREATE on the database even when the schema
	// exists: an instance whose role lacks it can still open one made.
	var exists bool
	if err := conn.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM pg_namespace WHERE nspname = $1)", s.opts.Schema).Scan(&exists); err != nil {
		return err
	}
	if !exists {
		if _, err := conn.Exec(ctx, s.sql("CREATE SCHEMA IF NOT EXISTS {s}")); err != nil {
			return err
		}
	}
	if _, err := conn.Exec(ctx, s.sql("CREATE TABLE IF NOT EXISTS {s}.schema_version (version integer NOT NULL)")); err != nil {
		return err
	}
	var version int
	if err := conn.QueryRow(ctx, s.sql("SELECT coalesce(max(version), 0) FROM {s}.schema_version")).Scan(&version); err != nil {
		return err
	}
	if version > SchemaVersion {
		return fmt.Errorf("%w: schema version %d, this version reads up to %d", ErrNewerSchema, version, SchemaVersion)
	}
	files, err := fs.Glob(migrations, "migrations/*.sql")
	if err != nil {
		return err
	}
	for i, name := range files {
		v := i + 1
		if n, err := strconv.Atoi(strings.SplitN(path.Base(name), "_", 2)[0]); err != nil || n != v {
			return fmt.Errorf("migration %s is out of sequence", name)
		}
		if v <= version {
			continue
		}
		body, err := migrations.ReadFile(name)
		if err != nil {
			return err
		}
		err = pgx.BeginFunc(ctx, conn, func(tx pgx.Tx) error {
			if _, err := tx.Exec(ctx, s.sql(string(body))); err != nil {
				return fmt.Errorf("migration %s: %w", name, err)
			}
			_, err := tx.Exec(ctx, s.sql("DELETE FROM {s}.schema_version; INSERT INTO {s}.schema_version VALUES ("+strconv.Itoa(v)+")"))
			return err
		})
		if err != nil {
			return err
		}
	}
	return nil
}

// enter guards a method against a closed store; the returned func releases it.
func (s *Store) enter() (func(), error) {
	s.mu.RLock()
	if s.closed {
		s.mu.RUnlock()
		return nil, apilog.ErrClosed
	}
	return s.mu.RUnlock, nil
}

// Close stops the background maintainer and, when Open made the pool,
// closes it. A second Close returns nil.
func (s *Store) Close() error {
	s.stop()
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	s.mu.Unlock()
	s.wg.Wait()
	if s.owned {
		s.pool.Close()
	}
	return nil
}

// wrap wraps a non-nil err with the store's context.
func wrap(err error, what string) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf("pgstore: %s: %w", what, err)
}
