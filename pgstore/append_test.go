package pgstore_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/apilog/apilog"
	"github.com/apilog/apilog/apilogtest"
	"github.com/apilog/apilog/pgstore"
	"github.com/apilog/apilog/pgstore/pgstoretest"
	"github.com/jackc/pgx/v5"
)

// TestAppendFailsWhole has the statement before the COMMIT fail, in the
// round trip that commits: nothing of the batch may stay, and the store
// goes on (its connection rolled back), storing the batch once when it
// is appended again.
func TestAppendFailsWhole(t *testing.T) {
	ctx := context.Background()
	url, schema := pgstoretest.Schema(t)
	s, err := pgstore.Open(ctx, url, &pgstore.Options{Schema: schema})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	pool := openPool(t)
	lastIDs := pgx.Identifier{schema, "last_ids"}.Sanitize()
	if _, err := pool.Exec(ctx, "ALTER TABLE "+lastIDs+" ADD CONSTRAINT fail CHECK (last_id < 0)"); err != nil {
		t.Fatal(err)
	}
	g := apilogtest.NewSynthetic(1, "acct_a", 5, time.Date(2026, 11, 1, 12, 0, 0, 0, time.UTC))
	batch := g.Entries(100)
	// More attempts than the pool has connections: a connection left in
	// the failed transaction would fail the next.
	for range 6 {
		if err := s.Append(ctx, slices.Clone(batch)); err == nil {
			t.Fatal("Append succeeded with a failing statement in its transaction")
		}
	}
	if _, err := pool.Exec(ctx, "ALTER TABLE "+lastIDs+" DROP CONSTRAINT fail"); err != nil {
		t.Fatal(err)
	}
	if err := s.Append(ctx, batch); err != nil {
		t.Fatal(err)
	}
	p, err := s.Query(ctx, apilog.Query{AllAccounts: true, PageSize: 1})
	if err != nil {
		t.Fatal(err)
	}
	var n int
	if err := pool.QueryRow(ctx, "SELECT count(*) FROM "+pgx.Identifier{schema, "entries"}.Sanitize()).Scan(&n); err != nil {
		t.Fatal(err)
	}
	if p.TotalRows != len(batch) || n != len(batch) {
		t.Errorf("%d rows counted and %d stored, want %d", p.TotalRows, n, len(batch))
	}
}
