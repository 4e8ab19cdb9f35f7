package httpui_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/apilog/apilog"
	"github.com/apilog/apilog/httpui"
	"github.com/apilog/apilog/memstore"
	"github.com/google/go-cmp/cmp"
	"golang.org/x/net/html"
)

var t0 = time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)

// xss are values a hostile client or key name could put in a row.
var xss = []string{`<script>window.pwned=1</script>`, `"><img src=x onerror=window.pwned=1>`, `javascript:window.pwned=1`}

// newStore returns a store with rows of two accounts: acct_a has 1,200
// rows (3 pages) and one row of hostile text; acct_b has 10.
func newStore(t *testing.T) *memstore.Store {
	t.Helper()
	ctx := context.Background()
	s := memstore.New(nil)
	t.Cleanup(func() { s.Close() })
	for _, k := range []apilog.Key{
		{ID: "k1", Account: "acct_a", Name: "production-api", Prefix: "bye_AB12"},
		{ID: "k2", Account: "acct_a", Name: xss[1], Prefix: "bye_XSS0", RevokedAt: t0},
		{ID: "k1", Account: "acct_b", Name: "other-tenant-key", Prefix: "bye_BBBB"},
	} {
		if err := s.UpsertKey(ctx, k); err != nil {
			t.Fatal(err)
		}
	}
	var entries []apilog.Entry
	for i := range 1200 {
		e := apilog.Entry{Account: "acct_a", KeyID: "k1", Method: "GET", Endpoint: "/v1/models", Status: 200,
			IPHash: strings.Repeat("ab", 32), Time: t0.Add(-time.Duration(i) * time.Second), RequestID: "req-a",
			Duration: time.Duration(1+i*37%97) * 17 * time.Millisecond} // 17 ms to 1.65 s, in no order
		if i%4 == 1 {
			e.Method, e.Endpoint, e.Status, e.ErrorCode = "POST", "/v1/generate/image/flux-pro", 401, "BSE4006"
		}
		entries = append(entries, e)
	}
	entries = append(entries, apilog.Entry{Account: "acct_a", KeyID: "k2", Method: "POST", Endpoint: "/v1/" + xss[0],
		Status: 500, ErrorCode: xss[2], Time: t0.Add(time.Second), RequestID: "req-xss"})
	for i := range 10 {
		entries = append(entries, apilog.Entry{Account: "acct_b", KeyID: "k1", Method: "DELETE", Endpoint: "/v1/secret-of-b",
			Status: 204, Time: t0.Add(-time.Duration(i) * time.Minute), RequestID: "req-b"})
	}
	if err := s.Append(ctx, entries); err != nil {
		t.Fatal(err)
	}
	return s
}

func asViewer(account string) func(*http.Request) (httpui.Viewer, error) {
	return func(r *http.Request) (httpui.Viewer, error) {
		if r.Header.Get("Authorization") != "Bearer ok" {
			return httpui.Viewer{}, httpui.ErrForbidden
		}
		return httpui.Viewer{Account: account}, nil
	}
}

