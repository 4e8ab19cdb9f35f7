// Command fill loads a SQLite apilog store with realistic synthetic rows,
// for benchmarks and the demo, and reports how fast the store took them.
//
// Usage:
//
//	go run ./examples/fill [flags]
//	go run ./examples/fill -db /tmp/x.db -n 1000000 -readers 2
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
// The report goes to standard output, one figure a line, ready for a
// README; progress goes to standard error every 10%. Ctrl-C stops the load,
// closes the store and reports what was written. Any error exits non-zero.
//
// Flags:
//
//	-db path        the SQLite file (default apilog-fill.db)
//	-n rows         rows to write, over all accounts (default 1000000)
//	-batch rows     rows per Append (default 1000)
//	-seed n         the generators' seed (default 1)
//	-account name   the first account (default acct_demo)
//	-accounts n     accounts to share the rows (default 1)
//	-sync mode      normal or full: sqlitestore.Options.Sync (default normal)
//	-readers n      goroutines querying during the load (default 0)
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"math"
	"math/rand/v2"
	"os"
	"os/signal"
	"slices"
	"strconv"
	"sync"
	"syscall"
	"time"

	"github.com/apilog/apilog"
	"github.com/apilog/apilog/apilogtest"
	"github.com/apilog/apilog/sqlitestore"
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
	db       string
	n        int
	batch    int
	seed     uint64
	account  string
	accounts int
	sync     sqlitestore.Sync
	syncName string
	readers  int
}

func parseFlags(args []string, stderr io.Writer) (config, error) {
	var c config
	fl := flag.NewFlagSet("fill", flag.ContinueOnError)
	fl.SetOutput(stderr)
	fl.StringVar(&c.db, "db", "apilog-fill.db", "the SQLite `file` to create or append to")
	fl.IntVar(&c.n, "n", 1_000_000, "`rows` to write, over all accounts")
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
	switch {
	case fl.NArg() > 0:
		return c, fmt.Errorf("unexpected argument %q: every setting is a flag (see -h)", fl.Arg(0))
	case c.db == "":
		return c, errors.New("-db is empty: want a file name")
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
	store, err := sqlitestore.Open(cfg.db, &sqlitestore.Options{Sync: cfg.sync, Readers: cfg.readers})
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
	if err := report(stdout, cfg, res, total); err != nil {
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

// result is what a load measured.
type result struct {
	written     int
	elapsed     time.Duration
	batchRates  []float64     // rows/s of each Append
	inAppend    time.Duration // the time spent in Append
	slowest     time.Duration // the longest Append
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
	fmt.Fprintf(stdout, "fill: %s rows into %s, %s; batch %s, %d account(s), sync %s, %d reader(s)\n",
		commas(cfg.n), cfg.db, into, commas(cfg.batch), cfg.accounts, cfg.syncName, cfg.readers)

	gens := generators(cfg, newest)
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
	wg.Go(func() { res.maxWAL = sampleWAL(bg, cfg.db+"-wal") })
	readers := make([]*reader, cfg.readers)
	for i := range readers {
		readers[i] = &reader{store: store, account: cfg.account, search: search, rng: rand.New(rand.NewPCG(cfg.seed, uint64(i)))}
		wg.Go(func() { readers[i].run(bg) })
	}
	err = write(ctx, store, cfg, gens, &res, stderr)
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
// after newest when that is later.
func generators(cfg config, newest time.Time) []*apilogtest.Synthetic {
	now := time.Now()
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

// write appends the rows, one batch of each account in turn, timing each
// Append and printing progress every 10%.
func write(ctx context.Context, store apilog.Store, cfg config, gens []*apilogtest.Synthetic, res *result, stderr io.Writer) error {
	left := make([]int, len(gens))
	for i := range left {
		left[i] = share(cfg, i)
	}
	start := time.Now()
	defer func() { res.elapsed = time.Since(start) }()
	nextTenth := 1
	for i := 0; res.written < cfg.n; i = (i + 1) % len(gens) {
		if left[i] == 0 {
			continue
		}
		if ctx.Err() != nil {
			return nil
		}
		batch := gens[i].Entries(min(cfg.batch, left[i]))
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
		for nextTenth <= 10 && res.written*10 >= nextTenth*cfg.n {
			s := time.Since(start).Seconds()
			fmt.Fprintf(stderr, "fill: %3d%%  %s rows  %.1f s  %s rows/s\n",
				nextTenth*10, commas(res.written), s, commas(int(float64(res.written)/s)))
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
func report(w io.Writer, cfg config, res result, total int) error {
	dbSize, err := fileSize(cfg.db)
	if err != nil {
		return err
	}
	wal, err := fileSize(cfg.db + "-wal")
	if err != nil {
		return err
	}
	var b []byte
	line := func(label, format string, args ...any) {
		b = fmt.Appendf(b, "%-28s "+format+"\n", append([]any{label + ":"}, args...)...)
	}
	line("rows written", "%s", commas(res.written))
	line("seconds", "%.2f", res.elapsed.Seconds())
	if res.elapsed > 0 {
		line("rows/s overall", "%s", commas(int(float64(res.written)/res.elapsed.Seconds())))
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
	line("database bytes", "%s (file %s + WAL %s, after Close)", commas(int(dbSize+wal)), commas(int(dbSize)), commas(int(wal)))
	if total > 0 {
		line("bytes per row", "%.1f (%s rows in the store)", float64(dbSize+wal)/float64(total), commas(total))
	}
	line("max WAL", "%.1f MB (%s bytes)", float64(res.maxWAL)/1e6, commas(int(res.maxWAL)))
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
	_, err = w.Write(b)
	return err
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
