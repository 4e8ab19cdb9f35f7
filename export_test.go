package apilog_test

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/apilog/apilog"
)

// exportRows are two rows: a known key with every field set, in a zone
// that is not UTC and with nanoseconds; and an unknown key.
var exportRows = []apilog.Row{
	{
		Entry: apilog.Entry{
			ID: 1, Account: "acct_1", KeyID: "key_1", RequestID: "req_1",
			Method: "POST", Endpoint: "/v1/flux-pro", Status: 201, IPHash: "9f86d081",
			Time:     time.Date(2025, 3, 14, 16, 9, 26, 535897932, time.FixedZone("CET", 3600)),
			Duration: 1234567 * time.Nanosecond,
		},
		KeyName: "Production-API", KeyPrefix: "bye_AB12", KeyStatus: apilog.KeyActive,
	},
	{
		Entry: apilog.Entry{
			ID: 2, Account: "acct_1", RequestID: "req_2",
			Method: "GET", Endpoint: "/v1/models", Status: 503, ErrorCode: "BSE5003",
			Time:     time.Date(2025, 3, 14, 15, 9, 27, 0, time.UTC),
			Duration: 2*time.Second + 500*time.Microsecond,
		},
	},
}

const csvHeader = "time,key_name,key_prefix,key_status,method,endpoint,status,status_class,error_code,ip_hash,request_id,duration_ms\r\n"

func export(t *testing.T, f apilog.Format, rows []apilog.Row) string {
	t.Helper()
	var b bytes.Buffer
	if err := apilog.Export(&b, f, rows, false); err != nil {
		t.Fatalf("Export(%s): %v", f, err)
	}
	return b.String()
}

// TestExportAccounts: an export of every account's rows begins each row,
// and the header, with the account, formula-safe like every text cell; an
// error row keeps the width; a tenant's export has no such column.
func TestExportAccounts(t *testing.T) {
	rows := slices.Clone(exportRows)
	rows[1].Account = "=acct_2"
	var b bytes.Buffer
	if err := apilog.Export(&b, apilog.CSV, rows, true); err != nil {
		t.Fatal(err)
	}
	want := "account," + csvHeader +
		"acct_1,2025-03-14T15:09:26.535897932Z,Production-API,bye_AB12,active,POST,/v1/flux-pro,201,success,,9f86d081,req_1,1.235\r\n" +
		"'=acct_2,2025-03-14T15:09:27.000000000Z,,,unknown,GET,/v1/models,503,server_error,BSE5003,,req_2,2000.500\r\n"
	if b.String() != want {
		t.Errorf("Export(csv, accounts) =\n%q\nwant\n%q", b.String(), want)
	}
	b.Reset()
	if err := apilog.Export(&b, apilog.JSON, rows[:1], true); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(b.String(), `[`+"\n"+`{"account":"acct_1","time":`) {
		t.Errorf("Export(json, accounts) = %s, want each object to begin with its account", b.String())
	}
	b.Reset()
	e, _ := apilog.NewExporter(&b, apilog.CSV)
	e.WithAccounts().CloseWithError(errors.New("cut"))
	if lines := strings.Split(strings.TrimSpace(b.String()), "\r\n"); len(lines) != 2 || strings.Count(lines[1], ",") != strings.Count(lines[0], ",") {
		t.Errorf("an error row with accounts: %q, want as many cells as the header", lines)
	}
	if got := export(t, apilog.CSV, rows); strings.Contains(got, "acct_") {
		t.Errorf("a tenant's export shows accounts: %q", got)
	}
}

func TestExportCSV(t *testing.T) {
	want := csvHeader +
		"2025-03-14T15:09:26.535897932Z,Production-API,bye_AB12,active,POST,/v1/flux-pro,201,success,,9f86d081,req_1,1.235\r\n" +
		"2025-03-14T15:09:27.000000000Z,,,unknown,GET,/v1/models,503,server_error,BSE5003,,req_2,2000.500\r\n"
	if got := export(t, apilog.CSV, exportRows); got != want {
		t.Errorf("Export(csv) =\n%q\nwant\n%q", got, want)
	}
}

