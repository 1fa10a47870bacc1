package browser

import (
	"bytes"
	"context"
	"fmt"
	"image/png"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// screenshotsOn reports whether GATEHOUSE_SCREENSHOTS=1 asks the browser
// tests to save their pages as PNGs.
func screenshotsOn() bool { return os.Getenv("GATEHOUSE_SCREENSHOTS") == "1" }

// screenshotDir is where the PNGs go: GATEHOUSE_SCREENSHOTS_DIR, or
// gatehouse-shots in the system's temporary folder.
func screenshotDir() string {
	if d := os.Getenv("GATEHOUSE_SCREENSHOTS_DIR"); d != "" {
		return d
	}
	return filepath.Join(os.TempDir(), "gatehouse-shots")
}

// screenshot saves the current page as NAME-desktop.png (1280 wide) and
// NAME-phone.png (390 wide, mobile emulation) when screenshots are on.
func screenshot(t *testing.T, ctx context.Context, name string) {
	t.Helper()
	if !screenshotsOn() {
		return
	}
	dir := screenshotDir()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, v := range []struct {
		kind          string
		width, height int64
		opts          []chromedp.EmulateViewportOption
	}{
		{"desktop", 1280, 800, nil},
		{"phone", 390, 844, []chromedp.EmulateViewportOption{chromedp.EmulateMobile, chromedp.EmulatePortrait}},
	} {
		act(t, ctx, "set the "+v.kind+" viewport", chromedp.EmulateViewport(v.width, v.height, v.opts...))
		time.Sleep(200 * time.Millisecond) // let the layout settle
		sctx, cancel := context.WithTimeout(ctx, 20*time.Second)
		img, err := chromedp.Run(sctx, chromedp.FullScreenshot(100))
		cancel()
		if err != nil {
			t.Fatalf("screenshot %s (%s): %v", name, v.kind, err)
		}
		cfg, err := png.DecodeConfig(bytes.NewReader(img))
		if err != nil {
			t.Fatalf("screenshot %s (%s): not a PNG: %v", name, v.kind, err)
		}
		if int64(cfg.Width) != v.width {
			t.Errorf("screenshot %s (%s): %d px wide, want %d", name, v.kind, cfg.Width, v.width)
		}
		path := filepath.Join(dir, fmt.Sprintf("%s-%s.png", name, v.kind))
		if err := os.WriteFile(path, img, 0o644); err != nil {
			t.Fatal(err)
		}
		t.Logf("wrote %s (%dx%d)", path, cfg.Width, cfg.Height)
	}
	act(t, ctx, "reset the viewport", chromedp.EmulateViewport(1280, 800))
}
