package sqlitestore

import (
	"context"
	"fmt"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/apilog/apilog"
)

// Regression tests for bugs a review found; each says what went wrong.

// A query whose snapshot predates a collect used to bring the collected
// value back into the cache, and the next Append then referred to a
// deleted strs row: the row showed an empty endpoint after a restart.
func TestCollectDuringQuery(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "p.db")
	s, err := Open(path, nil)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	e := func(ep string, ts time.Time) apilog.Entry {
		return apilog.Entry{Account: "a", Method: "GET", Status: 200, Endpoint: ep, Time: ts}
	}
	if err := s.Append(ctx, []apilog.Entry{e("/a", now), e("/gone", now.Add(-48*time.Hour)), e("/b", now), e("/c", now)}); err != nil {
		t.Fatal(err)
	}
	// A query takes its snapshot, as Query does...
	r := &reader{s: s, base: ctx}
	if err := r.begin(); err != nil {
		t.Fatal(err)
	}
	var n int
	if err := r.tx.QueryRow("SELECT count(*) FROM entries").Scan(&n); err != nil {
		t.Fatal(err)
	}
	// ...a pruner tick with both limits runs and collects /gone (twice:
	// the second collect used to purge what the first had just deleted)...
	done := make(chan struct{})
	go func() { // what a pruner tick with MaxAge and MaxRows does
		defer close(done)
		if _, err := s.Prune(ctx, now.Add(-24*time.Hour)); err != nil {
			t.Error(err)
		}
		if _, err := s.pruneRows(ctx, 2); err != nil {
			t.Error(err)
		}
	}()
	time.Sleep(200 * time.Millisecond) // the deletes are done; the purge waits for this query
	// ...and the query goes on in its snapshot, which still has /gone.
	q, _ := apilog.Query{Account: "a", Now: now}.Normalize()
	pl, _, ids, err := s.find(r, &q, -1)
	if err != nil {
		t.Fatal(err)
	}
	rows, err := pl.rows(r.ctx, r.tx, ids)
	if err != nil {
		t.Fatal(err)
	}
	r.close()
	<-done
	for _, r := range rows {
		if r.Endpoint == "" {
			t.Errorf("in-flight query: row %d has an empty endpoint", r.ID)
		}
	}
	if err := s.Append(ctx, []apilog.Entry{e("/gone", now)}); err != nil {
		t.Fatal(err)
	}
	var dangling int
	if err := s.w.QueryRow("SELECT count(*) FROM entries WHERE endpoint NOT IN (SELECT id FROM strs)").Scan(&dangling); err != nil {
		t.Fatal(err)
	}
	if dangling != 0 {
		t.Errorf("%d entries refer to a deleted endpoint", dangling)
	}
	s.Close()
	if s, err = Open(path, nil); err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	gone, _ := apilog.ParseSearch("endpoint:gone", nil)
	if p, err := s.Query(ctx, apilog.Query{Account: "a", Now: now, Search: gone}); err != nil || p.TotalRows != 1 {
		t.Errorf("endpoint:gone after a restart: %d rows, %v; want 1", p.TotalRows, err)
	}
}

