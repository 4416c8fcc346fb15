package reports

import (
	"bytes"
	"context"
	"fmt"
	"image"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Screenshot size and the tolerance against the golden image: the share of
// pixels whose colour differs by more than pixelTolerance (of 255) in some
// channel. Font rendering differs a little between machines; a layout change
// moves far more.
const (
	shotWidth, shotHeight = 1200, 900
	pixelTolerance        = 48
	maxDifferentPixels    = 0.03
)

// chromium finds Debian's browser. Without it the test is skipped, unless
// $LLMBENCH_REQUIRE_BROWSER is set (make test sets it and installs chromium).
func chromium(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser"} {
		if path, err := exec.LookPath(name); err == nil {
			return path
		}
	}
	if os.Getenv("LLMBENCH_REQUIRE_BROWSER") != "" {
		t.Fatal("chromium not found and LLMBENCH_REQUIRE_BROWSER is set: apt-get install -y chromium")
	}
	t.Skip("chromium not installed (set LLMBENCH_REQUIRE_BROWSER=1 to fail instead)")
	return ""
}

// browse is a headless chromium tab that records what the page logs and
// requests.
type browse struct {
	ctx      context.Context
	mu       sync.Mutex
	errors   []string // console errors and warnings, exceptions, error log entries
	requests []string // every URL requested
}

func newBrowse(t *testing.T, exe string) *browse {
	t.Helper()
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(exe), chromedp.NoSandbox, chromedp.WindowSize(shotWidth, shotHeight),
		chromedp.Flag("hide-scrollbars", true), chromedp.Flag("force-device-scale-factor", "1"),
		chromedp.Flag("font-render-hinting", "none"))
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	t.Cleanup(cancel)
	actx, acancel := chromedp.NewExecAllocator(ctx, opts...)
	t.Cleanup(acancel)
	bctx, bcancel := chromedp.NewContext(actx)
	t.Cleanup(bcancel)
	b := &browse{ctx: bctx}
	// Runs in the tab's read loop: record and return.
	require.NoError(t, chromedp.Listen(bctx, func(ev any) {
		b.mu.Lock()
		defer b.mu.Unlock()
		switch ev := ev.(type) {
		case *runtime.EventConsoleAPICalled:
			switch ev.Type {
			case runtime.ConsoleAPICalledTypeError, runtime.ConsoleAPICalledTypeWarning, runtime.ConsoleAPICalledTypeAssert:
				var args []string
				for _, a := range ev.Args {
					args = append(args, string(a.Value))
				}
				b.errors = append(b.errors, fmt.Sprintf("console.%s: %s", ev.Type, strings.Join(args, " ")))
			}
		case *runtime.EventExceptionThrown:
			b.errors = append(b.errors, "exception: "+ev.ExceptionDetails.Text)
		case *log.EventEntryAdded:
			if ev.Entry.Level == log.EntryLevelError {
				b.errors = append(b.errors, "log: "+ev.Entry.Text)
			}
		case *network.EventRequestWillBeSent:
			b.requests = append(b.requests, ev.Request.URL)
		}
	}))
	return b
}

func (b *browse) seen() (errors, requests []string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return slices.Clone(b.errors), slices.Clone(b.requests)
}

// eval evaluates js in the page.
func eval[T any](t *testing.T, b *browse, js string) T {
	t.Helper()
	v, err := chromedp.Run(b.ctx, chromedp.Evaluate[T](js))
	require.NoError(t, err, js)
	return v
}

// byPromptFirst is the first row of the By prompt table after clicking the
// head of column col clicks times: "model/prompt".
func byPromptFirst(col, clicks int) string {
	return fmt.Sprintf(`(() => {
		const t = [...document.querySelectorAll("h3")].find(h => h.textContent === "By prompt").nextElementSibling.querySelector("table");
		for (let i = 0; i < %d; i++) t.tHead.rows[0].cells[%d].click();
		const r = t.tBodies[0].rows[0];
		return r.cells[0].firstChild.textContent + "/" + r.cells[1].textContent;
	})()`, clicks, col)
}

func TestHTMLBrowser(t *testing.T) {
	exe := chromium(t)
	s := readBench(t)
	dir := t.TempDir()
	var buf bytes.Buffer
	plots := Plots(s)
	require.NoError(t, WriteHTML(&buf, s, plots))
	page := filepath.Join(dir, HTMLFile)
	require.NoError(t, os.WriteFile(page, buf.Bytes(), 0o644))
	url := "file://" + page

	b := newBrowse(t, exe)
	require.NoError(t, chromedp.Do(b.ctx, chromedp.EmulateViewport(shotWidth, shotHeight, chromedp.EmulateScale(1)),
		chromedp.Navigate(url), chromedp.WaitReady(chromedp.CSS("body"))))
	shot, err := chromedp.Run(b.ctx, chromedp.CaptureScreenshot())
	require.NoError(t, err)
	plotShot, err := chromedp.Run(b.ctx, chromedp.Screenshot(chromedp.CSS("#plot-load-ttft-rate")))
	require.NoError(t, err)

	// Every table and every plot, in order.
	var wantTables, wantFigures int
	avg, per := s.Averaged("prompt"), s.Rows()
	for _, bn := range s.benchmarks() {
		wantTables += len(summaryTables(s, avg, per, bn))
	}
	wantTables++ // the configuration lines per model
	var wantIDs []string
	for _, p := range plots {
		wantIDs = append(wantIDs, "plot-"+p.Name)
		if p.Skipped == "" {
			wantFigures++
		}
	}
	assert.Equal(t, wantTables, eval[int](t, b, `document.querySelectorAll("table").length`))
	assert.Equal(t, wantFigures, eval[int](t, b, `document.querySelectorAll("figure > svg").length`))
	assert.Equal(t, wantIDs, eval[[]string](t, b, `[...document.querySelectorAll("figure, p.skipped")].map(e => e.id)`))
	for _, p := range plots {
		if p.Skipped == "" {
			// Drawn: the browser laid the SVG out at a real size.
			w := eval[float64](t, b, `document.querySelector("#plot-`+p.Name+` svg").getBoundingClientRect().width`)
			assert.Greater(t, w, 500.0, p.Name)
		}
	}
	// The inline script sorts: by latency (column 3), twice for descending.
	assert.Equal(t, "synth-tiny/short", eval[string](t, b, byPromptFirst(3, 0)), "input order")
	assert.Equal(t, "llama3.2-1b/long", eval[string](t, b, byPromptFirst(3, 2)), "slowest first")

	errs, reqs := b.seen()
	assert.Empty(t, errs, "console errors")
	for _, u := range reqs {
		assert.Equal(t, url, u, "the page requests nothing but itself")
	}
	assert.NotEmpty(t, reqs, "the request of the page itself is seen: the check can fail")

	compareImage(t, "report-screenshot.png", shot, shotWidth, shotHeight)
	compareImage(t, "report-plot-screenshot.png", plotShot, 0, 0)
}

