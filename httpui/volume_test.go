package httpui_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/apilog/apilog"
	"github.com/apilog/apilog/apilogtest"
	"github.com/apilog/apilog/httpui"
	"github.com/apilog/apilog/memstore"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
)

type volumeBody struct {
	Start   time.Time `json:"start"`
	StepMS  int64     `json:"step_ms"`
	Classes []struct{ Name, Color, Label string }
	Counts  [][]int `json:"counts"`
	Total   int     `json:"total"`
	Empty   string  `json:"empty"`
}

// TestVolume: the chart counts exactly the rows the same view's table
// holds, whatever its filters and range, in the viewer's scope, bucket by
// bucket as the store counts them, with the classes named and coloured as
// the table's badges are.
func TestVolume(t *testing.T) {
	s := newStore(t)
	h := newHandler(t, s, nil)
	vol := func(target string) volumeBody {
		t.Helper()
		w := get(t, h, target)
		var v volumeBody
		if err := json.Unmarshal(w.Body.Bytes(), &v); err != nil || w.Code != 200 {
			t.Fatalf("%s: %d %s (%v)", target, w.Code, w.Body, err)
		}
		return v
	}
	for _, query := range []string{"", "status=4xx", "status=2xx,5xx", "q=flux", "method=post", "key=k2", "range=1h", "slow=1",
		"from=2026-11-25T11:59:00Z&to=2026-11-25T12:00:00Z", "q=secret-of-b", "q=duration:>1s&status=4xx",
		"from=1970-01-01T00:00:00Z&to=9999-01-01T00:00:00Z", "from=1900-01-01T00:00:00Z"} {
		v := vol("/api/volume?" + query)
		p := decodeAPI(t, get(t, h, "/api/logs?"+query))
		n := 0
		for _, c := range v.Counts {
			if len(c) != len(v.Classes) {
				t.Fatalf("%s: a bucket of %d counts for %d classes", query, len(c), len(v.Classes))
			}
			for _, x := range c {
				n += x
			}
		}
		if n != p.TotalRows || v.Total != p.TotalRows {
			t.Errorf("%s: the chart counts %d (total %d), the table %d", query, n, v.Total, p.TotalRows)
		}
		if (v.Empty != "") != (p.TotalRows == 0) {
			t.Errorf("%s: empty text %q with %d rows", query, v.Empty, p.TotalRows)
		}
		if len(v.Counts) > apilog.MaxChartBuckets || v.Start.Location() != time.UTC || v.StepMS <= 0 && len(v.Counts) > 0 {
			t.Errorf("%s: %d buckets of %d ms from %v", query, len(v.Counts), v.StepMS, v.Start)
		}
	}
	// Counts and the fixed names of the classes: no text of any row
	// (the hostile ones included), this tenant's or another's.
	body := get(t, h, "/api/volume?q=POST").Body.String()
	for _, s := range append(slices.Clone(xss), "secret-of-b", "production-api", "/v1/", "req-") {
		if strings.Contains(body, s) {
			t.Errorf("the chart's JSON holds %q: %.300s", s, body)
		}
	}
	// Bucket by bucket, as the store counts acct_a's rows.
	want, err := apilog.CountVolume(context.Background(), s, apilog.Query{Account: "acct_a", Now: t0.Add(time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	v := vol("/api/volume")
	if !v.Start.Equal(want.Start) || v.StepMS != want.Step.Milliseconds() || len(v.Counts) != want.N {
		t.Fatalf("buckets from %v of %d ms, %d of them; want %v", v.Start, v.StepMS, len(v.Counts), want.Buckets)
	}
	for i, c := range want.Counts {
		for k, x := range c {
			if v.Counts[i][k] != x {
				t.Fatalf("bucket %d: %v, want %v", i, v.Counts[i], c)
			}
		}
	}
	for k, c := range v.Classes {
		sc := apilog.StatusClass(k)
		if c.Name != sc.Short() || c.Color != sc.Color() || c.Label != sc.Meaning() {
			t.Errorf("class %d: %+v, want %s %s %s", k, c, sc.Short(), sc.Color(), sc.Meaning())
		}
	}
	// The operator's view counts every tenant's rows.
	ops := newHandler(t, s, &httpui.Options{Authorize: func(*http.Request) (httpui.Viewer, error) {
		return httpui.Viewer{AllAccounts: true}, nil
	}})
	w := get(t, ops, "/api/volume")
	var all volumeBody
	if err := json.Unmarshal(w.Body.Bytes(), &all); err != nil || all.Total != 1211 {
		t.Errorf("every account: %d rows (%v), want 1211", all.Total, err)
	}
}

// TestBrowserChart drives the chart in headless Chromium, on a day of
// rows like a real API's: it draws the counts the server gives, hovering
// a bar shows its counts, a drag sets the range that Back restores, a
// click and the keyboard pick a bar, and a view with no rows says so.
func TestBrowserChart(t *testing.T) {
	path := browserPath(t)
	s, g := dayStore(t)
	bg := context.Background()
	h := newHandler(t, s, &httpui.Options{
		Authorize: func(*http.Request) (httpui.Viewer, error) { return httpui.Viewer{Account: "acct_a"}, nil },
	})
	srv := httptest.NewServer(h)
	defer srv.Close()
	ctx := browserContext(t, path)
	pg := &browserPage{t, ctx}
	run, eval, waitFor := pg.run, pg.eval, pg.waitFor
	var all volumeBody
	if err := json.Unmarshal(get(t, h, "/api/volume").Body.Bytes(), &all); err != nil {
		t.Fatal(err)
	}
	n := len(all.Counts)
	sum := func(lo, hi int) int {
		total := 0
		for _, c := range all.Counts[lo : hi+1] {
			for _, x := range c {
				total += x
			}
		}
		return total
	}
	step := time.Duration(all.StepMS) * time.Millisecond
	if n < apilog.MinChartBuckets || all.Total != 3000 || step != 15*time.Minute {
		t.Fatalf("a day of rows: %d buckets of %v, %d rows; want 15 min", n, step, all.Total)
	}

	run("load", chromedp.Navigate(srv.URL+"/"), chromedp.WaitVisible(chromedp.CSS("#chart-plot svg rect")))
	waitFor("the chart's total", `document.querySelector("#chart-total").textContent.startsWith("3,000 requests, 15 min a bar")`)
	bars := eval(`String(new Set([...document.querySelectorAll("#chart-plot svg rect")].map(r => r.getAttribute("x") | 0)).size)`)
	rows := eval(`String(document.querySelectorAll("#chart-table tr").length - 1)`)
	nonEmpty := 0
	for i := range n {
		if sum(i, i) > 0 {
			nonEmpty++
		}
	}
	if bars != strconv.Itoa(nonEmpty) || rows != strconv.Itoa(nonEmpty) {
		t.Errorf("%s bars and %s rows of the text table, want %d of each", bars, rows, nonEmpty)
	}
	var box struct{ Left, Top, Width, Height float64 }
	if err := json.Unmarshal([]byte(eval(`JSON.stringify(document.querySelector("#chart-plot").getBoundingClientRect())`)), &box); err != nil {
		t.Fatal(err)
	}
	x := func(i int) float64 { return box.Left + (float64(i)+0.5)/float64(n)*box.Width }
	y := box.Top + box.Height/2

	// Hovering a bar shows its counts.
	run("hover", chromedp.MouseEvent(chromedp.MouseMoved, x(10), y))
	waitFor("the tooltip", `!document.querySelector("#chart-tip").hidden`)
	if got, want := eval(`document.querySelector("#chart-tip").textContent`), strconv.Itoa(sum(10, 10))+" requests"; !strings.Contains(got, want) {
		t.Errorf("tooltip %q, want %q", got, want)
	}

	// A drag across bars 10 to 14 makes their span the range.
	run("drag", chromedp.MouseEvent(chromedp.MousePressed, x(10), y, chromedp.ButtonLeft, chromedp.ClickCount(1)),
		chromedp.MouseEvent(chromedp.MouseMoved, x(12), y, chromedp.ButtonLeft), chromedp.MouseEvent(chromedp.MouseMoved, x(14), y, chromedp.ButtonLeft),
		chromedp.MouseEvent(chromedp.MouseReleased, x(14), y, chromedp.ButtonLeft, chromedp.ClickCount(1)))
	from, to := all.Start.Add(10*step), all.Start.Add(15*step)
	wantURL := "?range=custom&from=" + url.QueryEscape(from.Format("2006-01-02T15:04:05.000Z")) + "&to=" + url.QueryEscape(to.Format("2006-01-02T15:04:05.000Z"))
	waitFor("the dragged range", `location.search === `+strconv.Quote(wantURL))
	waitFor("its rows", `document.querySelector("#range-text").textContent.endsWith(" of `+strconv.Itoa(sum(10, 14))+` rows")`)
	waitFor("its chart", `document.querySelector("#chart-total").textContent === "`+strconv.Itoa(sum(10, 14))+` requests, 1 min a bar"`)
	// The chart was asked for once the rows had come: it never holds a
	// turn (the viewer's, a search's) that the rows wait for.
	order := eval(`(() => {
		const last = (s) => performance.getEntriesByType("resource").filter(e => e.name.includes(s)).pop();
		const rows = last("/rows?"), chart = last("/api/volume?");
		return rows.responseEnd <= chart.startTime ? "rows first" : "chart asked at " + chart.startTime + ", rows in at " + rows.responseEnd;
	})()`)
	if order != "rows first" {
		t.Errorf("the chart's request did not wait for the rows: %s", order)
	}

	// Back restores the whole day, the chart too.
	if _, err := chromedp.Run(ctx, chromedp.Evaluate[any](`history.back()`)); err != nil {
		t.Fatal(err)
	}
	waitFor("the whole day again", `location.search === "" && document.querySelector("#chart-total").textContent.startsWith("3,000 requests, 15 min a bar") && document.querySelector("#range-text").textContent.endsWith(" of 3,000 rows")`)

	// A click picks one bar; so do the arrow keys and Enter.
	run("click a bar", chromedp.MouseClickXY(x(20), y))
	waitFor("one bar's range", `new URLSearchParams(location.search).get("from") === "`+all.Start.Add(20*step).Format("2006-01-02T15:04:05.000Z")+`"`)
	if _, err := chromedp.Run(ctx, chromedp.Evaluate[any](`history.back()`)); err != nil {
		t.Fatal(err)
	}
	waitFor("the whole day again", `location.search === "" && document.querySelector("#chart-total").textContent.startsWith("3,000 requests")`)
	// The pointer leaves the chart: a hover would show its own bar.
	run("focus the chart", chromedp.MouseEvent(chromedp.MouseMoved, x(20), box.Top+box.Height+300), chromedp.Focus(chromedp.CSS("#chart-plot")))
	waitFor("the chart's focus", `document.activeElement.id === "chart-plot"`)
	run("the keyboard", chromedp.KeyEvent(kb.End), chromedp.KeyEvent(kb.ArrowLeft))
	waitFor("the picked bar's counts, shown and said", `document.querySelector("#chart-tip").textContent.includes("`+strconv.Itoa(sum(n-2, n-2))+` requests") && document.querySelector("#chart-said").textContent.includes("`+strconv.Itoa(sum(n-2, n-2))+` requests")`)
	run("Shift and the arrows", chromedp.KeyEvent(kb.ArrowLeft, chromedp.KeyModifiers(chromedp.ModifierShift)), chromedp.KeyEvent(kb.ArrowLeft, chromedp.KeyModifiers(chromedp.ModifierShift)))
	waitFor("three bars' counts", `document.querySelector("#chart-said").textContent.includes("`+apilog.FormatCount(sum(n-4, n-2))+` requests")`)
	run("Enter", chromedp.KeyEvent(kb.Enter))
	waitFor("the picked bars' range", `new URLSearchParams(location.search).get("from") === "`+all.Start.Add(time.Duration(n-4)*step).Format("2006-01-02T15:04:05.000Z")+
		`" && new URLSearchParams(location.search).get("to") === "`+all.Start.Add(time.Duration(n-1)*step).Format("2006-01-02T15:04:05.000Z")+`"`)
	if got := eval(`String(document.querySelector("#chart-tip").hidden)`); got != "true" {
		t.Errorf("the tooltip of the picked bars stays up after the range changed")
	}

	// The last bar, whose end is just after the newest row: its span holds
	// every row it counted.
	if _, err := chromedp.Run(ctx, chromedp.Evaluate[any](`history.back()`)); err != nil {
		t.Fatal(err)
	}
	waitFor("the whole day again", `location.search === "" && document.querySelector("#chart-total").textContent.startsWith("3,000 requests")`)
	run("the last bar", chromedp.Focus(chromedp.CSS("#chart-plot")), chromedp.KeyEvent(kb.End), chromedp.KeyEvent(kb.Enter))
	waitFor("its rows, all of them", `location.search.includes("range=custom") && document.querySelector("#range-text").textContent.endsWith(" of `+strconv.Itoa(sum(n-1, n-1))+` rows")`)

	// A range that cuts its first bar: a click on that bar keeps the
	// range's start, not the bar's.
	cut, end := all.Start.Add(5*step+7*time.Minute), all.Start.Add(25*step)
	run("a range that cuts a bar", chromedp.Navigate(srv.URL+"/?range=custom&from="+cut.Format(time.RFC3339)+"&to="+end.Format(time.RFC3339)),
		chromedp.WaitVisible(chromedp.CSS("#chart-plot svg rect")))
	cutBars := apilog.ChartBuckets(cut, end)
	if !cutBars.Start.Before(cut) {
		t.Fatalf("the bars of %v to %v start at %v: the range cuts none", cut, end, cutBars.Start)
	}
	waitFor("its chart", `document.querySelector("#chart-total").textContent.endsWith("`+strconv.Itoa(int(cutBars.Step/time.Minute))+` min a bar")`)
	run("click its first bar", chromedp.MouseClickXY(box.Left+2, y))
	waitFor("the range's own start", `new URLSearchParams(location.search).get("from") === "`+cut.Format("2006-01-02T15:04:05.000Z")+`"`)

	// Pinned: the chart counts the rows the table shows, not the ones
	// that came since; Clear shows both as they are now.
	pin := decodeAPI(t, get(t, h, "/api/logs")).MaxID
	if err := s.Append(bg, g.Entries(100)); err != nil {
		t.Fatal(err)
	}
	run("a pinned view", chromedp.Navigate(srv.URL+"/?max_id="+strconv.FormatInt(pin, 10)), chromedp.WaitVisible(chromedp.CSS("#chart-plot svg rect")))
	waitFor("the pinned chart", `document.querySelector("#chart-total").textContent.startsWith("3,000 requests") && document.querySelector("#range-text").textContent.endsWith(" of 3,000 rows")`)
	run("Clear", chromedp.Click(chromedp.CSS("a.clear")))
	waitFor("the chart of now", `document.querySelector("#chart-total").textContent.startsWith("3,100 requests") && document.querySelector("#range-text").textContent.endsWith(" of 3,100 rows")`)

	// A view with no rows has no bars, and says so.
	run("search for nothing", chromedp.Navigate(srv.URL+"/?q=no-such-thing"), chromedp.WaitVisible(chromedp.CSS(".chart-empty")))
	if got := eval(`document.querySelectorAll("#chart-plot svg rect").length + " " + document.querySelector(".chart-empty").textContent`); got != "0 No requests in this range" {
		t.Errorf("an empty view's chart: %q", got)
	}
}

// dayStore returns a store of 3,000 rows of acct_a like a real API's
// (apilogtest.Synthetic), one every 29 s over the day before t0, and
// their generator.
func dayStore(t testing.TB) (*memstore.Store, *apilogtest.Synthetic) {
	t.Helper()
	s := memstore.New(nil)
	t.Cleanup(func() { s.Close() })
	g := apilogtest.NewSynthetic(7, "acct_a", 12, t0)
	ctx := context.Background()
	for _, k := range g.Keys {
		if err := s.UpsertKey(ctx, k); err != nil {
			t.Fatal(err)
		}
	}
	entries := g.Entries(3000)
	for i := range entries {
		entries[i].Time = t0.Add(-24*time.Hour + time.Duration(i)*29*time.Second)
	}
	if err := s.Append(ctx, entries); err != nil {
		t.Fatal(err)
	}
	return s, g
}
