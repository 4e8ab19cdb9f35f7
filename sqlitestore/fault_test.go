package sqlitestore_test

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"errors"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/apilog/apilog"
	"github.com/apilog/apilog/apilogtest"
	"github.com/apilog/apilog/internal/race"
	"github.com/apilog/apilog/sqlitestore"
	"github.com/google/go-cmp/cmp"
	"github.com/mattn/go-sqlite3"
)

// t0 is when the synthetic entries of these tests start; now is when they
// are read, so that key statuses do not depend on the wall clock.
var (
	t0  = time.Date(2026, 11, 1, 12, 0, 0, 0, time.UTC)
	now = t0.Add(30 * 24 * time.Hour)
)

// openStore opens the store at path and closes it when the test ends,
// failing the test if Close fails.
func openStore(tb testing.TB, path string, opts *sqlitestore.Options) *sqlitestore.Store {
	tb.Helper()
	s, err := sqlitestore.Open(path, opts)
	if err != nil {
		tb.Fatalf("Open: %v", err)
	}
	tb.Cleanup(func() {
		if err := s.Close(); err != nil {
			tb.Errorf("Close: %v", err)
		}
	})
	return s
}

// makeStore creates a store at path with n synthetic entries and closes it,
// leaving a real apilog database on disk.
func makeStore(tb testing.TB, path string, n int) {
	tb.Helper()
	s, err := sqlitestore.Open(path, nil)
	if err != nil {
		tb.Fatalf("Open: %v", err)
	}
	syn := apilogtest.NewSynthetic(1, "acct_make", 4, t0)
	for _, k := range syn.Keys {
		if err := s.UpsertKey(context.Background(), k); err != nil {
			tb.Fatalf("UpsertKey: %v", err)
		}
	}
	if err := s.Append(context.Background(), syn.Entries(n)); err != nil {
		tb.Fatalf("Append: %v", err)
	}
	if err := s.Close(); err != nil {
		tb.Fatalf("Close: %v", err)
	}
}

// openReadOnly opens path on a connection of its own, apart from the
// store's, that cannot write: what it sees is what is on disk.
func openReadOnly(tb testing.TB, path string) *sql.DB {
	tb.Helper()
	db, err := sql.Open("sqlite3", "file:"+path+"?mode=ro")
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { db.Close() })
	return db
}

// totalRows returns how many rows the store holds in all accounts.
func totalRows(tb testing.TB, s apilog.Store) int {
	tb.Helper()
	p, err := s.Query(context.Background(), apilog.Query{AllAccounts: true, PageSize: 1, Now: now})
	if err != nil {
		tb.Fatalf("Query: %v", err)
	}
	return p.TotalRows
}

// schema returns the database's schema objects, one "type name: sql" line
// each.
func schema(tb testing.TB, db *sql.DB) []string {
	tb.Helper()
	rows, err := db.Query("SELECT type, name, sql FROM sqlite_schema ORDER BY name")
	if err != nil {
		tb.Fatal(err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var typ, name string
		var text sql.NullString // NULL for automatic indexes
		if err := rows.Scan(&typ, &name, &text); err != nil {
			tb.Fatal(err)
		}
		out = append(out, typ+" "+name+": "+text.String)
	}
	if err := rows.Err(); err != nil {
		tb.Fatal(err)
	}
	return out
}

// pragma returns the value of a PRAGMA as text.
func pragma(tb testing.TB, q interface {
	QueryRowContext(context.Context, string, ...any) *sql.Row
}, name string) string {
	tb.Helper()
	var v string
	if err := q.QueryRowContext(context.Background(), "PRAGMA "+name).Scan(&v); err != nil {
		tb.Fatalf("PRAGMA %s: %v", name, err)
	}
	return v
}

// snapshot returns the SHA-256 of every regular file under dir, by path
// relative to dir: comparing two snapshots shows a modified file and any
// file added or removed, such as a -wal or -shm left behind.
func snapshot(tb testing.TB, dir string) map[string][sha256.Size]byte {
	tb.Helper()
	out := map[string][sha256.Size]byte{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(dir, p)
		if err != nil {
			return err
		}
		out[rel] = sha256.Sum256(b)
		return nil
	})
	if err != nil {
		tb.Fatal(err)
	}
	return out
}

