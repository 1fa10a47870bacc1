package auth

import (
	"encoding/json"
	"net/http"
	"net/url"

	"github.com/gatehouse-dev/gatehouse/auth/token"
)

// ReverificationRequirement is how recently a session must have verified
// its factors: a [ReverificationPreset] or a [CustomReverification].
type ReverificationRequirement interface {
	// rule returns the factor level and the window in minutes; valid is
	// false for a rule Clerk would ignore.
	rule() (level string, afterMinutes int, valid bool)
	// metadata is the requirement in a reverification error's metadata.
	metadata() any
}

// ReverificationPreset names one of Clerk's reverification presets.
type ReverificationPreset string

// Clerk's presets: strict_mfa is 10 minutes, both factors; strict 10
// minutes, moderate an hour and lax a day, the second factor (or the
// first, for a user without one).
const (
	StrictMFA ReverificationPreset = "strict_mfa"
	Strict    ReverificationPreset = "strict"
	Moderate  ReverificationPreset = "moderate"
	Lax       ReverificationPreset = "lax"
)

func (p ReverificationPreset) rule() (string, int, bool) {
	switch p {
	case StrictMFA:
		return token.MultiFactor, 10, true
	case Strict:
		return token.SecondFactor, 10, true
	case Moderate:
		return token.SecondFactor, 60, true
	case Lax:
		return token.SecondFactor, 1440, true
	}
	return "", 0, false
}

func (p ReverificationPreset) metadata() any { return string(p) }

// CustomReverification is a reverification rule of one's own: the factor
// level (first_factor, second_factor or multi_factor) verified less than
// AfterMinutes ago.
type CustomReverification struct {
	Level        string `json:"level"`
	AfterMinutes int    `json:"afterMinutes"`
}

func (c CustomReverification) rule() (string, int, bool) {
	switch c.Level {
	case token.FirstFactor, token.SecondFactor, token.MultiFactor:
		return c.Level, c.AfterMinutes, c.AfterMinutes > 0
	}
	return "", 0, false
}

func (c CustomReverification) metadata() any { return c }

// reverificationBody is Clerk's 403 body for a request that needs a more
// recent verification.
func reverificationBody(r ReverificationRequirement) []byte {
	b, _ := json.Marshal(map[string]any{"clerk_error": map[string]any{
		"type": "forbidden", "reason": "reverification-error",
		"metadata": map[string]any{"reverification": r.metadata()},
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
