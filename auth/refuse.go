package auth

import (
	"net/http"
	"strings"

	"github.com/gatehouse-dev/gatehouse/auth/httpapi"
	"github.com/gatehouse-dev/gatehouse/auth/identity"
)

// Refusals answer a refused request (401, 403, 404, 405) in the language
// of the surface it asked, in one place: the frontend API's error
// envelope, {"error": …} for the JSON API, or the app's error page. The
// router's not-found and cross-origin refusals use [Refusals.Write] (by
// path); [Protect] and [Require] use the same writers, choosing a page for
// a page request (see [IsPageRequest]).
type Refusals struct {
	// Page renders the error page of a status. Nil in a process without
	// pages (verify-only): every refusal outside the frontend API is JSON.
	Page func(w http.ResponseWriter, r *http.Request, status int)
}

// refusalMessages are the short messages of the JSON refusals.
var refusalMessages = map[int]string{
	http.StatusUnauthorized:        "Unauthorized",
	http.StatusForbidden:           "Forbidden",
	http.StatusNotFound:            "Not found",
	http.StatusMethodNotAllowed:    "Method not allowed",
	http.StatusInternalServerError: "Internal server error",
}

func refusalMessage(status int) string {
	if m, ok := refusalMessages[status]; ok {
		return m
	}
	return http.StatusText(status)
}

// Write answers status by r's path: under /__clerk/ Clerk's error
// envelope with code and detail; under /api/ (or anywhere, without a
// Page) {"error": message}; elsewhere the error page.
func (rf Refusals) Write(w http.ResponseWriter, r *http.Request, status int, code, detail string) {
	switch {
	case strings.HasPrefix(r.URL.Path, "/__clerk/"):
		httpapi.WriteError(w, &identity.Error{Status: status, Code: code, Message: refusalMessage(status) + ".", LongMessage: detail})
	case strings.HasPrefix(r.URL.Path, "/api/") || rf.Page == nil:
		writeJSONRefusal(w, status)
	default:
		rf.Page(w, r, status)
	}
}

// Handler answers every request with Write.
func (rf Refusals) Handler(status int, code, detail string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { rf.Write(w, r, status, code, detail) })
}

// page renders the error page, or a plain one without a Page.
func (rf Refusals) page(w http.ResponseWriter, r *http.Request, status int) {
	if rf.Page != nil {
		rf.Page(w, r, status)
		return
	}
	msg := refusalMessage(status)
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	w.Write([]byte("<!doctype html><title>" + msg + "</title><h1>" + msg + "</h1>"))
}

func writeJSONRefusal(w http.ResponseWriter, status int) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	w.Write([]byte(`{"error":"` + refusalMessage(status) + `"}`))
}
