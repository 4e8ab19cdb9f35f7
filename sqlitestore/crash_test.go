package sqlitestore_test

import (
	"bufio"
	"bytes"
	"context"
	"database/sql"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/apilog/apilog"
	"github.com/apilog/apilog/apilogtest"
	"github.com/apilog/apilog/sqlitestore"
	"github.com/mattn/go-sqlite3"
)

// The tests below run the test binary again as a second process, which
// TestMain sends to a child function by these variables instead of running
// the tests.
const (
	childEnv = "SQLITESTORE_TEST_CHILD" // "lock", "store", "crash" or "record"
	dbEnv    = "SQLITESTORE_TEST_DB"    // the database file
	seedEnv  = "SQLITESTORE_TEST_SEED"  // crash: the seed of the batches
	syncEnv  = "SQLITESTORE_TEST_SYNC"  // crash: "full" for SyncFull
)

func TestMain(m *testing.M) {
	switch mode := os.Getenv(childEnv); mode {
	case "":
		os.Exit(m.Run())
	case "lock":
		os.Exit(lockChild(os.Getenv(dbEnv)))
	case "store":
		os.Exit(storeChild(os.Getenv(dbEnv)))
	case "crash":
		os.Exit(crashChild(os.Getenv(dbEnv)))
	case "record":
		os.Exit(recordChild(os.Getenv(dbEnv), os.Getenv(seedEnv)))
	default:
		fmt.Fprintf(os.Stderr, "%s=%q: want lock, store, crash or record\n", childEnv, mode)
		os.Exit(2)
	}
}

// child is the test binary run again as a second process.
type child struct {
	cmd    *exec.Cmd
	stdin  io.WriteCloser
	stdout io.Reader
	stderr *bytes.Buffer
}

// startChild runs the test binary as a child in mode, with env added to
// its environment. The child is killed when the test ends, in case the
// test fails before it waits for the child.
func startChild(t testing.TB, mode string, env ...string) *child {
	t.Helper()
	c := &child{cmd: exec.Command(os.Args[0], "-test.run=^$"), stderr: &bytes.Buffer{}}
	c.cmd.Env = append(os.Environ(), append([]string{childEnv + "=" + mode}, env...)...)
	c.cmd.Stderr = c.stderr
	var err error
	if c.stdin, err = c.cmd.StdinPipe(); err != nil {
		t.Fatal(err)
	}
	if c.stdout, err = c.cmd.StdoutPipe(); err != nil {
		t.Fatal(err)
	}
	if err := c.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if c.cmd.ProcessState == nil {
			c.cmd.Process.Kill()
			c.cmd.Wait()
		}
	})
	return c
}

// lockChild holds the write lock of the database at path, as a sqlite3
// shell or a backup tool would, from when it prints "locked" until its
// stdin closes.
func lockChild(path string) int {
	fail := func(err error) int {
		fmt.Fprintln(os.Stderr, "lock child:", err)
		return 1
	}
	ctx := context.Background()
	db, err := sql.Open("sqlite3", path)
	if err != nil {
		return fail(err)
	}
	defer db.Close()
	conn, err := db.Conn(ctx)
	if err != nil {
		return fail(err)
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, "BEGIN IMMEDIATE"); err != nil {
		return fail(err)
	}
	fmt.Println("locked")
	io.Copy(io.Discard, os.Stdin)
	if _, err := conn.ExecContext(ctx, "COMMIT"); err != nil {
		return fail(err)
	}
	return 0
}

