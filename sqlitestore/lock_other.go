//go:build !(linux || darwin || freebsd || netbsd || openbsd || dragonfly)

package sqlitestore

import "os"

// lockFile cannot lock here (Windows, Solaris, …): a second Store on one
// file goes undetected, as the package documentation says.
func lockFile(*os.File) (bool, error) { return true, nil }
