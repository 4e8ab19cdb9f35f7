// Package sqlitestore is the embedded default [apilog.Store]: one SQLite
// file in WAL mode next to the app, through github.com/mattn/go-sqlite3
// (cgo).
//
// One writer connection takes every Append, UpsertKey and prune; a pool of
// read-only connections answers queries, so a query never waits for ingest,
// and ingest waits for queries only when a checkpoint needs the ones in
// flight to finish (at most 50 ms per 16 MB of WAL; 350 ms when the WAL
// has passed 32 MB and they are stopped). Text columns are interned per
// account and every sortable column has a narrow index ending in the
// timestamp, so the first page of any sort is read off an index. Searches
// match each distinct value once in Go, with the same case folding as every
// other store, and then select rows by the matching IDs, or, when no term
// narrows the rows, test every row in Go with the terms as bits.
//
// A database file belongs to one Store at a time: Open fails with
// [ErrInUse] while another Store, in this process or another, has it open
// (on Linux, macOS and the BSDs, through a lock on the file <path>-lock,
// there while the Store is open, and after a crash). Other programs may
// read the database (sqlite3, backups) but should not write to it.
package sqlitestore

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"embed"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/apilog/apilog"
	"github.com/apilog/apilog/internal/querylimit"
	"github.com/mattn/go-sqlite3"
)

// Sync chooses how hard a commit is pushed to disk.
type Sync int

const (
	// SyncNormal (the default) keeps every committed Append through a crash
	// of the process; on a power loss or OS crash the last commits before it
	// may be lost, but the database stays intact.
	SyncNormal Sync = iota
	// SyncFull also keeps every committed Append through a power loss, at
	// the cost of an fsync per commit.
	SyncFull
)

// Options configures a Store. The zero value is ready to use.
type Options struct {
	// Sync is the durability of a commit. Default SyncNormal.
	Sync Sync

	// Readers is the number of read connections. Default 4.
	Readers int

	// MaxSearches is how many queries with a search or a filter run at
	// once; more wait for a turn, up to QueryTimeout. The other Readers
	// connections stay free for the unfiltered views (a first page, a
	// total, a sort), so a few expensive searches cannot starve them.
	// Default half of Readers or of the CPUs, whichever is fewer, at least
	// 1; at most Readers - 1 when Readers > 1.
	MaxSearches int

	// QueryTimeout bounds a Query, its wait for a turn included; a query
	// stopped by it returns an error wrapping apilog.ErrTimeout. It also
	// bounds how long a query's snapshot keeps checkpoints from trimming
	// the WAL. Default 10s.
	QueryTimeout time.Duration

	// BusyTimeout is how long a statement waits for a lock held by another
	// connection (a backup, a checkpoint, a sqlite3 shell) before it fails.
	// Default 5s.
	BusyTimeout time.Duration

	// MaxAge prunes rows older than this. Zero keeps rows forever.
	MaxAge time.Duration

	// MaxRows prunes the rows beyond this many, the first stored first
	// (by ID, not by time). Zero is no limit.
	MaxRows int

	// PruneInterval is how often the background pruner runs when MaxAge or
	// MaxRows is set. Default 1 minute.
	PruneInterval time.Duration

	// SkipCheck skips the integrity check (PRAGMA quick_check) that Open
	// runs on an existing database, so that a damaged file is refused before
	// anything is written to it. The check reads the whole file: about
	// 0.5 s per million rows on a 2-core VM.
	SkipCheck bool

	// Clock returns the current time: key statuses are computed at it when
	// a Query has no Now, and MaxAge counts back from it. Default time.Now.
	Clock func() time.Time

	// Explain, if set, is told how each query was answered (see Strategy).
	// Optional; for tests and tuning.
	Explain func(q apilog.Query, s Strategy)
}

