// Command fill loads an apilog store, SQLite or PostgreSQL, with realistic
// synthetic rows, for benchmarks and the demo, and reports how fast the
// store took them.
//
// Usage:
//
//	go run ./examples/fill [flags]
//	go run ./examples/fill -db /tmp/x.db -n 1000000 -readers 2
//	go run ./examples/fill -db postgres://127.0.0.1/test -schema fill -writers 4
//
// For each account it upserts 200 keys (active, rotated, expired and
// revoked), then appends entries from [apilogtest.Synthetic]: about 40
// endpoints, a status mix with 4xx and 5xx answers and BSE-style error
// codes, about 50,000 distinct IP hashes and increasing times that end near
// now. With -accounts N the rows are split evenly between acct_demo,
// acct_demo_2, ... acct_demo_N, one batch of each in turn.
//
// A database that already has rows is appended to: the new rows start after
// its newest row, so times keep increasing with IDs as in a real log, even
// if that puts the newest rows past now.
//
// With -readers N, N goroutines query the first account while it loads,
// taking turns at the first page, a deep page (2 to 1000, 500 rows each) and
// a search for "flux", and the report gives their latencies.
//
// A -db that starts with postgres:// or postgresql:// is a PostgreSQL
// database, written through pgstore into the schema -schema; anything else
// is a SQLite file. With -writers N (PostgreSQL only), N processes write
// at once, as N instances of an API would: fill starts N copies of itself
// and deals each every N-th row of the rows one writer would write (so the
// same rows, values and times, each writer's batches spanning the times
// of the others'), which each makes before it starts; has them all start
// together once each is ready, and reports rows/s over the time until the
// last one is done. Its own process upserts the keys, runs
// the readers and measures the result. The size PostgreSQL reports is the
// schema's (pg_total_relation_size of its tables and sequence), with the
// heap's and each index's share per row.
//
// The report goes to standard output, one figure a line, ready for a
// README; progress goes to standard error every 10%. Ctrl-C stops the load,
// closes the store and reports what was written. Any error exits non-zero.
//
// Flags:
//
//	-db path|url    the SQLite file, or a postgres:// URL (default apilog-fill.db)
//	-schema name    PostgreSQL only: pgstore.Options.Schema (default apilog)
//	-writers n      PostgreSQL only: processes appending at once (default 1)
//	-n rows         rows to write, over all accounts and writers (default 1000000)
//	-batch rows     rows per Append (default 1000)
//	-seed n         the generators' seed (default 1)
//	-account name   the first account (default acct_demo)
//	-accounts n     accounts to share the rows (default 1)
//	-sync mode      SQLite only: normal or full, sqlitestore.Options.Sync (default normal)
//	-readers n      goroutines querying during the load (default 0)
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"math"
	"math/rand/v2"
	"os"
	"os/exec"
	"os/signal"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/apilog/apilog"
	"github.com/apilog/apilog/apilogtest"
	"github.com/apilog/apilog/pgstore"
	"github.com/apilog/apilog/sqlitestore"
	"github.com/jackc/pgx/v5"
)

// Fixed shape of the data and the read load.
const (
	keysPerAccount = 200
	// meanGap is the average time between two synthetic entries: Synthetic
	// spaces them 1 to 40 ms apart. It places the first row so that the
	// last one lands near now.
	meanGap = 20500 * time.Microsecond
	// maxDeepPage is the deepest page the readers ask for.
	maxDeepPage = 1000
	// searchText is the readers' one-term search: it matches the
	// endpoints of the flux models.
	searchText = "flux"
	// walSampleEvery is how often the WAL's size is sampled.
	walSampleEvery = 100 * time.Millisecond
	// dealChunk is how many rows a writer process makes at a time to deal
	// itself its share.
	dealChunk = 10_000
)

