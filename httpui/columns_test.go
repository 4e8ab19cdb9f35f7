package httpui_test

import (
	"context"
	"net/url"
	"strings"
	"testing"

	"github.com/apilog/apilog"
	"golang.org/x/net/html"
)

// TestColumns: the page and its JSON take their columns from apilog's
// table. Every column has a header with its label and its first click's
// direction, and a cell in every row, both named by data-col; a cell the
// page draws without markup of its own is Column.Text, on the page and in
// the JSON's cells. Nothing here lists the columns, so a column added to
// the table is checked as it is.
func TestColumns(t *testing.T) {
	s := newStore(t)
	h := newHandler(t, s, nil)
	all, err := s.Query(context.Background(), apilog.Query{Account: "acct_a", PageSize: apilog.MaxPageSize})
	if err != nil {
		t.Fatal(err)
	}
	rows := map[string]*apilog.Row{}
	for i := range all.Rows {
		rows[itoa(all.Rows[i].ID)] = &all.Rows[i]
	}
	doc, err := html.Parse(strings.NewReader(get(t, h, "/").Body.String()))
	if err != nil {
		t.Fatal(err)
	}

	var heads []*html.Node
	var trs []*html.Node
	for n := range doc.Descendants() {
		switch {
		case n.Type == html.ElementNode && n.Data == "th" && attr(n, "data-col") != "":
			heads = append(heads, n)
		case n.Type == html.ElementNode && n.Data == "tr" && attr(n, "data-id") != "":
			trs = append(trs, n)
		}
	}
	if got, want := len(heads), len(apilog.Columns); got != want {
		t.Fatalf("%d headers with data-col, want %d", got, want)
	}
	for i, c := range apilog.Columns {
		th := heads[i]
		if got := attr(th, "data-col"); got != string(c) {
			t.Errorf("header %d is %q, want %q", i, got, c)
			continue
		}
		if got, want := strings.TrimRight(text(th), "▲▼"), c.Label(); got != want {
			t.Errorf("%s: label %q, want %q", c, got, want)
		}
		// The first click sorts in the column's own direction; the
		// default view's column (time) flips instead.
		if c == apilog.DefaultSort.Column {
			continue
		}
		var href string
		for n := range th.Descendants() {
			if n.Type == html.ElementNode && n.Data == "a" {
				href = attr(n, "href")
			}
		}
		if q, err := url.ParseQuery(strings.TrimPrefix(href, "?")); err != nil || q.Get("sort") != string(c) || q.Get("dir") != string(c.DefaultDir()) {
			t.Errorf("%s: the header links to %q, want sort=%s&dir=%s", c, href, c, c.DefaultDir())
		}
	}

	api := decodeAPI(t, get(t, h, "/api/logs"))
	cells := map[string]map[string]string{}
	for _, r := range api.Rows {
		cells[itoa(r.ID)] = r.Cells
	}
	plain := map[apilog.Column]bool{}
	for _, tr := range trs {
		id := attr(tr, "data-id")
		row := rows[id]
		var tds []*html.Node
		for td := range tr.ChildNodes() {
			if td.Type == html.ElementNode && td.Data == "td" && attr(td, "data-col") != "" {
				tds = append(tds, td)
			}
		}
		if len(tds) != len(apilog.Columns) {
			t.Fatalf("row %s has %d cells with data-col, want %d", id, len(tds), len(apilog.Columns))
		}
		for i, c := range apilog.Columns {
			td := tds[i]
			if got := attr(td, "data-col"); got != string(c) {
				t.Fatalf("row %s: cell %d is %q, want %q", id, i, got, c)
			}
			json, sent := cells[id][string(c)]
			if td.FirstChild != nil && td.FirstChild.Type == html.ElementNode {
				// Drawn with markup of its own, here and by the script,
				// from the row's own fields.
				if sent {
					t.Errorf("row %s: the JSON sends a text for %s, a column the page draws itself", id, c)
				}
				continue
			}
			plain[c] = true
			if got, want := text(td), c.Text(row); got != want {
				t.Errorf("row %s, %s: cell %q, want Column.Text %q", id, c, got, want)
			}
			if want := c.Text(row); json != want || sent != (want != "") {
				t.Errorf("row %s, %s: the JSON's cell is %q (sent %v), want %q", id, c, json, sent, want)
			}
		}
	}
	if !plain[apilog.ColumnDuration] || !plain[apilog.ColumnMethod] {
		t.Errorf("plain columns %v, want duration and method among them", plain)
	}
	if body := get(t, h, "/").Body.String(); !strings.Contains(body, "<td data-col=duration class=num>1.12 s</td>") {
		t.Error(`the page has no duration cell "1.12 s"`)
	}
}

func attr(n *html.Node, name string) string {
	for _, a := range n.Attr {
		if a.Key == name {
			return a.Val
		}
	}
	return ""
}

func text(n *html.Node) string {
	var b strings.Builder
	for d := range n.Descendants() {
		if d.Type == html.TextNode {
			b.WriteString(d.Data)
		}
	}
	return b.String()
}
