package apilog_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/apilog/apilog"
	"github.com/apilog/apilog/memstore"
	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

var testSecret = []byte("0123456789abcdef0123456789abcdef")

func testHasher(t testing.TB) *apilog.HMACHasher {
	t.Helper()
	h, err := apilog.NewIPHasher(testSecret)
	if err != nil {
		t.Fatal(err)
	}
	return h
}

// serveOne runs one request through the middleware around h and returns the
// entry it recorded and the response.
func serveOne(t *testing.T, opts *apilog.MiddlewareOptions, h http.HandlerFunc, r *http.Request) (apilog.Entry, *httptest.ResponseRecorder) {
	t.Helper()
	s := &fakeStore{}
	rec := apilog.NewRecorder(s, nil)
	w := httptest.NewRecorder()
	apilog.Middleware(rec, opts)(h).ServeHTTP(w, r)
	closeRecorder(t, rec)
	got := s.written()
	if len(got) != 1 {
		t.Fatalf("%d entries recorded for one request, want 1: %+v; stats %+v", len(got), got, rec.Stats())
	}
	return got[0], w
}

func TestMiddlewareStatus(t *testing.T) {
	for _, tt := range []struct {
		name    string
		handler http.HandlerFunc
		want    int
	}{
		{"nothing written", func(w http.ResponseWriter, r *http.Request) {}, 200},
		{"body only", func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok") }, 200},
		{"201", func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(201) }, 201},
		{"302 by http.Redirect", func(w http.ResponseWriter, r *http.Request) { http.Redirect(w, r, "/x", http.StatusFound) }, 302},
		{"404 by http.NotFound", http.NotFound, 404},
		{"second WriteHeader ignored", func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(429); w.WriteHeader(200) }, 429},
		{"103 Early Hints then 204", func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(103); w.WriteHeader(204) }, 204},
		{"flush first", func(w http.ResponseWriter, r *http.Request) { w.(http.Flusher).Flush() }, 200},
		{"ReadFrom", func(w http.ResponseWriter, r *http.Request) { io.Copy(w, strings.NewReader("body")) }, 200},
		{"503", func(w http.ResponseWriter, r *http.Request) { http.Error(w, "down", http.StatusServiceUnavailable) }, 503},
	} {
		t.Run(tt.name, func(t *testing.T) {
			e, _ := serveOne(t, nil, tt.handler, httptest.NewRequest("GET", "/v1/models", nil))
			if e.Status != tt.want {
				t.Errorf("recorded status %d, want %d", e.Status, tt.want)
			}
		})
	}
}

// TestMiddlewareFlushUnsupported: a flush the wrapped writer cannot do
// sends no header, so the status is still the handler's.
func TestMiddlewareFlushUnsupported(t *testing.T) {
	s := &fakeStore{}
	rec := apilog.NewRecorder(s, nil)
	h := apilog.Middleware(rec, nil)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := http.NewResponseController(w).Flush(); !errors.Is(err, http.ErrNotSupported) {
			t.Errorf("Flush through a writer without it = %v, want ErrNotSupported", err)
		}
		w.(http.Flusher).Flush()
		if _, _, err := w.(http.Hijacker).Hijack(); !errors.Is(err, http.ErrNotSupported) {
			t.Errorf("Hijack through a writer without it = %v, want ErrNotSupported", err)
		}
		w.WriteHeader(404)
	}))
	h.ServeHTTP(&benchWriter{h: http.Header{}}, httptest.NewRequest("GET", "/v1/models", nil))
	closeRecorder(t, rec)
	if w := s.written(); len(w) != 1 || w[0].Status != 404 {
		t.Errorf("recorded %+v, want status 404", w)
	}
}

