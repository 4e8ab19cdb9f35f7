// Command soak checks that expensive searches cannot stall the Logs page
// or grow the SQLite log without bound. Against a SQLite store of a million
// rows it runs, for a few minutes, all at once:
//
//   - ingest through a Recorder (its default, non-blocking mode) at -rate
//     entries a second;
//   - -searchers viewers, each looping the worst valid search
//     (apilogtest.WorstSearch) through the Logs page's JSON over HTTP;
//   - a prober that asks for the first page of the default view every
//     100 ms, as another viewer;
//
// and prints the WAL's largest size, the ingest rate, the prober's
// latencies and the entries dropped. The server listens on 127.0.0.1
// only.
//
//	go run ./examples/soak                 # builds /tmp/apilog-soak.db on first use
//	go run ./examples/soak -duration 2m -searchers 8 -rate 10000
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/apilog/apilog"
	"github.com/apilog/apilog/apilogtest"
	"github.com/apilog/apilog/httpui"
	"github.com/apilog/apilog/sqlitestore"
)

func main() {
	db := flag.String("db", os.TempDir()+"/apilog-soak.db", "the SQLite store; made with -rows rows when missing")
	rows := flag.Int("rows", 1_000_000, "rows of a new store")
	duration := flag.Duration("duration", 2*time.Minute, "how long the load runs")
	rate := flag.Int("rate", 10_000, "entries recorded per second")
	searchers := flag.Int("searchers", 8, "viewers looping the worst search")
	flag.Parse()
	if err := run(*db, *rows, *duration, *rate, *searchers); err != nil {
		log.Fatal(err)
	}
}

func run(db string, rows int, duration time.Duration, rate, searchers int) error {
	ctx := context.Background()
	if _, err := os.Stat(db); err != nil {
		fmt.Fprintf(os.Stderr, "building %s: %d rows\n", db, rows)
		s, err := sqlitestore.Open(db, nil)
		if err != nil {
			return err
		}
		if err := apilogtest.FillBench(ctx, s, rows); err != nil {
			return err
		}
		if err := s.Close(); err != nil {
			return err
		}
	}
	store, err := sqlitestore.Open(db, &sqlitestore.Options{SkipCheck: true})
	if err != nil {
		return err
	}
	defer store.Close()
	before, err := store.Query(ctx, apilog.Query{AllAccounts: true, PageSize: 1})
	if err != nil {
		return err
	}

	// The Logs page, each request's viewer named by a header: the
	// searchers are viewers of their own, as the tenants of a real API.
	page, err := httpui.New(store, &httpui.Options{
		Authorize: func(r *http.Request) (httpui.Viewer, error) {
			return httpui.Viewer{Account: apilogtest.BenchAccount, Name: r.Header.Get("X-Viewer")}, nil
		},
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: page}
	go srv.Serve(ln)
	defer srv.Close()
	base := "http://" + ln.Addr().String()
	get := func(ctx context.Context, viewer, query string) (int, error) {
		req, err := http.NewRequestWithContext(ctx, "GET", base+"/api/logs"+query, nil)
		if err != nil {
			return 0, err
		}
		req.Header.Set("X-Viewer", viewer)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return 0, err
		}
		defer resp.Body.Close()
		io.Copy(io.Discard, resp.Body)
		return resp.StatusCode, nil
	}

	fmt.Printf("soak: %d rows, %v, ingest %d entries/s, %d searchers (%q), a first page every 100 ms\n",
		before.TotalRows, duration, rate, searchers, apilogtest.WorstSearch)
	loadCtx, stop := context.WithTimeout(ctx, duration)
	defer stop()
	var wg sync.WaitGroup

	// Ingest: the synthetic rows, timed from now, in ticks of 10 ms.
	rec := apilog.NewRecorder(store, nil)
	wg.Go(func() {
		gen := apilogtest.NewSynthetic(7, apilogtest.BenchAccount, 200, time.Now())
		tick := time.NewTicker(10 * time.Millisecond)
		defer tick.Stop()
		per := max(1, rate/100)
		for {
			select {
			case <-loadCtx.Done():
				return
			case <-tick.C:
			}
			for _, e := range gen.Entries(per) {
				rec.Record(e)
			}
		}
	})

	// The WAL, every 100 ms.
	var walMax atomic.Int64
	wg.Go(func() {
		for loadCtx.Err() == nil {
			if fi, err := os.Stat(db + "-wal"); err == nil && fi.Size() > walMax.Load() {
				walMax.Store(fi.Size())
			}
			time.Sleep(100 * time.Millisecond)
		}
	})

	// The searchers.
	var searched, cut, searchErrs atomic.Int64
	worst := "?q=" + url.QueryEscape(apilogtest.WorstSearch)
	for i := range searchers {
		wg.Go(func() {
			for loadCtx.Err() == nil {
				code, err := get(loadCtx, fmt.Sprintf("searcher-%d", i), worst)
				switch {
				case loadCtx.Err() != nil:
				case err != nil || (code != 200 && code != http.StatusServiceUnavailable):
					searchErrs.Add(1)
				case code == http.StatusServiceUnavailable:
					cut.Add(1)
				default:
					searched.Add(1)
				}
			}
		})
	}

	// The prober.
	var probes []time.Duration
	var probeErrs int
	wg.Go(func() {
		for loadCtx.Err() == nil {
			start := time.Now()
			code, err := get(loadCtx, "prober", "")
			if loadCtx.Err() != nil {
				return
			}
			if err != nil || code != 200 {
				probeErrs++
			} else {
				probes = append(probes, time.Since(start))
			}
			time.Sleep(100*time.Millisecond - min(time.Since(start), 100*time.Millisecond))
		}
	})

	start := time.Now()
	wg.Wait()
	elapsed := time.Since(start)
	if err := rec.Close(ctx); err != nil {
		return err
	}
	st := rec.Stats()
	slices.Sort(probes)
	q := func(p float64) time.Duration {
		if len(probes) == 0 {
			return 0
		}
		return probes[min(len(probes)-1, int(p*float64(len(probes))))].Round(100 * time.Microsecond)
	}
	fmt.Printf("ingest: %d recorded, %d written (%.0f rows/s), %d dropped, %d failed\n",
		st.Recorded, st.Written, float64(st.Written)/elapsed.Seconds(), st.Dropped, st.Failed)
	fmt.Printf("WAL: largest %.1f MB\n", float64(walMax.Load())/1e6)
	fmt.Printf("first page: %d probes, p50 %v, p99 %v, max %v, %d failed\n", len(probes), q(0.50), q(0.99), q(1), probeErrs)
	fmt.Printf("searches: %d answered, %d stopped at the deadline (503), %d other errors\n", searched.Load(), cut.Load(), searchErrs.Load())
	return nil
}
