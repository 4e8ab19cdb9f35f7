// Command demo runs a small fake image-generation API guarded by API keys,
// records every request to it with apilog, and serves the Logs page at
// /logs. On first start it records a week of history (a daily rhythm and
// one incident); then a traffic generator calls the API over HTTP so the
// page fills as you watch. A switch at the top of the page shows the page
// as either tenant's viewer (/logs/babysea/, /logs/pixelforge/), or as an
// operator of both (/logs/operator/).
//
//	go run ./examples/demo
//
// Its files (the SQLite log and the IP hash secret) are kept in the user's
// cache directory, apilog-demo, unless -db names a file; it says where.
// The Logs page serves only this machine, unless -allow-remote lets other
// machines in with a password it prints.
//
// With a PostgreSQL URL for -db, several demos share one log, as the
// instances of a real API do: each records its own traffic into the one
// database, and the Logs page of any of them shows every instance's rows.
// They hash client addresses under the one secret they are given in
// APILOG_IP_SECRET.
//
//	export APILOG_IP_SECRET=$(head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n')
//	go run ./examples/demo -db postgres://127.0.0.1:5432/test
//	go run ./examples/demo -db postgres://127.0.0.1:5432/test -addr localhost:8081 -prefill 0 -seed 2
package main

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	mrand "math/rand/v2"
	"net"
	"net/http"
	"net/netip"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/apilog/apilog"
	"github.com/apilog/apilog/httpui"
	"github.com/apilog/apilog/pgstore"
	"github.com/apilog/apilog/sqlitestore"
)

// The two tenants, each with its keys and traffic.
const (
	mainAccount  = "acct_babysea"
	otherAccount = "acct_pixelforge"
)

// demoKey is an API key: its secret is what a client sends; the store only
// ever sees its ID, name and prefix.
type demoKey struct {
	secret string
	key    apilog.Key
}

func keys(now time.Time) []demoKey {
	day := 24 * time.Hour
	k := func(secret, id, account, name string, mod func(*apilog.Key)) demoKey {
		key := apilog.Key{ID: id, Account: account, Name: name, Prefix: secret[:8], CreatedAt: now.Add(-90 * day)}
		if mod != nil {
			mod(&key)
		}
		return demoKey{secret: secret, key: key}
	}
	return []demoKey{
		k("bye_AB12live000000000000", "key_prod", mainAccount, "production-api", nil),
		k("bye_CD34rotated0000000000", "key_prod_old", mainAccount, "production-api (old)", func(k *apilog.Key) { k.RotatedAt = now.Add(-20 * day) }),
		k("bye_EF56trial00000000000", "key_trial", mainAccount, "trial-key", func(k *apilog.Key) { k.ExpiresAt = now.Add(-3 * day) }),
		k("bye_GH78leaked0000000000", "key_leaked", mainAccount, "ci-runner", func(k *apilog.Key) { k.RevokedAt = now.Add(-2 * day) }),
		k("bye_PX01pixel00000000000", "key_px_web", otherAccount, "web-frontend", nil),
		k("bye_PX02batch00000000000", "key_px_batch", otherAccount, "batch-jobs", func(k *apilog.Key) { k.Inactive = true }),
	}
}

// config is the demo's flags.
type config struct {
	addr        string
	db          string // a SQLite file, or a PostgreSQL URL (see isPostgres); "" for demo.db in demoDir
	schema      string // PostgreSQL only
	rate        float64
	prefill     int
	seed        uint64
	allowRemote bool
}

