package testmedia

import (
	"context"
	"testing"

	"github.com/chromedp/chromedp"
)

// StartChromium runs headless Chromium (RequireTool "chromium") with a
// fresh profile and a window of width × height until the test ends, and
// returns its context for chromedp. listen, if not nil, gets every event
// the browser sends (console messages, exceptions, log entries, network
// requests); extra flags (e.g. "autoplay-policy") are added to the
// launch. The browser is stopped before the test's later cleanups run.
func StartChromium(t testing.TB, width, height int, listen func(ev any), extra ...chromedp.ExecAllocatorOption) context.Context {
	t.Helper()
	bin := RequireTool(t, "chromium")
	profile := t.TempDir() // removed after the browser is gone (cleanups run last-in first-out)
	opts := append([]chromedp.ExecAllocatorOption{
		chromedp.ExecPath(bin), chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU,
		chromedp.NoFirstRun, chromedp.NoDefaultBrowserCheck,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.Flag("disable-extensions", true),
		chromedp.UserDataDir(profile), chromedp.WindowSize(width, height),
	}, extra...)
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(actx)
	t.Cleanup(func() {
		cancel()
		cancelAlloc()
	})
	if err := chromedp.Do(ctx); err != nil { // starts the browser, bound to ctx
		t.Fatalf("starting %s: %v", bin, err)
	}
	if listen != nil {
		if err := chromedp.Listen(ctx, listen); err != nil {
			t.Fatal(err)
		}
	}
	return ctx
}
