package sqlitestore_test

import (
	"context"
	"errors"
	"path/filepath"
	"testing"
	"time"

	"github.com/apilog/apilog"
	"github.com/apilog/apilog/sqlitestore"
)

// TestQueryTimeout checks that QueryTimeout stops a search in the middle of
// a statement with an error wrapping apilog.ErrTimeout, and that an
// unfiltered first page goes straight through meanwhile, whatever
// MaxSearches lets wait. (internal/querylimit's test checks the turns.)
func TestQueryTimeout(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "logs.db")
	makeStore(t, path, 10_000)
	s := openStore(t, path, &sqlitestore.Options{QueryTimeout: 500 * time.Millisecond, MaxSearches: 1, SkipCheck: true})
	// No real search is slow enough to be cut reliably (the worst takes
	// about a second at a million rows): this one runs until stopped.
	sqlitestore.SlowSearches(s)

	search, err := apilog.ParseSearch("flux", nil)
	if err != nil {
		t.Fatal(err)
	}
	worst := apilog.Query{Account: "acct_make", Search: search}
	results := make(chan error, 2)
	for range 2 { // one runs, one waits for the turn
		go func() {
			_, err := s.Query(ctx, worst)
			results <- err
		}()
	}
	time.Sleep(100 * time.Millisecond) // the searches under way
	if _, err := s.Query(ctx, apilog.Query{Account: "acct_make"}); err != nil {
		t.Errorf("a first page while searches run: %v", err)
	}
	select {
	case err := <-results:
		t.Errorf("a search ended before the first page was answered (%v): the page waited for it", err)
	default:
	}
	for range 2 {
		if err := <-results; !errors.Is(err, apilog.ErrTimeout) {
			t.Errorf("a search: %v, want ErrTimeout", err)
		}
	}
}