func TestOpenFaults(t *testing.T) {
	tests := []struct {
		name string
		// setup prepares dir and returns the path to open.
		setup   func(t *testing.T, dir string) string
		wantMsg string // in the error, besides the path; "" for any
		wantIs  error
	}{{
		name: "random bytes",
		setup: func(t *testing.T, dir string) string {
			b := make([]byte, 8192)
			rand.NewChaCha8([32]byte{1}).Read(b)
			return writeFile(t, filepath.Join(dir, "logs.db"), b)
		},
		wantMsg: "not a SQLite database",
	}, {
		name: "text file",
		setup: func(t *testing.T, dir string) string {
			return writeFile(t, filepath.Join(dir, "logs.db"), []byte("GET /v1/models 200\nPOST /v1/upscale 500\n"))
		},
		wantMsg: "not a SQLite database",
	}, {
		name: "truncated to half",
		setup: func(t *testing.T, dir string) string {
			path := filepath.Join(dir, "logs.db")
			makeStore(t, path, 2000)
			st, err := os.Stat(path)
			if err != nil {
				t.Fatal(err)
			}
			if err := os.Truncate(path, st.Size()/2); err != nil {
				t.Fatal(err)
			}
			return path
		},
		wantMsg: "truncated",
	}, {
		// The header stays intact, so only reading the pages shows the
		// damage.
		name: "corrupted in the middle",
		setup: func(t *testing.T, dir string) string {
			path := filepath.Join(dir, "logs.db")
			makeStore(t, path, 2000)
			b, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			junk := b[len(b)/2-4096 : len(b)/2+4096]
			rand.NewChaCha8([32]byte{2}).Read(junk)
			return writeFile(t, path, b)
		},
		// Any wording: SQLite's own ("malformed") or a check's report.
	}, {
		name: "directory missing",
		setup: func(t *testing.T, dir string) string {
			return filepath.Join(dir, "missing", "logs.db")
		},
		wantMsg: "missing does not exist",
	}, {
		name: "directory not writable",
		setup: func(t *testing.T, dir string) string {
			if os.Geteuid() == 0 {
				// Root ignores directory permissions, so SQLite would create
				// the file in a 0555 directory and the case would test
				// nothing. A parent that is a regular file fails for root
				// too.
				t.Log("running as root: the parent is a regular file instead of a read-only directory")
				return filepath.Join(writeFile(t, filepath.Join(dir, "parent"), []byte("a file\n")), "logs.db")
			}
			ro := filepath.Join(dir, "ro")
			if err := os.Mkdir(ro, 0o555); err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { os.Chmod(ro, 0o755) }) // so that TempDir can remove it
			return filepath.Join(ro, "logs.db")
		},
	}, {
		name: "a directory",
		setup: func(t *testing.T, dir string) string {
			path := filepath.Join(dir, "logs.db")
			if err := os.Mkdir(path, 0o755); err != nil {
				t.Fatal(err)
			}
			return path
		},
		wantMsg: "is a directory",
	}, {
		name: "another program's database",
		setup: func(t *testing.T, dir string) string {
			path := filepath.Join(dir, "other.db")
			db, err := sql.Open("sqlite3", path)
			if err != nil {
				t.Fatal(err)
			}
			defer db.Close()
			if _, err := db.Exec("CREATE TABLE t(x); INSERT INTO t VALUES (42)"); err != nil {
				t.Fatal(err)
			}
			return path
		},
		wantMsg: "not an apilog database",
	}, {
		name: "newer schema",
		setup: func(t *testing.T, dir string) string {
			path := filepath.Join(dir, "logs.db")
			makeStore(t, path, 10)
			db, err := sql.Open("sqlite3", path)
			if err != nil {
				t.Fatal(err)
			}
			defer db.Close()
			if _, err := db.Exec("PRAGMA user_version = " + strconv.Itoa(sqlitestore.SchemaVersion+1)); err != nil {
				t.Fatal(err)
			}
			return path
		},
		wantMsg: "schema version " + strconv.Itoa(sqlitestore.SchemaVersion+1),
		wantIs:  sqlitestore.ErrNewerSchema,
	}}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			path := tc.setup(t, dir)
			before := snapshot(t, dir)

			s, err := sqlitestore.Open(path, nil)
			if err == nil {
				s.Close()
				t.Fatalf("Open(%s) succeeded, want an error", path)
			}
			t.Logf("Open: %v", err)
			if !strings.Contains(err.Error(), path) {
				t.Errorf("error %q does not name the path %s", err, path)
			}
			if !strings.Contains(err.Error(), tc.wantMsg) {
				t.Errorf("error %q does not say %q", err, tc.wantMsg)
			}
			if tc.wantIs != nil && !errors.Is(err, tc.wantIs) {
				t.Errorf("error %q does not wrap %v", err, tc.wantIs)
			}
			// Nothing changed, and nothing was left behind (a -wal that a
			// later open would replay into the file, a -shm).
			if diff := cmp.Diff(before, snapshot(t, dir)); diff != "" {
				t.Errorf("files under the directory changed (-before +after):\n%s", diff)
			}
		})
	}
}

