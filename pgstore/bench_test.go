package pgstore_test

import (
	"context"
	"flag"
	"fmt"
	"testing"
	"time"

	"github.com/apilog/apilog"
	"github.com/apilog/apilog/apilogtest"
	"github.com/apilog/apilog/pgstore"
	"github.com/apilog/apilog/pgstore/pgstoretest"
	"github.com/jackc/pgx/v5"
)

var benchRows = flag.Int("rows", 1_000_000, "rows in the benchmark schema")

// benchStore opens the benchmark schema of *benchRows synthetic rows in one
// account plus a tenth as many in another (about half a minute per
// million rows to build).
func benchStore(b *testing.B) *pgstore.Store {
	return keptStore(b, fmt.Sprintf("apilog_bench_v%d_%d", pgstore.SchemaVersion, *benchRows),
		func(ctx context.Context, s *pgstore.Store) error { return apilogtest.FillBench(ctx, s, *benchRows) },
		pgstore.Options{Clock: func() time.Time { return apilogtest.BenchStart.Add(30 * 24 * time.Hour) }})
}

// keptStore opens schema, building it with fill on first use and keeping
// it in the server for later runs (drop it to rebuild), then runs a first
// query, which reads the whole dictionary into the store's cache: a cost
// of a process's first query, not of each.
func keptStore(b *testing.B, schema string, fill func(context.Context, *pgstore.Store) error, opts pgstore.Options) *pgstore.Store {
	b.Helper()
	url, _ := pgstoretest.Schema(b) // skips without a server
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		b.Fatal(err)
	}
	defer conn.Close(ctx)
	var ready bool
	if err := conn.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM pg_namespace WHERE nspname = $1)", schema).Scan(&ready); err != nil {
		b.Fatal(err)
	}
	if !ready {
		b.Logf("building schema %s", schema)
		building := schema + "_building"
		if _, err := conn.Exec(ctx, "DROP SCHEMA IF EXISTS "+building+" CASCADE"); err != nil {
			b.Fatal(err)
		}
		s, err := pgstore.Open(ctx, url, &pgstore.Options{Schema: building})
		if err != nil {
			b.Fatal(err)
		}
		if err := fill(ctx, s); err != nil {
			b.Fatal(err)
		}
		if err := s.Close(); err != nil {
			b.Fatal(err)
		}
		if _, err := conn.Exec(ctx, "ALTER SCHEMA "+building+" RENAME TO "+schema); err != nil {
			b.Fatal(err)
		}
		// As autovacuum would after the inserts: statistics for the planner
		// and the visibility map for index-only counts.
		if _, err := conn.Exec(ctx, "VACUUM ANALYZE "+schema+".entries"); err != nil {
			b.Fatal(err)
		}
	}
	opts.Schema = schema
	s, err := pgstore.Open(ctx, url, &opts)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { s.Close() })
	if _, err := s.Query(ctx, apilog.Query{AllAccounts: true, PageSize: 1}); err != nil {
		b.Fatal(err)
	}
	return s
}

func BenchmarkQuery(b *testing.B) {
	apilogtest.BenchQuery(b, benchStore(b), *benchRows)
}

// BenchmarkFirstPageUnderSearches measures the first page of the default
// view alone, then while 8 goroutines loop the worst search, which
// QueryTimeout (1 s here) cuts: the page must not wait for them.
func BenchmarkFirstPageUnderSearches(b *testing.B) {
	s := benchStore(b)
	url, _ := pgstoretest.Schema(b)
	ctx := context.Background()
	slow, err := pgstore.Open(ctx, url, &pgstore.Options{Schema: fmt.Sprintf("apilog_bench_v%d_%d", pgstore.SchemaVersion, *benchRows), QueryTimeout: time.Second})
	if err != nil {
		b.Fatal(err)
	}
	defer slow.Close()
	apilogtest.BenchFirstPageUnderSearches(b, s, slow)
}

// BenchmarkAllAccounts measures the operator's first page (every account,
// newest first, and sorted by endpoint) over 40,000 rows shared by 1 and
// by 20,000 accounts: the cost should not follow the number of tenants.
func BenchmarkAllAccounts(b *testing.B) {
	for _, tenants := range []int{1, 20_000} {
		s := tenantsStore(b, tenants, 40_000)
		for _, c := range []struct {
			name string
			q    apilog.Query
		}{
			{"newest", apilog.Query{AllAccounts: true}},
			{"page-40", apilog.Query{AllAccounts: true, Page: 40}},
			{"by-endpoint", apilog.Query{AllAccounts: true, Sort: apilog.Sort{Column: apilog.ColumnEndpoint}}},
		} {
			b.Run(fmt.Sprintf("%s/tenants-%d", c.name, tenants), func(b *testing.B) {
				for b.Loop() {
					if _, err := s.Query(context.Background(), c.q); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}

// tenantsStore opens a schema of rows spread evenly over tenants accounts.
func tenantsStore(b *testing.B, tenants, rows int) *pgstore.Store {
	return keptStore(b, fmt.Sprintf("apilog_bench_v%d_tenants_%d_%d", pgstore.SchemaVersion, tenants, rows),
		func(ctx context.Context, s *pgstore.Store) error {
			gen := apilogtest.NewSynthetic(1, "acct", 1, apilogtest.BenchStart)
			for i := 0; i < rows; i += 1000 {
				batch := gen.Entries(1000)
				for j := range batch {
					batch[j].Account = fmt.Sprintf("acct_%05d", (i+j)%tenants)
				}
				if err := s.Append(ctx, batch); err != nil {
					return err
				}
			}
			return nil
		}, pgstore.Options{})
}

// BenchmarkExport measures the export of whole results of a million rows;
// run with -benchtime 3x.
func BenchmarkExport(b *testing.B) {
	apilogtest.BenchExport(b, benchStore(b), *benchRows)
}

// BenchmarkVolume measures the chart's counts on the benchmark schema.
func BenchmarkVolume(b *testing.B) {
	apilogtest.BenchVolume(b, benchStore(b), *benchRows)
}
