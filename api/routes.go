package api

import (
	"context"
	"errors"
	"net/http"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/gatehouse-dev/gatehouse/auth"
	"github.com/gatehouse-dev/gatehouse/internal/appdata"
)

// signedIn returns the auth state of a signed-in request, or ErrUnauthorized.
func signedIn(r *http.Request) (*auth.Auth, error) {
	a, err := auth.GetAuth(r)
	if err != nil {
		return nil, err
	}
	if !a.IsAuthenticated {
		return nil, ErrUnauthorized
	}
	return a, nil
}

// Me is GET /api/me: the simplest check.
func Me(w http.ResponseWriter, r *http.Request) error {
	a, err := signedIn(r)
	if err != nil {
		return err
	}
	return WriteJSON(w, http.StatusOK, map[string]string{"userId": a.UserID})
}

// Token is GET /api/token: the session token from GetToken, and with
// ?template=NAME a token from that JWT template next to it.
func Token(w http.ResponseWriter, r *http.Request) error {
	a, err := signedIn(r)
	if err != nil {
		return err
	}
	tok, err := a.GetToken(r.Context(), auth.GetTokenOptions{})
	if err != nil {
		return err
	}
	out := map[string]string{"userId": a.UserID, "token": tok}
	if name := r.URL.Query().Get("template"); name != "" {
		t, err := a.GetToken(r.Context(), auth.GetTokenOptions{Template: name})
		if errors.Is(err, auth.ErrTemplateNotFound) {
			return &Error{http.StatusNotFound, "Template not found"}
		}
		if errors.Is(err, auth.ErrSessionEnded) {
			return ErrUnauthorized
		}
		if errors.Is(err, auth.ErrCannotMint) {
			return &Error{http.StatusNotImplemented, "This service only verifies tokens"}
		}
		if err != nil {
			return err
		}
		out["templateToken"] = t
	}
	return WriteJSON(w, http.StatusOK, out)
}

// User is GET /api/user: the backend-client example. It records the time
// of this call in the user's public metadata, as Clerk's example does.
func User(w http.ResponseWriter, r *http.Request) error {
	a, err := signedIn(r)
	if err != nil {
		return err
	}
	ctx := r.Context()
	users := auth.ClerkClient(ctx).Users
	patch := `{"lastApiAccess":"` + time.Now().UTC().Format(time.RFC3339) + `"}`
	u, err := users.UpdateUserMetadata(ctx, a.UserID, auth.UpdateUserMetadataParams{PublicMetadata: []byte(patch)})
	if auth.IsNotFound(err) {
		return ErrUnauthorized // deleted since the token was issued
	}
	if err != nil {
		return err
	}
	return WriteJSON(w, http.StatusOK, map[string]any{
		"id": u.ID, "email": u.PrimaryEmailAddress(), "metadata": u.PublicMetadata,
	})
}

// ItemStore is what the items routes need of the store.
type ItemStore interface {
	ListItems(ctx context.Context, userID string) ([]appdata.Item, error)
	CreateItem(ctx context.Context, userID, name string) (*appdata.Item, error)
	DeleteItem(ctx context.Context, userID, id string) error
}

type itemJSON struct {
	ID        string `json:"id"`
	Name      string `json:"name"`
	CreatedAt int64  `json:"created_at"`
}

// Items serves /api/items and /api/items/{id}: method routing over a tiny
// per-user resource.
func Items(items ItemStore) func(w http.ResponseWriter, r *http.Request) error {
	return func(w http.ResponseWriter, r *http.Request) error {
		id := r.PathValue("id")
		allowed := []string{http.MethodGet, http.MethodPost}
		if id != "" {
			allowed = []string{http.MethodDelete}
		}
		if !slices.Contains(allowed, r.Method) {
			return MethodNotAllowed(w, strings.Join(allowed, ", "))
		}
		a, err := signedIn(r)
		if err != nil {
			return err
		}
		ctx := r.Context()
		switch r.Method {
		case http.MethodGet:
			list, err := items.ListItems(ctx, a.UserID)
			if err != nil {
				return err
			}
			out := make([]itemJSON, len(list))
			for i, it := range list {
				out[i] = itemJSON{it.ID, it.Name, it.CreatedAt}
			}
			return WriteJSON(w, http.StatusOK, map[string]any{"userId": a.UserID, "items": out})
		case http.MethodPost:
			var body struct {
				Name *string `json:"name"`
			}
			if err := DecodeJSON(w, r, &body); err != nil {
				return err
			}
			if body.Name == nil {
				return &Error{http.StatusBadRequest, "name is required"}
			}
			name := strings.TrimSpace(*body.Name)
			if n := utf8.RuneCountInString(name); n < 1 || n > 200 {
				return &Error{http.StatusBadRequest, "name must be 1 to 200 characters"}
			}
			it, err := items.CreateItem(ctx, a.UserID, name)
			if isNotFound(err) {
				return ErrUnauthorized // the user was deleted; the token outlived them
			}
			if err != nil {
				return err
			}
			return WriteJSON(w, http.StatusCreated, map[string]any{
				"userId": a.UserID, "created": true, "item": itemJSON{it.ID, it.Name, it.CreatedAt},
			})
		default: // DELETE /api/items/{id}
			err := items.DeleteItem(ctx, a.UserID, id)
			if err != nil {
				if isNotFound(err) {
					return ErrNotFound
				}
				return err
			}
			return WriteJSON(w, http.StatusOK, map[string]any{"userId": a.UserID, "deleted": true})
		}
	}
}

// Admin is GET /api/admin: a role check in the active organization.
func Admin(w http.ResponseWriter, r *http.Request) error {
	a, err := signedIn(r)
	if err != nil {
		return err
	}
	if !a.Has(auth.HasParams{Role: "admin"}) {
		return ErrForbidden
	}
	return WriteJSON(w, http.StatusOK, map[string]string{"message": "Admin action completed"})
}

// Org is GET /api/org: the active organization, from the token.
func Org(w http.ResponseWriter, r *http.Request) error {
	a, err := signedIn(r)
	if err != nil {
		return err
	}
	if a.OrgID == "" {
		return &Error{http.StatusBadRequest, "Organization required"}
	}
	return WriteJSON(w, http.StatusOK, map[string]any{
		"userId": a.UserID,
		"organization": map[string]any{
			"id": a.OrgID, "role": a.OrgRole, "slug": a.OrgSlug, "permissions": a.OrgPermissions,
		},
	})
}

// Team is GET /api/team: a permission check in the active organization.
func Team(w http.ResponseWriter, r *http.Request) error {
	a, err := signedIn(r)
	if err != nil {
		return err
	}
	if !a.Has(auth.HasParams{Permission: "org:team:manage"}) {
		return ErrForbidden
	}
	return WriteJSON(w, http.StatusOK, map[string]string{
		"userId": a.UserID, "orgId": a.OrgID, "message": "Team management access granted",
	})
}