// writeFile writes b to path and returns path.
func writeFile(tb testing.TB, path string, b []byte) string {
	tb.Helper()
	if err := os.WriteFile(path, b, 0o644); err != nil {
		tb.Fatal(err)
	}
	return path
}

// Searches go to SQLite as lists of IDs, never as text; these are the
// searches that would break a store that built LIKE patterns or SQL from
// them.
func TestSearchLeavesSchema(t *testing.T) {
	path := filepath.Join(t.TempDir(), "logs.db")
	s := openStore(t, path, nil)
	ctx := context.Background()
	const acct = "acct_schema"
	var entries []apilog.Entry
	for i, ep := range []string{"/v1/promo/50%_off", "/v1/promo/50x-off", `/v1/files/a\b`, "/v1/q/' OR 1=1--", "/v1/ok", "/v1/pct/%"} {
		entries = append(entries, apilog.Entry{Account: acct, RequestID: "req_" + strconv.Itoa(i), Method: "GET",
			Endpoint: ep, Status: 200, Time: t0.Add(time.Duration(i) * time.Minute)})
	}
	if err := s.Append(ctx, slices.Clone(entries)); err != nil {
		t.Fatal(err)
	}
	ro := openReadOnly(t, path)
	before := schema(t, ro)
	if len(before) == 0 {
		t.Fatal("empty schema")
	}
	for _, text := range []string{`50%_off`, `' OR 1=1--`, `%`, `\`, `_`, `"; DROP TABLE entries; --"`,
		`x'); DROP TABLE entries; --`, `endpoint:%`, `-%`} {
		search, err := apilog.ParseSearch(text, apilogtest.Hasher{})
		if err != nil {
			t.Fatalf("ParseSearch(%q): %v", text, err)
		}
		q := apilog.Query{Account: acct, Search: search, Now: now}
		got, err := s.Query(ctx, q)
		if err != nil {
			t.Fatalf("Query(%q): %v", text, err)
		}
		want, err := q.Apply(apilogtest.Join(entries, nil, now))
		if err != nil {
			t.Fatal(err)
		}
		if got.TotalRows != want.TotalRows {
			t.Errorf("search %q: %d rows, want %d", text, got.TotalRows, want.TotalRows)
		}
	}
	if diff := cmp.Diff(before, schema(t, ro)); diff != "" {
		t.Errorf("schema changed by the searches (-before +after):\n%s", diff)
	}
	if got := totalRows(t, s); got != len(entries) {
		t.Errorf("%d rows after the searches, want %d", got, len(entries))
	}
}