func TestLockedByAnotherProcess(t *testing.T) {
	const busy = 200 * time.Millisecond
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "logs.db")
	makeStore(t, path, 100)

	c := startChild(t, "lock", dbEnv+"="+path)
	line, err := bufio.NewReader(c.stdout).ReadString('\n')
	if line != "locked\n" {
		t.Fatalf("child said %q (%v), want locked; stderr:\n%s", line, err, c.stderr)
	}

	// Open only reads an existing store, so the lock does not stop it.
	s := openStore(t, path, &sqlitestore.Options{BusyTimeout: busy})
	before := totalRows(t, s)
	batch := apilogtest.NewSynthetic(7, "acct_lock", 4, t0).Entries(150)
	start := time.Now()
	err = s.Append(ctx, batch)
	elapsed := time.Since(start)
	if err == nil {
		t.Fatal("Append succeeded while another process held the write lock")
	}
	t.Logf("Append after %v: %v", elapsed.Round(time.Millisecond), err)
	if se := (sqlite3.Error{}); !errors.As(err, &se) || (se.Code != sqlite3.ErrBusy && se.Code != sqlite3.ErrLocked) {
		t.Errorf("error %q (%#v) is not SQLITE_BUSY or SQLITE_LOCKED", err, se)
	}
	// It waited for the lock as long as Options.BusyTimeout says, not the
	// default 5s, and not at all.
	if elapsed < busy*3/4 || elapsed > 3*time.Second {
		t.Errorf("Append failed after %v, want about the busy timeout %v", elapsed, busy)
	}
	for i, e := range batch {
		if e.ID != 0 {
			t.Fatalf("failed batch: entry %d was given ID %d", i, e.ID)
		}
	}
	// Readers do not wait for the writer's lock in WAL mode, and the
	// failed batch left nothing.
	if got := totalRows(t, s); got != before {
		t.Fatalf("while locked: %d rows, want %d", got, before)
	}

	c.stdin.Close()
	if err := c.cmd.Wait(); err != nil {
		t.Fatalf("lock child: %v; stderr:\n%s", err, c.stderr)
	}
	if err := s.Append(ctx, batch); err != nil {
		t.Fatalf("Append after the lock was released: %v", err)
	}
	if got, want := totalRows(t, s), before+len(batch); got != want {
		t.Errorf("after the lock: %d rows, want %d", got, want)
	}
}

// crashChild appends batches to the store at path until it is killed. It
// prints "begin n" before each Append of n entries and "ok id n" after it
// returns nil, id being the batch's last ID. A line is one write to an
// unbuffered stdout, so the parent has every line printed before the kill.
func crashChild(path string) int {
	fail := func(err error) int {
		fmt.Fprintln(os.Stderr, "crash child:", err)
		return 1
	}
	seed, err := strconv.ParseUint(os.Getenv(seedEnv), 10, 64)
	if err != nil {
		return fail(err)
	}
	opts := &sqlitestore.Options{}
	if os.Getenv(syncEnv) == "full" {
		opts.Sync = sqlitestore.SyncFull
	}
	s, err := sqlitestore.Open(path, opts)
	if err != nil {
		return fail(err)
	}
	rng := rand.New(rand.NewPCG(seed, 2))
	// One generator for both accounts, and the same seed in every child,
	// so that the values to intern stay a bounded set.
	syn := apilogtest.NewSynthetic(1, "acct_crash", 8, t0)
	accounts := [...]string{"acct_crash_a", "acct_crash_b"}
	for {
		batch := syn.Entries(1 + rng.IntN(200))
		acct := accounts[rng.IntN(len(accounts))]
		for i := range batch {
			batch[i].Account = acct
		}
		fmt.Printf("begin %d\n", len(batch))
		if err := s.Append(context.Background(), batch); err != nil {
			return fail(err)
		}
		fmt.Printf("ok %d %d\n", batch[len(batch)-1].ID, len(batch))
	}
}

// crashTrial is what one child acknowledged before it was killed.
type crashTrial struct {
	acked    [][2]int64 // the ID ranges [first, last] of the acknowledged batches
	inflight int64      // entries of the batch it had begun and not acknowledged
}

