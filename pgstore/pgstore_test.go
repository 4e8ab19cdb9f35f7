package pgstore_test

import (
	"context"
	"testing"

	"github.com/apilog/apilog"
	"github.com/apilog/apilog/apilogtest"
	"github.com/apilog/apilog/pgstore"
	"github.com/apilog/apilog/pgstore/pgstoretest"
	"github.com/jackc/pgx/v5/pgxpool"
)

// openStore opens a store in a schema of its own; opts may be nil.
func openStore(t testing.TB, opts *pgstore.Options) *pgstore.Store {
	t.Helper()
	url, schema := pgstoretest.Schema(t)
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
	pool, err := pgxpool.New(context.Background(), pgstoretest.URL())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	return pool
}

func TestConformance(t *testing.T) {
	apilogtest.TestStore(t, func(t *testing.T) apilog.Store { return openStore(t, nil) })
}
