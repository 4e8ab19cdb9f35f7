// Package pgstoretest gives tests of code that uses pgstore a PostgreSQL
// schema of their own, on the server the environment names, the way the
// module's own tests and CI find it:
//
//   - APILOG_POSTGRES_URL is the server (default
//     postgres://127.0.0.1:5432/test);
//   - without a server a test skips, saying why once per test binary on
//     the terminal (standard error without one), or fails when
//     APILOG_REQUIRE_POSTGRES is set (CI sets it).
package pgstoretest

import (
	"context"
	"fmt"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/apilog/apilog/internal/skipnote"
	"github.com/jackc/pgx/v5"
)

// URL returns the server the tests use.
func URL() string {
	if u := os.Getenv("APILOG_POSTGRES_URL"); u != "" {
		return u
	}
	return "postgres://127.0.0.1:5432/test"
}

var (
	schemas atomic.Int64
)

// Schema returns the server's URL and the name of a schema no other test
// uses, dropped when t ends (the schema itself is left to be created, as
// pgstore.Open does). Without a server, t skips or fails; see the package
// doc.
func Schema(t testing.TB) (url, schema string) {
	t.Helper()
	url = URL()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		if os.Getenv("APILOG_REQUIRE_POSTGRES") != "" {
			t.Fatalf("no PostgreSQL server at %s (APILOG_REQUIRE_POSTGRES is set): %v", url, err)
		}
		// pgx's error has several lines.
		skipnote.Tell(fmt.Sprintf("skipping the PostgreSQL tests: no server at %s (set APILOG_POSTGRES_URL): %s",
			url, strings.ReplaceAll(err.Error(), "\n", " ")))
		t.Skipf("no PostgreSQL server at %s", url)
	}
	conn.Close(ctx)
	schema = fmt.Sprintf("apilog_test_%d_%d", os.Getpid(), schemas.Add(1))
	t.Cleanup(func() { Drop(t, url, schema) })
	return url, schema
}

// Drop drops schema and everything in it, reporting a failure on t.
func Drop(t testing.TB, url, schema string) {
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
