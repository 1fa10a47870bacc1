package token_test

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse/auth/token"
)

// TestFactorsFresh checks Clerk's reverification rule as
// checkReverificationAuthorization in @clerk/shared 4.41 has it
// (dist/authorization.js): a factor is fresh when window > age; -1 is
// "not enabled or never verified"; second_factor falls back to the first
// factor without a second one; multi_factor needs both, or the first
// alone without a second. Everything else fails: no factor at all, a
// first factor never verified where it is needed, an unknown level, a
// window that is not positive.
func TestFactorsFresh(t *testing.T) {
	const m = time.Minute
	const none = time.Duration(-1)
	for _, tc := range []struct {
		name          string
		first, second time.Duration
		level         string
		window        time.Duration
		want          bool
	}{
		// first_factor
		{"first: just inside", 9 * m, none, token.FirstFactor, 10 * m, true},
		{"first: at the window", 10 * m, none, token.FirstFactor, 10 * m, false},
		{"first: one second inside", 10*m - time.Second, none, token.FirstFactor, 10 * m, true},
		{"first: second factor is ignored (stale)", 0, 99 * m, token.FirstFactor, 10 * m, true},
		{"first: second factor is ignored (fresh)", 11 * m, 0, token.FirstFactor, 10 * m, false},
		// SDK: both ages -1 -> "fail".
		{"first: never verified fails", none, none, token.FirstFactor, 10 * m, false},
		// SDK: first_factor -> factor1FreshEnough, false for -1.
		{"first: never verified, second fresh, fails", none, 0, token.FirstFactor, 10 * m, false},

		// second_factor
		{"second: no 2FA, first inside", 9 * m, none, token.SecondFactor, 10 * m, true},
		{"second: no 2FA, first at window", 10 * m, none, token.SecondFactor, 10 * m, false},
		{"second: no 2FA, no first, fails", none, none, token.SecondFactor, 10 * m, false},
		{"second: 2FA inside, first stale", 100 * m, 9 * m, token.SecondFactor, 10 * m, true},
		{"second: 2FA at window, first fresh", 0, 10 * m, token.SecondFactor, 10 * m, false},
		{"second: 2FA inside, first never verified", none, 9 * m, token.SecondFactor, 10 * m, true},
		{"second: 2FA at window, first never verified", none, 10 * m, token.SecondFactor, 10 * m, false},
		{"second: moderate boundary inside", 0, 59 * m, token.SecondFactor, 60 * m, true},
		{"second: moderate boundary", 0, 60 * m, token.SecondFactor, 60 * m, false},
		{"second: lax boundary inside", 1439 * m, none, token.SecondFactor, 1440 * m, true},
		{"second: lax boundary", 1440 * m, none, token.SecondFactor, 1440 * m, false},

		// multi_factor
		{"multi: no 2FA, first inside", 9 * m, none, token.MultiFactor, 10 * m, true},
		{"multi: no 2FA, first at window", 10 * m, none, token.MultiFactor, 10 * m, false},
		{"multi: both inside", 9 * m, 9 * m, token.MultiFactor, 10 * m, true},
		{"multi: second at window", 9 * m, 10 * m, token.MultiFactor, 10 * m, false},
		{"multi: first at window", 10 * m, 9 * m, token.MultiFactor, 10 * m, false},
		{"multi: both stale", 10 * m, 10 * m, token.MultiFactor, 10 * m, false},
		// SDK: multi_factor with factor1Age === -1 (and a second) -> "fail".
		{"multi: no first, second fresh, fails", none, 0, token.MultiFactor, 10 * m, false},
		{"multi: no first, second stale, fails", none, 20 * m, token.MultiFactor, 10 * m, false},
		{"multi: no factors fails", none, none, token.MultiFactor, 10 * m, false},

		// Invalid rules fail (the SDK's validateReverificationConfig
		// rejects them, and checkReverificationAuthorization fails).
		{"window zero", 0, 0, token.SecondFactor, 0, false},
		{"window negative", 0, 0, token.FirstFactor, -m, false},
		{"unknown level", 0, 0, "third_factor", 10 * m, false},
		{"empty level", 0, 0, "", 10 * m, false},
		{"level is case sensitive", 0, 0, "Second_Factor", 10 * m, false},
		{"preset name is not a level", 0, 0, "strict", 10 * m, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := token.FactorsFresh(tc.first, tc.second, tc.level, tc.window); got != tc.want {
				t.Errorf("FactorsFresh(%v, %v, %q, %v): got %v, want %v",
					tc.first, tc.second, tc.level, tc.window, got, tc.want)
			}
		})
	}
}

