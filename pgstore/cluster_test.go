package pgstore_test

import (
	"bytes"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
)

// A cluster is a PostgreSQL server of the test's own, in a temporary
// directory on a free port, for the faults that would harm other users
// of a shared server: a restart, a full disk.
type cluster struct {
	bin  string // the directory of initdb and pg_ctl
	dir  string // holds data/, server.log and the Unix socket
	port int
	// cred runs the server programs as the postgres user when the test
	// runs as root, which PostgreSQL refuses; nil otherwise.
	cred    *syscall.Credential
	stopped bool
}

// pgBinDir finds the server programs: $APILOG_POSTGRES_BIN, else pg_ctl
// on the PATH, else the newest of Debian's /usr/lib/postgresql/*/bin.
func pgBinDir() (string, error) {
	if d := os.Getenv("APILOG_POSTGRES_BIN"); d != "" {
		return d, nil
	}
	if p, err := exec.LookPath("pg_ctl"); err == nil {
		return filepath.Dir(p), nil
	}
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin/pg_ctl")
	if len(dirs) == 0 {
		return "", fmt.Errorf("no pg_ctl on the PATH or under /usr/lib/postgresql (set APILOG_POSTGRES_BIN)")
	}
	// By version number: "9.6" sorts after "15" as text.
	slices.SortFunc(dirs, func(a, b string) int {
		va, _ := strconv.ParseFloat(filepath.Base(filepath.Dir(filepath.Dir(a))), 64)
		vb, _ := strconv.ParseFloat(filepath.Base(filepath.Dir(filepath.Dir(b))), 64)
		switch {
		case va < vb:
			return -1
		case va > vb:
			return 1
		}
		return 0
	})
	return filepath.Dir(dirs[len(dirs)-1]), nil
}

var clusterSkipped atomic.Bool

// skipCluster skips t for want of what a private cluster needs, or fails
// it when APILOG_REQUIRE_POSTGRES is set, as for the shared server.
func skipCluster(t testing.TB, why string) {
	t.Helper()
	if os.Getenv("APILOG_REQUIRE_POSTGRES") != "" {
		t.Fatalf("cannot start a private PostgreSQL cluster (APILOG_REQUIRE_POSTGRES is set): %s", why)
	}
	if !clusterSkipped.Swap(true) {
		fmt.Fprintf(os.Stderr, "pgstore: skipping the tests that need a private PostgreSQL cluster: %s\n", why)
	}
	t.Skipf("no private PostgreSQL cluster: %s", why)
}

// startCluster initializes and starts a cluster of t's own, stopped and
// removed when t ends. It skips t when the server programs are missing.
func startCluster(t testing.TB) *cluster {
	t.Helper()
	bin, err := pgBinDir()
	if err != nil {
		skipCluster(t, err.Error())
	}
	c := &cluster{bin: bin}
	// Not t.TempDir: its parent is root's alone, and the server may run
	// as another user, who must reach its directory.
	c.dir, err = os.MkdirTemp("", "apilog-pg-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(c.dir) })
	if os.Geteuid() == 0 {
		u, err := user.Lookup("postgres")
		if err != nil {
			skipCluster(t, "running as root, which PostgreSQL refuses, and no postgres user to run it as: "+err.Error())
		}
		uid, _ := strconv.ParseUint(u.Uid, 10, 32)
		gid, _ := strconv.ParseUint(u.Gid, 10, 32)
		c.cred = &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}
		if err := os.Chown(c.dir, int(uid), int(gid)); err != nil {
			t.Fatal(err)
		}
	}
	c.port = freePort(t)

	// --no-sync and fsync = off: the data is thrown away, and a restart
	// of the server is no crash of the machine, so what a commit wrote is
	// in the page cache for the server to read back.
	c.run(t, "initdb", "-D", c.data(), "-U", "postgres", "-A", "trust", "-E", "UTF8", "--locale=C", "--no-sync", "--no-instructions")
	conf := fmt.Sprintf(`
listen_addresses = '127.0.0.1'
port = %d
unix_socket_directories = '%s'
max_connections = 50
shared_buffers = 32MB
fsync = off
full_page_writes = off
`, c.port, c.dir)
	f, err := os.OpenFile(filepath.Join(c.data(), "postgresql.conf"), os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteString(conf); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	c.ctl(t, "start")
	t.Cleanup(func() { c.stop(t, "immediate") })
	return c
}

// freePort returns a TCP port on 127.0.0.1 that nothing listened on a
// moment ago.
func freePort(t testing.TB) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

func (c *cluster) data() string { return filepath.Join(c.dir, "data") }

// url returns the URL of the cluster's postgres database; params are
// added to its query, as "application_name=x".
func (c *cluster) url(params ...string) string {
	return fmt.Sprintf("postgres://postgres@127.0.0.1:%d/postgres?%s", c.port, strings.Join(append([]string{"sslmode=disable"}, params...), "&"))
}

// run runs one of the server programs as the server's user and fails t,
// showing its output and the server's log, if it fails.
func (c *cluster) run(t testing.TB, prog string, args ...string) {
	t.Helper()
	cmd := exec.Command(filepath.Join(c.bin, prog), args...)
	cmd.Dir = c.dir // the user may not be allowed into the test's directory
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: c.cred}
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		log, _ := os.ReadFile(filepath.Join(c.dir, "server.log"))
		t.Fatalf("%s %s: %v\n%s\nserver log:\n%s", prog, strings.Join(args, " "), err, out.Bytes(), log)
	}
}

// ctl runs pg_ctl's command (start, restart, stop) on the cluster and
// waits for it to finish; a restart or stop shuts down in fast mode, as
// an operator or a service manager does.
func (c *cluster) ctl(t testing.TB, command string, args ...string) {
	t.Helper()
	args = append([]string{"-D", c.data(), "-l", filepath.Join(c.dir, "server.log"), "-w", "-t", "60", "-m", "fast", command}, args...)
	c.run(t, "pg_ctl", args...)
}

// stop stops the cluster unless it is stopped, in mode ("fast", or
// "immediate" when its data does not matter any more).
func (c *cluster) stop(t testing.TB, mode string) {
	t.Helper()
	if c.stopped {
		return
	}
	c.stopped = true
	c.run(t, "pg_ctl", "-D", c.data(), "-w", "-t", "60", "-m", mode, "stop")
}
