package sqlitestore_test

import (
	"context"
	"database/sql"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/apilog/apilog"
	"github.com/apilog/apilog/apilogtest"
	"github.com/apilog/apilog/sqlitestore"
)

var benchRows = flag.Int("rows", 1_000_000, "rows in the benchmark database")

const benchAccount = apilogtest.BenchAccount

var benchStart = apilogtest.BenchStart

// benchStore opens the benchmark database of *benchRows synthetic rows in
// one account plus a tenth as many in another, building it on first use in
// the temporary directory (about 15 s per million rows) and reusing it
// afterwards.
func benchStore(b *testing.B) *sqlitestore.Store {
	b.Helper()
	path := filepath.Join(os.TempDir(), fmt.Sprintf("apilog-bench-v%d-%d.db", sqlitestore.SchemaVersion, *benchRows))
	return cachedStore(b, path, func(s *sqlitestore.Store) error {
		return apilogtest.FillBench(context.Background(), s, *benchRows)
	})
}

// cachedStore opens the benchmark database at path, made by fill on first
// use (in a file renamed into place once fill is done, so that a run
// stopped half way leaves nothing to reuse) and reused afterwards.
func cachedStore(b *testing.B, path string, fill func(*sqlitestore.Store) error) *sqlitestore.Store {
	b.Helper()
	if _, err := os.Stat(path); err != nil {
		b.Logf("building %s", path)
		tmp := path + ".building"
		os.Remove(tmp)
		os.Remove(tmp + "-wal")
		s, err := sqlitestore.Open(tmp, nil)
		if err != nil {
			b.Fatal(err)
		}
		if err := fill(s); err != nil {
			b.Fatal(err)
		}
		if err := s.Close(); err != nil {
			b.Fatal(err)
		}
		if err := os.Rename(tmp, path); err != nil {
			b.Fatal(err)
		}
	}
	s, err := sqlitestore.Open(path, &sqlitestore.Options{Clock: func() time.Time { return benchStart.Add(30 * 24 * time.Hour) }})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { s.Close() })
	return s
}

func BenchmarkQuery(b *testing.B) {
	apilogtest.BenchQuery(b, benchStore(b), *benchRows)
}

// BenchmarkRawSQL measures plain SQL on the same database as baselines:
// OFFSET paging and a LIKE search.
func BenchmarkRawSQL(b *testing.B) {
	s := benchStore(b)
	_ = s
	path := filepath.Join(os.TempDir(), fmt.Sprintf("apilog-bench-v%d-%d.db", sqlitestore.SchemaVersion, *benchRows))
	db, err := sql.Open("sqlite3", "file:"+path+"?mode=ro")
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	for _, c := range []struct{ name, query string }{
		{"page-1000-offset", "SELECT id FROM entries WHERE account = 1 ORDER BY ts DESC, id DESC LIMIT 500 OFFSET 499500"},
		{"count-where", "SELECT count(*) FROM entries WHERE account = 1"},
		// The chart of every row in 5-minute buckets by status, counted on
		// the rows: the baseline of BenchmarkVolume/all-time.
		{"volume-group-by", "SELECT ts / 300000000000, status, count(*) FROM entries WHERE account = 1 GROUP BY 1, 2"},
		{"search-flux-like-count", `SELECT count(*) FROM entries e JOIN strs m ON m.id = e.method JOIN strs p ON p.id = e.endpoint
			JOIN strs r ON r.id = e.error JOIN strs i ON i.id = e.ip JOIN keys k ON k.id = e.key
			WHERE e.account = 1 AND (m.value LIKE '%flux%' OR p.value LIKE '%flux%' OR r.value LIKE '%flux%' OR i.value LIKE '%flux%'
			OR k.name LIKE '%flux%' OR k.prefix LIKE '%flux%' OR CAST(e.status AS TEXT) LIKE '%flux%')`},
	} {
		b.Run(c.name, func(b *testing.B) {
			for b.Loop() {
				rows, err := db.Query(c.query)
				if err != nil {
					b.Fatal(err)
				}
				for rows.Next() {
				}
				rows.Close()
			}
		})
	}
}

