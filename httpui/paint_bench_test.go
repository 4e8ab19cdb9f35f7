package httpui_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/apilog/apilog/apilogtest"
	"github.com/apilog/apilog/sqlitestore"
	"github.com/chromedp/chromedp"
)

// paintRows is the size of the store the paint benchmark's page reads: the
// issue's "≥ 25,000 rows", 500 of them a page.
const paintRows = 25_000

// paintProbe measures, in the page, what a user waits for: from the
// timeStamp of the input event (a click, or the last key pressed) to the end
// of the frame that paints the rows (or the detail panel) it brought. A
// MutationObserver sees them change; requestAnimationFrame then runs before that frame is painted,
// and a task queued from it runs after. window.__arm() starts a measure,
// and window.__paint is its milliseconds once done (-1 until then).
const paintProbe = `(() => {
	let t0 = 0, armed = false, seen = false;
	for (const type of ["click", "keydown"]) document.addEventListener(type, (e) => { if (armed && !seen && e.isTrusted) t0 = e.timeStamp; }, true);
	const seenBy = new MutationObserver(() => {
		if (!armed || !t0 || seen) return;
		seen = true;
		requestAnimationFrame(() => setTimeout(() => { window.__paint = performance.now() - t0; }));
		// All the rows: the page adds those out of view in batches after
		// the first frame, with the table aria-busy until it is done.
		const all = () => document.querySelector("#tbody[aria-busy]") ? setTimeout(all, 1) : requestAnimationFrame(() => setTimeout(() => { window.__all = performance.now() - t0; armed = false; }));
		all();
	});
	// The rows, and the panel (replaced in the sheet); not the chart, whose
	// answer may come after the next input.
	seenBy.observe(document.querySelector("#rows"), { childList: true, subtree: true });
	const sheet = document.querySelector(".sheet"); // none before the panel came: a baseline's page
	if (sheet) seenBy.observe(sheet, { childList: true });
	window.__arm = () => { t0 = 0; seen = false; armed = true; window.__paint = window.__all = -1; };
})()`