// errUsage reports a flag error the flag package has already printed.
var errUsage = errors.New("usage")

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	// After the first signal, restore the default handling so that a second
	// Ctrl-C kills a program stuck in a slow Close.
	go func() {
		<-ctx.Done()
		stop()
	}()
	err := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	switch {
	case errors.Is(err, flag.ErrHelp):
	case errors.Is(err, errUsage):
		os.Exit(2)
	case err != nil:
		fmt.Fprintln(os.Stderr, "fill:", err)
		os.Exit(1)
	}
}

// config is the parsed command line.
type config struct {
	args     []string // as given, for the writer processes
	db       string
	postgres bool // db is a postgres:// URL
	schema   string
	writers  int
	n        int
	batch    int
	seed     uint64
	account  string
	accounts int
	sync     sqlitestore.Sync
	syncName string
	readers  int
}

// isPostgres reports whether -db names a PostgreSQL database.
func isPostgres(db string) bool {
	return strings.HasPrefix(db, "postgres://") || strings.HasPrefix(db, "postgresql://")
}

func parseFlags(args []string, stderr io.Writer) (config, error) {
	c := config{args: args}
	fl := flag.NewFlagSet("fill", flag.ContinueOnError)
	fl.SetOutput(stderr)
	fl.StringVar(&c.db, "db", "apilog-fill.db", "the SQLite `file` to create or append to, or a postgres:// URL")
	fl.StringVar(&c.schema, "schema", "apilog", "PostgreSQL only: the `schema` that holds the store")
	fl.IntVar(&c.writers, "writers", 1, "PostgreSQL only: `number` of processes appending at once")
	fl.IntVar(&c.n, "n", 1_000_000, "`rows` to write, over all accounts and writers")
	fl.IntVar(&c.batch, "batch", 1000, "`rows` per Append")
	fl.Uint64Var(&c.seed, "seed", 1, "the synthetic data's seed")
	fl.StringVar(&c.account, "account", "acct_demo", "the first account's `name`")
	fl.IntVar(&c.accounts, "accounts", 1, "`number` of accounts sharing the rows: name, name_2, ...")
	fl.StringVar(&c.syncName, "sync", "normal", "commit durability `mode`: normal or full")
	fl.IntVar(&c.readers, "readers", 0, "`number` of goroutines querying while the store loads")
	if err := fl.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return c, err
		}
		return c, errUsage
	}
	set := map[string]bool{}
	fl.Visit(func(f *flag.Flag) { set[f.Name] = true })
	c.postgres = isPostgres(c.db)
	switch {
	case fl.NArg() > 0:
		return c, fmt.Errorf("unexpected argument %q: every setting is a flag (see -h)", fl.Arg(0))
	case c.db == "":
		return c, errors.New("-db is empty: want a file name or a postgres:// URL")
	case c.postgres && set["sync"]:
		return c, errors.New("-sync is SQLite's: PostgreSQL commits as its server is configured")
	case !c.postgres && set["schema"]:
		return c, errors.New("-schema is PostgreSQL's: give -db a postgres:// URL")
	case !c.postgres && c.writers != 1:
		return c, fmt.Errorf("-writers %d: a SQLite file takes one writer; give -db a postgres:// URL", c.writers)
	case c.schema == "":
		return c, errors.New("-schema is empty: want a name")
	case c.writers < 1:
		return c, fmt.Errorf("-writers %d: want at least 1", c.writers)
	case c.writers > c.n:
		return c, fmt.Errorf("-writers %d: more writers than the %d rows", c.writers, c.n)
	case c.n < 1:
		return c, fmt.Errorf("-n %d: want at least 1 row", c.n)
	case c.batch < 1:
		return c, fmt.Errorf("-batch %d: want at least 1 row", c.batch)
	case c.account == "":
		return c, errors.New("-account is empty: want a name")
	case c.accounts < 1:
		return c, fmt.Errorf("-accounts %d: want at least 1", c.accounts)
	case c.readers < 0:
		return c, fmt.Errorf("-readers %d: want 0 or more", c.readers)
	}
	switch c.syncName {
	case "normal":
		c.sync = sqlitestore.SyncNormal
	case "full":
		c.sync = sqlitestore.SyncFull
	default:
		return c, fmt.Errorf("-sync %q: want normal or full", c.syncName)
	}
	return c, nil
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	cfg, err := parseFlags(args, stderr)
	if err != nil {
		return err
	}
	if j := os.Getenv(writerEnv); j != "" {
		return writer(ctx, cfg, j, os.Stdin, stdout, stderr)
	}
	store, err := openStore(ctx, cfg)
	if err != nil {
		return err
	}
	res, err := load(ctx, store, cfg, stdout, stderr)
	var total int
	if err == nil {
		// The load's context may be cancelled (Ctrl-C); the count that
		// sizes a row must still run.
		total, _, err = contents(context.Background(), store)
	}
	if err := errors.Join(err, store.Close()); err != nil {
		return err
	}
	size, err := measure(context.Background(), cfg)
	if err != nil {
		return err
	}
	if err := report(stdout, cfg, res, total, size); err != nil {
		return err
	}
	switch {
	case ctx.Err() != nil:
		return fmt.Errorf("interrupted after %s of %s rows; the store was closed cleanly", commas(res.written), commas(cfg.n))
	case res.queryErrors > 0:
		return fmt.Errorf("%d queries failed during the load (see above)", res.queryErrors)
	}
	return nil
}