// Store is an apilog.Store on a SQLite database. Create it with Open.
//
// Lock order: a goroutine that holds one of these takes only those below
// it, never one above.
//
//	mu (read-held by every method; Close takes it to mark the store closed)
//	collectMu (one collect at a time)
//	wmu (writes: Append, UpsertKey, DeleteKey, prunes, the checkpointer)
//	hold (a search waits while it is set, before its gate, holding mu)
//	gate (read-held by a query for its snapshot; drain waits for the old one)
//	drainMu (briefly, for the list of old gates; never under a gate)
//	cache.mu (briefly, and never while waiting for another lock; a query
//	holds its read lock while it scans its page's rows)
//
// drain waits for the holders of the old gate while holding wmu (the
// checkpointer) or collectMu (collect), so a query never takes wmu or
// collectMu.
type Store struct {
	path  string
	opts  Options
	clock func() time.Time

	lock  *os.File // held while the Store is open; see claim
	limit *querylimit.Limiter
	// searchHook, set by tests only, runs in the snapshot of each query
	// that filters, before it is answered: a stand-in for a slow search.
	searchHook func(context.Context, *sql.Tx) error

	w  *sql.DB // the one writer connection
	r  *sql.DB // read-only connections
	ck *sql.DB // the checkpointer's connection

	wmu       sync.Mutex           // serializes writes, so ingest is one transaction at a time
	collectMu sync.Mutex           // see collect
	gate      atomic.Pointer[gate] // read-held by queries; see drain
	drainMu   sync.Mutex
	draining  []oldGate                     // gates swapped out whose queries may still run
	hold      atomic.Pointer[chan struct{}] // set while restart holds new searches back
	// noCutUntil is when restart may stop queries again, after one that
	// did not let the WAL restart; the checkpointer's alone.
	noCutUntil time.Time

	inserts map[int]*sql.Stmt // prepared on the writer: n → insertSQL(n)

	cache cache

	mu       sync.RWMutex // guards closed against Close
	closed   bool
	stop     chan struct{} // closed by Close
	stopOnce sync.Once
	wg       sync.WaitGroup // the background goroutines
	kicks    chan struct{}  // commits, for the checkpointer
}

var (
	_ apilog.Store     = (*Store)(nil)
	_ apilog.KeyLister = (*Store)(nil)
)

// applicationID marks a database as apilog's ("aplg"), so that Open never
// takes over another program's SQLite file.
const applicationID = 0x61706c67

// ErrNewerSchema means the database was written by a newer version of
// this package; Open refuses it rather than downgrade it.
var ErrNewerSchema = errors.New("sqlitestore: database written by a newer version")

//go:embed migrations/*.sql
var migrations embed.FS

// Open opens the database at path, creating it if it does not exist, and
// brings its schema up to date. opts may be nil. A file that is not an
// apilog database, a truncated one, or one from a newer version is refused
// with an error naming path, and left as it was.
func Open(path string, opts *Options) (*Store, error) {
	s := &Store{path: path, clock: time.Now, stop: make(chan struct{}), kicks: make(chan struct{}, 1)}
	s.gate.Store(newGate())
	if opts != nil {
		s.opts = *opts
	}
	if s.opts.Clock != nil {
		s.clock = s.opts.Clock
	}
	if s.opts.Readers <= 0 {
		s.opts.Readers = 4
	}
	if s.opts.MaxSearches <= 0 {
		// A search is CPU-bound: more at once than half the cores would
		// leave none for ingest and the other viewers.
		s.opts.MaxSearches = max(1, min(s.opts.Readers, runtime.NumCPU())/2)
	}
	if s.opts.Readers > 1 {
		s.opts.MaxSearches = min(s.opts.MaxSearches, s.opts.Readers-1)
	}
	if s.opts.QueryTimeout <= 0 {
		s.opts.QueryTimeout = 10 * time.Second
	}
	s.limit = querylimit.New(s.opts.MaxSearches, s.opts.QueryTimeout)
	if s.opts.BusyTimeout <= 0 {
		s.opts.BusyTimeout = 5 * time.Second
	}
	if s.opts.PruneInterval <= 0 {
		s.opts.PruneInterval = time.Minute
	}
	switch {
	case s.opts.MaxAge < 0:
		return nil, fmt.Errorf("sqlitestore: open %s: MaxAge %v is negative", path, s.opts.MaxAge)
	case s.opts.MaxRows < 0:
		return nil, fmt.Errorf("sqlitestore: open %s: MaxRows %d is negative", path, s.opts.MaxRows)
	case s.opts.Sync != SyncNormal && s.opts.Sync != SyncFull:
		return nil, fmt.Errorf("sqlitestore: open %s: unknown Sync %d", path, s.opts.Sync)
	}
	// The file by one name, for the lock and the connections.
	real, err := resolve(path)
	if err != nil {
		return nil, fmt.Errorf("sqlitestore: open %s: %w", path, err)
	}
	s.path = real
	if err := checkDir(real); err != nil {
		return nil, fmt.Errorf("sqlitestore: open %s: %w", path, err)
	}
	// The claim before checkFile, which opens and closes the database: that
	// would drop another Store's SQLite locks in this process.
	if s.lock, err = claim(real); err != nil {
		return nil, fmt.Errorf("sqlitestore: open %s: %w", path, err)
	}
	if err := checkFile(real); err != nil {
		release(s.lock)
		return nil, fmt.Errorf("sqlitestore: open %s: %w", path, err)
	}
	if err := s.open(); err != nil {
		s.w.Close()
		s.r.Close()
		s.ck.Close()
		release(s.lock)
		return nil, fmt.Errorf("sqlitestore: open %s: %w", path, err)
	}
	s.wg.Add(2)
	go s.pruner()
	go s.checkpointer()
	return s, nil
}

