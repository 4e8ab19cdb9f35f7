package sqlitestore_test

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/apilog/apilog/sqlitestore"
)

// storeChild opens a Store on the database at path, prints "open", and
// keeps it open until its stdin closes or it is killed.
func storeChild(path string) int {
	s, err := sqlitestore.Open(path, nil)
	if err != nil {
		fmt.Fprintln(os.Stderr, "store child:", err)
		return 1
	}
	fmt.Println("open")
	io.Copy(io.Discard, os.Stdin)
	if err := s.Close(); err != nil {
		fmt.Fprintln(os.Stderr, "store child:", err)
		return 1
	}
	return 0
}

// TestOpenInUse checks that a second Store on a file fails with ErrInUse,
// naming the process that has it, whether that Store is in this process
// or another, and that the file is free again once the first is closed or
// its process killed.
func TestOpenInUse(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "logs.db")
	wantInUse := func(name string, pid int) {
		t.Helper()
		s, err := sqlitestore.Open(name, nil)
		if err == nil {
			s.Close()
			t.Fatalf("a second Store opened %s, which another Store has open", name)
		}
		if !errors.Is(err, sqlitestore.ErrInUse) || !strings.Contains(err.Error(), "process "+strconv.Itoa(pid)) {
			t.Fatalf("second Open(%s): %v; want ErrInUse naming process %d", name, err, pid)
		}
	}

	first := openStore(t, path, nil)
	wantInUse(path, os.Getpid())
	// The same file by other names: a link, and a path relative to the
	// working directory.
	if err := os.Symlink(path, filepath.Join(dir, "alias.db")); err != nil {
		t.Fatal(err)
	}
	wantInUse(filepath.Join(dir, "alias.db"), os.Getpid())
	t.Chdir(dir)
	wantInUse("logs.db", os.Getpid())
	if err := first.Close(); err != nil {
		t.Fatal(err)
	}

	c := startChild(t, "store", dbEnv+"="+path)
	if line, err := bufio.NewReader(c.stdout).ReadString('\n'); line != "open\n" {
		t.Fatalf("child said %q (%v), want open; stderr:\n%s", line, err, c.stderr)
	}
	wantInUse(path, c.cmd.Process.Pid)
	// A crash releases the file: the OS drops the lock with the process.
	if err := c.cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	c.cmd.Wait()
	openStore(t, path, nil)
}
