package pgstore_test

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"log/slog"
	"maps"
	"math/rand/v2"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/apilog/apilog"
	"github.com/apilog/apilog/apilogtest"
	"github.com/apilog/apilog/pgstore"
	"github.com/apilog/apilog/pgstore/pgstoretest"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// The tests below run the test binary again as other processes, which
// TestMain sends to a child function by these variables instead of running
// the tests.
const (
	childEnv  = "PGSTORE_TEST_CHILD"  // "writer"
	urlEnv    = "PGSTORE_TEST_URL"    // the server
	schemaEnv = "PGSTORE_TEST_SCHEMA" // the store's schema
	tagEnv    = "PGSTORE_TEST_TAG"    // writer: its name, the prefix of its request IDs
	countEnv  = "PGSTORE_TEST_COUNT"  // writer: how many entries to record; 0 until killed
)

func TestMain(m *testing.M) {
	switch mode := os.Getenv(childEnv); mode {
	case "":
		os.Exit(m.Run())
	case "writer":
		os.Exit(writerChild())
	default:
		fmt.Fprintf(os.Stderr, "%s=%q: want writer\n", childEnv, mode)
		os.Exit(2)
	}
}

// t0 is when the entries of these tests start: a fixed time, so that
// every process needs the same partitions and creates them at once.
var t0 = time.Date(2026, 11, 1, 12, 0, 0, 0, time.UTC)

// sharedAccount is written by every writer at once, with the same values,
// which they all intern at the same moments.
const sharedAccount = "acct_shared"

// child is the test binary run again as another process.
type child struct {
	tag    string
	cmd    *exec.Cmd
	lines  chan string // its stdout, line by line; closed at EOF
	stderr *bytes.Buffer
}

// startChild runs the test binary as a child in mode, with env added to
// its environment. The child is killed when the test ends, in case the
// test fails before it waits for the child.
func startChild(t testing.TB, tag, mode string, env ...string) *child {
	t.Helper()
	c := &child{tag: tag, cmd: exec.Command(os.Args[0], "-test.run=^$"), lines: make(chan string, 1024), stderr: &bytes.Buffer{}}
	c.cmd.Env = append(os.Environ(), append([]string{childEnv + "=" + mode, tagEnv + "=" + tag}, env...)...)
	c.cmd.Stderr = c.stderr
	stdout, err := c.cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := c.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		defer close(c.lines)
		r := bufio.NewReader(stdout)
		for {
			line, err := r.ReadString('\n')
			if err != nil {
				return // a partial line is no acknowledgment
			}
			c.lines <- strings.TrimSuffix(line, "\n")
		}
	}()
	t.Cleanup(func() {
		if c.cmd.ProcessState == nil {
			c.cmd.Process.Kill()
			c.cmd.Wait()
		}
	})
	return c
}

// writerChild records entries through a Recorder into the store named by
// the environment. It alternates between sharedAccount and an account of
// its own at random, in chunks of up to 5,000 entries; after each chunk it
// flushes and prints "flushed n": its entries 1 to n are acknowledged. Their
// request IDs are "<tag>-<n>". With a count, it then closes the recorder and
// prints "done n shared retries", shared being how many went to
// sharedAccount and retries the recorder's; without, it records until it
// is killed.
func writerChild() int {
	fail := func(err error) int {
		fmt.Fprintln(os.Stderr, "writer child:", err)
		return 1
	}
	tag := os.Getenv(tagEnv)
	count, err := strconv.Atoi(os.Getenv(countEnv))
	if err != nil {
		return fail(err)
	}
	ctx := context.Background()
	s, err := pgstore.Open(ctx, os.Getenv(urlEnv), &pgstore.Options{Schema: os.Getenv(schemaEnv)})
	if err != nil {
		return fail(err)
	}
	defer s.Close()
	rec := apilog.NewRecorder(s, &apilog.RecorderOptions{
		BlockTimeout: time.Minute, // a slow store must not drop entries: this test counts them
		Logger:       slog.New(slog.NewTextHandler(os.Stderr, nil)),
	})
	// The same seed for the shared account in every child, so that they
	// intern the same values at the same time.
	shared := apilogtest.NewSynthetic(1, sharedAccount, 8, t0)
	h := fnv.New64a()
	h.Write([]byte(tag))
	own := apilogtest.NewSynthetic(h.Sum64(), "acct_"+tag, 4, t0)
	rng := rand.New(rand.NewPCG(uint64(os.Getpid()), uint64(time.Now().UnixNano())))
	n, nShared := 0, 0
	for count == 0 || n < count {
		chunk := 1 + rng.IntN(5000)
		if count > 0 {
			chunk = min(chunk, count-n)
		}
		for range chunk {
			g := own
			if rng.IntN(2) == 0 {
				g, nShared = shared, nShared+1
			}
			e := g.Entries(1)[0]
			n++
			e.RequestID = tag + "-" + strconv.Itoa(n)
			if err := rec.Record(e); err != nil {
				return fail(err)
			}
		}
		if err := rec.Flush(ctx); err != nil {
			return fail(err)
		}
		fmt.Printf("flushed %d\n", n)
	}
	if err := rec.Close(ctx); err != nil {
		return fail(err)
	}
	st := rec.Stats()
	if st.Written != int64(n) {
		return fail(fmt.Errorf("stats %+v after %d entries", st, n))
	}
	fmt.Printf("done %d %d %d\n", n, nShared, st.Retries)
	return 0
}