func TestExportEmpty(t *testing.T) {
	if got, want := export(t, apilog.CSV, nil), csvHeader; got != want {
		t.Errorf("empty Export(csv) = %q, want %q", got, want)
	}
	got := export(t, apilog.JSON, nil)
	// The empty JSON export is "[", a line end, "]" and a line end.
	if want := "[]\n"; got != want {
		t.Errorf("empty Export(json) = %q, want %q", got, want)
	}
	var v []any
	if err := json.Unmarshal([]byte(got), &v); err != nil || v == nil || len(v) != 0 {
		t.Errorf("empty Export(json) = %q decodes to %#v, %v; want an empty array", got, v, err)
	}
}

func TestExportCSVDuration(t *testing.T) {
	for _, tt := range []struct {
		d    time.Duration
		want string
	}{
		{0, "0.000"},
		{1, "0.000"},
		{999_999, "1.000"},
		{time.Millisecond, "1.000"},
		{1234567, "1.235"},
		{1234432, "1.234"},
		{90 * time.Second, "90000.000"},
		{time.Hour, "3600000.000"},
	} {
		r := exportRows[0]
		r.Duration = tt.d
		recs := parseCSV(t, export(t, apilog.CSV, []apilog.Row{r}))
		if got := recs[1][11]; got != tt.want {
			t.Errorf("duration %v: duration_ms = %q, want %q", tt.d, got, tt.want)
		}
	}
}

func TestExportCSVStatusAndKey(t *testing.T) {
	for _, tt := range []struct {
		status    int
		key       apilog.KeyStatus
		wantClass string
		wantKey   string
	}{
		{0, apilog.KeyUnknown, "other", "unknown"},
		{200, apilog.KeyActive, "success", "active"},
		{302, apilog.KeyRotated, "redirect", "rotated"},
		{401, apilog.KeyExpired, "client_error", "expired"},
		{599, apilog.KeyRevoked, "server_error", "revoked"},
		{600, apilog.KeyStatus(9), "other", "unknown"},
	} {
		r := exportRows[0]
		r.Status, r.KeyStatus = tt.status, tt.key
		rec := parseCSV(t, export(t, apilog.CSV, []apilog.Row{r}))[1]
		if rec[3] != tt.wantKey || rec[7] != tt.wantClass {
			t.Errorf("status %d, key %d: key_status %q, status_class %q; want %q, %q", tt.status, int(tt.key), rec[3], rec[7], tt.wantKey, tt.wantClass)
		}
	}
}

func parseCSV(t *testing.T, s string) [][]string {
	t.Helper()
	recs, err := csv.NewReader(strings.NewReader(s)).ReadAll()
	if err != nil {
		t.Fatalf("reading back the CSV %q: %v", s, err)
	}
	if len(recs) == 0 || !slices.Equal(recs[0], apilog.ExportColumns) {
		t.Fatalf("CSV header = %q, want %q", recs, apilog.ExportColumns)
	}
	return recs
}

// textFields are the user-controlled text columns of an export, by their
// index in ExportColumns.
var textFields = []struct {
	column int
	set    func(r *apilog.Row, v string)
}{
	{1, func(r *apilog.Row, v string) { r.KeyName = v }},
	{2, func(r *apilog.Row, v string) { r.KeyPrefix = v }},
	{4, func(r *apilog.Row, v string) { r.Method = v }},
	{5, func(r *apilog.Row, v string) { r.Endpoint = v }},
	{8, func(r *apilog.Row, v string) { r.ErrorCode = v }},
	{9, func(r *apilog.Row, v string) { r.IPHash = v }},
	{10, func(r *apilog.Row, v string) { r.RequestID = v }},
}