func TestMiddlewarePanic(t *testing.T) {
	for _, v := range []any{"boom", http.ErrAbortHandler} {
		t.Run(fmt.Sprint(v), func(t *testing.T) {
			s := &fakeStore{}
			rec := apilog.NewRecorder(s, nil)
			h := apilog.Middleware(rec, nil)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.WriteHeader(200) // the panic still makes it a failed request
				panic(v)
			}))
			var got any
			func() {
				defer func() { got = recover() }()
				h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("POST", "/v1/generate", nil))
			}()
			if got != v {
				t.Errorf("the panic that left the middleware is %v, want %v unchanged", got, v)
			}
			closeRecorder(t, rec)
			if w := s.written(); len(w) != 1 || w[0].Status != 500 {
				t.Errorf("recorded %+v, want one entry with status 500", w)
			}
		})
	}
}

// TestMiddlewareWriterInterfaces checks, on a real server, that what a
// handler can do with net/http's writer it can still do through ours.
func TestMiddlewareWriterInterfaces(t *testing.T) {
	s := &fakeStore{}
	rec := apilog.NewRecorder(s, nil)
	mux := http.NewServeMux()
	mux.HandleFunc("/ws", func(w http.ResponseWriter, r *http.Request) {
		conn, brw, err := w.(http.Hijacker).Hijack()
		if err != nil {
			t.Errorf("Hijack: %v", err)
			return
		}
		defer conn.Close()
		brw.WriteString("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n")
		brw.Flush()
	})
	mux.HandleFunc("/controller", func(w http.ResponseWriter, r *http.Request) {
		rc := http.NewResponseController(w)
		if err := rc.SetWriteDeadline(time.Now().Add(time.Minute)); err != nil {
			t.Errorf("ResponseController.SetWriteDeadline through the middleware: %v", err)
		}
		if err := rc.EnableFullDuplex(); err != nil {
			t.Errorf("ResponseController.EnableFullDuplex through the middleware: %v", err)
		}
		w.WriteHeader(202)
		if err := rc.Flush(); err != nil {
			t.Errorf("ResponseController.Flush: %v", err)
		}
	})
	mux.HandleFunc("/stream", func(w http.ResponseWriter, r *http.Request) {
		rf, ok := w.(io.ReaderFrom)
		if !ok {
			t.Fatal("the writer lost io.ReaderFrom")
		}
		// Only Read, so that this is ReadFrom's work, not a WriterTo's.
		if n, err := rf.ReadFrom(struct{ io.Reader }{strings.NewReader("streamed")}); n != 8 || err != nil {
			t.Errorf("ReadFrom = %d, %v", n, err)
		}
		w.(http.Flusher).Flush()
	})
	mux.HandleFunc("/empty-copy", func(w http.ResponseWriter, r *http.Request) {
		w.(io.ReaderFrom).ReadFrom(struct{ io.Reader }{strings.NewReader("")}) // sends nothing
		w.WriteHeader(404)
	})
	srv := httptest.NewServer(apilog.Middleware(rec, nil)(mux))
	defer srv.Close()

	conn, err := net.Dial("tcp", srv.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	fmt.Fprintf(conn, "GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n")
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil || resp.StatusCode != 101 {
		t.Fatalf("hijacked response: %v, %v", resp, err)
	}
	conn.Close()
	for _, path := range []string{"/controller", "/stream", "/empty-copy"} {
		resp, err := http.Get(srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if path == "/stream" && string(body) != "streamed" {
			t.Errorf("GET /stream body %q", body)
		}
	}
	// The hijacking handler may still be returning after its client read
	// the response.
	for deadline := time.Now().Add(5 * time.Second); rec.Stats().Recorded < 4 && time.Now().Before(deadline); {
		time.Sleep(time.Millisecond)
	}
	closeRecorder(t, rec)
	got := map[string]int{}
	for _, e := range s.written() {
		got[e.Endpoint] = e.Status
	}
	if want := map[string]int{"/ws": 101, "/controller": 202, "/stream": 200, "/empty-copy": 404}; !cmp.Equal(got, want) {
		t.Errorf("recorded statuses %v, want %v", got, want)
	}
}

// TestMiddlewareRecordsEveryRequestOnce serves many concurrent requests
// through a real server, with the key set the two ways, and compares the
// store's rows with what was sent.
func TestMiddlewareRecordsEveryRequestOnce(t *testing.T) {
	store := memstore.New(nil)
	defer store.Close()
	hasher := testHasher(t)
	rec := apilog.NewRecorder(store, nil)
	auth := func(next http.Handler) http.Handler { // the host's auth, inside ours
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			key := strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")
			switch {
			case key == "bye_good":
				apilog.SetKey(r.Context(), "key_good", "acct_a")
			case key == "bye_revoked":
				apilog.SetKey(r.Context(), "key_revoked", "acct_a")
				apilog.SetErrorCode(r.Context(), "BSE4011")
				http.Error(w, "revoked", http.StatusUnauthorized)
				return
			case key != "":
				apilog.SetErrorCode(r.Context(), "BSE4010")
				http.Error(w, "unknown key", http.StatusUnauthorized)
				return
			}
			next.ServeHTTP(w, r)
		})
	}
	app := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/v1/fail" {
			apilog.SetErrorCode(r.Context(), "BSE5000")
			w.WriteHeader(500)
			return
		}
		io.WriteString(w, apilog.RequestID(r.Context()))
	})
	mw := apilog.Middleware(rec, &apilog.MiddlewareOptions{
		Hasher: hasher,
		KeyFunc: func(r *http.Request) (string, string) {
			if r.Header.Get("X-Tenant") != "" {
				return "", r.Header.Get("X-Tenant")
			}
			return "", ""
		},
		Skip: func(r *http.Request) bool { return r.URL.Path == "/healthz" },
	})
	srv := httptest.NewServer(mw(auth(app)))
	defer srv.Close()

	type sent struct {
		method, path, query, key, tenant string
		wantKey, wantAccount, wantCode   string
		wantStatus                       int
	}
	cases := []sent{
		{"GET", "/v1/models", "", "bye_good", "", "key_good", "acct_a", "", 200},
		{"POST", "/v1/generate/image/flux-pro", "api_key=bye_secret&q=1", "bye_good", "", "key_good", "acct_a", "", 200},
		{"GET", "/v1/fail", "", "bye_good", "", "key_good", "acct_a", "BSE5000", 500},
		{"DELETE", "/v1/keys/k1", "", "bye_revoked", "", "key_revoked", "acct_a", "BSE4011", 401},
		{"GET", "/v1/models", "", "bye_nope", "", "", "-", "BSE4010", 401},
		{"GET", "/v1/models", "", "", "acct_b", "", "acct_b", "", 200},
		{"GET", "/v1/models", "", "", "", "", "-", "", 200},
	}
	const rounds = 30
	var wg sync.WaitGroup
	ids := make([]string, len(cases)*rounds)
	for round := range rounds {
		for i, c := range cases {
			wg.Add(1)
			go func() {
				defer wg.Done()
				u := srv.URL + c.path
				if c.query != "" {
					u += "?" + c.query
				}
				req, _ := http.NewRequest(c.method, u, nil)
				if c.key != "" {
					req.Header.Set("Authorization", "Bearer "+c.key)
				}
				if c.tenant != "" {
					req.Header.Set("X-Tenant", c.tenant)
				}
				resp, err := http.DefaultClient.Do(req)
				if err != nil {
					t.Error(err)
					return
				}
				body, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				id := resp.Header.Get("X-Request-Id")
				if c.wantStatus == 200 && string(body) != id {
					t.Errorf("RequestID(ctx) = %q, response header %q", body, id)
				}
				ids[round*len(cases)+i] = id
			}()
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			resp, err := http.Get(srv.URL + "/healthz")
			if err == nil {
				resp.Body.Close()
			}
		}()
	}
	wg.Wait()
	if err := rec.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}

	byID := map[string]apilog.Entry{}
	for _, account := range []string{"acct_a", "acct_b", "-"} {
		p, err := store.Query(context.Background(), apilog.Query{Account: account, PageSize: apilog.MaxPageSize})
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range p.Rows {
			if _, dup := byID[r.RequestID]; dup {
				t.Fatalf("request %s recorded twice", r.RequestID)
			}
			byID[r.RequestID] = r.Entry
		}
	}
	if len(byID) != len(cases)*rounds {
		t.Errorf("%d rows for %d requests (health checks skipped)", len(byID), len(cases)*rounds)
	}
	peer := hasher.HashIP(netip.MustParseAddr("127.0.0.1"))
	for round := range rounds {
		for i, c := range cases {
			id := ids[round*len(cases)+i]
			e, ok := byID[id]
			if !ok {
				t.Errorf("request %s %s (id %q) not recorded", c.method, c.path, id)
				continue
			}
			want := apilog.Entry{
				Account: c.wantAccount, KeyID: c.wantKey, RequestID: id, Method: c.method,
				Endpoint: c.path, Status: c.wantStatus, ErrorCode: c.wantCode, IPHash: peer,
			}
			if diff := cmp.Diff(want, e, cmpopts.IgnoreFields(apilog.Entry{}, "ID", "Time", "Duration")); diff != "" {
				t.Errorf("request %s %s: entry (-want +got):\n%s", c.method, c.path, diff)
			}
			if e.Time.IsZero() || time.Since(e.Time) > time.Minute || e.Duration <= 0 {
				t.Errorf("entry time %v, duration %v", e.Time, e.Duration)
			}
		}
	}
	closeRecorder(t, rec)
	if st := rec.Stats(); st.Written != int64(len(cases)*rounds) {
		t.Errorf("stats %+v", st)
	}
}

