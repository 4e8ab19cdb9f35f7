package httpui_test

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/apilog/apilog"
	"github.com/apilog/apilog/httpui"
)

// TestExportAll: an export of all rows is every row of the view, in its
// order, the count the page shows, pinned to the rows the page was read
// at; in JSON as in CSV.
func TestExportAll(t *testing.T) {
	s := newStore(t)
	h := newHandler(t, s, nil)
	view := "status=4xx&sort=endpoint&dir=asc"
	p := decodeAPI(t, get(t, h, "/api/logs?"+view))
	var api struct {
		ExportAll   string `json:"export_all"`
		ExportAllOK bool   `json:"export_all_ok"`
	}
	json.Unmarshal(get(t, h, "/api/logs?"+view).Body.Bytes(), &api)
	if api.ExportAll != "All 300 rows" || !api.ExportAllOK || p.TotalRows != 300 {
		t.Errorf("the API says %q (ok %v) of %d rows, want \"All 300 rows\"", api.ExportAll, api.ExportAllOK, p.TotalRows)
	}
	if body := get(t, h, "/?"+view).Body.String(); !strings.Contains(body, `<span id="export-all-text">All 300 rows</span>`) ||
		!strings.Contains(body, `formaction="export-all.csv">CSV`) {
		t.Errorf("the page does not offer to export all 300 rows:\n%s", body)
	}
	// New matching rows arrive; the view's pin keeps them out.
	var late []apilog.Entry
	for range 7 {
		late = append(late, apilog.Entry{Account: "acct_a", KeyID: "k1", Method: "GET", Endpoint: "/v1/late", Status: 404, Time: t0.Add(time.Minute), RequestID: "req-late"})
	}
	if err := s.Append(context.Background(), late); err != nil {
		t.Fatal(err)
	}
	want := func(maxID int64) []string {
		var ids []string
		q := apilog.Query{Account: "acct_a", StatusClasses: []apilog.StatusClass{apilog.StatusClientError},
			Sort: apilog.Sort{Column: apilog.ColumnEndpoint, Dir: apilog.Asc}, MaxID: maxID}
		apilog.Stream(context.Background(), s, q, 10_000, func(rows []apilog.Row) error {
			for _, r := range rows {
				ids = append(ids, r.Time.UTC().Format("2006-01-02T15:04:05.000000000Z")+" "+r.Endpoint)
			}
			return nil
		})
		return ids
	}
	for _, tt := range []struct {
		query string
		want  []string
	}{
		{view + "&max_id=" + itoa(p.MaxID), want(p.MaxID)},
		{view, want(0)},
	} {
		w := get(t, h, "/export-all.csv?"+tt.query)
		recs, err := csv.NewReader(w.Body).ReadAll()
		if w.Code != 200 || err != nil || len(recs) == 0 {
			t.Fatalf("export-all.csv?%s: %d, %v", tt.query, w.Code, err)
		}
		var got []string
		for _, r := range recs[1:] {
			got = append(got, r[0]+" "+r[5])
		}
		if strings.Join(got, "\n") != strings.Join(tt.want, "\n") {
			t.Errorf("export-all.csv?%s: %d rows, want the %d of the view in its order", tt.query, len(got), len(tt.want))
		}
		var objs []map[string]any
		w = get(t, h, "/export-all.json?"+tt.query)
		if err := json.Unmarshal(w.Body.Bytes(), &objs); err != nil || len(objs) != len(tt.want) {
			t.Errorf("export-all.json?%s: %d objects (%v), want %d", tt.query, len(objs), err, len(tt.want))
		}
	}
	if n := len(want(p.MaxID)); n != 300 {
		t.Errorf("the pinned view has %d rows, want the page's 300", n)
	}
}