func newHandler(t *testing.T, s apilog.Store, opts *httpui.Options) http.Handler {
	t.Helper()
	if opts == nil {
		opts = &httpui.Options{Authorize: asViewer("acct_a")}
	}
	if opts.Now == nil {
		opts.Now = func() time.Time { return t0.Add(time.Hour) }
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	h, err := httpui.New(s, opts)
	if err != nil {
		t.Fatal(err)
	}
	return h
}

func get(t *testing.T, h http.Handler, target string, header ...string) *httptest.ResponseRecorder {
	t.Helper()
	r := httptest.NewRequest("GET", target, nil)
	r.Header.Set("Authorization", "Bearer ok")
	for i := 0; i+1 < len(header); i += 2 {
		r.Header.Set(header[i], header[i+1])
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w
}

type apiPage struct {
	Rows []struct {
		ID          int64  `json:"id"`
		Method      string `json:"method"`
		Endpoint    string `json:"endpoint"`
		Status      int    `json:"status"`
		StatusClass string `json:"status_class"`
		StatusColor string `json:"status_color"`
		ErrorCode   string `json:"error_code"`
		RequestID   string `json:"request_id"`
		Key         struct {
			ID, Name, Prefix, Status, Icon, Color, Label string
		} `json:"key"`
		StatusMeaning string            `json:"status_meaning"`
		Cells         map[string]string `json:"cells"`
	} `json:"rows"`
	Page       int               `json:"page"`
	PageSize   int               `json:"page_size"`
	TotalRows  int               `json:"total_rows"`
	TotalPages int               `json:"total_pages"`
	Sort       string            `json:"sort"`
	Dir        string            `json:"dir"`
	AsOf       string            `json:"as_of"`
	MaxID      int64             `json:"max_id"`
	Pin        map[string]string `json:"pin"`
}

func decodeAPI(t *testing.T, w *httptest.ResponseRecorder) apiPage {
	t.Helper()
	if w.Code != 200 {
		t.Fatalf("status %d: %s", w.Code, w.Body)
	}
	var p apiPage
	if err := json.Unmarshal(w.Body.Bytes(), &p); err != nil {
		t.Fatalf("%v: %s", err, w.Body)
	}
	return p
}

func TestRoutes(t *testing.T) {
	h := newHandler(t, newStore(t), nil)
	for _, tt := range []struct {
		method, path string
		code         int
		contentType  string
		disposition  string
		cache        string
	}{
		{"GET", "/", 200, "text/html; charset=utf-8", "", "no-store"},
		{"HEAD", "/", 200, "text/html; charset=utf-8", "", "no-store"},
		{"GET", "/api/logs", 200, "application/json", "", "no-store"},
		{"GET", "/rows?status=4xx&page=2", 200, "text/html; charset=utf-8", "", "no-store"},
		{"GET", "/rows?q=%22", 400, "application/json", "", "no-store"},
		{"GET", "/rows?since=999999", 204, "", "", "no-store"},
		{"GET", "/row?row=1&at=2026-11-25T12:00:00Z", 200, "text/html; charset=utf-8", "", "no-store"},
		{"GET", "/row", 400, "application/json", "", "no-store"},
		{"GET", "/row?row=1&at=yesterday", 400, "application/json", "", "no-store"},
		{"GET", "/api/volume?status=4xx", 200, "application/json", "", "no-store"},
		{"GET", "/api/volume?q=%22", 400, "application/json", "", "no-store"},
		{"GET", "/api/nope", 404, "application/json", "", "no-store"},
		{"DELETE", "/api/volume", 405, "application/json", "", "no-store"},
		{"GET", "/export.csv", 200, "text/csv; charset=utf-8", `attachment; filename="logs-20261125T130000Z-page-1.csv"`, "no-store"},
		{"GET", "/export.json?page=2", 200, "application/json", `attachment; filename="logs-20261125T130000Z-page-2.json"`, "no-store"},
		{"GET", "/export-all.csv", 200, "text/csv; charset=utf-8", `attachment; filename="logs-20261125T130000Z-all.csv"`, "no-store"},
		{"HEAD", "/export-all.json?status=4xx", 200, "application/json", `attachment; filename="logs-20261125T130000Z-all.json"`, "no-store"},
		{"GET", "/export-all.csv?q=%22", 400, "application/json", "", "no-store"},
		{"GET", "/export-all.xml", 404, "application/json", "", "no-store"},
		{"GET", "/assets/logs.css", 200, "text/css; charset=utf-8", "", "no-cache"},
		{"GET", "/assets/logs.js?v=old", 200, "text/javascript; charset=utf-8", "", "no-cache"},
		{"GET", "/assets/", 404, "text/plain; charset=utf-8", "", "no-store"},
		{"GET", "/nope", 404, "text/plain; charset=utf-8", "", "no-store"},
		{"POST", "/", 405, "text/html; charset=utf-8", "", "no-store"},
		{"DELETE", "/api/logs", 405, "application/json", "", "no-store"},
		{"PUT", "/export.csv", 405, "application/json", "", "no-store"},
	} {
		t.Run(tt.method+" "+tt.path, func(t *testing.T) {
			r := httptest.NewRequest(tt.method, tt.path, nil)
			r.Header.Set("Authorization", "Bearer ok")
			w := httptest.NewRecorder()
			h.ServeHTTP(w, r)
			res := w.Result()
			if got, want := res.StatusCode, tt.code; got != want {
				t.Errorf("status = %d, want %d: %s", got, want, w.Body)
			}
			if got, want := res.Header.Get("Content-Type"), tt.contentType; got != want {
				t.Errorf("Content-Type = %q, want %q", got, want)
			}
			if got, want := res.Header.Get("Content-Disposition"), tt.disposition; got != want {
				t.Errorf("Content-Disposition = %q, want %q", got, want)
			}
			if got, want := res.Header.Get("Cache-Control"), tt.cache; got != want {
				t.Errorf("Cache-Control = %q, want %q", got, want)
			}
			for name, want := range map[string]string{
				"Content-Security-Policy": "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'",
				"X-Content-Type-Options":  "nosniff",
				"Referrer-Policy":         "no-referrer",
			} {
				if got := res.Header.Get(name); got != want {
					t.Errorf("%s = %q, want %q", name, got, want)
				}
			}
			if tt.code == 405 && res.Header.Get("Allow") != "GET, HEAD" {
				t.Errorf("Allow = %q", res.Header.Get("Allow"))
			}
		})
	}
}

// TestBadParameters: every 400 names its URL parameter through the error
// type: the JSON's param field and, on the page, "Label (param): message".
func TestBadParameters(t *testing.T) {
	h := newHandler(t, newStore(t), nil)
	for _, tt := range []struct {
		query, param string
		message      string // the whole message, where the test pins it
	}{
		{"q=" + strings.Repeat("a", 1001), "q", "Search (q): 1001 bytes, over 1000"},
		{"q=status:abc%20%22unterminated", "q", ""},
		{"q=key:", "q", ""},
		{"status=9xx", "status", ""},
		{"method=" + manyMethods(1001), "method", ""},
		{"method=" + strings.Repeat("M", 300), "method", ""},
		{manyKeys(1001), "key", "Key (key): more than 1000 values"},
		{"range=1y", "range", `Time range (range): "1y": want 1h, 24h, 7d or custom`},
		{"from=yesterday", "from", ""},
		{"to=2026-13-01T00:00:00Z", "to", ""},
		{"from=2026-11-25T00:00:00Z&to=2026-11-24T00:00:00Z", "to", ""},
		{"sort=foo", "sort", ""},
		{"sort=direction", "sort", ""},
		{"dir=up", "dir", ""},
		{"sort=status&dir=sideways", "dir", `Sort direction (dir): "sideways" is not a direction: want asc or desc`},
		{"page=0", "page", ""},
		{"page=abc", "page", ""},
		{"page=-1", "page", ""},
		{"max_id=0", "max_id", `Pinned rows (max_id): "0": want a row ID, a whole number from 1`},
		{"max_id=abc", "max_id", ""},
		{"max_id=-3", "max_id", ""},
		{"max_id=%2B3", "max_id", ""},
		{"max_id=99999999999999999999", "max_id", ""},
		{"asof=yesterday", "asof", ""},
		{"id=abc", "id", ""},
		{"id=0", "id", ""},
		{"slow=yes", "slow", `Slow filter (slow): "yes": want 1, once, or no slow parameter`},
		{"slow=1&slow=yes", "slow", `Slow filter (slow): "1,yes": want 1, once, or no slow parameter`},
		{"slow=1&q=" + url.QueryEscape(strings.Repeat("a ", 32)), "q", "Search (q): 32 terms: with the Slow filter, which is one more, the most is 31"},
		{"q=duration:500ms", "q", "Search (q): duration:500ms: want a bound (>500ms, <=2s) or a range (1s-5s) (at character 1)"},
	} {
		t.Run(tt.query[:min(len(tt.query), 30)], func(t *testing.T) {
			for _, route := range []string{"/api/logs", "/api/volume", "/export.csv", "/export.json", "/export-all.csv", "/export-all.json"} {
				w := get(t, h, route+"?"+tt.query)
				var body struct{ Error, Param string }
				if err := json.Unmarshal(w.Body.Bytes(), &body); err != nil || w.Code != 400 {
					t.Fatalf("%s: %d %s (%v), want 400 with a JSON error", route, w.Code, w.Body, err)
				}
				if body.Param != tt.param {
					t.Errorf("%s: param = %q, want %q (error %q)", route, body.Param, tt.param, body.Error)
				}
				if !strings.Contains(body.Error, "("+tt.param+"): ") || strings.Contains(body.Error, "apilog") {
					t.Errorf("%s: error %q does not read \"Label (%s): …\" or names a package", route, body.Error, tt.param)
				}
				if tt.message != "" && body.Error != tt.message {
					t.Errorf("%s: error %q, want %q", route, body.Error, tt.message)
				}
			}
			w := get(t, h, "/?"+tt.query)
			if w.Code != 400 || !strings.Contains(w.Body.String(), `role="alert"`) ||
				!strings.Contains(w.Body.String(), " ("+tt.param+"): ") {
				t.Errorf("page: %d, want 400 and the error state naming %q:\n%.600s", w.Code, tt.param, w.Body)
			}
		})
	}
	// One message in full, as a person reads it on the page.
	if body := get(t, h, "/?q="+url.QueryEscape(`flux "a cat`)).Body.String(); !strings.Contains(body, "Search (q): unterminated quote (at character 6)") {
		t.Errorf("page: the message of an unterminated quote is not readable:\n%s", body[strings.Index(body, "role=\"alert\""):][:300])
	}
}

func TestAPI(t *testing.T) {
	h := newHandler(t, newStore(t), nil)
	p := decodeAPI(t, get(t, h, "/api/logs"))
	if p.TotalRows != 1201 || p.TotalPages != 3 || p.Page != 1 || p.PageSize != 500 || len(p.Rows) != 500 || p.Sort != "time" || p.Dir != "desc" {
		t.Errorf("default view: %d rows of %d on page %d/%d, sort %s %s", len(p.Rows), p.TotalRows, p.Page, p.TotalPages, p.Sort, p.Dir)
	}
	first := p.Rows[0]
	if first.Status != 500 || first.StatusClass != "5xx" || first.StatusColor != "red" || first.StatusMeaning != "Server error" ||
		first.Key.Status != "revoked" || first.Key.Icon != "signal" || first.Key.Color != "pink" || first.Key.Label != "Revoked or inactive" {
		t.Errorf("newest row %+v", first)
	}

	p = decodeAPI(t, get(t, h, "/api/logs?q=status:4xx&sort=endpoint&dir=asc&page=1"))
	if p.TotalRows != 300 || p.Sort != "endpoint" || p.Dir != "asc" {
		t.Errorf("status:4xx: %d rows, sort %s %s", p.TotalRows, p.Sort, p.Dir)
	}
	for _, tt := range []struct {
		query string
		want  int
	}{
		{"status=4xx", 300},
		{"status=4xx&status=5xx", 301},
		{"status=2xx,5xx", 901},
		{"method=post", 301},
		{"key=k2", 1},
		{"range=1h", 2}, // now is t0+1h: the rows at t0 and t0+1s
		{"from=2026-11-25T11:59:00Z&to=2026-11-25T12:00:00Z", 60},
		{"q=flux", 300},
		{"q=bye_xss0", 1},
		// Durations of 17 ms to 1.65 s: 481 over a second, 119 of them 401s.
		{"slow=1", 481},
		{"slow=1&status=4xx", 119},
		{"q=duration:>1s", 481},
		{"q=-duration:>1s", 1201 - 481},
		{"slow=1&q=duration:>1s", 481},
		{"slow=1&q=duration:<=1s", 0},
		{"slow=", 1201},
		{"q=duration:17ms-17ms", 13}, // rows 0, 97, … 1164
	} {
		p := decodeAPI(t, get(t, h, "/api/logs?"+tt.query))
		if p.TotalRows != tt.want {
			t.Errorf("%s: %d rows, want %d", tt.query, p.TotalRows, tt.want)
		}
	}
	for query, want := range map[string][2]int{"page=3": {3, 201}, "page=99": {99, 0}} {
		p := decodeAPI(t, get(t, h, "/api/logs?"+query))
		if p.Page != want[0] || len(p.Rows) != want[1] || p.TotalRows != 1201 {
			t.Errorf("%s: page %d with %d rows of %d, want page %d with %d", query, p.Page, len(p.Rows), p.TotalRows, want[0], want[1])
		}
	}
}

// TestTenantScope: whatever the route and parameters, a viewer of acct_a
// sees nothing of acct_b.
func TestTenantScope(t *testing.T) {
	s := newStore(t)
	pb, err := s.Query(context.Background(), apilog.Query{Account: "acct_b"})
	if err != nil {
		t.Fatal(err)
	}
	idB := pb.Rows[0].ID
	rowB := "row=" + itoa(idB) + "&at=" + url.QueryEscape(pb.Rows[0].Time.Format(time.RFC3339Nano))
	h := newHandler(t, s, nil)
	for _, target := range []string{
		"/", "/api/logs", "/api/logs?key=k1", "/api/logs?q=secret-of-b", "/api/logs?method=DELETE",
		"/export.csv", "/export.json", "/export.csv?id=" + itoa(idB), "/export.json?id=" + itoa(idB) + "&page=2",
		"/export-all.csv", "/export-all.json", "/export-all.csv?q=secret-of-b", "/export-all.json?id=" + itoa(idB), "/export-all.csv?key=k1",
		"/api/logs?live=1&since=1", "/api/logs?live=1&q=secret-of-b&since=1", "/?live=1",
		"/api/volume", "/api/volume?q=secret-of-b", "/api/volume?key=k1",
		"/?q=other-tenant-key", "/api/logs?account=acct_b",
		"/api/logs?q=req:req-b", "/api/logs?q=req-b", "/rows", "/rows?q=DELETE", "/rows?key=k1&live=1&since=1", "/row?" + rowB, "/?" + rowB, "/rows?" + rowB,
	} {
		w := get(t, h, target)
		body := w.Body.String()
		if w.Code != 200 || strings.Contains(body, "secret-of-b") || strings.Contains(body, "bye_BBBB") || strings.Contains(body, "req-b") {
			t.Errorf("%s: %d, and acct_b's rows show:\n%.300s", target, w.Code, body)
		}
	}
	// A selection exports exactly the selected rows of the page.
	pa := decodeAPI(t, get(t, h, "/api/logs"))
	w := get(t, h, "/export.csv?id="+itoa(pa.Rows[3].ID)+"&id="+itoa(pa.Rows[7].ID)+"&id="+itoa(idB))
	recs, err := csv.NewReader(w.Body).ReadAll()
	if err != nil || len(recs) != 3 {
		t.Fatalf("selected export: %d records (%v), want a header and 2 rows", len(recs), err)
	}
	if !strings.Contains(w.Header().Get("Content-Disposition"), "selected-2") {
		t.Errorf("Content-Disposition %q", w.Header().Get("Content-Disposition"))
	}
	// No selection: the whole current page.
	w = get(t, h, "/export.csv?page=3")
	recs, _ = csv.NewReader(w.Body).ReadAll()
	if len(recs) != 1+201 {
		t.Errorf("page 3 export: %d records, want a header and 201 rows", len(recs))
	}
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

// TestStatusChips: a search term of a whole status class ticks its chip,
// which says why and cannot be unticked apart from the search.
func TestStatusChips(t *testing.T) {
	h := newHandler(t, newStore(t), nil)
	bySearch := func(class string) string {
		return `title="Set by the search: status:` + class + `"><input type="checkbox" name="status" value="` + class + `" checked disabled>`
	}
	for _, tt := range []struct {
		target    string
		ticked    string // the chip ticked by the search, or ""
		notTicked []string
	}{
		{"/?q=status:4xx", "4xx", []string{"2xx", "5xx"}},
		{"/rows?q=status%3A500-599+flux", "5xx", []string{"4xx"}},
		{"/?q=-status:4xx", "", []string{"4xx"}},
		{"/?q=status:401", "", []string{"4xx"}},
		{"/?q=status:400-450", "", []string{"4xx"}},
		{"/?q=status:4xx&status=4xx", "4xx", nil},
	} {
		body := get(t, h, tt.target).Body.String()
		if tt.ticked != "" && !strings.Contains(body, bySearch(tt.ticked)) {
			t.Errorf("%s: the %s chip is not ticked by the search:\n%s", tt.target, tt.ticked, body[strings.Index(body, `id="chips"`):][:600])
		}
		for _, c := range tt.notTicked {
			if strings.Contains(body, `value="`+c+`" checked`) {
				t.Errorf("%s: the %s chip is ticked", tt.target, c)
			}
		}
	}
}

func TestAuthorization(t *testing.T) {
	s := newStore(t)
	loopback := func(r *http.Request) { r.RemoteAddr, r.Host = "127.0.0.1:5000", "localhost:8080" }
	loopback6 := func(r *http.Request) { r.RemoteAddr, r.Host = "[::1]:5000", "[::1]:8080" }
	remote := func(r *http.Request) { r.RemoteAddr = "203.0.113.7:5000" }
	proxied := func(r *http.Request) { loopback(r); r.Header.Set("X-Forwarded-For", "203.0.113.7") }
	proxiedRealIP := func(r *http.Request) { loopback(r); r.Header.Set("X-Real-IP", "203.0.113.7") }
	proxiedVia := func(r *http.Request) { loopback(r); r.Header.Set("Via", "1.1 proxy") }
	rebound := func(r *http.Request) { r.RemoteAddr, r.Host = "127.0.0.1:5000", "attacker.example:8080" }
	for _, tt := range []struct {
		name  string
		opts  *httpui.Options
		setup func(*http.Request)
		auth  string
		code  int
	}{
		{"default, loopback", &httpui.Options{}, loopback, "", 200},
		{"default, remote", &httpui.Options{}, remote, "", 403},
		{"default, proxied from remote", &httpui.Options{}, proxied, "", 403},
		{"default, IPv6 loopback", &httpui.Options{}, loopback6, "", 200},
		{"default, X-Real-IP", &httpui.Options{}, proxiedRealIP, "", 403},
		{"default, Via", &httpui.Options{}, proxiedVia, "", 403},
		{"default, another site's name for 127.0.0.1 (DNS rebinding)", &httpui.Options{}, rebound, "", 403},
		{"default, X-Forwarded-Port", &httpui.Options{}, func(r *http.Request) { loopback(r); r.Header.Set("X-Forwarded-Port", "203.0.113.7") }, "", 403},
		{"default, X-Forwarded-Prefix", &httpui.Options{}, func(r *http.Request) { loopback(r); r.Header.Set("X-Forwarded-Prefix", "203.0.113.7") }, "", 403},
		{"default, X-Forwarded-Ssl", &httpui.Options{}, func(r *http.Request) { loopback(r); r.Header.Set("X-Forwarded-Ssl", "203.0.113.7") }, "", 403},
		{"default, True-Client-IP", &httpui.Options{}, func(r *http.Request) { loopback(r); r.Header.Set("True-Client-IP", "203.0.113.7") }, "", 403},
		{"default, CF-Connecting-IP", &httpui.Options{}, func(r *http.Request) { loopback(r); r.Header.Set("CF-Connecting-IP", "203.0.113.7") }, "", 403},
		{"default, X-Client-IP", &httpui.Options{}, func(r *http.Request) { loopback(r); r.Header.Set("X-Client-IP", "203.0.113.7") }, "", 403},
		{"default, X-Cluster-Client-IP", &httpui.Options{}, func(r *http.Request) { loopback(r); r.Header.Set("X-Cluster-Client-IP", "203.0.113.7") }, "", 403},
		{"default, Fastly-Client-IP", &httpui.Options{}, func(r *http.Request) { loopback(r); r.Header.Set("Fastly-Client-IP", "203.0.113.7") }, "", 403},
		{"default, X-Envoy-External-Address", &httpui.Options{}, func(r *http.Request) { loopback(r); r.Header.Set("X-Envoy-External-Address", "203.0.113.7") }, "", 403},
		{"default, X-Original-URI", &httpui.Options{}, func(r *http.Request) { loopback(r); r.Header.Set("X-Original-URI", "203.0.113.7") }, "", 403},
		{"default, X-Original-Forwarded-For", &httpui.Options{}, func(r *http.Request) { loopback(r); r.Header.Set("X-Original-Forwarded-For", "203.0.113.7") }, "", 403},
		{"viewer with both scopes", &httpui.Options{Authorize: func(*http.Request) (httpui.Viewer, error) {
			return httpui.Viewer{Account: "acct_a", AllAccounts: true}, nil
		}}, remote, "", 403},
		{"allow unauthenticated", &httpui.Options{AllowUnauthenticated: true}, remote, "", 200},
		{"authorize ok", &httpui.Options{Authorize: asViewer("acct_a")}, remote, "Bearer ok", 200},
		{"authorize refused", &httpui.Options{Authorize: asViewer("acct_a")}, loopback, "Bearer bad", 403},
		// Not a refusal: an outage, which a 403 would hide.
		{"authorize error not shown", &httpui.Options{Authorize: func(*http.Request) (httpui.Viewer, error) {
			return httpui.Viewer{}, errors.New("db password is hunter2")
		}}, remote, "", 503},
		{"authorize refusal wrapped", &httpui.Options{Authorize: func(*http.Request) (httpui.Viewer, error) {
			return httpui.Viewer{}, fmt.Errorf("no session: %w", httpui.ErrForbidden)
		}}, remote, "", 403},
		{"viewer without scope", &httpui.Options{Authorize: func(*http.Request) (httpui.Viewer, error) { return httpui.Viewer{}, nil }}, remote, "", 403},
	} {
		t.Run(tt.name, func(t *testing.T) {
			h := newHandler(t, s, tt.opts)
			for _, path := range []string{"/", "/api/logs", "/api/volume", "/export.csv", "/export-all.csv", "/assets/logs.css"} {
				r := httptest.NewRequest("GET", path, nil)
				tt.setup(r)
				if tt.auth != "" {
					r.Header.Set("Authorization", tt.auth)
				}
				w := httptest.NewRecorder()
				h.ServeHTTP(w, r)
				if w.Code != tt.code {
					t.Errorf("%s: %d, want %d: %.200s", path, w.Code, tt.code, w.Body)
				}
				if strings.Contains(w.Body.String(), "hunter2") {
					t.Errorf("%s: the Authorize error's text reached the client", path)
				}
				if tt.name == "default, remote" && path == "/api/logs" && !strings.Contains(w.Body.String(), "Authorize") {
					t.Errorf("the refusal does not tell the operator what to configure: %s", w.Body)
				}
			}
		})
	}
	if _, err := httpui.New(s, &httpui.Options{Authorize: asViewer("a"), AllowUnauthenticated: true}); err == nil {
		t.Error("New accepted Authorize and AllowUnauthenticated together")
	}
	h := newHandler(t, s, &httpui.Options{Authorize: asViewer("acct_a"), PublicAssets: true})
	r := httptest.NewRequest("GET", "/assets/logs.css", nil)
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	if w.Code != 200 {
		t.Errorf("PublicAssets: %d", w.Code)
	}
}

// TestEscaping: hostile text in rows is text on the page and in the JSON.
// The page is parsed as a browser would, and every element and attribute
// must be one the template wrote.
func TestEscaping(t *testing.T) {
	h := newHandler(t, newStore(t), nil)
	body := get(t, h, "/").Body.String()
	doc, err := html.Parse(strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	var scripts, texts []string
	for n := range doc.Descendants() {
		switch n.Type {
		case html.ElementNode:
			switch n.Data {
			case "img", "iframe", "object", "embed", "style":
				t.Errorf("a <%s> element is on the page", n.Data)
			case "script":
				scripts = append(scripts, fmt.Sprint(n.Attr))
			}
			for _, a := range n.Attr {
				if strings.HasPrefix(a.Key, "on") || a.Key == "style" || a.Key == "srcdoc" {
					t.Errorf("<%s %s=%q>: an attribute the template never writes", n.Data, a.Key, a.Val)
				}
				if (a.Key == "href" || a.Key == "src" || a.Key == "action" || a.Key == "formaction") && strings.Contains(strings.ToLower(a.Val), "javascript:") {
					t.Errorf("<%s %s=%q>: a script URL", n.Data, a.Key, a.Val)
				}
			}
		case html.TextNode:
			texts = append(texts, n.Data)
		}
	}
	if len(scripts) != 1 || !strings.Contains(scripts[0], "assets/logs.js") {
		t.Errorf("scripts on the page: %v, want only assets/logs.js", scripts)
	}
	all := strings.Join(texts, "\n")
	for _, s := range xss {
		if !strings.Contains(all, s) {
			t.Errorf("the page does not show %q as text", s)
		}
	}
	api := get(t, h, "/api/logs").Body.String()
	if strings.Contains(api, "<script>") || !strings.Contains(api, `\u003cscript\u003e`) {
		t.Error("JSON does not escape < >")
	}
}

func TestPage(t *testing.T) {
	h := newHandler(t, newStore(t), nil)
	body := get(t, h, "/?sort=status&dir=asc&page=2&q=GET").Body.String()
	for _, want := range []string{
		"<title>Logs</title>", "Monitor API logs.",
		`aria-sort="ascending"`, `href="?dir=desc&amp;q=GET&amp;sort=status"`, // a second click flips; paging resets
		"Page 2 of 2", "501–900 of 900 rows",
		`rel="first"`, `rel="prev"`,
		`<time datetime="2026-11-25T`, `class="b b-green"`, `<span class="visually-hidden"> Success</span>`,
		`role="img" title="Active"`, "Revoked or inactive", // legend
		`name=id`, `formaction="export.csv"`, `formaction="export.json"`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("page lacks %q", want)
		}
	}
	if n := strings.Count(body, `<tr data-id=`); n != 400 {
		t.Errorf("page 2 of 900 rows has %d rows, want 400", n)
	}
	for _, tt := range []struct{ query, want string }{
		{"q=nothing-matches", "No rows match “nothing-matches”"},
		{"status=3xx", "No rows match these filters"},
	} {
		if body := get(t, h, "/?"+tt.query).Body.String(); !strings.Contains(body, tt.want) {
			t.Errorf("%s: page lacks %q", tt.query, tt.want)
		}
	}
	empty := newHandler(t, memstore.New(nil), nil)
	if body := get(t, empty, "/").Body.String(); !strings.Contains(body, "No API requests yet") {
		t.Error("empty store: no empty state")
	}
}

// TestGzip: the page, its JSON and its exports are compressed when the
// client accepts gzip, and decompress to exactly the plain answer; an
// error of an export of all rows, before its first byte, is not announced
// as gzip while plain.
func TestGzip(t *testing.T) {
	h := newHandler(t, newStore(t), nil)
	for _, target := range []string{"/", "/api/logs", "/api/volume", "/export.csv", "/export.json?id=3", "/export-all.csv", "/export-all.json?q=flux", "/api/logs?q=status:abc"} {
		plain := get(t, h, target)
		w := get(t, h, target, "Accept-Encoding", "gzip, br")
		if w.Code != plain.Code || w.Header().Get("Vary") != "Accept-Encoding" {
			t.Errorf("%s: %d, Vary %q; plain: %d", target, w.Code, w.Header().Get("Vary"), plain.Code)
		}
		if w.Header().Get("Content-Encoding") != "gzip" {
			t.Errorf("%s: Content-Encoding %q", target, w.Header().Get("Content-Encoding"))
			continue
		}
		compressed := w.Body.Len()
		zr, err := gzip.NewReader(w.Body)
		if err != nil {
			t.Fatalf("%s: %v", target, err)
		}
		body, err := io.ReadAll(zr)
		if err != nil || !bytes.Equal(body, plain.Body.Bytes()) {
			t.Errorf("%s: gzip body (%v) differs from the plain one:\n%.300s\n%.300s", target, err, body, plain.Body.Bytes())
		}
		t.Logf("%s: %d bytes, %d gzip-compressed", target, len(body), compressed)
	}
	// Refused before its first byte: the error is what it says it is.
	h = newHandler(t, newStore(t), &httpui.Options{Authorize: asViewer("acct_a"), ExportLimit: 1})
	w := get(t, h, "/export-all.csv", "Accept-Encoding", "gzip")
	if w.Code != http.StatusUnprocessableEntity {
		t.Fatalf("export over the limit: %d", w.Code)
	}
	if enc := w.Header().Get("Content-Encoding"); enc == "gzip" {
		if _, err := gzip.NewReader(bytes.NewReader(w.Body.Bytes())); err != nil {
			t.Errorf("export over the limit: announced as gzip, but %v", err)
		}
	}
}

// TestPageByteStable: the same request over the same rows gives the same
// bytes (hidden fields once came out in map order).
func TestPageByteStable(t *testing.T) {
	h := newHandler(t, newStore(t), nil)
	const target = "/?q=flux&status=4xx&status=5xx&method=GET&sort=status&dir=asc&range=24h&page=2"
	first := get(t, h, target).Body.String()
	for range 50 {
		if got := get(t, h, target).Body.String(); got != first {
			t.Fatalf("two bodies for one request:\n%s", cmp.Diff(first, got))
		}
	}
}

func TestMountedUnderAPrefix(t *testing.T) {
	mux := http.NewServeMux()
	mux.Handle("/logs/", http.StripPrefix("/logs", newHandler(t, newStore(t), nil)))
	srv := httptest.NewServer(mux)
	defer srv.Close()
	client := srv.Client()
	client.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	do := func(path string) *http.Response {
		req, _ := http.NewRequest("GET", srv.URL+path, nil)
		req.Header.Set("Authorization", "Bearer ok")
		res, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		return res
	}
	for path, code := range map[string]int{"/logs/": 200, "/logs/api/logs": 200, "/logs/assets/logs.js": 200} {
		if res := do(path); res.StatusCode != code {
			t.Errorf("%s: %d, want %d", path, res.StatusCode, code)
		}
	}
	if res := do("/logs?q=x"); res.StatusCode != 301 && res.StatusCode != 307 || res.Header.Get("Location") != "/logs/?q=x" {
		t.Errorf("/logs: %d to %q, want a redirect to /logs/?q=x", res.StatusCode, res.Header.Get("Location"))
	}
}

func manyKeys(n int) string {
	v := url.Values{}
	for i := range n {
		v.Add("key", "k"+strconv.Itoa(i))
	}
	return v.Encode()
}

func manyMethods(n int) string {
	var b strings.Builder
	for i := range n {
		b.WriteString("M" + strconv.Itoa(i) + ",")
	}
	return b.String()
}

// TestAssetsVersioned: the page links its assets by their content's hash,
// and those URLs may be cached for good.
func TestAssetsVersioned(t *testing.T) {
	h := newHandler(t, newStore(t), nil)
	m := regexp.MustCompile(`assets/logs\.js\?v=([0-9a-f]{12})`).FindStringSubmatch(get(t, h, "/").Body.String())
	if m == nil {
		t.Fatal("the page does not link a versioned script")
	}
	if w := get(t, h, "/assets/logs.js?v="+m[1]); w.Code != 200 || w.Header().Get("Cache-Control") != "public, max-age=31536000, immutable" {
		t.Errorf("versioned asset: %d, Cache-Control %q", w.Code, w.Header().Get("Cache-Control"))
	}
}

func TestGzipRefused(t *testing.T) {
	h := newHandler(t, newStore(t), nil)
	for header, want := range map[string]string{"gzip;q=0": "", "br, gzip; q=0.5": "gzip", "identity": "", "*": "gzip", "gzip;q=0.000": "",
		"*, gzip;q=0": "", "*;q=0, gzip": "gzip"} {
		w := get(t, h, "/", "Accept-Encoding", header)
		if got := w.Header().Get("Content-Encoding"); got != want {
			t.Errorf("Accept-Encoding %q: Content-Encoding %q, want %q", header, got, want)
		}
		if w.Header().Get("Vary") != "Accept-Encoding" {
			t.Errorf("Accept-Encoding %q: no Vary", header)
		}
	}
}

// TestRedirectToSlash: /logs goes to /logs/ with its query, and a request
// line that is not a plain path goes nowhere.
func TestRedirectToSlash(t *testing.T) {
	h := newHandler(t, newStore(t), nil)
	// Only reads are redirected: a POST to the bare mount path is refused
	// as it is anywhere else.
	r := httptest.NewRequest("POST", "/", nil)
	r.URL.Path, r.RequestURI = "", "/logs"
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	if w.Code != http.StatusMethodNotAllowed || w.Header().Get("Location") != "" {
		t.Errorf("POST /logs: %d to %q, want 405", w.Code, w.Header().Get("Location"))
	}
	for _, tt := range []struct{ requestURI, location string }{
		{"/logs?q=x", "/logs/?q=x"},
		{"http://example.com/logs", "/logs/"},
		{"//evil.example/logs", ""},
		{"", ""},
	} {
		r := httptest.NewRequest("GET", "/", nil)
		r.Header.Set("Authorization", "Bearer ok")
		r.URL.Path = ""
		r.URL.RawQuery = ""
		if i := strings.Index(tt.requestURI, "?"); i >= 0 {
			r.URL.RawQuery = tt.requestURI[i+1:]
		}
		r.RequestURI = tt.requestURI
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		if got := w.Header().Get("Location"); got != tt.location || (tt.location == "" && w.Code != 404) {
			t.Errorf("request line %q: %d to %q, want %q", tt.requestURI, w.Code, got, tt.location)
		}
	}
}

// TestFilterFormKeepsTheView: without script, Apply sends the whole view:
// keys and several methods, which the form has no control for, come back.
func TestFilterFormKeepsTheView(t *testing.T) {
	h := newHandler(t, newStore(t), nil)
	body := get(t, h, "/?key=k2&method=GET&method=POST&from=2026-11-25T11:59:30Z&to=2026-11-25T12:00:00Z").Body.String()
	for _, want := range []string{
		`<input type="hidden" name="key" value="k2">`,
		`<option value="GET,POST" selected>GET, POST</option>`,
		`name="from" step="1" value="2026-11-25T11:59:30"`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("filter form lacks %q", want)
		}
	}
}

// TestSlowFilter: the Slow chip shows its state, and the pager, the sort
// links and the export form keep it.
func TestSlowFilter(t *testing.T) {
	h := newHandler(t, newStore(t), nil)
	body := get(t, h, "/?slow=1").Body.String()
	for _, want := range []string{
		`<input type="checkbox" name="slow" value="1" checked> Slow (&gt; 1s)`,
		`<input type="hidden" name="slow" value="1">`, // the export form
		`href="?dir=asc&amp;slow=1&amp;sort=api"`,     // 481 rows: one page
		`481`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("page with slow=1 lacks %q", want)
		}
	}
	if body := get(t, h, "/").Body.String(); strings.Contains(body, `value="1" checked> Slow`) {
		t.Errorf("the Slow chip is checked without slow=1")
	}
}

// slowStore fails every query as a store does when its time limit stops
// one.
type slowStore struct{ apilog.Store }

func (slowStore) Query(context.Context, apilog.Query) (apilog.Page, error) {
	return apilog.Page{}, fmt.Errorf("somestore: query: %w", apilog.ErrTimeout)
}

// TestQueryTimeout checks that a query the store stopped for taking too
// long is answered with what to do about it, not as a failure to retry.
func TestQueryTimeout(t *testing.T) {
	h := newHandler(t, slowStore{newStore(t)}, nil)
	for _, target := range []string{"/api/logs?q=e", "/?q=e"} {
		w := get(t, h, target)
		if w.Code != http.StatusServiceUnavailable || !strings.Contains(w.Body.String(), "took too long") || !strings.Contains(w.Body.String(), "narrow it") {
			t.Errorf("GET %s: %d %q, want 503 saying the search took too long and how to narrow it", target, w.Code, w.Body)
		}
	}
}

// blockingStore answers a query only when its context ends, counting the
// queries in it at once: a search that would run for ever.
type blockingStore struct {
	apilog.Store
	mu         sync.Mutex
	running    map[string]int // by account
	maxRunning map[string]int
}

func (s *blockingStore) Query(ctx context.Context, q apilog.Query) (apilog.Page, error) {
	s.mu.Lock()
	s.running[q.Account]++
	s.maxRunning[q.Account] = max(s.maxRunning[q.Account], s.running[q.Account])
	s.mu.Unlock()
	<-ctx.Done()
	s.mu.Lock()
	s.running[q.Account]--
	s.mu.Unlock()
	return apilog.Page{}, fmt.Errorf("blockingstore: query: %w", ctx.Err())
}

// TestQueryBudget checks that a query still running at QueryTimeout is
// stopped and answered 503 with Retry-After and what to do, and that one
// viewer runs at most MaxViewerQueries queries at once, the others waiting
// for a turn, while another viewer's go straight to the store.
func TestQueryBudget(t *testing.T) {
	s := &blockingStore{Store: newStore(t), running: map[string]int{}, maxRunning: map[string]int{}}
	h := newHandler(t, s, &httpui.Options{
		Authorize: func(r *http.Request) (httpui.Viewer, error) {
			return httpui.Viewer{Account: r.Header.Get("X-Tenant")}, nil
		},
		QueryTimeout:     200 * time.Millisecond,
		MaxViewerQueries: 2,
	})
	var wg sync.WaitGroup
	for i := range 6 {
		tenant := "acct_a"
		if i == 5 {
			tenant = "acct_b"
		}
		wg.Go(func() {
			w := get(t, h, "/api/logs?q=e", "X-Tenant", tenant)
			if w.Code != http.StatusServiceUnavailable || w.Header().Get("Retry-After") == "" || !strings.Contains(w.Body.String(), "narrow it") {
				t.Errorf("%s: %d, Retry-After %q: %s; want 503 saying how to narrow it", tenant, w.Code, w.Header().Get("Retry-After"), w.Body)
			}
		})
	}
	wg.Wait()
	if s.maxRunning["acct_a"] != 2 || s.maxRunning["acct_b"] != 1 {
		t.Errorf("at most %d of acct_a's 5 queries ran at once, and %d of acct_b's 1; want 2 and 1", s.maxRunning["acct_a"], s.maxRunning["acct_b"])
	}
	// The page says it too, in its error state.
	if w := get(t, h, "/?q=e", "X-Tenant", "acct_a"); w.Code != http.StatusServiceUnavailable || !strings.Contains(w.Body.String(), "took too long") {
		t.Errorf("page: %d %.300s", w.Code, w.Body)
	}
}

// TestNav checks the host's links in the header: each link, the current
// one marked, the label, all escaped; no nav without Options.Nav.
func TestNav(t *testing.T) {
	nav := func(r *http.Request, v httpui.Viewer) httpui.Nav {
		return httpui.Nav{Label: "Viewing as <b>", Links: []httpui.Link{
			{Text: "Dashboard", Href: "/dashboard"},
			{Text: v.Account + " <i>", Href: "?as=" + v.Account, Current: true},
			{Text: "bad", Href: "javascript:alert(1)"},
		}}
	}
	h := newHandler(t, newStore(t), &httpui.Options{Authorize: asViewer("acct_a"), Nav: nav})
	body := get(t, h, "/").Body.String()
	for _, want := range []string{
		`<nav class="host-nav" aria-label="Viewing as &lt;b&gt;"><span class="muted">Viewing as &lt;b&gt;</span>`,
		`<a href="/dashboard">Dashboard</a>`,
		`<a href="?as=acct_a" aria-current="page">acct_a &lt;i&gt;</a>`,
		`<a href="#ZgotmplZ">bad</a>`, // html/template's refusal of a javascript: URL
	} {
		if !strings.Contains(body, want) {
			t.Errorf("page lacks %s", want)
		}
	}
	// An error page keeps the host's way back.
	if w := get(t, h, "/?q=%22"); w.Code != 400 || !strings.Contains(w.Body.String(), `<a href="/dashboard">Dashboard</a>`) {
		t.Errorf("error page: %d without the nav:\n%.1500s", w.Code, w.Body)
	}
	if body := get(t, newHandler(t, newStore(t), nil), "/").Body.String(); strings.Contains(body, "host-nav") {
		t.Error("a nav without Options.Nav")
	}
}

// TestAccountColumn checks that an operator's view of every tenant shows
// each row's account, on the page (a header that does not sort, a cell)
// and in the JSON the script draws from, and that a tenant's view does not.
func TestAccountColumn(t *testing.T) {
	s := newStore(t)
	operator := newHandler(t, s, &httpui.Options{Authorize: func(*http.Request) (httpui.Viewer, error) {
		return httpui.Viewer{AllAccounts: true}, nil
	}})
	body := get(t, operator, "/?q=other-tenant-key").Body.String()
	for _, want := range []string{
		`<th scope="col" data-col="account">Account</th>`,
		`<td data-col=account>acct_b</td><td data-col=api>`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("operator's page lacks %s", want)
		}
	}
	p := decodeAPI(t, get(t, operator, "/api/logs?page_size=10000"))
	accounts := map[string]int{}
	for _, r := range p.Rows {
		accounts[r.Cells["account"]]++
	}
	if accounts["acct_a"] == 0 || accounts["acct_b"] == 0 || accounts[""] != 0 {
		t.Errorf("operator's JSON rows by account cell: %v; want acct_a's and acct_b's, none without", accounts)
	}

	// The exports, of the page and of all rows, begin with the account.
	for _, target := range []string{"/export.csv", "/export-all.csv?q=other-tenant-key", "/export.json", "/export-all.json"} {
		body := get(t, operator, target).Body.String()
		if !strings.HasPrefix(body, "account,") && !strings.HasPrefix(body, "[\n{\"account\":\"acct_") {
			t.Errorf("operator's %s begins %.80q, want the account first", target, body)
		}
		if strings.HasSuffix(target, "other-tenant-key") && !strings.Contains(body, "\r\nacct_b,") {
			t.Errorf("operator's %s lacks acct_b's rows: %.200q", target, body)
		}
	}

	tenant := newHandler(t, s, nil)
	if body := get(t, tenant, "/").Body.String(); strings.Contains(body, `data-col="account"`) || strings.Contains(body, `data-col=account`) {
		t.Error("a tenant's page has an account column")
	}
	for _, target := range []string{"/export.csv", "/export-all.csv", "/export.json", "/export-all.json"} {
		if body := get(t, tenant, target).Body.String(); strings.Contains(body, "account") {
			t.Errorf("a tenant's %s has an account column: %.80q", target, body)
		}
	}
	for _, r := range decodeAPI(t, get(t, tenant, "/api/logs")).Rows {
		if _, ok := r.Cells["account"]; ok {
			t.Fatal("a tenant's JSON rows have an account cell")
		}
	}
}