func main() {
	var c config
	flag.StringVar(&c.addr, "addr", "localhost:8080", "address to listen on; localhost serves only this machine")
	flag.StringVar(&c.db, "db", "", "SQLite database file, kept for the next start (default demo.db in the demo's folder); or a PostgreSQL URL (postgres://...), which several demos can share")
	// Not pgstore's default (apilog), so that the demo's made-up tenants
	// stay out of the schema a real server's log would use.
	flag.StringVar(&c.schema, "schema", "apilog_demo", "PostgreSQL schema that holds the log, with a PostgreSQL -db")
	flag.Float64Var(&c.rate, "rate", 5, "API requests per second from the traffic generator; 0 for none")
	flag.IntVar(&c.prefill, "prefill", 30000, "requests of history to record when the log is empty")
	flag.Uint64Var(&c.seed, "seed", 1, "seed of the traffic")
	flag.BoolVar(&c.allowRemote, "allow-remote", false, "serve the Logs page to other machines too, behind a password printed at start (use with -addr :8080)")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, c, os.Stdout); err != nil {
		log.Fatal(err)
	}
}

func run(ctx context.Context, c config, out io.Writer) error {
	if c.db == "" {
		dir := demoDir()
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return err
		}
		c.db = filepath.Join(dir, "demo.db")
		fmt.Fprintf(out, "demo files: %s (delete the folder to start afresh)\n", dir)
	}
	// The secret first: a demo that cannot share it stops before it
	// writes anything.
	secret, secretFrom, err := ipSecret(c.db)
	if err != nil {
		return err
	}
	hasher, err := apilog.NewIPHasher(secret)
	if err != nil {
		return err
	}
	store, where, err := openStore(ctx, c.db, c.schema)
	if err != nil {
		return err
	}
	defer store.Close()
	fmt.Fprintf(out, "store: %s; IP hash secret: %s\n", where, secretFrom)
	// The port before the history: a port in use stops the demo at once.
	ln, err := net.Listen("tcp", c.addr)
	if err != nil {
		return err
	}
	defer ln.Close()
	listen := ln.Addr().(*net.TCPAddr)
	if !listen.IP.IsLoopback() && !listen.IP.IsUnspecified() && !c.allowRemote {
		// Even this machine's visitors come from that address, not
		// loopback, so without a password no one could see the page.
		return fmt.Errorf("-addr %s: the Logs page serves only loopback visitors, and none reach this address; "+
			"use -addr localhost:%d, or add -allow-remote to sign in with a password", c.addr, listen.Port)
	}
	now := time.Now()
	demoKeys := keys(now)
	for _, k := range demoKeys {
		if err := store.UpsertKey(ctx, k.key); err != nil {
			return err
		}
	}
	// Block rather than drop, so the prefill keeps every row.
	rec := apilog.NewRecorder(store, &apilog.RecorderOptions{BlockTimeout: 5 * time.Second})
	api := newAPI(demoKeys, wallClock, incident{}, c.seed+2)
	// The generator speaks through a proxy on this machine, which says who
	// the client was in X-Forwarded-For.
	mwOpts := apilog.MiddlewareOptions{
		Hasher:         hasher,
		TrustedProxies: []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8"), netip.MustParsePrefix("::1/128")},
	}
	if a, ok := netip.AddrFromSlice(listen.IP); ok && !a.IsUnspecified() && !a.IsLoopback() {
		// The generator calls this address, and comes from it.
		mwOpts.TrustedProxies = append(mwOpts.TrustedProxies, netip.PrefixFrom(a.Unmap(), a.Unmap().BitLen()))
	}

	empty, err := store.Query(ctx, apilog.Query{Account: mainAccount, PageSize: 1})
	if err != nil {
		return err
	}
	if empty.TotalRows == 0 && c.prefill > 0 {
		fmt.Fprintf(out, "recording a week of history: %d requests...\n", c.prefill)
		start := time.Now()
		if err := record(ctx, rec, mwOpts, now, c.prefill, c.seed); err != nil {
			if ctx.Err() == nil {
				return err
			}
			// Ctrl-C: keep what was recorded, and say that a new start
			// will not record the rest.
			cerr := rec.Close(context.Background())
			fmt.Fprintf(out, "stopped while recording the history: a new start keeps the part recorded (%s); start afresh for a whole week\n", where)
			return cerr
		}
		fmt.Fprintf(out, "recorded %d requests of history in %v\n", c.prefill, time.Since(start).Round(time.Millisecond))
	}

	logs, err := logsPages(store, hasher)
	if err != nil {
		return err
	}
	var password string
	if c.allowRemote {
		password = newPassword()
	}
	mux := http.NewServeMux()
	mux.Handle("/v1/", apilog.Middleware(rec, &mwOpts)(api))
	mux.Handle("/logs/", guard(password, http.StripPrefix("/logs", logs)))
	mux.Handle("/{$}", http.RedirectHandler("/logs/", http.StatusFound))
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	local, remote := urls(listen)
	fmt.Fprintf(out, "\nLogs page: %s/logs/\n", local)
	switch {
	case remote != "" && password != "":
		fmt.Fprintf(out, "from other machines: %s/logs/ (user %s, password %s)\n", remote, demoUser, password)
	case remote != "":
		fmt.Fprintf(out, "other machines are refused the Logs page: add -allow-remote for a password\n")
	case password != "":
		fmt.Fprintf(out, "-allow-remote: listening on %s, which other machines cannot reach; use -addr :%d\n", listen, listen.Port)
	}
	fmt.Fprintf(out, "the switch at the top of the page shows another tenant's view, or every tenant's; tick Live to watch requests arrive; Ctrl-C stops the demo\n\n")

	var wg sync.WaitGroup
	genCtx, stopGen := context.WithCancel(ctx)
	if c.rate > 0 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			generate(genCtx, local, demoKeys, c.rate, c.seed+1)
		}()
	}
	serveErr := make(chan error, 1)
	go func() { serveErr <- srv.Serve(ln) }()
	select {
	case <-ctx.Done():
	case err := <-serveErr:
		stopGen()
		return err
	}
	fmt.Fprintln(out, "shutting down")
	stopGen()
	wg.Wait()
	shutdown, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutdown); err != nil {
		return err
	}
	// Every request recorded so far is written before the store closes.
	if err := rec.Close(shutdown); err != nil {
		return err
	}
	st := rec.Stats()
	fmt.Fprintf(out, "recorded %d requests this run: %d written, %d dropped, %d failed\n", st.Recorded, st.Written, st.Dropped, st.Failed)
	return nil
}