// compareImage compares a PNG screenshot with testdata/name within the
// tolerance; -update rewrites it, a mismatch leaves name.got- beside it.
// width and height, when not 0, are the size the shot must have.
func compareImage(t *testing.T, name string, got []byte, width, height int) {
	t.Helper()
	img, err := png.Decode(bytes.NewReader(got))
	require.NoError(t, err, name)
	if width > 0 {
		require.Equal(t, image.Pt(width, height), img.Bounds().Size(), "%s: screenshot size", name)
	}
	goldenFunc(t, name, got, func(wantPNG, _ []byte) string {
		want, err := png.Decode(bytes.NewReader(wantPNG))
		switch {
		case err != nil:
			return err.Error()
		case want.Bounds().Size() != img.Bounds().Size():
			return fmt.Sprintf("is %v, the golden image %v", img.Bounds().Size(), want.Bounds().Size())
		}
		if share := differentPixels(want, img); share > maxDifferentPixels {
			return fmt.Sprintf("differs in %.1f%% of its pixels (tolerance %.1f%%)", share*100, maxDifferentPixels*100)
		}
		return ""
	})
}

// differentPixels is the share of pixels of two images of one size whose
// colours differ by more than pixelTolerance in some channel.
func differentPixels(a, b image.Image) float64 {
	r := a.Bounds()
	n := 0
	for y := r.Min.Y; y < r.Max.Y; y++ {
		for x := r.Min.X; x < r.Max.X; x++ {
			ar, ag, ab, _ := a.At(x, y).RGBA()
			br, bg, bb, _ := b.At(x-r.Min.X+b.Bounds().Min.X, y-r.Min.Y+b.Bounds().Min.Y).RGBA()
			for _, d := range []int{int(ar>>8) - int(br>>8), int(ag>>8) - int(bg>>8), int(ab>>8) - int(bb>>8)} {
				if d > pixelTolerance || -d > pixelTolerance {
					n++
					break
				}
			}
		}
	}
	return float64(n) / float64(r.Dx()*r.Dy())
}

func TestDifferentPixels(t *testing.T) {
	a := image.NewGray(image.Rect(0, 0, 10, 10))
	b := image.NewGray(image.Rect(0, 0, 10, 10))
	assert.Zero(t, differentPixels(a, b))
	for x := range 10 {
		b.Pix[x] = 255 // one row of 10: 10%
		b.Pix[10+x] = pixelTolerance / 2
	}
	assert.InDelta(t, 0.1, differentPixels(a, b), 1e-12, "a small difference is within tolerance")
}

func TestHTMLBrowserCompare(t *testing.T) {
	exe := chromium(t)
	c := compareOldNew(t)
	v, err := c.Gate(GateOptions{})
	require.NoError(t, err)
	var buf bytes.Buffer
	require.NoError(t, c.WriteHTML(&buf, v, nil))
	page := filepath.Join(t.TempDir(), CompareHTMLFile)
	require.NoError(t, os.WriteFile(page, buf.Bytes(), 0o644))
	url := "file://" + page

	b := newBrowse(t, exe)
	require.NoError(t, chromedp.Do(b.ctx, chromedp.Navigate(url), chromedp.WaitReady(chromedp.CSS("body"))))
	assert.Equal(t, 1+len(c.ByMetric()), eval[int](t, b, `document.querySelectorAll("table").length`), "the overview and one per metric")
	assert.Equal(t, 1, eval[int](t, b, `document.querySelectorAll("figure > svg").length`))
	assert.Equal(t, "Benchmark gate: FAIL, 1 benchmark missing", eval[string](t, b, `document.querySelector("#verdict.fail strong").textContent`))
	// The verdict box is red.
	assert.Equal(t, "rgb(253, 232, 232)", eval[string](t, b, `getComputedStyle(document.querySelector("#verdict")).backgroundColor`))
	errs, reqs := b.seen()
	assert.Empty(t, errs, "console errors")
	for _, u := range reqs {
		assert.Equal(t, url, u, "the page requests nothing but itself")
	}
	assert.NotEmpty(t, reqs)
}
