package auth

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
)

// InitState carries the resources a loader wants the page's client
// script to start with, in their backend-resource shape.
type InitState struct {
	User    *User
	Session *Session
	// Organization is an organization resource (any JSON-marshalable value).
	Organization any
}

// ClerkProps is the SSR state of a page: the serialisable auth state plus
// the resources of InitState, with private metadata removed at every
// depth. It marshals to {"__clerk_ssr_state": {...}}.
type ClerkProps struct {
	state json.RawMessage
	auth  *Auth
	user  *User
}

// IsZero reports whether p was never built (a loader forgot BuildClerkProps).
func (p ClerkProps) IsZero() bool { return p.state == nil }

// Auth returns the auth state the props were built from.
func (p ClerkProps) Auth() *Auth { return p.auth }

// User returns the user given in InitState, or nil.
func (p ClerkProps) User() *User { return p.user }

// MarshalJSON writes {"__clerk_ssr_state": state}.
func (p ClerkProps) MarshalJSON() ([]byte, error) {
	state := p.state
	if state == nil {
		state = json.RawMessage("null")
	}
	var b bytes.Buffer
	b.WriteString(`{"__clerk_ssr_state":`)
	b.Write(state)
	b.WriteByte('}')
	return b.Bytes(), nil
}

// SignedOutProps returns the SSR state of a signed-out request, for pages
// rendered before the middleware ran (such as a refused cross-origin form).
func SignedOutProps() ClerkProps {
	a := signedOut(SessionToken)
	b, _ := json.Marshal(a.jsonMap()) // plain values: cannot fail
	return ClerkProps{state: b, auth: a}
}

// BuildClerkProps returns the SSR state for a page loader, to embed in the
// layout (the layout does so with templ.JSONScript). Signed out is not an
// error: the state then says signed out.
func BuildClerkProps(r *http.Request, init ...InitState) (ClerkProps, error) {
	if r == nil {
		return ClerkProps{}, ErrInvalidRequest
	}
	a, err := GetAuth(r)
	if err != nil {
		return ClerkProps{}, err
	}
	state := a.jsonMap()
	var in InitState
	for _, i := range init {
		if i.User != nil {
			in.User = i.User
		}
		if i.Session != nil {
			in.Session = i.Session
		}
		if i.Organization != nil {
			in.Organization = i.Organization
		}
	}
	for key, v := range map[string]any{"user": in.User, "session": in.Session, "organization": in.Organization} {
		if isNil(v) {
			continue
		}
		clean, err := stripPrivate(v)
		if err != nil {
			return ClerkProps{}, fmt.Errorf("auth: BuildClerkProps: %s: %w", key, err)
		}
		state[key] = clean
	}
	b, err := json.Marshal(state)
	if err != nil {
		return ClerkProps{}, fmt.Errorf("auth: BuildClerkProps: %w", err)
	}
	return ClerkProps{state: b, auth: a, user: in.User}, nil
}

func isNil(v any) bool {
	switch v := v.(type) {
	case nil:
		return true
	case *User:
		return v == nil
	case *Session:
		return v == nil
	}
	return false
}

// stripPrivate round-trips v through JSON and deletes every
// private_metadata (or privateMetadata) key at any depth. Clerk's own
// buildClerkProps strips only the top level and leaked the rest.
func stripPrivate(v any) (any, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var generic any
	if err := dec.Decode(&generic); err != nil {
		return nil, err
	}
	return scrub(generic), nil
}

func scrub(v any) any {
	switch v := v.(type) {
	case map[string]any:
		delete(v, "private_metadata")
		delete(v, "privateMetadata")
		for k, x := range v {
			v[k] = scrub(x)
		}
	case []any:
		for i, x := range v {
			v[i] = scrub(x)
		}
	}
	return v
}
