package sqlitestore

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// ErrInUse is returned by Open when another Store, in this process or
// another, has the database open: a Store keeps counts and caches of the
// file in memory, which a second writer would make wrong.
var ErrInUse = errors.New("in use by another Store")

// claim makes this process the database's one Store: it holds an
// exclusive lock on path+"-lock", which the operating system releases when
// the file is closed or the process ends, however it ends. The lock is on
// a file of its own, not the database: SQLite's locks on the database are
// POSIX record locks, which closing any descriptor of that file in the
// process drops, and which on some systems interact with flock. The
// holder's process ID is written into the file for the error a second
// Store gets. Where locking is not supported, claim always succeeds.
func claim(path string) (*os.File, error) {
	name := path + "-lock"
	for {
		f, err := os.OpenFile(name, os.O_RDWR|os.O_CREATE, 0o600)
		if err != nil {
			if dir := filepath.Dir(path); errors.Is(err, fs.ErrNotExist) {
				if _, serr := os.Stat(dir); errors.Is(serr, fs.ErrNotExist) {
					return nil, fmt.Errorf("unable to open: directory %s does not exist", dir)
				}
			}
			return nil, fmt.Errorf("unable to open: %w", err)
		}
		held, err := lockFile(f)
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

// release removes the lock file and then unlocks it, so that a clean
// close leaves no file behind. Removing it first is what claim's check
// of the name relies on.
func release(f *os.File) error {
	rmErr := os.Remove(f.Name())
	if errors.Is(rmErr, fs.ErrNotExist) {
		rmErr = nil
	}
	return errors.Join(rmErr, f.Close())
}
