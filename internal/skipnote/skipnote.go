// Package skipnote tells the person running go test that tests were
// skipped for want of something this machine lacks (a browser, a
// database server). go test ./... shows a passing package's output only
// with -v, so a note among the test's output goes unseen and a newcomer
// takes the package's "ok" for a full run. skipnote writes to the terminal
// go test runs in instead, once per test binary and note.
package skipnote

import (
	"fmt"
	"io"
	"os"
	"sync"
)

var (
	mu       sync.Mutex
	told     = map[string]bool{}
	terminal = "/dev/tty" // the process's terminal on Unix; tests change it
)

// Tell writes msg on a line of its own to the terminal, once per test
// binary, and to standard error when there is no terminal (CI, an IDE),
// where go test -v shows it.
func Tell(msg string) {
	mu.Lock()
	defer mu.Unlock()
	if told[msg] {
		return
	}
	told[msg] = true
	var w io.Writer = os.Stderr
	if tty, err := os.OpenFile(terminal, os.O_WRONLY|os.O_APPEND, 0); err == nil {
		defer tty.Close()
		w = tty
	}
	fmt.Fprintln(w, msg)
}
