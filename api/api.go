// Package api holds the example JSON routes that show the patterns of a
// protected API: the auth check, the backend client, method routing over a
// per-user resource, and the session token.
//
// Handlers return an error; [Handler] turns it into the JSON response in
// one place: an *Error is sent as {"error": message} with its status, and
// anything else is logged and sent as a 500 without detail.
package api

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net/http"
)

// MaxBodyBytes bounds every JSON body the API reads.
const MaxBodyBytes = 64 << 10

// Error is a refusal with its status and the message the caller sees.
type Error struct {
	Status  int
	Message string
}

func (e *Error) Error() string { return e.Message }

// Common refusals, with the messages of Clerk's examples.
var (
	ErrUnauthorized = &Error{http.StatusUnauthorized, "Unauthorized"}
	ErrForbidden    = &Error{http.StatusForbidden, "Forbidden"}
	ErrNotFound     = &Error{http.StatusNotFound, "Not found"}
)

// Handler adapts a function returning an error to an http.Handler.
type Handler struct {
	Log *slog.Logger
	Fn  func(w http.ResponseWriter, r *http.Request) error
}

func (h Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	err := h.Fn(w, r)
	if err == nil {
		return
	}
	e, ok := errors.AsType[*Error](err)
	if !ok {
		h.Log.ErrorContext(r.Context(), "api request failed", "path", r.URL.Path, "err", err)
		e = &Error{http.StatusInternalServerError, "Internal server error"}
	}
	WriteJSON(w, e.Status, map[string]string{"error": e.Message})
}

// WriteJSON writes v as JSON with the status. It returns an error only when
// v cannot be encoded, before anything is written; a client that went away
// mid-write is not an error worth a second response.
func WriteJSON(w http.ResponseWriter, status int, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("api: encode response: %w", err)
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	w.Write(b)
	return nil
}

// DecodeJSON reads one JSON object from a bounded body into dst: 415 for
// another content type, 413 for an oversized body, 400 for bad JSON.
func DecodeJSON(w http.ResponseWriter, r *http.Request, dst any) error {
	if ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); ct != "application/json" {
		return &Error{http.StatusUnsupportedMediaType, "Content-Type must be application/json"}
	}
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, MaxBodyBytes))
	if err := dec.Decode(dst); err != nil {
		if _, ok := errors.AsType[*http.MaxBytesError](err); ok {
			return &Error{http.StatusRequestEntityTooLarge, "Request body too large"}
		}
		return &Error{http.StatusBadRequest, "Invalid JSON body"}
	}
	if _, err := dec.Token(); err != io.EOF {
		if _, ok := errors.AsType[*http.MaxBytesError](err); ok {
			return &Error{http.StatusRequestEntityTooLarge, "Request body too large"}
		}
		return &Error{http.StatusBadRequest, "Invalid JSON body"}
	}
	return nil
}

// MethodNotAllowed is the JSON 405 with the Allow header.
func MethodNotAllowed(w http.ResponseWriter, allow string) error {
	w.Header().Set("Allow", allow)
	return &Error{http.StatusMethodNotAllowed, "Method not allowed"}
}

// GetOnly answers methods other than GET and HEAD with a JSON 405.
func GetOnly(fn func(http.ResponseWriter, *http.Request) error) func(http.ResponseWriter, *http.Request) error {
	return func(w http.ResponseWriter, r *http.Request) error {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			return MethodNotAllowed(w, "GET")
		}
		return fn(w, r)
	}
}
