package httpui

import (
	"fmt"
	"net/http"
	"slices"
	"strconv"
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

func (h *Handler) serveAPI(w http.ResponseWriter, r *http.Request, viewer Viewer) {
	v, p, err := h.load(r, viewer)
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
	writeJSON(w, http.StatusOK, out)
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
	if err := apilog.Export(w, f, rows); err != nil {
		h.log.Error("httpui: export", "err", err)
	}
}
