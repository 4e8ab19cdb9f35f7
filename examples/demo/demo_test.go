package main

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/apilog/apilog/pgstore/pgstoretest"
)

// TestDemo builds and starts the demo binary on a free port, checks that the
// Logs page's JSON has rows of all four key statuses and all four status
// classes, stops it with SIGINT, and starts it again on the same database.
func TestDemo(t *testing.T) {
	dir := t.TempDir()
	bin := build(t, dir)
	db := filepath.Join(dir, "demo.db")
	args := []string{"-addr", "127.0.0.1:0", "-db", db, "-rate", "50", "-prefill", "5000"}

	d := start(t, bin, nil, args...)
	p := get(t, d.url+"babysea/api/logs")
	var keyStatuses, classes []string
	for _, r := range p.Rows {
		keyStatuses = append(keyStatuses, r.Key.Status)
		classes = append(classes, r.StatusClass)
	}
	for _, want := range []string{"active", "rotated", "expired", "revoked"} {
		if !slices.Contains(keyStatuses, want) {
			t.Errorf("no %s key on the first page", want)
		}
	}
	for _, want := range []string{"2xx", "3xx", "4xx", "5xx"} {
		if !slices.Contains(classes, want) {
			t.Errorf("no %s row on the first page", want)
		}
	}
	other := get(t, d.url+"pixelforge/api/logs")
	if other.TotalRows == 0 || other.TotalRows == p.TotalRows {
		t.Errorf("the second tenant has %d rows, the first %d: want its own rows", other.TotalRows, p.TotalRows)
	}

	// The switch between viewers, and the operator's view of every
	// tenant, with the account of each row.
	html := getBody(t, d.url) // redirected to the first viewer's page
	if !strings.Contains(html, `<a href="../babysea/" aria-current="page">BabySea</a>`) {
		t.Errorf("/logs/ is not BabySea's page:\n%.2000s", html)
	}
	html = getBody(t, d.url+"operator/")
	for _, want := range []string{`aria-label="Viewing as"`, `<a href="../operator/" aria-current="page">Operator (all accounts)</a>`, `<a href="../pixelforge/">PixelForge</a>`, `<th scope="col" data-col="account">Account</th>`} {
		if !strings.Contains(html, want) {
			t.Errorf("the operator's page has no %s", want)
		}
	}
	all := get(t, d.url+"operator/api/logs")
	accounts := map[string]bool{}
	for _, r := range all.Rows {
		accounts[r.Cells["account"]] = true
	}
	if !accounts["acct_babysea"] || !accounts["acct_pixelforge"] || all.TotalRows < p.TotalRows+other.TotalRows {
		t.Errorf("the operator sees %d rows of accounts %v; want both tenants' %d+%d", all.TotalRows, accounts, p.TotalRows, other.TotalRows)
	}

	// A second demo on the same file stops at once, and says why.
	out, err := exec.Command(bin, "-addr", "127.0.0.1:0", "-db", db).CombinedOutput()
	if err == nil || !strings.Contains(string(out), "in use by another Store (process "+strconv.Itoa(d.cmd.Process.Pid)) {
		t.Errorf("a second demo on the same database: %v\n%s", err, out)
	}

	// A demo on an address of this machine's network alone would serve
	// no one without a password: it says so instead of starting.
	if ip := networkAddr(t); ip != "" {
		out, err := exec.Command(bin, "-addr", net.JoinHostPort(ip, "0"), "-db", filepath.Join(dir, "other.db")).CombinedOutput()
		if err == nil || !strings.Contains(string(out), "-allow-remote") {
			t.Errorf("a demo on %s without -allow-remote: %v\n%s", ip, err, out)
		}
	}

	time.Sleep(300 * time.Millisecond) // some live traffic
	d.stop(t)

	// A second start reuses the database: no new history, the rows remain.
	d = start(t, bin, nil, args...)
	again := get(t, d.url+"babysea/api/logs")
	if again.TotalRows < p.TotalRows || strings.Contains(d.out.String(), "of history") {
		t.Errorf("second start: %d rows (first had %d); output:\n%s", again.TotalRows, p.TotalRows, d.out)
	}
}

// TestDemoFiles starts the demo as the README does, without -db, and
// checks that it keeps its files in a folder of its own in the user's
// cache directory, says where, and writes nothing where it was started.
func TestDemoFiles(t *testing.T) {
	bin := build(t, t.TempDir())
	work, home := t.TempDir(), t.TempDir()
	// The cache directory is $XDG_CACHE_HOME on Linux, under $HOME on
	// macOS; the demo inherits both.
	t.Setenv("XDG_CACHE_HOME", filepath.Join(home, "cache"))
	t.Setenv("HOME", home)
	cache, err := os.UserCacheDir()
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(cache, "apilog-demo")
	cmd := exec.Command(bin, "-addr", "127.0.0.1:0", "-prefill", "100", "-rate", "0")
	cmd.Dir = work
	d := startCmd(t, cmd)
	if first, _, _ := strings.Cut(d.out.String(), "\n"); first != "demo files: "+dir+" (delete the folder to start afresh)" {
		t.Errorf("first line %q, want the folder %s", first, dir)
	}
	for _, name := range []string{"demo.db", "demo.db.secret"} {
		if _, err := os.Stat(filepath.Join(dir, name)); err != nil {
			t.Errorf("no %s in the demo's folder: %v", name, err)
		}
	}
	d.stop(t)
	if entries, err := os.ReadDir(work); err != nil || len(entries) > 0 {
		t.Errorf("the demo wrote %v (%v) where it was started", entries, err)
	}
}