// An operator's view sorted by a text column took the cache's read lock
// twice; a writer queued between the two deadlocked the store.
func TestAllAccountsSortWhileIngesting(t *testing.T) {
	ctx := context.Background()
	s, err := Open(filepath.Join(t.TempDir(), "d.db"), nil)
	if err != nil {
		t.Fatal(err)
	}
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	stop := make(chan struct{})
	progress := make(chan struct{}, 1)
	var wg sync.WaitGroup
	run := func(f func(i int) error) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				if err := f(i); err != nil {
					t.Error(err)
					return
				}
				select {
				case progress <- struct{}{}:
				default:
				}
			}
		}()
	}
	run(func(i int) error { // every entry interns a new IP hash
		return s.Append(ctx, []apilog.Entry{{Account: fmt.Sprint("acct", i%3), Method: "GET", Status: 200,
			IPHash: fmt.Sprint("ip", i), Time: t0.Add(time.Duration(i) * time.Millisecond)}})
	})
	for range 4 {
		run(func(int) error {
			_, err := s.Query(ctx, apilog.Query{AllAccounts: true, Sort: apilog.Sort{Column: apilog.ColumnIP}, PageSize: 5})
			return err
		})
	}
	end := time.After(2 * time.Second)
	for {
		select {
		case <-progress:
			continue
		case <-time.After(10 * time.Second):
			// Leave the store and its goroutines stuck: Close would hang too.
			t.Fatal("no Append or Query finished for 10 s: deadlock")
		case <-end:
		}
		break
	}
	close(stop)
	waited := make(chan struct{})
	go func() { wg.Wait(); close(waited) }()
	select {
	case <-waited:
	case <-time.After(10 * time.Second):
		t.Fatal("an Append or a Query is stuck: deadlock")
	}
	if err := s.Close(); err != nil {
		t.Error(err)
	}
}

// The checkpointer waits for the queries in flight while it holds the
// writer; a slow query used to hold ingest for as long as it ran.
func TestSlowQueryDoesNotHoldIngest(t *testing.T) {
	ctx := context.Background()
	s, err := Open(filepath.Join(t.TempDir(), "q.db"), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	g := s.gate.Load()
	g.RLock() // a query that takes 3 s
	release := time.AfterFunc(3*time.Second, g.RUnlock)
	defer release.Stop()
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	var slowest time.Duration
	for b := range 40 { // 40 MB of WAL or so: two checkpoints or more
		batch := make([]apilog.Entry, 1000)
		for i := range batch {
			batch[i] = apilog.Entry{Account: "a", Method: "GET", Status: 200, IPHash: fmt.Sprint("ip", (b*1000+i)*7919%50000),
				Endpoint: fmt.Sprint("/v1/x/", i%40), Time: t0.Add(time.Duration(b*1000+i) * time.Millisecond)}
		}
		start := time.Now()
		if err := s.Append(ctx, batch); err != nil {
			t.Fatal(err)
		}
		slowest = max(slowest, time.Since(start))
	}
	// The bound is generous for a loaded CI machine; the stall was 1.8 s.
	t.Logf("slowest Append: %v", slowest)
	if slowest > time.Second {
		t.Errorf("slowest Append took %v while a query ran: ingest waited for it", slowest)
	}
}

// Prune after the last instant a row can have deletes every row, the one
// at the last instant too; key times outside the int64-nanosecond years
// keep their order against any Query.Now.
func TestExtremeTimes(t *testing.T) {
	ctx := context.Background()
	s, err := Open(filepath.Join(t.TempDir(), "x.db"), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	last := time.Unix(0, 1<<63-1)
	k := apilog.Key{ID: "k", Account: "a", Name: "old", RevokedAt: time.Date(1500, 1, 1, 0, 0, 0, 0, time.UTC)}
	if err := s.UpsertKey(ctx, k); err != nil {
		t.Fatal(err)
	}
	if err := s.Append(ctx, []apilog.Entry{{Account: "a", KeyID: "k", Method: "GET", Time: last}, {Account: "a", Method: "GET", Time: time.Unix(0, 0)}}); err != nil {
		t.Fatal(err)
	}
	now := time.Date(1600, 1, 1, 0, 0, 0, 0, time.UTC)
	p, err := s.Query(ctx, apilog.Query{Account: "a", Now: now})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := p.Rows[0].KeyStatus, k.Status(now); got != want {
		t.Errorf("key revoked in 1500, seen in 1600: %v, want %v", got, want)
	}
	n, err := s.Prune(ctx, time.Date(3000, 1, 1, 0, 0, 0, 0, time.UTC))
	if err != nil || n != 2 {
		t.Errorf("Prune(3000) = %d, %v; want both rows", n, err)
	}
}