// writerReport is what a writer child said.
type writerReport struct {
	acked   int  // its entries 1 to acked were acknowledged by a Flush
	done    bool // it closed its recorder and said so
	shared  int  // of the entries, to sharedAccount (when done)
	retries int  // the recorder's (when done)
	ended   error
	signals syscall.Signal // the signal that ended it, if one did
}

// watch reads c's lines into r until c's stdout ends, then waits for c.
func (c *child) watch(t testing.TB, r *writerReport) {
	for line := range c.lines {
		var n, shared, retries int
		switch {
		case strings.HasPrefix(line, "flushed "):
			if _, err := fmt.Sscanf(line, "flushed %d", &n); err != nil || n < r.acked {
				t.Errorf("%s said %q after flushed %d", c.tag, line, r.acked)
			}
			r.acked = n
		case strings.HasPrefix(line, "done "):
			if _, err := fmt.Sscanf(line, "done %d %d %d", &n, &shared, &retries); err != nil || n != r.acked {
				t.Errorf("%s said %q after flushed %d", c.tag, line, r.acked)
			}
			r.done, r.shared, r.retries = true, shared, retries
		default:
			t.Errorf("%s said %q", c.tag, line)
		}
	}
	r.ended = c.cmd.Wait()
	if ws, ok := c.cmd.ProcessState.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		r.signals = ws.Signal()
	}
}

// storedRow is an entry as the tests read it back with SQL.
type storedRow struct {
	n  int   // the number in its request ID
	id int64 // its row ID
}