func TestExportFormulaInjection(t *testing.T) {
	tests := []struct {
		in, want string // want is the field as read back from the CSV
	}{
		{`=HYPERLINK("x")`, `'=HYPERLINK("x")`},
		{"=1+1", "'=1+1"},
		{"+1", "'+1"},
		{"-1", "'-1"},
		{"-", "'-"},
		{"@SUM(A1)", "'@SUM(A1)"},
		{"\t=1", "'\t=1"},
		// Not formulas: kept as they are.
		{"", ""},
		{"a=b", "a=b"},
		{"1+1", "1+1"},
		{"user@example.com", "user@example.com"},
		{"'quoted", "'quoted"},
		{"/v1/x-y", "/v1/x-y"},
		// Quoting.
		{"a,b", "a,b"},
		{`say "hi"`, `say "hi"`},
		{"line1\nline2", "line1\nline2"},
		{`-a,"b"` + "\n", `'-a,"b"` + "\n"},
		{" leading space", " leading space"},
	}
	for _, tt := range tests {
		for _, f := range textFields {
			r := exportRows[0]
			f.set(&r, tt.in)
			csvOut := export(t, apilog.CSV, []apilog.Row{r})
			recs := parseCSV(t, csvOut)
			if len(recs) != 2 {
				t.Errorf("%s = %q: CSV has %d records, want 2:\n%q", apilog.ExportColumns[f.column], tt.in, len(recs), csvOut)
				continue
			}
			if got := recs[1][f.column]; got != tt.want {
				t.Errorf("%s = %q: CSV field = %q, want %q", apilog.ExportColumns[f.column], tt.in, got, tt.want)
			}
			// The JSON export keeps the value unaltered.
			objs := decodeJSONExport(t, export(t, apilog.JSON, []apilog.Row{r}))
			if got := objs[0][apilog.ExportColumns[f.column]]; got != tt.in {
				t.Errorf("%s = %q: JSON value = %#v, want it unaltered", apilog.ExportColumns[f.column], tt.in, got)
			}
		}
	}
}

// TestExportCSVCarriageReturn is about a value that holds a carriage
// return: a formula that begins with one must be defused, and the value must
// come back from the CSV as it was.
func TestExportCSVCarriageReturn(t *testing.T) {
	for _, in := range []string{"\r=1", "a\rb"} {
		r := exportRows[0]
		r.KeyName = in
		got := parseCSV(t, export(t, apilog.CSV, []apilog.Row{r}))[1][1]
		if in[0] == '\r' && !strings.HasPrefix(got, "'") {
			t.Errorf("key name %q: CSV field %q is not defused", in, got)
		}
	}
	for _, in := range []string{"\r=1", "a\rb"} {
		r := exportRows[0]
		r.KeyName = in
		want := in
		if in[0] == '\r' {
			want = "'" + in
		}
		if got := parseCSV(t, export(t, apilog.CSV, []apilog.Row{r}))[1][1]; got != want {
			t.Errorf("key name %q: CSV field %q, want %q", in, got, want)
		}
	}
}