// TestExportAllLimit: past ExportLimit the buttons say why and are off,
// and the export is refused with the reason; a negative limit removes it.
func TestExportAllLimit(t *testing.T) {
	h := newHandler(t, newStore(t), &httpui.Options{Authorize: asViewer("acct_a"), ExportLimit: 1000})
	const text = "All 1,201 rows: over the export limit of 1,000"
	body := get(t, h, "/").Body.String()
	if !strings.Contains(body, `<span id="export-all-text">`+text+`</span>`) || !strings.Contains(body, `formaction="export-all.csv" disabled>`) {
		t.Errorf("the page does not say the view is over the limit, or offers its export")
	}
	w := get(t, h, "/export-all.csv")
	var e struct{ Error string }
	json.Unmarshal(w.Body.Bytes(), &e)
	if w.Code != http.StatusUnprocessableEntity || e.Error != text+": narrow the search or the time range, or export page by page" || w.Header().Get("Content-Disposition") != "" {
		t.Errorf("export-all past the limit: %d %q (Content-Disposition %q)", w.Code, w.Body, w.Header().Get("Content-Disposition"))
	}
	if w := get(t, h, "/export-all.csv?status=4xx"); w.Code != 200 {
		t.Errorf("export-all of 300 rows under the limit: %d", w.Code)
	}

	h = newHandler(t, newStore(t), &httpui.Options{Authorize: asViewer("acct_a"), ExportLimit: -1})
	if w := get(t, h, "/export-all.csv"); w.Code != 404 {
		t.Errorf("export-all turned off: %d, want 404", w.Code)
	}
	if body := get(t, h, "/").Body.String(); !strings.Contains(body, `<span class="exports" id="export-all" hidden`) {
		t.Errorf("export-all turned off, and the page shows its buttons")
	}
}

// gatedStore streams its rows as one batch, then, unless it fails with
// err, again each time gate lets it, until the request ends; started is
// told of each stream.
type gatedStore struct {
	apilog.Store
	rows    []apilog.Row
	gate    chan struct{}
	started chan string
	err     error
}

func (s *gatedStore) Stream(ctx context.Context, q apilog.Query, limit int, yield func([]apilog.Row) error) error {
	s.started <- q.Account
	for {
		if err := yield(s.rows); err != nil {
			return err
		}
		if s.err != nil {
			return s.err
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-s.gate:
		}
	}
}

func storeRows(t *testing.T, s apilog.Store) []apilog.Row {
	p, err := s.Query(context.Background(), apilog.Query{Account: "acct_a"})
	if err != nil {
		t.Fatal(err)
	}
	return p.Rows
}

