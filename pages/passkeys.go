package pages

import (
	"context"
	"errors"
	"net/http"

	"github.com/gatehouse-dev/gatehouse/auth"
)

// Where the profile's passkey forms post, each followed by the passkey's
// id and /rename or /delete. Adding a passkey and signing in with one
// need the browser's WebAuthn API: clerk.js does them through the
// frontend API, from the hooks the profile and the sign-in page render
// (form[data-passkey-add], button[data-passkey-sign-in] and
// p[data-passkey-error], all hidden until clerk.js finds WebAuthn).
const (
	passkeysPrefix = "/profile/passkeys/"
	// passkeysURL is the profile's passkeys card.
	passkeysURL = "/profile#passkeys"
	// maxPasskeys is how many passkeys a user may have.
	maxPasskeys = auth.MaxPasskeys
)

// PasskeyPages serve the profile's passkey forms: rename and delete. Each
// is a plain form answered with 303 to the profile and a notice, or the
// profile again with the refusal in the passkeys card.
type PasskeyPages struct {
	site    *Site
	forms   *AuthForms
	account *AccountForms
}

// NewPasskeyPages returns the handlers of the profile's passkey forms.
func NewPasskeyPages(site *Site) *PasskeyPages {
	return &PasskeyPages{site: site, forms: NewAuthForms(site), account: NewAccountForms(site)}
}

// Rename serves POST /profile/passkeys/{id}/rename: the passkey takes the
// form's name (at most 64 characters).
func (p *PasskeyPages) Rename() http.Handler {
	return p.handle("passkey-renamed", func(w http.ResponseWriter, r *http.Request, form map[string]string) error {
		return auth.RenamePasskey(w, r, r.PathValue("id"), form["name"])
	})
}

// Delete serves POST /profile/passkeys/{id}/delete: the passkey is
// removed, unless it is the user's only way to sign in. It is a
// sensitive change: without a recent verification the browser goes to
// the reverify page first.
func (p *PasskeyPages) Delete() http.Handler {
	return p.handle("passkey-deleted", func(w http.ResponseWriter, r *http.Request, _ map[string]string) error {
		return auth.DeletePasskey(w, r, r.PathValue("id"))
	})
}

// handle serves one passkey form: fn changes the passkey, and done is the
// ?done= key of its notice when it worked.
func (p *PasskeyPages) handle(done string, fn func(http.ResponseWriter, *http.Request, map[string]string) error) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		form, err := auth.ReadForm(w, r)
		if err != nil {
			formError(p.site, w, r, err)
			return
		}
		err = fn(w, r, form)
		if errors.Is(err, auth.ErrSessionEnded) {
			http.Redirect(w, r, p.forms.signInAgainURL(passkeysURL), http.StatusSeeOther)
			return
		}
		p.account.answer(w, r, "passkeys", form, done, err)
	})
}

// PasskeysView is the view model of the profile's passkeys card.
type PasskeysView struct {
	// Off says why passkeys do not work here (the card shows only that),
	// or is "".
	Off string
	// Passkeys are the user's passkeys, oldest first.
	Passkeys []PasskeyItem
	// Disabled says why this session cannot add, rename or delete
	// passkeys, or is "".
	Disabled string
}

// CanAdd reports whether the user may add another passkey.
func (v PasskeysView) CanAdd() bool { return len(v.Passkeys) < maxPasskeys }

// PasskeyItem is one of the user's passkeys.
type PasskeyItem struct {
	// ID names the passkey in its forms' actions.
	ID, Name string
	// Kind is "Synced" for a passkey its provider may copy to the
	// person's other devices, else "This device only".
	Kind string
	// AddedAt is when it was added, formatted; LastUsed "Last used" and
	// when, or "Never used".
	AddedAt, LastUsed string
}

const (
	errActorPasskeys   = "Passkeys are the user's own to manage; an impersonation session cannot add, rename or delete them."
	errSessionPasskeys = "Passkeys are managed from a browser signed in to the account."
)

// passkeysView lists acct's passkeys (acct is nil when the request has no
// signed-in browser session), or says why passkeys do not work here.
func passkeysView(ctx context.Context, r *http.Request, acct *auth.Account) (PasskeysView, error) {
	var v PasskeysView
	if on, why := auth.PasskeysEnabled(r); !on {
		v.Off = valueOr(why, "Passkeys are not available here.")
		return v, nil
	}
	if acct == nil {
		v.Disabled = errSessionPasskeys
		return v, nil
	}
	keys, err := acct.Passkeys(ctx)
	if err != nil {
		return v, err
	}
	for _, k := range keys {
		item := PasskeyItem{ID: k.ID, Name: valueOr(k.Name, "Passkey"), Kind: "This device only",
			AddedAt: formatMillis(k.CreatedAt), LastUsed: "Never used"}
		if k.BackupEligible {
			item.Kind = "Synced"
		}
		if k.LastUsedAt > 0 {
			item.LastUsed = "Last used " + formatMillis(k.LastUsedAt)
		}
		v.Passkeys = append(v.Passkeys, item)
	}
	if acct.Impersonated() {
		v.Disabled = errActorPasskeys
	}
	return v, nil
}

// passkeyNameValue is the value of the rename field of passkey pk: what
// was typed when the form just refused it, else its name.
func passkeyNameValue(f AccountForm, pk PasskeyItem) string {
	if f.Section == "passkeys" && f.ID == pk.ID && f.Fields["name"] != "" {
		return f.Values["name"]
	}
	return pk.Name
}

// passkeyNameError is the refusal of the name typed for passkey pk, or "".
func passkeyNameError(f AccountForm, pk PasskeyItem) string {
	if f.Section != "passkeys" || f.ID != pk.ID {
		return ""
	}
	return f.Fields["name"]
}

// ariaInvalid is the aria-invalid value of a field whose refusal is msg.
func ariaInvalid(msg string) string {
	if msg != "" {
		return "true"
	}
	return ""
}

// strayNameError is the refusal of a name typed for a passkey the card
// no longer lists (deleted meanwhile), shown above the list; or "".
func strayNameError(v PasskeysView, f AccountForm) string {
	if f.Section != "passkeys" || f.Fields["name"] == "" {
		return ""
	}
	for _, pk := range v.Passkeys {
		if pk.ID == f.ID {
			return ""
		}
	}
	return f.Fields["name"]
}
