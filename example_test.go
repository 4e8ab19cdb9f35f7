package apilog_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/apilog/apilog"
	"github.com/apilog/apilog/memstore"
)

func ExampleParseSearch() {
	s, err := apilog.ParseSearch(`status:4xx -key:staging "flux pro" duration:>=2s`, nil)
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, t := range s.Terms {
		neg := ""
		if t.Negate {
			neg = "not "
		}
		switch t.Field {
		case apilog.FieldStatus:
			fmt.Printf("%s%s %d-%d\n", neg, t.Field, t.StatusMin, t.StatusMax)
		case apilog.FieldDuration:
			fmt.Printf("%s%s from %v\n", neg, t.Field, t.DurationMin)
		default:
			fmt.Printf("%s%s %q\n", neg, t.Field, t.Text)
		}
	}

	_, err = apilog.ParseSearch(`status:4xx "flux pro`, nil)
	fmt.Println(err)
	_, err = apilog.ParseSearch(`duration:2s`, nil)
	fmt.Println(err)
	// Output:
	// status 400-499
	// not key "staging"
	// any "flux pro"
	// duration from 2s
	// apilog: bad query: q: unterminated quote (at character 12)
	// apilog: bad query: q: duration:2s: want a bound (>500ms, <=2s) or a range (1s-5s) (at character 1)
}

func ExampleKey_Status() {
	issued := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	k := apilog.Key{
		ID: "key_1", Account: "acct_1", Name: "production-api", Prefix: "bye_AB12",
		CreatedAt: issued,
		RotatedAt: issued.AddDate(0, 3, 0),
		ExpiresAt: issued.AddDate(1, 0, 0),
	}
	for _, now := range []time.Time{
		issued.AddDate(0, 1, 0),
		issued.AddDate(0, 6, 0),
		issued.AddDate(1, 0, 0), // the instant it expires
	} {
		s := k.Status(now)
		fmt.Printf("%s: %s, icon %q, color %q (%s)\n", now.Format(time.DateOnly), s, s.Icon(), s.Color(), s.Label())
	}
	k.Inactive = true
	fmt.Println("disabled:", k.Status(issued))
	fmt.Printf("unknown key: %s, icon %q\n", apilog.KeyUnknown, apilog.KeyUnknown.Icon())
	// Output:
	// 2025-02-01: active, icon "key", color "default" (Active)
	// 2025-07-01: rotated, icon "rotate", color "indigo" (Rotated)
	// 2026-01-01: expired, icon "clock", color "red" (Expired)
	// disabled: revoked
	// unknown key: unknown, icon ""
}

func ExampleClassOf() {
	for _, code := range []int{101, 204, 302, 429, 503, 0} {
		c := apilog.ClassOf(code)
		fmt.Printf("%d %s %s %s\n", code, c.Short(), c, c.Color())
	}
	c, err := apilog.ParseStatusClass("4XX")
	fmt.Println(c, err)
	// Output:
	// 101 other other gray
	// 204 2xx success green
	// 302 3xx redirect blue
	// 429 4xx client_error amber
	// 503 5xx server_error red
	// 0 other other gray
	// client_error <nil>
}

var exampleRows = []apilog.Row{
	{
		Entry: apilog.Entry{
			ID: 2, Account: "acct_1", KeyID: "key_1", RequestID: "req_2",
			Method: "POST", Endpoint: "/v1/flux-pro", Status: 422, ErrorCode: "BSE4006",
			IPHash: "9f86d081", Time: time.Date(2025, 3, 14, 15, 9, 26, 535000000, time.UTC),
			Duration: 1234567 * time.Nanosecond,
		},
		KeyName: "=cmd|' /C calc'!A0", KeyPrefix: "bye_AB12", KeyStatus: apilog.KeyRotated,
	},
	{
		Entry: apilog.Entry{
			ID: 1, Account: "acct_1", RequestID: "req_1",
			Method: "GET", Endpoint: "/v1/models", Status: 200,
			Time: time.Date(2025, 3, 14, 15, 9, 25, 0, time.UTC), Duration: 42 * time.Millisecond,
		},
	},
}

