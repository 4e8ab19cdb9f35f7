package httpui_test

import (
	"context"
	"encoding/csv"
	"fmt"
	"iter"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/apilog/apilog"
	"github.com/apilog/apilog/apilogtest"
	"github.com/apilog/apilog/httpui"
	"github.com/apilog/apilog/internal/browsertest"
	"github.com/apilog/apilog/internal/race"
	"github.com/apilog/apilog/memstore"
	"github.com/chromedp/cdproto/browser"
	"github.com/chromedp/cdproto/input"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
)

// The browser tests' Chromium, shared with the demo's test.
var (
	browserPath    = browsertest.Path
	browserContext = browsertest.Context
	evalString     = browsertest.Eval
)

// browserPage drives the page of a browser test.
type browserPage struct {
	t   *testing.T
	ctx context.Context
}

// run runs a step's actions.
func (p *browserPage) run(step string, actions ...chromedp.Action[chromedp.Void]) {
	p.t.Helper()
	if err := chromedp.Do(p.ctx, actions...); err != nil {
		p.t.Fatalf("%s: %v", step, err)
	}
}

// eval returns the string a JavaScript expression gives.
func (p *browserPage) eval(js string) string { p.t.Helper(); return evalString(p.t, p.ctx, js) }

// waitFor polls a JavaScript condition, and for the page to have drawn
// every row of its view: the rows out of view come a frame after the rest
// (the table is aria-busy until then).
func (p *browserPage) waitFor(what, js string) {
	p.t.Helper()
	js = "(" + js + `) && !document.querySelector("#tbody[aria-busy]")`
	if _, err := chromedp.Run(p.ctx, chromedp.Poll[bool](js, chromedp.WithPollingTimeout(10*time.Second))); err != nil {
		p.t.Fatalf("waiting for %s (%s): %v; the page says %q at %q, error %q, search error %q", what, js, err,
			p.eval(`document.querySelector("#range-text").textContent`), p.eval("location.search"),
			p.eval(`String(document.querySelector("#js-error")?.textContent)`), p.eval(`document.querySelector("#search-error").textContent`))
	}
}

