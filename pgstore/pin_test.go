package pgstore_test

import (
	"context"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/apilog/apilog"
	"github.com/apilog/apilog/apilogtest"
	"github.com/apilog/apilog/pgstore"
	"github.com/apilog/apilog/pgstore/pgstoretest"
	"github.com/jackc/pgx/v5"
)

// TestPinWithWriterInFlight checks the row-ID bound against writers that
// commit out of ID order: a batch that took its IDs first but commits last
// must not slip into a page pinned while it was in flight.
//
// One Append is held before its commit (another connection locks the rows
// it updates last), a second, with higher IDs, commits; a page read then
// must leave out the second batch too, so that once the first commits, the
// page pinned to that read's MaxID is still exactly the rows it showed.
func TestPinWithWriterInFlight(t *testing.T) {
	ctx := context.Background()
	url, schema, s, gx, gy := pinStore(t)

	conn, release := holdAtCommit(t, url, schema, "acct_x")
	first := make(chan error, 1)
	go func() { first <- s.Append(ctx, gx.Entries(10)) }()
	waitForLockWait(t, conn)
	if err := s.Append(ctx, gy.Entries(10)); err != nil {
		t.Fatal(err)
	}

	all := apilog.Query{AllAccounts: true, PageSize: apilog.MaxPageSize}
	before, err := s.Query(ctx, all)
	if err != nil {
		t.Fatal(err)
	}
	if before.TotalRows != 40 {
		t.Errorf("with a batch in flight below a committed one: %d rows, want the 40 of before both", before.TotalRows)
	}
	release()
	if err := <-first; err != nil {
		t.Fatal(err)
	}
	pinned := all
	pinned.MaxID = before.MaxID
	after, err := s.Query(ctx, pinned)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := apilogtest.RowIDs(after.Rows), apilogtest.RowIDs(before.Rows); !slices.Equal(got, want) {
		t.Errorf("the page pinned to MaxID %d changed when the batch in flight committed: %d rows, were %d", before.MaxID, len(got), len(want))
	}
	now, err := s.Query(ctx, all)
	if err != nil {
		t.Fatal(err)
	}
	if now.TotalRows != 60 {
		t.Errorf("after both commits: %d rows, want 60", now.TotalRows)
	}
}

// pinStore returns a store in a schema of its own with 20 rows in each of
// two accounts, acct_x and acct_y, and their generators, for the pin
// tests' writers to add more.
func pinStore(t *testing.T) (url, schema string, s *pgstore.Store, gx, gy *apilogtest.Synthetic) {
	t.Helper()
	url, schema = pgstoretest.Schema(t)
	s = openStoreIn(t, url, schema)
	t.Cleanup(func() { s.Close() })
	gx = apilogtest.NewSynthetic(1, "acct_x", 3, time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC))
	gy = apilogtest.NewSynthetic(2, "acct_y", 3, time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC))
	for _, batch := range [][]apilog.Entry{gx.Entries(20), gy.Entries(20)} {
		if err := s.Append(context.Background(), batch); err != nil {
			t.Fatal(err)
		}
	}
	return url, schema, s, gx, gy
}

// holdAtCommit makes the next Appends of account's rows wait before they
// commit, until release: another connection, returned for waitForLockWait,
// locks every shard's last-ID row of the account, which a batch updates
// last. The account must have rows.
func holdAtCommit(t *testing.T, url, schema, account string) (conn *pgx.Conn, release func()) {
	t.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close(ctx) })
	sc := pgx.Identifier{schema}.Sanitize()
	if _, err := conn.Exec(ctx, "INSERT INTO "+sc+".last_ids SELECT id, s, 0 FROM "+sc+".accounts, generate_series(0, 15) AS s "+
		"WHERE name = $1 ON CONFLICT DO NOTHING", []byte(account)); err != nil {
		t.Fatal(err)
	}
	tx, err := conn.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tx.Exec(ctx, "SELECT 1 FROM "+sc+".last_ids WHERE account = (SELECT id FROM "+sc+".accounts WHERE name = $1) FOR UPDATE", []byte(account)); err != nil {
		t.Fatal(err)
	}
	release = sync.OnceFunc(func() {
		if err := tx.Rollback(ctx); err != nil {
			t.Error(err)
		}
	})
	t.Cleanup(release)
	return conn, release
}

// waitForLockWait waits until a backend of the database waits for a lock
// held by conn's.
func waitForLockWait(t *testing.T, conn *pgx.Conn) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		var n int
		if err := conn.QueryRow(context.Background(), "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND $1 = ANY(pg_blocking_pids(pid))",
			conn.PgConn().PID()).Scan(&n); err != nil {
			t.Fatal(err)
		}
		if n > 0 {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatal("no Append waited for the lock within 10s")
}