// openStore opens the store -db names.
func openStore(ctx context.Context, cfg config) (apilog.Store, error) {
	if cfg.postgres {
		return pgstore.Open(ctx, cfg.db, &pgstore.Options{Schema: cfg.schema})
	}
	return sqlitestore.Open(cfg.db, &sqlitestore.Options{Sync: cfg.sync, Readers: cfg.readers})
}

// result is what a load measured.
type result struct {
	written     int
	elapsed     time.Duration
	batchRates  []float64     // rows/s of each Append
	inAppend    time.Duration // the time spent in Append, summed over the writers
	slowest     time.Duration // the longest Append
	writerRates []float64     // with -writers: rows/s of each writer over its own time
	maxWAL      int64
	queries     [numKinds]kindStats
	queryErrors int
}

// contents returns the number of rows in the store, over all accounts, and
// the time of the newest (zero when there are none): the first row of the
// default sort.
func contents(ctx context.Context, store apilog.Store) (rows int, newest time.Time, err error) {
	p, err := store.Query(ctx, apilog.Query{AllAccounts: true, PageSize: 1})
	if err != nil {
		return 0, time.Time{}, fmt.Errorf("count rows: %w", err)
	}
	if len(p.Rows) > 0 {
		newest = p.Rows[0].Time
	}
	return p.TotalRows, newest, nil
}

