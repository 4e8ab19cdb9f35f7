package main

import (
	"context"
	"encoding/json"
	"flag"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/apilog/apilog"
	"github.com/apilog/apilog/internal/browsertest"
	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"
)

var updateScreenshots = flag.Bool("update-screenshots", false, "write the README's pictures, testdata/logs-light.png and logs-dark.png, from TestDemoChart")

// TestDemoChart opens the demo's page in headless Chromium: its chart has
// bars of every status class over the week of history, counts what the
// table holds, and a hovered bar says its counts.
func TestDemoChart(t *testing.T) {
	path := browsertest.Path(t)
	dir := t.TempDir()
	d := start(t, build(t, dir), nil, "-addr", "127.0.0.1:0", "-db", filepath.Join(dir, "demo.db"), "-rate", "0", "-prefill", "5000")
	defer d.stop(t)

	resp, err := http.Get(d.url + "babysea/api/volume")
	if err != nil {
		t.Fatal(err)
	}
	var vol struct {
		Total   int
		Classes []struct{ Name, Color string }
		Counts  [][]int
	}
	err = json.NewDecoder(resp.Body).Decode(&vol)
	resp.Body.Close()
	if err != nil || len(vol.Counts) < 40 || vol.Total != get(t, d.url+"babysea/api/logs").TotalRows {
		t.Fatalf("the chart's JSON: %d buckets, %d rows (%v); want 40 or more, and the table's total", len(vol.Counts), vol.Total, err)
	}
	busiest := 0
	for i, c := range vol.Counts {
		if sum(c) > sum(vol.Counts[busiest]) {
			busiest = i
		}
	}

	ctx := browsertest.Context(t, path)
	if err := chromedp.Do(ctx, chromedp.Navigate(d.url+"babysea/"), chromedp.WaitVisible(chromedp.CSS("#chart-plot svg rect"))); err != nil {
		t.Fatal(err)
	}
	eval := func(js string) string { t.Helper(); return browsertest.Eval(t, ctx, js) }
	colors := eval(`[...new Set([...document.querySelectorAll("#chart-plot svg rect")].map(r => r.getAttribute("class")))].sort().join(" ")`)
	for _, want := range []string{"b-green", "b-blue", "b-amber", "b-red"} {
		if !strings.Contains(colors, want) {
			t.Errorf("no bar of class %s: %q", want, colors)
		}
	}
	if got, want := eval(`document.querySelector("#chart-total").textContent`), apilog.FormatCount(vol.Total)+" requests"; !strings.HasPrefix(got, want) {
		t.Errorf("the chart says %q, want %q", got, want)
	}
	var box struct{ Left, Top, Width, Height float64 }
	if err := json.Unmarshal([]byte(eval(`JSON.stringify(document.querySelector("#chart-plot").getBoundingClientRect())`)), &box); err != nil {
		t.Fatal(err)
	}
	x := box.Left + (float64(busiest)+0.5)/float64(len(vol.Counts))*box.Width
	if err := chromedp.Do(ctx, chromedp.MouseEvent(chromedp.MouseMoved, x, box.Top+box.Height-2)); err != nil {
		t.Fatal(err)
	}
	if _, err := chromedp.Run(ctx, chromedp.Poll[bool](`!document.querySelector("#chart-tip").hidden`, chromedp.WithPollingTimeout(5*time.Second))); err != nil {
		t.Fatalf("no tooltip on the busiest bar: %v", err)
	}
	if got, want := eval(`document.querySelector("#chart-tip").textContent`), apilog.FormatCount(sum(vol.Counts[busiest]))+" requests"; !strings.Contains(got, want) {
		t.Errorf("the busiest bar's tooltip %q, want %q", got, want)
	}

	if *updateScreenshots {
		// The README's pictures: the demo's page as a newcomer first sees
		// it, in light and in dark.
		for _, scheme := range []string{"light", "dark"} {
			err := chromedp.Do(ctx,
				chromedp.Func(func(ctx context.Context, _ *chromedp.Target) error {
					_, err := chromedp.Call(ctx, emulation.SetEmulatedMedia, emulation.SetEmulatedMediaParams{
						Features: []*emulation.MediaFeature{{Name: "prefers-color-scheme", Value: scheme}},
					})
					return err
				}),
				chromedp.Navigate(d.url+"babysea/"), chromedp.WaitVisible(chromedp.CSS("#chart-plot svg rect")))
			if err != nil {
				t.Fatal(err)
			}
			png, err := chromedp.Run(ctx, chromedp.CaptureScreenshot())
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join("testdata", "logs-"+scheme+".png"), png, 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
}

func sum(c []int) int {
	n := 0
	for _, v := range c {
		n += v
	}
	return n
}
