package httpapi

import (
	"crypto/subtle"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"math"
	"mime"
	"net/http"
	"path"
	"slices"
	"strconv"
	"strings"

	"github.com/gatehouse-dev/gatehouse/auth/clerkclient"
	"github.com/gatehouse-dev/gatehouse/auth/identity"
	"github.com/gatehouse-dev/gatehouse/auth/token"
)

// maxBackendBody bounds every request body of the backend API.
const maxBackendBody = 16 << 10

// BackendAPI serves the part of Clerk's Backend API that machines call
// over HTTP: the M2M token routes. Mount it under /v1 with the prefix
// stripped, outside the cookie-authenticated routes (it authenticates by
// the Authorization header only).
//
//	POST /m2m_tokens              create a token (Bearer: a machine secret key)
//	GET  /m2m_tokens?subject=…    list a machine's tokens
//	POST /m2m_tokens/verify       verify {"token"}
//	POST /m2m_tokens/{id}/revoke  revoke {"revocation_reason"}
//
// List, verify and revoke accept a machine secret key (limited to that
// machine's own tokens, or for verify to tokens scoped to it) or the
// instance secret key (any token). Answers and errors have Clerk's JSON
// shapes.
type BackendAPI struct {
	client    *clerkclient.Client
	tokens    SessionTokens // nil: no session tokens or JWKS
	limiter   *Limiter      // requests per client IP; nil: none
	secretKey string
	log       *slog.Logger
	mux       *http.ServeMux
}

// NewBackendAPI returns the backend API handler. secretKey is the instance
// secret (CLERK_SECRET_KEY).
func NewBackendAPI(c *clerkclient.Client, tokens SessionTokens, secretKey string, log *slog.Logger) *BackendAPI {
	b := &BackendAPI{client: c, tokens: tokens, secretKey: secretKey, log: log, mux: http.NewServeMux()}
	routes := []bapiRoute{
		{"GET", "/m2m_tokens", b.listM2M},
		{"POST", "/m2m_tokens", b.createM2M},
		{"POST", "/m2m_tokens/verify", b.verifyM2M},
		{"POST", "/m2m_tokens/{id}/revoke", b.revokeM2M},
	}
	routes = append(routes, b.v1Routes()...)
	// One path may take several methods; the others get 405 with Allow.
	var paths []string
	allowed := map[string][]string{}
	for _, rt := range routes {
		if allowed[rt.path] == nil {
			paths = append(paths, rt.path)
		}
		allowed[rt.path] = append(allowed[rt.path], rt.method)
		b.mux.HandleFunc(rt.method+" "+rt.path, rt.h)
	}
	// The 405s are registered per method: a method-less pattern such as
	// "/users/count" would conflict with "GET /users/{id}".
	for _, p := range paths {
		allow := strings.Join(allowed[p], ", ")
		for _, m := range []string{"GET", "POST", "PUT", "PATCH", "DELETE"} {
			if slices.Contains(allowed[p], m) || (m == "GET" && slices.Contains(allowed[p], "HEAD")) {
				continue
			}
			b.mux.HandleFunc(m+" "+p, func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Allow", allow)
				WriteError(w, &identity.Error{Status: http.StatusMethodNotAllowed, Code: "method_not_allowed",
					Message: "Method not allowed.", LongMessage: "This route accepts " + allow + " only."})
			})
		}
	}
	b.mux.HandleFunc("/", b.notFound)
	return b
}

// WithLimiter bounds the requests of each client IP (429 with
// Retry-After beyond), counted before anything else of a request.
func (b *BackendAPI) WithLimiter(l *Limiter) *BackendAPI {
	b.limiter = l
	return b
}

// ServeHTTP answers every backend API request with JSON that no cache
// keeps (answers may carry a secret shown once).
func (b *BackendAPI) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "no-store")
	if limited, wait := b.limiter.Limited(w, r); limited {
		WriteError(w, identity.ErrTooManyRequests(wait))
		return
	}
	if p := r.URL.Path; p == "" || path.Clean(p) != p {
		b.notFound(w, r)
		return
	}
	b.mux.ServeHTTP(w, r)
}

func (b *BackendAPI) notFound(w http.ResponseWriter, _ *http.Request) {
	WriteError(w, &identity.Error{Status: http.StatusNotFound, Code: "resource_not_found",
		Message: "Not found.", LongMessage: "No backend API route matches this path."})
}