// demoDir is the folder of the demo's own files when -db is not given:
// the user's cache directory, out of any repository, where the next start
// finds them.
func demoDir() string {
	base, err := os.UserCacheDir()
	if err != nil {
		base = os.TempDir()
	}
	return filepath.Join(base, "apilog-demo")
}

// urls returns the base URL of the demo as this machine reaches it, and,
// when it listens on every interface, as other machines do ("" when it
// listens on loopback only).
func urls(addr *net.TCPAddr) (local, remote string) {
	port := strconv.Itoa(addr.Port)
	switch {
	case addr.IP.IsLoopback():
		return "http://" + net.JoinHostPort(addr.IP.String(), port), ""
	case addr.IP.IsUnspecified():
		// An address of this machine's network (a VM's, a container's)
		// reaches it more often than its name does.
		host, err := os.Hostname()
		if err != nil {
			host = "this-machine"
		}
		if addrs, err := net.InterfaceAddrs(); err == nil {
			for _, a := range addrs {
				if ipn, ok := a.(*net.IPNet); ok && ipn.IP.To4() != nil && ipn.IP.IsGlobalUnicast() {
					host = ipn.IP.String()
					break
				}
			}
		}
		return "http://localhost:" + port, "http://" + net.JoinHostPort(host, port)
	}
	u := "http://" + net.JoinHostPort(addr.IP.String(), port)
	return u, u
}

// isPostgres reports whether -db names a PostgreSQL database rather than a
// SQLite file.
func isPostgres(db string) bool {
	return strings.HasPrefix(db, "postgres://") || strings.HasPrefix(db, "postgresql://")
}