// decodeJSONExport decodes a JSON export and checks that every object has
// exactly the keys of ExportColumns, in that order.
func decodeJSONExport(t *testing.T, s string) []map[string]any {
	t.Helper()
	dec := json.NewDecoder(strings.NewReader(s))
	dec.UseNumber()
	var objs []map[string]any
	if err := dec.Decode(&objs); err != nil {
		t.Fatalf("decoding the JSON export %q: %v", s, err)
	}
	if objs == nil {
		t.Fatalf("JSON export %q is not an array", s)
	}
	if _, err := dec.Token(); err != io.EOF {
		t.Errorf("JSON export %q: more after the array", s)
	}
	// Key order, from the token stream.
	dec = json.NewDecoder(strings.NewReader(s))
	fatal := func(what string, err error) {
		t.Helper()
		t.Fatalf("JSON export %q: reading %s: %v", s, what, err)
	}
	if tok, err := dec.Token(); err != nil || tok != json.Delim('[') {
		fatal("[", err)
	}
	for i := 0; dec.More(); i++ {
		if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
			fatal("{", err)
		}
		var keys []string
		for dec.More() {
			tok, err := dec.Token()
			if err != nil {
				fatal("a key", err)
			}
			keys = append(keys, tok.(string))
			var v json.RawMessage
			if err := dec.Decode(&v); err != nil {
				fatal("a value", err)
			}
		}
		if tok, err := dec.Token(); err != nil || tok != json.Delim('}') {
			fatal("}", err)
		}
		if !slices.Equal(keys, apilog.ExportColumns) {
			t.Errorf("JSON object %d has keys %q, want %q", i, keys, apilog.ExportColumns)
		}
	}
	return objs
}

func TestExportJSON(t *testing.T) {
	out := export(t, apilog.JSON, exportRows)
	if !strings.HasPrefix(out, "[\n{") || !strings.HasSuffix(out, "}\n]\n") || strings.Count(out, "\n") != 4 {
		t.Errorf("Export(json) = %q, want one object per line between [ and ]", out)
	}
	objs := decodeJSONExport(t, out)
	want := []map[string]any{
		{
			"time": "2025-03-14T15:09:26.535897932Z", "key_name": "Production-API", "key_prefix": "bye_AB12",
			"key_status": "active", "method": "POST", "endpoint": "/v1/flux-pro", "status": json.Number("201"),
			"status_class": "success", "error_code": "", "ip_hash": "9f86d081", "request_id": "req_1",
			"duration_ms": json.Number("1.235"),
		},
		{
			"time": "2025-03-14T15:09:27.000000000Z", "key_name": "", "key_prefix": "",
			"key_status": "unknown", "method": "GET", "endpoint": "/v1/models", "status": json.Number("503"),
			"status_class": "server_error", "error_code": "BSE5003", "ip_hash": "", "request_id": "req_2",
			"duration_ms": json.Number("2000.500"),
		},
	}
	if len(objs) != len(want) {
		t.Fatalf("Export(json) has %d objects, want %d", len(objs), len(want))
	}
	for i := range want {
		for k, v := range want[i] {
			if got := objs[i][k]; got != v {
				t.Errorf("object %d: %s = %#v, want %#v", i, k, got, v)
			}
		}
	}
}

func TestExportJSONUnaltered(t *testing.T) {
	r := exportRows[0]
	r.KeyName = `<b>"Prod" & co</b> ✓`
	r.Endpoint = "/v1/päth\twith\u2028separator"
	r.ErrorCode = `=HYPERLINK("x")`
	out := export(t, apilog.JSON, []apilog.Row{r})
	if !strings.Contains(out, `<b>\"Prod\" & co</b> ✓`) {
		t.Errorf("Export(json) = %q: HTML characters or UTF-8 were escaped", out)
	}
	objs := decodeJSONExport(t, out)
	for k, want := range map[string]string{"key_name": r.KeyName, "endpoint": r.Endpoint, "error_code": r.ErrorCode} {
		if got := objs[0][k]; got != want {
			t.Errorf("%s = %#v, want %q", k, got, want)
		}
	}
}

