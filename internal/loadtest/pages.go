package loadtest

import (
	"net/http"
	"strconv"
	"strings"

	"github.com/gatehouse-dev/gatehouse/auth"

	"github.com/a-h/templ"

	"github.com/gatehouse-dev/gatehouse/internal/appdata"
	"github.com/gatehouse-dev/gatehouse/pages"
)

// maxLoadTestPad bounds the padding LoadTestPage adds.
const maxLoadTestPad = 64 << 10

// dashboardPage is the unprotected page `gatehouse loadtest` compares the
// signed-in /dashboard with: the dashboard's own view in the layout, with
// fixed data and no auth, store reads or BuildClerkProps (so its auth
// state is signed out). ?pad=N appends an HTML comment of N bytes (N ≥ 7)
// so the response can match the size of /dashboard, whose SSR state
// carries the user. It is mounted only
// when the load test starts the server (config.LoadTestRoutes).
func dashboardPage(site *pages.Site) http.Handler {
	first, last := "Load", "Test"
	state := auth.SignedOutProps()
	props := pages.DashboardProps{
		Base:  pages.Base{Clerk: state},
		User:  &auth.User{Object: "user", ID: "user_" + strings.Repeat("0", 22), FirstName: &first, LastName: &last},
		Items: []appdata.Item{},
	}
	view := pages.DashboardView(props)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body := view
		if n, err := strconv.Atoi(r.URL.Query().Get("pad")); err == nil && n >= 7 && n <= maxLoadTestPad {
			body = templ.Join(view, templ.Raw("<!--"+strings.Repeat(" ", n-7)+"-->"))
		}
		// Outside the auth middleware Render embeds the signed-out state,
		// the same as state above.
		site.Render(w, r, http.StatusOK, "Dashboard", body)
	})
}
