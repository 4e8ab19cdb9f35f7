// Package httpui serves the Logs page of an apilog store as one
// http.Handler: the page, its JSON API, CSV and JSON exports and its assets,
// all behind one authorization and one tenant scope. Mount it under any
// prefix; every link it makes is relative:
//
//	h, err := httpui.New(store, &httpui.Options{Authorize: viewerOf})
//	mux.Handle("/logs/", http.StripPrefix("/logs", h))
//
// Without Options.Authorize it answers only loopback clients, as an
// operator seeing every account; set AllowUnauthenticated only when the
// host guards the route itself.
package httpui

import (
	"compress/gzip"
	"context"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"io"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/apilog/apilog"
)

// Viewer is who looks at the page and so which rows they may see.
type Viewer struct {
	// Account is the one tenant whose rows the viewer sees.
	Account string
	// AllAccounts shows every tenant's rows, for operators. Account must
	// then be empty.
	AllAccounts bool
	// Name is shown on the page ("Signed in as …"); optional.
	Name string
}

// ErrForbidden is what an Authorize func returns (or wraps) to refuse a
// request; the handler answers 403. Any other error means Authorize could
// not decide (a session store down): the handler logs it and answers 503,
// without its text.
var ErrForbidden = errors.New("httpui: forbidden")

// Options configures the handler. The zero value serves loopback clients
// only.
type Options struct {
	// Authorize decides who the viewer of a request is. Every route goes
	// through it; its Viewer scopes every query. Optional: without it only
	// loopback clients are served, as an operator of all accounts.
	Authorize func(r *http.Request) (Viewer, error)

	// AllowUnauthenticated serves everyone, without Authorize, as an
	// operator of all accounts. Only for a host that guards the route
	// itself.
	AllowUnauthenticated bool

	// PublicAssets serves the stylesheet, script and icons without
	// Authorize. They hold no data.
	PublicAssets bool

	// Hasher is the recorder's IP hasher, so that a search for
	// ip:203.0.113.7 finds that address's rows. Optional.
	Hasher apilog.IPHasher

	// Logger receives store errors, which the page reports without their
	// detail. Default slog.Default().
	Logger *slog.Logger

	// Now is the clock; default time.Now.
	Now func() time.Time

	// QueryTimeout bounds each request's query, its wait for a turn
	// included: a search still running then is stopped, and the viewer is
	// told to narrow it (503, with Retry-After). Default 5s.
	QueryTimeout time.Duration

	// MaxViewerQueries is how many queries one viewer runs at once; more
	// wait for a turn, within QueryTimeout, so that one viewer's searches
	// cannot take every connection of the store. Default 2.
	MaxViewerQueries int

	// ExportLimit is the most rows an export of everything a view
	// selects (its "All N rows" buttons) may hold; past it the export is
	// refused with the reason, and the buttons say so. 0 is
	// apilog.DefaultExportLimit (1,000,000 rows, about 200 MB of CSV); a
	// negative value turns such exports off. Exports of a page or a
	// selection are not limited by it.
	ExportLimit int

	// MaxExports is how many exports of all rows run at once, one per
	// viewer at most; more are refused (503, with Retry-After). Default 2.
	MaxExports int

	// ExportTimeout is the longest an export of all rows may run: past
	// it, the file ends with a row that says so. Default 15 minutes,
	// enough for a million rows (200 MB of CSV) over 2 Mbit/s.
	ExportTimeout time.Duration

	// Nav, when set, gives the links the page's header shows beside the
	// viewer's name: a way back to the host's dashboard, or an operator's
	// switch between the tenants they may view. It is called once for
	// each page an authorized viewer gets, error pages included. Optional.
	Nav func(r *http.Request, v Viewer) Nav
}

// Nav is the host's links in the page's header (see Options.Nav).
type Nav struct {
	Label string // what the links are, shown before them: "Viewing as"
	Links []Link
}

// Link is a link of a Nav.
type Link struct {
	Text string
	Href string // absolute, or relative to the Logs page
	// Current marks the link to what is shown now (aria-current), which
	// the page highlights.
	Current bool
}

//go:embed assets templates
var files embed.FS

// Handler is the Logs page. Create one with [New].
type Handler struct {
	store   apilog.Store
	opt     Options
	log     *slog.Logger
	page    *template.Template
	columns []apilog.Column // apilog.Columns as New found them: headers and cells agree
	plain   []apilog.Column // the columns whose cells are plain text (see addCells)
	assets  http.Handler
	version string // of the assets, a hash of their contents
	turns   *turns // MaxViewerQueries
	exports *exports
}

