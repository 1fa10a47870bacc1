package app

import (
	"net/http"

	"github.com/gatehouse-dev/gatehouse/internal/config"
)

// hostGuard refuses requests whose Host is not this app's (see
// config.Config.HostAllowed) with 421 Misdirected Request, before any
// route runs. The health routes are exempt: load balancers probe them by
// address.
func hostGuard(cfg *config.Config) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path != "/healthz" && r.URL.Path != "/readyz" && !cfg.HostAllowed(r.Host) {
				w.Header().Set("Content-Type", "text/plain; charset=utf-8")
				w.Header().Set("Cache-Control", "no-store")
				w.WriteHeader(http.StatusMisdirectedRequest)
				w.Write([]byte("This server does not serve that host.\n"))
				return
			}
			next.ServeHTTP(w, r)
		})
	}
}