func TestMiddlewareEndpoint(t *testing.T) {
	long := "/v1/" + strings.Repeat("é", 3000)
	for _, tt := range []struct {
		name, path, want string
	}{
		{"plain", "/v1/models", "/v1/models"},
		{"script", "/v1/<script>alert(1)</script>", "/v1/<script>alert(1)</script>"},
		{"CR LF", "/v1/a\r\nSet-Cookie: x", "/v1/a\ufffd\ufffdSet-Cookie: x"},
		{"NUL", "/v1/a\x00b", "/v1/a\ufffdb"},
		{"invalid UTF-8", "/v1/\xff\xfe", "/v1/\ufffd\ufffd"},
		{"line separator", "/v1/a\u2028b\u2029c", "/v1/a\ufffdb\ufffdc"},
		{"bidi override", "/v1/a\u202egnp.exe", "/v1/a\ufffdgnp.exe"},
		// Every format character (Cf) and default-ignorable code point.
		{"zero-width space", "/v1/ad\u200bmin", "/v1/ad\ufffdmin"},
		{"left-to-right mark", "/v1/a\u200eb\u200fc", "/v1/a\ufffdb\ufffdc"},
		{"Arabic letter mark", "/v1/a\u061cb", "/v1/a\ufffdb"},
		{"byte order mark", "/v1/\ufeffa", "/v1/\ufffda"},
		{"word joiner", "/v1/a\u2060b", "/v1/a\ufffdb"},
		{"soft hyphen", "/v1/a\u00adb", "/v1/a\ufffdb"},
		{"Hangul filler", "/v1/a\u3164b", "/v1/a\ufffdb"},
		{"tag characters", "/v1/a\U000e0041b", "/v1/a\ufffdb"},
		// Emoji's joiners and selectors are dropped, not replaced.
		{"emoji sequences", "/v1/\u2764\ufe0f/\U0001f469\u200d\U0001f4bb", "/v1/\u2764/\U0001f469\U0001f4bb"},
		{"unicode kept", "/v1/画像", "/v1/画像"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest("GET", "/", nil)
			r.URL = &url.URL{Path: tt.path, RawQuery: "token=secret"}
			e, _ := serveOne(t, nil, func(http.ResponseWriter, *http.Request) {}, r)
			if e.Endpoint != tt.want {
				t.Errorf("endpoint %q, want %q", e.Endpoint, tt.want)
			}
		})
	}
	t.Run("over 2,048 bytes", func(t *testing.T) {
		r := httptest.NewRequest("GET", "/", nil)
		r.URL = &url.URL{Path: long}
		e, _ := serveOne(t, nil, func(http.ResponseWriter, *http.Request) {}, r)
		if len(e.Endpoint) > 2048 || len(e.Endpoint) < 2040 || !strings.HasSuffix(e.Endpoint, "…") ||
			!strings.HasPrefix(long, strings.TrimSuffix(e.Endpoint, "…")) || !utf8.ValidString(e.Endpoint) {
			t.Errorf("endpoint of %d bytes cut to %d bytes, ending %q", len(long), len(e.Endpoint), e.Endpoint[len(e.Endpoint)-8:])
		}
	})
	t.Run("through a real server", func(t *testing.T) {
		s := &fakeStore{}
		rec := apilog.NewRecorder(s, nil)
		srv := httptest.NewServer(apilog.Middleware(rec, nil)(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {})))
		defer srv.Close()
		conn, err := net.Dial("tcp", srv.Listener.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(conn, "GET /v1/%%3Cscript%%3E%%0D%%0A%%00%%FF%%E2%%80%%A8?key=bye_secret HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
		io.ReadAll(conn)
		conn.Close()
		closeRecorder(t, rec)
		w := s.written()
		if len(w) != 1 || w[0].Endpoint != "/v1/<script>\ufffd\ufffd\ufffd\ufffd\ufffd" {
			t.Errorf("recorded %+v, want one row with the path made safe", w)
		}
	})
}

