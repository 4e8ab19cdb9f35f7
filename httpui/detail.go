package httpui

import (
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/apilog/apilog"
)

// detailData is the detail panel of one row: the whole of a request's
// story that the table cuts or leaves in a tooltip.
type detailData struct {
	rowData
	Missing     bool   // the link's row is not the viewer's (or no longer stored)
	StatusText  string // "Unauthorized", or "" for a code without a name
	Duration    string
	TimeMS      string // UTC, to the millisecond
	KeyLabel    string // its state: "Active", "Revoked or inactive" …
	KeySince    string // and since when, RFC 3339 (a <time>), or ""
	KeySinceUTC string
	Account     bool   // an operator's view: the row's account is shown
	Permalink   string // the page with this panel open, for the same viewer
	CloseHref   string // the page without it
}

// detail returns the panel of v's row (v.Row, v.RowAt) for viewer: the
// row with that ID at that instant, within the viewer's scope, so that a
// link to another tenant's row finds nothing. One row is read: among the
// rows of that instant, newest ID first, the first with an ID up to v.Row.
func (h *Handler) detail(r *http.Request, viewer Viewer, v view) (*detailData, error) {
	p, err := h.query(r, viewer, apilog.Query{
		Account: viewer.Account, AllAccounts: viewer.AllAccounts,
		From: v.RowAt, To: v.RowAt.Add(time.Nanosecond), MaxID: v.Row,
		PageSize: 1, Now: v.at,
	})
	if err != nil {
		return nil, err
	}
	w := v
	w.Row, w.RowAt = 0, time.Time{}
	d := &detailData{CloseHref: href(w.values(w.pinned()))}
	if len(p.Rows) == 0 || p.Rows[0].ID != v.Row {
		d.Missing = true
		return d, nil
	}
	row := &p.Rows[0]
	d.rowData = newRowData(row)
	d.StatusText = http.StatusText(row.Status)
	d.Duration = apilog.FormatDuration(row.Duration)
	if row.Duration > 0 {
		d.Duration += " (" + row.Duration.Round(time.Microsecond).String() + ")"
	}
	d.TimeMS = row.Time.UTC().Format("2006-01-02 15:04:05.000 UTC")
	d.KeyLabel = row.KeyStatus.Label()
	if !row.KeySince.IsZero() {
		d.KeySince, d.KeySinceUTC = row.KeySince.UTC().Format(time.RFC3339Nano), row.KeySince.UTC().Format("2006-01-02 15:04:05 UTC")
	}
	d.Account = viewer.AllAccounts
	d.Permalink = href(w.values(permalink(w, row)))
	return d, nil
}

// permalink returns the parameters that open row's panel over the view w,
// with the pin its URL has (a page 2's; none on an unpinned first page).
func permalink(w view, row *apilog.Row) url.Values {
	set := w.pinned()
	set.Set(string(paramRow), strconv.FormatInt(row.ID, 10))
	set.Set(string(paramAt), row.Time.UTC().Format(time.RFC3339Nano))
	return set
}

// serveDetail answers the page's script with the template "detail": the
// panel of the row the request names.
func (h *Handler) serveDetail(w http.ResponseWriter, r *http.Request, viewer Viewer) {
	v, _, err := h.parse(r, viewer)
	if err == nil && v.Row == 0 {
		err = &apilog.QueryError{Param: paramRow, Message: "missing: want the ID and time (at) of a row"}
	}
	var d *detailData
	if err == nil {
		d, err = h.detail(r, viewer, v)
	}
	if err != nil {
		h.queryFailed(w, r, viewer, err)
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	h.render(w, r, http.StatusOK, "detail", &pageData{Detail: d})
}