// BenchmarkIngest compares Append, batches of 1,000 synthetic entries into
// a new database, with the baseline the issue sets: a raw prepared,
// batched multi-row INSERT of the same rows, already interned, into the
// same schema and indexes, in one transaction per batch. Run it with a
// fixed count, e.g. -benchtime 300x, so both write the same rows.
func BenchmarkIngest(b *testing.B) {
	ctx := context.Background()
	// ingestStore opens an empty store with the generator's keys, and makes
	// n batches of 1,000 rows before the timer starts.
	ingestStore := func(b *testing.B, n int) (*sqlitestore.Store, [][]apilog.Entry) {
		s, err := sqlitestore.Open(filepath.Join(b.TempDir(), "ingest.db"), nil)
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { s.Close() })
		g := apilogtest.NewSynthetic(1, benchAccount, 200, benchStart)
		for _, k := range g.Keys {
			if err := s.UpsertKey(ctx, k); err != nil {
				b.Fatal(err)
			}
		}
		batches := make([][]apilog.Entry, n)
		for i := range batches {
			batches[i] = g.Entries(1000)
		}
		b.ResetTimer()
		return s, batches
	}
	b.Run("append", func(b *testing.B) {
		s, batches := ingestStore(b, b.N)
		for i := range b.N {
			if err := s.Append(ctx, batches[i]); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(b.N*1000)/b.Elapsed().Seconds(), "rows/s")
	})
	// recorder is the same rows through a Recorder that blocks rather than
	// drops, one Record call per row as the middleware makes them.
	b.Run("recorder", func(b *testing.B) {
		s, batches := ingestStore(b, b.N)
		rec := apilog.NewRecorder(s, &apilog.RecorderOptions{BlockTimeout: time.Minute})
		for i := range b.N {
			for _, e := range batches[i] {
				if err := rec.Record(e); err != nil {
					b.Fatal(err)
				}
			}
		}
		if err := rec.Close(ctx); err != nil {
			b.Fatal(err)
		}
		b.ReportMetric(float64(b.N*1000)/b.Elapsed().Seconds(), "rows/s")
		if st := rec.Stats(); st.Written != int64(b.N*1000) || st.Dropped != 0 || st.Failed != 0 {
			b.Fatalf("stats %+v, want every row written", st)
		}
	})
	b.Run("raw-insert", func(b *testing.B) {
		path := filepath.Join(b.TempDir(), "raw.db")
		s, err := sqlitestore.Open(path, nil) // creates the schema
		if err != nil {
			b.Fatal(err)
		}
		s.Close()
		db, err := sql.Open("sqlite3", "file:"+path+"?_journal_mode=WAL&_synchronous=NORMAL&_txlock=immediate&_cache_size=-65536")
		if err != nil {
			b.Fatal(err)
		}
		defer db.Close()
		db.SetMaxOpenConns(1)
		if _, err := db.Exec("PRAGMA wal_autocheckpoint = 8000"); err != nil { // as the store's writer
			b.Fatal(err)
		}
		g := apilogtest.NewSynthetic(1, benchAccount, 200, benchStart)
		ids := map[string]int64{}
		intern := func(kind, v string) int64 {
			id, ok := ids[kind+v]
			if !ok {
				id = int64(len(ids) + 1)
				ids[kind+v] = id
			}
			return id
		}
		batches := make([][]any, b.N)
		for i := range batches {
			for _, e := range g.Entries(1000) {
				batches[i] = append(batches[i], int64(1), intern("k", e.KeyID), intern("m", e.Method), intern("e", e.Endpoint),
					int64(e.Status), intern("r", e.ErrorCode), intern("i", e.IPHash), e.Time.UnixNano(), int64(e.Duration), e.RequestID)
			}
		}
		row := "(?,?,?,?,?,?,?,?,?,?)"
		stmt, err := db.Prepare("INSERT INTO entries (account, key, method, endpoint, status, error, ip, ts, duration, request_id) VALUES " +
			strings.Repeat(row+",", 99) + row)
		if err != nil {
			b.Fatal(err)
		}
		b.ResetTimer()
		for i := range b.N {
			tx, err := db.Begin()
			if err != nil {
				b.Fatal(err)
			}
			for j := 0; j < len(batches[i]); j += 1000 {
				if _, err := tx.Stmt(stmt).Exec(batches[i][j : j+1000]...); err != nil {
					b.Fatal(err)
				}
			}
			if err := tx.Commit(); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(b.N*1000)/b.Elapsed().Seconds(), "rows/s")
	})
}