func TestMiddlewareRequestID(t *testing.T) {
	generated := regexp.MustCompile(`^[0-9a-f]{32}$`)
	for _, tt := range []struct {
		name   string
		header []string
		keep   bool
	}{
		{"none", nil, false},
		{"uuid", []string{"6f1c2a9e-8d3b-4c1e-9b7a-2f4d5e6a7b8c"}, true},
		{"opaque token", []string{"req_01HV:abc.DEF+/=~"}, true},
		{"empty", []string{""}, false},
		{"too long", []string{strings.Repeat("a", 129)}, false},
		{"space", []string{"a b"}, false},
		{"script", []string{"<script>"}, false},
		{"two values", []string{"a", "b"}, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest("GET", "/v1/models", nil)
			r.Header["X-Request-Id"] = tt.header
			e, w := serveOne(t, nil, func(http.ResponseWriter, *http.Request) {}, r)
			if got := w.Header().Get("X-Request-Id"); got != e.RequestID {
				t.Errorf("response header %q, recorded %q", got, e.RequestID)
			}
			switch {
			case tt.keep && e.RequestID != tt.header[0]:
				t.Errorf("request ID %q, want the client's %q", e.RequestID, tt.header[0])
			case !tt.keep && !generated.MatchString(e.RequestID):
				t.Errorf("request ID %q, want a generated one", e.RequestID)
			}
		})
	}
	t.Run("custom header", func(t *testing.T) {
		r := httptest.NewRequest("GET", "/v1/models", nil)
		r.Header.Set("X-Correlation-Id", "abc-123")
		e, w := serveOne(t, &apilog.MiddlewareOptions{RequestIDHeader: "x-correlation-id"}, func(http.ResponseWriter, *http.Request) {}, r)
		if e.RequestID != "abc-123" || w.Header().Get("X-Correlation-Id") != "abc-123" {
			t.Errorf("recorded %q, response %q", e.RequestID, w.Header().Get("X-Correlation-Id"))
		}
	})
}

