package pgstore_test

import (
	"context"
	"fmt"
	"os"
	"time"

	"github.com/apilog/apilog"
	"github.com/apilog/apilog/pgstore"
)

// Every instance of the API opens the same database; each records its own
// requests, and any of them reads every instance's rows. The example needs
// a server, so it is compiled but not run by go test.
func ExampleOpen() {
	ctx := context.Background()
	url := os.Getenv("DATABASE_URL") // e.g. postgres://apilog:secret@db.internal:5432/app
	s, err := pgstore.Open(ctx, url, &pgstore.Options{
		MaxAge: 30 * 24 * time.Hour, // drops old rows a partition (about 19.5 hours) at a time
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
	now := time.Now()
	entries := []apilog.Entry{
		{Account: "acct_1", KeyID: "key_1", Method: "POST", Endpoint: "/v1/generate/image/flux-pro", Status: 200, Time: now.Add(-2 * time.Minute)},
		{Account: "acct_1", KeyID: "key_1", Method: "POST", Endpoint: "/v1/generate/image/flux-pro", Status: 401, ErrorCode: "BSE4006", Time: now.Add(-time.Minute)},
	}
	if err := s.Append(ctx, entries); err != nil { // returns after the commit
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
		fmt.Println(err) // pgstore.ErrQueryTimeout past Options.QueryTimeout
		return
	}
	for _, r := range page.Rows {
		fmt.Println(r.KeyName, r.KeyStatus, r.Method, r.Endpoint, r.Status, r.ErrorCode)
	}
}
