package pgstore_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/apilog/apilog"
	"github.com/apilog/apilog/apilogtest"
	"github.com/apilog/apilog/pgstore"
	"github.com/apilog/apilog/pgstore/pgstoretest"
	"github.com/google/go-cmp/cmp"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
)

// recoveryBound is how soon after the server is back, or after the last
// connection was cut, Append and Query must work again, and a Recorder
// write again.
const recoveryBound = 5 * time.Second

// feeder records numbered entries through a Recorder from a goroutine of
// its own, a few thousand a second as a busy API would, until halted.
// Their request IDs are "<tag>-<n>", n from 1.
type feeder struct {
	n    atomic.Int64 // entries recorded
	stop chan struct{}
	done chan struct{}
}

func feed(t testing.TB, rec *apilog.Recorder, tag, account string) *feeder {
	f := &feeder{stop: make(chan struct{}), done: make(chan struct{})}
	syn := apilogtest.NewSynthetic(7, account, 8, t0)
	go func() {
		defer close(f.done)
		tick := time.NewTicker(10 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-f.stop:
				return
			case <-tick.C:
			}
			for _, e := range syn.Entries(50) {
				e.RequestID = tag + "-" + strconv.FormatInt(f.n.Load()+1, 10)
				if err := rec.Record(e); err != nil {
					t.Errorf("Record: %v", err) // the recorder must keep taking entries
					return
				}
				f.n.Add(1)
			}
		}
	}()
	t.Cleanup(func() { f.halt() })
	return f
}

// halt stops the feeder and returns how many entries it recorded.
func (f *feeder) halt() int {
	select {
	case <-f.stop:
	default:
		close(f.stop)
	}
	<-f.done
	return int(f.n.Load())
}

// flush halts the feeder, flushes rec, and checks that the recorder wrote
// every entry the feeder recorded, none failed or dropped. It returns how
// many that is, and the recorder's stats.
func (f *feeder) flush(t testing.TB, rec *apilog.Recorder) (int, apilog.RecorderStats) {
	t.Helper()
	n := f.halt()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := rec.Flush(ctx); err != nil {
		t.Fatalf("Flush: %v", err)
	}
	st := rec.Stats()
	t.Logf("recorder: %+v", st)
	if st.Written != int64(n) || st.Failed != 0 || st.Dropped != 0 {
		t.Errorf("recorder stats %+v, want all %d written", st, n)
	}
	return n, st
}

