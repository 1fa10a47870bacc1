package identity

import (
	"net/mail"
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

// NormalizeEmail trims, NFC-normalises and lower-cases an address; it
// returns "" when the address is not a plain, valid email address, or
// when it could pass for another one: invisible or control characters
// (Unicode Cf, Cc), spaces of any kind (Z), a combining mark on an ASCII
// letter (which NFC did not compose, so nothing looks like it), or a local
// part or domain that mixes scripts (Latin with Cyrillic "а", say). Every
// place an address enters — sign-up, sign-in, invitations, the backend
// client, the reserved administrator addresses — goes through it, so two
// accounts never differ by what a person cannot see.
func NormalizeEmail(s string) string {
	if !utf8.ValidString(s) {
		return ""
	}
	s = norm.NFC.String(strings.ToLower(norm.NFC.String(strings.TrimSpace(s))))
	if s == "" || len(s) > 254 || strings.ContainsAny(s, " \t\r\n<>\"(),;:\\[]") {
		return ""
	}
	at := strings.LastIndexByte(s, '@')
	if at < 0 || confusable(s[:at]) || confusable(s[at+1:]) {
		return ""
	}
	a, err := mail.ParseAddress(s)
	if err != nil || a.Address != s || !strings.Contains(s[at+1:], ".") {
		return ""
	}
	return s
}

// confusable reports whether part of an address holds a character a
// person cannot see or tell apart, or letters of more than one script.
func confusable(part string) bool {
	script := ""
	prev := rune(0)
	for _, r := range part {
		switch {
		case unicode.In(r, unicode.Cf, unicode.Cc, unicode.Z):
			return true
		case unicode.In(r, unicode.Mn, unicode.Me, unicode.Mc):
			if prev < utf8.RuneSelf {
				return true
			}
		case unicode.IsLetter(r):
			sc := scriptOf(r)
			if script != "" && sc != script {
				return true
			}
			script = sc
		}
		prev = r
	}
	return false
}

// scriptOf names the Unicode script of a letter ("" for Common or
// Inherited ones).
func scriptOf(r rune) string {
	if r < utf8.RuneSelf {
		return "Latin"
	}
	for name, table := range unicode.Scripts {
		if name != "Common" && name != "Inherited" && unicode.Is(table, r) {
			return name
		}
	}
	return ""
}