// storedByTag reads every entry of the schema and groups them by the tag
// of their request IDs ("<tag>-<n>"), in row ID order; entries with other
// request IDs go under "". It also checks that no row ID is stored twice,
// which the table does not enforce: the IDs come from a sequence and COPY.
func storedByTag(t testing.TB, pool *pgxpool.Pool, schema string) map[string][]storedRow {
	t.Helper()
	ctx := context.Background()
	var rows, distinct int64
	if err := pool.QueryRow(ctx, "SELECT count(*), count(DISTINCT id) FROM "+pgx.Identifier{schema, "entries"}.Sanitize()).Scan(&rows, &distinct); err != nil {
		t.Fatal(err)
	}
	if rows != distinct {
		t.Errorf("%d rows, %d distinct row IDs: an ID was stored twice", rows, distinct)
	}
	res, err := pool.Query(ctx, "SELECT request_id, id FROM "+pgx.Identifier{schema, "entries"}.Sanitize()+" ORDER BY id")
	if err != nil {
		t.Fatal(err)
	}
	out := map[string][]storedRow{}
	var reqID []byte
	var id int64
	_, err = pgx.ForEachRow(res, []any{&reqID, &id}, func() error {
		tag, num, _ := strings.Cut(string(reqID), "-")
		n, err := strconv.Atoi(num)
		if err != nil {
			tag, n = "", 0
		}
		out[tag] = append(out[tag], storedRow{n, id})
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// checkWriter checks one writer's stored entries: each of 1 to acked
// exactly once, any others numbered above acked (recorded, not yet
// acknowledged) at most once and only up to limit, and row IDs increasing
// in the order the writer recorded the entries. It returns how many are
// stored.
func checkWriter(t testing.TB, tag string, rows []storedRow, acked, limit int) int {
	t.Helper()
	seen := make(map[int]bool, len(rows))
	for i, r := range rows {
		switch {
		case seen[r.n]:
			t.Errorf("%s: entry %d stored twice", tag, r.n)
			return len(rows)
		case r.n < 1 || r.n > limit:
			t.Errorf("%s: entry %d stored; it recorded at most %d", tag, r.n, limit)
		case i > 0 && r.n < rows[i-1].n:
			// rows is in ID order: a later entry with a lower ID.
			t.Errorf("%s: entry %d has ID %d, below entry %d's ID %d: IDs do not increase in the order it recorded",
				tag, rows[i-1].n, rows[i-1].id, r.n, r.id)
			return len(rows)
		}
		seen[r.n] = true
	}
	missing := 0
	for n := 1; n <= acked; n++ {
		if !seen[n] {
			if missing == 0 {
				t.Errorf("%s: entry %d, acknowledged, is missing", tag, n)
			}
			missing++
		}
	}
	if missing > 0 {
		t.Errorf("%s: %d of the %d acknowledged entries are missing (%d stored)", tag, missing, acked, len(rows))
	}
	return len(rows)
}

// accountCounts counts the stored entries of each account with SQL.
func accountCounts(t testing.TB, pool *pgxpool.Pool, schema string) map[string]int {
	t.Helper()
	rows, err := pool.Query(context.Background(), strings.ReplaceAll(
		"SELECT a.name, count(*) FROM {s}.entries e JOIN {s}.accounts a ON a.id = e.account GROUP BY a.name", "{s}", pgx.Identifier{schema}.Sanitize()))
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]int{}
	var name []byte
	var n int
	if _, err := pgx.ForEachRow(rows, []any{&name, &n}, func() error { out[string(name)] = n; return nil }); err != nil {
		t.Fatal(err)
	}
	return out
}

// totalOf is the TotalRows of q's first page of one row.
func totalOf(t testing.TB, s apilog.Store, q apilog.Query) int {
	t.Helper()
	q.PageSize = 1
	p, err := s.Query(context.Background(), q)
	if err != nil {
		t.Fatalf("Query %+v: %v", q, err)
	}
	return p.TotalRows
}

// queryWhile queries s over and over until stop closes, as the Logs page
// of another instance would while the writers write, and checks that each
// answer is consistent: totals that never go down, a page as long as its
// total says, rows in the page's order. It returns how many it answered.
func queryWhile(t testing.TB, s apilog.Store, accounts []string, stop <-chan struct{}) int {
	flux, err := apilog.ParseSearch("flux", nil)
	if err != nil {
		t.Fatal(err)
	}
	queries := []apilog.Query{{AllAccounts: true}, {AllAccounts: true, Search: flux, PageSize: 50}}
	for _, a := range accounts {
		queries = append(queries,
			apilog.Query{Account: a},
			apilog.Query{Account: a, Sort: apilog.Sort{Column: apilog.ColumnStatus, Dir: apilog.Asc}, Page: 3, PageSize: 100},
			apilog.Query{Account: a, Search: flux, Sort: apilog.Sort{Column: apilog.ColumnEndpoint, Dir: apilog.Desc}})
	}
	last := make([]int, len(queries))
	answered := 0
	for {
		for i, q := range queries {
			select {
			case <-stop:
				return answered
			default:
			}
			p, err := s.Query(context.Background(), q)
			if err != nil {
				t.Errorf("%s: %v", describe(q), err)
				return answered
			}
			answered++
			// One report per run: a broken store would fail every query.
			nq, _ := q.Normalize()
			off, limit := apilog.Window(p.Number, p.Size)
			switch want := min(limit, max(p.TotalRows-off, 0)); {
			case p.TotalRows < last[i]:
				t.Errorf("%s: total went down from %d to %d", describe(q), last[i], p.TotalRows)
				return answered
			case len(p.Rows) != want:
				t.Errorf("%s: %d rows on page %d of %d total, want %d", describe(q), len(p.Rows), p.Number, p.TotalRows, want)
				return answered
			case !slices.IsSortedFunc(p.Rows, func(a, b apilog.Row) int { return nq.Sort.Compare(&a, &b) }):
				t.Errorf("%s: rows out of order", describe(q))
				return answered
			}
			last[i] = p.TotalRows
		}
	}
}

// describe names a query in a test's message.
func describe(q apilog.Query) string {
	scope := "account " + q.Account
	if q.AllAccounts {
		scope = "all accounts"
	}
	return fmt.Sprintf("query of %s, search %q, sort %s %s, page %d of %d rows", scope, q.Search, q.Sort.Column, q.Sort.Dir, q.Page, q.PageSize)
}

// writerSpec is a writer child to run: count entries, or 0 to record
// until killed once its acknowledged entries reach killAt.
type writerSpec struct {
	tag    string
	count  int
	killAt int
}

// runWriters runs the writers into one schema of the shared server while
// the test process queries it, and returns what each said and what is
// stored, by tag.
func runWriters(t *testing.T, specs []writerSpec) (schema string, s *pgstore.Store, reports []writerReport, stored map[string][]storedRow) {
	url, schema := pgstoretest.Schema(t)
	start := time.Now()
	children := make([]*child, len(specs))
	for i, sp := range specs {
		children[i] = startChild(t, sp.tag, "writer", urlEnv+"="+url, schemaEnv+"="+schema, countEnv+"="+strconv.Itoa(sp.count))
	}
	// Opened with the children, so that all of them create the schema at
	// once.
	s, err := pgstore.Open(context.Background(), url, &pgstore.Options{Schema: schema})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })

	reports = make([]writerReport, len(specs))
	var wg sync.WaitGroup
	for i, c := range children {
		sp := specs[i]
		if sp.killAt == 0 {
			wg.Go(func() { c.watch(t, &reports[i]) })
			continue
		}
		wg.Go(func() {
			// Read its lines until it has acknowledged killAt entries,
			// then kill it mid-write: a chunk takes a few hundred ms.
			r := &reports[i]
			for line := range c.lines {
				var n int
				if _, err := fmt.Sscanf(line, "flushed %d", &n); err != nil {
					t.Errorf("%s said %q", c.tag, line)
				}
				r.acked = n
				if n >= sp.killAt {
					time.Sleep(time.Duration(rand.Int64N(int64(400 * time.Millisecond))))
					if err := c.cmd.Process.Kill(); err != nil && !errors.Is(err, os.ErrProcessDone) {
						t.Error(err)
					}
					break
				}
			}
			c.watch(t, r) // the lines it printed before the kill
		})
	}
	accounts := []string{sharedAccount}
	for _, sp := range specs {
		accounts = append(accounts, "acct_"+sp.tag)
	}
	stop := make(chan struct{})
	answered := make(chan int)
	go func() { answered <- queryWhile(t, s, accounts, stop) }()
	wg.Wait()
	close(stop)
	t.Logf("%d writers in %v; %d queries answered meanwhile", len(specs), time.Since(start).Round(time.Millisecond), <-answered)

	for i, r := range reports {
		sp := specs[i]
		if sp.killAt == 0 && (r.ended != nil || !r.done || r.acked != sp.count) {
			t.Fatalf("%s: ended %v after %d of %d entries acknowledged; stderr:\n%s", sp.tag, r.ended, r.acked, sp.count, children[i].stderr)
		}
		// Writers never wait on each other in a cycle, nor trip on what
		// another interns at the same moment: on a healthy server, no
		// Append fails. A retry would hide such a failure.
		if r.retries != 0 {
			t.Errorf("%s: %d of its Appends failed and were retried; stderr:\n%s", sp.tag, r.retries, children[i].stderr)
		}
		if sp.killAt > 0 && r.signals != syscall.SIGKILL {
			t.Fatalf("%s: ended by itself, not by SIGKILL: %v; stderr:\n%s", sp.tag, r.ended, children[i].stderr)
		}
	}
	return schema, s, reports, storedByTag(t, openPool(t), schema)
}

