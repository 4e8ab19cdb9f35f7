package sqlitestore_test

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/apilog/apilog"
	"github.com/apilog/apilog/sqlitestore"
)

// TestQueryTimeout checks that QueryTimeout stops a search that would run
// for seconds with an error wrapping apilog.ErrTimeout, and that an
// unfiltered first page goes straight through meanwhile, whatever
// MaxSearches lets wait. (internal/querylimit's test checks the turns.)
func TestQueryTimeout(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "logs.db")
	makeStore(t, path, 100_000)
	s := openStore(t, path, &sqlitestore.Options{QueryTimeout: 500 * time.Millisecond, MaxSearches: 1, SkipCheck: true})

	// One-letter terms match nearly every value: the worst case, seconds
	// of work at this size.
	search, err := apilog.ParseSearch(strings.Repeat("e a o i ", 6), nil)
	if err != nil {
		t.Fatal(err)
	}
	worst := apilog.Query{Account: "acct_make", Search: search, Sort: apilog.Sort{Column: apilog.ColumnIP}, Page: 50}
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