// BenchmarkFirstPageUnderSearches measures the first page of the default
// view alone, then while 8 goroutines loop the worst search on the same
// Store: MaxSearches lets 2 of them run, the others wait, and QueryTimeout
// cuts each, so the first page keeps a connection of its own.
//
//	go test ./sqlitestore -run '^$' -bench FirstPageUnderSearches -benchtime 50x -count 5
func BenchmarkFirstPageUnderSearches(b *testing.B) {
	s := benchStore(b)
	apilogtest.BenchFirstPageUnderSearches(b, s, s)
}

// BenchmarkWorstSearches measures the searches that match nearly every
// row, which the store tests in Go (StrategyMask).
//
//	go test ./sqlitestore -run '^$' -bench WorstSearches -benchtime 5x -count 5
func BenchmarkWorstSearches(b *testing.B) {
	apilogtest.BenchWorstSearches(b, benchStore(b))
}

// BenchmarkSearchSweep puts 600 combinations of searches, filters, sorts
// and pages to the store once each (about 5 minutes a run).
//
//	go test ./sqlitestore -run '^$' -bench SearchSweep -benchtime 1x -count 3 -timeout 30m
func BenchmarkSearchSweep(b *testing.B) {
	apilogtest.BenchSearchSweep(b, benchStore(b))
}

// BenchmarkManyAccounts measures the operator's view of every account on
// a store of 20,000 accounts with 2 rows each (40,000 rows): its first
// page and total should cost about what one account's do, not grow with
// the number of accounts.
//
//	go test ./sqlitestore -run '^$' -bench ManyAccounts -benchtime 20x -count 5
func BenchmarkManyAccounts(b *testing.B) {
	const accounts = 20_000
	path := filepath.Join(os.TempDir(), fmt.Sprintf("apilog-bench-v%d-accounts-%d.db", sqlitestore.SchemaVersion, accounts))
	s := cachedStore(b, path, func(s *sqlitestore.Store) error {
		ctx := context.Background()
		var batch []apilog.Entry
		for i := range accounts {
			g := apilogtest.NewSynthetic(uint64(i), fmt.Sprintf("acct_%05d", i), 1, benchStart.Add(time.Duration(i)*time.Second))
			for _, k := range g.Keys {
				if err := s.UpsertKey(ctx, k); err != nil {
					return err
				}
			}
			if batch = append(batch, g.Entries(2)...); len(batch) >= 1000 {
				if err := s.Append(ctx, batch); err != nil {
					return err
				}
				batch = batch[:0]
			}
		}
		return s.Append(ctx, batch)
	})
	search, err := apilog.ParseSearch("flux", apilogtest.Hasher{})
	if err != nil {
		b.Fatal(err)
	}
	for _, c := range []struct {
		name string
		q    apilog.Query
	}{
		{"first-page", apilog.Query{}},
		{"page-2-pinned", apilog.Query{Page: 2, MaxID: 39_000}},
		{"2xx", apilog.Query{StatusClasses: []apilog.StatusClass{apilog.StatusSuccess}}},
		{"search-flux", apilog.Query{Search: search}},
		{"sort-endpoint", apilog.Query{Sort: apilog.Sort{Column: apilog.ColumnEndpoint}}},
		{"sort-status", apilog.Query{Sort: apilog.Sort{Column: apilog.ColumnStatus}}},
		{"sort-duration", apilog.Query{Sort: apilog.Sort{Column: apilog.ColumnDuration}}},
		{"sort-key", apilog.Query{Sort: apilog.Sort{Column: apilog.ColumnAPI}}},
		{"one-account", apilog.Query{Account: "acct_00042"}},
	} {
		c.q.AllAccounts = c.q.Account == ""
		b.Run(c.name, func(b *testing.B) {
			var p apilog.Page
			for b.Loop() {
				if p, err = s.Query(context.Background(), c.q); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(p.TotalRows), "rows")
		})
	}
}

// BenchmarkExport measures the export of whole results of a million rows;
// run with -benchtime 3x.
func BenchmarkExport(b *testing.B) {
	apilogtest.BenchExport(b, benchStore(b), *benchRows)
}

// BenchmarkVolume measures the chart's counts on the benchmark database.
func BenchmarkVolume(b *testing.B) {
	apilogtest.BenchVolume(b, benchStore(b), *benchRows)
}
