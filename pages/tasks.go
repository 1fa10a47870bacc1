package pages

import (
	"errors"
	"net/http"

	"github.com/gatehouse-dev/gatehouse/auth"
)

// PendingTask serves GET /sign-in/tasks, where Protect sends a pending
// session: it forwards to the page of the session's task, or on to the
// dashboard when there is none left.
func PendingTask(site *Site) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		task, err := auth.PendingTask(r)
		if errors.Is(err, auth.ErrSessionEnded) {
			http.Redirect(w, r, site.Env.SignInURL, http.StatusSeeOther)
			return
		}
		if err != nil {
			site.serverError(w, r, "pending task", err)
			return
		}
		w.Header().Set("Cache-Control", "no-store")
		switch task {
		case auth.TaskSetupMFA:
			http.Redirect(w, r, auth.SetupMFAURL, http.StatusSeeOther)
		case auth.TaskChooseOrganization:
			http.Redirect(w, r, auth.ChooseOrganizationURL, http.StatusSeeOther)
		default:
			http.Redirect(w, r, site.SignInFallback, http.StatusSeeOther)
		}
	})
}
