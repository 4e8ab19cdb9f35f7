// Command basic is the smallest real integration of apilog: an existing
// net/http API, the recording middleware, the SQLite store, and the Logs
// page under /logs behind the host's own authorization.
package main

import (
	"context"
	"encoding/hex"
	"log"
	"net/http"
	"os"

	"github.com/apilog/apilog"
	"github.com/apilog/apilog/httpui"
	"github.com/apilog/apilog/sqlitestore"
)

func main() {
	// One process owns logs.db. Several instances that share one log open
	// pgstore.Open(ctx, databaseURL, nil) instead, and one IP hash secret.
	store, err := sqlitestore.Open("logs.db", nil)
	if err != nil {
		log.Fatal(err)
	}
	defer store.Close()
	rec := apilog.NewRecorder(store, nil)
	defer rec.Close(context.Background()) // writes what is queued

	// 32 random bytes, hex, kept with the host's secrets: head -c 32 /dev/urandom | xxd -p -c 64
	secret, err := hex.DecodeString(os.Getenv("APILOG_IP_SECRET"))
	if err != nil {
		log.Fatal(err)
	}
	hasher, err := apilog.NewIPHasher(secret)
	if err != nil {
		log.Fatal(err)
	}

	api := http.NewServeMux() // the host's existing API
	api.HandleFunc("GET /v1/models", func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte(`["flux-pro"]` + "\n"))
	})
	auth := func(next http.Handler) http.Handler { // the host's key check
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.Header.Get("Authorization") != "Bearer bye_AB12secret" {
				apilog.SetErrorCode(r.Context(), "BSE4010")
				http.Error(w, "invalid API key", http.StatusUnauthorized)
				return
			}
			apilog.SetKey(r.Context(), "key_1", "acct_1") // the key's ID, never the secret
			next.ServeHTTP(w, r)
		})
	}

	logs, err := httpui.New(store, &httpui.Options{
		Hasher: hasher,
		Authorize: func(r *http.Request) (httpui.Viewer, error) {
			user, _, _ := r.BasicAuth() // checked by login below
			return httpui.Viewer{Account: user}, nil
		},
	})
	if err != nil {
		log.Fatal(err)
	}
	login := func(next http.Handler) http.Handler { // the host's own login
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			user, pass, ok := r.BasicAuth()
			if !ok || user != "acct_1" || pass == "" || pass != os.Getenv("LOGS_PASSWORD") {
				w.Header().Set("WWW-Authenticate", `Basic realm="logs"`)
				http.Error(w, "sign in", http.StatusUnauthorized)
				return
			}
			next.ServeHTTP(w, r)
		})
	}

	mux := http.NewServeMux()
	mux.Handle("/v1/", apilog.Middleware(rec, &apilog.MiddlewareOptions{Hasher: hasher})(auth(api)))
	mux.Handle("/logs/", login(http.StripPrefix("/logs", logs)))
	log.Print(http.ListenAndServe("localhost:8080", mux)) // returns, so the deferred Close runs
}
