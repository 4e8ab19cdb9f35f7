package sqlitestore_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/apilog/apilog"
	"github.com/apilog/apilog/apilogtest"
	"github.com/apilog/apilog/sqlitestore"
)

// recordChild records entries through a Recorder into the store at path
// until it is killed. After each Flush returns it prints "flushed n": the
// entries numbered 1 to n are acknowledged. Their request IDs are
// "<tag>-<n>". It records more at once, so a kill lands during writes.
func recordChild(path, tag string) int {
	fail := func(err error) int {
		fmt.Fprintln(os.Stderr, "record child:", err)
		return 1
	}
	s, err := sqlitestore.Open(path, nil)
	if err != nil {
		return fail(err)
	}
	rec := apilog.NewRecorder(s, &apilog.RecorderOptions{BlockTimeout: time.Minute})
	rng := rand.New(rand.NewPCG(uint64(len(tag)), uint64(time.Now().UnixNano())))
	syn := apilogtest.NewSynthetic(1, "acct_record", 8, t0)
	n := 0
	for {
		for _, e := range syn.Entries(1 + rng.IntN(3000)) {
			n++
			e.RequestID = tag + "-" + strconv.Itoa(n)
			if err := rec.Record(e); err != nil {
				return fail(err)
			}
		}
		if err := rec.Flush(context.Background()); err != nil {
			return fail(err)
		}
		fmt.Printf("flushed %d\n", n)
	}
}

// recordCrashes runs trials children that record, each killed with
// SIGKILL right after its first, second or third Flush returned, and
// checks after each kill that every acknowledged entry is stored and
// that the database is intact. A new file every ten trials keeps each
// small enough for integrity_check to read it after every kill.
func recordCrashes(tb testing.TB, trials int) {
	seed := uint64(time.Now().UnixNano())
	tb.Logf("seed %d", seed)
	rng := rand.New(rand.NewPCG(seed, 0))
	var path string
	acked := 0
	for trial := range trials {
		if trial%10 == 0 {
			path = filepath.Join(tb.TempDir(), "logs.db")
		}
		tag := fmt.Sprintf("t%d", trial)
		want := recordCrashOnce(tb, path, tag, 1+rng.IntN(3))
		acked += want

		db := openReadOnly(tb, path)
		rows, err := db.Query("SELECT request_id FROM entries WHERE request_id LIKE ?", tag+"-%")
		if err != nil {
			tb.Fatal(err)
		}
		have := make(map[int]bool)
		for rows.Next() {
			var id string
			if err := rows.Scan(&id); err != nil {
				tb.Fatal(err)
			}
			n, err := strconv.Atoi(strings.TrimPrefix(id, tag+"-"))
			if err != nil || have[n] {
				tb.Fatalf("trial %d: request ID %q stored twice or malformed", trial, id)
			}
			have[n] = true
		}
		if err := rows.Err(); err != nil {
			tb.Fatal(err)
		}
		for n := 1; n <= want; n++ {
			if !have[n] {
				tb.Fatalf("trial %d: entry %d of the %d acknowledged by Flush is missing (%d stored)", trial, n, want, len(have))
			}
		}
		if res := integrityCheck(tb, db); res != "ok" {
			tb.Fatalf("trial %d: integrity_check: %s", trial, res)
		}
		db.Close()
	}
	tb.Logf("%d trials: %d entries acknowledged by Flush, none missing", trials, acked)
}

// recordCrashOnce runs one record child on path and kills it as soon as
// it reports its flushes-th Flush; it returns how many entries were
// acknowledged.
func recordCrashOnce(tb testing.TB, path, tag string, flushes int) int {
	c := startChild(tb, "record", dbEnv+"="+path, seedEnv+"="+tag)
	r := bufio.NewReader(c.stdout)
	acked := 0
	for range flushes {
		line, err := r.ReadString('\n')
		if err != nil {
			c.cmd.Wait()
			tb.Fatalf("record child ended: %v; stderr:\n%s", c.cmd.ProcessState, c.stderr)
		}
		if _, err := fmt.Sscanf(line, "flushed %d\n", &acked); err != nil {
			tb.Fatalf("record child said %q", line)
		}
	}
	if err := c.cmd.Process.Kill(); err != nil && !errors.Is(err, os.ErrProcessDone) {
		tb.Fatal(err)
	}
	err := c.cmd.Wait()
	if ws, ok := c.cmd.ProcessState.Sys().(syscall.WaitStatus); !ok || !ws.Signaled() || ws.Signal() != syscall.SIGKILL {
		tb.Fatalf("record child ended by itself, not by SIGKILL: %v; stderr:\n%s", err, c.stderr)
	}
	return acked
}

// TestRecorderCrash: what Flush acknowledged survives a SIGKILL right
// after it returns, in 100 trials.
func TestRecorderCrash(t *testing.T) {
	recordCrashes(t, 100)
}

// BenchmarkRecorderCrash is the long run of TestRecorderCrash:
//
//	go test -run '^$' -bench RecorderCrash -benchtime 1000x ./sqlitestore
func BenchmarkRecorderCrash(b *testing.B) {
	recordCrashes(b, b.N)
}

// TestRecorderRidesOutALock: another process holds the write lock for a
// while; the recorder's batches fail with SQLITE_BUSY and are retried, and
// once the lock is gone every entry is written.
func TestRecorderRidesOutALock(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "logs.db")
	makeStore(t, path, 10)
	s := openStore(t, path, &sqlitestore.Options{BusyTimeout: 50 * time.Millisecond})

	c := startChild(t, "lock", dbEnv+"="+path)
	if line, err := bufio.NewReader(c.stdout).ReadString('\n'); line != "locked\n" {
		t.Fatalf("child said %q (%v), want locked; stderr:\n%s", line, err, c.stderr)
	}
	var lost atomic.Int64
	rec := apilog.NewRecorder(s, &apilog.RecorderOptions{
		OnError: func(_ error, n int) { lost.Add(int64(n)) },
		Logger:  slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
	batch := apilogtest.NewSynthetic(3, "acct_lock", 4, t0).Entries(2500)
	for _, e := range batch {
		if err := rec.Record(e); err != nil {
			t.Fatal(err)
		}
	}
	time.Sleep(500 * time.Millisecond)
	if st := rec.Stats(); st.Written != 0 || st.Retries == 0 || st.Pending != 2500 {
		t.Fatalf("while locked: stats %+v, want retries and everything pending", st)
	}
	c.stdin.Close()
	if err := c.cmd.Wait(); err != nil {
		t.Fatalf("lock child: %v; stderr:\n%s", err, c.stderr)
	}
	released := time.Now()
	flushCtx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := rec.Flush(flushCtx); err != nil {
		t.Fatalf("Flush after the lock was released: %v", err)
	}
	t.Logf("written %v after the lock was released", time.Since(released).Round(time.Millisecond))
	if err := rec.Close(ctx); err != nil {
		t.Fatal(err)
	}
	if st := rec.Stats(); st.Written != 2500 || st.Failed != 0 || st.Dropped != 0 || lost.Load() != 0 {
		t.Errorf("stats %+v, %d reported lost: want all 2,500 written", st, lost.Load())
	}
	if got := totalRows(t, s); got != 10+2500 {
		t.Errorf("%d rows in the store, want %d", got, 10+2500)
	}
}
