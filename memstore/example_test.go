package memstore_test

import (
	"context"
	"fmt"
	"time"

	"github.com/apilog/apilog"
	"github.com/apilog/apilog/memstore"
)

func ExampleNew() {
	ctx := context.Background()
	now := time.Date(2025, 3, 14, 12, 0, 0, 0, time.UTC)
	s := memstore.New(&memstore.Options{Clock: func() time.Time { return now }})
	defer s.Close()

	keys := []apilog.Key{
		{ID: "key_1", Account: "acct_1", Name: "production-api", Prefix: "bye_AB12"},
		{ID: "key_2", Account: "acct_1", Name: "staging", Prefix: "bye_CD34", RotatedAt: now.Add(-time.Hour)},
		{ID: "key_3", Account: "acct_1", Name: "old-ci", Prefix: "bye_EF56", ExpiresAt: now.Add(-24 * time.Hour)},
	}
	for _, k := range keys {
		if err := s.UpsertKey(ctx, k); err != nil {
			fmt.Println(err)
			return
		}
	}
	entry := func(keyID, method, endpoint string, status int, minutesAgo int) apilog.Entry {
		return apilog.Entry{
			Account: "acct_1", KeyID: keyID, Method: method, Endpoint: endpoint, Status: status,
			Time: now.Add(-time.Duration(minutesAgo) * time.Minute), Duration: 80 * time.Millisecond,
		}
	}
	entries := []apilog.Entry{
		entry("key_1", "POST", "/v1/flux-pro", 200, 50),
		entry("key_2", "POST", "/v1/flux-pro", 422, 40),
		entry("key_3", "GET", "/v1/models", 401, 30),
		entry("", "GET", "/v1/models", 401, 20), // no key sent
		entry("key_1", "GET", "/v1/get_result", 200, 10),
	}
	if err := s.Append(ctx, entries); err != nil {
		fmt.Println(err)
		return
	}

	search, err := apilog.ParseSearch(`-status:2xx`, nil)
	if err != nil {
		fmt.Println(err)
		return
	}
	page, err := s.Query(ctx, apilog.Query{Account: "acct_1", Search: search, Now: now})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(page.RangeText())
	for _, r := range page.Rows {
		name := r.KeyName
		if name == "" {
			name = "(no key)"
		}
		fmt.Printf("%-14s %-8s %-4s %-13s %d\n", name, r.KeyStatus, r.Method, r.Endpoint, r.Status)
	}
	// Output:
	// 1–3 of 3
	// (no key)       unknown  GET  /v1/models    401
	// old-ci         expired  GET  /v1/models    401
	// staging        rotated  POST /v1/flux-pro  422
}