// BenchmarkPaint drives the Logs page in headless Chromium (1,280 × 800)
// over a SQLite store of 25,000 rows, server included, and reports the
// median and 95th percentile of input to painted rows for each input:
//
//	go test -run '^$' -bench Paint -benchtime 21x ./httpui
func BenchmarkPaint(b *testing.B) {
	path := browserPath(b)
	s, err := sqlitestore.Open(filepath.Join(b.TempDir(), "paint.db"), nil)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { s.Close() })
	if err := apilogtest.FillBench(context.Background(), s, paintRows); err != nil {
		b.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle("/logs/", http.StripPrefix("/logs", benchHandler(b, s)))
	srv := httptest.NewServer(mux)
	b.Cleanup(srv.Close)
	ctx := browserContext(b, path)
	ctx, cancel := context.WithTimeout(ctx, time.Hour)
	b.Cleanup(cancel)
	do := func(what string, actions ...chromedp.Action[chromedp.Void]) {
		b.Helper()
		if err := chromedp.Do(ctx, actions...); err != nil {
			b.Fatalf("%s: %v", what, err)
		}
	}
	load := func(query string) {
		do("load", chromedp.Navigate(srv.URL+"/logs/"+query), chromedp.WaitVisible(chromedp.CSS("#tbody tr")))
		if _, err := chromedp.Run(ctx, chromedp.Evaluate[any](paintProbe)); err != nil {
			b.Fatal(err)
		}
	}
	// measure arms the probe, runs the input, and waits for its rows.
	measure := func(input ...chromedp.Action[chromedp.Void]) []float64 {
		b.Helper()
		if _, err := chromedp.Run(ctx, chromedp.Evaluate[any](`window.__arm()`)); err != nil {
			b.Fatal(err)
		}
		do("input", input...)
		ms, err := chromedp.Run(ctx, chromedp.Poll[[]float64](`window.__all >= 0 && [window.__paint, window.__all]`, chromedp.WithPollingTimeout(30*time.Second)))
		if err != nil {
			b.Fatalf("waiting for the rows: %v", err)
		}
		return ms
	}
	// setValue sets an input's value without an event, as a paste the
	// page has not yet been told of.
	setValue := func(css, v string) chromedp.Action[chromedp.Void] {
		return chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
			_, err := chromedp.Evaluate[any](fmt.Sprintf(`document.querySelector(%q).value = %q`, css, v))(ctx, t)
			return err
		})
	}
	click := func(css string) chromedp.Action[chromedp.Void] { return chromedp.Click(chromedp.CSS(css)) }
	for _, tt := range []struct {
		name  string
		query string                                       // of the page it starts from
		input func(i int) []chromedp.Action[chromedp.Void] // the i-th input
	}{
		{"sort", "", func(i int) []chromedp.Action[chromedp.Void] {
			cols := []string{"status", "endpoint", "time", "duration", "method", "ip", "api"}
			return []chromedp.Action[chromedp.Void]{click(`thead th[data-col=` + cols[i%len(cols)] + `] a`)}
		}},
		{"search", "", func(i int) []chromedp.Action[chromedp.Void] {
			terms := []string{"flux", "POST", "status:4xx", "upscale", "-status:2xx", ""}
			return []chromedp.Action[chromedp.Void]{
				setValue(`input[name=q]`, terms[i%len(terms)]),
				chromedp.SendKeys(chromedp.CSS(`input[name=q]`), "\r"),
			}
		}},
		{"type", "", func(i int) []chromedp.Action[chromedp.Void] {
			terms := []string{"flux", "post"}
			return []chromedp.Action[chromedp.Void]{
				setValue(`input[name=q]`, ""),
				chromedp.SendKeys(chromedp.CSS(`input[name=q]`), terms[i%len(terms)]),
			}
		}},
		{"chip", "", func(i int) []chromedp.Action[chromedp.Void] {
			return []chromedp.Action[chromedp.Void]{click(`input[name=status][value="` + []string{"4xx", "5xx"}[i%2] + `"]`)}
		}},
		{"open-detail", "", func(i int) []chromedp.Action[chromedp.Void] {
			return []chromedp.Action[chromedp.Void]{click(fmt.Sprintf(`#tbody tr:nth-child(%d) td[data-col=method]`, 1+i%8))}
		}},
		{"next-page", "", func(i int) []chromedp.Action[chromedp.Void] {
			if i%10 == 9 {
				return []chromedp.Action[chromedp.Void]{click(`.pager a[rel=first]`)}
			}
			return []chromedp.Action[chromedp.Void]{click(`.pager a[rel=next]`)}
		}},
	} {
		b.Run(tt.name, func(b *testing.B) {
			load(tt.query)
			var shown, all []float64
			i := 0
			for b.Loop() {
				ms := measure(tt.input(i)...)
				shown, all = append(shown, ms[0]), append(all, ms[1])
				i++
			}
			// ms-p50 and ms-p95: the rows in view painted; all-p50: the
			// last of the 500 too.
			p := func(ms []float64, q int) float64 { slices.Sort(ms); return ms[min(len(ms)-1, len(ms)*q/100)] }
			b.ReportMetric(p(shown, 50), "ms-p50")
			b.ReportMetric(p(shown, 95), "ms-p95")
			b.ReportMetric(p(all, 50), "all-p50")
			b.ReportMetric(0, "ns/op")
			if testing.Verbose() {
				b.Logf("%s: rows in view %v ms, all rows %v ms", tt.name, ints(shown), ints(all))
			}
		})
	}
}

func ints(ms []float64) []int {
	out := make([]int, len(ms))
	for i, v := range ms {
		out[i] = int(v + 0.5)
	}
	return out
}
