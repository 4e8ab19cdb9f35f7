package apilog_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/netip"

	"github.com/apilog/apilog"
	"github.com/apilog/apilog/memstore"
)

// ExampleMiddleware wraps an API with the recording middleware. The API's
// own authentication runs inside it and tells it which key made the
// request; a request with a bad key is recorded too.
func ExampleMiddleware() {
	store := memstore.New(nil) // sqlitestore.Open in production
	defer store.Close()
	rec := apilog.NewRecorder(store, nil)

	// The secret comes from the host's secret store and stays the same
	// across restarts; see NewIPHasher.
	hasher, err := apilog.NewIPHasher([]byte("example secret, 16+ random bytes"))
	if err != nil {
		fmt.Println(err)
		return
	}
	auth := func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.Header.Get("Authorization") != "Bearer bye_AB12secret" {
				apilog.SetErrorCode(r.Context(), "BSE4010")
				http.Error(w, "invalid API key; request "+apilog.RequestID(r.Context()), http.StatusUnauthorized)
				return
			}
			apilog.SetKey(r.Context(), "key_1", "acct_1") // the key's ID, never the secret
			next.ServeHTTP(w, r)
		})
	}
	api := http.NewServeMux()
	api.HandleFunc("GET /v1/models", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintln(w, `["flux-pro"]`)
	})
	handler := apilog.Middleware(rec, &apilog.MiddlewareOptions{
		Hasher:         hasher,
		TrustedProxies: []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")},
		Skip:           func(r *http.Request) bool { return r.URL.Path == "/healthz" },
	})(auth(api))
	srv := httptest.NewServer(handler)
	defer srv.Close()

	for _, key := range []string{"bye_AB12secret", "bye_wrong"} {
		req, _ := http.NewRequest("GET", srv.URL+"/v1/models?api_key=never-stored", nil)
		req.Header.Set("Authorization", "Bearer "+key)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			fmt.Println(err)
			return
		}
		resp.Body.Close()
	}

	// Shutting down: Close writes what is queued.
	if err := rec.Close(context.Background()); err != nil {
		fmt.Println(err)
		return
	}
	for _, account := range []string{"acct_1", "-"} {
		page, err := store.Query(context.Background(), apilog.Query{Account: account})
		if err != nil {
			fmt.Println(err)
			return
		}
		for _, r := range page.Rows {
			fmt.Printf("%s key=%q %s %s %d %q ip=%s…\n", r.Account, r.KeyID, r.Method, r.Endpoint, r.Status, r.ErrorCode, r.IPHash[:8])
		}
	}
	st := rec.Stats()
	fmt.Printf("recorded %d, written %d, dropped %d, failed %d\n", st.Recorded, st.Written, st.Dropped, st.Failed)
	// Output:
	// acct_1 key="key_1" GET /v1/models 200 "" ip=5c55aba3…
	// - key="" GET /v1/models 401 "BSE4010" ip=5c55aba3…
	// recorded 2, written 2, dropped 0, failed 0
}