// New returns the Logs page of store.
func New(store apilog.Store, opts *Options) (*Handler, error) {
	if store == nil {
		return nil, errors.New("httpui: no store")
	}
	h := &Handler{store: store}
	if opts != nil {
		h.opt = *opts
	}
	if h.opt.Authorize != nil && h.opt.AllowUnauthenticated {
		return nil, errors.New("httpui: Options.Authorize and AllowUnauthenticated both set; choose one")
	}
	h.log = h.opt.Logger
	if h.log == nil {
		h.log = slog.Default()
	}
	if h.opt.Now == nil {
		h.opt.Now = time.Now
	}
	if h.opt.QueryTimeout <= 0 {
		h.opt.QueryTimeout = 5 * time.Second
	}
	if h.opt.MaxViewerQueries <= 0 {
		h.opt.MaxViewerQueries = 2
	}
	h.turns = newTurns(h.opt.MaxViewerQueries)
	if h.opt.ExportLimit == 0 {
		h.opt.ExportLimit = apilog.DefaultExportLimit
	}
	if h.opt.MaxExports <= 0 {
		h.opt.MaxExports = 2
	}
	if h.opt.ExportTimeout <= 0 {
		h.opt.ExportTimeout = 15 * time.Minute
	}
	h.exports = &exports{max: h.opt.MaxExports, running: map[Viewer]bool{}}
	var err error
	if h.page, err = template.New("page.html").Funcs(funcs).ParseFS(files, "templates/*.html"); err != nil {
		return nil, fmt.Errorf("httpui: templates: %w", err)
	}
	h.columns = slices.Clone(apilog.Columns)
	if h.plain, err = addCells(h.page, h.columns); err != nil {
		return nil, fmt.Errorf("httpui: templates: %w", err)
	}
	assets, err := fs.Sub(files, "assets")
	if err != nil {
		return nil, err
	}
	h.assets = http.StripPrefix("/assets/", http.FileServerFS(assets))
	sum := sha256.New()
	for _, name := range []string{"logs.css", "logs.js"} {
		b, err := fs.ReadFile(assets, name)
		if err != nil {
			return nil, err
		}
		sum.Write(b)
	}
	h.version = hex.EncodeToString(sum.Sum(nil))[:12]
	return h, nil
}

// csp allows the page's own script and stylesheet and nothing else: no
// inline script or style, no other origin, no framing.
const csp = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; " +
	"connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"

// ServeHTTP implements http.Handler.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	hdr := w.Header()
	hdr.Set("Content-Security-Policy", csp)
	hdr.Set("X-Content-Type-Options", "nosniff")
	hdr.Set("Referrer-Policy", "no-referrer")
	hdr.Set("X-Frame-Options", "DENY")

	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		hdr.Set("Allow", "GET, HEAD")
		h.fail(w, r, http.StatusMethodNotAllowed, "method "+r.Method+" is not allowed: the Logs page only reads")
		return
	}
	path := r.URL.Path
	if path == "" {
		// Mounted at /logs and asked for /logs: relative links need the
		// slash. The mount's path is only in the request line.
		u, err := url.ParseRequestURI(r.RequestURI)
		p := ""
		if err == nil {
			p = u.EscapedPath()
		}
		if !strings.HasPrefix(p, "/") || strings.HasPrefix(p, "//") || strings.HasPrefix(p, "/\\") {
			h.fail(w, r, http.StatusNotFound, "no such page")
			return
		}
		http.Redirect(w, r, p+"/"+queryOf(r), http.StatusFound)
		return
	}
	isAsset := strings.HasPrefix(path, "/assets/")
	if isAsset && h.opt.PublicAssets {
		h.serveAsset(w, r)
		return
	}
	viewer, status, msg := h.authorize(r)
	if status != 0 {
		h.fail(w, r, status, msg)
		return
	}
	switch {
	case isAsset:
		h.serveAsset(w, r)
	case path == "/":
		h.servePage(w, r, viewer)
	case path == "/rows":
		h.serveRows(w, r, viewer)
	case path == "/row":
		h.serveDetail(w, r, viewer)
	case path == "/api/logs":
		h.serveAPI(w, r, viewer)
	case path == "/api/volume":
		h.serveVolume(w, r, viewer)
	case path == "/export.csv":
		h.serveExport(w, r, viewer, apilog.CSV)
	case path == "/export.json":
		h.serveExport(w, r, viewer, apilog.JSON)
	case path == "/export-all.csv" && h.opt.ExportLimit > 0:
		h.serveExportAll(w, r, viewer, apilog.CSV)
	case path == "/export-all.json" && h.opt.ExportLimit > 0:
		h.serveExportAll(w, r, viewer, apilog.JSON)
	default:
		h.fail(w, r, http.StatusNotFound, "no such page")
	}
}