// crashOnce runs a crash child on path and kills it with SIGKILL a random
// 0–150ms after its first acknowledgment.
func crashOnce(t *testing.T, path string, rng *rand.Rand, syncMode string) crashTrial {
	t.Helper()
	c := startChild(t, "crash", dbEnv+"="+path,
		seedEnv+"="+strconv.FormatUint(rng.Uint64(), 10), syncEnv+"="+syncMode)
	lines := make(chan string, 1024)
	go func() {
		defer close(lines)
		r := bufio.NewReader(c.stdout)
		for {
			line, err := r.ReadString('\n')
			if err != nil {
				return // EOF; a partial line cannot happen, but is not an acknowledgment either
			}
			lines <- line
		}
	}()

	var tr crashTrial
	parse := func(line string) {
		var n, id int64
		switch {
		case strings.HasPrefix(line, "begin "):
			if _, err := fmt.Sscanf(line, "begin %d\n", &n); err != nil {
				t.Fatalf("child said %q: %v", line, err)
			}
			tr.inflight = n
		case strings.HasPrefix(line, "ok "):
			if _, err := fmt.Sscanf(line, "ok %d %d\n", &id, &n); err != nil || n != tr.inflight {
				t.Fatalf("child said %q after begin %d (%v)", line, tr.inflight, err)
			}
			tr.acked = append(tr.acked, [2]int64{id - n + 1, id})
			tr.inflight = 0
		default:
			t.Fatalf("child said %q", line)
		}
	}
	timeout := time.After(time.Minute)
	for len(tr.acked) == 0 {
		select {
		case line, ok := <-lines:
			if !ok {
				c.cmd.Wait()
				t.Fatalf("crash child ended before its first batch: %v; stderr:\n%s", c.cmd.ProcessState, c.stderr)
			}
			parse(line)
		case <-timeout:
			t.Fatalf("crash child acknowledged no batch in a minute; stderr:\n%s", c.stderr)
		}
	}
	time.Sleep(time.Duration(rng.Int64N(int64(150 * time.Millisecond))))
	// A child that already ended is reported by the check of how it ended.
	if err := c.cmd.Process.Kill(); err != nil && !errors.Is(err, os.ErrProcessDone) {
		t.Fatal(err)
	}
	for line := range lines {
		parse(line)
	}
	err := c.cmd.Wait()
	if ws, ok := c.cmd.ProcessState.Sys().(syscall.WaitStatus); !ok || !ws.Signaled() || ws.Signal() != syscall.SIGKILL {
		t.Fatalf("crash child ended by itself, not by SIGKILL: %v; stderr:\n%s", err, c.stderr)
	}
	return tr
}