// TestBrowser drives the page in headless Chromium: search, sort, paging,
// selection and export, fullscreen, and a hostile row, each step in one
// page so that the in-place updates are what is tested.
func TestBrowser(t *testing.T) {
	path := browserPath(t)
	h := newHandler(t, newStore(t), &httpui.Options{
		Authorize: func(*http.Request) (httpui.Viewer, error) { return httpui.Viewer{Account: "acct_a"}, nil },
	})
	mux := http.NewServeMux()
	mux.Handle("/logs/", http.StripPrefix("/logs", h))
	srv := httptest.NewServer(mux)
	defer srv.Close()

	ctx := browserContext(t, path)
	pg := &browserPage{t, ctx}
	run, eval, waitFor := pg.run, pg.eval, pg.waitFor

	run("load", chromedp.Navigate(srv.URL+"/logs/"), chromedp.WaitVisible(chromedp.CSS("#tbody tr")))
	waitFor("500 rows", `document.querySelectorAll("#tbody tr").length === 500`)
	// The rows as the server drew them, to compare with the script's.
	served := eval(canonRows)
	if got := eval(`document.querySelector("#page-text").textContent`); got != "Page 1 of 3" {
		t.Errorf("pager says %q", got)
	}
	if got := eval(`document.querySelector("time").textContent`); strings.Contains(got, "UTC") {
		t.Errorf("time %q not shown in the browser's zone format", got)
	}

	// Search narrows the rows as one types.
	run("type a search", chromedp.SendKeys(chromedp.CSS("input[name=q]"), "POST"))
	waitFor("the search to apply", `document.querySelector("#range-text").textContent.includes("of 301 rows")`)
	if got := eval(`[...document.querySelectorAll("#tbody td[data-col=method]")].every(td => td.textContent === "POST") + " " + location.search`); got != "true ?q=POST" {
		t.Errorf("after typing POST: every row matches, URL: %q", got)
	}

	// A click on a header sorts; a second flips the order.
	statusHeader := `document.querySelector("thead th[data-col=status]")`
	run("sort by status", chromedp.Click(chromedp.CSS(`thead th[data-col=status] a`)))
	waitFor("ascending status", statusHeader+`.getAttribute("aria-sort") === "ascending"`)
	statuses := `[...document.querySelectorAll("#tbody .b")].map(b => parseInt(b.textContent))`
	if got := eval(`(s => s.every((v, i) => i === 0 || s[i-1] <= v) && s[0] < s[s.length-1]) (` + statuses + `) + ""`); got != "true" {
		t.Error("rows not in ascending status order")
	}
	run("sort again", chromedp.Click(chromedp.CSS(`thead th[data-col=status] a`)))
	waitFor("descending status", statusHeader+`.getAttribute("aria-sort") === "descending"`)
	if got := eval(`(s => s.every((v, i) => i === 0 || s[i-1] >= v) && s[0] > s[s.length-1]) (` + statuses + `) + ""`); got != "true" {
		t.Error("rows not in descending status order after the second click")
	}
	if got := eval(`location.search`); got != "?dir=desc&q=POST&sort=status" {
		t.Errorf("URL after sorting: %q", got)
	}

	// Clear: the default view again, drawn by the script this time, as
	// the server drew it.
	run("clear", chromedp.Click(chromedp.CSS("a.clear")))
	waitFor("all rows back", `document.querySelector("#range-text").textContent.includes("of 1,201 rows")`)
	waitFor("500 rows", `document.querySelectorAll("#tbody tr").length === 500`)
	sameMarkup(t, served, eval(canonRows))

	// The first click on Duration sorts slowest first (the column's
	// default direction, from the server), the second fastest first.
	durations := `[...document.querySelectorAll("#tbody td[data-col=duration]")].map(td => {
		const [v, unit] = td.textContent.split(" ");
		return parseFloat(v) * {"µs": 1e-3, ms: 1, s: 1e3}[unit];
	})`
	run("sort by duration", chromedp.Click(chromedp.CSS(`thead th[data-col=duration] a`)))
	waitFor("descending duration", `document.querySelector("thead th[data-col=duration]").getAttribute("aria-sort") === "descending"`)
	if got := eval(`(d => d.every((v, i) => i === 0 || d[i-1] >= v) && d[0] > d[d.length-1] && !d.some(isNaN)) (` + durations + `) + " " + location.search`); got != "true ?dir=desc&sort=duration" {
		t.Errorf("after a click on Duration: rows in descending duration order, URL = %q", got)
	}
	run("sort by duration again", chromedp.Click(chromedp.CSS(`thead th[data-col=duration] a`)))
	waitFor("ascending duration", `document.querySelector("thead th[data-col=duration]").getAttribute("aria-sort") === "ascending"`)
	if got := eval(`(d => d.every((v, i) => i === 0 || d[i-1] <= v) && d[0] < d[d.length-1]) (` + durations + `) + ""`); got != "true" {
		t.Error("rows not in ascending duration order after the second click")
	}

	// The Slow chip keeps the requests over a second, as a duration: term
	// does, and the URL keeps it. (The page shows 1,003 ms as "1.00 s".)
	run("slow only", chromedp.Click(chromedp.CSS(`input[name=slow]`)))
	waitFor("the slow rows", `document.querySelector("#range-text").textContent.includes("of 481 rows") && document.querySelectorAll("#tbody tr").length === 481`)
	if got := eval(`(d => d.length === 481 && d.every(v => v >= 1000)) (` + durations + `) + " " + new URLSearchParams(location.search).get("slow")`); got != "true 1" {
		t.Errorf("after a click on Slow: 481 rows over 1 s, slow=1 in the URL: %q", got)
	}
	run("clear", chromedp.Click(chromedp.CSS("a.clear")))
	waitFor("all rows back", `document.querySelector("#range-text").textContent.includes("of 1,201 rows") && !document.querySelector("input[name=slow]").checked`)
	run("search by duration", chromedp.SendKeys(chromedp.CSS("input[name=q]"), "duration:>500ms"))
	waitFor("the rows over 500 ms", `document.querySelector("#range-text").textContent.includes("of 841 rows") && document.querySelectorAll("#tbody tr").length === 500`)
	if got := eval(`(` + durations + `).every(v => v > 500) + ""`); got != "true" {
		t.Error("after searching duration:>500ms: a row of 500 ms or less")
	}

	// Page 2 of the default view is pinned to the rows of its page 1.
	run("clear", chromedp.Click(chromedp.CSS("a.clear")))
	waitFor("all rows back", `document.querySelector("#range-text").textContent.includes("of 1,201 rows") && location.search === ""`)
	run("next page", chromedp.Click(chromedp.CSS(`.pager a[rel=next]`)))
	waitFor("page 2", `document.querySelector("#page-text").textContent === "Page 2 of 3"`)
	// 1201: the viewer's own last row; the other tenant's later rows are not its to count.
	if got := eval(`location.search`); got != "?max_id=1201&page=2" {
		t.Errorf("URL on page 2: %q, want the page and the pin of page 1", got)
	}
	if got := eval(`[...new FormData(document.querySelector("#rows")).entries()].filter(([k]) => k !== "id").map(e => e.join("=")).sort().join("&")`); got != "max_id=1201&page=2" {
		t.Errorf("the export form sends %q, want the page and its pin", got)
	}
	if got := eval(`document.querySelector("thead th[data-col=status] a").getAttribute("href")`); got != "?dir=asc&sort=status" {
		t.Errorf("a sort from a pinned page links to %q, want a new view (no page, no pin)", got)
	}

	// Select all and export: the CSV holds exactly this page.
	dir := t.TempDir()
	progress := chromedp.Events(ctx, browser.DownloadProgress)
	run("allow downloads", chromedp.Func(func(ctx context.Context, _ *chromedp.Target) error {
		_, err := chromedp.Call(ctx, browser.SetDownloadBehavior, browser.SetDownloadBehaviorParams{
			Behavior: browser.SetDownloadBehaviorBehaviorAllowAndName, DownloadPath: dir, EventsEnabled: ptr(true),
		})
		return err
	}))
	run("select all", chromedp.Click(chromedp.ID("select-all")))
	if got := eval(`document.querySelector("#selected").textContent`); got != "500 selected" {
		t.Errorf("selection says %q", got)
	}
	pageTimes := eval(`[...document.querySelectorAll("#tbody time")].map(t => t.getAttribute("datetime")).join("\n")`)
	run("export CSV", chromedp.Click(chromedp.CSS(`button[formaction="export.csv"]`)))
	// downloaded reads the CSV of the download in progress.
	downloaded := func(progress iter.Seq2[browser.EventDownloadProgress, error]) [][]string {
		t.Helper()
		var file string
		for ev, err := range progress {
			if err != nil {
				t.Fatalf("download: %v", err)
			}
			if ev.State == browser.DownloadProgressStateCompleted {
				file = filepath.Join(dir, ev.GUID)
				break
			}
		}
		f, err := os.Open(file)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		recs, err := csv.NewReader(f).ReadAll()
		if err != nil {
			t.Fatalf("downloaded CSV: %v", err)
		}
		return recs
	}
	recs := downloaded(progress)
	if len(recs) != 501 {
		t.Fatalf("exported CSV: %d records, want a header and the 500 rows of page 2", len(recs))
	}
	var csvTimes []string
	for _, r := range recs[1:] {
		csvTimes = append(csvTimes, r[0])
	}
	if !sameTimes(strings.Split(pageTimes, "\n"), csvTimes) {
		t.Errorf("the CSV's rows are not the page's rows")
	}

	// Export all of a filtered view: every row the view selects, the count
	// the page shows, not one page.
	run("client errors only", chromedp.Click(chromedp.CSS(`input[name=status][value="4xx"]`)))
	waitFor("the 4xx rows", `document.querySelector("#range-text").textContent === "1–300 of 300 rows"`)
	if got := eval(`document.querySelector("#export-all").hidden + " " + document.querySelector("#export-all-text").textContent`); got != "false All 300 rows" {
		t.Errorf("the export-all buttons say %q, want \"All 300 rows\"", got)
	}
	progress = chromedp.Events(ctx, browser.DownloadProgress)
	run("export all CSV", chromedp.Click(chromedp.CSS(`button[formaction="export-all.csv"]`)))
	recs = downloaded(progress)
	classes := map[string]int{}
	for _, r := range recs[1:] {
		classes[r[7]]++
	}
	if len(recs) != 301 || classes["client_error"] != 300 {
		t.Errorf("export of all 300 rows of the 4xx view: %d records, by class %v; want a header and 300 client errors", len(recs), classes)
	}
	run("all statuses", chromedp.Click(chromedp.CSS(`input[name=status][value="4xx"]`)))
	waitFor("all rows", `document.querySelector("#range-text").textContent.includes("of 1,201 rows")`)

	// Fullscreen stays on through search and sort.
	run("fullscreen", chromedp.Click(chromedp.ID("fullscreen")))
	fullscreen := `(document.fullscreenElement !== null || document.querySelector("#logs").classList.contains("fullscreen-fallback"))`
	waitFor("fullscreen", fullscreen)
	run("search in fullscreen", chromedp.SendKeys(chromedp.CSS("input[name=q]"), "bye_xss0"))
	waitFor("one row", `document.querySelector("#range-text").textContent.includes("of 1 rows")`)
	if got := eval(`document.querySelector("#selected").textContent + " " + document.querySelector("#select-all").checked`); got != "0 selected false" {
		t.Errorf("after a search the selection is %q, want it cleared", got)
	}
	run("sort in fullscreen", chromedp.Click(chromedp.CSS(`thead th[data-col=endpoint] a`)))
	waitFor("endpoint sort", `location.search.includes("sort=endpoint")`)
	if got := eval(fullscreen + ` + ""`); got != "true" {
		t.Error("searching and sorting left fullscreen")
	}

	// The hostile row is text: no element came from it, nothing ran.
	if got := eval(`String(window.pwned) + " " + document.querySelectorAll("#tbody img, #tbody script").length + " " + document.querySelector("#tbody td[data-col=api]").textContent.includes("<img src=x")`); got != "undefined 0 true" {
		t.Errorf("hostile row: window.pwned, injected elements, shown as text = %q", got)
	}

	run("clear again", chromedp.Click(chromedp.CSS("a.clear")))
	waitFor("all rows back", `document.querySelector("#range-text").textContent.includes("of 1,201 rows")`)

	// Back undoes the last change of the view, in place.
	before := eval(`location.search`)
	run("sort by endpoint", chromedp.Click(chromedp.CSS(`thead th[data-col=endpoint] a`)))
	waitFor("endpoint sort", `location.search.includes("sort=endpoint")`)
	run("back", chromedp.Func(func(ctx context.Context, _ *chromedp.Target) error {
		_, err := chromedp.Run(ctx, chromedp.Evaluate[any](`history.back()`))
		return err
	}))
	waitFor("the previous view", `location.search === `+strconv.Quote(before)+` && document.querySelector("thead th[data-col=endpoint]").getAttribute("aria-sort") === "none"`)

	// A view from a link keeps what the form has no control for, and its
	// custom range, through a search; Back puts every control back.
	run("a shared view", chromedp.Navigate(srv.URL+"/logs/?key=k1&status=4xx&from=2026-11-25T11:00:00Z&to=2026-11-25T12:00:00Z"),
		chromedp.WaitVisible(chromedp.CSS("#tbody tr")))
	run("search it", chromedp.SendKeys(chromedp.CSS("input[name=q]"), "flux"))
	waitFor("the search within the view", `new URLSearchParams(location.search).get("q") === "flux"`)
	if got := eval(`location.search`); got != "?q=flux&status=4xx&key=k1&range=custom&from=2026-11-25T11%3A00%3A00.000Z&to=2026-11-25T12%3A00%3A00.000Z" {
		t.Errorf("URL after searching a shared view: %q", got)
	}
	run("back to the shared view", chromedp.Func(func(ctx context.Context, _ *chromedp.Target) error {
		_, err := chromedp.Run(ctx, chromedp.Evaluate[any](`history.back()`))
		return err
	}))
	waitFor("the controls of the shared view", `document.querySelector("input[name=q]").value === "" && document.querySelector("input[name=status][value='4xx']").checked && location.search.startsWith("?key=k1")`)

	// An operator's view of every tenant starts with the account, which
	// the script draws as the server did: sorted away and back to the
	// default, the rows are the served markup again.
	mux.Handle("/ops/", http.StripPrefix("/ops", newHandler(t, newStore(t), &httpui.Options{
		Authorize: func(*http.Request) (httpui.Viewer, error) { return httpui.Viewer{AllAccounts: true}, nil },
	})))
	run("the operator's view", chromedp.Navigate(srv.URL+"/ops/"), chromedp.WaitVisible(chromedp.CSS("#tbody tr")))
	served = eval(canonRows)
	if !strings.Contains(served, `<td data-col="account">acct_b</td>`) {
		t.Errorf("the operator's rows have no account cell of acct_b:\n%.600s", served)
	}
	run("sort by time, oldest first", chromedp.Click(chromedp.CSS(`thead th[data-col=time] a`)))
	waitFor("oldest first", `new URLSearchParams(location.search).get("dir") === "asc"`)
	run("sort by time, newest first", chromedp.Click(chromedp.CSS(`thead th[data-col=time] a`)))
	waitFor("the default view", `location.search === "" && document.querySelectorAll("#tbody tr").length === 500`)
	sameMarkup(t, served, eval(canonRows))
}