// TestExportAllTurns: one export of all rows at a time per viewer, and a
// few in all; a client that goes away frees its turn.
func TestExportAllTurns(t *testing.T) {
	base := newStore(t)
	s := &gatedStore{Store: base, rows: storeRows(t, base), gate: make(chan struct{}), started: make(chan string, 10)}
	h := newHandler(t, s, &httpui.Options{Authorize: func(r *http.Request) (httpui.Viewer, error) {
		return httpui.Viewer{Account: r.Header.Get("X-Tenant")}, nil
	}})
	srv := httptest.NewServer(h)
	defer srv.Close()
	// open starts an export; its response comes with the first batch, and
	// the export goes on (waiting at the gate) until the body is closed.
	open := func(tenant string) *http.Response {
		t.Helper()
		req, _ := http.NewRequest("GET", srv.URL+"/export-all.csv", nil)
		req.Header.Set("X-Tenant", tenant)
		res, err := srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		return res
	}
	a, b := open("acct_a"), open("acct_b")
	defer b.Body.Close()
	if a.StatusCode != 200 || b.StatusCode != 200 {
		t.Fatalf("two viewers' exports: %d and %d, want 200", a.StatusCode, b.StatusCode)
	}
	// Both run: the same viewer again, and a third viewer, are turned
	// away, told when to come back.
	for _, tt := range []struct {
		tenant string
		code   int
	}{{"acct_a", http.StatusTooManyRequests}, {"acct_c", http.StatusServiceUnavailable}} {
		res := open(tt.tenant)
		msg, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if res.StatusCode != tt.code || res.Header.Get("Retry-After") == "" || !bytes.Contains(msg, []byte("try again")) {
			t.Errorf("%s during two exports: %d %s, want %d with Retry-After", tt.tenant, res.StatusCode, msg, tt.code)
		}
	}
	// A HEAD takes no turn.
	req, _ := http.NewRequest("HEAD", srv.URL+"/export-all.csv", nil)
	req.Header.Set("X-Tenant", "acct_a")
	if res, err := srv.Client().Do(req); err != nil || res.StatusCode != 200 {
		t.Errorf("HEAD during two exports: %v, %v; want 200", res, err)
	}
	// acct_a's client reads a little and goes away: its turn is freed.
	if _, err := io.ReadFull(a.Body, make([]byte, 100)); err != nil {
		t.Fatal(err)
	}
	a.Body.Close()
	deadline := time.Now().Add(10 * time.Second)
	for {
		res := open("acct_a")
		res.Body.Close()
		if res.StatusCode == 200 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("acct_a's export still holds its turn 10 s after its client left: %d", res.StatusCode)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestExportAllCut: a store that fails midway ends the file with a row
// that says so, in the reader's words, and the host's log has the cause.
func TestExportAllCut(t *testing.T) {
	base := newStore(t)
	s := &gatedStore{Store: base, rows: storeRows(t, base), started: make(chan string, 1),
		err: errors.New("sqlitestore: disk I/O error at /var/lib/secret.db")}
	var logs bytes.Buffer
	h := newHandler(t, s, &httpui.Options{Authorize: asViewer("acct_a"), Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	w := get(t, h, "/export-all.csv")
	recs, err := csv.NewReader(w.Body).ReadAll()
	if w.Code != 200 || err != nil || len(recs) != 2+500 {
		t.Fatalf("cut export: %d, %d records, %v; want a header, 500 rows and the error row", w.Code, len(recs), err)
	}
	if last := recs[len(recs)-1][0]; last != "ERROR: export cut short after 500 rows: the log could not be read" {
		t.Errorf("the cut export ends with %q", last)
	}
	if strings.Contains(w.Body.String(), "secret.db") {
		t.Error("the export shows the store's own error")
	}
	if !strings.Contains(logs.String(), "cut short") || !strings.Contains(logs.String(), "rows=500") || !strings.Contains(logs.String(), "disk I/O") {
		t.Errorf("the log does not have the cut and its cause: %s", logs.String())
	}
}

// TestExportAllBudget: finding the rows is bounded like a page's query
// (QueryTimeout: 503 and what to do), and the whole export by
// ExportTimeout (the file ends saying so); a refusal to a browser's form
// is a page that reads as one.
func TestExportAllBudget(t *testing.T) {
	base := newStore(t)
	// Never finds its rows: no gate opens before the first batch.
	never := &gatedStore{Store: base, gate: make(chan struct{}), started: make(chan string, 10)}
	h := newHandler(t, stuckStore{never}, &httpui.Options{Authorize: asViewer("acct_a"), QueryTimeout: 200 * time.Millisecond})
	w := get(t, h, "/export-all.csv")
	if w.Code != http.StatusServiceUnavailable || !strings.Contains(w.Body.String(), "took too long") || w.Header().Get("Content-Disposition") != "" {
		t.Errorf("an export whose rows are not found within QueryTimeout: %d %q, want 503 saying it took too long", w.Code, w.Body)
	}

	slow := &gatedStore{Store: base, rows: storeRows(t, base), gate: make(chan struct{}), started: make(chan string, 10)}
	h = newHandler(t, slow, &httpui.Options{Authorize: asViewer("acct_a"), ExportTimeout: 300 * time.Millisecond})
	w = get(t, h, "/export-all.csv")
	recs, err := csv.NewReader(w.Body).ReadAll()
	if err != nil || len(recs) != 502 || recs[501][0] != "ERROR: export cut short after 500 rows: it ran for the 300ms an export may take" {
		t.Errorf("an export past ExportTimeout: %d records (%v), ending %q", len(recs), err, recs[len(recs)-1][0])
	}

	h = newHandler(t, newStore(t), &httpui.Options{Authorize: asViewer("acct_a"), ExportLimit: 10})
	w = get(t, h, "/export-all.csv", "Sec-Fetch-Dest", "document")
	if body := w.Body.String(); w.Code != http.StatusUnprocessableEntity || !strings.HasPrefix(w.Header().Get("Content-Type"), "text/html") ||
		!strings.Contains(body, "All 1,201 rows: over the export limit of 10") {
		t.Errorf("export-all past the limit, from the page's form: %d %s, want the reason on a page", w.Code, w.Header().Get("Content-Type"))
	}
}

// stuckStore streams nothing until its request ends.
type stuckStore struct{ *gatedStore }

func (s stuckStore) Stream(ctx context.Context, q apilog.Query, limit int, yield func([]apilog.Row) error) error {
	<-ctx.Done()
	return ctx.Err()
}

// TestLivePoll: a live page's poll (since=) is answered "unchanged" from
// the scope's last row ID until one of the viewer's rows arrives; another
// tenant's rows change nothing. The page keeps Live in its links.
func TestLivePoll(t *testing.T) {
	s := newStore(t)
	h := newHandler(t, s, nil)
	p := decodeAPI(t, get(t, h, "/api/logs?live=1"))
	since := "/api/logs?live=1&q=GET&since=" + itoa(p.MaxID)
	unchanged := `{"unchanged":true,"max_id":` + itoa(p.MaxID) + "}\n"
	if w := get(t, h, since); w.Code != 200 || w.Body.String() != unchanged {
		t.Errorf("a poll with nothing new: %d %q, want %q", w.Code, w.Body, unchanged)
	}
	add := func(account string) {
		if err := s.Append(context.Background(), []apilog.Entry{{Account: account, KeyID: "k1", Method: "GET", Endpoint: "/v1/new",
			Status: 200, Time: t0.Add(time.Hour), RequestID: "req-new"}}); err != nil {
			t.Fatal(err)
		}
	}
	add("acct_b")
	if w := get(t, h, since); w.Body.String() != unchanged {
		t.Errorf("a poll after another tenant's row: %q, want %q", w.Body, unchanged)
	}
	add("acct_a")
	q := decodeAPI(t, get(t, h, since))
	if q.TotalRows != 900+1 || q.Rows[0].Endpoint != "/v1/new" || q.MaxID <= p.MaxID {
		t.Errorf("a poll after the viewer's row: %d rows, first %q, max_id %d; want the view's 901 with the new one first", q.TotalRows, q.Rows[0].Endpoint, q.MaxID)
	}
	for _, bad := range []string{"since=abc", "since=0", "since=-1", "since=1&since=abc", "live=yes", "live=1&live=1"} {
		w := get(t, h, "/api/logs?"+bad)
		var e struct{ Error, Param string }
		json.Unmarshal(w.Body.Bytes(), &e)
		if w.Code != 400 || (e.Param != "since" && e.Param != "live") {
			t.Errorf("%s: %d %q, want 400 naming the parameter", bad, w.Code, w.Body)
		}
	}
	body := get(t, h, "/?live=1&status=4xx").Body.String()
	if !strings.Contains(body, `name="live" value="1" checked`) || !strings.Contains(body, `?dir=asc&amp;live=1&amp;sort=`) ||
		!strings.Contains(body, `<a class="clear" href="?live=1"`) {
		t.Errorf("the live page does not keep Live ticked and in its links, Clear included")
	}
}
