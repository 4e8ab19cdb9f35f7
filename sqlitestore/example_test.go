package sqlitestore_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/apilog/apilog"
	"github.com/apilog/apilog/sqlitestore"
)

func ExampleOpen() {
	dir, err := os.MkdirTemp("", "apilog-example")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer os.RemoveAll(dir)
	ctx := context.Background()
	now := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)

	// Rows older than 30 days are pruned in the background.
	s, err := sqlitestore.Open(filepath.Join(dir, "logs.db"), &sqlitestore.Options{
		MaxAge: 30 * 24 * time.Hour,
		Clock:  func() time.Time { return now },
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer s.Close()

	if err := s.UpsertKey(ctx, apilog.Key{ID: "key_1", Account: "acct_1", Name: "production-api", Prefix: "bye_AB12"}); err != nil {
		fmt.Println(err)
		return
	}
	entries := []apilog.Entry{
		{Account: "acct_1", KeyID: "key_1", Method: "POST", Endpoint: "/v1/generate/image/flux-pro", Status: 200, Time: now.Add(-2 * time.Minute)},
		{Account: "acct_1", KeyID: "key_1", Method: "POST", Endpoint: "/v1/generate/image/flux-pro", Status: 401, ErrorCode: "BSE4006", Time: now.Add(-time.Minute)},
	}
	if err := s.Append(ctx, entries); err != nil { // returns after the commit
		fmt.Println(err)
		return
	}
	fmt.Println("IDs:", entries[0].ID, entries[1].ID)

	// A revocation shows on the rows the key made before it.
	if err := s.UpsertKey(ctx, apilog.Key{ID: "key_1", Account: "acct_1", Name: "production-api", Prefix: "bye_AB12", RevokedAt: now}); err != nil {
		fmt.Println(err)
		return
	}
	search, err := apilog.ParseSearch("flux status:4xx", nil)
	if err != nil {
		fmt.Println(err)
		return
	}
	page, err := s.Query(ctx, apilog.Query{Account: "acct_1", Search: search})
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, r := range page.Rows {
		fmt.Println(r.KeyName, r.KeyStatus, r.Method, r.Endpoint, r.Status, r.ErrorCode)
	}
	// Output:
	// IDs: 1 2
	// production-api revoked POST /v1/generate/image/flux-pro 401 BSE4006
}