// TestCrash kills a process that appends, at random moments, and checks
// that every acknowledged batch survives, that the batch in flight is
// either all there or not at all, and that the database is intact.
//
// Each database file takes trialsPerFile kills in a row, so that later
// kills hit a larger database, with deeper trees and checkpoints of more
// pages, built by earlier crashed processes. A new file every ten trials
// keeps each at a few MB: integrity_check reads the whole file after every
// kill, and on one file for all trials it would take most of the run.
// Every other trial uses SyncFull, whose commits fsync.
func TestCrash(t *testing.T) {
	const trials, trialsPerFile = 100, 10
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewPCG(seed, 0))
	ctx := context.Background()

	var (
		path string
		want []int64 // every ID that must be in the database at path, increasing
		rows int     // in all files

		inflightKills, inflightKept int
	)
	start := time.Now()
	for trial := range trials {
		if trial%trialsPerFile == 0 {
			rows += len(want)
			path, want = filepath.Join(t.TempDir(), "logs.db"), nil
		}
		syncMode := "normal"
		if trial%2 == 1 {
			syncMode = "full"
		}
		tr := crashOnce(t, path, rng, syncMode)
		for _, r := range tr.acked {
			for id := r[0]; id <= r[1]; id++ {
				want = append(want, id)
			}
		}

		s, err := sqlitestore.Open(path, nil)
		if err != nil {
			t.Fatalf("trial %d: Open after the kill: %v", trial, err)
		}
		db := openReadOnly(t, path)
		got := entryIDs(t, db)
		extra := got[min(len(want), len(got)):]
		switch {
		case !slices.Equal(got[:min(len(want), len(got))], want):
			t.Fatalf("trial %d: acknowledged rows missing: %d rows stored, %d acknowledged%s",
				trial, len(got), len(want), firstDiff(got, want))
		case len(extra) != 0 && int64(len(extra)) != tr.inflight:
			t.Fatalf("trial %d: %d rows beyond the acknowledged ones, want 0 or the %d of the batch in flight",
				trial, len(extra), tr.inflight)
		case len(extra) != 0 && (extra[0] <= want[len(want)-1] || extra[len(extra)-1]-extra[0] != int64(len(extra)-1)):
			t.Fatalf("trial %d: the batch in flight has IDs %d to %d, after %d", trial, extra[0], extra[len(extra)-1], want[len(want)-1])
		}
		if tr.inflight > 0 {
			inflightKills++
			if len(extra) > 0 {
				inflightKept++
			}
		}
		want = got

		if res := integrityCheck(t, db); res != "ok" {
			t.Fatalf("trial %d: integrity_check: %s", trial, res)
		}
		// The store's totals, however it keeps them, agree with the rows.
		for acct, n := range rowsPerAccount(t, db) {
			p, err := s.Query(ctx, apilog.Query{Account: acct, PageSize: 1, Now: now})
			if err != nil {
				t.Fatal(err)
			}
			if p.TotalRows != n {
				t.Fatalf("trial %d: %s: Query total %d, %d rows stored", trial, acct, p.TotalRows, n)
			}
		}
		if got := totalRows(t, s); got != len(want) {
			t.Fatalf("trial %d: Query total %d, %d rows stored", trial, got, len(want))
		}
		db.Close()
		if err := s.Close(); err != nil {
			t.Fatalf("trial %d: Close: %v", trial, err)
		}
	}
	rows += len(want)
	t.Logf("%d trials in %v: %d rows stored; %d kills with a batch in flight, %d of which had committed",
		trials, time.Since(start).Round(time.Millisecond), rows, inflightKills, inflightKept)
	// Kills between batches only would not test a transaction cut short.
	if inflightKills == 0 {
		t.Error("no kill landed while a batch was in flight")
	}
}

// entryIDs returns the IDs of every stored entry, increasing.
func entryIDs(tb testing.TB, db *sql.DB) []int64 {
	tb.Helper()
	rows, err := db.Query("SELECT id FROM entries ORDER BY id")
	if err != nil {
		tb.Fatal(err)
	}
	defer rows.Close()
	var ids []int64
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			tb.Fatal(err)
		}
		ids = append(ids, id)
	}
	if err := rows.Err(); err != nil {
		tb.Fatal(err)
	}
	return ids
}

// rowsPerAccount counts the stored entries of each account.
func rowsPerAccount(tb testing.TB, db *sql.DB) map[string]int {
	tb.Helper()
	rows, err := db.Query("SELECT a.name, count(*) FROM entries e JOIN accounts a ON a.id = e.account GROUP BY a.name")
	if err != nil {
		tb.Fatal(err)
	}
	defer rows.Close()
	out := map[string]int{}
	for rows.Next() {
		var name string
		var n int
		if err := rows.Scan(&name, &n); err != nil {
			tb.Fatal(err)
		}
		out[name] = n
	}
	if err := rows.Err(); err != nil {
		tb.Fatal(err)
	}
	return out
}