func TestMiddlewareErrorCodeHeader(t *testing.T) {
	opts := &apilog.MiddlewareOptions{ErrorCodeHeader: "x-error-code"}
	e, _ := serveOne(t, opts, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Error-Code", "BSE4006")
		w.WriteHeader(400)
	}, httptest.NewRequest("POST", "/v1/generate", nil))
	if e.ErrorCode != "BSE4006" || e.Status != 400 {
		t.Errorf("recorded code %q status %d", e.ErrorCode, e.Status)
	}
	// SetErrorCode wins over the header.
	e, _ = serveOne(t, opts, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Error-Code", "BSE4006")
		apilog.SetErrorCode(r.Context(), "BSE4007")
	}, httptest.NewRequest("POST", "/v1/generate", nil))
	if e.ErrorCode != "BSE4007" {
		t.Errorf("recorded code %q, want the handler's BSE4007", e.ErrorCode)
	}
}

func TestMiddlewareContextHelpersOutsideIt(t *testing.T) {
	ctx := context.Background()
	apilog.SetKey(ctx, "k", "a") // no panic, nothing to do
	apilog.SetErrorCode(ctx, "E")
	if id := apilog.RequestID(ctx); id != "" {
		t.Errorf("RequestID outside the middleware = %q", id)
	}
}

