package httpui

import (
	"bytes"
	"context"
	"fmt"
	"html/template"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/apilog/apilog"
)

// pageData is everything the page template shows, worked out here so that
// the template only places it.
type pageData struct {
	Version string   // of the assets
	Keys    []string // the view's key filter, by key ID
	// KeyChoices are the viewer's keys for the key filter (a KeyLister
	// store, one account), and KeysMore says there are more than shown.
	KeyChoices []keyChoice
	KeysMore   bool
	Title      string
	Error      string
	Viewer     Viewer
	Nav        Nav
	// AccountColumn starts each row with its account (an operator's view
	// of every tenant): the header in Columns, the cells by the template.
	AccountColumn bool
	Rows          []rowData
	Columns       []columnData
	Pager         pager
	Hidden        []hidden // the view as form fields, for the export form
	ExportAll     string   // the "export all" buttons' text; "" hides them
	ExportAllOK   bool     // the limit allows them
	Sorting       []hidden // the sort, for the filter form
	Statuses      []choice
	Methods       []choice
	Ranges        []choice
	Search        string
	Slow          bool
	Live          bool
	TotalRows     int   // of the view, and
	MaxID         int64 // the bound it was read at, for the live page's polls
	SlowLabel     string
	From, To      string // datetime-local values, UTC
	Custom        bool
	Empty         string
	LastHref      string      // past the last page: a link to it
	Newest        string      // the URL query of the view's first page, unpinned: what Live polls
	Detail        *detailData // the open detail panel, if any
	ClearHref     string
}

// rowData is a row as the cell templates (templates/cell.html) need it.
type rowData struct {
	Row *apilog.Row

	Color, Means     string // of the status class
	IPShort          string
	TimeISO, TimeUTC string
}

// Text returns the row's text of column c, for a plain cell.
func (r *rowData) Text(c apilog.Column) string { return c.Text(r.Row) }

// columnData is a column's header.
type columnData struct {
	Name     apilog.Column
	Num      bool // a plain cell of numbers: right-aligned, as the cells are
	Label    string
	Dir      apilog.Direction // of a first click
	Href     string
	AriaSort string
	Arrow    string
}

type pager struct {
	First, Prev, Next, Last string // hrefs; empty when there is no such page
	PageText, RangeText     string
}

type hidden struct{ Name, Value string }

// keyChoice is a key of the key filter.
type keyChoice struct {
	ID, Name, Prefix string
	Status           apilog.KeyStatus
	On               bool
}

// maxKeyChoices is the most keys the key filter lists, on every page and
// view (about 16 KB of the page's 400): a tenant with more finds the
// others with key: in the search.
const maxKeyChoices = 100

// keyChoices fills d's key filter with the viewer's keys, when the store
// lists them and the viewer sees one account; a key of the view that is
// not listed stays in d.Keys, a hidden field.
func (h *Handler) keyChoices(r *http.Request, viewer Viewer, v view, d *pageData) error {
	kl, ok := h.store.(apilog.KeyLister)
	if !ok || viewer.AllAccounts || viewer.Account == "" {
		return nil
	}
	var keys []apilog.Key
	err := h.within(r, viewer, func(ctx context.Context) (err error) {
		keys, err = kl.Keys(ctx, viewer.Account, maxKeyChoices+1)
		return err
	})
	if err != nil {
		return err
	}
	if len(keys) > maxKeyChoices {
		keys, d.KeysMore = keys[:maxKeyChoices], true
	}
	d.Keys = nil
	listed := map[string]bool{}
	for _, k := range keys {
		listed[k.ID] = true
		d.KeyChoices = append(d.KeyChoices, keyChoice{ID: k.ID, Name: k.Name, Prefix: k.Prefix, Status: k.Status(v.at), On: slices.Contains(v.Keys, k.ID)})
	}
	for _, id := range v.Keys {
		if !listed[id] {
			d.Keys = append(d.Keys, id)
		}
	}
	return nil
}

type choice struct {
	Value, Label string
	On           bool
	BySearch     string // a status class the search filters by: its term, and the chip is ticked and off
}