func TestFVAAges(t *testing.T) {
	const m = time.Minute
	for _, tc := range []struct {
		name          string
		fva           []int
		first, second time.Duration
		ok            bool
	}{
		{"nil", nil, 0, 0, false},
		{"empty", []int{}, 0, 0, false},
		{"one age", []int{3}, 0, 0, false},
		{"three ages", []int{1, 2, 3}, 0, 0, false},
		{"fresh, no second factor", []int{0, -1}, 0, -1, true},
		{"both", []int{5, 7}, 5 * m, 7 * m, true},
		{"none", []int{-1, -1}, -1, -1, true},
		{"a day", []int{1440, 0}, 1440 * m, 0, true},
		// SDK isValidFactorAge: x === -1 || x >= 0.
		{"first below -1", []int{-2, 0}, 0, 0, false},
		{"second below -1", []int{0, -2}, 0, 0, false},
		{"both below -1", []int{-5, -100}, 0, 0, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			first, second, ok := token.FVAAges(tc.fva)
			if ok != tc.ok {
				t.Fatalf("FVAAges(%v): got ok %v, want %v", tc.fva, ok, tc.ok)
			}
			if !ok {
				return
			}
			if first != tc.first || second != tc.second {
				t.Errorf("FVAAges(%v): got (%v, %v), want (%v, %v)", tc.fva, first, second, tc.first, tc.second)
			}
		})
	}
}

// TestFVAAgesFeedFactorsFresh runs the claim through both functions, as
// Has does: -1 in the claim must stay "not enabled or never verified".
func TestFVAAgesFeedFactorsFresh(t *testing.T) {
	for _, tc := range []struct {
		fva     []int
		level   string
		minutes int
		want    bool
	}{
		{[]int{9, -1}, token.SecondFactor, 10, true},
		{[]int{10, -1}, token.SecondFactor, 10, false},
		{[]int{0, 10}, token.SecondFactor, 10, false},
		{[]int{-1, -1}, token.SecondFactor, 10, false},
		{[]int{-1, 9}, token.SecondFactor, 10, true},
		{[]int{9, -1}, token.MultiFactor, 10, true},
		{[]int{9, 10}, token.MultiFactor, 10, false},
		{[]int{-1, 0}, token.MultiFactor, 10, false},
		{[]int{-1, 0}, token.FirstFactor, 10, false},
	} {
		first, second, ok := token.FVAAges(tc.fva)
		if !ok {
			t.Fatalf("FVAAges(%v): got ok false, want true", tc.fva)
		}
		if got := token.FactorsFresh(first, second, tc.level, time.Duration(tc.minutes)*time.Minute); got != tc.want {
			t.Errorf("fva %v %s/%d: got %v, want %v", tc.fva, tc.level, tc.minutes, got, tc.want)
		}
	}
}

func TestReverificationRules(t *testing.T) {
	for _, tc := range []struct {
		name    string
		req     token.ReverificationRequirement
		level   string
		minutes int
		valid   bool
	}{
		{"strict_mfa", token.StrictMFA, token.MultiFactor, 10, true},
		{"strict", token.Strict, token.SecondFactor, 10, true},
		{"moderate", token.Moderate, token.SecondFactor, 60, true},
		{"lax", token.Lax, token.SecondFactor, 1440, true},
		{"unknown preset", token.ReverificationPreset("STRICT"), "", 0, false},
		{"empty preset", token.ReverificationPreset(""), "", 0, false},
		{"custom first", token.CustomReverification{Level: token.FirstFactor, AfterMinutes: 5}, token.FirstFactor, 5, true},
		{"custom second", token.CustomReverification{Level: token.SecondFactor, AfterMinutes: 1}, token.SecondFactor, 1, true},
		{"custom multi", token.CustomReverification{Level: token.MultiFactor, AfterMinutes: 30}, token.MultiFactor, 30, true},
		{"custom zero minutes", token.CustomReverification{Level: token.FirstFactor, AfterMinutes: 0}, token.FirstFactor, 0, false},
		{"custom negative minutes", token.CustomReverification{Level: token.SecondFactor, AfterMinutes: -5}, token.SecondFactor, -5, false},
		{"custom unknown level", token.CustomReverification{Level: "strict", AfterMinutes: 10}, "", 0, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			level, minutes, valid := tc.req.Rule()
			if valid != tc.valid {
				t.Fatalf("Rule(): got valid %v, want %v", valid, tc.valid)
			}
			if !valid {
				return
			}
			if level != tc.level || minutes != tc.minutes {
				t.Errorf("Rule(): got (%q, %d), want (%q, %d)", level, minutes, tc.level, tc.minutes)
			}
		})
	}
}

func TestReverificationMetadata(t *testing.T) {
	for _, tc := range []struct {
		req  token.ReverificationRequirement
		want string
	}{
		{token.Strict, `"strict"`},
		{token.StrictMFA, `"strict_mfa"`},
		{token.Lax, `"lax"`},
		{token.CustomReverification{Level: token.FirstFactor, AfterMinutes: 5}, `{"level":"first_factor","afterMinutes":5}`},
	} {
		b, err := json.Marshal(tc.req.Metadata())
		if err != nil {
			t.Fatalf("Marshal(%v): %v", tc.req, err)
		}
		if string(b) != tc.want {
			t.Errorf("Metadata() of %v: got %s, want %s", tc.req, b, tc.want)
		}
	}
}