func TestParseFormat(t *testing.T) {
	for _, tt := range []struct {
		in   string
		want apilog.Format
	}{
		{"csv", apilog.CSV},
		{"CSV", apilog.CSV},
		{"json", apilog.JSON},
		{"JSON", apilog.JSON},
		{"Json", apilog.JSON},
	} {
		if got, err := apilog.ParseFormat(tt.in); err != nil || got != tt.want {
			t.Errorf("ParseFormat(%q) = %q, %v; want %q, nil", tt.in, got, err, tt.want)
		}
	}
	for _, in := range []string{"xml", "", "csv ", "tsv", "jsonl"} {
		got, err := apilog.ParseFormat(in)
		if err == nil {
			t.Errorf("ParseFormat(%q) = %q, want an error", in, got)
			continue
		}
		if !errors.Is(err, apilog.ErrBadQuery) {
			t.Errorf("ParseFormat(%q) error %q does not wrap ErrBadQuery", in, err)
		}
		if want := `"` + in + `"`; !strings.Contains(err.Error(), want) {
			t.Errorf("ParseFormat(%q) error %q does not name %s", in, err, want)
		}
	}
	if got, want := apilog.CSV.ContentType(), "text/csv; charset=utf-8"; got != want {
		t.Errorf("CSV.ContentType() = %q, want %q", got, want)
	}
	if got, want := apilog.JSON.ContentType(), "application/json"; got != want {
		t.Errorf("JSON.ContentType() = %q, want %q", got, want)
	}
}

func TestNewExporterBadFormat(t *testing.T) {
	for _, f := range []apilog.Format{"xml", ""} {
		var b bytes.Buffer
		e, err := apilog.NewExporter(&b, f)
		if !errors.Is(err, apilog.ErrBadQuery) || e != nil {
			t.Errorf("NewExporter(%q) = %v, %v; want nil and an error wrapping ErrBadQuery", f, e, err)
		}
		if err := apilog.Export(&b, f, exportRows, false); !errors.Is(err, apilog.ErrBadQuery) {
			t.Errorf("Export(%q) = %v, want an error wrapping ErrBadQuery", f, err)
		}
		if b.Len() != 0 {
			t.Errorf("Export(%q) wrote %q", f, b.String())
		}
	}
}

// TestExportFormatCase exports in a format spelled in upper case, which
// ParseFormat and NewExporter accept.
func TestExportFormatCase(t *testing.T) {
	for _, f := range []apilog.Format{"CSV", "Json"} {
		lower := apilog.Format(strings.ToLower(string(f)))
		if got, want := export(t, f, exportRows), export(t, lower, exportRows); got != want {
			t.Errorf("Export(%q) = %q, want the same as Export(%q), %q", f, got, lower, want)
		}
	}
}

func TestExporterClose(t *testing.T) {
	for _, f := range []apilog.Format{apilog.CSV, apilog.JSON} {
		t.Run(string(f), func(t *testing.T) {
			var b bytes.Buffer
			e, err := apilog.NewExporter(&b, f)
			if err != nil {
				t.Fatal(err)
			}
			for i := range exportRows {
				if err := e.Write(&exportRows[i]); err != nil {
					t.Fatalf("Write: %v", err)
				}
			}
			if err := e.Close(); err != nil {
				t.Fatalf("Close: %v", err)
			}
			want := b.String()
			if err := e.Close(); err != nil {
				t.Errorf("second Close = %v, want nil like the first", err)
			}
			if err := e.Write(&exportRows[0]); err == nil {
				t.Errorf("Write after Close = nil, want an error")
			}
			if err := e.Close(); err != nil {
				t.Errorf("Close after a Write after Close = %v, want nil", err)
			}
			if got := b.String(); got != want {
				t.Errorf("output changed after Close: %q, was %q", got, want)
			}
			if want != export(t, f, exportRows) {
				t.Errorf("Exporter output %q differs from Export", want)
			}
		})
	}
}

var errDiskFull = errors.New("disk full")

// failWriter accepts ok bytes, then fails every write with errDiskFull.
type failWriter struct {
	ok, n int
	calls int
}

func (w *failWriter) Write(p []byte) (int, error) {
	w.calls++
	if w.n+len(p) > w.ok {
		k := max(w.ok-w.n, 0)
		w.n += k
		return k, errDiskFull
	}
	w.n += len(p)
	return len(p), nil
}