// load upserts the keys and appends cfg.n entries while the readers and the
// WAL sampler run. A cancelled ctx ends it early without an error.
func load(ctx context.Context, store apilog.Store, cfg config, stdout, stderr io.Writer) (result, error) {
	var res result
	existing, newest, err := contents(ctx, store)
	if err != nil {
		return res, err
	}
	into := "a new database"
	if existing > 0 {
		into = fmt.Sprintf("an existing database with %s rows (appending after its newest row, %s)",
			commas(existing), newest.Format(time.RFC3339))
	}
	if cfg.postgres {
		// Not the URL, which may hold a password.
		fmt.Fprintf(stdout, "fill: %s rows into PostgreSQL schema %s, %s; batch %s, %d account(s), %d writer process(es), %d reader(s)\n",
			commas(cfg.n), cfg.schema, strings.Replace(into, "database", "schema", 1), commas(cfg.batch), cfg.accounts, cfg.writers, cfg.readers)
	} else {
		fmt.Fprintf(stdout, "fill: %s rows into %s, %s; batch %s, %d account(s), sync %s, %d reader(s)\n",
			commas(cfg.n), cfg.db, into, commas(cfg.batch), cfg.accounts, cfg.syncName, cfg.readers)
	}

	now := time.Now()
	gens := generators(cfg, newest, now)
	for _, g := range gens {
		for _, k := range g.Keys {
			if err := store.UpsertKey(ctx, k); err != nil {
				if ctx.Err() != nil {
					return res, nil
				}
				return res, fmt.Errorf("upsert key %s: %w", k.ID, err)
			}
		}
	}

	search, err := apilog.ParseSearch(searchText, nil)
	if err != nil {
		return res, fmt.Errorf("parse the readers' search: %w", err)
	}
	bg, stopBg := context.WithCancel(ctx)
	var wg sync.WaitGroup
	if !cfg.postgres {
		wg.Go(func() { res.maxWAL = sampleWAL(bg, cfg.db+"-wal") })
	}
	readers := make([]*reader, cfg.readers)
	for i := range readers {
		readers[i] = &reader{store: store, account: cfg.account, search: search, rng: rand.New(rand.NewPCG(cfg.seed, uint64(i)))}
		wg.Go(func() { readers[i].run(bg) })
	}
	if cfg.writers > 1 {
		err = writeProcs(ctx, cfg, newest, now, &res, stderr)
	} else {
		err = write(ctx, store, cfg, generated(cfg, gens), &res, "fill", stderr)
	}
	stopBg()
	wg.Wait()
	for _, r := range readers {
		for k := range r.stats {
			res.queries[k].lat = append(res.queries[k].lat, r.stats[k].lat...)
			res.queries[k].errors += r.stats[k].errors
			res.queryErrors += r.stats[k].errors
			if res.queries[k].firstErr == nil {
				res.queries[k].firstErr = r.stats[k].firstErr
			}
		}
	}
	return res, err
}

// generators returns one generator per account, each with its share of
// the rows and a start that makes its last row land near now, or just
// after newest when that is later. Writer processes are given the same
// now, so that they make the same rows.
func generators(cfg config, newest, now time.Time) []*apilogtest.Synthetic {
	gens := make([]*apilogtest.Synthetic, cfg.accounts)
	for i := range gens {
		name := cfg.account
		if i > 0 {
			name = fmt.Sprintf("%s_%d", cfg.account, i+1)
		}
		start := now.Add(-time.Duration(share(cfg, i)) * meanGap)
		if after := newest.Add(time.Millisecond); after.After(start) {
			start = after
		}
		// A seed per account, so that accounts do not share IP hashes.
		gens[i] = apilogtest.NewSynthetic(cfg.seed+uint64(i), name, keysPerAccount, start)
	}
	return gens
}

// share is account i's share of the rows: the remainder goes to the first.
func share(cfg config, i int) int {
	n := cfg.n / cfg.accounts
	if i < cfg.n%cfg.accounts {
		n++
	}
	return n
}

// rows is what a writer writes: left[i] rows of account i, next(i, n)
// returns the next n of them.
type rows struct {
	left []int
	next func(i, n int) []apilog.Entry
}

// generated is the rows of every account, made by gens as write asks for
// them.
func generated(cfg config, gens []*apilogtest.Synthetic) rows {
	left := make([]int, len(gens))
	for i := range left {
		left[i] = share(cfg, i)
	}
	return rows{left: left, next: func(i, n int) []apilog.Entry { return gens[i].Entries(n) }}
}