// openStore opens the store -db names, and says which it is (never the
// URL, which may hold a password).
func openStore(ctx context.Context, db, schema string) (apilog.Store, string, error) {
	if isPostgres(db) {
		s, err := pgstore.Open(ctx, db, &pgstore.Options{Schema: schema})
		if err != nil {
			return nil, "", err
		}
		return s, "PostgreSQL, schema " + schema, nil
	}
	s, err := sqlitestore.Open(db, nil)
	if errors.Is(err, sqlitestore.ErrInUse) {
		return nil, "", fmt.Errorf("%w; is another demo running? Stop it, or give this one a database of its own: -db other.db -addr localhost:8081", err)
	}
	if err != nil {
		return nil, "", err
	}
	return s, "SQLite, " + db, nil
}

// secretEnv holds the IP hash secret in hex, when the demo is given one.
const secretEnv = "APILOG_IP_SECRET"

// ipSecret returns the IP hash secret and where it came from: secretEnv
// when set, else, with SQLite, a file beside the database, made on first
// use. One address hashes the same only under one secret: across restarts,
// and across all the instances that record into one PostgreSQL database,
// or a search for ip:203.0.113.7 finds only some of its rows. A secret the
// demo made up, a second instance could not know, so with PostgreSQL it
// makes none.
func ipSecret(db string) (secret []byte, from string, err error) {
	if v := os.Getenv(secretEnv); v != "" {
		s, err := hex.DecodeString(strings.TrimSpace(v))
		if err != nil || len(s) < apilog.MinIPHashSecret {
			return nil, "", fmt.Errorf("%s: want at least %d random bytes in hex", secretEnv, apilog.MinIPHashSecret)
		}
		return s, secretEnv, nil
	}
	if isPostgres(db) {
		return nil, "", fmt.Errorf("with a PostgreSQL -db, set %[1]s, the same for every instance, so that they hash client addresses alike: "+
			"export %[1]s=$(head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \\n')", secretEnv)
	}
	path := db + ".secret"
	if b, err := os.ReadFile(path); err == nil {
		if s, err := hex.DecodeString(strings.TrimSpace(string(b))); err == nil && len(s) >= apilog.MinIPHashSecret {
			return s, path, nil
		}
	}
	s := make([]byte, 32)
	rand.Read(s)
	if err := os.WriteFile(path, []byte(hex.EncodeToString(s)+"\n"), 0o600); err != nil {
		log.Printf("keeping the IP hash secret in %s: %v", filepath.Base(path), err)
	}
	return s, path, nil
}

// The demo's viewers: each tenant's, and an operator who sees every
// tenant's rows. Each has a Logs page of its own, under /logs/<path>/, so
// that two tabs can show two viewers, and the switch at the top of the
// page links to each. A real server takes the viewer from its login.
var viewers = []struct {
	path, label string
	viewer      httpui.Viewer
}{
	{"babysea", "BabySea", httpui.Viewer{Account: mainAccount, Name: "you@babysea.example"}},
	{"pixelforge", "PixelForge", httpui.Viewer{Account: otherAccount, Name: "ops@pixelforge.example"}},
	{"operator", "Operator (all accounts)", httpui.Viewer{AllAccounts: true, Name: "operator@apilog.example"}},
}

// logsPages returns the Logs pages of the demo's viewers, each under
// /<path>/, and a redirect from / to the first.
func logsPages(store apilog.Store, hasher apilog.IPHasher) (http.Handler, error) {
	mux := http.NewServeMux()
	for _, v := range viewers {
		h, err := httpui.New(store, &httpui.Options{
			Authorize: func(*http.Request) (httpui.Viewer, error) { return v.viewer, nil },
			Nav:       func(*http.Request, httpui.Viewer) httpui.Nav { return viewingAs(v.path) },
			Hasher:    hasher,
		})
		if err != nil {
			return nil, err
		}
		mux.Handle("/"+v.path+"/", http.StripPrefix("/"+v.path, h))
	}
	mux.HandleFunc("/{$}", func(w http.ResponseWriter, r *http.Request) {
		// Relative, to whatever prefix the pages are under
		// (http.Redirect would resolve it against the stripped path).
		w.Header().Set("Location", viewers[0].path+"/")
		w.WriteHeader(http.StatusFound)
	})
	return mux, nil
}

