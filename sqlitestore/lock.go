package sqlitestore

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
)

// ErrInUse is returned by Open when another Store, in this process or
// another, has the database open: a Store keeps counts and caches of the
// file in memory, which a second writer would make wrong. Where the
// operating system offers no lock that ends with its process (Windows,
// Solaris), a second Store goes undetected.
var ErrInUse = errors.New("in use by another Store")

// resolve returns path absolute, through any symbolic links of the file or
// its directory, so that one database has one lock file however it is
// named, and its connections find it after a change of directory.
func resolve(path string) (string, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return "", err
	}
	if real, err := filepath.EvalSymlinks(abs); err == nil {
		return real, nil
	}
	// No file yet: its directory's links.
	dir, err := filepath.EvalSymlinks(filepath.Dir(abs))
	if err != nil {
		return abs, nil // a missing directory, which checkDir reports
	}
	return filepath.Join(dir, filepath.Base(abs)), nil
}

// release removes the lock file and then unlocks it, so that a clean
// close leaves no file behind. Removing it first is what claim's check of
// the name relies on. A nil f (no lock taken) is released at once.
func release(f *os.File) error {
	if f == nil {
		return nil
	}
	rmErr := os.Remove(f.Name())
	if errors.Is(rmErr, fs.ErrNotExist) {
		rmErr = nil
	}
	return errors.Join(rmErr, f.Close())
}
