//go:build linux || darwin || freebsd || netbsd || openbsd || dragonfly

package sqlitestore

import (
	"errors"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// TestClaimRace claims and releases one database from many goroutines at
// once (each claim its own open file, as a second process's would be) and
// checks that no two ever hold it together: a release removes the lock
// file, so a claim that locked the removed file must see that and retry.
func TestClaimRace(t *testing.T) {
	path := filepath.Join(t.TempDir(), "logs.db")
	var holders, claims atomic.Int64
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for range 2000 {
				f, err := claim(path)
				if errors.Is(err, ErrInUse) {
					continue
				}
				if err != nil {
					t.Error(err)
					return
				}
				claims.Add(1)
				if n := holders.Add(1); n != 1 {
					t.Errorf("%d holders at once", n)
				}
				time.Sleep(20 * time.Microsecond) // long enough for another to claim
				holders.Add(-1)
				if err := release(f); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	if claims.Load() == 0 {
		t.Error("no claim succeeded")
	}
	t.Logf("%d of 16,000 claims succeeded", claims.Load())
}