func TestDiskFull(t *testing.T) {
	path := filepath.Join(t.TempDir(), "logs.db")
	s := openStore(t, path, nil)
	ctx := context.Background()
	syn := apilogtest.NewSynthetic(3, "acct_full", 4, t0)
	syn.UniquePaths = true // new values to intern in every batch, so the batch needs new pages
	var acked []apilog.Entry
	appendOK := func(batch []apilog.Entry) {
		t.Helper()
		if err := s.Append(ctx, batch); err != nil {
			t.Fatalf("Append: %v", err)
		}
		acked = append(acked, batch...)
	}
	appendOK(syn.Entries(500))

	w, err := sqlitestore.WriterConn(ctx, s)
	if err != nil {
		t.Fatal(err)
	}
	pages, err := strconv.ParseInt(pragma(t, w, "page_count"), 10, 64)
	w.Close()
	if err != nil {
		t.Fatal(err)
	}
	if err := sqlitestore.SetMaxPageCount(s, pages+20); err != nil {
		t.Fatal(err)
	}

	var failed []apilog.Entry
	for range 1000 { // 20 pages fill long before 200,000 rows
		batch := syn.Entries(200)
		if err := s.Append(ctx, batch); err != nil {
			t.Logf("Append with %d rows stored: %v", len(acked), err)
			if !strings.Contains(strings.ToLower(err.Error()), "full") {
				t.Errorf("error %q does not say the disk is full", err)
			}
			if se := (sqlite3.Error{}); !errors.As(err, &se) || se.Code != sqlite3.ErrFull {
				t.Errorf("error %q (%#v) is not SQLITE_FULL", err, se)
			}
			failed = batch
			break
		}
		acked = append(acked, batch...)
	}
	if failed == nil {
		t.Fatalf("Append never failed with max_page_count %d", pages+20)
	}
	for i, e := range failed {
		if e.ID != 0 {
			t.Fatalf("failed batch: entry %d was given ID %d", i, e.ID)
		}
	}
	if got := totalRows(t, s); got != len(acked) {
		t.Fatalf("after the failed batch: %d rows, want the %d acknowledged", got, len(acked))
	}
	// Still full: a second try fails the same way, and still stores nothing.
	if err := s.Append(ctx, slices.Clone(failed)); err == nil {
		t.Fatal("Append succeeded on a full database")
	}
	if got := totalRows(t, s); got != len(acked) {
		t.Fatalf("after the second failed batch: %d rows, want %d", got, len(acked))
	}

	if err := sqlitestore.SetMaxPageCount(s, 1<<30); err != nil {
		t.Fatal(err)
	}
	// The batch that failed, then new rows: the values the failed batches
	// interned were rolled back with them and must be interned again.
	appendOK(failed)
	appendOK(syn.Entries(200))

	if got := totalRows(t, s); got != len(acked) {
		t.Errorf("%d rows, want %d", got, len(acked))
	}
	p, err := s.Query(ctx, apilog.Query{AllAccounts: true, PageSize: apilog.MaxPageSize, Now: now})
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Rows) != len(acked) {
		t.Fatalf("Query returned %d rows, want %d", len(p.Rows), len(acked))
	}
	got := make([]apilog.Entry, len(p.Rows))
	for i, r := range p.Rows {
		got[len(got)-1-i] = r.Entry // newest first; acked is oldest first
	}
	if diff := cmp.Diff(acked, got); diff != "" {
		t.Errorf("stored entries differ from the acknowledged ones (-want +got):\n%s", diff)
	}
}

