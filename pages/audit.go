package pages

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/gatehouse-dev/gatehouse/auth"
)

// AuditProps are the props of the administrators' audit page.
type AuditProps struct {
	UserID, Name string
	Page         int
	Events       []auth.AuditEvent
	Total        int
}

const auditPageSize = 50

// AuditPage serves GET /admin/audit: every audit event, newest first,
// filtered by user (?user_id=) and event name (?name=), for instance
// administrators only (as /admin/impersonate).
func (p *Impersonation) AuditPage() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if p.admin(w, r) == nil {
			return
		}
		q := r.URL.Query()
		props := AuditProps{UserID: strings.TrimSpace(q.Get("user_id")), Name: strings.TrimSpace(q.Get("name")),
			Page: max(atoiDefault(q.Get("page"), 1), 1)}
		list, err := auth.ClerkClient(r.Context()).AuditEvents.List(r.Context(), auth.AuditEventListParams{
			UserID: props.UserID, Name: props.Name, Limit: auditPageSize, Offset: (props.Page - 1) * auditPageSize})
		if err != nil {
			p.site.serverError(w, r, "audit", err)
			return
		}
		props.Events, props.Total = list.Data, list.TotalCount
		p.site.Render(w, r, http.StatusOK, "Audit log", auditView(props))
	})
}

// auditPageURL is the audit page with the same filters at page n.
func auditPageURL(p AuditProps, n int) string {
	v := url.Values{}
	if p.UserID != "" {
		v.Set("user_id", p.UserID)
	}
	if p.Name != "" {
		v.Set("name", p.Name)
	}
	v.Set("page", strconv.Itoa(n))
	return "/admin/audit?" + v.Encode()
}