// integrityCheck returns what PRAGMA integrity_check says, "ok" for an
// intact database.
func integrityCheck(tb testing.TB, db *sql.DB) string {
	tb.Helper()
	rows, err := db.Query("PRAGMA integrity_check")
	if err != nil {
		tb.Fatal(err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var line string
		if err := rows.Scan(&line); err != nil {
			tb.Fatal(err)
		}
		out = append(out, line)
	}
	if err := rows.Err(); err != nil {
		tb.Fatal(err)
	}
	return strings.Join(out, "\n")
}

// firstDiff describes where two increasing ID lists first differ.
func firstDiff(got, want []int64) string {
	for i := range min(len(got), len(want)) {
		if got[i] != want[i] {
			return fmt.Sprintf("; at row %d, ID %d where %d was acknowledged", i, got[i], want[i])
		}
	}
	return ""
}

// TestCrashMidCheckpoint builds the files a kill leaves in the middle of a
// checkpoint that grows the database: SQLite copies the WAL's pages into
// the database in page order, so page 1, whose header gives the new page
// count, is written before the pages that extend the file. The WAL still
// holds every page, and opening the database replays it.
func TestCrashMidCheckpoint(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "logs.db")
	makeStore(t, path, 100)
	s := openStore(t, path, nil)
	// Few enough rows that SQLite's automatic checkpoint (1,000 pages)
	// leaves them in the WAL, enough that the database grows.
	if err := s.Append(ctx, apilogtest.NewSynthetic(9, "acct_ckpt", 4, t0).Entries(500)); err != nil {
		t.Fatal(err)
	}
	// The store is idle: its files are what a kill now would leave.
	crashed := filepath.Join(t.TempDir(), "logs.db")
	for _, suffix := range []string{"", "-wal"} {
		b, err := os.ReadFile(path + suffix)
		if err != nil {
			t.Fatal(err)
		}
		writeFile(t, crashed+suffix, b)
	}
	wal, err := os.ReadFile(crashed + "-wal")
	if err != nil {
		t.Fatal(err)
	}
	page1 := lastCommitted(t, wal, 1)
	f, err := os.OpenFile(crashed, os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteAt(page1, 0); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	st, err := os.Stat(crashed)
	if err != nil {
		t.Fatal(err)
	}
	if pages := int64(binary.BigEndian.Uint32(page1[28:32])); pages*int64(len(page1)) <= st.Size() {
		t.Fatalf("the checkpoint would not grow the database (%d pages, %d bytes): test setup is wrong", pages, st.Size())
	}

	c, err := sqlitestore.Open(crashed, nil)
	if err != nil {
		t.Fatalf("Open after a kill mid-checkpoint: %v", err)
	}
	defer c.Close()
	if got, want := totalRows(t, c), 600; got != want {
		t.Errorf("%d rows, want %d", got, want)
	}
	if res := integrityCheck(t, openReadOnly(t, crashed)); res != "ok" {
		t.Errorf("integrity_check: %s", res)
	}
}

// lastCommitted returns the content of page pgno in its last frame of wal
// that belongs to a committed transaction (see the WAL format at
// https://sqlite.org/fileformat2.html#walformat).
func lastCommitted(tb testing.TB, wal []byte, pgno uint32) []byte {
	tb.Helper()
	if len(wal) < 32 {
		tb.Fatalf("WAL of %d bytes", len(wal))
	}
	pageSize := int(binary.BigEndian.Uint32(wal[8:12]))
	salts := wal[16:24]
	var last, pending []byte
	for off := 32; off+24+pageSize <= len(wal); off += 24 + pageSize {
		h := wal[off : off+24]
		if !bytes.Equal(h[8:16], salts) {
			break // a frame of an earlier generation of the WAL
		}
		if binary.BigEndian.Uint32(h[0:4]) == pgno {
			pending = wal[off+24 : off+24+pageSize]
		}
		if binary.BigEndian.Uint32(h[4:8]) != 0 { // a commit frame
			last = pending
		}
	}
	if last == nil {
		tb.Fatalf("no committed frame of page %d in the WAL", pgno)
	}
	return last
}