// waitUntil calls cond every 10 ms until it holds, failing t after a
// minute.
func waitUntil(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("waited a minute for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// recovery calls op every 20 ms until it succeeds and returns how long
// after since that was; it marks t failed when that is over
// recoveryBound. It may run on a goroutine of its own.
func recovery(t testing.TB, since time.Time, what string, op func() error) time.Duration {
	for {
		err := op()
		d := time.Since(since)
		switch {
		case err == nil && d > recoveryBound:
			t.Errorf("%s worked again %v after, over %v", what, d.Round(time.Millisecond), recoveryBound)
			fallthrough
		case err == nil:
			return d
		case d > 3*recoveryBound:
			t.Errorf("%s still fails %v after: %v", what, d.Round(time.Millisecond), err)
			return d
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// errLog is a slog.Handler that keeps the errors logged (the Recorder's
// failed attempts), so that a test can see why its writes failed.
type errLog struct {
	mu   sync.Mutex
	errs []error
}

func (h *errLog) Enabled(context.Context, slog.Level) bool { return true }
func (h *errLog) WithAttrs([]slog.Attr) slog.Handler       { return h }
func (h *errLog) WithGroup(string) slog.Handler            { return h }
func (h *errLog) Handle(_ context.Context, r slog.Record) error {
	r.Attrs(func(a slog.Attr) bool {
		if err, ok := a.Value.Any().(error); ok && a.Key == "err" {
			h.mu.Lock()
			h.errs = append(h.errs, err)
			h.mu.Unlock()
		}
		return true
	})
	return nil
}

func (h *errLog) all() []error {
	h.mu.Lock()
	defer h.mu.Unlock()
	return slices.Clone(h.errs)
}

// checkFed checks that the n entries a feeder recorded under tag, and
// nothing else, are stored in schema exactly once, in the order
// recorded, and that the store's total agrees; extra is the number of
// rows of other tags the test appended itself.
func checkFed(t testing.TB, s apilog.Store, pool *pgxpool.Pool, schema, tag string, n, extra int) {
	t.Helper()
	stored := storedByTag(t, pool, schema)
	if got := checkWriter(t, tag, stored[tag], n, n); got != n {
		t.Errorf("%s: %d entries stored, %d recorded", tag, got, n)
	}
	rows := 0
	for _, r := range stored {
		rows += len(r)
	}
	if rows != n+extra {
		t.Errorf("%d rows stored, want the %d recorded and %d appended", rows, n, extra)
	}
	if got := totalOf(t, s, apilog.Query{AllAccounts: true}); got != rows {
		t.Errorf("Query total %d, %d rows stored", got, rows)
	}
}

// probe returns a small batch to append directly, numbered "<tag>-<n>".
func probe(tag string, n int) []apilog.Entry {
	batch := apilogtest.NewSynthetic(11, "acct_probe", 2, t0).Entries(n)
	for i := range batch {
		batch[i].RequestID = tag + "-" + strconv.Itoa(i+1)
	}
	return batch
}

// TestServerRestart takes the server away twice while a Recorder records:
// a restart (pg_ctl restart -m fast, as an upgrade or a failover would),
// and a stop of a few seconds, long enough for the recorder's backoff to
// reach its longest. The recorder keeps taking entries and writes every
// one exactly once, and Append, Query and the recorder work again within
// recoveryBound of the server's return.
func TestServerRestart(t *testing.T) {
	c := startCluster(t)
	ctx := context.Background()
	s, err := pgstore.Open(ctx, c.url(), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	rec := apilog.NewRecorder(s, &apilog.RecorderOptions{BlockTimeout: time.Minute, Logger: slog.New(slog.DiscardHandler)})
	f := feed(t, rec, "r", "acct_restart")
	waitUntil(t, "5,000 entries written", func() bool { return rec.Stats().Written >= 5000 })

	probes := 0
	for _, outage := range []struct {
		name string
		do   func()
	}{
		{"restart", func() { c.ctl(t, "restart") }},
		{"3 s stop", func() {
			c.ctl(t, "stop")
			time.Sleep(3 * time.Second)
			c.ctl(t, "start")
		}},
	} {
		retries := rec.Stats().Retries
		down := time.Now()
		outage.do()
		back := time.Now()
		batches := rec.Stats().Batches
		t.Logf("%s: the server was away %v; %d entries recorded so far", outage.name, back.Sub(down).Round(time.Millisecond), f.n.Load())

		// Each on its own clock from the server's return, so that one's
		// wait is not charged to the others.
		var wg sync.WaitGroup
		var tAppend, tQuery, tRec time.Duration
		batch := probe("probe"+strconv.Itoa(probes), 100)
		probes += len(batch)
		wg.Go(func() { tAppend = recovery(t, back, "Append", func() error { return s.Append(ctx, batch) }) })
		wg.Go(func() {
			tQuery = recovery(t, back, "Query", func() error {
				_, err := s.Query(ctx, apilog.Query{AllAccounts: true})
				return err
			})
		})
		wg.Go(func() {
			tRec = recovery(t, back, "the recorder", func() error {
				if rec.Stats().Batches == batches {
					return errors.New("no batch written since")
				}
				return nil
			})
		})
		wg.Wait()
		t.Logf("%s: after the server's return, Append worked in %v, Query in %v, the recorder in %v", outage.name,
			tAppend.Round(time.Millisecond), tQuery.Round(time.Millisecond), tRec.Round(time.Millisecond))
		if st := rec.Stats(); st.Retries == retries {
			t.Errorf("%s: no write was retried (stats %+v): the server was not away while the recorder wrote, or the recorder did not retry", outage.name, st)
		}
		time.Sleep(200 * time.Millisecond) // and goes on recording
	}

	n, _ := f.flush(t, rec)
	checkFed(t, s, openClusterPool(t, c), "apilog", "r", n, probes)
}

// openClusterPool returns a pool on c, closed when t ends.
func openClusterPool(t testing.TB, c *cluster) *pgxpool.Pool {
	t.Helper()
	pool, err := pgxpool.New(context.Background(), c.url("application_name=apilog_test_checks"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	return pool
}

// TestTerminatedConnections terminates the store's connections on the
// server (pg_terminate_backend, as an operator or a pooler's failover
// would) over and over while a Recorder records and the Logs page is
// read: every entry is written exactly once, whichever statement each cut
// lands in, the commit included, and everything works again at once.
func TestTerminatedConnections(t *testing.T) {
	c := startCluster(t)
	ctx := context.Background()
	s, err := pgstore.Open(ctx, c.url("application_name=apilog_victim"), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	killer := openClusterPool(t, c)
	rec := apilog.NewRecorder(s, &apilog.RecorderOptions{BlockTimeout: time.Minute, Logger: slog.New(slog.DiscardHandler)})
	f := feed(t, rec, "t", "acct_terminate")
	waitUntil(t, "1,000 entries written", func() bool { return rec.Stats().Written >= 1000 })

	// The page is read meanwhile: its queries are cut too, and may fail.
	stopQueries := make(chan struct{})
	queries := make(chan [2]int)
	go func() {
		ok, failed := 0, 0
		for {
			select {
			case <-stopQueries:
				queries <- [2]int{ok, failed}
				return
			default:
			}
			if _, err := s.Query(ctx, apilog.Query{Account: "acct_terminate"}); err != nil {
				failed++
			} else {
				ok++
			}
		}
	}()
	terminated := 0
	for i := range 30 {
		time.Sleep(time.Duration(20+(7*i)%100) * time.Millisecond) // 20 to 119 ms apart
		var n int
		if err := killer.QueryRow(ctx, `SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity
			WHERE application_name = 'apilog_victim'`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		terminated += n
	}
	last := time.Now()
	close(stopQueries)
	q := <-queries
	t.Logf("%d connections terminated; %d queries answered, %d cut", terminated, q[0], q[1])

	batches := rec.Stats().Batches
	batch := probe("probe", 100)
	recovery(t, last, "Append", func() error { return s.Append(ctx, batch) })
	recovery(t, last, "Query", func() error {
		_, err := s.Query(ctx, apilog.Query{AllAccounts: true})
		return err
	})
	recovery(t, last, "the recorder", func() error {
		if rec.Stats().Batches == batches {
			return errors.New("no batch written since")
		}
		return nil
	})

	n, st := f.flush(t, rec)
	if st.Retries == 0 {
		t.Error("no write was retried: no termination landed while the recorder wrote, or the recorder did not retry")
	}
	checkFed(t, s, killer, "apilog", "t", n, len(batch))
}

// cutMode is when a commitCutter cuts the connection that commits.
type cutMode int32

const (
	cutOff    cutMode = iota
	cutBefore         // the COMMIT never reaches the server: the transaction rolls back
	cutAfter          // the server commits; its answer never reaches the client
)

// commitCutter is a TCP proxy between a store and the server that, once
// armed, cuts the next connection that sends COMMIT (pgx sends it as a
// simple Query message), closing both sides at once: the client cannot
// tell whether its transaction committed.
type commitCutter struct {
	ln      net.Listener
	network string // of the server
	addr    string
	mode    atomic.Int32 // a cutMode, back to cutOff once it cut
	cuts    chan cutMode // one per cut made
	wg      sync.WaitGroup
	mu      sync.Mutex
	conns   map[net.Conn]bool
}

// startCutter starts a proxy to the server that cfg connects to and
// points cfg at it, without TLS, so that the proxy reads the messages.
func startCutter(t testing.TB, cfg *pgxpool.Config) *commitCutter {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &commitCutter{ln: ln, network: "tcp", addr: net.JoinHostPort(cfg.ConnConfig.Host, strconv.Itoa(int(cfg.ConnConfig.Port))),
		cuts: make(chan cutMode, 16), conns: map[net.Conn]bool{}}
	if strings.HasPrefix(cfg.ConnConfig.Host, "/") {
		p.network, p.addr = "unix", filepath.Join(cfg.ConnConfig.Host, ".s.PGSQL."+strconv.Itoa(int(cfg.ConnConfig.Port)))
	}
	cfg.ConnConfig.Host, cfg.ConnConfig.Port = "127.0.0.1", uint16(ln.Addr().(*net.TCPAddr).Port)
	cfg.ConnConfig.TLSConfig, cfg.ConnConfig.Fallbacks = nil, nil
	p.wg.Go(func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			p.wg.Go(func() { p.serve(c) })
		}
	})
	t.Cleanup(func() {
		ln.Close()
		p.mu.Lock()
		for c := range p.conns {
			c.Close()
		}
		p.mu.Unlock()
		p.wg.Wait()
	})
	return p
}

func (p *commitCutter) arm(m cutMode) { p.mode.Store(int32(m)) }

// cut fails t unless the proxy made a cut (it signals before it closes
// the connection, so a failed call has seen it); err is the call's.
func (p *commitCutter) cut(t testing.TB, err error) {
	t.Helper()
	select {
	case <-p.cuts:
	default:
		t.Fatalf("the proxy cut no COMMIT (%v)", err)
	}
}

func (p *commitCutter) track(c net.Conn, on bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if on {
		p.conns[c] = true
	} else {
		delete(p.conns, c)
	}
}

// serve forwards one client connection, reading the client's messages
// one by one to find its COMMIT.
// commitComplete is the server's CommandComplete message of a COMMIT.
var commitComplete = []byte("C\x00\x00\x00\x0bCOMMIT\x00")

// commitSpotter tells, message by message, when a client sends COMMIT: as
// a simple query ('Q'), or in the extended protocol that pgx uses for a
// pipelined batch, when it binds ('B') a statement parsed ('P') from that
// text, by its name, which a later batch reuses without parsing it again.
type commitSpotter map[string]bool // statement name → its text is COMMIT

func (c commitSpotter) isCommit(msg []byte) bool {
	body := string(msg[5:])
	field := func() string {
		f, rest, _ := strings.Cut(body, "\x00")
		body = rest
		return f
	}
	switch msg[0] {
	case 'Q':
		return strings.EqualFold(strings.TrimSpace(field()), "commit")
	case 'P':
		name := field()
		c[name] = strings.EqualFold(strings.TrimSpace(field()), "commit")
	case 'B':
		field() // the portal
		return c[field()]
	}
	return false
}

func (p *commitCutter) serve(client net.Conn) {
	server, err := net.Dial(p.network, p.addr)
	if err != nil {
		client.Close()
		return
	}
	p.track(client, true)
	p.track(server, true)
	closeBoth := sync.OnceFunc(func() {
		client.Close()
		server.Close()
		p.track(client, false)
		p.track(server, false)
	})
	defer func() {
		if err != nil {
			closeBoth()
		}
	}()
	var answered atomic.Bool // set once a COMMIT was let through to be cut on its answer
	p.wg.Go(func() {
		buf := make([]byte, 32<<10)
		for {
			n, err := server.Read(buf)
			if n > 0 && answered.Load() && bytes.Contains(buf[:n], commitComplete) {
				// The server answered the COMMIT: it is done. The client
				// hears nothing of it.
				p.cuts <- cutAfter
				closeBoth()
				return
			}
			if n > 0 {
				if _, err := client.Write(buf[:n]); err != nil {
					closeBoth()
					return
				}
			}
			if err != nil {
				closeBoth()
				return
			}
		}
	})
	r := bufio.NewReader(client)
	commits := commitSpotter{}
	// The startup message has no type byte; an SSL or GSS encryption
	// request (which the server refuses here) comes before it.
	for {
		var msg []byte
		if msg, err = readMsg(r, false); err != nil {
			return
		}
		if _, err = server.Write(msg); err != nil {
			return
		}
		if code := binary.BigEndian.Uint32(msg[4:8]); code != 80877103 && code != 80877104 {
			break
		}
	}
	for {
		var msg []byte
		if msg, err = readMsg(r, true); err != nil {
			return
		}
		if commits.isCommit(msg) {
			switch cutMode(p.mode.Swap(int32(cutOff))) {
			case cutBefore:
				err = errors.New("cut")
				p.cuts <- cutBefore
				return
			case cutAfter:
				answered.Store(true)
				if _, err = server.Write(msg); err != nil {
					return
				}
				// Should the answer not come, the cut is not made.
				time.AfterFunc(10*time.Second, closeBoth)
				continue
			}
		}
		if _, err = server.Write(msg); err != nil {
			return
		}
	}
}

// readMsg reads one frontend message: a type byte (unless startup) and a
// length that counts itself.
func readMsg(r *bufio.Reader, typed bool) ([]byte, error) {
	head := 4
	if typed {
		head = 5
	}
	msg := make([]byte, head)
	if _, err := io.ReadFull(r, msg); err != nil {
		return nil, err
	}
	n := int(binary.BigEndian.Uint32(msg[head-4:]))
	if n < 4 || n > 1<<30 {
		return nil, fmt.Errorf("message length %d", n)
	}
	msg = append(msg, make([]byte, n-4)...)
	_, err := io.ReadFull(r, msg[head:])
	return msg, err
}

// storedIDs returns the row IDs of the entries whose request IDs start
// with prefix, increasing.
func storedIDs(t testing.TB, pool *pgxpool.Pool, schema, prefix string) []int64 {
	t.Helper()
	rows, err := pool.Query(context.Background(), "SELECT id FROM "+pgx.Identifier{schema, "entries"}.Sanitize()+
		" WHERE substring(request_id FROM 1 FOR length($1::bytea)) = $1::bytea ORDER BY id", []byte(prefix))
	if err != nil {
		t.Fatal(err)
	}
	ids, err := pgx.CollectRows(rows, pgx.RowTo[int64])
	if err != nil {
		t.Fatal(err)
	}
	return ids
}

// TestAmbiguousCommit cuts the connection at the COMMIT of an Append,
// before the server has it or after it committed and before the client
// hears: Append fails either way, and Append again with the same entries,
// as the Recorder retries, stores them once, the first attempt's rows if
// it committed, and returns their IDs.
func TestAmbiguousCommit(t *testing.T) {
	url, schema := pgstoretest.Schema(t)
	ctx := context.Background()
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		t.Fatal(err)
	}
	cutter := startCutter(t, cfg)
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	s, err := pgstore.OpenPool(ctx, pool, &pgstore.Options{Schema: schema})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	direct := openPool(t)

	// The partitions, the account and most values exist before the cut,
	// so that the COMMIT cut is the batch's own, not one of theirs.
	syn := apilogtest.NewSynthetic(5, "acct_cut", 8, t0)
	if err := s.Append(ctx, syn.Entries(2000)); err != nil {
		t.Fatal(err)
	}

	for _, tc := range []struct {
		name      string
		mode      cutMode
		committed bool // whether the first attempt's rows are stored after the cut
	}{
		{"commit answered never", cutAfter, true},
		{"commit sent never", cutBefore, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tag := fmt.Sprintf("cut%d", tc.mode)
			batch := syn.Entries(300)
			for i := range batch {
				batch[i].RequestID = tag + "-" + strconv.Itoa(i+1)
			}
			cutter.arm(tc.mode)
			err := s.Append(ctx, batch)
			cutter.cut(t, err)
			if err == nil {
				t.Fatal("Append succeeded though its connection was cut at the COMMIT")
			}
			t.Logf("Append: %v", err)
			before := storedIDs(t, direct, schema, tag+"-")
			if tc.committed != (len(before) == len(batch)) || len(before) != 0 && len(before) != len(batch) {
				t.Fatalf("%d of %d rows stored after the cut; the test expects the server to have committed: %v", len(before), len(batch), tc.committed)
			}

			retry := slices.Clone(batch) // what the Recorder retries: the same entries
			if err := s.Append(ctx, retry); err != nil {
				t.Fatalf("Append again: %v", err)
			}
			got := make([]int64, len(retry))
			for i, e := range retry {
				got[i] = e.ID
			}
			after := storedIDs(t, direct, schema, tag+"-")
			if len(after) != len(batch) {
				t.Fatalf("%d rows stored for the batch of %d", len(after), len(batch))
			}
			if diff := cmp.Diff(after, got); diff != "" {
				t.Errorf("IDs Append returned differ from the rows stored (-stored +returned):\n%s", diff)
			}
			if tc.committed {
				if diff := cmp.Diff(before, after); diff != "" {
					t.Errorf("the retry stored rows again (-after the cut +after the retry):\n%s", diff)
				}
			}
		})
	}

	t.Run("recorder", func(t *testing.T) {
		rec := apilog.NewRecorder(s, &apilog.RecorderOptions{Logger: slog.New(slog.DiscardHandler)})
		const n = 2500
		cutter.arm(cutAfter)
		for i, e := range syn.Entries(n) {
			e.RequestID = "rec-" + strconv.Itoa(i+1)
			if err := rec.Record(e); err != nil {
				t.Fatal(err)
			}
		}
		flushCtx, cancel := context.WithTimeout(ctx, time.Minute)
		defer cancel()
		if err := rec.Flush(flushCtx); err != nil {
			t.Fatalf("Flush: %v", err)
		}
		if err := rec.Close(ctx); err != nil {
			t.Fatal(err)
		}
		cutter.cut(t, nil)
		if st := rec.Stats(); st.Written != n || st.Retries == 0 || st.Failed != 0 {
			t.Errorf("recorder stats %+v: want %d written after a retry", st, n)
		}
		stored := storedByTag(t, direct, schema)
		if got := checkWriter(t, "rec", stored["rec"], n, n); got != n {
			t.Errorf("%d entries stored, %d recorded", got, n)
		}
	})
}

// TestLockedTable holds an ACCESS EXCLUSIVE lock on the entries (as a
// migration, a VACUUM FULL or an operator's LOCK TABLE would) for two
// seconds: the Recorder's writes wait and then go through, losing
// nothing, and a Query gives up at QueryTimeout with apilog.ErrTimeout
// instead of waiting for the lock.
func TestLockedTable(t *testing.T) {
	const (
		timeout = 500 * time.Millisecond
		held    = 2 * time.Second
		seeded  = 1000
		n       = 2500
	)
	ctx := context.Background()
	url, schema := pgstoretest.Schema(t)
	s, err := pgstore.Open(ctx, url, &pgstore.Options{Schema: schema, QueryTimeout: timeout})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	syn := apilogtest.NewSynthetic(3, "acct_lock", 4, t0)
	if err := s.Append(ctx, syn.Entries(seeded)); err != nil {
		t.Fatal(err)
	}
	rec := apilog.NewRecorder(s, &apilog.RecorderOptions{Logger: slog.New(slog.DiscardHandler)})
	defer rec.Close(ctx)

	pool := openPool(t)
	tx, err := pool.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tx.Exec(ctx, "LOCK TABLE "+pgx.Identifier{schema, "entries"}.Sanitize()+" IN ACCESS EXCLUSIVE MODE"); err != nil {
		tx.Rollback(ctx)
		t.Fatal(err)
	}
	var released atomic.Bool
	var commitErr error
	unlocked := make(chan struct{})
	time.AfterFunc(held, func() {
		released.Store(true)
		commitErr = tx.Commit(ctx)
		close(unlocked)
	})
	// Whatever happens, the lock goes before the schema is dropped.
	defer func() { <-unlocked }()

	for i, e := range syn.Entries(n) {
		e.RequestID = "lock-" + strconv.Itoa(i+1)
		if err := rec.Record(e); err != nil {
			t.Fatal(err)
		}
	}
	start := time.Now()
	_, err = s.Query(ctx, apilog.Query{Account: "acct_lock"})
	elapsed := time.Since(start)
	t.Logf("Query after %v: %v", elapsed.Round(time.Millisecond), err)
	switch {
	case released.Load():
		t.Errorf("Query returned after the lock was released (%v), not at QueryTimeout %v", elapsed.Round(time.Millisecond), timeout)
	case !errors.Is(err, apilog.ErrTimeout):
		t.Errorf("Query while the table is locked: %v, want apilog.ErrTimeout", err)
	}
	if st := rec.Stats(); st.Written != 0 && !released.Load() {
		t.Errorf("recorder wrote %d entries while the table was locked: the lock did not hold", st.Written)
	}

	<-unlocked
	if commitErr != nil {
		t.Fatal(commitErr)
	}
	flushCtx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	if err := rec.Flush(flushCtx); err != nil {
		t.Fatalf("Flush after the lock was released: %v", err)
	}
	if st := rec.Stats(); st.Written != n || st.Failed != 0 || st.Dropped != 0 {
		t.Errorf("recorder stats %+v, want all %d written", st, n)
	}
	stored := storedByTag(t, pool, schema)
	if got := checkWriter(t, "lock", stored["lock"], n, n); got != n {
		t.Errorf("%d entries stored, %d recorded", got, n)
	}
	if got := totalOf(t, s, apilog.Query{Account: "acct_lock"}); got != seeded+n {
		t.Errorf("Query total %d, want %d", got, seeded+n)
	}
}

// TestSearchTimeout runs eight of the worst searches there are (24
// one-letter terms, which match nearly every value of every column) at
// once on 80,000 rows: each is stopped at QueryTimeout with
// apilog.ErrTimeout (by statement_timeout, or while it waits for one of
// the MaxSearches turns), and the plain first page, from the same store,
// answers meanwhile, right, within the same QueryTimeout (2 s: a page
// slowed by the race detector on a busy 2-core machine takes up to about
// 0.8 s). The rows are several times what the search needs to outlast
// QueryTimeout, so that a faster search does not make the test moot.
func TestSearchTimeout(t *testing.T) {
	const (
		timeout  = 2 * time.Second
		rows     = 80_000
		searches = 8
	)
	ctx := context.Background()
	s := openStore(t, &pgstore.Options{QueryTimeout: timeout})
	defer s.Close()
	syn := apilogtest.NewSynthetic(4, "acct_search", 8, t0)
	fillStart := time.Now()
	for i := 0; i < rows; i += 5000 {
		if err := s.Append(ctx, syn.Entries(5000)); err != nil {
			t.Fatal(err)
		}
	}
	t.Logf("filled in %v", time.Since(fillStart))
	worst, err := apilog.ParseSearch("a b c d e f 0 1 2 3 4 5 6 7 8 9 a b c d e f 0 1", nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(worst.Terms) != 24 {
		t.Fatalf("%d terms", len(worst.Terms))
	}

	var wg sync.WaitGroup
	var running atomic.Int32
	running.Store(searches)
	for range searches {
		wg.Go(func() {
			defer running.Add(-1)
			start := time.Now()
			p, err := s.Query(ctx, apilog.Query{Account: "acct_search", Search: worst})
			switch d := time.Since(start); {
			case err == nil && d > timeout:
				t.Errorf("the worst search answered (%d rows) in %v: QueryTimeout %v did not stop it", p.TotalRows, d.Round(time.Millisecond), timeout)
				return
			case err == nil:
				t.Errorf("the worst search answered (%d rows) in %v, within QueryTimeout %v: this test needs a slower search (more rows)",
					p.TotalRows, d.Round(time.Millisecond), timeout)
				return
			}
			if !errors.Is(err, apilog.ErrTimeout) {
				t.Errorf("worst search: %v, want apilog.ErrTimeout", err)
			}
		})
	}
	// The first page, over and over while the searches run; its latency
	// is a benchmark's business, its answer this test's.
	var pages int
	var slowest time.Duration
	for running.Load() > 0 || pages == 0 {
		start := time.Now()
		p, err := s.Query(ctx, apilog.Query{Account: "acct_search"})
		d := time.Since(start)
		if err != nil {
			t.Fatalf("first page while the searches run: %v", err)
		}
		if p.TotalRows != rows || len(p.Rows) != apilog.DefaultPageSize {
			t.Fatalf("first page: %d rows of %d, want %d of %d", len(p.Rows), p.TotalRows, apilog.DefaultPageSize, rows)
		}
		pages++
		slowest = max(slowest, d)
	}
	wg.Wait()
	t.Logf("%d first pages answered while %d searches ran; the slowest in %v", pages, searches, slowest.Round(time.Millisecond))
}

// TestDiskFull puts the store's tables on a small tmpfs (a tablespace of
// a cluster of the test's own) and fills it: Append fails with the
// server's disk-full error while it is full, nothing acknowledged is lost
// and no batch is half stored, and once space is freed the Recorder's
// retries write everything it was given.
func TestDiskFull(t *testing.T) {
	c := startCluster(t)
	ctx := context.Background()

	mnt := filepath.Join(c.dir, "small")
	if err := os.Mkdir(mnt, 0o755); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size=24m,mode=0755", "tmpfs", mnt).CombinedOutput(); err != nil {
		// Not a failure even where PostgreSQL is required: a full disk
		// cannot be simulated without a filesystem to fill, and mounting one
		// takes root (CAP_SYS_ADMIN), which CI need not have.
		fmt.Fprintf(os.Stderr, "pgstore: skipping TestDiskFull: cannot mount a tmpfs: %v: %s\n", err, strings.TrimSpace(string(out)))
		t.Skipf("cannot mount a tmpfs to fill (needs root or CAP_SYS_ADMIN): %v: %s", err, strings.TrimSpace(string(out)))
	}
	t.Cleanup(func() {
		c.stop(t, "immediate") // the server holds files open on it
		if out, err := exec.Command("umount", mnt).CombinedOutput(); err != nil {
			t.Errorf("umount %s: %v: %s", mnt, err, out)
		}
	})
	ts := filepath.Join(mnt, "pg")
	if err := os.Mkdir(ts, 0o700); err != nil {
		t.Fatal(err)
	}
	if c.cred != nil {
		if err := os.Chown(ts, int(c.cred.Uid), int(c.cred.Gid)); err != nil {
			t.Fatal(err)
		}
	}
	admin := openClusterPool(t, c)
	if _, err := admin.Exec(ctx, "CREATE TABLESPACE small LOCATION '"+ts+"'"); err != nil {
		t.Fatal(err)
	}
	// The store's tables and indexes are created on its connections, in
	// their default tablespace; the WAL stays on the big disk.
	s, err := pgstore.Open(ctx, c.url("options=-c%20default_tablespace%3Dsmall"), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	var where string
	if err := admin.QueryRow(ctx, "SELECT coalesce(t.spcname, 'default') FROM pg_class c LEFT JOIN pg_tablespace t ON t.oid = c.reltablespace WHERE c.oid = 'apilog.counts'::regclass").Scan(&where); err != nil {
		t.Fatal(err)
	}
	if where != "small" {
		t.Fatalf("the store's tables are in tablespace %s, not small", where)
	}

	syn := apilogtest.NewSynthetic(6, "acct_full", 8, t0)
	syn.UniquePaths = true // new values to intern too, as on a real API
	next := 0
	entries := func(n int) []apilog.Entry {
		batch := syn.Entries(n)
		for i := range batch {
			next++
			batch[i].RequestID = "full-" + strconv.Itoa(next)
		}
		return batch
	}
	acked := 0
	if err := s.Append(ctx, entries(2000)); err != nil {
		t.Fatal(err)
	}
	acked += 2000

	// Ballast leaves a few hundred KB of the tmpfs free.
	var st syscall.Statfs_t
	if err := syscall.Statfs(mnt, &st); err != nil {
		t.Fatal(err)
	}
	ballast := filepath.Join(mnt, "ballast")
	if err := os.WriteFile(ballast, make([]byte, int64(st.Bavail)*st.Bsize-300<<10), 0o644); err != nil {
		t.Fatal(err)
	}

	var full error
	for range 100 {
		if full = s.Append(ctx, entries(500)); full != nil {
			break
		}
		acked += 500
	}
	if full == nil {
		t.Fatal("Append never failed on a full tablespace")
	}
	t.Logf("Append with %d rows stored: %v", acked, full)
	// The server's message names the file it could not extend and why
	// ("No space left on device", or a short write); the store says it in
	// words an operator knows, and keeps the server's error (its code says
	// disk full whatever the wording).
	if pe := (*pgconn.PgError)(nil); !errors.As(full, &pe) || pe.Code != "53100" || !strings.Contains(full.Error(), "disk is full") {
		t.Errorf("error %q: want one that says the disk is full and wraps PostgreSQL's disk_full (53100)", full)
	}
	// Nothing of the failed batch: its number of entries went by, unused.
	checkFull := func(want int) {
		t.Helper()
		stored := storedByTag(t, admin, "apilog")
		n := len(stored["full"])
		// The entries numbered 1 to acked were all acknowledged: the
		// failed batch's numbers come after them.
		checkWriter(t, "full", stored["full"], acked, next)
		if n != want {
			t.Errorf("%d rows stored, want %d", n, want)
		}
		if got := totalOf(t, s, apilog.Query{AllAccounts: true}); got != n {
			t.Errorf("Query total %d, %d rows stored", got, n)
		}
	}
	checkFull(acked)

	// The Recorder meets the full disk: it retries, and the page still
	// reads.
	log := &errLog{}
	rec := apilog.NewRecorder(s, &apilog.RecorderOptions{RetryFor: time.Minute, Logger: slog.New(log)})
	defer rec.Close(ctx)
	const n = 3000
	first := next + 1
	for _, e := range entries(n) {
		if err := rec.Record(e); err != nil {
			t.Fatal(err)
		}
	}
	waitUntil(t, "the recorder to retry", func() bool { st := rec.Stats(); return st.Retries >= 3 || st.Failed > 0 })
	if st := rec.Stats(); st.Failed > 0 {
		t.Fatalf("the recorder gave up on a full disk: stats %+v", st)
	}
	if st := rec.Stats(); st.Written != 0 {
		// The space was freed by something else, or the batches are too
		// small to fill it: either way the test tests nothing.
		t.Fatalf("the recorder wrote %d entries to a full disk", st.Written)
	}
	for _, err := range log.all() {
		if pe := (*pgconn.PgError)(nil); !errors.As(err, &pe) || pe.Code != "53100" {
			t.Errorf("recorder's write failed with %q, not disk_full", err)
		}
	}
	checkFull(acked)

	if err := os.Remove(ballast); err != nil {
		t.Fatal(err)
	}
	freed := time.Now()
	flushCtx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	if err := rec.Flush(flushCtx); err != nil {
		t.Fatalf("Flush after space was freed: %v", err)
	}
	t.Logf("written %v after space was freed", time.Since(freed).Round(time.Millisecond))
	if st := rec.Stats(); st.Written != n || st.Failed != 0 || st.Dropped != 0 {
		t.Errorf("recorder stats %+v, want all %d written", st, n)
	}
	stored := storedByTag(t, admin, "apilog")
	have := map[int]bool{}
	for _, r := range stored["full"] {
		have[r.n] = true
	}
	for i := first; i < first+n; i++ {
		if !have[i] {
			t.Fatalf("entry %d, recorded while the disk was full, is missing", i)
		}
	}
	checkFull(acked + n)
}