// TestMiddlewareContext checks that the request context still carries the
// host's values and cancellation.
func TestMiddlewareContext(t *testing.T) {
	type hostKey struct{}
	ctx, cancel := context.WithCancel(context.WithValue(context.Background(), hostKey{}, "v"))
	r := httptest.NewRequest("GET", "/v1/models", nil).WithContext(ctx)
	e, _ := serveOne(t, nil, func(w http.ResponseWriter, r *http.Request) {
		if r.Context().Value(hostKey{}) != "v" {
			t.Error("the host's context value is lost")
		}
		child, stop := context.WithTimeout(r.Context(), time.Minute)
		defer stop()
		cancel()
		select {
		case <-child.Done():
		case <-time.After(5 * time.Second):
			t.Error("cancelling the request did not reach a derived context")
		}
		if !errors.Is(r.Context().Err(), context.Canceled) {
			t.Errorf("request context error %v after cancel", r.Context().Err())
		}
	}, r)
	if e.Status != 200 {
		t.Errorf("status %d", e.Status)
	}
}

func TestMiddlewareHashesTheClientIP(t *testing.T) {
	h := testHasher(t)
	opts := &apilog.MiddlewareOptions{Hasher: h, TrustedProxies: []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")}}
	for _, tt := range []struct {
		name, remote, xff, want string
	}{
		{"direct", "203.0.113.7:5000", "", "203.0.113.7"},
		{"spoofed from an untrusted peer", "203.0.113.7:5000", "198.51.100.1", "203.0.113.7"},
		{"through a trusted proxy", "10.0.0.2:5000", "198.51.100.1", "198.51.100.1"},
		{"mapped IPv4 peer", "[::ffff:203.0.113.7]:5000", "", "203.0.113.7"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest("GET", "/v1/models", nil)
			r.RemoteAddr = tt.remote
			if tt.xff != "" {
				r.Header.Set("X-Forwarded-For", tt.xff)
			}
			e, _ := serveOne(t, opts, func(http.ResponseWriter, *http.Request) {}, r)
			if want := h.HashIP(netip.MustParseAddr(tt.want)); e.IPHash != want {
				t.Errorf("ip hash %s, want the hash of %s", e.IPHash, tt.want)
			}
			dump := fmt.Sprintf("%+v", e)
			if strings.Contains(dump, tt.want) || tt.xff != "" && strings.Contains(dump, tt.xff) {
				t.Errorf("a raw address is in the entry: %+v", e)
			}
		})
	}
	t.Run("unparsable peer", func(t *testing.T) {
		r := httptest.NewRequest("GET", "/v1/models", nil)
		r.RemoteAddr = "pipe"
		e, _ := serveOne(t, opts, func(http.ResponseWriter, *http.Request) {}, r)
		if e.IPHash != "" {
			t.Errorf("ip hash %q for an unparsable peer, want empty", e.IPHash)
		}
	})
}

