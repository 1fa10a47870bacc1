package api

import (
	"net/http"

	"github.com/gatehouse-dev/gatehouse/auth"
)

// machineAuth returns the auth state of a request authenticated by a
// token type this route accepts, or ErrUnauthorized with the Bearer
// challenge of RFC 6750.
func machineAuth(w http.ResponseWriter, r *http.Request, accepts ...auth.TokenType) (*auth.Auth, error) {
	a, err := auth.GetAuth(r, auth.AcceptsToken(accepts...))
	if err != nil {
		return nil, err
	}
	if !a.IsAuthenticated {
		w.Header().Set("WWW-Authenticate", "Bearer")
		return nil, ErrUnauthorized
	}
	return a, nil
}

// Machine is GET /api/machine: a route for other services only. It
// accepts M2M tokens (Authorization: Bearer mt_…) and nothing else, not
// even a signed-in browser.
func Machine(w http.ResponseWriter, r *http.Request) error {
	a, err := machineAuth(w, r, auth.M2MToken)
	if err != nil {
		return err
	}
	return WriteJSON(w, http.StatusOK, map[string]any{"machineId": a.MachineID, "scopes": a.Scopes})
}

// WhoAmI is GET /api/whoami: any valid token — a session (cookie or
// Bearer), an M2M token or an API key — says what it is and whom it stands
// for.
func WhoAmI(w http.ResponseWriter, r *http.Request) error {
	a, err := machineAuth(w, r, auth.AnyToken)
	if err != nil {
		return err
	}
	subject := a.Subject
	if a.TokenType == auth.SessionToken {
		subject = a.UserID
	}
	return WriteJSON(w, http.StatusOK, map[string]string{"tokenType": string(a.TokenType), "subject": subject})
}
