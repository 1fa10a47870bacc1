// Package static embeds the client script and the stylesheet into the
// binary, so a deployment is one file.
package static

import (
	"embed"
	"net/http"
	"strings"
)

//go:embed clerk.js style.css
var files embed.FS

// Handler serves the embedded files; mount it at /static/ with the prefix
// stripped.
func Handler() http.Handler {
	fs := http.FileServerFS(files)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "" || strings.HasSuffix(r.URL.Path, "/") {
			http.NotFound(w, r) // no directory listings
			return
		}
		w.Header().Set("Cache-Control", "public, max-age=300")
		fs.ServeHTTP(w, r)
	})
}