// TestMultiProcess is four processes recording 50,000 requests each
// through a Recorder into one schema at once, while a fifth queries it:
// every entry is stored exactly once, with a row ID of its own, increasing
// in each process's order, and the store's totals agree with the rows.
func TestMultiProcess(t *testing.T) {
	const writers, each = 4, 50_000
	var specs []writerSpec
	for i := range writers {
		specs = append(specs, writerSpec{tag: "w" + strconv.Itoa(i), count: each})
	}
	schema, s, reports, stored := runWriters(t, specs)

	want := map[string]int{}
	for i, sp := range specs {
		if got := checkWriter(t, sp.tag, stored[sp.tag], each, each); got != each {
			t.Errorf("%s: %d entries stored, want %d", sp.tag, got, each)
		}
		want[sharedAccount] += reports[i].shared
		want["acct_"+sp.tag] = each - reports[i].shared
	}
	rows := 0
	for _, r := range stored {
		rows += len(r)
	}
	if rows != writers*each {
		t.Errorf("%d rows stored, want %d", rows, writers*each)
	}
	if got := totalOf(t, s, apilog.Query{AllAccounts: true}); got != writers*each {
		t.Errorf("all accounts: Query total %d, want %d", got, writers*each)
	}
	checkAccounts(t, s, schema, want)
}

