package token

import "time"

// The factor levels of a reverification rule, as Clerk names them.
const (
	FirstFactor  = "first_factor"
	SecondFactor = "second_factor"
	MultiFactor  = "multi_factor"
)

// FactorsFresh applies Clerk's reverification rule (as @clerk/shared
// 4.41 has it) to the ages of a session's factors, the fva claim's; a
// negative age means the factor is not enabled or was never verified. A
// factor is fresh when window > its age. first_factor needs the first;
// second_factor the second, or the first for a user without one;
// multi_factor both, or the first alone without a second. With neither
// factor, an unknown level or a window that is not positive, nothing is
// fresh.
func FactorsFresh(first, second time.Duration, level string, window time.Duration) bool {
	if window <= 0 || (first < 0 && second < 0) {
		return false
	}
	f1 := first >= 0 && window > first
	f2 := second >= 0 && window > second
	switch level {
	case FirstFactor:
		return f1
	case SecondFactor:
		if second < 0 {
			return f1
		}
		return f2
	case MultiFactor:
		if second < 0 {
			return f1
		}
		return first >= 0 && f1 && f2
	}
	return false
}

// FVAAges returns the factor ages of an fva claim ([first, second] in
// minutes, -1 for none, negative durations here); ok is false when the
// claim is malformed (not two ages, or an age below -1).
func FVAAges(fva []int) (first, second time.Duration, ok bool) {
	if len(fva) != 2 || fva[0] < -1 || fva[1] < -1 {
		return 0, 0, false
	}
	age := func(m int) time.Duration {
		if m < 0 {
			return -1
		}
		return time.Duration(m) * time.Minute
	}
	return age(fva[0]), age(fva[1]), true
}

// ReverificationRequirement is how recently a session must have verified
// its factors: a [ReverificationPreset] or a [CustomReverification].
type ReverificationRequirement interface {
	// Rule returns the factor level and the window in minutes; valid is
	// false for a rule Clerk would ignore.
	Rule() (level string, afterMinutes int, valid bool)
	// Metadata is the requirement in a reverification error's metadata.
	Metadata() any
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

func (p ReverificationPreset) Rule() (string, int, bool) {
	switch p {
	case StrictMFA:
		return MultiFactor, 10, true
	case Strict:
		return SecondFactor, 10, true
	case Moderate:
		return SecondFactor, 60, true
	case Lax:
		return SecondFactor, 1440, true
	}
	return "", 0, false
}

func (p ReverificationPreset) Metadata() any { return string(p) }

// CustomReverification is a reverification rule of one's own: the factor
// level (first_factor, second_factor or multi_factor) verified less than
// AfterMinutes ago.
type CustomReverification struct {
	Level        string `json:"level"`
	AfterMinutes int    `json:"afterMinutes"`
}

func (c CustomReverification) Rule() (string, int, bool) {
	switch c.Level {
	case FirstFactor, SecondFactor, MultiFactor:
		return c.Level, c.AfterMinutes, c.AfterMinutes > 0
	}
	return "", 0, false
}

func (c CustomReverification) Metadata() any { return c }
