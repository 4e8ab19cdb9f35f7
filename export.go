package apilog

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Format is an export file format.
type Format string

// The export formats.
const (
	CSV  Format = "csv"  // RFC 4180, UTF-8 without a byte order mark, CRLF line ends, a header row
	JSON Format = "json" // an array of objects with the snake_case names of ExportColumns
)

// ParseFormat parses "csv" or "json" in any case. The error is a
// [*QueryError].
func ParseFormat(s string) (Format, error) {
	switch f := Format(strings.ToLower(s)); f {
	case CSV, JSON:
		return f, nil
	}
	return "", badQuery(ParamFormat, "%q: want csv or json", s)
}

// ContentType returns the MIME type of the format.
func (f Format) ContentType() string {
	if f == JSON {
		return "application/json"
	}
	return "text/csv; charset=utf-8"
}

// ExportColumns are the columns of an export, in order, by their CSV header
// and JSON names; an export of every account's rows (see
// [Exporter.WithAccounts]) begins with one more, "account". It is a copy:
// changing it changes nothing.
var ExportColumns = slices.Clone(exportColumns[:])

var exportColumns = [...]string{
	"time", "key_name", "key_prefix", "key_status", "method", "endpoint", "status",
	"status_class", "error_code", "ip_hash", "request_id", "duration_ms",
}

// exportRow is one row of a JSON export; its field order and names are
// ExportColumns.
type exportRow struct {
	Account     string      `json:"account,omitempty"` // set WithAccounts; never empty then (Entry.Validate)
	Time        string      `json:"time"`
	KeyName     string      `json:"key_name"`
	KeyPrefix   string      `json:"key_prefix"`
	KeyStatus   KeyStatus   `json:"key_status"`
	Method      string      `json:"method"`
	Endpoint    string      `json:"endpoint"`
	Status      int         `json:"status"`
	StatusClass StatusClass `json:"status_class"`
	ErrorCode   string      `json:"error_code"`
	IPHash      string      `json:"ip_hash"`
	RequestID   string      `json:"request_id"`
	DurationMS  json.Number `json:"duration_ms"`
}

// Exporter writes rows one at a time in a Format, so an export of any
// length needs memory for one row. Create one with [NewExporter], call
// Write for each row and Close at the end; Close writes what an empty
// export needs (the CSV header, the JSON brackets) and flushes.
type Exporter struct {
	format Format
	w      *bufio.Writer
	buf    bytes.Buffer
	json   *json.Encoder
	n      int
	err    error
	closed bool

	accounts bool // see WithAccounts
}

// exportTime is RFC 3339 in UTC with all nine fraction digits, so that the
// column sorts as text.
const exportTime = "2006-01-02T15:04:05.000000000Z07:00"

// NewExporter returns an Exporter that writes to w in format f.
func NewExporter(w io.Writer, f Format) (*Exporter, error) {
	f, err := ParseFormat(string(f))
	if err != nil {
		return nil, err
	}
	e := &Exporter{format: f, w: bufio.NewWriter(w)}
	if f == JSON {
		e.json = json.NewEncoder(&e.buf)
		e.json.SetEscapeHTML(false)
	}
	return e, nil
}

// WithAccounts makes e begin each row with its account, as an export of
// every account's rows needs (Query.AllAccounts: an operator's), and
// returns e. Call it before the first row.
func (e *Exporter) WithAccounts() *Exporter {
	e.accounts = true
	return e
}