// fail writes err in Clerk's error envelope; errors that are not a
// refusal are logged with the trace id the caller sees.
func (b *BackendAPI) fail(w http.ResponseWriter, r *http.Request, err error) {
	if e, ok := clerkclient.AsIdentityError(err); ok {
		err = e
	}
	trace := WriteError(w, err)
	if _, ok := identity.AsError(err); !ok {
		b.log.ErrorContext(r.Context(), "backend API request failed", "path", r.URL.Path, "clerk_trace_id", trace, "err", err)
	}
}

// caller returns the Bearer secret of the request and whether it is the
// instance secret key.
func (b *BackendAPI) caller(r *http.Request) (secret string, instance bool, err error) {
	tok, ok := token.Bearer(r)
	if !ok || tok == "" {
		return "", false, &identity.Error{Status: http.StatusUnauthorized, Code: "authentication_invalid",
			Message: "Authentication required.", LongMessage: "Send a machine secret key or the instance secret key as Authorization: Bearer <key>."}
	}
	if b.secretKey != "" && subtle.ConstantTimeCompare([]byte(tok), []byte(b.secretKey)) == 1 {
		return "", true, nil
	}
	return tok, false, nil
}

func (b *BackendAPI) createM2M(w http.ResponseWriter, r *http.Request) {
	secret, instance, err := b.caller(r)
	if err == nil && instance {
		err = &identity.Error{Status: http.StatusForbidden, Code: "authorization_invalid",
			Message: "A machine secret key is required.", LongMessage: "M2M tokens are created with the secret key of the machine they are for."}
	}
	if err != nil {
		b.fail(w, r, err)
		return
	}
	var body struct {
		Claims                 json.RawMessage `json:"claims"`
		Scopes                 *[]string       `json:"scopes"`
		SecondsUntilExpiration *float64        `json:"seconds_until_expiration"`
		TokenFormat            *string         `json:"token_format"`
	}
	if err := decodeBody(w, r, &body, true); err != nil {
		b.fail(w, r, err)
		return
	}
	p := clerkclient.CreateM2MTokenParams{MachineSecretKey: secret, Claims: body.Claims}
	if body.TokenFormat != nil && *body.TokenFormat != "opaque" {
		b.fail(w, r, paramInvalid("token_format", "only opaque M2M tokens are issued"))
		return
	}
	if body.Scopes != nil {
		p.Scopes = *body.Scopes
		if p.Scopes == nil {
			p.Scopes = []string{} // an explicit empty list asks for no scopes
		}
	}
	if p.SecondsUntilExpiration, err = tokenLifetime(body.SecondsUntilExpiration); err != nil {
		b.fail(w, r, err)
		return
	}
	t, err := b.client.M2MTokens.Create(r.Context(), p)
	if err != nil {
		b.fail(w, r, err)
		return
	}
	WriteJSON(w, http.StatusCreated, t)
}

func (b *BackendAPI) listM2M(w http.ResponseWriter, r *http.Request) {
	secret, _, err := b.caller(r)
	if err != nil {
		b.fail(w, r, err)
		return
	}
	q := r.URL.Query()
	p := clerkclient.M2MTokenListParams{Subject: q.Get("subject"), MachineSecretKey: secret}
	for _, f := range []struct {
		name string
		dst  *bool
	}{{"revoked", &p.Revoked}, {"expired", &p.Expired}} {
		if v := q.Get(f.name); v != "" {
			if *f.dst, err = strconv.ParseBool(v); err != nil {
				b.fail(w, r, paramInvalid(f.name, f.name+" must be true or false"))
				return
			}
		}
	}
	for _, f := range []struct {
		name string
		dst  *int
	}{{"limit", &p.Limit}, {"offset", &p.Offset}} {
		if v := q.Get(f.name); v != "" {
			if *f.dst, err = strconv.Atoi(v); err != nil {
				b.fail(w, r, paramInvalid(f.name, f.name+" must be a whole number"))
				return
			}
		}
	}
	list, err := b.client.M2MTokens.List(r.Context(), p)
	if err != nil {
		b.fail(w, r, err)
		return
	}
	WriteJSON(w, http.StatusOK, list)
}

func (b *BackendAPI) verifyM2M(w http.ResponseWriter, r *http.Request) {
	secret, _, err := b.caller(r)
	if err != nil {
		b.fail(w, r, err)
		return
	}
	var body struct {
		Token *string `json:"token"`
	}
	if err := decodeBody(w, r, &body, false); err != nil {
		b.fail(w, r, err)
		return
	}
	if body.Token == nil {
		b.fail(w, r, paramMissing("token"))
		return
	}
	t, err := b.client.M2MTokens.Verify(r.Context(), clerkclient.VerifyM2MTokenParams{Token: *body.Token, MachineSecretKey: secret})
	if err != nil {
		b.fail(w, r, err)
		return
	}
	WriteJSON(w, http.StatusOK, t)
}