// syntheticStore returns a store of 2,000 rows of account like a real
// API's (apilogtest.Synthetic, with seed and nkeys keys), from start on.
func syntheticStore(t testing.TB, seed uint64, account string, nkeys int, start time.Time) *memstore.Store {
	t.Helper()
	s := memstore.New(nil)
	t.Cleanup(func() { s.Close() })
	g := apilogtest.NewSynthetic(seed, account, nkeys, start)
	ctx := context.Background()
	for _, k := range g.Keys {
		if err := s.UpsertKey(ctx, k); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Append(ctx, g.Entries(2000)); err != nil {
		t.Fatal(err)
	}
	return s
}

// canonRows is the table's rows as text: each element with its attributes
// in name order, so that rows the server drew and rows the script drew
// compare equal when they are the same markup.
const canonRows = `(() => {
	const canon = (n) => n.nodeType === Node.TEXT_NODE ? n.data : "<" + n.localName +
		[...n.attributes].map(a => " " + a.name + "=" + JSON.stringify(a.value)).sort().join("") + ">" +
		[...n.childNodes].map(canon).join("") + "</" + n.localName + ">";
	return [...document.querySelectorAll("#tbody tr")].map(canon).join("\n");
})()`

// sameMarkup reports the first row of canonRows that the server and the
// script drew differently.
func sameMarkup(t *testing.T, served, drawn string) {
	t.Helper()
	a, b := strings.Split(served, "\n"), strings.Split(drawn, "\n")
	for i := range max(len(a), len(b)) {
		if i >= len(a) || i >= len(b) || a[i] != b[i] {
			t.Errorf("row %d: the server drew %d rows, the script %d; the server's\n%s\nthe script's\n%s", i, len(a), len(b), at(a, i), at(b, i))
			return
		}
	}
}

// at is s[i], or "" past its end.
func at(s []string, i int) string {
	if i < len(s) {
		return s[i]
	}
	return ""
}

func sameTimes(page, exported []string) bool {
	if len(page) != len(exported) {
		return false
	}
	parse := func(ss []string) []int64 {
		var out []int64
		for _, s := range ss {
			t, err := time.Parse(time.RFC3339Nano, s)
			if err != nil {
				return nil
			}
			out = append(out, t.UnixNano())
		}
		slices.Sort(out)
		return out
	}
	a, b := parse(page), parse(exported)
	return a != nil && slices.Equal(a, b)
}

func ptr[T any](v T) *T { return &v }

// TestBrowserLive: with Live on, a row recorded for the viewer shows at the
// top within 3 s; scrolled down, the rows stay put and a bar counts the new
// ones (this tenant's only), and shows them on a click.
func TestBrowserLive(t *testing.T) {
	path := browserPath(t)
	s := newStore(t)
	h := newHandler(t, s, &httpui.Options{
		Authorize: func(*http.Request) (httpui.Viewer, error) { return httpui.Viewer{Account: "acct_a"}, nil },
	})
	srv := httptest.NewServer(h)
	defer srv.Close()
	ctx := browserContext(t, path)
	eval := func(js string) string { t.Helper(); return evalString(t, ctx, js) }
	// within polls a JavaScript condition for up to d.
	within := func(d time.Duration, what, js string) {
		t.Helper()
		if _, err := chromedp.Run(ctx, chromedp.Poll[bool](js, chromedp.WithPollingTimeout(d))); err != nil {
			t.Fatalf("%s within %s (%s): %v", what, d, js, err)
		}
	}
	// Polls wait 2 s, or 20 times as long as the last took: under the race
	// detector, which slows the server several times, longer than 2 s.
	soon := 3 * time.Second
	if race.Enabled {
		soon = 10 * time.Second
	}
	record := func(account, endpoint string) {
		t.Helper()
		if err := s.Append(context.Background(), []apilog.Entry{{Account: account, KeyID: "k1", Method: "GET", Endpoint: endpoint,
			Status: 200, Time: t0.Add(2 * time.Hour), RequestID: "req-live"}}); err != nil {
			t.Fatal(err)
		}
	}
	if err := chromedp.Do(ctx, chromedp.Navigate(srv.URL+"/?live=1"), chromedp.WaitVisible(chromedp.CSS("#tbody tr"))); err != nil {
		t.Fatal(err)
	}
	if got := eval(`document.querySelector("input[name=live]").checked + " " + document.querySelectorAll("#tbody tr").length`); got != "true 500" {
		t.Fatalf("the live page: Live ticked, rows = %q", got)
	}
	firstEndpoint := `document.querySelector("#tbody tr td[data-col=endpoint]").textContent`

	recorded := time.Now()
	record("acct_a", "/v1/live-1")
	within(soon, "the new row at the top", firstEndpoint+` === "/v1/live-1"`)
	t.Logf("a live row was on the page %v after it was recorded (polls every 2 s)", time.Since(recorded).Round(time.Millisecond))
	if got := eval(`document.querySelectorAll("#tbody tr").length + " " + document.querySelector("#range-text").textContent + " " + location.search`); got != "500 1–500 of 1,202 rows ?live=1" {
		t.Errorf("after a live row: %q, want 500 rows of 1,202 and no pin in the URL", got)
	}

	// A row that started before rows already shown (a slow request, given
	// its ID when it ended) goes where it sorts, not on top: the page is
	// the server's first page, each row once.
	late := func(account, endpoint string, at time.Time) {
		t.Helper()
		if err := s.Append(context.Background(), []apilog.Entry{{Account: account, KeyID: "k1", Method: "GET", Endpoint: endpoint,
			Status: 200, Time: at, RequestID: "req-late", IPHash: strings.Repeat("cd", 32)}}); err != nil {
			t.Fatal(err)
		}
	}
	late("acct_a", "/v1/slow-started-earlier", t0.Add(-1500*time.Millisecond))
	record("acct_a", "/v1/live-1b")
	within(soon, "the next live rows", firstEndpoint+` === "/v1/live-1b" && !document.querySelector("#tbody[aria-busy]")`)
	same, err := chromedp.Run(ctx, chromedp.Evaluate[string](`fetch("api/logs?live=1").then(r => r.json()).then(b => {
		const ids = [...document.querySelectorAll("#tbody tr")].map(tr => tr.dataset.id);
		return [b.rows.map(r => r.id).join() === ids.join(), new Set(ids).size === ids.length].join(" ");
	})`, chromedp.EvalAwaitPromise))
	if err != nil || same != "true true" {
		t.Errorf("after a late-started row: the page's rows are the server's first page, each once = %q (%v)", same, err)
	}

	// Scrolled down: nothing moves; the bar counts this tenant's new rows.
	if _, err := chromedp.Run(ctx, chromedp.Evaluate[any](`window.scrollTo(0, 2000)`)); err != nil {
		t.Fatal(err)
	}
	before := eval(`document.querySelector("#tbody tr").dataset.id + " " + window.scrollY`)
	record("acct_b", "/v1/other-tenant")
	record("acct_a", "/v1/live-2")
	within(soon, "the new-requests bar", `!document.querySelector("#live-show").hidden`)
	if got := eval(`document.querySelector("#live-show").textContent`); got != "1 new request — show" {
		t.Errorf("the bar says %q, want one new request (the other tenant's is not counted)", got)
	}
	if got := eval(`document.querySelector("#tbody tr").dataset.id + " " + window.scrollY`); got != before {
		t.Errorf("with the bar up, the first row and the scroll are %q, were %q", got, before)
	}
	if err := chromedp.Do(ctx, chromedp.Click(chromedp.ID("live-show"))); err != nil {
		t.Fatal(err)
	}
	within(soon, "the new rows shown", firstEndpoint+` === "/v1/live-2" && document.querySelector("#live-show").hidden && window.scrollY === 0`)
	if got := eval(`document.body.textContent.includes("other-tenant") + ""`); got != "false" {
		t.Error("the other tenant's row reached the page")
	}

	// In fullscreen the panel scrolls, not the window: scrolled down in
	// it, a new row moves nothing either.
	if err := chromedp.Do(ctx, chromedp.Click(chromedp.ID("fullscreen"))); err != nil {
		t.Fatal(err)
	}
	panel := `(document.fullscreenElement || document.querySelector("#logs.fullscreen-fallback"))`
	within(soon, "fullscreen", panel+` !== null`)
	if _, err := chromedp.Run(ctx, chromedp.Evaluate[any](panel+`.scrollTo(0, 2000)`)); err != nil {
		t.Fatal(err)
	}
	before = eval(`document.querySelector("#tbody tr").dataset.id + " " + ` + panel + `.scrollTop`)
	record("acct_a", "/v1/live-3")
	within(soon, "the bar in fullscreen", `!document.querySelector("#live-show").hidden`)
	if got := eval(`document.querySelector("#tbody tr").dataset.id + " " + ` + panel + `.scrollTop`); got != before {
		t.Errorf("in fullscreen, scrolled: the first row and the scroll are %q, were %q", got, before)
	}
}

// TestBrowserNavigation: the toolbar and the column headers stay in view
// however far the rows scroll (in the page and in fullscreen, at 1,280 and
// at 390 px); paging goes back to the table's top and repeats no row while
// rows arrive; a page past the last says so and links to it; shift-click
// selects a range, which shows; the keys; errors a person can read.
func TestBrowserNavigation(t *testing.T) {
	path := browserPath(t)
	s := newStore(t)
	var down, loggedOut atomic.Bool // the server does not answer; the session ended
	h := newHandler(t, s, &httpui.Options{
		Authorize: func(*http.Request) (httpui.Viewer, error) { return httpui.Viewer{Account: "acct_a"}, nil },
	})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case down.Load():
			panic(http.ErrAbortHandler) // the connection drops, as a server going away
		case r.URL.Path == "/login":
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
			w.Write([]byte(`<!doctype html><form id="login"><input name="user"></form>`))
		case loggedOut.Load():
			http.Redirect(w, r, "/login", http.StatusFound) // as a host's session check does
		default:
			h.ServeHTTP(w, r)
		}
	}))
	defer srv.Close()
	ctx := browserContext(t, path)
	pg := &browserPage{t, ctx}
	run, eval, waitFor := pg.run, pg.eval, pg.waitFor
	// stuck says where the toolbar and the headers are, after scrolling
	// the page's scroller (the document, or the fullscreen element) to
	// x, y: "ok" when the toolbar is at the top, all of it within the
	// window's width, and the headers just under it.
	stuck := func(x, y int) string {
		t.Helper()
		return eval(fmt.Sprintf(`(() => {
			const sc = document.fullscreenElement || (document.querySelector("#logs.fullscreen-fallback")) || document.scrollingElement;
			sc.scrollTo(%d, %d);
			const bar = document.querySelector("#bar").getBoundingClientRect(), th = document.querySelector("thead th[data-col=status]").getBoundingClientRect();
			const w = document.documentElement.clientWidth;
			if (sc.scrollTop < %d) return "scrolled only " + sc.scrollTop;
			if (Math.abs(bar.top) > 1 || bar.left < 0 || bar.right > w + 1) return "toolbar at " + JSON.stringify(bar);
			if (Math.abs(th.top - bar.bottom) > 2) return "headers at " + th.top + ", toolbar ends at " + bar.bottom;
			return "ok";
		})()`, x, y, y))
	}

	run("load", chromedp.Navigate(srv.URL+"/"), chromedp.WaitVisible(chromedp.CSS("#tbody tr")))
	if got := stuck(0, 2000); got != "ok" {
		t.Errorf("at 1,280 px, scrolled 2,000 px: %s", got)
	}

	// Paging shows the next page from its top, and repeats none of the
	// first page's rows though rows arrive in between.
	page1 := eval(`[...document.querySelectorAll("#tbody tr")].map(tr => tr.dataset.id).join(" ")`)
	var late []apilog.Entry
	for i := range 20 {
		late = append(late, apilog.Entry{Account: "acct_a", KeyID: "k1", Method: "GET", Endpoint: "/v1/late", Status: 200, Time: t0.Add(time.Duration(i) * time.Minute), RequestID: "req-late"})
	}
	if err := s.Append(context.Background(), late); err != nil {
		t.Fatal(err)
	}
	run("next page", chromedp.Click(chromedp.CSS(`#pager a[rel=next]`)))
	waitFor("page 2", `document.querySelector("#page-text").textContent === "Page 2 of 3" && !document.querySelector("#tbody[aria-busy]")`)
	if got := eval(`(() => { const bar = document.querySelector("#bar").getBoundingClientRect(), tr = document.querySelector("#tbody tr").getBoundingClientRect(); return tr.top >= bar.bottom && tr.bottom < innerHeight ? "ok" : "first row at " + tr.top + ", toolbar ends at " + bar.bottom; })()`); got != "ok" {
		t.Errorf("after Next the first row is not in view under the toolbar: %s", got)
	}
	page2 := strings.Fields(eval(`[...document.querySelectorAll("#tbody tr")].map(tr => tr.dataset.id).join(" ")`))
	seen := map[string]bool{}
	for _, id := range strings.Fields(page1) {
		seen[id] = true
	}
	for _, id := range page2 {
		if seen[id] {
			t.Errorf("row %s is on page 1 and on page 2", id)
		}
	}
	if len(page2) != 500 {
		t.Errorf("page 2 has %d rows, want 500", len(page2))
	}

	// Shift and a click select the rows between two clicks; selected rows
	// are highlighted.
	run("click row 3", chromedp.Click(chromedp.CSS(`#tbody tr:nth-child(3) input[name=id]`)))
	run("shift-click row 7", chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
		nodes, err := chromedp.Nodes(chromedp.CSS(`#tbody tr:nth-child(7) input[name=id]`))(ctx, tg)
		if err != nil {
			return err
		}
		_, err = chromedp.MouseClickNode(nodes[0], chromedp.ButtonModifiers(chromedp.ModifierShift))(ctx, tg)
		return err
	}))
	if got := eval(`[...document.querySelectorAll("#tbody input[name=id]")].map((b, i) => b.checked ? i + 1 : 0).filter(Boolean).join(",") + " " + document.querySelector("#selected").textContent`); got != "3,4,5,6,7 5 selected" {
		t.Errorf("after a click on row 3 and a shift-click on row 7: checked rows %q", got)
	}
	if got := eval(`String(getComputedStyle(document.querySelector("#tbody tr:nth-child(5)")).backgroundColor !== getComputedStyle(document.querySelector("#tbody tr:nth-child(9)")).backgroundColor)`); got != "true" {
		t.Error("a selected row looks like an unselected one")
	}

	// A page past the last says so and links to the last.
	run("page 99", chromedp.Navigate(srv.URL+"/?page=99"), chromedp.WaitVisible(chromedp.CSS("#empty")))
	if got := eval(`document.querySelector("#empty").textContent`); got != "There is no page 99: this view has 3 pages. Go to the last page" {
		t.Errorf("past the last page: %q", got)
	}
	run("to the last page", chromedp.Click(chromedp.CSS(`#empty a`)))
	waitFor("page 3", `document.querySelector("#page-text").textContent === "Page 3 of 3" && document.querySelector("#empty").hidden && document.querySelectorAll("#tbody tr").length === 221`)

	// Keys: / goes to the search box, Esc clears it, p goes to the pager.
	// press sends a key's keydown and keyup, and the character only if
	// the page lets the keydown through, as a browser does (chromedp's
	// KeyEvent sends the character whatever the page did).
	press := func(key, code string, keyCode int64) chromedp.Action[chromedp.Void] {
		return chromedp.Func(func(ctx context.Context, _ *chromedp.Target) error {
			ev := input.DispatchKeyEventParams{Type: input.DispatchKeyEventTypeRawKeyDown, Key: key, Code: code, WindowsVirtualKeyCode: keyCode}
			if _, err := chromedp.Call(ctx, input.DispatchKeyEvent, ev); err != nil {
				return err
			}
			ev.Type = input.DispatchKeyEventTypeKeyUp
			_, err := chromedp.Call(ctx, input.DispatchKeyEvent, ev)
			return err
		})
	}
	run("slash", chromedp.Click(chromedp.CSS(`h1`)), press("/", "Slash", 191))
	if got := eval(`document.activeElement.name`); got != "q" {
		t.Errorf("after /, the focus is on %q, want the search box", got)
	}
	run("a bad search", chromedp.SendKeys(chromedp.CSS("input[name=q]"), "status:abc"))
	waitFor("the error beside the search box", `!document.querySelector("#search-error").hidden`)
	if got := eval(`[document.querySelector("#search-error").textContent, document.querySelector("input[name=q]").getAttribute("aria-invalid"), document.querySelector("#logs").classList.contains("stale"), document.querySelector("#js-error") === null].join(" | ")`); got != "status:abc: want a code (401), a class (4xx) or a range (500-599) (at character 1) | true | true | true" {
		t.Errorf("after searching status:abc: %q", got)
	}
	run("Esc", chromedp.KeyEvent(kb.Escape))
	waitFor("the search cleared and its error gone", `document.querySelector("input[name=q]").value === "" && document.querySelector("#search-error").hidden && !document.querySelector("input[name=q]").hasAttribute("aria-invalid") && location.search === ""`)
	run("p", chromedp.Click(chromedp.CSS(`h1`)), press("p", "KeyP", 80))
	if got := eval(`document.activeElement.closest("#pager") !== null && document.activeElement.rel`); got != "next" {
		t.Errorf("after p, the focus is on %q, want the pager's Next", got)
	}

	// Typing status:4xx ticks the 4xx chip; a click on a chip keeps the
	// focus on it though the chips are redrawn.
	run("search status:4xx", chromedp.SendKeys(chromedp.CSS("input[name=q]"), "status:4xx"))
	waitFor("the 4xx chip ticked by the search", `(b => b.checked && b.disabled)(document.querySelector("input[name=status][value='4xx']")) && document.querySelector("#range-text").textContent.includes("of 300 rows")`)
	run("clear", chromedp.Click(chromedp.CSS("a.clear")))
	waitFor("all rows back", `document.querySelector("#range-text").textContent.includes("of 1,221 rows") && !document.querySelector("input[name=status][value='4xx']").checked`)
	run("5xx chip", chromedp.Click(chromedp.CSS(`input[name=status][value="5xx"]`)))
	waitFor("the 5xx rows", `document.querySelector("#range-text").textContent === "1–1 of 1 rows"`)
	if got := eval(`document.activeElement.name + " " + document.activeElement.value + " " + document.activeElement.checked`); got != "status 5xx true" {
		t.Errorf("after a click on the 5xx chip the focus is on %q, want the chip", got)
	}
	run("5xx chip off", chromedp.Click(chromedp.CSS(`input[name=status][value="5xx"]`)))
	waitFor("all rows back", `document.querySelector("#range-text").textContent.includes("of 1,221 rows")`)

	// The key filter lists the viewer's keys with their state; ticking
	// one shows its rows.
	run("open the key filter", chromedp.Click(chromedp.CSS(`details.keys summary`)))
	if got := eval(`[...document.querySelectorAll("#key-list label")].map(l => l.textContent.trim() + " " + l.querySelector(".ks").title).join(" | ")`); got != xss[1]+" bye_XSS0 Revoked or inactive | production-api bye_AB12 Active" {
		t.Errorf("the key filter lists %q", got)
	}
	if got := eval(`String(window.pwned) + " " + document.querySelectorAll("#key-list img, #key-list script").length`); got != "undefined 0" {
		t.Errorf("the hostile key name in the key filter: window.pwned, injected elements = %q", got)
	}
	run("tick production-api", chromedp.Click(chromedp.CSS(`#key-list input[value=k1]`)))
	waitFor("its rows", `document.querySelector("#range-text").textContent.includes("of 1,220 rows") && new URLSearchParams(location.search).get("key") === "k1" && document.activeElement.value === "k1"`)
	run("untick it", chromedp.Click(chromedp.CSS(`#key-list input[value=k1]`)))
	waitFor("all rows back", `document.querySelector("#range-text").textContent.includes("of 1,221 rows") && location.search === ""`)
	run("close the key filter", chromedp.Click(chromedp.CSS(`details.keys summary`)))

	// A server that does not answer: said, with a way to try again.
	down.Store(true)
	run("sort while down", chromedp.Click(chromedp.CSS(`thead th[data-col=status] a`)))
	waitFor("the error", `document.querySelector("#js-error") !== null`)
	if got := eval(`document.querySelector("#js-error").textContent + " " + document.querySelector("#logs").classList.contains("stale")`); got != "The server did not answer. Try again true" {
		t.Errorf("a sort with the server down says %q", got)
	}
	down.Store(false)
	run("try again", chromedp.Click(chromedp.CSS(`#js-error button`)))
	waitFor("the sorted rows", `document.querySelector("#js-error") === null && document.querySelector("thead th[data-col=status]").getAttribute("aria-sort") === "ascending" && !document.querySelector("#logs").classList.contains("stale")`)

	// An ended session (the host redirects to its login page) is said,
	// and breaks nothing of the page.
	loggedOut.Store(true)
	run("sort after the session ended", chromedp.Click(chromedp.CSS(`thead th[data-col=endpoint] a`)))
	waitFor("the error", `document.querySelector("#js-error") !== null`)
	if got := eval(`[document.querySelector("#js-error").textContent, ["#tbody", "#thead", "#pager", "#state", "#detail", "#chips", "#key-list"].every(id => document.querySelector(id))].join(" | ")`); got != "The server answered with another page (has your session ended?): reload this one. | true" {
		t.Errorf("with the session ended: %q", got)
	}
	loggedOut.Store(false)

	// Enter on a sort header sorts, and the focus stays on that header.
	run("Enter on Status", chromedp.Focus(chromedp.CSS(`thead th[data-col=status] a`)), chromedp.KeyEvent(kb.Enter))
	waitFor("descending status", `document.querySelector("thead th[data-col=status]").getAttribute("aria-sort") === "descending"`)
	if got := eval(`document.activeElement.closest("th") ? document.activeElement.closest("th").dataset.col : document.activeElement.tagName`); got != "status" {
		t.Errorf("after Enter on the Status header the focus is on %q", got)
	}

	// Fullscreen: the fullscreen element is what scrolls.
	run("fullscreen", chromedp.Click(chromedp.ID("fullscreen")))
	waitFor("fullscreen", `document.fullscreenElement !== null || document.querySelector("#logs").classList.contains("fullscreen-fallback")`)
	if got := stuck(0, 2000); got != "ok" {
		t.Errorf("in fullscreen, scrolled 2,000 px: %s", got)
	}
	run("leave fullscreen", chromedp.Click(chromedp.ID("fullscreen")))

	// 390 px: the table is wider than the window, and the page scrolls
	// sideways under a toolbar that keeps to the window.
	run("phone width", chromedp.EmulateViewport(390, 844))
	waitFor("a narrow layout", `document.documentElement.clientWidth === 390 && document.fullscreenElement === null`)
	if got := stuck(300, 2000); got != "ok" {
		t.Errorf("at 390 px, scrolled 2,000 px down and 300 px right: %s", got)
	}
	if got := eval(`(() => { const h = document.querySelector("#bar").getBoundingClientRect().height; return h < 844 / 4 ? "ok" : "the toolbar is " + h + " px tall"; })()`); got != "ok" {
		t.Errorf("at 390 px: %s", got)
	}
}