// queryOf is the request's query string with its "?", or "".
func queryOf(r *http.Request) string {
	if r.URL.RawQuery == "" {
		return ""
	}
	return "?" + r.URL.RawQuery
}

// authorize returns the request's viewer, or the status and message that
// refuse it.
func (h *Handler) authorize(r *http.Request) (Viewer, int, string) {
	switch {
	case h.opt.Authorize != nil:
		v, err := h.opt.Authorize(r)
		if errors.Is(err, ErrForbidden) {
			return Viewer{}, http.StatusForbidden, "you may not see these logs"
		}
		if err != nil {
			// Not a refusal: Authorize could not decide (its session store
			// is down, say). A 403 would make an outage look like a
			// refusal, and leave no trace.
			h.log.Error("httpui: Authorize failed", "err", err)
			return Viewer{}, http.StatusServiceUnavailable, "the Logs page could not check who you are; try again shortly"
		}
		if (v.Account == "") == !v.AllAccounts {
			h.log.Error("httpui: Authorize returned a viewer with neither or both of Account and AllAccounts")
			return Viewer{}, http.StatusForbidden, "you may not see these logs"
		}
		return v, 0, ""
	case h.opt.AllowUnauthenticated, FromLoopback(r):
		return Viewer{AllAccounts: true, Name: "operator"}, 0, ""
	}
	return Viewer{}, http.StatusForbidden, "the Logs page serves only this machine until the host sets httpui.Options.Authorize (or AllowUnauthenticated, when it guards the route itself)"
}

// FromLoopback reports whether r came from this machine directly and was
// addressed to it: the rule by which a handler without Authorize serves
// loopback clients, for an Authorize that wants it too. A request a proxy
// on this machine forwarded is not: its forwarding headers show it. Nor is
// one whose Host names another site: a web page can point its own name at
// 127.0.0.1 (DNS rebinding) and have the browser send it here. A proxy on
// this machine that adds no forwarding headers cannot be told from a local
// client: set Authorize.
func FromLoopback(r *http.Request) bool {
	ap, err := netip.ParseAddrPort(r.RemoteAddr)
	if err != nil || !ap.Addr().Unmap().IsLoopback() {
		return false
	}
	for name := range r.Header {
		if forwarded(name) {
			return false
		}
	}
	host := r.Host
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	host = strings.TrimSuffix(strings.ToLower(host), ".")
	if host == "localhost" || strings.HasSuffix(host, ".localhost") {
		return true
	}
	addr, err := netip.ParseAddr(strings.Trim(host, "[]"))
	return err == nil && addr.Unmap().IsLoopback()
}

// proxyHeaders are the headers, besides every X-Forwarded-* and
// X-Original-*, by which a proxy or CDN says it forwarded a request, in
// their canonical form.
var proxyHeaders = map[string]bool{
	"Forwarded": true, "Via": true, "X-Real-Ip": true,
	"True-Client-Ip": true, "Cf-Connecting-Ip": true, "X-Client-Ip": true,
	"X-Cluster-Client-Ip": true, "Fastly-Client-Ip": true, "X-Envoy-External-Address": true,
	"X-Proxyuser-Ip": true, "X-Azure-Clientip": true, "X-Appengine-User-Ip": true,
}

// forwarded reports whether the canonical header name says a proxy
// forwarded the request.
func forwarded(name string) bool {
	return proxyHeaders[name] || strings.HasPrefix(name, "X-Forwarded-") || strings.HasPrefix(name, "X-Original-")
}

func (h *Handler) serveAsset(w http.ResponseWriter, r *http.Request) {
	if strings.HasSuffix(r.URL.Path, "/") {
		h.fail(w, r, http.StatusNotFound, "no such page") // no directory listings
		return
	}
	// The page links assets with their content's hash (?v=), so a new
	// version is a new URL and an old one can be kept for good.
	if r.URL.Query().Get("v") == h.version {
		w.Header().Set("Cache-Control", "public, max-age=31536000, immutable")
	} else {
		w.Header().Set("Cache-Control", "no-cache")
	}
	h.assets.ServeHTTP(w, r)
}

// fail answers an error: JSON for the API and exports, the page's error
// state for the page, text otherwise. msg is shown as is: never an
// internal error's text.
func (h *Handler) fail(w http.ResponseWriter, r *http.Request, status int, msg string) {
	h.failParam(w, r, nil, status, msg, nil)
}

