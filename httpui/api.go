package httpui

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/apilog/apilog"
)

// apiPage is the JSON of GET /api/logs.
type apiPage struct {
	Rows       []apiRow `json:"rows"`
	Page       int      `json:"page"`
	PageSize   int      `json:"page_size"`
	TotalRows  int      `json:"total_rows"`
	TotalPages int      `json:"total_pages"`
	Sort       string   `json:"sort"`
	Dir        string   `json:"dir"`
	// The page's texts, so the script shows what the server would.
	RangeText string `json:"range_text"`
	PageText  string `json:"page_text"`
	// AsOf is the moment the page was read at: the end of a relative
	// range, and the instant of the key statuses.
	AsOf string `json:"as_of"`
	// ExportAll is what the "export all" buttons say ("All 24,921 rows"),
	// "" when they are hidden, and ExportAllOK whether they may be used.
	ExportAll   string `json:"export_all"`
	ExportAllOK bool   `json:"export_all_ok"`
	// MaxID is the row-ID bound the page was read at (see
	// apilog.Page.MaxID); 0 for an empty store.
	MaxID int64 `json:"max_id"`
	// Pin is the URL parameters that pin this page's rows, each with its
	// value or "" for none: a link to another page of the view, or an
	// export of it, sets them; a new view (a sort, a filter) deletes them.
	Pin map[string]string `json:"pin"`
}

type apiRow struct {
	ID            int64   `json:"id"`
	Time          string  `json:"time"`
	RequestID     string  `json:"request_id"`
	Method        string  `json:"method"`
	Endpoint      string  `json:"endpoint"`
	Status        int     `json:"status"`
	StatusClass   string  `json:"status_class"`
	StatusColor   string  `json:"status_color"`
	StatusMeaning string  `json:"status_meaning"` // the color's text equivalent
	ErrorCode     string  `json:"error_code"`
	IPHash        string  `json:"ip_hash"`
	DurationMS    float64 `json:"duration_ms"`
	Key           apiKey  `json:"key"`
	// Cells holds the text of the page's plain cells, by column name
	// (see Handler.plain); an empty one is left out.
	Cells map[apilog.Column]string `json:"cells,omitempty"`
}

type apiKey struct {
	ID     string `json:"id"`
	Name   string `json:"name"`
	Prefix string `json:"prefix"`
	Status string `json:"status"`
	Icon   string `json:"icon"`
	Color  string `json:"color"`
	Label  string `json:"label"` // the icon's text equivalent, "Revoked or inactive"
}

// head returns the last row ID of q's scope, from its counts (the cost of
// a total): a live page's poll compares it with the bound of what it shows,
// so that a page with nothing new does not run its search.
func (h *Handler) head(r *http.Request, viewer Viewer, q apilog.Query) (int64, error) {
	p, err := h.query(r, viewer, apilog.Query{Account: q.Account, AllAccounts: q.AllAccounts, PageSize: 1, Now: q.Now})
	return p.MaxID, err
}

func (h *Handler) serveAPI(w http.ResponseWriter, r *http.Request, viewer Viewer) {
	v, q, err := h.parse(r, viewer)
	if err != nil {
		h.queryFailed(w, r, viewer, err)
		return
	}
	if v.Since > 0 {
		// A live page's poll: nothing new, no search.
		head, err := h.head(r, viewer, q)
		if err != nil {
			h.queryFailed(w, r, viewer, err)
			return
		}
		if head <= v.Since {
			w.Header().Set("Cache-Control", "no-store")
			writeJSON(w, r, http.StatusOK, struct {
				Unchanged bool  `json:"unchanged"`
				MaxID     int64 `json:"max_id"`
			}{true, head})
			return
		}
	}
	p, err := h.query(r, viewer, q)
	if err != nil {
		h.queryFailed(w, r, viewer, err)
		return
	}
	out := apiPage{
		Sort: string(v.Sort.Column), Dir: string(v.Sort.Dir),
		Rows: make([]apiRow, len(p.Rows)), Page: p.Number, PageSize: p.Size,
		TotalRows: p.TotalRows, TotalPages: p.TotalPages,
		RangeText: p.RangeText(), PageText: p.PageText(),
		AsOf: v.at.UTC().Format(time.RFC3339Nano), MaxID: p.MaxID,
		Pin: map[string]string{},
	}
	out.ExportAll, out.ExportAllOK = exportAllText(p.TotalRows, h.opt.ExportLimit)
	pin := v.pin(p)
	for _, k := range pinParams {
		out.Pin[k] = pin.Get(k)
	}
	for i := range p.Rows {
		row := &p.Rows[i]
		c := apilog.ClassOf(row.Status)
		out.Rows[i] = apiRow{
			ID: row.ID, Time: row.Time.UTC().Format(time.RFC3339Nano), RequestID: row.RequestID,
			Method: row.Method, Endpoint: row.Endpoint, Status: row.Status,
			StatusClass: c.Short(), StatusColor: c.Color(), StatusMeaning: c.Meaning(), ErrorCode: row.ErrorCode, IPHash: row.IPHash,
			DurationMS: float64(row.Duration.Microseconds()) / 1000,
			Key: apiKey{
				ID: row.KeyID, Name: row.KeyName, Prefix: row.KeyPrefix,
				Status: row.KeyStatus.String(), Icon: row.KeyStatus.Icon(), Color: row.KeyStatus.Color(),
				Label: row.KeyStatus.Label(),
			},
		}
		if viewer.AllAccounts {
			out.Rows[i].Cells = map[apilog.Column]string{accountColumn: row.Account}
		}
		for _, col := range h.plain {
			if text := col.Text(row); text != "" {
				if out.Rows[i].Cells == nil {
					out.Rows[i].Cells = make(map[apilog.Column]string, len(h.plain))
				}
				out.Rows[i].Cells[col] = text
			}
		}
	}
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, r, http.StatusOK, out)
}

