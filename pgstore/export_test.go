package pgstore

import "github.com/apilog/apilog"

// RequestIDLookup is the statement that looks a query's request IDs up
// (requestIDLookup), for tests to EXPLAIN; acct is an account's row ID, 0
// for every account.
func (s *Store) RequestIDLookup(ids []string, q apilog.Query, acct int64) (string, []any) {
	return s.requestIDLookup(ids, &q, acct)
}