// Write adds one row. After an error every call returns it.
func (e *Exporter) Write(r *Row) error {
	if e.err != nil {
		return e.err
	}
	if e.closed {
		return fmt.Errorf("apilog: write to a closed exporter")
	}
	if e.n == 0 {
		e.begin()
	}
	e.n++
	dur := strconv.FormatFloat(float64(r.Duration)/float64(time.Millisecond), 'f', 3, 64)
	t := r.Time.UTC().Format(exportTime)
	switch e.format {
	case CSV:
		fields := []string{t, cell(r.KeyName), cell(r.KeyPrefix), r.KeyStatus.String(), cell(r.Method),
			cell(r.Endpoint), strconv.Itoa(r.Status), ClassOf(r.Status).String(),
			cell(r.ErrorCode), cell(r.IPHash), cell(r.RequestID), dur}
		if e.accounts {
			fields = append([]string{cell(r.Account)}, fields...)
		}
		e.csvRecord(fields...)
	case JSON:
		if e.n > 1 {
			e.w.WriteString(",\n")
		}
		e.buf.Reset()
		row := exportRow{
			Time: t, KeyName: r.KeyName, KeyPrefix: r.KeyPrefix, KeyStatus: r.KeyStatus,
			Method: r.Method, Endpoint: r.Endpoint, Status: r.Status, StatusClass: ClassOf(r.Status),
			ErrorCode: r.ErrorCode, IPHash: r.IPHash, RequestID: r.RequestID, DurationMS: json.Number(dur),
		}
		if e.accounts {
			row.Account = r.Account
		}
		e.err = e.json.Encode(row)
		if e.err == nil {
			_, e.err = e.w.Write(bytes.TrimSuffix(e.buf.Bytes(), []byte("\n")))
		}
	}
	return e.err
}

func (e *Exporter) begin() {
	switch e.format {
	case CSV:
		e.csvRecord(e.columns()...)
	case JSON:
		_, e.err = e.w.WriteString("[\n")
	}
}

// columns are the export's columns, in order.
func (e *Exporter) columns() []string {
	if e.accounts {
		return append([]string{"account"}, exportColumns[:]...)
	}
	return exportColumns[:]
}

// csvRecord writes one RFC 4180 record. encoding/csv is not used because,
// set to end lines with CRLF as the RFC asks, it drops a bare CR inside a
// field, which would change the value.
func (e *Exporter) csvRecord(fields ...string) {
	for i, f := range fields {
		if i > 0 {
			e.w.WriteByte(',')
		}
		if f == "" || !strings.ContainsAny(f, ",\"\r\n") && f[0] != ' ' && f[len(f)-1] != ' ' {
			e.w.WriteString(f)
			continue
		}
		e.w.WriteByte('"')
		e.w.WriteString(strings.ReplaceAll(f, `"`, `""`))
		e.w.WriteByte('"')
	}
	// bufio.Writer keeps the first write error; Write and Close return it.
	if _, err := e.w.WriteString("\r\n"); err != nil {
		e.err = err
	}
}

// Close ends the export and flushes it to the underlying writer, which it
// does not close. A second Close returns the first one's result.
func (e *Exporter) Close() error {
	if e.closed {
		return e.err
	}
	e.closed = true
	if e.err != nil {
		return e.err
	}
	if e.n == 0 && e.format == CSV {
		e.begin()
	}
	if e.format == JSON {
		if e.n > 0 {
			e.w.WriteString("\n]\n")
		} else {
			e.w.WriteString("[]\n") // a write error stays in e.w for Flush
		}
	}
	if e.err == nil {
		e.err = e.w.Flush()
	}
	return e.err
}

// CloseWithError ends an export that could not be finished: it writes one
// last row that says so, err's text (a CSV record whose first cell is
// "ERROR: " and the text, the other cells empty; a JSON object {"error":
// text} as the array's last element), then closes as Close does. The file
// stays well-formed, and a reader of it, person or program, cannot take
// the rows before for the whole. err's text is written as it is: give it
// in the words of the person who will open the file.
func (e *Exporter) CloseWithError(err error) error {
	if e.closed || e.err != nil {
		return e.Close()
	}
	if e.n == 0 {
		e.begin()
	}
	e.n++
	switch e.format {
	case CSV:
		fields := make([]string, len(e.columns()))
		fields[0] = cell("ERROR: " + err.Error())
		e.csvRecord(fields...)
	case JSON:
		if e.n > 1 {
			e.w.WriteString(",\n")
		}
		e.buf.Reset()
		if e.err = e.json.Encode(struct {
			Error string `json:"error"`
		}{err.Error()}); e.err == nil {
			_, e.err = e.w.Write(bytes.TrimSuffix(e.buf.Bytes(), []byte("\n")))
		}
	}
	return e.Close()
}