// addCells adds to t the template "cells", which draws a row's cells in
// the order of columns: a column for which t defines "cell-<name>"
// (templates/cell.html) by that template, every other as the plain text of
// Column.Text. It returns those plain columns, whose texts the JSON sends.
// The template is built once here so that the page does not choose a
// cell's markup 4,000 times a page.
func addCells(t *template.Template, columns []apilog.Column) ([]apilog.Column, error) {
	var b strings.Builder
	var plain []apilog.Column
	for _, c := range columns {
		// The name is written into the template's text: a word only.
		if c == "" || strings.Trim(string(c), "abcdefghijklmnopqrstuvwxyz_") != "" {
			return nil, fmt.Errorf("column %q: want a lower-case word", c)
		}
		if t.Lookup("cell-"+string(c)) != nil {
			fmt.Fprintf(&b, `{{template "cell-%s" .}}`, c)
			continue
		}
		class := ""
		if numeric(c) {
			class = " class=num"
		}
		fmt.Fprintf(&b, `<td data-col=%s%s>{{.Text %q}}</td>`, c, class, c)
		plain = append(plain, c)
	}
	if _, err := t.New("cells").Parse(b.String()); err != nil {
		return nil, err
	}
	// An operator's view of every tenant starts with the account: a plain
	// cell, which the JSON sends among the cells too.
	_, err := t.New("cells-accounts").Parse(`<td data-col=` + string(accountColumn) + `>{{.Row.Account}}</td>{{template "cells" .}}`)
	return plain, err
}

// accountColumn is the first column of an operator's view of every
// tenant (Viewer.AllAccounts): the row's account. It is not sortable.
const accountColumn apilog.Column = "account"

// numeric reports whether a plain column holds numbers, so that its header
// and cells are right-aligned (class num): a rule of the column's kind, and
// a column added later needs no style of its own.
func numeric(c apilog.Column) bool { return c.Kind() == apilog.KindNumber }

var methods = []string{"GET", "POST", "PUT", "PATCH", "DELETE"}

// localInput is the value format of a datetime-local input, to the second.
const localInput = "2006-01-02T15:04:05"

var funcs = template.FuncMap{
	// legend is the key statuses the legend explains, in the words and
	// colors of apilog's table.
	"legend": func() []apilog.KeyStatus {
		return []apilog.KeyStatus{apilog.KeyActive, apilog.KeyRotated, apilog.KeyExpired, apilog.KeyRevoked}
	},
}

func (h *Handler) servePage(w http.ResponseWriter, r *http.Request, viewer Viewer) {
	h.serveView(w, r, viewer, false)
}

// serveRows answers the page's script with the template "view": the parts
// of the page a new view changes, which it puts in place. A live page's
// poll (since) with nothing new gets 204 No Content.
func (h *Handler) serveRows(w http.ResponseWriter, r *http.Request, viewer Viewer) {
	h.serveView(w, r, viewer, true)
}