// checkAccounts checks that each account's Query total is its number of
// rows counted with SQL, which is want's.
func checkAccounts(t *testing.T, s apilog.Store, schema string, want map[string]int) {
	t.Helper()
	got := accountCounts(t, openPool(t), schema)
	maps.DeleteFunc(want, func(_ string, n int) bool { return n == 0 }) // no row, no account
	for a, n := range want {
		if got[a] != n {
			t.Errorf("%s: %d rows stored, want %d", a, got[a], n)
		}
		if total := totalOf(t, s, apilog.Query{Account: a}); total != got[a] {
			t.Errorf("%s: Query total %d, %d rows stored", a, total, got[a])
		}
	}
	if len(got) != len(want) {
		t.Errorf("accounts stored %v, want %v", got, want)
	}
}

// TestMultiProcessKill is TestMultiProcess with one writer killed with
// SIGKILL mid-run: it loses at most the entries it had not had
// acknowledged, stores none twice, and the others lose nothing.
func TestMultiProcessKill(t *testing.T) {
	const each = 50_000
	specs := []writerSpec{{tag: "k0", count: each}, {tag: "k1", count: each}, {tag: "k2", count: each}, {tag: "victim", killAt: 10_000}}
	schema, s, reports, stored := runWriters(t, specs)

	want := map[string]int{}
	total := 0
	for i, sp := range specs {
		r := reports[i]
		limit := each
		if sp.killAt > 0 {
			limit = r.acked + 5000 // a chunk at most past the last acknowledged
		}
		n := checkWriter(t, sp.tag, stored[sp.tag], r.acked, limit)
		total += n
		if sp.killAt > 0 {
			t.Logf("%s: killed with %d entries acknowledged, %d stored", sp.tag, r.acked, n)
			continue
		}
		if n != each {
			t.Errorf("%s: %d entries stored, want %d", sp.tag, n, each)
		}
		want[sharedAccount] += r.shared
		want["acct_"+sp.tag] = each - r.shared
	}
	if got := totalOf(t, s, apilog.Query{AllAccounts: true}); got != total {
		t.Errorf("all accounts: Query total %d, %d rows stored", got, total)
	}
	// The victim's split between the accounts is not known; the SQL count
	// of its own account is, and the shared account's rows from it are
	// the rest of what it stored.
	counts := accountCounts(t, openPool(t), schema)
	victimOwn := counts["acct_victim"]
	want["acct_victim"] = victimOwn
	want[sharedAccount] += len(stored["victim"]) - victimOwn
	checkAccounts(t, s, schema, want)
}