// viewingAs is the switch between the demo's viewers, at the top of the
// page of the viewer at path.
func viewingAs(path string) httpui.Nav {
	nav := httpui.Nav{Label: "Viewing as"}
	for _, v := range viewers {
		// Relative: the page is at /logs/<path>/, whatever the host.
		nav.Links = append(nav.Links, httpui.Link{Text: v.label, Href: "../" + v.path + "/", Current: v.path == path})
	}
	return nav
}

// demoUser is the user name other machines sign in with, with -allow-remote.
const demoUser = "demo"

// newPassword returns a password for other machines, new on every start.
func newPassword() string {
	b := make([]byte, 9)
	rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// guard lets visitors on this machine see the Logs page (httpui's rule
// for a page without Authorize) and, when password is set
// (-allow-remote), visitors who give it; it tells everyone else why not
// and what to do. The demo needs it because its Authorize lets a visitor
// choose whose logs to see.
func guard(password string, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if httpui.FromLoopback(r) {
			next.ServeHTTP(w, r)
			return
		}
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		// From this machine by another name: a web page elsewhere that
		// pointed its name at this machine (DNS rebinding) gets no
		// password prompt to phish with.
		if password != "" && !fromLoopbackAddr(r) {
			user, pass, ok := r.BasicAuth()
			if ok && subtle.ConstantTimeCompare([]byte(user), []byte(demoUser)) == 1 && subtle.ConstantTimeCompare([]byte(pass), []byte(password)) == 1 {
				next.ServeHTTP(w, r)
				return
			}
			w.Header().Set("WWW-Authenticate", `Basic realm="apilog demo", charset="UTF-8"`)
			w.WriteHeader(http.StatusUnauthorized)
			fmt.Fprintf(w, "This demo asks visitors from other machines for the password it printed when it started (user %s).\n", demoUser)
			return
		}
		port := "8080"
		if a, ok := r.Context().Value(http.LocalAddrContextKey).(*net.TCPAddr); ok {
			port = strconv.Itoa(a.Port)
		}
		w.WriteHeader(http.StatusForbidden)
		fmt.Fprintf(w, "This demo shows its Logs page only on the machine it runs on, at http://localhost:%[1]s/logs/,\n"+
			"and this request came from elsewhere (another machine, a proxy, or a name other than localhost).\n\n"+
			"To open it to other machines, restart it with -allow-remote -addr :%[1]s: it prints a password to sign in with.\n"+
			"Or reach it through an SSH tunnel: ssh -L %[1]s:localhost:%[1]s <the demo's machine>, then open http://localhost:%[1]s/logs/.\n", port)
	})
}

// fromLoopbackAddr reports whether r came over a loopback connection,
// whatever its Host says.
func fromLoopbackAddr(r *http.Request) bool {
	ap, err := netip.ParseAddrPort(r.RemoteAddr)
	return err == nil && ap.Addr().Unmap().IsLoopback()
}

// sleep waits d, or until the request is gone: the API's work.
func sleep(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}

// latency is how long the fake API works on a request, so that the
// Duration column tells a story: generations take seconds, a few are slow,
// reads take milliseconds and refusals less. intn is a seeded source.
func latency(r *http.Request, status int, intn func(int) int) time.Duration {
	ms := func(lo, hi int) time.Duration { return time.Duration(lo+intn(hi-lo+1)) * time.Millisecond }
	switch {
	case status >= 400 && status < 500:
		return ms(1, 8)
	case status >= 500:
		return ms(2000, 9000) // a timeout upstream
	case r.Method == http.MethodPost:
		if intn(20) == 0 {
			return ms(6000, 15000)
		}
		return ms(700, 4500)
	}
	return ms(8, 120)
}