// apiError is the JSON body of an error. Param names the URL parameter a
// 400 is about, so that a client can point at it without reading msg, and
// Message says what is wrong with it, for a page that shows it beside
// that parameter's field.
type apiError struct {
	Error   string       `json:"error"`
	Param   apilog.Param `json:"param,omitempty"`
	Message string       `json:"message,omitempty"`
}

// failParam is fail for an error about a URL parameter (bad, or nil for
// none), for viewer when the request is authorized (nil before), whose
// error page keeps the header: the name, the host's way back.
func (h *Handler) failParam(w http.ResponseWriter, r *http.Request, viewer *Viewer, status int, msg string, bad *apilog.QueryError) {
	w.Header().Set("Cache-Control", "no-store")
	switch p := r.URL.Path; {
	case (strings.HasPrefix(p, "/export.") || strings.HasPrefix(p, "/export-all.")) && navigation(r):
		// The export buttons submit a form: an error is a page in its
		// place, so it must read as one.
		d := &pageData{Error: msg, Title: "Export"}
		if viewer != nil {
			d.Viewer, d.Nav = *viewer, h.nav(r, *viewer)
		}
		h.renderPage(w, r, status, d)
	case p == "/rows" || p == "/row" || strings.HasPrefix(p, "/api/") || strings.HasPrefix(p, "/export.") || strings.HasPrefix(p, "/export-all."):
		e := apiError{Error: msg}
		if bad != nil {
			e.Param, e.Message = bad.Param, bad.Message
		}
		writeJSON(w, r, status, e)
	case p == "/":
		d := &pageData{Error: msg, Title: "Logs"}
		if viewer != nil {
			d.Viewer, d.Nav = *viewer, h.nav(r, *viewer)
		}
		h.renderPage(w, r, status, d)
	default:
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.WriteHeader(status)
		fmt.Fprintln(w, msg)
	}
}

// navigation reports whether r is a browser's navigation to a page (a
// form submitted, a link followed) rather than a script's request.
func navigation(r *http.Request) bool {
	if dest := r.Header.Get("Sec-Fetch-Dest"); dest != "" {
		return dest == "document"
	}
	return strings.Contains(r.Header.Get("Accept"), "text/html")
}

// paramLabels are the names a person knows the URL parameters by, for
// the messages of 400s: "Search (q): unterminated quote (at character 12)".
var paramLabels = map[apilog.Param]string{
	apilog.ParamSearch: "Search", apilog.ParamStatus: "Status class", apilog.ParamMethod: "Method",
	apilog.ParamKey: "Key", paramRange: "Time range", apilog.ParamFrom: "From", apilog.ParamTo: "To",
	apilog.ParamSort: "Sort column", apilog.ParamDir: "Sort direction", apilog.ParamPage: "Page",
	apilog.ParamPageSize: "Page size", apilog.ParamMaxID: "Pinned rows", paramAsOf: "Time range anchor",
	paramID: "Selection", apilog.ParamFormat: "Format", apilog.ParamAccount: "Account", paramSlow: "Slow filter",
	paramLive: "Live", paramSince: "Live bound", paramRow: "Request", paramAt: "Request time",
}

// nav is the host's links for the page of v (Options.Nav), if any.
func (h *Handler) nav(r *http.Request, v Viewer) Nav {
	if h.opt.Nav == nil {
		return Nav{}
	}
	return h.opt.Nav(r, v)
}

// queryFailed answers a failed query: a bad parameter names itself, and a
// store error is logged and reported without its detail.
func (h *Handler) queryFailed(w http.ResponseWriter, r *http.Request, viewer Viewer, err error) {
	var bad *apilog.QueryError
	var badURL *urlError
	switch {
	case errors.As(err, &badURL):
		h.failParam(w, r, &viewer, badURL.status, badURL.msg, nil)
	case errors.As(err, &bad):
		// The message is written for the person who typed the value, and
		// the parameter comes as a value: nothing to cut out of a
		// wrapped error's text.
		msg := string(bad.Param) + ": " + bad.Message
		if label := paramLabels[bad.Param]; label != "" {
			msg = label + " (" + string(bad.Param) + "): " + bad.Message
		}
		h.failParam(w, r, &viewer, http.StatusBadRequest, msg, bad)
	case r.Context().Err() != nil:
		// The client left.
	case errors.Is(err, apilog.ErrTimeout), errors.Is(err, context.DeadlineExceeded):
		// Trying again would take as long: say what answers sooner.
		w.Header().Set("Retry-After", strconv.Itoa(max(1, int(h.opt.QueryTimeout.Round(time.Second)/time.Second))))
		h.failParam(w, r, &viewer, http.StatusServiceUnavailable, "this search took too long and was stopped: narrow it (a time range, a status, longer or fewer terms) and try again", nil)
	default:
		h.log.Error("httpui: query failed", "err", err)
		h.failParam(w, r, &viewer, http.StatusInternalServerError, "the logs could not be read; try again, and tell the operator if it persists", nil)
	}
}

