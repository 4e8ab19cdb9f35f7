package sqlitestore_test

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/apilog/apilog"
	"github.com/apilog/apilog/sqlitestore"
)

// TestQueryTimeout checks that QueryTimeout stops a search that would run
// for seconds, with an error wrapping apilog.ErrTimeout, and that
// MaxSearches makes the searches beyond it wait for a turn, up to the
// timeout, while an unfiltered first page goes straight through.
func TestQueryTimeout(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "logs.db")
	makeStore(t, path, 100_000)
	const timeout = 300 * time.Millisecond
	s := openStore(t, path, &sqlitestore.Options{QueryTimeout: timeout, MaxSearches: 1, SkipCheck: true})

	// One-letter terms match nearly every value: the worst case, seconds
	// of work at this size.
	terms := strings.Repeat("e a o i ", 6)
	search, err := apilog.ParseSearch(terms, nil)
	if err != nil {
		t.Fatal(err)
	}
	worst := apilog.Query{Account: "acct_make", Search: search, Sort: apilog.Sort{Column: apilog.ColumnIP}, Page: 50}

	var wg sync.WaitGroup
	errs := make([]error, 3)
	for i := range errs {
		wg.Go(func() {
			_, errs[i] = s.Query(ctx, worst)
		})
	}
	time.Sleep(timeout / 3) // the searches hold the one turn, and wait
	start := time.Now()
	if _, err := s.Query(ctx, apilog.Query{Account: "acct_make"}); err != nil {
		t.Errorf("a first page while searches run: %v", err)
	}
	firstPage := time.Since(start)
	wg.Wait()
	waited := 0
	for i, err := range errs {
		if !errors.Is(err, apilog.ErrTimeout) {
			t.Errorf("search %d: %v, want ErrTimeout", i, err)
		}
		if err != nil && strings.Contains(err.Error(), "searches ran for all of the query timeout") {
			waited++
		}
	}
	// One ran and was stopped; the others waited for the turn it held.
	if waited != len(errs)-1 {
		t.Errorf("%d searches timed out waiting for a turn, want %d: %v", waited, len(errs)-1, errs)
	}
	if firstPage >= timeout {
		t.Errorf("the first page took %v, as long as the searches' timeout: it waited for them", firstPage)
	}
}
