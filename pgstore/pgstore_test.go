package pgstore_test

import (
	"context"
	"fmt"
	"os"
	"sync/atomic"
	"testing"
	"time"

	"github.com/apilog/apilog"
	"github.com/apilog/apilog/apilogtest"
	"github.com/apilog/apilog/pgstore"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// serverURL is the PostgreSQL server the tests use.
func serverURL() string {
	if u := os.Getenv("APILOG_POSTGRES_URL"); u != "" {
		return u
	}
	return "postgres://127.0.0.1:5432/test"
}

var schemas atomic.Int64

// newSchema returns the server's URL and the name of a schema of its own
// for t, dropped when t ends. Without a server the test skips, or fails
// when APILOG_REQUIRE_POSTGRES is set (as CI sets it).
func newSchema(t testing.TB) (url, schema string) {
	t.Helper()
	url = serverURL()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		if os.Getenv("APILOG_REQUIRE_POSTGRES") != "" {
			t.Fatalf("no PostgreSQL server at %s (APILOG_REQUIRE_POSTGRES is set): %v", url, err)
		}
		skipOnce(t, url, err)
	}
	defer conn.Close(ctx)
	schema = fmt.Sprintf("apilog_test_%d_%d", os.Getpid(), schemas.Add(1))
	t.Cleanup(func() { dropSchema(t, url, schema) })
	return url, schema
}

func dropSchema(t testing.TB, url, schema string) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Errorf("drop schema %s: %v", schema, err)
		return
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, "DROP SCHEMA IF EXISTS "+pgx.Identifier{schema}.Sanitize()+" CASCADE"); err != nil {
		t.Errorf("drop schema %s: %v", schema, err)
	}
}

var skipped atomic.Bool

// skipOnce skips t, printing why once per package run even without -v.
func skipOnce(t testing.TB, url string, err error) {
	t.Helper()
	if !skipped.Swap(true) {
		fmt.Fprintf(os.Stderr, "pgstore: skipping the PostgreSQL tests: no server at %s (set APILOG_POSTGRES_URL): %v\n", url, err)
	}
	t.Skipf("no PostgreSQL server at %s", url)
}

// openStore opens a store in a schema of its own; opts may be nil.
func openStore(t testing.TB, opts *pgstore.Options) *pgstore.Store {
	t.Helper()
	url, schema := newSchema(t)
	var o pgstore.Options
	if opts != nil {
		o = *opts
	}
	o.Schema = schema
	s, err := pgstore.Open(context.Background(), url, &o)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// openStoreIn opens a store in the given schema.
func openStoreIn(t testing.TB, url, schema string) *pgstore.Store {
	t.Helper()
	s, err := pgstore.Open(context.Background(), url, &pgstore.Options{Schema: schema})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// openPool returns a pool on the test server, closed when t ends.
func openPool(t testing.TB) *pgxpool.Pool {
	t.Helper()
	pool, err := pgxpool.New(context.Background(), serverURL())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	return pool
}

func TestConformance(t *testing.T) {
	apilogtest.TestStore(t, func(t *testing.T) apilog.Store { return openStore(t, nil) })
}