// parse returns the request's view and its query.
func (h *Handler) parse(r *http.Request, viewer Viewer) (view, apilog.Query, error) {
	params, err := parseQuery(r.URL.RawQuery)
	if err != nil {
		return view{}, apilog.Query{}, err
	}
	v, err := parseView(params)
	if err != nil {
		return v, apilog.Query{}, err
	}
	v.at = h.opt.Now()
	if !v.AsOf.IsZero() {
		// The moment the view's first page was read: its relative range
		// ends there, and key statuses are as they were shown, whatever
		// this server's clock says (another instance's may be behind).
		v.at = v.AsOf
	}
	q, err := v.query(viewer, h.opt.Hasher, v.at)
	v.search = q.Search
	return v, q, err
}

// load parses the request's view and runs its query.
func (h *Handler) load(r *http.Request, viewer Viewer) (view, apilog.Page, error) {
	v, q, err := h.parse(r, viewer)
	if err != nil {
		return v, apilog.Page{}, err
	}
	p, err := h.query(r, viewer, q)
	return v, p, err
}

// query runs q for viewer within the request's budget: QueryTimeout and
// one of the viewer's turns.
func (h *Handler) query(r *http.Request, viewer Viewer, q apilog.Query) (apilog.Page, error) {
	var p apilog.Page
	err := h.within(r, viewer, func(ctx context.Context) (err error) {
		p, err = h.store.Query(ctx, q)
		return err
	})
	return p, err
}

// within runs f for viewer within the request's budget: QueryTimeout,
// which f's ctx carries, and one of the viewer's turns.
func (h *Handler) within(r *http.Request, viewer Viewer, f func(ctx context.Context) error) error {
	ctx, cancel := context.WithTimeout(r.Context(), h.opt.QueryTimeout)
	defer cancel()
	done, err := h.turns.take(ctx, viewer)
	if err != nil {
		return err
	}
	defer done()
	return f(ctx)
}

func writeJSON(w http.ResponseWriter, r *http.Request, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	out, end := compress(w, r)
	defer end()
	w.WriteHeader(status)
	enc := json.NewEncoder(out)
	enc.SetEscapeHTML(true)
	_ = enc.Encode(v) // the client is gone if this fails
}

// compress returns where to write the body of the response to r: w, or a
// gzip writer over it when r accepts gzip (a page of 500 rows as JSON is
// several times smaller), setting the headers that say so; end finishes
// the body. Call it before the status is written.
func compress(w http.ResponseWriter, r *http.Request) (out io.Writer, end func()) {
	w.Header().Set("Vary", "Accept-Encoding")
	if !acceptsGzip(r.Header.Get("Accept-Encoding")) {
		return w, func() {}
	}
	w.Header().Set("Content-Encoding", "gzip")
	gz, _ := gzip.NewWriterLevel(w, gzip.BestSpeed)
	return gz, func() { gz.Close() }
}

// turns lets each viewer run a few queries at once.
type turns struct {
	max  int
	mu   sync.Mutex
	busy map[Viewer]*viewerTurns // the viewers with a query running or waiting
}

type viewerTurns struct {
	slots chan struct{}
	users int // queries running or waiting
}

func newTurns(max int) *turns { return &turns{max: max, busy: map[Viewer]*viewerTurns{}} }

// take waits for one of v's turns, until ctx ends, and returns the func
// that gives it back.
func (t *turns) take(ctx context.Context, v Viewer) (func(), error) {
	t.mu.Lock()
	vt := t.busy[v]
	if vt == nil {
		vt = &viewerTurns{slots: make(chan struct{}, t.max)}
		t.busy[v] = vt
	}
	vt.users++
	t.mu.Unlock()
	leave := func() {
		t.mu.Lock()
		if vt.users--; vt.users == 0 {
			delete(t.busy, v)
		}
		t.mu.Unlock()
	}
	select {
	case vt.slots <- struct{}{}:
		return func() { <-vt.slots; leave() }, nil
	case <-ctx.Done():
		leave()
		return nil, ctx.Err()
	}
}
