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
	b, _ := json.Marshal(a.wire()) // plain values: cannot fail
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
	state, err := a.MarshalJSON()
	if err != nil {
		return ClerkProps{}, fmt.Errorf("auth: BuildClerkProps: %w", err)
	}
	// The resources join the auth state's object: each is valid JSON from
	// json.Marshal, so the object is spliced rather than encoded again.
	for _, r := range []struct {
		key string
		v   any
	}{{"organization", in.Organization}, {"session", in.Session}, {"user", in.User}} {
		if isNil(r.v) {
			continue
		}
		clean, err := stripPrivate(r.v)
		if err != nil {
			return ClerkProps{}, fmt.Errorf("auth: BuildClerkProps: %s: %w", r.key, err)
		}
		state = append(state[:len(state)-1], `,"`+r.key+`":`...)
		state = append(append(state, clean...), '}')
	}
	return ClerkProps{state: state, auth: a, user: in.User}, nil
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

// stripPrivate encodes v without any private_metadata (or privateMetadata)
// key at any depth. Clerk's own buildClerkProps strips only the top level
// and leaked the rest.
//
// The backend user's own private metadata is dropped before encoding.
// Then, when the encoding holds neither key nor any escape (through which
// a key could be spelt differently), it is used as it is; otherwise it is
// decoded, scrubbed and encoded again.
func stripPrivate(v any) ([]byte, error) {
	if u, ok := v.(*User); ok {
		cp := *u
		cp.PrivateMetadata = nil // omitempty: the key is left out
		v = &cp
	}
	b, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	if !bytes.Contains(b, []byte(`\`)) && !bytes.Contains(b, []byte(`"private_metadata"`)) && !bytes.Contains(b, []byte(`"privateMetadata"`)) {
		return b, nil
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var generic any
	if err := dec.Decode(&generic); err != nil {
		return nil, err
	}
	return json.Marshal(scrub(generic))
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