// TestBrowserDetail: a click on a row, or Enter on its checkbox, opens its
// detail panel, drawn by the server and escaped; Esc closes it; its
// permalink opens the page with the panel; a permalink to another
// tenant's row shows nothing of it.
func TestBrowserDetail(t *testing.T) {
	path := browserPath(t)
	h := newHandler(t, newStore(t), &httpui.Options{
		Authorize: func(*http.Request) (httpui.Viewer, error) { return httpui.Viewer{Account: "acct_a"}, nil },
	})
	srv := httptest.NewServer(h)
	defer srv.Close()
	ctx := browserContext(t, path)
	pg := &browserPage{t, ctx}
	run, eval, waitFor := pg.run, pg.eval, pg.waitFor
	run("grant the clipboard", chromedp.Func(func(ctx context.Context, _ *chromedp.Target) error {
		for _, name := range []string{"clipboard-read", "clipboard-write"} {
			if _, err := chromedp.Call(ctx, browser.SetPermission, browser.SetPermissionParams{
				Permission: &browser.PermissionDescriptor{Name: name}, Setting: browser.PermissionSettingGranted, Origin: srv.URL,
			}); err != nil {
				return err
			}
		}
		return nil
	}))
	panel := `document.querySelector("#detail")`
	run("load", chromedp.Navigate(srv.URL+"/"), chromedp.WaitVisible(chromedp.CSS("#tbody tr")))

	// The newest row is the hostile one: its panel shows its text as text.
	run("click the first row", chromedp.Click(chromedp.CSS(`#tbody tr:first-child td[data-col=status]`)))
	waitFor("the panel", `!`+panel+`.hidden && document.activeElement.id === "detail-title"`)
	text := eval(panel + `.innerText`)
	for _, want := range []string{"POST /v1/" + xss[0], "500 Internal Server Error · Server error", xss[2], "req-xss", xss[1], "bye_XSS0", "Revoked or inactive since Nov 25, 2026, 7:00:00 AM", "2026-11-25 12:00:01.000 UTC"} {
		if !strings.Contains(text, want) {
			t.Errorf("the panel does not say %q:\n%s", want, text)
		}
	}
	if got := eval(`String(window.pwned) + " " + document.querySelectorAll("#detail img, #detail script").length`); got != "undefined 0" {
		t.Errorf("hostile row in the panel: window.pwned, injected elements = %q", got)
	}
	permalink := eval(`document.querySelector("#detail .permalink").href`)
	if got := eval(`location.href`); got != permalink {
		t.Errorf("with the panel open the URL is %q, want its permalink %q", got, permalink)
	}
	run("copy the request ID", chromedp.Click(chromedp.CSS(`#detail button[data-copy="req-xss"]`)))
	waitFor("Copied", `document.querySelector('#detail button[data-copy="req-xss"]').textContent === "Copied"`)
	if got, err := chromedp.Run(ctx, chromedp.Evaluate[string](`navigator.clipboard.readText()`, chromedp.EvalAwaitPromise)); err != nil || got != "req-xss" {
		t.Errorf("the clipboard holds %q (%v), want req-xss", got, err)
	}
	run("Esc", chromedp.KeyEvent(kb.Escape))
	waitFor("the panel closed", panel+`.hidden && location.search === "" && document.activeElement === document.querySelector("#tbody tr:first-child input")`)

	// By keyboard: Enter on a row's checkbox.
	run("focus row 3", chromedp.Focus(chromedp.CSS(`#tbody tr:nth-child(3) input[name=id]`)), chromedp.KeyEvent(kb.Enter))
	waitFor("row 3's panel", `!`+panel+`.hidden && new URLSearchParams(location.search).get("row") === document.querySelector("#tbody tr:nth-child(3)").dataset.id`)
	if got := eval(`document.querySelector("#tbody tr:nth-child(3) input").checked + ""`); got != "false" {
		t.Error("Enter on a row's checkbox ticked it")
	}

	// The permalink opens the page with the panel, drawn by the server.
	run("open the permalink", chromedp.Navigate(permalink), chromedp.WaitVisible(chromedp.CSS("#detail dl")))
	if got := eval(`document.querySelector("#detail").innerText.includes("req-xss") + ""`); got != "true" {
		t.Errorf("the permalink's panel is not the hostile row's: %q", eval(panel+`.innerText`))
	}

	// A request ID pasted in the search box finds its row, as a plain
	// term and with req:; another tenant's finds nothing.
	run("back to the rows", chromedp.Navigate(srv.URL+"/"), chromedp.WaitVisible(chromedp.CSS("#tbody tr")))
	for _, tt := range []struct{ search, rows string }{
		{"req-xss", "1–1 of 1 rows"},
		{"req:req-a", "1–500 of 1,200 rows"},
		{"req:REQ-A", "0 of 0 rows"},
		{"req-b", "0 of 0 rows"},
	} {
		eval(`document.querySelector("input[name=q]").value = ""`)
		run("search "+tt.search, chromedp.SendKeys(chromedp.CSS("input[name=q]"), tt.search+"\r"))
		waitFor("the rows of "+tt.search, `document.querySelector("#range-text").textContent === "`+tt.rows+`" && new URLSearchParams(location.search).get("q") === "`+tt.search+`"`)
	}
	if got := eval(`document.querySelector("#empty").textContent`); got != "No rows match “req-b”" {
		t.Errorf("another tenant's request ID: %q", got)
	}

	// Another tenant's row (acct_b's first, ID 1202): nothing of it.
	run("another tenant's permalink", chromedp.Navigate(srv.URL+"/?row=1202&at=2026-11-25T12:00:00Z"), chromedp.WaitVisible(chromedp.CSS("#detail")))
	if got := eval(`[document.querySelector("#detail-title").textContent, document.body.innerText.includes("secret-of-b"), document.body.innerHTML.includes("req-b")].join(" ")`); got != "Request not found false false" {
		t.Errorf("a permalink to another tenant's row shows %q", got)
	}
}