// write appends the rows, one batch of each account in turn, timing each
// Append and printing progress every 10%, each line starting with name.
func write(ctx context.Context, store apilog.Store, cfg config, src rows, res *result, name string, stderr io.Writer) error {
	left := make([]int, len(src.left))
	copy(left, src.left)
	total := 0
	for _, n := range left {
		total += n
	}
	start := time.Now()
	defer func() { res.elapsed = time.Since(start) }()
	nextTenth := 1
	for i := 0; res.written < total; i = (i + 1) % len(left) {
		if left[i] == 0 {
			continue
		}
		if ctx.Err() != nil {
			return nil
		}
		batch := src.next(i, min(cfg.batch, left[i]))
		t := time.Now()
		if err := store.Append(ctx, batch); err != nil {
			if ctx.Err() != nil {
				return nil // interrupted: the batch was rolled back
			}
			return fmt.Errorf("append %d rows after %s: %w", len(batch), commas(res.written), err)
		}
		d := time.Since(t)
		res.batchRates = append(res.batchRates, float64(len(batch))/d.Seconds())
		res.inAppend += d
		res.slowest = max(res.slowest, d)
		left[i] -= len(batch)
		res.written += len(batch)
		for nextTenth <= 10 && res.written*10 >= nextTenth*total {
			s := time.Since(start).Seconds()
			fmt.Fprintf(stderr, "%s: %3d%%  %s rows  %.1f s  %s rows/s\n",
				name, nextTenth*10, commas(res.written), s, commas(int(float64(res.written)/s)))
			nextTenth++
		}
	}
	return nil
}

// sampleWAL returns the largest size of the file at path seen until ctx
// ends. A missing file counts as empty: SQLite may not have created it yet.
func sampleWAL(ctx context.Context, path string) int64 {
	var largest int64
	t := time.NewTicker(walSampleEvery)
	defer t.Stop()
	for {
		if st, err := os.Stat(path); err == nil {
			largest = max(largest, st.Size())
		}
		select {
		case <-ctx.Done():
			return largest
		case <-t.C:
		}
	}
}

// kind is a kind of query the readers make.
type kind int

const (
	firstPage kind = iota
	deepPage
	searchPage
	numKinds
)

var kindNames = [numKinds]string{
	firstPage:  "first page",
	deepPage:   "deep page",
	searchPage: "search " + strconv.Quote(searchText),
}

// kindStats is what the readers saw of one kind of query.
type kindStats struct {
	lat      []time.Duration
	errors   int
	firstErr error
}

// reader queries one account in a loop, taking turns at each kind.
type reader struct {
	store   apilog.Store
	account string
	search  apilog.Search
	rng     *rand.Rand
	pages   int // the page count the last unfiltered query reported
	stats   [numKinds]kindStats
}

func (r *reader) run(ctx context.Context) {
	for i := 0; ctx.Err() == nil; i++ {
		k := kind(i % int(numKinds))
		q := apilog.Query{Account: r.account}
		switch k {
		case deepPage:
			// Pages 2 to 1000, but only those that exist yet: a page past
			// the end costs only the count and would flatter the store.
			q.Page = 2 + r.rng.IntN(max(min(r.pages, maxDeepPage)-1, 1))
		case searchPage:
			q.Search = r.search
		}
		t := time.Now()
		p, err := r.store.Query(ctx, q)
		d := time.Since(t)
		st := &r.stats[k]
		switch {
		case ctx.Err() != nil:
			return // the load ended during the query
		case err != nil:
			st.errors++
			if st.firstErr == nil {
				st.firstErr = fmt.Errorf("%s page %d: %w", kindNames[k], q.Page, err)
			}
			continue
		}
		st.lat = append(st.lat, d)
		if k != searchPage {
			r.pages = p.TotalPages
		}
	}
}