func (b *BackendAPI) revokeM2M(w http.ResponseWriter, r *http.Request) {
	secret, _, err := b.caller(r)
	if err != nil {
		b.fail(w, r, err)
		return
	}
	var body struct {
		RevocationReason *string `json:"revocation_reason"`
	}
	if err := decodeBody(w, r, &body, true); err != nil {
		b.fail(w, r, err)
		return
	}
	p := clerkclient.RevokeM2MTokenParams{ID: r.PathValue("id"), MachineSecretKey: secret}
	if body.RevocationReason != nil {
		p.RevocationReason = *body.RevocationReason
	}
	t, err := b.client.M2MTokens.Revoke(r.Context(), p)
	if err != nil {
		b.fail(w, r, err)
		return
	}
	WriteJSON(w, http.StatusOK, t)
}

// decodeJSON is decodeBody for the SDK routes: an empty body is an
// empty object (SDKs send none for ban, revoke, …), and with strict false
// unknown keys are ignored.
func decodeJSON(w http.ResponseWriter, r *http.Request, dst any, strict bool) error {
	if r.ContentLength == 0 && r.Body != nil {
		var one [1]byte
		if n, _ := r.Body.Read(one[:]); n == 0 {
			return nil
		}
		return &identity.Error{Status: http.StatusBadRequest, Code: "request_body_invalid",
			Message: "The request body is not valid.", LongMessage: "Send a Content-Length with the body."}
	}
	return decodeBodyWith(w, r, dst, true, strict)
}

// decodeBody reads one JSON object from a bounded body into dst, refusing
// unknown fields as Clerk's Backend API does: 415 for another content
// type, 413 for an oversized body, 400 for bad JSON. With optional, an
// empty body is an empty object.
func decodeBody(w http.ResponseWriter, r *http.Request, dst any, optional bool) error {
	return decodeBodyWith(w, r, dst, optional, true)
}

func decodeBodyWith(w http.ResponseWriter, r *http.Request, dst any, optional, strict bool) error {
	body := http.MaxBytesReader(w, r.Body, maxBackendBody)
	if optional && r.ContentLength == 0 && r.Header.Get("Content-Type") == "" {
		return nil
	}
	if ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); ct != "application/json" {
		return &identity.Error{Status: http.StatusUnsupportedMediaType, Code: "unsupported_content_type",
			Message: "Send application/json.", LongMessage: "Content-Type must be application/json."}
	}
	dec := json.NewDecoder(body)
	if strict {
		dec.DisallowUnknownFields()
	}
	err := dec.Decode(dst)
	if optional && err == io.EOF {
		return nil
	}
	if err == nil {
		if _, terr := dec.Token(); terr != io.EOF {
			err = terr
			if err == nil {
				err = errors.New("more than one JSON value")
			}
		}
	}
	if err == nil {
		return nil
	}
	if _, ok := errors.AsType[*http.MaxBytesError](err); ok {
		return &identity.Error{Status: http.StatusRequestEntityTooLarge, Code: "request_body_invalid",
			Message: "The request body is too large.", LongMessage: "Request bodies are limited to " + strconv.Itoa(maxBackendBody) + " bytes."}
	}
	return &identity.Error{Status: http.StatusBadRequest, Code: "request_body_invalid",
		Message: "The request body is not a valid JSON object of this route's fields.", LongMessage: "Invalid JSON body: " + err.Error()}
}

// tokenLifetime reads seconds_until_expiration (a JSON number, as the
// SDKs send it) as whole seconds within the token limit; nil stays nil.
func tokenLifetime(s *float64) (*int64, error) {
	if s == nil {
		return nil, nil
	}
	if *s != math.Trunc(*s) || *s < 1 || *s > clerkclient.MaxTokenLifetime {
		return nil, paramInvalid("seconds_until_expiration", "seconds_until_expiration must be a whole number of seconds from 1 to "+strconv.Itoa(clerkclient.MaxTokenLifetime))
	}
	secs := int64(*s)
	return &secs, nil
}

// paramMissing is the refusal of a request without a required parameter.
func paramMissing(param string) error {
	msg := param + " is required."
	return &identity.Error{Status: http.StatusUnprocessableEntity, Code: "form_param_missing", Message: msg, LongMessage: msg, Param: param}
}

// paramInvalid is the refusal of a parameter with a bad value.
func paramInvalid(param, msg string) error {
	return &identity.Error{Status: http.StatusUnprocessableEntity, Code: "form_param_format_invalid", Message: msg, LongMessage: msg, Param: param}
}
