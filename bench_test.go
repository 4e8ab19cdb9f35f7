package apilog_test

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"testing"
	"time"

	"github.com/apilog/apilog"
)

// discardStore takes every batch and keeps nothing, so that a benchmark
// measures the recording path and not a database.
type discardStore struct{ apilog.Store }

func (discardStore) Append(context.Context, []apilog.Entry) error { return nil }

// benchWriter is the cheapest ResponseWriter: one header map, reused.
type benchWriter struct{ h http.Header }

func (w *benchWriter) Header() http.Header         { return w.h }
func (w *benchWriter) Write(b []byte) (int, error) { return len(b), nil }
func (w *benchWriter) WriteHeader(int)             {}

// BenchmarkMiddleware measures what recording adds to a request, against
// the same handler bare and behind a structured-logging middleware that
// writes one JSON line per request to io.Discard, in one run:
//
//	go test -run '^$' -bench Middleware -benchmem -count 10 . | benchstat -
func BenchmarkMiddleware(b *testing.B) {
	handler := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		apilog.SetKey(r.Context(), "key_01", "acct_babysea")
		w.WriteHeader(http.StatusOK)
		w.Write([]byte(`{"ok":true}`))
	})
	hasher, err := apilog.NewIPHasher(testSecret)
	if err != nil {
		b.Fatal(err)
	}
	run := func(b *testing.B, h http.Handler, r *http.Request) {
		w := &benchWriter{h: http.Header{}}
		b.ReportAllocs()
		for b.Loop() {
			h.ServeHTTP(w, r)
		}
	}
	newRequest := func() *http.Request {
		r := httptest.NewRequest("POST", "/v1/generate/image/flux-pro?api_key=x", nil)
		r.RemoteAddr = "203.0.113.7:52114"
		return r
	}

	b.Run("bare", func(b *testing.B) { run(b, handler, newRequest()) })

	// newRecorder is a recorder that checks, at the end of the benchmark,
	// that it wrote everything: a dropped entry would cost less than a
	// queued one and flatter the figure.
	newRecorder := func(b *testing.B) *apilog.Recorder {
		rec := apilog.NewRecorder(discardStore{}, nil)
		b.Cleanup(func() {
			rec.Close(context.Background())
			if st := rec.Stats(); st.Written != st.Recorded {
				b.Errorf("stats %+v: not everything was written", st)
			}
		})
		return rec
	}

	b.Run("apilog", func(b *testing.B) {
		run(b, apilog.Middleware(newRecorder(b), &apilog.MiddlewareOptions{Hasher: hasher})(handler), newRequest())
	})

	// 8 Ki client addresses cycle through the hasher's cache of 2 Ki:
	// every hash is computed. Both sides of this pair serve the same
	// requests, so the difference is the cost with a new client each time.
	manyClients := make([]*http.Request, 1<<13)
	for i := range manyClients {
		manyClients[i] = newRequest()
		manyClients[i].RemoteAddr = netip.AddrPortFrom(netip.AddrFrom4([4]byte{198, 18, byte(i >> 8), byte(i)}), 443).String()
	}
	runMany := func(b *testing.B, h http.Handler) {
		w := &benchWriter{h: http.Header{}}
		b.ReportAllocs()
		i := 0
		for b.Loop() {
			h.ServeHTTP(w, manyClients[i&(len(manyClients)-1)])
			i++
		}
	}
	b.Run("bare-many-clients", func(b *testing.B) { runMany(b, handler) })
	b.Run("apilog-many-clients", func(b *testing.B) {
		runMany(b, apilog.Middleware(newRecorder(b), &apilog.MiddlewareOptions{Hasher: hasher})(handler))
	})

	b.Run("apilog-client-request-id", func(b *testing.B) {
		r := newRequest()
		r.Header.Set("X-Request-Id", "6f1c2a9e-8d3b-4c1e-9b7a-2f4d5e6a7b8c")
		run(b, apilog.Middleware(newRecorder(b), &apilog.MiddlewareOptions{Hasher: hasher})(handler), r)
	})

	b.Run("slog-json", func(b *testing.B) {
		logger := slog.New(slog.NewJSONHandler(io.Discard, nil))
		mw := func(next http.Handler) http.Handler {
			return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				start := time.Now()
				sw := &statusWriter{ResponseWriter: w}
				next.ServeHTTP(sw, r)
				logger.LogAttrs(r.Context(), slog.LevelInfo, "request",
					slog.String("method", r.Method),
					slog.String("path", r.URL.Path),
					slog.Int("status", sw.status),
					slog.String("remote_addr", r.RemoteAddr),
					slog.Duration("duration", time.Since(start)),
				)
			})
		}
		run(b, mw(handler), newRequest())
	})
}

type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	w.status = code
	w.ResponseWriter.WriteHeader(code)
}

// BenchmarkHashIP is the keyed hash of an address seen a moment ago (from
// the cache) and of a new one each time.
func BenchmarkHashIP(b *testing.B) {
	h, err := apilog.NewIPHasher(testSecret)
	if err != nil {
		b.Fatal(err)
	}
	b.Run("same", func(b *testing.B) {
		addr := netip.MustParseAddr("203.0.113.7")
		b.ReportAllocs()
		for b.Loop() {
			h.HashIP(addr)
		}
	})
	b.Run("new", func(b *testing.B) {
		b.ReportAllocs()
		i := 0
		for b.Loop() {
			h.HashIP(netip.AddrFrom4([4]byte{198, 18, byte(i >> 8), byte(i)}))
			i++
		}
	})
}