// TestMiddlewareSearchByIP: the hasher the middleware recorded with finds
// the address's rows through the search box.
func TestMiddlewareSearchByIP(t *testing.T) {
	store := memstore.New(nil)
	defer store.Close()
	h := testHasher(t)
	rec := apilog.NewRecorder(store, nil)
	handler := apilog.Middleware(rec, &apilog.MiddlewareOptions{Hasher: h})(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		apilog.SetKey(r.Context(), "k", "acct")
	}))
	for _, addr := range []string{"203.0.113.7:1", "203.0.113.7:2", "198.51.100.9:1", "[2001:db8::7]:1"} {
		r := httptest.NewRequest("GET", "/v1/models", nil)
		r.RemoteAddr = addr
		handler.ServeHTTP(httptest.NewRecorder(), r)
	}
	closeRecorder(t, rec)
	for search, want := range map[string]int{"ip:203.0.113.7": 2, "ip:::ffff:203.0.113.7": 2, "ip:2001:db8::7": 1, "ip:192.0.2.1": 0} {
		s, err := apilog.ParseSearch(search, h)
		if err != nil {
			t.Fatal(err)
		}
		p, err := store.Query(context.Background(), apilog.Query{Account: "acct", Search: s})
		if err != nil {
			t.Fatal(err)
		}
		if p.TotalRows != want {
			t.Errorf("%s finds %d rows, want %d", search, p.TotalRows, want)
		}
	}
}

// TestMiddlewareHostValues: what the host attaches is made safe like the
// request's own text, and an account the store cannot take is recorded as
// no account rather than cut into what could be another tenant's.
func TestMiddlewareHostValues(t *testing.T) {
	for _, tt := range []struct {
		name                 string
		keyID, account, code string
		want                 apilog.Entry
	}{
		{"control characters", "key\n1", "acct_1", "E1\r\nE2\u2028", apilog.Entry{Account: "acct_1", KeyID: "key\ufffd1", ErrorCode: "E1\ufffd\ufffdE2\ufffd"}},
		{"long code", "key_1", "acct_1", strings.Repeat("E", 300), apilog.Entry{Account: "acct_1", KeyID: "key_1", ErrorCode: strings.Repeat("E", 253) + "…"}},
		{"long account", "key_1", strings.Repeat("a", 300), "", apilog.Entry{Account: "-"}},
		{"invalid account", "key_1", "acct_\xff", "", apilog.Entry{Account: "-"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			e, w := serveOne(t, nil, func(w http.ResponseWriter, r *http.Request) {
				apilog.SetKey(r.Context(), tt.keyID, tt.account)
				apilog.SetErrorCode(r.Context(), tt.code)
				w.WriteHeader(204)
			}, httptest.NewRequest("GET", "/v1/models", nil))
			got := apilog.Entry{Account: e.Account, KeyID: e.KeyID, ErrorCode: e.ErrorCode}
			if diff := cmp.Diff(tt.want, got); diff != "" || w.Code != 204 {
				t.Errorf("code %d; entry (-want +got):\n%s", w.Code, diff)
			}
		})
	}
}

