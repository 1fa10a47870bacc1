package httpapi

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net"
	"net/http"
	"net/url"
	"time"

	"github.com/go-chi/httprate"

	"github.com/gatehouse-dev/gatehouse/auth/identity"
	"github.com/gatehouse-dev/gatehouse/auth/internal/randid"
	"github.com/gatehouse-dev/gatehouse/auth/store"
)

// MaxBodyBytes bounds every request body the identity server reads.
const MaxBodyBytes = 64 << 10

// Limiter counts sign-in and sign-up attempts per client IP.
type Limiter struct {
	rl       *httprate.RateLimiter
	clientIP func(*http.Request) string
}

// NewLimiter allows attempts per window for each client IP. clientIP
// returns the caller's address as resolved by the router, which trusts
// X-Forwarded-For only from configured proxies.
func NewLimiter(attempts int, window time.Duration, clientIP func(*http.Request) string) *Limiter {
	return &Limiter{
		rl: httprate.NewRateLimiter(attempts, window,
			httprate.WithLimitHandler(func(http.ResponseWriter, *http.Request) {}),
			httprate.WithResponseHeaders(httprate.ResponseHeaders{RetryAfter: "Retry-After"})),
		clientIP: clientIP,
	}
}

// Limited counts one attempt and reports whether it is over the limit;
// when it is, the Retry-After header is already set on w.
func (l *Limiter) Limited(w http.ResponseWriter, r *http.Request) (bool, time.Duration) {
	if l == nil {
		return false, 0
	}
	ip := l.clientIP(r)
	if ip == "" {
		// No usable client address (a malformed X-Forwarded-For from a
		// trusted proxy): count by the socket's address instead of one
		// bucket shared by every such request.
		ip, _, _ = net.SplitHostPort(r.RemoteAddr)
	}
	if !l.rl.OnLimit(w, r, httprate.CanonicalizeIP(ip)) {
		return false, 0
	}
	wait := time.Minute
	if ra := w.Header().Get("Retry-After"); ra != "" {
		var secs int
		if _, err := fmt.Sscanf(ra, "%d", &secs); err == nil && secs > 0 {
			wait = time.Duration(secs) * time.Second
		}
	}
	return true, wait
}

// ReadForm reads a form or JSON body (bounded) into a flat string map.
// It returns an *identity.Error with the right status for an oversized body (413),
// a wrong content type (415) or a malformed body (400).
func ReadForm(w http.ResponseWriter, r *http.Request) (map[string]string, error) {
	out, _, err := readForm(w, r)
	return out, err
}

// readForm is [ReadForm] that also reports which fields were present,
// including those given as JSON null or an empty form value.
func readForm(w http.ResponseWriter, r *http.Request) (map[string]string, map[string]bool, error) {
	r.Body = http.MaxBytesReader(w, r.Body, MaxBodyBytes)
	ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	out := map[string]string{}
	present := map[string]bool{}
	switch ct {
	case "application/x-www-form-urlencoded":
		body, err := io.ReadAll(r.Body)
		if err != nil {
			return nil, nil, bodyError(err)
		}
		vals, err := url.ParseQuery(string(body))
		if err != nil {
			return nil, nil, errBadBody("The form body could not be parsed.")
		}
		for k, v := range vals {
			present[k] = true
			if len(v) > 0 {
				out[k] = v[0]
			}
		}
	case "application/json":
		var raw map[string]any
		dec := json.NewDecoder(r.Body)
		if err := dec.Decode(&raw); err != nil {
			return nil, nil, bodyError(err)
		}
		if dec.More() {
			return nil, nil, errBadBody("The body must hold exactly one JSON object.")
		}
		for k, v := range raw {
			present[k] = true
			switch v := v.(type) {
			case string:
				out[k] = v
			case nil:
			default:
				return nil, nil, &identity.Error{Status: http.StatusUnprocessableEntity, Code: "form_param_format_invalid", Param: k,
					Message: k + " must be a string.", LongMessage: k + " must be a string."}
			}
		}
	case "":
		if r.ContentLength == 0 {
			return out, present, nil
		}
		fallthrough
	default:
		return nil, nil, &identity.Error{Status: http.StatusUnsupportedMediaType, Code: "unsupported_content_type",
			Message: "Send application/json or a URL-encoded form.", LongMessage: "Content-Type must be application/json or application/x-www-form-urlencoded."}
	}
	return out, present, nil
}

func bodyError(err error) *identity.Error {
	if _, ok := errors.AsType[*http.MaxBytesError](err); ok {
		return &identity.Error{Status: http.StatusRequestEntityTooLarge, Code: "request_body_invalid",
			Message: "The request body is too large.", LongMessage: fmt.Sprintf("Request bodies are limited to %d bytes.", MaxBodyBytes)}
	}
	return errBadBody("The request body is not valid JSON.")
}

func errBadBody(msg string) *identity.Error {
	return &identity.Error{Status: http.StatusBadRequest, Code: "request_body_invalid", Message: msg, LongMessage: msg}
}

// WriteJSON writes v with Content-Type application/json (exactly, as
// Clerk's SDKs expect) and the status.
func WriteJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		status, b = http.StatusInternalServerError, []byte(`{"errors":[{"code":"internal_error","message":"Something went wrong.","long_message":"Something went wrong.","meta":{}}]}`)
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	w.Write(b)
}

// WriteError writes err in Clerk's error envelope and returns the envelope's
// trace id. Errors that are not an *identity.Error are sent as a generic 500; the
// caller logs them with the trace id.
func WriteError(w http.ResponseWriter, err error) string {
	e, ok := identity.AsError(err)
	if !ok {
		e = &identity.Error{Status: http.StatusInternalServerError, Code: "internal_error",
			Message: "Something went wrong.", LongMessage: "Something went wrong. Try again later."}
	}
	e.SetRetryAfter(w)
	type apiError struct {
		Code        string         `json:"code"`
		Message     string         `json:"message"`
		LongMessage string         `json:"long_message"`
		Meta        map[string]any `json:"meta"`
	}
	trace := randid.Base62(22)
	WriteJSON(w, e.Status, struct {
		Errors  []apiError `json:"errors"`
		TraceID string     `json:"clerk_trace_id"`
	}{Errors: []apiError{{Code: e.Code, Message: e.Message, LongMessage: e.LongMessage, Meta: e.Meta()}},
		TraceID: trace})
	return trace
}

// RequestContext returns r's context carrying the store's RequestInfo:
// the client IP as the limiter counts it, and the user agent, for the
// audit events and the sessions list. sid names the caller's session, if
// known.
func (l *Limiter) RequestContext(r *http.Request, sid string) context.Context {
	ip := ""
	if l != nil {
		ip = l.clientIP(r)
	}
	if ip == "" {
		ip, _, _ = net.SplitHostPort(r.RemoteAddr)
	}
	return store.WithRequestInfo(r.Context(), store.RequestInfo{IP: ip, UserAgent: r.UserAgent(), SessionID: sid})
}
