package auth

// The doors of passkeys for pages: whether they work here, and the
// profile's rename and delete forms. Registration and sign-in need the
// browser's WebAuthn API, so they go through the frontend API from
// clerk.js.

import (
	"net/http"

	"github.com/gatehouse-dev/gatehouse/auth/identity"
)

// StrategyPasskey is Clerk's name of the passkey strategy.
const StrategyPasskey = identity.StrategyPasskey

// MaxPasskeys is how many passkeys a user may have.
const MaxPasskeys = identity.MaxPasskeys

// PasskeysEnabled reports whether passkeys work on this instance, and
// when they do not, why (for the profile to say).
func PasskeysEnabled(r *http.Request) (bool, string) {
	svc, _, err := identityOf(r)
	if err != nil {
		return false, "Passkeys need the identity server."
	}
	return svc.PasskeysEnabled()
}

// RenamePasskey names the signed-in user's passkey id.
func RenamePasskey(w http.ResponseWriter, r *http.Request, id, name string) error {
	acct, ctx, err := OpenAccount(w, r)
	if err != nil {
		return err
	}
	return acct.RenamePasskey(ctx, id, name)
}

// DeletePasskey removes the signed-in user's passkey id, unless it is
// their last way to sign in. It is a sensitive action.
func DeletePasskey(w http.ResponseWriter, r *http.Request, id string) error {
	acct, ctx, err := OpenAccount(w, r)
	if err != nil {
		return err
	}
	return acct.DeletePasskey(ctx, id)
}