// The CSV export ends lines with CRLF; the example shows them as LF, since
// an example's output is compared with its comment as text.
func ExampleExport() {
	var b strings.Builder
	if err := apilog.Export(&b, apilog.CSV, exampleRows, false); err != nil {
		fmt.Println(err)
		return
	}
	fmt.Print(strings.ReplaceAll(b.String(), "\r\n", "\n"))
	// Output:
	// time,key_name,key_prefix,key_status,method,endpoint,status,status_class,error_code,ip_hash,request_id,duration_ms
	// 2025-03-14T15:09:26.535000000Z,'=cmd|' /C calc'!A0,bye_AB12,rotated,POST,/v1/flux-pro,422,client_error,BSE4006,9f86d081,req_2,1.235
	// 2025-03-14T15:09:25.000000000Z,,,unknown,GET,/v1/models,200,success,,,req_1,42.000
}

func ExampleExport_json() {
	if err := apilog.Export(os.Stdout, apilog.JSON, exampleRows[:1], false); err != nil {
		fmt.Println(err)
	}
	// Output:
	// [
	// {"time":"2025-03-14T15:09:26.535000000Z","key_name":"=cmd|' /C calc'!A0","key_prefix":"bye_AB12","key_status":"rotated","method":"POST","endpoint":"/v1/flux-pro","status":422,"status_class":"client_error","error_code":"BSE4006","ip_hash":"9f86d081","request_id":"req_2","duration_ms":1.235}
	// ]
}

func ExamplePage_RangeText() {
	p := apilog.Page{
		Rows:       make([]apilog.Row, 500),
		Number:     3,
		Size:       500,
		TotalRows:  12345,
		TotalPages: apilog.PageCount(12345, 500),
	}
	fmt.Println(p.RangeText())
	fmt.Println(p.PageText())

	past := apilog.Page{Number: 30, Size: 500, TotalRows: 12345, TotalPages: 25}
	fmt.Println(past.RangeText())
	// Output:
	// 1,001–1,500 of 12,345
	// Page 3 of 25
	// 0 of 12,345
}

func ExampleQuery_Apply() {
	base := time.Date(2025, 3, 14, 12, 0, 0, 0, time.UTC)
	var rows []apilog.Row
	for i, status := range []int{200, 401, 200, 500, 404, 201} {
		rows = append(rows, apilog.Row{
			Entry: apilog.Entry{
				ID: int64(i + 1), Account: "acct_1", Method: "GET", Endpoint: "/v1/models",
				Status: status, Time: base.Add(time.Duration(i) * time.Minute),
			},
			KeyName: "production-api",
		})
	}
	search, err := apilog.ParseSearch("-status:2xx", nil)
	if err != nil {
		fmt.Println(err)
		return
	}
	q := apilog.Query{
		Account:  "acct_1",
		Search:   search,
		Sort:     apilog.Sort{Column: apilog.ColumnStatus, Dir: apilog.Desc},
		PageSize: 2,
		Now:      base,
	}
	for q.Page = 1; ; q.Page++ {
		p, err := q.Apply(rows)
		if err != nil {
			fmt.Println(err)
			return
		}
		fmt.Printf("%s, %s:", p.PageText(), p.RangeText())
		for _, r := range p.Rows {
			fmt.Printf(" #%d %d", r.ID, r.Status)
		}
		fmt.Println()
		if p.Number >= p.TotalPages {
			break
		}
	}
	// Output:
	// Page 1 of 2, 1–2 of 3: #4 500 #5 404
	// Page 2 of 2, 3–3 of 3: #2 401
}

