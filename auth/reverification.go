package auth

import (
	"encoding/json"
	"net/http"
	"net/url"

	"github.com/gatehouse-dev/gatehouse/auth/token"
)

// The reverification rules of [HasParams] and [WithReverification] (see
// package token, beside the fva rule they feed).
type (
	ReverificationRequirement = token.ReverificationRequirement
	ReverificationPreset      = token.ReverificationPreset
	CustomReverification      = token.CustomReverification
)

// Clerk's presets.
const (
	StrictMFA = token.StrictMFA
	Strict    = token.Strict
	Moderate  = token.Moderate
	Lax       = token.Lax
)

// reverificationBody is Clerk's 403 body for a request that needs a more
// recent verification.
func reverificationBody(r ReverificationRequirement) []byte {
	b, _ := json.Marshal(map[string]any{"clerk_error": map[string]any{
		"type": "forbidden", "reason": "reverification-error",
		"metadata": map[string]any{"reverification": r.Metadata()},
	}})
	return b
}

// reverifyURL is the reverify page for req, coming back to r's URL.
func reverifyURL(r *http.Request, req ReverificationRequirement) string {
	level := "strict"
	if p, ok := req.(ReverificationPreset); ok {
		level = string(p)
	}
	return ReverifyURL + "?" + url.Values{"level": {level}, "redirect_url": {r.URL.RequestURI()}}.Encode()
}