// serveExport writes the current page, or the rows of it whose IDs the
// request selects, as a file download. A selected ID that is not on the
// viewer's page (another tenant's, say) selects nothing.
func (h *Handler) serveExport(w http.ResponseWriter, r *http.Request, viewer Viewer, f apilog.Format) {
	v, p, err := h.load(r, viewer)
	if err != nil {
		h.queryFailed(w, r, viewer, err)
		return
	}
	rows := p.Rows
	if len(v.IDs) > 0 {
		rows = slices.DeleteFunc(slices.Clone(rows), func(row apilog.Row) bool { return !slices.Contains(v.IDs, row.ID) })
	}
	name := fmt.Sprintf("logs-%s-page-%d", h.opt.Now().UTC().Format("20060102T150405Z"), p.Number)
	if len(v.IDs) > 0 {
		name += "-selected-" + strconv.Itoa(len(rows))
	}
	w.Header().Set("Content-Type", f.ContentType())
	w.Header().Set("Content-Disposition", `attachment; filename="`+name+"."+string(f)+`"`)
	w.Header().Set("Cache-Control", "no-store")
	out, end := compress(w, r)
	defer end()
	if err := apilog.Export(out, f, rows, viewer.AllAccounts); err != nil {
		h.log.Error("httpui: export", "err", err)
	}
}

// exportIdle is the longest a client may take to read the next bytes of
// an export of all rows.
const exportIdle = 30 * time.Second

// exports admits the exports of whole views: a few at once, each holding
// its matches' IDs while it streams, and one per viewer, so that no viewer
// takes every turn.
type exports struct {
	max     int
	mu      sync.Mutex
	running map[Viewer]bool
}

// start admits an export for v, or returns the status and message that
// refuse it; done ends it.
func (e *exports) start(v Viewer) (done func(), status int, msg string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	switch {
	case e.running[v]:
		return nil, http.StatusTooManyRequests, "one of your exports of all rows is still running: wait for it to finish, then try again"
	case len(e.running) >= e.max:
		return nil, http.StatusServiceUnavailable, "other exports of all rows are running: try again in a minute"
	}
	e.running[v] = true
	return func() {
		e.mu.Lock()
		delete(e.running, v)
		e.mu.Unlock()
	}, 0, ""
}

// exportAllText is what the page says of exporting all of a view's total
// rows: "" when there is nothing to export, and whether the limit allows.
func exportAllText(total, limit int) (string, bool) {
	switch {
	case total == 0 || limit < 0:
		return "", false
	case total > limit:
		return "All " + apilog.FormatCount(total) + " rows: over the export limit of " + apilog.FormatCount(limit), false
	}
	return "All " + apilog.FormatCount(total) + " rows", true
}

// errFindTimeout is the cause of an export of all rows stopped before its
// first row, at QueryTimeout, as the page's queries are.
var errFindTimeout = errors.New("finding the rows took all of QueryTimeout")