// TestMiddlewareReadsTheRequestFirst: a middleware inside ours that
// rewrites the request (as chi's RealIP sets RemoteAddr from
// X-Forwarded-For) does not change what is recorded.
func TestMiddlewareReadsTheRequestFirst(t *testing.T) {
	h := testHasher(t)
	r := httptest.NewRequest("POST", "/v1/models", nil)
	r.RemoteAddr = "203.0.113.7:1"
	r.Header.Set("X-Forwarded-For", "198.51.100.1")
	e, _ := serveOne(t, &apilog.MiddlewareOptions{Hasher: h}, func(w http.ResponseWriter, r *http.Request) {
		r.RemoteAddr = r.Header.Get("X-Forwarded-For") + ":1"
		r.Method = "DELETE"
		r.URL.Path = "/internal/rewritten"
	}, r)
	if e.IPHash != h.HashIP(netip.MustParseAddr("203.0.113.7")) || e.Method != "POST" || e.Endpoint != "/v1/models" {
		t.Errorf("recorded %s %s from %s, want POST /v1/models from the peer", e.Method, e.Endpoint, e.IPHash)
	}
}

func TestMiddlewareDoesNotChangeOptions(t *testing.T) {
	opts := &apilog.MiddlewareOptions{TrustedProxies: []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")}}
	before := *opts
	rec := apilog.NewRecorder(&fakeStore{}, nil)
	defer closeRecorder(t, rec)
	apilog.Middleware(rec, opts)
	if !cmp.Equal(before, *opts, cmpopts.IgnoreFields(apilog.MiddlewareOptions{}, "KeyFunc", "Skip", "Now"), cmp.Comparer(func(a, b netip.Prefix) bool { return a == b })) ||
		!slices.Equal(before.TrustedProxies, opts.TrustedProxies) {
		t.Errorf("Middleware changed its options: %+v, was %+v", *opts, before)
	}
}

// FuzzMiddleware: whatever the path, method and headers, one request is
// one valid, safe row and the response is the handler's.
func FuzzMiddleware(f *testing.F) {
	f.Add("GET", "/v1/models", "", "")
	f.Add("POST", "/v1/a\r\nb\x00\xff\u2028", "<script>", "req 1")
	f.Add("GET", "/v1/\u202e\u200b\u2764\ufe0f\U000e0041", "E\u2066\u00ad", "req\ufeff")
	f.Add("PROPFIND", strings.Repeat("/é", 1100), "BSE4006", strings.Repeat("x", 200))
	h := testHasher(f)
	f.Fuzz(func(t *testing.T, method, path, code, reqID string) {
		s := &fakeStore{}
		log, _ := quietLogger()
		rec := apilog.NewRecorder(s, &apilog.RecorderOptions{Logger: log})
		r := &http.Request{Method: method, URL: &url.URL{Path: path}, RemoteAddr: "10.0.0.2:1",
			Header: http.Header{"X-Request-Id": {reqID}, "X-Forwarded-For": {code}}}
		w := httptest.NewRecorder()
		apilog.Middleware(rec, &apilog.MiddlewareOptions{
			Hasher: h, ErrorCodeHeader: "X-Code", TrustedProxies: trusted,
		})(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("X-Code", code)
			w.WriteHeader(418)
		})).ServeHTTP(w, r)
		closeRecorder(t, rec)
		if w.Code != 418 {
			t.Fatalf("response %d, want the handler's 418", w.Code)
		}
		got := s.written()
		if len(got) != 1 {
			t.Fatalf("%d entries, want 1; stats %+v", len(got), rec.Stats())
		}
		e := got[0]
		if len(e.Endpoint) > 2048 || len(e.IPHash) != 64 || e.Status != 418 {
			t.Fatalf("entry %+v", e)
		}
		for _, v := range []string{e.Endpoint, e.Method, e.ErrorCode, e.RequestID} {
			if !utf8.ValidString(v) || strings.ContainsFunc(v, func(c rune) bool {
				return unicode.In(c, unicode.Cc, unicode.Cf, unicode.Zl, unicode.Zp, unicode.Other_Default_Ignorable_Code_Point, unicode.Variation_Selector)
			}) {
				t.Fatalf("unsafe text %q in entry %+v", v, e)
			}
		}
	})
}
