//go:build linux || darwin || freebsd || netbsd || openbsd || dragonfly

package sqlitestore

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strconv"
	"strings"
	"syscall"
)

// claim makes this process the database's one Store: it holds an
// exclusive flock on path+"-lock", which the operating system releases
// when the file is closed or the process ends, however it ends. The lock
// is on a file of its own, not the database: SQLite's locks on the
// database are POSIX record locks, which closing any descriptor of that
// file in the process drops, and which on some systems interact with
// flock. The holder's process ID is written into the file for the error a
// second Store gets. path is resolved (see resolve).
func claim(path string) (*os.File, error) {
	name := path + "-lock"
	for {
		f, err := os.OpenFile(name, os.O_RDWR|os.O_CREATE, 0o600)
		if err != nil {
			return nil, fmt.Errorf("unable to open: %w", err)
		}
		held, err := flock(f)
		if err != nil {
			f.Close()
			return nil, fmt.Errorf("locking %s: %w", name, err)
		}
		if !held {
			b, _ := os.ReadFile(name)
			f.Close()
			if pid, err := strconv.Atoi(strings.TrimSpace(string(b))); err == nil && pid > 0 {
				return nil, fmt.Errorf("%w (process %d; one Store owns a file: stop it, or give this one another file)", ErrInUse, pid)
			}
			return nil, fmt.Errorf("%w (one Store owns a file: stop it, or give this one another file)", ErrInUse)
		}
		// A Store that closed meanwhile removed the file this one locked
		// (see release): lock the file now at the name, or two Stores
		// could each hold a lock, on two files.
		locked, err := f.Stat()
		if err != nil {
			f.Close()
			return nil, err
		}
		now, err := os.Stat(name)
		if err == nil && os.SameFile(locked, now) {
			// Best effort: the PID only makes the error clearer.
			if f.Truncate(0) == nil {
				f.WriteAt([]byte(strconv.Itoa(os.Getpid())+"\n"), 0)
			}
			return f, nil
		}
		f.Close()
		if err != nil && !errors.Is(err, fs.ErrNotExist) {
			return nil, err
		}
	}
}

// flock takes an exclusive flock on f without waiting, and reports
// whether it got it.
func flock(f *os.File) (bool, error) {
	for {
		err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
		switch {
		case err == nil:
			return true, nil
		case errors.Is(err, syscall.EWOULDBLOCK):
			return false, nil
		case errors.Is(err, syscall.EINTR):
			continue
		}
		return false, err
	}
}