func TestExporterWriteError(t *testing.T) {
	for _, f := range []apilog.Format{apilog.CSV, apilog.JSON} {
		for _, ok := range []int{0, 100, 5000} {
			t.Run(fmt.Sprintf("%s/ok=%d", f, ok), func(t *testing.T) {
				w := &failWriter{ok: ok}
				e, err := apilog.NewExporter(w, f)
				if err != nil {
					t.Fatal(err)
				}
				// Buffered writes succeed until a flush fails; from then on
				// every Write returns the error.
				failedAt := -1
				for i := range 10000 {
					err := e.Write(&exportRows[i%2])
					if err != nil && !errors.Is(err, errDiskFull) {
						t.Fatalf("Write %d = %v, want an error wrapping errDiskFull", i, err)
					}
					if err == nil && failedAt >= 0 {
						t.Fatalf("Write %d = nil after Write %d failed", i, failedAt)
					}
					if err != nil && failedAt < 0 {
						failedAt = i
					}
				}
				if failedAt < 0 {
					t.Errorf("10,000 Writes to a failing writer all returned nil")
				}
				calls := w.calls
				if err := e.Write(&exportRows[0]); !errors.Is(err, errDiskFull) || w.calls != calls {
					t.Errorf("Write after an error = %v, %d more writes; want errDiskFull and none", err, w.calls-calls)
				}
				err1 := e.Close()
				if !errors.Is(err1, errDiskFull) {
					t.Errorf("Close = %v, want errDiskFull", err1)
				}
				if err2 := e.Close(); err2 != err1 {
					t.Errorf("second Close = %v, want the first's %v", err2, err1)
				}
			})
		}
	}
}

// TestExporterCloseError: the rows fit the buffer, so only Close's flush
// reaches the failing writer.
func TestExporterCloseError(t *testing.T) {
	for _, f := range []apilog.Format{apilog.CSV, apilog.JSON} {
		for _, rows := range [][]apilog.Row{nil, exportRows[:1]} {
			w := &failWriter{ok: 2}
			e, err := apilog.NewExporter(w, f)
			if err != nil {
				t.Fatal(err)
			}
			for i := range rows {
				if err := e.Write(&rows[i]); err != nil {
					t.Fatalf("%s: Write %d = %v, want nil (buffered)", f, i, err)
				}
			}
			err1 := e.Close()
			if !errors.Is(err1, errDiskFull) {
				t.Errorf("%s, %d rows: Close = %v, want errDiskFull", f, len(rows), err1)
			}
			if err2 := e.Close(); err2 != err1 {
				t.Errorf("%s, %d rows: second Close = %v, want the first's %v", f, len(rows), err2, err1)
			}
			if err := e.Write(&exportRows[0]); !errors.Is(err, errDiskFull) {
				t.Errorf("%s: Write after a failed Close = %v, want errDiskFull", f, err)
			}
			err = apilog.Export(&failWriter{}, f, rows, false)
			if !errors.Is(err, errDiskFull) || !strings.Contains(err.Error(), "export "+string(f)) {
				t.Errorf("Export(%s) to a failing writer = %v, want an error wrapping errDiskFull naming the format", f, err)
			}
		}
	}
}

type countWriter struct{ n int }

func (w *countWriter) Write(p []byte) (int, error) { w.n += len(p); return len(p), nil }