// DefaultExportLimit is the most rows ExportQuery writes when its caller
// sets no limit: about 200 MB of CSV.
const DefaultExportLimit = 1_000_000

// ExportQuery writes every row of s that matches q, in q's order, to w in
// format f: the export of everything a view selects, not one page (see
// [Stream], which reads the rows; q.Page and q.PageSize are ignored). Pass
// the MaxID of the page the user saw to export exactly that view's rows.
// It holds one batch of rows at a time, whatever the total.
//
// At most limit rows are written (0 or less is DefaultExportLimit): when
// more match, nothing is written and the error is a [*TooManyRowsError].
// Any error before the first row (a bad query, a timeout) writes nothing
// either, so that an HTTP handler can still answer with an error status.
// When the store fails or ctx ends after rows were written, the export is
// ended with an error row (see [Exporter.CloseWithError]) that says how
// many rows came before and why the rest did not (the text of ctx's cause,
// when it was ended with one: see context.WithCancelCause), and the error
// returned wraps the cause. n is the number of rows written.
func ExportQuery(ctx context.Context, w io.Writer, f Format, s Store, q Query, limit int) (n int, err error) {
	if limit <= 0 {
		limit = DefaultExportLimit
	}
	e, err := NewExporter(w, f)
	if err != nil {
		return 0, err
	}
	if q.AllAccounts {
		e.WithAccounts()
	}
	var failed error // the writer's: nothing more can reach it
	err = Stream(ctx, s, q, limit, func(rows []Row) error {
		for i := range rows {
			if failed = e.Write(&rows[i]); failed != nil {
				return failed
			}
			n++
		}
		return nil
	})
	switch {
	case failed != nil:
		return n, fmt.Errorf("apilog: export %s: %w", f, failed)
	case err != nil && n == 0:
		return 0, err // nothing written: the caller answers with the error
	case err != nil:
		e.CloseWithError(fmt.Errorf("export cut short after %s rows: %s", FormatCount(n), cutReason(ctx, err)))
		return n, fmt.Errorf("apilog: export %s cut short after %d rows: %w", f, n, err)
	}
	if err := e.Close(); err != nil {
		return n, fmt.Errorf("apilog: export %s: %w", f, err)
	}
	return n, nil
}

// cutReason says why an export stopped, for the person who opens the
// file: not the store's own words, which are for the host's log, but the
// cause ctx was ended with, if any (the caller's words).
func cutReason(ctx context.Context, err error) string {
	if c := context.Cause(ctx); c != nil && c != context.Canceled && c != context.DeadlineExceeded {
		return c.Error()
	}
	switch {
	case errors.Is(err, ErrTimeout):
		return "reading the log took too long and was stopped"
	case errors.Is(err, ErrClosed):
		return "the log was closed (the server is shutting down)"
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return "the export was cancelled"
	}
	return "the log could not be read"
}

// Export writes rows to w in format f: the rows a user selected, or the
// whole current page when none are; with accounts set, each row begins
// with its account, as an export of every account's rows needs (see
// [Exporter.WithAccounts]).
func Export(w io.Writer, f Format, rows []Row, accounts bool) error {
	e, err := NewExporter(w, f)
	if err != nil {
		return err
	}
	if accounts {
		e.WithAccounts()
	}
	for i := range rows {
		if err := e.Write(&rows[i]); err != nil {
			return fmt.Errorf("apilog: export %s: %w", f, err)
		}
	}
	if err := e.Close(); err != nil {
		return fmt.Errorf("apilog: export %s: %w", f, err)
	}
	return nil
}

// cell defuses a CSV cell that a spreadsheet would run as a formula: one
// that begins with =, +, -, @, tab or carriage return gets a leading
// apostrophe (OWASP, "CSV Injection"). Every text cell goes through it, since
// key names, endpoints and even error codes can come from users.
func cell(s string) string {
	if s != "" && strings.IndexByte("=+-@\t\r", s[0]) >= 0 {
		return "'" + s
	}
	return s
}