// clock is the fake API's time: the wall clock when it serves, a clock of
// its own while it records history.
type clock struct {
	now  func() time.Time
	wait func(context.Context, time.Duration) // works for a while
}

// wallClock is the real time.
var wallClock = clock{now: time.Now, wait: sleep}

// newAPI is the fake image-generation API, with its own key check. It
// works on each request for its latency, on clk; its generations fail
// during in; seed makes the latencies the same on every run.
func newAPI(ks []demoKey, clk clock, in incident, seed uint64) http.Handler {
	var mu sync.Mutex // handlers run at once; a rand.Rand is not safe for that
	rng := mrand.New(mrand.NewPCG(seed, 11))
	intn := func(n int) int {
		mu.Lock()
		defer mu.Unlock()
		return rng.IntN(n)
	}
	bySecret := map[string]apilog.Key{}
	for _, k := range ks {
		bySecret[k.secret] = k.key
	}
	fail := func(w http.ResponseWriter, r *http.Request, status int, code, msg string) {
		clk.wait(r.Context(), latency(r, status, intn))
		apilog.SetErrorCode(r.Context(), code)
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		json.NewEncoder(w).Encode(map[string]string{"error": code, "message": msg, "request_id": apilog.RequestID(r.Context())})
	}
	ok := func(w http.ResponseWriter, r *http.Request, status int, v any) {
		clk.wait(r.Context(), latency(r, status, intn))
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		json.NewEncoder(w).Encode(v)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /v1/generate/image/{model}", func(w http.ResponseWriter, r *http.Request) {
		var body struct{ Prompt string }
		json.NewDecoder(io.LimitReader(r.Body, 1<<16)).Decode(&body)
		switch {
		case r.PathValue("model") == "sd-legacy":
			fail(w, r, http.StatusNotFound, "BSE4041", "no such model")
		case body.Prompt == "":
			fail(w, r, http.StatusBadRequest, "BSE4006", "prompt is required")
		case in.during(clk.now()):
			fail(w, r, http.StatusServiceUnavailable, incidentCode, "the GPU pool is down; retry later")
		case strings.Contains(body.Prompt, "overload"):
			fail(w, r, http.StatusServiceUnavailable, "BSE5030", "all GPUs are busy; retry")
		case strings.Contains(body.Prompt, "crash"):
			fail(w, r, http.StatusInternalServerError, "BSE5000", "internal error")
		default:
			sum := sha256.Sum256([]byte(body.Prompt))
			ok(w, r, http.StatusCreated, map[string]string{"id": "img_" + hex.EncodeToString(sum[:4])})
		}
	})
	mux.HandleFunc("GET /v1/generate/image/{id}", func(w http.ResponseWriter, r *http.Request) {
		if strings.HasPrefix(r.PathValue("id"), "img_") {
			ok(w, r, http.StatusOK, map[string]string{"id": r.PathValue("id"), "status": "done"})
			return
		}
		fail(w, r, http.StatusNotFound, "BSE4040", "no such image")
	})
	mux.HandleFunc("GET /v1/images/latest", func(w http.ResponseWriter, r *http.Request) {
		clk.wait(r.Context(), latency(r, http.StatusFound, intn))
		http.Redirect(w, r, "/v1/generate/image/img_latest", http.StatusFound)
	})
	mux.HandleFunc("GET /v1/models", func(w http.ResponseWriter, r *http.Request) {
		ok(w, r, http.StatusOK, []string{"flux-pro", "flux-schnell", "sdxl"})
	})
	mux.HandleFunc("DELETE /v1/keys/{id}", func(w http.ResponseWriter, r *http.Request) {
		fail(w, r, http.StatusForbidden, "BSE4030", "keys are deleted from the dashboard")
	})
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		key, found := bySecret[strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")]
		if !found {
			fail(w, r, http.StatusUnauthorized, "BSE4010", "invalid API key")
			return
		}
		apilog.SetKey(r.Context(), key.ID, key.Account) // the ID, never the secret
		switch key.Status(clk.now()) {
		case apilog.KeyExpired:
			fail(w, r, http.StatusUnauthorized, "BSE4012", "API key expired")
			return
		case apilog.KeyRevoked:
			fail(w, r, http.StatusUnauthorized, "BSE4011", "API key revoked")
			return
		}
		mux.ServeHTTP(w, r)
	})
}