// serveExportAll streams every row the view selects, in its order, as a
// file download: pinned by the view's max_id to the rows the page showed,
// whatever has arrived since. A selection (id=) is ignored. The response
// becomes the download with its first bytes (or at once for HEAD): until
// then an error is answered as any other.
func (h *Handler) serveExportAll(w http.ResponseWriter, r *http.Request, viewer Viewer, f apilog.Format) {
	v, q, err := h.parse(r, viewer)
	if err != nil {
		h.queryFailed(w, r, viewer, err)
		return
	}
	out := &idleWriter{w: w, rc: http.NewResponseController(w)}
	// end finishes the body once the download has begun. Until then the
	// answer may be an error, which compresses itself: the download's
	// compression and its headers come with its first bytes.
	end := func() {}
	download := func() {
		hdr := w.Header()
		hdr.Set("Content-Type", f.ContentType())
		hdr.Set("Content-Disposition", fmt.Sprintf(`attachment; filename="logs-%s-all.%s"`, v.at.UTC().Format("20060102T150405Z"), f))
		hdr.Set("Cache-Control", "no-store")
		out.w, end = compress(w, r)
	}
	if r.Method == http.MethodHead {
		download()
		return
	}
	done, status, msg := h.exports.start(viewer)
	if done == nil {
		w.Header().Set("Retry-After", "30")
		h.failParam(w, r, &viewer, status, msg, nil)
		return
	}
	defer done()
	// The first rows go out at once: compressed, they would wait until the
	// compressor's buffer filled, and the download would not begin.
	out.begun = func() {
		if z, ok := out.w.(interface{ Flush() error }); ok {
			z.Flush()
		}
		http.NewResponseController(w).Flush()
	}
	// Before the first byte: the wait for a turn and finding the rows may
	// take QueryTimeout each, and the server's WriteTimeout must not end
	// the response meanwhile.
	out.extend(2*h.opt.QueryTimeout + exportIdle)
	defer out.finish()
	ctx, cancel := context.WithTimeoutCause(r.Context(), h.opt.ExportTimeout,
		fmt.Errorf("it ran for the %s an export may take", strings.TrimSuffix(h.opt.ExportTimeout.String(), "0s")))
	defer cancel()
	// Finding the rows is a query like the page's: one of the viewer's
	// turns, and QueryTimeout, until the first bytes go out.
	ctx, stop := context.WithCancelCause(ctx)
	defer stop(nil)
	wait, waited := context.WithTimeout(ctx, h.opt.QueryTimeout)
	leave, err := h.turns.take(wait, viewer)
	waited()
	if err != nil {
		h.queryFailed(w, r, viewer, err)
		return
	}
	timer := time.AfterFunc(h.opt.QueryTimeout, func() { stop(errFindTimeout) })
	var once sync.Once
	found := func() { once.Do(func() { timer.Stop(); leave() }) }
	defer found()
	out.first = func() { found(); download() }
	n, err := apilog.ExportQuery(ctx, out, f, h.store, q, h.opt.ExportLimit)
	end()
	var tooMany *apilog.TooManyRowsError
	switch {
	case err == nil:
	case n == 0 && errors.As(err, &tooMany):
		// Nothing was written (ExportQuery's rule): still an answer.
		text, _ := exportAllText(tooMany.Rows, tooMany.Limit)
		h.failParam(w, r, &viewer, http.StatusUnprocessableEntity, text+": narrow the search or the time range, or export page by page", nil)
	case n == 0:
		if errors.Is(context.Cause(ctx), errFindTimeout) {
			err = fmt.Errorf("%w: %w", apilog.ErrTimeout, err)
		}
		h.queryFailed(w, r, viewer, err)
	case r.Context().Err() != nil || out.err != nil:
		h.log.Info("httpui: export of all rows stopped: the client went away or stopped reading", "rows", n)
	default:
		// The file ends with a row that says so (see ExportQuery).
		h.log.Error("httpui: export of all rows cut short", "rows", n, "err", err)
	}
}

// idleWriter gives the client exportIdle to take each write, so that one
// that stops reading cannot hold an export (and its turn) for good, and
// one that reads slowly is not cut off by the server's WriteTimeout.
type idleWriter struct {
	w     io.Writer
	rc    *http.ResponseController
	first func() // called before the first write, once
	begun func() // called after the first write, once, if set
	err   error  // the first write's error: the client is gone
}

func (d *idleWriter) Write(p []byte) (int, error) {
	if d.first != nil {
		d.first()
		d.first = nil
	}
	d.extend(exportIdle)
	n, err := d.w.Write(p)
	if err != nil && d.err == nil {
		d.err = err
	}
	if d.begun != nil {
		d.begun()
		d.begun = nil
	}
	return n, err
}

// extend gives the client d more to take the response.
func (d *idleWriter) extend(by time.Duration) {
	if d.rc != nil && d.rc.SetWriteDeadline(time.Now().Add(by)) != nil {
		d.rc = nil // not supported: the server's own timeouts hold
	}
}

// finish sends what is buffered within exportIdle, then lifts the
// deadline, which would otherwise stay on a kept-alive connection and cut
// the next response on it.
func (d *idleWriter) finish() {
	if d.rc == nil {
		return
	}
	d.extend(exportIdle)
	d.rc.Flush()
	d.rc.SetWriteDeadline(time.Time{})
}