// checkDir reports a directory that does not exist, in those words rather
// than SQLite's "unable to open database file".
func checkDir(path string) error {
	dir := filepath.Dir(path)
	if _, err := os.Stat(dir); errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("directory %s does not exist (%w)", dir, err)
	}
	return nil
}

// checkFile refuses, before SQLite touches it, a file that is not a SQLite
// database or is shorter than its header says: SQLite would otherwise
// report the damage only when a query reaches the missing pages.
func checkFile(path string) error {
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil // created by SQLite, or an error naming the missing directory
	}
	if err != nil {
		return err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return err
	}
	if st.IsDir() {
		return errors.New("is a directory")
	}
	if st.Size() == 0 {
		return nil // an empty file is an empty database to SQLite
	}
	var h [100]byte
	if _, err := io.ReadFull(f, h[:]); err != nil || string(h[:16]) != "SQLite format 3\x00" {
		return errors.New("not a SQLite database (no SQLite header)")
	}
	pageSize := int64(binary.BigEndian.Uint16(h[16:18]))
	if pageSize == 1 {
		pageSize = 65536
	}
	pages := int64(binary.BigEndian.Uint32(h[28:32]))
	// The in-header size is valid when its version number matches the
	// change counter; SQLite has written both since 3.7.0. A checkpoint
	// writes page 1 before the pages that lengthen the file, so a process
	// killed in between leaves a short file whose WAL still holds the rest:
	// then SQLite, not this check, decides (see quick_check in migrate).
	if wal, err := os.Stat(path + "-wal"); err == nil && wal.Size() > 0 {
		return nil
	}
	if binary.BigEndian.Uint32(h[24:28]) == binary.BigEndian.Uint32(h[92:96]) && st.Size() < pages*pageSize {
		return fmt.Errorf("database is truncated: %d bytes, its header says %d pages of %d bytes", st.Size(), pages, pageSize)
	}
	return nil
}

func (s *Store) open() error {
	sync := "NORMAL"
	if s.opts.Sync == SyncFull {
		sync = "FULL"
	}
	common := []string{
		fmt.Sprintf("PRAGMA busy_timeout = %d", s.opts.BusyTimeout.Milliseconds()),
		"PRAGMA synchronous = " + sync,
		"PRAGMA temp_store = MEMORY",
		"PRAGMA trusted_schema = OFF",
	}
	// The writer's cache holds the hot ends of every index, so that a batch
	// dirties few pages it has to read first. It never checkpoints: the
	// checkpointer does, on its own connection (see checkpointer).
	s.w = sql.OpenDB(&connector{dsn: dsn(s.path, "rwc"), pragmas: append(slices.Clip(common), "PRAGMA cache_size = -65536", "PRAGMA wal_autocheckpoint = 0")})
	s.w.SetMaxOpenConns(1)
	s.w.SetMaxIdleConns(1)
	s.w.SetConnMaxLifetime(0)
	s.w.SetConnMaxIdleTime(0)
	s.r = sql.OpenDB(&connector{dsn: dsn(s.path, "rw"), pragmas: append(slices.Clip(common), "PRAGMA query_only = ON", "PRAGMA cache_size = -16384")})
	s.r.SetMaxOpenConns(s.opts.Readers)
	s.r.SetMaxIdleConns(s.opts.Readers)
	s.ck = sql.OpenDB(&connector{dsn: dsn(s.path, "rw"), pragmas: append(slices.Clip(common), "PRAGMA busy_timeout = 20")})
	s.ck.SetMaxOpenConns(1)

	ctx := context.Background()
	if err := s.migrate(ctx); err != nil {
		return err
	}
	s.inserts = map[int]*sql.Stmt{}
	for _, n := range insertSizes {
		st, err := s.w.PrepareContext(ctx, insertSQL(n))
		if err != nil {
			return err
		}
		s.inserts[n] = st
	}
	s.cache.init() // before any goroutine reads the maps
	return s.cache.refresh(ctx, s.w)
}

// dsn is the go-sqlite3 data source name for path. The path goes through
// file: URI escaping so that a name with "?" or "#" is not cut short.
func dsn(p, mode string) string {
	var b strings.Builder
	b.WriteString("file:")
	for i := 0; i < len(p); i++ {
		if c := p[i]; c == '?' || c == '#' || c == '%' {
			fmt.Fprintf(&b, "%%%02X", c)
		} else {
			b.WriteByte(c)
		}
	}
	b.WriteString("?mode=" + mode)
	if mode == "rwc" {
		// The writer takes the write lock when a transaction begins, so that
		// a batch never fails halfway on a lock it could not upgrade.
		b.WriteString("&_txlock=immediate")
	}
	return b.String()
}