// ExportQuery writes every row a view selects, all pages of it, pinned to
// the rows its first page was read at; past its limit it writes nothing
// and says how many rows match.
func ExampleExportQuery() {
	ctx := context.Background()
	store := memstore.New(nil)
	defer store.Close()
	start := time.Date(2026, 12, 3, 9, 0, 0, 0, time.UTC)
	for i, status := range []int{200, 404, 401, 200, 500} {
		store.Append(ctx, []apilog.Entry{{Account: "acct_1", RequestID: fmt.Sprint("req_", i), Method: "GET",
			Endpoint: "/v1/models", Status: status, Time: start.Add(time.Duration(i) * time.Second)}})
	}
	q := apilog.Query{Account: "acct_1", StatusClasses: []apilog.StatusClass{apilog.StatusClientError}, PageSize: 1}
	page, err := store.Query(ctx, q)
	if err != nil {
		fmt.Println(err)
		return
	}
	// A row that arrives after the page was read is not in its export.
	store.Append(ctx, []apilog.Entry{{Account: "acct_1", RequestID: "req_late", Method: "GET",
		Endpoint: "/v1/models", Status: 429, Time: start.Add(time.Minute)}})

	q.MaxID = page.MaxID
	n, err := apilog.ExportQuery(ctx, os.Stdout, apilog.JSON, store, q, 0)
	fmt.Println(n, "rows of", page.TotalRows, err)

	_, err = apilog.ExportQuery(ctx, os.Stdout, apilog.CSV, store, apilog.Query{Account: "acct_1"}, 3)
	var tooMany *apilog.TooManyRowsError
	if errors.As(err, &tooMany) {
		fmt.Printf("%d rows match; an export holds at most %d\n", tooMany.Rows, tooMany.Limit)
	}
	// Output:
	// [
	// {"time":"2026-12-03T09:00:02.000000000Z","key_name":"","key_prefix":"","key_status":"unknown","method":"GET","endpoint":"/v1/models","status":401,"status_class":"client_error","error_code":"","ip_hash":"","request_id":"req_2","duration_ms":0.000},
	// {"time":"2026-12-03T09:00:01.000000000Z","key_name":"","key_prefix":"","key_status":"unknown","method":"GET","endpoint":"/v1/models","status":404,"status_class":"client_error","error_code":"","ip_hash":"","request_id":"req_1","duration_ms":0.000}
	// ]
	// 2 rows of 2 <nil>
	// 6 rows match; an export holds at most 3
}

func ExampleCountVolume() {
	ctx := context.Background()
	store := memstore.New(nil)
	defer store.Close()
	start := time.Date(2026, 12, 3, 9, 0, 0, 0, time.UTC)
	var entries []apilog.Entry
	for i := range 360 { // six hours, a request a minute, every tenth a 500
		status := 200
		if i%10 == 0 {
			status = 500
		}
		entries = append(entries, apilog.Entry{Account: "acct_1", Method: "GET", Endpoint: "/v1/models",
			Status: status, Time: start.Add(time.Duration(i) * time.Minute)})
	}
	store.Append(ctx, entries)

	// All time: the chart spans the account's first to last row.
	vol, err := apilog.CountVolume(ctx, store, apilog.Query{Account: "acct_1"})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(vol.N, "bars of", vol.Step, "from", vol.Start.Format(time.Kitchen))
	c := vol.Counts[0]
	fmt.Println("first bar:", c.Total(), "requests,", c[apilog.StatusServerError], "of them 5xx")

	// The same filters as the table's: only the server errors.
	q := apilog.Query{Account: "acct_1", StatusClasses: []apilog.StatusClass{apilog.StatusServerError}}
	if vol, err = apilog.CountVolume(ctx, store, q); err == nil {
		fmt.Println("5xx in the first bar:", vol.Counts[0].Total())
	}
	// Output:
	// 72 bars of 5m0s from 9:00AM
	// first bar: 5 requests, 1 of them 5xx
	// 5xx in the first bar: 1
}