// serveView answers with the request's view: the page, or its parts.
func (h *Handler) serveView(w http.ResponseWriter, r *http.Request, viewer Viewer, parts bool) {
	v, q, err := h.parse(r, viewer)
	if err == nil && parts && v.Since > 0 {
		var head int64
		if head, err = h.head(r, viewer, q); err == nil && head <= v.Since {
			w.Header().Set("Cache-Control", "no-store")
			w.WriteHeader(http.StatusNoContent)
			return
		}
	}
	var d *pageData
	if err == nil {
		d, err = h.viewData(r, viewer, v, q)
	}
	if err != nil {
		h.queryFailed(w, r, viewer, err)
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	if parts {
		h.render(w, r, http.StatusOK, "view", d)
		return
	}
	d.Nav = h.nav(r, viewer)
	h.renderPage(w, r, http.StatusOK, d)
}

// viewData reads what the page of v shows viewer: its rows, the key
// filter's keys (not for a live poll, whose page keeps the list it shows)
// and the open panel. Their queries share one QueryTimeout, so that a
// request takes no longer than one query may.
func (h *Handler) viewData(r *http.Request, viewer Viewer, v view, q apilog.Query) (*pageData, error) {
	ctx, cancel := context.WithTimeout(r.Context(), h.opt.QueryTimeout)
	defer cancel()
	r = r.WithContext(ctx)
	p, err := h.query(r, viewer, q)
	if err != nil {
		return nil, err
	}
	d := buildPage(v, p, viewer, h.columns, h.plain)
	d.ExportAll, d.ExportAllOK = exportAllText(p.TotalRows, h.opt.ExportLimit)
	if v.Since == 0 {
		if err := h.keyChoices(r, viewer, v, d); err != nil {
			return nil, err
		}
	}
	if v.Row > 0 {
		if d.Detail, err = h.detail(r, viewer, v); err != nil {
			return nil, err
		}
	}
	return d, nil
}

// acceptsGzip reads an Accept-Encoding header: gzip listed with a q above
// 0, or, when gzip is not listed, * with a q above 0.
func acceptsGzip(header string) bool {
	star := false
	for _, part := range strings.Split(header, ",") {
		name, params, _ := strings.Cut(part, ";")
		name = strings.ToLower(strings.TrimSpace(name))
		if name != "gzip" && name != "*" {
			continue
		}
		q := 1.0
		if k, v, ok := strings.Cut(strings.TrimSpace(params), "="); ok && strings.EqualFold(strings.TrimSpace(k), "q") {
			var err error
			if q, err = strconv.ParseFloat(strings.TrimSpace(v), 64); err != nil {
				q = 0
			}
		}
		if name == "gzip" {
			return q > 0
		}
		star = q > 0
	}
	return star
}

// renderPage writes the page, gzip-compressed when r accepts it.
func (h *Handler) renderPage(w http.ResponseWriter, r *http.Request, status int, d *pageData) {
	h.render(w, r, status, "page.html", d)
}

// render writes the template name of d, gzip-compressed when r accepts it.
func (h *Handler) render(w http.ResponseWriter, r *http.Request, status int, name string, d *pageData) {
	d.Version = h.version
	var buf bytes.Buffer
	if err := h.page.ExecuteTemplate(&buf, name, d); err != nil {
		h.log.Error("httpui: render", "err", err)
		http.Error(w, "the page could not be shown", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	out, end := compress(w, r)
	defer end()
	w.WriteHeader(status)
	out.Write(buf.Bytes())
}

// href is a link to the page with the view v, relative to the page.
func href(v url.Values) string {
	if s := v.Encode(); s != "" {
		return "?" + s
	}
	return "./"
}

func pages(n int) string {
	if n == 1 {
		return " page"
	}
	return " pages"
}

func buildPage(v view, p apilog.Page, viewer Viewer, columns, plain []apilog.Column) *pageData {
	d := &pageData{Title: "Logs", Viewer: viewer, Search: v.Q, ClearHref: "./"}
	if v.Live {
		d.ClearHref = href(view{Live: true, Sort: apilog.DefaultSort}.values(nil)) // a mode, not a filter: Clear keeps it
	}
	// Every column of apilog's table, labelled by it. A sort is a new
	// view: its links carry no pin, so it shows the newest rows.
	d.AccountColumn = viewer.AllAccounts
	if d.AccountColumn {
		d.Columns = append(d.Columns, columnData{Name: accountColumn, Label: "Account"})
	}
	for _, c := range columns {
		col := columnData{Name: c, Label: c.Label(), Dir: c.DefaultDir(), AriaSort: "none", Num: numeric(c) && slices.Contains(plain, c)}
		next := apilog.Sort{Column: c}
		if v.Sort.Column == c {
			col.AriaSort, col.Arrow = "ascending", "▲"
			next.Dir = apilog.Desc
			if v.Sort.Dir == apilog.Desc {
				col.AriaSort, col.Arrow = "descending", "▼"
				next.Dir = apilog.Asc
			}
		}
		next, _ = next.Normalize()
		w := v
		w.Sort, w.Page = next, 1
		col.Href = href(w.values(nil))
		d.Columns = append(d.Columns, col)
	}
	// The pager's links, to page 1 too, and the export form carry the
	// pin: paging back and forth shows the rows that were shown, and an
	// export is of the page as it was shown, whatever has arrived since.
	pin := v.pin(p)
	at := func(page int) string {
		w := v
		w.Page = page
		return href(w.values(pin))
	}
	d.Pager = pager{PageText: p.PageText(), RangeText: p.RangeText() + " rows"}
	if p.Number > 1 {
		d.Pager.First, d.Pager.Prev = at(1), at(min(p.Number-1, p.TotalPages))
	}
	if p.Number < p.TotalPages {
		d.Pager.Next, d.Pager.Last = at(p.Number+1), at(p.TotalPages)
	}
	values := v.values(pin)
	for _, k := range slices.Sorted(maps.Keys(values)) { // in order: the same view, the same bytes
		for _, val := range values[k] {
			d.Hidden = append(d.Hidden, hidden{k, val})
			if k == "sort" || k == "dir" {
				d.Sorting = append(d.Sorting, hidden{k, val})
			}
		}
	}
	for _, c := range []apilog.StatusClass{apilog.StatusSuccess, apilog.StatusRedirect, apilog.StatusClientError, apilog.StatusServerError} {
		ch := choice{Value: c.Short(), Label: c.Short(), On: slices.Contains(v.Statuses, c.Short())}
		// A search term of a whole class (status:4xx, status:400-499)
		// filters as the chip does: the chip says so, and is ticked
		// until the search changes.
		for _, t := range v.search.Terms {
			if t.Field == apilog.FieldStatus && !t.Negate && t.StatusMin%100 == 0 && t.StatusMax == t.StatusMin+99 && apilog.ClassOf(t.StatusMin) == c {
				ch.On, ch.BySearch = true, "status:"+c.Short()
			}
		}
		d.Statuses = append(d.Statuses, ch)
	}
	d.Methods = []choice{{Value: "", Label: "All methods", On: len(v.Methods) == 0}}
	for _, m := range methods {
		d.Methods = append(d.Methods, choice{Value: m, Label: m, On: len(v.Methods) == 1 && v.Methods[0] == m})
	}
	if len(v.Methods) > 1 || len(v.Methods) == 1 && !slices.Contains(methods, v.Methods[0]) {
		// A view from a link: keep it as one choice, which reads back as
		// the same list.
		d.Methods = append(d.Methods, choice{Value: strings.Join(v.Methods, ","), Label: strings.Join(v.Methods, ", "), On: true})
	}
	d.Keys = v.Keys
	d.Ranges = []choice{{Value: "", Label: "All time", On: v.Range == ""}}
	for _, r := range ranges {
		d.Ranges = append(d.Ranges, choice{Value: r.value, Label: r.label, On: v.Range == r.value})
	}
	d.Ranges = append(d.Ranges, choice{Value: "custom", Label: "Custom…", On: v.Range == "custom"})
	d.Custom = v.Range == "custom"
	if !v.From.IsZero() {
		d.From = v.From.Format(localInput)
	}
	if !v.To.IsZero() {
		d.To = v.To.Format(localInput)
	}
	d.Slow, d.SlowLabel = v.Slow, "Slow (> "+slowOver.String()+")"
	d.Live, d.TotalRows, d.MaxID = v.Live, p.TotalRows, p.MaxID
	d.Newest = v.values(map[string][]string{"page": nil}).Encode()
	filtered := v.Q != "" || v.Slow || len(v.Statuses) > 0 || len(v.Methods) > 0 || len(v.Keys) > 0 || v.Range != "" || !v.From.IsZero() || !v.To.IsZero()
	if p.TotalRows > 0 && len(p.Rows) == 0 {
		// A link kept from a fuller view, or a page number typed in.
		d.Empty = "There is no page " + apilog.FormatCount(p.Number) + ": this view has " + apilog.FormatCount(p.TotalPages) + pages(p.TotalPages) + "."
		d.LastHref = at(p.TotalPages)
	}
	if p.TotalRows == 0 {
		d.Empty = "No API requests yet"
		if filtered {
			d.Empty = "No rows match these filters"
			if v.Q != "" && !v.Slow {
				d.Empty = "No rows match “" + v.Q + "”"
			}
		}
	}
	d.Rows = make([]rowData, len(p.Rows))
	for i := range p.Rows {
		d.Rows[i] = newRowData(&p.Rows[i])
	}
	return d
}

func newRowData(r *apilog.Row) rowData {
	c := apilog.ClassOf(r.Status)
	return rowData{
		Row:   r,
		Color: c.Color(), Means: c.Meaning(),
		IPShort: r.IPHash[:min(12, len(r.IPHash))],
		TimeISO: r.Time.UTC().Format(time.RFC3339Nano), TimeUTC: r.Time.UTC().Format("2006-01-02 15:04:05 UTC"),
	}
}
