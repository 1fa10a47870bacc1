package pages

import (
	"net/url"
	"time"
)

func urlQueryEscape(s string) string { return url.QueryEscape(s) }

// formatMillis shows a Unix-millisecond timestamp in UTC.
func formatMillis(ms int64) string {
	if ms <= 0 {
		return "—"
	}
	return time.UnixMilli(ms).UTC().Format("2 Jan 2006, 15:04 UTC")
}
