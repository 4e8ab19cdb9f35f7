package sqlitestore

import (
	"context"
	"database/sql"
	"fmt"
)

// Hooks for the external tests (fault_test.go, crash_test.go), which need
// to reach the store's own connections: pragmas are per connection, so only
// a check on those connections shows what the store really set.

// SetMaxPageCount caps the database at n pages on the writer connection, so
// that a test can make the disk full without filling a real disk. The
// setting lasts as long as the connection, which the writer pool keeps
// open (MaxOpenConns 1, no lifetime limit).
func SetMaxPageCount(s *Store, n int64) error {
	_, err := s.w.Exec(fmt.Sprintf("PRAGMA max_page_count = %d", n))
	return err
}

// WriterConn takes the store's one writer connection out of its pool. Every
// write of the store waits until the caller closes it.
func WriterConn(ctx context.Context, s *Store) (*sql.Conn, error) {
	return s.w.Conn(ctx)
}

// CheckpointerConn takes the checkpointer's connection out of its pool.
func CheckpointerConn(ctx context.Context, s *Store) (*sql.Conn, error) {
	return s.ck.Conn(ctx)
}

// ReaderConns takes n reader connections out of the pool at once, so that
// they are n distinct connections. The caller closes them; n above
// Options.Readers blocks until ctx ends.
func ReaderConns(ctx context.Context, s *Store, n int) ([]*sql.Conn, error) {
	conns := make([]*sql.Conn, 0, n)
	for range n {
		c, err := s.r.Conn(ctx)
		if err != nil {
			for _, c := range conns {
				c.Close()
			}
			return nil, err
		}
		conns = append(conns, c)
	}
	return conns, nil
}

// SlowSearches makes every query that filters run a statement that never
// ends on its snapshot first, so that only a deadline or a cancellation
// ends the query: a search slower than any real one, without the data.
func SlowSearches(s *Store) {
	s.searchHook = endless
}

// endless runs a statement that never ends, after reading a table: a
// statement that reads none takes no snapshot, and holds no WAL back.
func endless(ctx context.Context, tx *sql.Tx) error {
	var n int64
	return tx.QueryRowContext(ctx, "WITH RECURSIVE c(x) AS (SELECT (SELECT count(*) FROM accounts) UNION ALL SELECT x + 1 FROM c) SELECT count(*) FROM c").Scan(&n)
}

// ScaleMask sets the offset past which a page is deep for the masked scan,
// the matches that make a search broad and the rows SQL may read in order,
// so that a test's few thousand rows can hold deep pages of broad
// searches, and returns a function that restores them.
func ScaleMask(deep, work, scan int) (restore func()) {
	oldDeep, oldWork, oldScan := maskDeep, maskWork, maskScan
	maskDeep, maskWork, maskScan = deep, work, scan
	return func() { maskDeep, maskWork, maskScan = oldDeep, oldWork, oldScan }
}