func TestConcurrentAppendQuery(t *testing.T) {
	const appenders, queriers = 8, 8
	run := 3 * time.Second
	if race.Enabled {
		run = 2 * time.Second
	}
	s := openStore(t, filepath.Join(t.TempDir(), "logs.db"), nil)
	ctx := context.Background()

	accounts := [2]string{"acct_a", "acct_b"}
	var pools [2][]apilog.Entry
	for a, acct := range accounts {
		syn := apilogtest.NewSynthetic(uint64(a), acct, 8, t0)
		for _, k := range syn.Keys {
			if err := s.UpsertKey(ctx, k); err != nil {
				t.Fatal(err)
			}
		}
		pools[a] = syn.Entries(4000)
	}
	flux, err := apilog.ParseSearch("flux", nil)
	if err != nil {
		t.Fatal(err)
	}
	queries := []apilog.Query{
		{Account: accounts[0]},
		{Account: accounts[0], Search: flux},
		{Account: accounts[1], Sort: apilog.Sort{Column: apilog.ColumnStatus, Dir: apilog.Asc}},
		{Account: accounts[1], Page: 3, PageSize: 50},
		{Account: accounts[0], StatusClasses: []apilog.StatusClass{apilog.StatusClientError}},
		{AllAccounts: true},
	}

	var (
		wg       sync.WaitGroup
		stop     atomic.Bool
		appended [2]atomic.Int64
		mu       sync.Mutex
		ids      []int64 // every ID assigned, under mu
		batches  atomic.Int64
		queried  atomic.Int64
	)
	for i := range appenders {
		wg.Go(func() {
			rng := rand.New(rand.NewPCG(uint64(i), 1))
			var mine []int64
			for !stop.Load() {
				a := rng.IntN(2)
				n := 1 + rng.IntN(200)
				off := rng.IntN(len(pools[a]) - n)
				batch := slices.Clone(pools[a][off : off+n])
				if err := s.Append(ctx, batch); err != nil {
					t.Errorf("Append: %v", err)
					return
				}
				for j := 1; j < n; j++ {
					if batch[j].ID <= batch[j-1].ID {
						t.Errorf("batch IDs not increasing: %d then %d", batch[j-1].ID, batch[j].ID)
						return
					}
				}
				for _, e := range batch {
					mine = append(mine, e.ID)
				}
				appended[a].Add(int64(n))
				batches.Add(1)
			}
			mu.Lock()
			ids = append(ids, mine...)
			mu.Unlock()
		})
	}
	for i := range queriers {
		wg.Go(func() {
			last := make([]int, len(queries)) // per query, so totals can only grow
			for round := 0; !stop.Load(); round++ {
				for k := range queries {
					j := (k + i) % len(queries) // queriers start at different queries
					q := queries[j]
					q.Now = now
					p, err := s.Query(ctx, q)
					if err != nil {
						t.Errorf("Query %d: %v", j, err)
						return
					}
					if p.TotalRows < last[j] {
						t.Errorf("query %d: total went down from %d to %d", j, last[j], p.TotalRows)
					}
					last[j] = p.TotalRows
					// Rows and totals come from one snapshot, so they agree.
					off, limit := apilog.Window(p.Number, p.Size)
					if want := min(limit, max(p.TotalRows-off, 0)); len(p.Rows) != want {
						t.Errorf("query %d: %d rows on page %d of %d total, want %d", j, len(p.Rows), p.Number, p.TotalRows, want)
					}
					queried.Add(1)
				}
			}
		})
	}
	time.Sleep(run)
	stop.Store(true)
	wg.Wait()
	t.Logf("%d batches appended, %d queries answered in %v", batches.Load(), queried.Load(), run)
	if batches.Load() < appenders || queried.Load() < queriers {
		t.Errorf("too little work done: %d batches, %d queries", batches.Load(), queried.Load())
	}

	var sum int64
	for a, acct := range accounts {
		p, err := s.Query(ctx, apilog.Query{Account: acct, PageSize: 1, Now: now})
		if err != nil {
			t.Fatal(err)
		}
		if want := appended[a].Load(); int64(p.TotalRows) != want {
			t.Errorf("%s: %d rows, appended %d", acct, p.TotalRows, want)
		}
		sum += appended[a].Load()
	}
	if got := totalRows(t, s); int64(got) != sum {
		t.Errorf("all accounts: %d rows, appended %d", got, sum)
	}
	slices.Sort(ids)
	if int64(len(ids)) != sum {
		t.Errorf("%d IDs assigned, %d rows appended", len(ids), sum)
	}
	for i := 1; i < len(ids); i++ {
		if ids[i] == ids[i-1] {
			t.Fatalf("ID %d assigned twice", ids[i])
		}
	}
}