// TestGuard checks who may see the demo's Logs page: this machine, by
// localhost or a loopback address; with -allow-remote, other machines that
// give the password; and no one else, who is told why and what to do.
func TestGuard(t *testing.T) {
	ok := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "the page") })
	tests := []struct {
		name       string
		password   string // -allow-remote's
		remote     string
		host       string
		user, pass string // basic auth, when user is set
		want       int
		wantText   string
	}{
		{name: "localhost", remote: "127.0.0.1:5000", host: "localhost:8080", want: 200},
		{name: "loopback address", remote: "[::1]:5000", host: "[::1]:8080", want: 200},
		{name: "another machine", remote: "192.0.2.7:5000", host: "devbox:8080", want: 403, wantText: "-allow-remote"},
		{name: "another name for this machine", remote: "127.0.0.1:5000", host: "attacker.example:8080", want: 403, wantText: "ssh -L 8080:localhost:8080"},
		{name: "another machine without the password", password: "pw", remote: "192.0.2.7:5000", host: "devbox:8080", want: 401, wantText: "password"},
		// DNS rebinding: no password prompt for another site to phish with.
		{name: "another name for this machine, with -allow-remote", password: "pw", remote: "127.0.0.1:5000", host: "attacker.example:8080", want: 403},
		{name: "another machine, wrong password", password: "pw", remote: "192.0.2.7:5000", host: "devbox:8080", user: demoUser, pass: "guess", want: 401},
		{name: "another machine with the password", password: "pw", remote: "192.0.2.7:5000", host: "devbox:8080", user: demoUser, pass: "pw", want: 200},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := httptest.NewRequest("GET", "/logs/", nil)
			r.RemoteAddr, r.Host = tc.remote, tc.host
			r = r.WithContext(context.WithValue(r.Context(), http.LocalAddrContextKey, &net.TCPAddr{IP: net.IPv4zero, Port: 8080}))
			if tc.user != "" {
				r.SetBasicAuth(tc.user, tc.pass)
			}
			w := httptest.NewRecorder()
			guard(tc.password, ok).ServeHTTP(w, r)
			if w.Code != tc.want || !strings.Contains(w.Body.String(), tc.wantText) {
				t.Errorf("%d %q, want %d saying %q", w.Code, w.Body, tc.want, tc.wantText)
			}
			if tc.want == 401 && !strings.HasPrefix(w.Header().Get("WWW-Authenticate"), "Basic ") {
				t.Errorf("401 without a Basic challenge: %q", w.Header().Get("WWW-Authenticate"))
			}
		})
	}
}

// TestDemoPostgres runs two demos on one PostgreSQL schema, as the README
// says, and checks that each one's page shows a request the other
// recorded, and that both hashed one client address alike. Without a
// server it skips, or fails when APILOG_REQUIRE_POSTGRES is set, as the
// pgstore tests do.
func TestDemoPostgres(t *testing.T) {
	dbURL, schema := pgstoretest.Schema(t)
	dir := t.TempDir()
	bin := build(t, dir)
	secret := make([]byte, 32)
	rand.Read(secret)
	env := []string{"APILOG_IP_SECRET=" + hex.EncodeToString(secret)}

	// Without the secret, a PostgreSQL demo refuses to start.
	cmd := exec.Command(bin, "-addr", "127.0.0.1:0", "-db", dbURL, "-schema", schema)
	cmd.Env = withoutSecret(os.Environ())
	if out, err := cmd.CombinedOutput(); err == nil || !strings.Contains(string(out), "APILOG_IP_SECRET") {
		t.Errorf("a PostgreSQL demo without APILOG_IP_SECRET: %v\n%s", err, out)
	}

	a := start(t, bin, env, "-addr", "127.0.0.1:0", "-db", dbURL, "-schema", schema, "-rate", "20", "-prefill", "2000")
	b := start(t, bin, env, "-addr", "127.0.0.1:0", "-db", dbURL, "-schema", schema, "-rate", "20", "-prefill", "0", "-seed", "2")
	if !strings.Contains(a.out.String(), "of history") || strings.Contains(b.out.String(), "of history") {
		t.Errorf("want history from the first demo only:\n%s\n%s", a.out, b.out)
	}

	// One client calls each instance's API once, on a path of its own.
	call := func(d *demo, path string) {
		t.Helper()
		req, _ := http.NewRequest("GET", strings.TrimSuffix(d.url, "logs/")+path, nil)
		req.Header.Set("Authorization", "Bearer bye_AB12live000000000000")
		req.Header.Set("X-Forwarded-For", "203.0.113.250")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
	}
	call(a, "v1/generate/image/img_from_a")
	call(b, "v1/generate/image/img_from_b")
	find := func(d *demo, q string) page {
		return get(t, d.url+"babysea/api/logs?q="+url.QueryEscape(q))
	}
	deadline := time.Now().Add(10 * time.Second) // the recorders write within 50 ms
	for {
		fromB, fromA, client := find(a, "img_from_b"), find(b, "img_from_a"), find(b, "ip:203.0.113.250")
		if fromB.TotalRows == 1 && fromA.TotalRows == 1 && client.TotalRows == 2 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("after 10 s: the first demo shows %d of the second's requests, the second %d of the first's and %d of the client's two",
				fromB.TotalRows, fromA.TotalRows, client.TotalRows)
		}
		time.Sleep(100 * time.Millisecond)
	}
	// Both read one log: the same rows, but for those recorded between the
	// two reads.
	pa, pb := get(t, a.url+"babysea/api/logs"), get(t, b.url+"babysea/api/logs")
	if pa.TotalRows < 1000 || pb.TotalRows < pa.TotalRows { // 2,000 of history, most of them this tenant's
		t.Errorf("the first demo shows %d rows, the second then %d", pa.TotalRows, pb.TotalRows)
	}
	a.stop(t)
	b.stop(t)
}

