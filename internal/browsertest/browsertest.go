// Package browsertest starts headless Chromium for the tests that drive
// the Logs page in a browser: the page's own (httpui) and the demo's.
package browsertest

import (
	"context"
	"os"
	"os/exec"
	"testing"
	"time"

	"github.com/apilog/apilog/internal/skipnote"
	"github.com/chromedp/chromedp"
)

// RequireEnv, when set (CI sets it), makes a missing browser a failure
// rather than a skip.
const RequireEnv = "APILOG_REQUIRE_BROWSER"

// Path finds Chromium: $APILOG_BROWSER, or chromium on the PATH. Without
// one it skips the test, and says so on the terminal (see skipnote), or
// fails it under RequireEnv.
func Path(t testing.TB) string {
	if p := os.Getenv("APILOG_BROWSER"); p != "" {
		return p
	}
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	msg := "no Chromium found (apt-get install -y chromium, or set APILOG_BROWSER)"
	if os.Getenv(RequireEnv) != "" {
		t.Fatalf("%s, and %s is set", msg, RequireEnv)
	}
	msg += "; skipping the browser tests"
	skipnote.Tell(msg)
	t.Skip(msg)
	return ""
}

// Context starts headless Chromium at path for the test, at 1,280 × 800
// px, in a zone that is not UTC (so that the page's conversions between
// local time and UTC run), for at most two minutes.
func Context(t testing.TB, path string) context.Context {
	alloc, cancel := chromedp.NewExecAllocator(context.Background(),
		chromedp.ExecPath(path), chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU, chromedp.NoFirstRun,
		chromedp.Flag("disable-background-networking", true), chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true), chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.Flag("screen-info", "{1280x800}"), chromedp.WindowSize(1280, 800),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.Env("TZ=America/New_York"))
	t.Cleanup(cancel)
	ctx, cancel := chromedp.NewContext(alloc)
	t.Cleanup(cancel)
	ctx, cancel = context.WithTimeout(ctx, 2*time.Minute)
	t.Cleanup(cancel)
	return ctx
}

// Eval runs js in the page and returns its result, a string, failing the
// test if it cannot.
func Eval(t testing.TB, ctx context.Context, js string) string {
	t.Helper()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[string](js))
	if err != nil {
		t.Fatalf("%s: %v", js, err)
	}
	return v
}
