package identity

import (
	"context"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse/auth/store"
)

// lockingStore locks the account right after handing out its (then
// unlocked) row, as parallel wrong guesses would while this sign-in hashes.
type lockingStore struct {
	store.Store
	lockAfterRead bool
}

func (s *lockingStore) GetUserByEmail(ctx context.Context, email string) (*store.User, error) {
	u, err := s.Store.GetUserByEmail(ctx, email)
	if err == nil && s.lockAfterRead {
		for range 10 {
			if _, err := s.Store.RecordSignInFailure(ctx, u.ID, 10, time.Hour); err != nil {
				return nil, err
			}
		}
	}
	return u, err
}

// TestLockHoldsAgainstParallelGuesses checks that a correct password does
// not get through (nor lift the lock) when the account was locked while
// the attempt was in flight.
func TestLockHoldsAgainstParallelGuesses(t *testing.T) {
	svc, db := newService(t)
	ctx := context.Background()
	const pw = "a correct horse staple"
	if _, err := svc.SignUp(ctx, SignUpInput{EmailAddress: "race@example.com", Password: pw}, "", ""); err != nil {
		t.Fatal(err)
	}
	svc.store = &lockingStore{Store: db, lockAfterRead: true}
	_, err := svc.SignIn(ctx, "race@example.com", pw, "", "")
	if e := asError(t, err); e.Code != "user_locked" {
		t.Fatalf("sign-in with the right password on a just-locked account: got %s, want user_locked", e.Code)
	}
	u, _ := db.GetUserByEmail(ctx, "race@example.com")
	if u.LockedUntil <= store.Now() {
		t.Errorf("the lock was lifted by the correct password: locked_until %d", u.LockedUntil)
	}
}
