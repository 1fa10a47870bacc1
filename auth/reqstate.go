package auth

import (
	"context"
	"sync"

	"github.com/gatehouse-dev/gatehouse/auth/store"
	"github.com/gatehouse-dev/gatehouse/auth/token"
)

type stateKey struct{}

// requestState is what the middleware resolved for one request. It is
// also the request's context (the parent's, plus itself as the value of
// stateKey): one allocation instead of two on every request.
type requestState struct {
	context.Context
	opts         *Options
	presented    TokenType // the kind of token the request carried
	quickCookies bool      // whether firstCookie may be used
	claims       *token.Claims
	machine      *store.MachineToken // a verified M2M token or API key
	tok          string
	reason       string

	once sync.Once
	auth *Auth // the default GetAuth result, built once

	mu   sync.Mutex
	memo map[memoKey]*Auth // results for other option combinations
}

// Value returns st for stateKey and asks the parent context otherwise.
func (st *requestState) Value(key any) any {
	if key == (stateKey{}) {
		return st
	}
	return st.Context.Value(key)
}