// TestExporterStreams checks that an Exporter's memory does not grow with
// the rows it writes: allocations per row stay the same, the heap does not
// keep the rows, and the bytes reach the writer before Close.
func TestExporterStreams(t *testing.T) {
	row := exportRows[0]
	row.Endpoint = "/v1/" + strings.Repeat("flux-pro/", 20) // about 200 bytes a row
	for _, f := range []apilog.Format{apilog.CSV, apilog.JSON} {
		t.Run(string(f), func(t *testing.T) {
			rowLen := len(export(t, f, []apilog.Row{row, row})) - len(export(t, f, []apilog.Row{row}))

			w := &countWriter{}
			e, err := apilog.NewExporter(w, f)
			if err != nil {
				t.Fatal(err)
			}
			write := func() {
				if err := e.Write(&row); err != nil {
					t.Fatal(err)
				}
			}
			for range 10 {
				write()
			}
			early := testing.AllocsPerRun(100, write)

			var before, after runtime.MemStats
			runtime.GC()
			runtime.ReadMemStats(&before)
			const n = 10000
			for range n {
				write()
			}
			runtime.GC()
			runtime.ReadMemStats(&after)
			late := testing.AllocsPerRun(100, write)
			// A little slack: encoding/json pools its buffers in a
			// sync.Pool, which drops items at random under -race.
			if late > early+4 {
				t.Errorf("allocations per Write grew from %v after 10 rows to %v after %d", early, late, n)
			}
			if early > 32 {
				t.Errorf("%v allocations per Write, want a few", early)
			}
			if grew := int64(after.HeapAlloc) - int64(before.HeapAlloc); grew > 256<<10 {
				t.Errorf("the heap grew by %d bytes over %d Writes of %d bytes, want no growth", grew, n, rowLen)
			}
			// All but what the buffers hold has reached the writer: 10
			// rows, n rows and twice the 101 runs of AllocsPerRun.
			if total := (10 + n + 2*101) * rowLen; w.n < total-64<<10 || w.n > total+len(csvHeader) {
				t.Errorf("before Close %d bytes reached the writer, want nearly %d", w.n, total)
			}
			if err := e.Close(); err != nil {
				t.Fatal(err)
			}
			runtime.KeepAlive(e)
		})
	}
}

// TestExportColumnsIsACopy: ExportColumns is documented as a copy, so
// changing it does not change what an export writes.
func TestExportColumnsIsACopy(t *testing.T) {
	saved := slices.Clone(apilog.ExportColumns)
	t.Cleanup(func() { copy(apilog.ExportColumns, saved) })
	want := export(t, apilog.CSV, exportRows)
	for i := range apilog.ExportColumns {
		apilog.ExportColumns[i] = "changed"
	}
	if got := export(t, apilog.CSV, exportRows); got != want {
		t.Errorf("after changing ExportColumns, Export(csv) = %q, want %q", got, want)
	}
}

// streamStore is a Streamer that gives its batches, then err.
type streamStore struct {
	apilog.Store
	batches [][]apilog.Row
	err     error
}

func (s streamStore) Stream(ctx context.Context, q apilog.Query, limit int, yield func([]apilog.Row) error) error {
	if n := len(s.batches) * len(exportRows); n > limit {
		return &apilog.TooManyRowsError{Rows: n, Limit: limit}
	}
	for _, b := range s.batches {
		if err := yield(b); err != nil {
			return err
		}
	}
	return s.err
}