// TestStrictQuery checks that a query the page cannot read as a whole is
// refused with a message naming the problem, on every route, rather than
// answered with what url.ParseQuery kept of it: today's code answered
// these unfiltered.
func TestStrictQuery(t *testing.T) {
	h := newHandler(t, newStore(t), nil)
	many := func(n int, param string) string {
		var b strings.Builder
		b.WriteString("status=5xx")
		for range n {
			b.WriteString("&" + param)
		}
		return b.String()
	}
	for _, tt := range []struct {
		name, query string
		code        int
		says        string
	}{
		{"a semicolon", "q=a;b", 400, "“;”"},
		{"a semicolon between parameters", "status=5xx;method=GET", 400, "“;”"},
		{"a bad escape", "q=%zz", 400, "invalid URL escape"},
		{"over 2,000 parameters", many(10000, "z"), 400, "10001 parameters, over 2000"},
		{"a selection padded past the bound", "id=3&" + many(10000, "z"), 400, "parameters, over 2000"},
		{"over 64 KB", "method=" + manyMethods(120000), 414, "over 65536"},
		{"5,000 methods", "method=" + manyMethods(5000), 400, "more than 1000 values"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			for _, path := range []string{"/", "/api/logs", "/export.csv"} {
				w := get(t, h, path+"?"+tt.query)
				if w.Code != tt.code || !strings.Contains(w.Body.String(), tt.says) {
					t.Errorf("%s: %d, want %d saying %q: %.300s", path, w.Code, tt.code, tt.says, w.Body)
				}
			}
		})
	}
}

// TestDetailLinks: the panel's permalink and close link keep the view and
// the pin its URL has, and add none it had not (a relative range's asof).
func TestDetailLinks(t *testing.T) {
	s := newStore(t)
	h := newHandler(t, s, nil)
	p, err := s.Query(context.Background(), apilog.Query{Account: "acct_a"})
	if err != nil {
		t.Fatal(err)
	}
	row := "row=" + itoa(p.Rows[2].ID) + "&at=" + url.QueryEscape(p.Rows[2].Time.Format(time.RFC3339Nano))
	for _, tt := range []struct{ view, close string }{
		{"range=24h&live=1", `href="?live=1&amp;range=24h"`},
		{"q=flux&page=2&max_id=1201", `href="?max_id=1201&amp;page=2&amp;q=flux"`},
		{"", `href="./"`},
	} {
		body := get(t, h, "/row?"+tt.view+"&"+row).Body.String()
		if !strings.Contains(body, `<a class="close" `+tt.close) {
			t.Errorf("view %q: the close link is not %s:\n%s", tt.view, tt.close, body)
		}
		if strings.Contains(body, "asof") {
			t.Errorf("view %q: a link adds asof:\n%s", tt.view, body)
		}
	}
}
