package pages

import (
	"bytes"
	"encoding/json"
	"time"
)

// formatMillis shows a Unix-millisecond timestamp in UTC.
func formatMillis(ms int64) string {
	if ms <= 0 {
		return "—"
	}
	return time.UnixMilli(ms).UTC().Format("2 Jan 2006, 15:04:05 UTC")
}

// prettyJSON indents a JSON document for display; invalid JSON is shown as is.
func prettyJSON(b []byte) string {
	var out bytes.Buffer
	if err := json.Indent(&out, b, "", "  "); err != nil {
		return string(b)
	}
	return out.String()
}