// report prints the figures, one a line. total is the rows in the store
// after the load, over all accounts.
func report(w io.Writer, cfg config, res result, total int, size dbSize) error {
	var b []byte
	line := func(label, format string, args ...any) {
		b = fmt.Appendf(b, "%-28s "+format+"\n", append([]any{label + ":"}, args...)...)
	}
	line("rows written", "%s", commas(res.written))
	if cfg.writers > 1 {
		line("writer processes", "%d", cfg.writers)
	}
	line("seconds", "%.2f", res.elapsed.Seconds())
	if res.elapsed > 0 {
		line("rows/s overall", "%s", commas(int(float64(res.written)/res.elapsed.Seconds())))
	}
	for i, r := range res.writerRates {
		line(fmt.Sprintf("rows/s, writer %d", i+1), "%s (its rows over its own time)", commas(int(r)))
	}
	slices.Sort(res.batchRates)
	for _, p := range []struct {
		name string
		q    float64
	}{{"median", 0.5}, {"p10", 0.1}, {"p90", 0.9}} {
		line("rows/s per batch, "+p.name, "%s", commas(int(quantile(res.batchRates, p.q))))
	}
	line("seconds in Append", "%.2f", res.inAppend.Seconds())
	line("slowest Append", "%.1f ms", ms(res.slowest))
	line("database bytes", "%s (%s)", commas(int(size.total)), size.what)
	if total > 0 {
		line("bytes per row", "%.1f (%s rows in the store)", float64(size.total)/float64(total), commas(total))
		for _, p := range size.parts {
			line("bytes/row, "+p.name, "%.1f", float64(p.bytes)/float64(total))
		}
	}
	if !cfg.postgres {
		line("max WAL", "%.1f MB (%s bytes)", float64(res.maxWAL)/1e6, commas(int(res.maxWAL)))
	}
	if cfg.readers > 0 {
		for k, st := range res.queries {
			slices.Sort(st.lat)
			line(kindNames[k]+" queries", "%s, median %.1f ms, p99 %.1f ms, max %.1f ms",
				commas(len(st.lat)), ms(quantile(st.lat, 0.5)), ms(quantile(st.lat, 0.99)), ms(quantile(st.lat, 1)))
			if st.errors > 0 {
				line(kindNames[k]+" errors", "%d, the first: %v", st.errors, st.firstErr)
			}
		}
	}
	_, err := w.Write(b)
	return err
}

// dbSize is the size of the store after the load.
type dbSize struct {
	total int64
	what  string // what total counts
	parts []struct {
		name  string
		bytes int64
	} // PostgreSQL: the rows' heap and each index of entries, over its partitions
}

// measure returns the size of the store: the file and its WAL for SQLite;
// for PostgreSQL, every table of the schema with its indexes and TOAST,
// and the sequence, as pg_total_relation_size counts them.
func measure(ctx context.Context, cfg config) (dbSize, error) {
	var size dbSize
	if !cfg.postgres {
		file, err := fileSize(cfg.db)
		if err != nil {
			return size, err
		}
		wal, err := fileSize(cfg.db + "-wal")
		if err != nil {
			return size, err
		}
		size.total = file + wal
		size.what = fmt.Sprintf("file %s + WAL %s, after Close", commas(int(file)), commas(int(wal)))
		return size, nil
	}
	conn, err := pgx.Connect(ctx, cfg.db)
	if err != nil {
		return size, fmt.Errorf("measure the schema: %w", err)
	}
	defer conn.Close(ctx)
	if err := conn.QueryRow(ctx, `SELECT coalesce(sum(pg_total_relation_size(c.oid)), 0)::int8 FROM pg_class c
		JOIN pg_namespace ns ON ns.oid = c.relnamespace WHERE ns.nspname = $1 AND c.relkind IN ('r', 'S')`, cfg.schema).Scan(&size.total); err != nil {
		return size, fmt.Errorf("measure the schema: %w", err)
	}
	size.what = "schema " + cfg.schema + ": tables, indexes, sequence"
	rows, err := conn.Query(ctx, `SELECT p.relname::text, sum(pg_relation_size(i.inhrelid))::int8 FROM pg_inherits i
		JOIN pg_class p ON p.oid = i.inhparent JOIN pg_namespace ns ON ns.oid = p.relnamespace
		WHERE ns.nspname = $1 AND p.relkind IN ('p', 'I') GROUP BY 1 ORDER BY 2 DESC`, cfg.schema)
	if err != nil {
		return size, fmt.Errorf("measure the schema: %w", err)
	}
	var p struct {
		name  string
		bytes int64
	}
	_, err = pgx.ForEachRow(rows, []any{&p.name, &p.bytes}, func() error {
		if p.name == "entries" {
			p.name = "heap"
		}
		size.parts = append(size.parts, p)
		return nil
	})
	if err != nil {
		return size, fmt.Errorf("measure the schema: %w", err)
	}
	return size, nil
}