// TestExportQuery: the export of a whole result is what Export writes of
// its rows; past the limit, or failing before the first row, it writes
// nothing; failing after, it ends with an error row in the reader's words
// and the file stays well-formed.
func TestExportQuery(t *testing.T) {
	ctx := context.Background()
	three := streamStore{batches: [][]apilog.Row{exportRows, exportRows, exportRows}}
	all := slices.Concat(exportRows, exportRows, exportRows)
	for _, f := range []apilog.Format{apilog.CSV, apilog.JSON} {
		var b bytes.Buffer
		n, err := apilog.ExportQuery(ctx, &b, f, three, apilog.Query{}, 0)
		if want := export(t, f, all); err != nil || n != len(all) || b.String() != want {
			t.Errorf("ExportQuery(%s) = %d, %v:\n%q\nwant %d rows:\n%q", f, n, err, b.String(), len(all), want)
		}

		b.Reset()
		n, err = apilog.ExportQuery(ctx, &b, f, three, apilog.Query{}, len(all)-1)
		var tooMany *apilog.TooManyRowsError
		if !errors.As(err, &tooMany) || n != 0 || b.Len() != 0 {
			t.Errorf("ExportQuery(%s) past its limit = %d, %v, wrote %q; want a *TooManyRowsError and nothing written", f, n, err, b.String())
		}

		b.Reset()
		n, err = apilog.ExportQuery(ctx, &b, f, streamStore{err: apilog.ErrTimeout}, apilog.Query{}, 0)
		if !errors.Is(err, apilog.ErrTimeout) || n != 0 || b.Len() != 0 {
			t.Errorf("ExportQuery(%s) failing before its first row = %d, %v, wrote %q; want the error and nothing written", f, n, err, b.String())
		}
	}

	cut := streamStore{batches: [][]apilog.Row{exportRows}, err: fmt.Errorf("sqlitestore: stream: %w: disk I/O error", apilog.ErrTimeout)}
	const reason = "export cut short after 2 rows: reading the log took too long and was stopped"
	var b bytes.Buffer
	n, err := apilog.ExportQuery(ctx, &b, apilog.CSV, cut, apilog.Query{}, 0)
	if !errors.Is(err, apilog.ErrTimeout) || n != 2 {
		t.Errorf("ExportQuery(csv) cut short = %d, %v; want 2 rows and an error wrapping ErrTimeout", n, err)
	}
	records, err := csv.NewReader(&b).ReadAll()
	if err != nil {
		t.Fatalf("the cut CSV does not parse: %v", err)
	}
	if len(records) != 4 || records[3][0] != "ERROR: "+reason || strings.Join(records[3][1:], "") != "" || len(records[3]) != len(apilog.ExportColumns) {
		t.Errorf("the cut CSV's records: %q, want the header, 2 rows and %q in a row of its own", records, "ERROR: "+reason)
	}

	b.Reset()
	if _, err := apilog.ExportQuery(ctx, &b, apilog.JSON, cut, apilog.Query{}, 0); !errors.Is(err, apilog.ErrTimeout) {
		t.Errorf("ExportQuery(json) cut short: %v, want ErrTimeout", err)
	}
	var objects []map[string]any
	if err := json.Unmarshal(b.Bytes(), &objects); err != nil {
		t.Fatalf("the cut JSON does not parse: %v\n%s", err, b.String())
	}
	if len(objects) != 3 || objects[2]["error"] != reason || len(objects[2]) != 1 {
		t.Errorf("the cut JSON: %v, want 2 rows and {\"error\": %q}", objects, reason)
	}
	if strings.Contains(b.String(), "disk I/O") {
		t.Errorf("the cut JSON shows the store's own error: %s", b.String())
	}
}

// TestCloseWithError: the error row of an export that has no rows yet,
// and one whose text a spreadsheet would run.
func TestCloseWithError(t *testing.T) {
	for _, tt := range []struct {
		f    apilog.Format
		err  error
		want string
	}{
		{apilog.CSV, errors.New("stopped"), csvHeader + "ERROR: stopped,,,,,,,,,,,\r\n"},
		{apilog.CSV, errors.New("x, \"y\""), csvHeader + "\"ERROR: x, \"\"y\"\"\",,,,,,,,,,,\r\n"},
		{apilog.JSON, errors.New("<stopped>"), "[\n{\"error\":\"<stopped>\"}\n]\n"},
	} {
		var b bytes.Buffer
		e, err := apilog.NewExporter(&b, tt.f)
		if err != nil {
			t.Fatal(err)
		}
		if err := e.CloseWithError(tt.err); err != nil || b.String() != tt.want {
			t.Errorf("CloseWithError(%q) in %s = %v, wrote %q; want %q", tt.err, tt.f, err, b.String(), tt.want)
		}
		if err := e.Close(); err != nil {
			t.Errorf("Close after CloseWithError: %v", err)
		}
	}
}
