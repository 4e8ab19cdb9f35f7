package sqlitestore_test

import (
	"context"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/apilog/apilog"
	"github.com/apilog/apilog/apilogtest"
	"github.com/apilog/apilog/sqlitestore"
)

// TestQueryPaths checks the fast paths (time-bucket counts, index walks,
// page plans) against the reference on apilogtest's larger data set, and
// again after a prune took rows off the counts and collected values.
func TestQueryPaths(t *testing.T) {
	s, err := sqlitestore.Open(filepath.Join(t.TempDir(), "paths.db"), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	p := apilogtest.FillPaths(t, s, 30_000)
	t.Run("full", func(t *testing.T) { p.Check(t, s) })

	cutoff := p.Start.Add(5 * 24 * time.Hour)
	n, err := s.Prune(context.Background(), cutoff)
	if err != nil {
		t.Fatal(err)
	}
	kept := slices.DeleteFunc(slices.Clone(p.Entries), func(e apilog.Entry) bool { return e.Time.Before(cutoff) })
	if n != len(p.Entries)-len(kept) || n == 0 {
		t.Fatalf("Prune deleted %d rows, want %d", n, len(p.Entries)-len(kept))
	}
	p.Entries = kept
	t.Run("pruned", func(t *testing.T) { p.Check(t, s) })
}