// call is one request a client makes.
type call struct {
	method, path, secret, body, client string
}

// nextCall picks a realistic request: mostly generations and polls by the
// live keys, some mistakes, some old or leaked keys still in use.
func nextCall(rng *mrand.Rand, ks []demoKey) call {
	var pick demoKey
	switch x := rng.IntN(100); {
	case x < 55:
		pick = ks[0]
	case x < 65:
		pick = ks[1]
	case x < 70:
		pick = ks[2]
	case x < 74:
		pick = ks[3]
	default:
		pick = ks[4+rng.IntN(len(ks)-4)]
	}
	c := call{secret: pick.secret, client: fmt.Sprintf("203.0.113.%d", 1+rng.IntN(40))}
	if pick.key.Account == otherAccount {
		c.client = fmt.Sprintf("198.51.100.%d", 1+rng.IntN(20))
	}
	models := []string{"flux-pro", "flux-schnell", "sdxl", "sd-legacy"}
	prompts := []string{"a lighthouse at dawn", "a cat in a spacesuit", "", "overload test", "crash me", "watercolor city"}
	switch x := rng.IntN(100); {
	case x < 45:
		p := prompts[rng.IntN(len(prompts))]
		if rng.IntN(4) != 0 && p != "" {
			p = prompts[rng.IntN(2)] // most prompts are fine
		}
		c.method, c.path, c.body = "POST", "/v1/generate/image/"+models[rng.IntN(len(models))], fmt.Sprintf(`{"prompt":%q}`, p)
	case x < 70:
		id := "img_" + fmt.Sprintf("%08x", rng.Uint32())
		if rng.IntN(10) == 0 {
			id = "unknown"
		}
		c.method, c.path = "GET", "/v1/generate/image/"+id
	case x < 85:
		c.method, c.path = "GET", "/v1/models"
	case x < 93:
		c.method, c.path = "GET", "/v1/images/latest"
	case x < 97:
		c.method, c.path = "DELETE", "/v1/keys/"+pick.key.ID
	default:
		c.method, c.path, c.secret = "GET", "/v1/models", "bye_WRONG000000000000000"
	}
	return c
}

func (c call) request(base string) *http.Request {
	var body io.Reader
	if c.body != "" {
		body = strings.NewReader(c.body)
	}
	r, _ := http.NewRequest(c.method, base+c.path, body)
	r.Header.Set("Authorization", "Bearer "+c.secret)
	r.Header.Set("X-Forwarded-For", c.client)
	return r
}

// generate calls the API over HTTP at rate requests a second until ctx
// ends, each call on its own goroutine: a generation takes seconds.
func generate(ctx context.Context, base string, ks []demoKey, rate float64, seed uint64) {
	rng := mrand.New(mrand.NewPCG(seed, 9))
	client := &http.Client{Timeout: 30 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	tick := time.NewTicker(time.Duration(float64(time.Second) / rate))
	defer tick.Stop()
	var calls sync.WaitGroup
	defer calls.Wait()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		req := nextCall(rng, ks).request(base).WithContext(ctx)
		calls.Go(func() {
			resp, err := client.Do(req)
			if err != nil {
				if !errors.Is(err, context.Canceled) {
					log.Printf("traffic: %v", err)
				}
				return
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
		})
	}
}