func TestPragmas(t *testing.T) {
	const readers = 3
	const busy = 1234 * time.Millisecond
	tests := []struct {
		name     string
		sync     sqlitestore.Sync
		wantSync string
	}{
		{"SyncNormal", sqlitestore.SyncNormal, "1"},
		{"SyncFull", sqlitestore.SyncFull, "2"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			s := openStore(t, filepath.Join(t.TempDir(), "logs.db"),
				&sqlitestore.Options{Sync: tc.sync, Readers: readers, BusyTimeout: busy})
			// Query once so that the pool holds a connection that was used
			// and returned, besides new ones.
			totalRows(t, s)
			rs, err := sqlitestore.ReaderConns(ctx, s, readers)
			if err != nil {
				t.Fatal(err)
			}
			w, err := sqlitestore.WriterConn(ctx, s)
			if err != nil {
				t.Fatal(err)
			}
			type conn struct {
				name      string
				c         *sql.Conn
				queryOnly string
				busy      string
			}
			optBusy := strconv.FormatInt(busy.Milliseconds(), 10)
			ck, err := sqlitestore.CheckpointerConn(ctx, s)
			if err != nil {
				t.Fatal(err)
			}
			// The checkpointer waits 20 ms at most: see checkpoint.go.
			conns := []conn{{"writer", w, "0", optBusy}, {"checkpointer", ck, "0", "20"}}
			for i, c := range rs {
				conns = append(conns, conn{"reader " + strconv.Itoa(i), c, "1", optBusy})
			}
			defer func() {
				for _, c := range conns {
					c.c.Close()
				}
			}()
			for _, c := range conns {
				for _, p := range []struct{ name, want string }{
					{"journal_mode", "wal"},
					{"synchronous", tc.wantSync},
					{"busy_timeout", c.busy},
					{"query_only", c.queryOnly},
					{"temp_store", "2"}, // MEMORY
					{"trusted_schema", "0"},
				} {
					if got := pragma(t, c.c, p.name); got != p.want {
						t.Errorf("%s: PRAGMA %s = %s, want %s", c.name, p.name, got, p.want)
					}
				}
				if c.name == "writer" {
					// The checkpointer checkpoints, never a commit.
					if got := pragma(t, c.c, "wal_autocheckpoint"); got != "0" {
						t.Errorf("writer: PRAGMA wal_autocheckpoint = %s, want 0", got)
					}
				}
				if c.queryOnly == "1" {
					if _, err := c.c.ExecContext(ctx, "CREATE TABLE x(y)"); err == nil {
						t.Errorf("%s: CREATE TABLE succeeded on a query-only connection", c.name)
					}
				}
			}
		})
	}
}

func TestMigrate(t *testing.T) {
	ctx := context.Background()
	checkVersion := func(t *testing.T, path string) {
		t.Helper()
		db := openReadOnly(t, path)
		if got, want := pragma(t, db, "user_version"), strconv.Itoa(sqlitestore.SchemaVersion); got != want {
			t.Errorf("user_version = %s, want %s", got, want)
		}
		if got, want := pragma(t, db, "application_id"), strconv.Itoa(0x61706c67); got != want {
			t.Errorf("application_id = %s, want %s (\"aplg\")", got, want)
		}
		if got := pragma(t, db, "journal_mode"); got != "wal" {
			t.Errorf("journal_mode = %s, want wal", got)
		}
	}

	t.Run("new file", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "logs.db")
		openStore(t, path, nil)
		checkVersion(t, path)
	})

	t.Run("empty file", func(t *testing.T) {
		// SQLite takes an empty file for an empty database, and so does Open.
		path := writeFile(t, filepath.Join(t.TempDir(), "logs.db"), nil)
		s := openStore(t, path, nil)
		checkVersion(t, path)
		if err := s.Append(ctx, apilogtest.NewSynthetic(1, "acct", 2, t0).Entries(3)); err != nil {
			t.Fatal(err)
		}
	})

	t.Run("reopen keeps rows", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "logs.db")
		q := apilog.Query{AllAccounts: true, PageSize: apilog.MaxPageSize, Now: now}
		s, err := sqlitestore.Open(path, nil)
		if err != nil {
			t.Fatal(err)
		}
		syn := apilogtest.NewSynthetic(5, "acct_reopen", 10, t0)
		for _, k := range syn.Keys {
			if err := s.UpsertKey(ctx, k); err != nil {
				t.Fatal(err)
			}
		}
		if err := s.Append(ctx, syn.Entries(1200)); err != nil {
			t.Fatal(err)
		}
		want, err := s.Query(ctx, q)
		if err != nil {
			t.Fatal(err)
		}
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
		wantSchema := schema(t, openReadOnly(t, path))
		for i := range 2 {
			s, err := sqlitestore.Open(path, nil)
			if err != nil {
				t.Fatalf("reopen %d: %v", i+1, err)
			}
			got, err := s.Query(ctx, q)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("reopen %d: rows differ (-before +after):\n%s", i+1, diff)
			}
			checkVersion(t, path)
			if diff := cmp.Diff(wantSchema, schema(t, openReadOnly(t, path))); diff != "" {
				t.Errorf("reopen %d: schema changed (-before +after):\n%s", i+1, diff)
			}
			if err := s.Close(); err != nil {
				t.Fatalf("reopen %d: Close: %v", i+1, err)
			}
		}
	})
}