// writerEnv is the environment variable that makes fill a writer process
// of another fill, and tells it which (a writerJob in JSON).
const writerEnv = "APILOG_FILL_WRITER"

// writerJob is what a writer process is told besides the command line.
type writerJob struct {
	Writer int       // 0-based
	Newest time.Time // the store's newest row before the load
	Now    time.Time // when the load started, which places the rows' times
}

// writerReport is what a writer process reports on its standard output,
// as JSON: first {"Ready": true} once it has connected, then its figures
// when it is done.
type writerReport struct {
	Ready      bool
	Written    int
	Elapsed    time.Duration // from the start signal to its last commit
	BatchRates []float64
	InAppend   time.Duration
	Slowest    time.Duration
	Err        string
}

// dealt is writer w's share of the rows one writer would write: every
// cfg.writers-th row of each account, starting at its w-th, as a load
// balancer deals requests to the instances of an API. The writers' rows
// are then the same rows as one writer's, with the same values and times,
// and a batch of each writer spans the times of the others'. They are
// made at once, so that the load times the writing only: each writer
// makes every row to keep its own.
func dealt(cfg config, gens []*apilogtest.Synthetic, w int) rows {
	mine := make([][]apilog.Entry, len(gens))
	left := make([]int, len(gens))
	for i, g := range gens {
		// In chunks, so that only this writer's rows stay in memory.
		for j, n := 0, share(cfg, i); j < n; j += dealChunk {
			for k, e := range g.Entries(min(dealChunk, n-j)) {
				if (j+k)%cfg.writers == w {
					mine[i] = append(mine[i], e)
				}
			}
		}
		left[i] = len(mine[i])
	}
	return rows{left: left, next: func(i, n int) []apilog.Entry {
		batch := mine[i][:n:n]
		mine[i] = mine[i][n:]
		return batch
	}}
}