// build builds the demo into dir.
func build(t *testing.T, dir string) string {
	t.Helper()
	bin := filepath.Join(dir, "demo")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// demo is a running demo.
type demo struct {
	cmd  *exec.Cmd
	url  string // of the Logs page, ending in /logs/
	out  *output
	done chan struct{} // closed when its output is read to the end
}

// start starts the demo with args and env added to this process's
// environment, and returns once it serves the Logs page.
func start(t *testing.T, bin string, env []string, args ...string) *demo {
	t.Helper()
	cmd := exec.Command(bin, args...)
	cmd.Env = append(os.Environ(), env...)
	return startCmd(t, cmd)
}

// startCmd is start for a command made ready to run.
func startCmd(t *testing.T, cmd *exec.Cmd) *demo {
	t.Helper()
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	d := &demo{cmd: cmd, out: &output{}, done: make(chan struct{})}
	sc := bufio.NewScanner(stdout)
	url := make(chan string, 1)
	go func() {
		defer close(d.done)
		for sc.Scan() {
			d.out.add(sc.Text())
			if u, ok := strings.CutPrefix(sc.Text(), "Logs page: "); ok {
				url <- u
			}
		}
	}()
	select {
	case d.url = <-url:
		return d
	case <-time.After(60 * time.Second):
		t.Fatalf("the demo printed no URL in 60 s:\n%s", d.out)
	}
	return nil
}

// stop stops the demo with SIGINT and checks that it wrote every request
// it recorded.
func (d *demo) stop(t *testing.T) {
	t.Helper()
	if err := d.cmd.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	<-d.done
	if err := d.cmd.Wait(); err != nil {
		t.Fatalf("the demo ended with %v after SIGINT:\n%s", err, d.out)
	}
	if !strings.Contains(d.out.String(), " 0 dropped, 0 failed") {
		t.Errorf("shutdown did not write everything:\n%s", d.out)
	}
}

// page is what the tests read of the Logs page's JSON.
type page struct {
	TotalRows int `json:"total_rows"`
	Rows      []struct {
		StatusClass string                  `json:"status_class"`
		Key         struct{ Status string } `json:"key"`
		Cells       map[string]string       `json:"cells"`
	} `json:"rows"`
}

// networkAddr returns an IPv4 address of this machine other than
// loopback, or "" (saying so) when it has none.
func networkAddr(t *testing.T) string {
	addrs, err := net.InterfaceAddrs()
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range addrs {
		if ipn, ok := a.(*net.IPNet); ok && ipn.IP.To4() != nil && ipn.IP.IsGlobalUnicast() {
			return ipn.IP.String()
		}
	}
	t.Log("this machine has no network address but loopback: not checking a demo on one")
	return ""
}

// getBody returns the body of a 200 answer to GET url.
func getBody(t *testing.T, url string) string {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("%s: %d (%v)", url, resp.StatusCode, err)
	}
	return string(b)
}

func get(t *testing.T, url string) page {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var p page
	if err := json.NewDecoder(resp.Body).Decode(&p); err != nil || resp.StatusCode != 200 {
		t.Fatalf("%s: %d (%v)", url, resp.StatusCode, err)
	}
	return p
}

// withoutSecret is env without APILOG_IP_SECRET.
func withoutSecret(env []string) []string {
	return slices.DeleteFunc(slices.Clone(env), func(kv string) bool { return strings.HasPrefix(kv, "APILOG_IP_SECRET=") })
}

// output is the demo's standard output so far, read while it is written.
type output struct {
	mu sync.Mutex
	b  strings.Builder
}

func (o *output) add(line string) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.b.WriteString(line + "\n")
}

func (o *output) String() string {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.b.String()
}
