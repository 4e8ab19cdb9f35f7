package httpui_test

import (
	"compress/gzip"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/apilog/apilog"
	"github.com/apilog/apilog/apilogtest"
	"github.com/apilog/apilog/httpui"
	"github.com/apilog/apilog/sqlitestore"
)

// benchRows is the size of the benchmark's SQLite store, the same file the
// sqlitestore benchmarks build and cache in the temporary directory.
const benchRows = 1_000_000

func benchStore(b *testing.B) *sqlitestore.Store {
	b.Helper()
	path := filepath.Join(os.TempDir(), fmt.Sprintf("apilog-bench-v%d-%d.db", sqlitestore.SchemaVersion, benchRows))
	if _, err := os.Stat(path); err != nil {
		b.Logf("building %s (about 30 s)", path)
		tmp := path + ".building"
		os.Remove(tmp)
		s, err := sqlitestore.Open(tmp, nil)
		if err != nil {
			b.Fatal(err)
		}
		if err := apilogtest.FillBench(context.Background(), s, benchRows); err != nil {
			b.Fatal(err)
		}
		if err := s.Close(); err != nil {
			b.Fatal(err)
		}
		if err := os.Rename(tmp, path); err != nil {
			b.Fatal(err)
		}
	}
	s, err := sqlitestore.Open(path, &sqlitestore.Options{SkipCheck: true})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { s.Close() })
	return s
}