// connector opens go-sqlite3 connections with the store's pragmas applied
// to every connection of the pool.
type connector struct {
	dsn     string
	pragmas []string
}

func (c *connector) Connect(context.Context) (driver.Conn, error) {
	conn, err := c.Driver().Open(c.dsn)
	if err != nil {
		return nil, err
	}
	return conn, nil
}

func (c *connector) Driver() driver.Driver {
	return &sqlite3.SQLiteDriver{ConnectHook: func(conn *sqlite3.SQLiteConn) error {
		for _, p := range c.pragmas {
			if _, err := conn.Exec(p, nil); err != nil {
				return fmt.Errorf("%s: %w", p, err)
			}
		}
		return nil
	}}
}

// migrate checks that the database is apilog's (or empty), switches it to
// WAL and applies the migrations it lacks, each in its own transaction.
func (s *Store) migrate(ctx context.Context) error {
	var appID, version, tables int
	if err := s.w.QueryRowContext(ctx, "PRAGMA application_id").Scan(&appID); err != nil {
		return err
	}
	if err := s.w.QueryRowContext(ctx, "PRAGMA user_version").Scan(&version); err != nil {
		return err
	}
	if err := s.w.QueryRowContext(ctx, "SELECT count(*) FROM sqlite_schema").Scan(&tables); err != nil {
		return err
	}
	switch {
	case appID == 0 && tables == 0:
		// A new database.
	case appID != applicationID:
		return fmt.Errorf("not an apilog database (application_id %#x, %d schema objects)", appID, tables)
	case version > SchemaVersion:
		return fmt.Errorf("%w: schema version %d, this version reads up to %d", ErrNewerSchema, version, SchemaVersion)
	}
	if tables > 0 && !s.opts.SkipCheck {
		// Damage in the middle of the file shows only when a query reaches
		// it; find it before anything is written.
		var res string
		if err := s.w.QueryRowContext(ctx, "PRAGMA quick_check(1)").Scan(&res); err != nil {
			return fmt.Errorf("integrity check: %w", err)
		}
		if res != "ok" {
			return fmt.Errorf("database is damaged: integrity check: %s", res)
		}
	}
	var mode string
	if err := s.w.QueryRowContext(ctx, "PRAGMA journal_mode = WAL").Scan(&mode); err != nil {
		return err
	}
	if mode != "wal" {
		return fmt.Errorf("journal mode is %q, want wal", mode)
	}
	// A WAL that is truncated when it restarts does not keep its
	// high-water mark on disk, and its size then tells the checkpointer how
	// much has been written since: the WAL is truncated to walCheckpoint,
	// so it passes that only when more is in it.
	if _, err := s.w.ExecContext(ctx, fmt.Sprintf("PRAGMA journal_size_limit = %d", walCheckpoint)); err != nil {
		return err
	}
	files, err := fs.Glob(migrations, "migrations/*.sql")
	if err != nil {
		return err
	}
	for i, name := range files {
		v := i + 1
		if n, err := strconv.Atoi(strings.SplitN(path.Base(name), "_", 2)[0]); err != nil || n != v {
			return fmt.Errorf("migration %s is out of sequence", name) // a packaging bug, caught by the tests
		}
		if v <= version {
			continue
		}
		body, err := migrations.ReadFile(name)
		if err != nil {
			return err
		}
		if err := s.inTx(ctx, func(tx *sql.Tx) error {
			if _, err := tx.ExecContext(ctx, string(body)); err != nil {
				return fmt.Errorf("migration %s: %w", name, err)
			}
			_, err := tx.ExecContext(ctx, fmt.Sprintf("PRAGMA user_version = %d; PRAGMA application_id = %d", v, applicationID))
			return err
		}); err != nil {
			return err
		}
	}
	return nil
}

// inTx runs f in a write transaction on the writer connection and commits
// it when f returns nil.
func (s *Store) inTx(ctx context.Context, f func(tx *sql.Tx) error) error {
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	if err := f(tx); err != nil {
		tx.Rollback()
		return err
	}
	return tx.Commit()
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

// Close stops the background pruner, checkpoints the WAL into the database
// and closes every connection. A second Close returns nil.
func (s *Store) Close() error {
	// Stop the pruner first: it holds mu's read lock for a whole run.
	s.stopOnce.Do(func() { close(s.stop) })
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	s.mu.Unlock()
	s.wg.Wait()
	_, cerr := s.w.Exec("PRAGMA wal_checkpoint(TRUNCATE)")
	err := errors.Join(s.r.Close(), s.ck.Close(), s.w.Close(), wrap(cerr, "checkpoint on close"))
	// Released once SQLite has let go of the file.
	return errors.Join(err, release(s.lock))
}

// wrap wraps a non-nil err with the store's context.
func wrap(err error, what string) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf("sqlitestore: %s: %w", what, err)
}
