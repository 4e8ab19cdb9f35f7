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
	path := filepath.Join(t.TempDir(), "logs.db")
	wantInUse := func(pid int) {
		t.Helper()
		s, err := sqlitestore.Open(path, nil)
		if err == nil {
			s.Close()
			t.Fatal("a second Store opened a file another Store has open")
		}
		if !errors.Is(err, sqlitestore.ErrInUse) || !strings.Contains(err.Error(), "process "+strconv.Itoa(pid)) {
			t.Fatalf("second Open: %v; want ErrInUse naming process %d", err, pid)
		}
	}

	first := openStore(t, path, nil)
	wantInUse(os.Getpid())
	if err := first.Close(); err != nil {
		t.Fatal(err)
	}

	c := startChild(t, "store", dbEnv+"="+path)
	if line, err := bufio.NewReader(c.stdout).ReadString('\n'); line != "open\n" {
		t.Fatalf("child said %q (%v), want open; stderr:\n%s", line, err, c.stderr)
	}
	wantInUse(c.cmd.Process.Pid)
	// A crash releases the file: the OS drops the lock with the process.
	if err := c.cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	c.cmd.Wait()
	openStore(t, path, nil)
}