// benchHandler is the Logs page of s for the benchmark data's account, at
// the benchmarks' moment.
func benchHandler(b *testing.B, s *sqlitestore.Store) http.Handler {
	now := apilogtest.BenchStart.Add(30 * 24 * time.Hour)
	h, err := httpui.New(s, &httpui.Options{
		Authorize: func(*http.Request) (httpui.Viewer, error) {
			return httpui.Viewer{Account: apilogtest.BenchAccount}, nil
		},
		Now:    func() time.Time { return now },
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
	if err != nil {
		b.Fatal(err)
	}
	return h
}

// BenchmarkPage serves the page and its JSON from a SQLite store of a
// million rows, as the server sees it (no network):
//
//	go test -run '^$' -bench Page -benchmem -count 5 ./httpui
func BenchmarkPage(b *testing.B) {
	h := benchHandler(b, benchStore(b))
	for _, tt := range []struct{ name, target string }{
		{"page", "/"},
		{"page-gzip", "/"},
		{"json", "/api/logs"},
		{"json-page-1000", "/api/logs?page=1000"},
		{"json-sort-endpoint", "/api/logs?sort=endpoint"},
		{"json-search-flux", "/api/logs?q=flux"},
		{"page-search-flux", "/?q=flux"},
		{"rows", "/rows"},
		{"rows-search-flux", "/rows?q=flux"},
		{"row-detail", "/row?row=1100000&at=2026-10-01T05%3A41%3A35.534Z"},
		{"export-csv", "/export.csv"},
	} {
		b.Run(tt.name, func(b *testing.B) {
			var size, raw int
			for b.Loop() {
				r := httptest.NewRequest("GET", tt.target, nil)
				if tt.name == "page-gzip" {
					r.Header.Set("Accept-Encoding", "gzip")
				}
				w := httptest.NewRecorder()
				h.ServeHTTP(w, r)
				if w.Code != 200 {
					b.Fatalf("%s: %d %s", tt.target, w.Code, w.Body)
				}
				size = w.Body.Len()
				if tt.name == "page-gzip" && raw == 0 {
					zr, err := gzip.NewReader(w.Body)
					if err != nil {
						b.Fatal(err)
					}
					n, _ := io.Copy(io.Discard, zr)
					raw = int(n)
				}
			}
			b.ReportMetric(float64(size)/1000, "kB")
			if (tt.name == "page" || raw > 0) && max(size, raw) > 400_000 {
				b.Errorf("the 500-row page is %d bytes, over 400 KB", max(size, raw))
			}
			if raw > 0 {
				b.ReportMetric(float64(raw)/1000, "kB-raw")
			}
		})
	}
}

// BenchmarkLivePoll measures what a live page costs the server each time
// it polls (every 2 s, or 20 times as long as a poll took), on a SQLite
// store of a million rows: with nothing new in its scope, the check of
// the scope's last row ID; with new rows, its view's first page, unfiltered
// and searched. A page's cost a second is ns/op over the interval:
//
//	go test -run '^$' -bench LivePoll -count 5 ./httpui
func BenchmarkLivePoll(b *testing.B) {
	s := benchStore(b)
	h := benchHandler(b, s)
	p, err := s.Query(context.Background(), apilog.Query{Account: apilogtest.BenchAccount, PageSize: 1})
	if err != nil {
		b.Fatal(err)
	}
	last := strconv.FormatInt(p.MaxID, 10)
	before := strconv.FormatInt(p.MaxID-100, 10)
	for _, tt := range []struct{ name, target, want string }{
		{"unchanged", "/api/logs?live=1&since=" + last, `"unchanged":true`},
		{"unchanged-search-flux", "/api/logs?live=1&q=flux&since=" + last, `"unchanged":true`},
		{"new-rows", "/api/logs?live=1&since=" + before, `"rows":[`},
		{"new-rows-search-flux", "/api/logs?live=1&q=flux&since=" + before, `"rows":[`},
	} {
		b.Run(tt.name, func(b *testing.B) {
			for b.Loop() {
				w := httptest.NewRecorder()
				h.ServeHTTP(w, httptest.NewRequest("GET", tt.target, nil))
				if w.Code != 200 || !strings.Contains(w.Body.String(), tt.want) {
					b.Fatalf("%s: %d %.200s", tt.target, w.Code, w.Body)
				}
			}
		})
	}
}

// TestAssetSize: the page's script and stylesheet stay small.
func TestAssetSize(t *testing.T) {
	total := 0
	for _, name := range []string{"assets/logs.js", "assets/logs.css"} {
		fi, err := os.Stat(name)
		if err != nil {
			t.Fatal(err)
		}
		total += int(fi.Size())
	}
	if total > 40_000 {
		t.Errorf("JS + CSS are %d bytes, over 40 KB", total)
	}
	t.Logf("JS + CSS: %d bytes", total)
}

// TestPageSize: the 500-row page of the benchmark's kind of rows stays
// under 400 KB (BenchmarkPage checks the same on its SQLite store, which
// takes minutes to build). Markup a column adds to every row adds up:
// data-col on each cell is 8 KB of it.
func TestPageSize(t *testing.T) {
	s := syntheticStore(t, 1, apilogtest.BenchAccount, 200, apilogtest.BenchStart)
	h := newHandler(t, s, &httpui.Options{
		Authorize: func(*http.Request) (httpui.Viewer, error) {
			return httpui.Viewer{Account: apilogtest.BenchAccount}, nil
		},
		Now: func() time.Time { return apilogtest.BenchStart.Add(30 * 24 * time.Hour) },
	})
	page, api := get(t, h, "/").Body.Len(), get(t, h, "/api/logs").Body.Len()
	if page > 400_000 {
		t.Errorf("the 500-row page is %d bytes, over 400 KB", page)
	}
	t.Logf("500 rows: the page %d bytes, the JSON %d", page, api)
}

// BenchmarkHostileQuery answers URLs built to cost the server: a list of
// 120,000 values (849 KB, once 29 s of CPU), 5,000 distinct values under
// the byte bound, 10,001 parameters; against a first page of the same
// small store as the baseline.
//
//	go test -run '^$' -bench HostileQuery -count 5 ./httpui
func BenchmarkHostileQuery(b *testing.B) {
	h, err := httpui.New(syntheticStore(b, 1, apilogtest.BenchAccount, 20, apilogtest.BenchStart), &httpui.Options{
		Authorize: func(*http.Request) (httpui.Viewer, error) {
			return httpui.Viewer{Account: apilogtest.BenchAccount}, nil
		},
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
	if err != nil {
		b.Fatal(err)
	}
	list := func(n int) string {
		var s strings.Builder
		for i := range n {
			s.WriteString("m" + strconv.Itoa(i) + ",")
		}
		return s.String()
	}
	for _, tt := range []struct {
		name, query string
		code        int
	}{
		{"first-page", "", 200},
		{"120k-values", "method=" + list(120000), 414},
		{"5k-values", "method=" + list(5000), 400},
		{"10k-params", "status=5xx" + strings.Repeat("&z", 10000), 400},
	} {
		target := "/api/logs?" + tt.query
		b.Run(tt.name, func(b *testing.B) {
			for b.Loop() {
				r := httptest.NewRequest("GET", target, nil)
				w := httptest.NewRecorder()
				h.ServeHTTP(w, r)
				if w.Code != tt.code {
					b.Fatalf("%d, want %d: %.200s", w.Code, tt.code, w.Body)
				}
			}
		})
	}
}
