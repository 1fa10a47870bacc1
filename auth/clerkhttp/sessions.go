package clerkhttp

import (
	"context"
	"net/http"

	"github.com/gatehouse-dev/gatehouse/auth/clerkclient"
)

// SessionsAPI is the Sessions group over HTTP (/v1/sessions).
type SessionsAPI struct {
	t *transport
}

// GetSession returns the session with id (GET /sessions/{id}).
func (s *SessionsAPI) GetSession(ctx context.Context, id string) (*clerkclient.Session, error) {
	p, err := seg("session", id)
	if err != nil {
		return nil, err
	}
	return call[clerkclient.Session](ctx, s.t, "get session", request{method: http.MethodGet, path: "/sessions/" + p})
}

// GetSessionList returns sessions, newest first; at least UserID or
// ClientID is required (GET /sessions?paginated=true, whose envelope
// carries the total).
func (s *SessionsAPI) GetSessionList(ctx context.Context, p clerkclient.SessionListParams) (*clerkclient.SessionList, error) {
	q := query{}.page(p.Limit, p.Offset)
	q.str("user_id", p.UserID)
	q.str("client_id", p.ClientID)
	q.str("status", p.Status)
	q.flag("paginated", true)
	list, err := call[clerkclient.SessionList](ctx, s.t, "list sessions", request{method: http.MethodGet, path: "/sessions", query: q})
	if err != nil {
		return nil, err
	}
	if list.Data == nil {
		list.Data = []*clerkclient.Session{}
	}
	return list, nil
}

// RevokeSession ends a session at once (POST /sessions/{id}/revoke); a
// session already over is returned as it is.
func (s *SessionsAPI) RevokeSession(ctx context.Context, id string) (*clerkclient.Session, error) {
	p, err := seg("session", id)
	if err != nil {
		return nil, err
	}
	return call[clerkclient.Session](ctx, s.t, "revoke session", request{method: http.MethodPost, path: "/sessions/" + p + "/revoke"})
}