// writer is a writer process: it opens the store, says it is ready, waits
// for the line that starts it on stdin, writes its share and reports. The
// end of stdin (the fill that started it stopping) stops it early.
func writer(ctx context.Context, cfg config, job string, stdin io.Reader, stdout, stderr io.Writer) error {
	var j writerJob
	if err := json.Unmarshal([]byte(job), &j); err != nil {
		return fmt.Errorf("%s: %w", writerEnv, err)
	}
	if j.Writer < 0 || j.Writer >= cfg.writers {
		return fmt.Errorf("%s: writer %d of %d", writerEnv, j.Writer, cfg.writers)
	}
	src := dealt(cfg, generators(cfg, j.Newest, j.Now), j.Writer)
	store, err := openStore(ctx, cfg)
	if err != nil {
		return err
	}
	defer store.Close()
	enc := json.NewEncoder(stdout)
	if err := enc.Encode(writerReport{Ready: true}); err != nil {
		return err
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	started := make(chan bool)
	go func() {
		buf := make([]byte, 1)
		_, err := stdin.Read(buf)
		started <- err == nil
		io.Copy(io.Discard, stdin)
		cancel()
	}()
	if !<-started {
		return nil // stopped before the start
	}
	var res result
	err = write(ctx, store, cfg, src, &res, fmt.Sprintf("fill writer %d", j.Writer+1), stderr)
	rep := writerReport{Written: res.written, Elapsed: res.elapsed, BatchRates: res.batchRates, InAppend: res.inAppend, Slowest: res.slowest}
	if err != nil {
		rep.Err = err.Error()
	}
	if err := enc.Encode(rep); err != nil {
		return err
	}
	return err
}

// writeProcs runs cfg.writers writer processes, copies of this program,
// and adds up what they report into res. They start writing together,
// once each has connected, and res.elapsed runs until the last is done.
// A cancelled ctx, or a writer that fails, stops them all.
func writeProcs(ctx context.Context, cfg config, newest, now time.Time, res *result, stderr io.Writer) error {
	exe, err := os.Executable()
	if err != nil {
		return fmt.Errorf("start the writers: %w", err)
	}
	type proc struct {
		cmd   *exec.Cmd
		stdin io.WriteCloser
		dec   *json.Decoder
	}
	procs := make([]proc, cfg.writers)
	var stopOnce sync.Once
	stop := func() {
		stopOnce.Do(func() {
			for _, p := range procs {
				if p.stdin != nil {
					p.stdin.Close()
				}
			}
		})
	}
	defer stop()
	for w := range procs {
		job, err := json.Marshal(writerJob{Writer: w, Newest: newest, Now: now})
		if err != nil {
			return err
		}
		cmd := exec.Command(exe, cfg.args...)
		cmd.Env = append(os.Environ(), writerEnv+"="+string(job))
		cmd.Stderr = stderr
		stdin, err := cmd.StdinPipe()
		if err != nil {
			return err
		}
		stdout, err := cmd.StdoutPipe()
		if err != nil {
			return err
		}
		if err := cmd.Start(); err != nil {
			return fmt.Errorf("start writer %d: %w", w+1, err)
		}
		procs[w] = proc{cmd: cmd, stdin: stdin, dec: json.NewDecoder(stdout)}
		defer cmd.Wait() // after stop, on every return
	}
	for w, p := range procs {
		var r writerReport
		if err := p.dec.Decode(&r); err != nil || !r.Ready {
			return fmt.Errorf("writer %d did not start (see above): %v", w+1, err)
		}
	}
	go func() {
		<-ctx.Done()
		stop()
	}()
	start := time.Now()
	for _, p := range procs {
		p.stdin.Write([]byte("\n"))
	}
	reports := make([]writerReport, len(procs))
	errs := make([]error, len(procs))
	var wg sync.WaitGroup
	for w, p := range procs {
		wg.Go(func() {
			if err := p.dec.Decode(&reports[w]); err != nil {
				errs[w] = fmt.Errorf("writer %d ended without a report (see above): %w", w+1, err)
			} else if reports[w].Err != "" {
				errs[w] = fmt.Errorf("writer %d: %s", w+1, reports[w].Err)
			}
			if errs[w] != nil {
				stop()
			}
		})
	}
	wg.Wait()
	res.elapsed = time.Since(start)
	for _, r := range reports {
		res.written += r.Written
		res.batchRates = append(res.batchRates, r.BatchRates...)
		res.inAppend += r.InAppend
		res.slowest = max(res.slowest, r.Slowest)
		if r.Elapsed > 0 {
			res.writerRates = append(res.writerRates, float64(r.Written)/r.Elapsed.Seconds())
		}
	}
	return errors.Join(errs...)
}

// ms returns d in milliseconds.
func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// fileSize returns the size of the file at path, 0 when it does not exist:
// Close may leave no WAL behind.
func fileSize(path string) (int64, error) {
	st, err := os.Stat(path)
	if errors.Is(err, fs.ErrNotExist) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("size of %s: %w", path, err)
	}
	return st.Size(), nil
}

// quantile returns the nearest-rank q-quantile of sorted, or 0 if it is
// empty.
func quantile[T float64 | time.Duration](sorted []T, q float64) T {
	if len(sorted) == 0 {
		return 0
	}
	i := int(math.Ceil(q*float64(len(sorted)))) - 1
	return sorted[min(max(i, 0), len(sorted)-1)]
}

// commas formats n, which is not negative, with thousands separators, as
// the README's figures are.
func commas(n int) string {
	s := strconv.Itoa(n)
	var b []byte
	for i := range len(s) {
		if i > 0 && (len(s)-i)%3 == 0 {
			b = append(b, ',')
		}
		b = append(b, s[i])
	}
	return string(b)
}
