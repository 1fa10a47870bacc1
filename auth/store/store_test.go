package store_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse/auth/store"
)

func openDB(t *testing.T) *store.DB {
	t.Helper()
	db, err := store.Open(context.Background(), "sqlite:"+t.TempDir()+"/db")
	if err != nil {
		t.Fatalf("store.Open: %v", err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func createUser(t *testing.T, db *store.DB, email string) *store.User {
	t.Helper()
	u, err := db.CreateUser(context.Background(), store.NewUser{Email: email, FirstName: "Test", PasswordHash: "$argon2id$x"})
	if err != nil {
		t.Fatalf("CreateUser(%q): %v", email, err)
	}
	return u
}

var sessionSeq atomic.Int64

func createSession(t *testing.T, db *store.DB, clientID, userID string) *store.Session {
	t.Helper()
	now := store.Now()
	s := store.Session{
		ID: fmt.Sprintf("sess_%d", sessionSeq.Add(1)), ClientID: clientID, UserID: userID,
		Status: store.SessionActive, FactorVerifiedAt: now, ExpireAt: now + time.Hour.Milliseconds(), LastActiveAt: now,
	}
	if err := db.CreateSession(context.Background(), store.Client{ID: clientID, SecretHash: []byte("hash-of-" + clientID)}, s); err != nil {
		t.Fatalf("CreateSession: %v", err)
	}
	return &s
}

func TestOpenRefusesOtherURLs(t *testing.T) {
	for _, u := range []string{"", "mysql://x", "postgres://localhost/db", "sqlite:"} {
		t.Run(u, func(t *testing.T) {
			if db, err := store.Open(context.Background(), u); err == nil {
				db.Close()
				t.Errorf("Open(%q): got nil error, want one", u)
			}
		})
	}
}

func TestUsers(t *testing.T) {
	db := openDB(t)
	ctx := context.Background()
	u := createUser(t, db, "alice@example.com")
	if !strings.HasPrefix(u.ID, "user_") || u.PrimaryEmail() != "alice@example.com" {
		t.Errorf("got id %q primary email %q, want user_… and alice@example.com", u.ID, u.PrimaryEmail())
	}
	if string(u.PublicMetadata) != "{}" || string(u.PrivateMetadata) != "{}" || string(u.UnsafeMetadata) != "{}" {
		t.Errorf("got metadata %s %s %s, want {} each", u.PublicMetadata, u.PrivateMetadata, u.UnsafeMetadata)
	}
	got, err := db.GetUserByEmail(ctx, "alice@example.com")
	if err != nil || got.ID != u.ID {
		t.Errorf("GetUserByEmail: got (%v, %v), want user %s", got, err, u.ID)
	}
	if _, err := db.GetUserByEmail(ctx, "nobody@example.com"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("GetUserByEmail unknown: got %v, want ErrNotFound", err)
	}
	if _, err := db.GetUser(ctx, "user_nope"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("GetUser unknown: got %v, want ErrNotFound", err)
	}
	if _, err := db.CreateUser(ctx, store.NewUser{Email: "alice@example.com"}); !errors.Is(err, store.ErrConflict) {
		t.Errorf("duplicate CreateUser: got %v, want ErrConflict", err)
	}
	users, total, err := db.ListUsers(ctx, store.UserFilter{})
	if err != nil || total != 1 || len(users) != 1 {
		t.Errorf("ListUsers: got %d users, total %d (%v), want 1 (a refused duplicate leaves no row)", len(users), total, err)
	}
	name := "Alicia"
	up, err := db.UpdateUser(ctx, u.ID, store.UserUpdate{FirstName: &name})
	if err != nil || up.FirstName != "Alicia" {
		t.Errorf("UpdateUser: got (%v, %v), want first name Alicia", up, err)
	}
	if _, err := db.UpdateUser(ctx, "user_nope", store.UserUpdate{FirstName: &name}); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("UpdateUser unknown: got %v, want ErrNotFound", err)
	}
}

func TestConcurrentCreateUserSameEmail(t *testing.T) {
	db := openDB(t)
	const n = 8
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			_, errs[i] = db.CreateUser(context.Background(), store.NewUser{Email: "same@example.com"})
		})
	}
	wg.Wait()
	ok := 0
	for i, err := range errs {
		switch {
		case err == nil:
			ok++
		case errors.Is(err, store.ErrConflict):
		default:
			t.Errorf("writer %d: got %v, want nil or ErrConflict", i, err)
		}
		if err != nil && strings.Contains(err.Error(), "locked") {
			t.Errorf("writer %d: got %q, want no \"database is locked\"", i, err)
		}
	}
	if ok != 1 {
		t.Errorf("got %d successes, want exactly 1", ok)
	}
	_, total, err := db.ListUsers(context.Background(), store.UserFilter{})
	if err != nil || total != 1 {
		t.Errorf("got %d users (%v), want 1", total, err)
	}
}

func TestMergeJSON(t *testing.T) {
	for _, tc := range []struct {
		name, base, patch, want string
		wantErr                 bool
	}{
		{"add key", `{"a":1}`, `{"b":2}`, `{"a":1,"b":2}`, false},
		{"replace scalar", `{"a":1}`, `{"a":"x"}`, `{"a":"x"}`, false},
		{"deep merge", `{"o":{"x":1,"y":{"z":1}}}`, `{"o":{"y":{"w":2}}}`, `{"o":{"x":1,"y":{"z":1,"w":2}}}`, false},
		{"null deletes", `{"a":1,"b":2}`, `{"a":null}`, `{"b":2}`, false},
		{"nested null deletes", `{"o":{"x":1,"y":2}}`, `{"o":{"x":null}}`, `{"o":{"y":2}}`, false},
		{"null on a missing key", `{"a":1}`, `{"zz":null}`, `{"a":1}`, false},
		{"null inside a new object", `{}`, `{"o":{"x":null,"y":1}}`, `{"o":{"y":1}}`, false},
		{"arrays replaced", `{"l":[1,2,3]}`, `{"l":[4]}`, `{"l":[4]}`, false},
		{"array replaces object", `{"o":{"x":1}}`, `{"o":[1]}`, `{"o":[1]}`, false},
		{"object replaces scalar", `{"o":1}`, `{"o":{"x":1}}`, `{"o":{"x":1}}`, false},
		{"empty base", ``, `{"a":1}`, `{"a":1}`, false},
		{"empty patch", `{"a":1}`, `{}`, `{"a":1}`, false},
		{"big numbers kept exactly", `{"n":12345678901234567890}`, `{"m":1.5}`, `{"n":12345678901234567890,"m":1.5}`, false},
		{"patch not an object", `{"a":1}`, `[1]`, ``, true},
		{"patch not JSON", `{"a":1}`, `{`, ``, true},
		{"base not JSON", `{`, `{}`, ``, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := store.MergeJSON([]byte(tc.base), []byte(tc.patch))
			if tc.wantErr {
				if err == nil {
					t.Errorf("got %s, want an error", got)
				}
				return
			}
			if err != nil {
				t.Fatalf("got error %v, want %s", err, tc.want)
			}
			if !jsonEqual(t, got, []byte(tc.want)) {
				t.Errorf("got %s, want %s", got, tc.want)
			}
		})
	}
}

func jsonEqual(t *testing.T, a, b []byte) bool {
	t.Helper()
	var x, y any
	da := json.NewDecoder(strings.NewReader(string(a)))
	da.UseNumber()
	db := json.NewDecoder(strings.NewReader(string(b)))
	db.UseNumber()
	if err := da.Decode(&x); err != nil {
		t.Fatalf("decode %s: %v", a, err)
	}
	if err := db.Decode(&y); err != nil {
		t.Fatalf("decode %s: %v", b, err)
	}
	return reflect.DeepEqual(x, y)
}

func TestMergeUserMetadata(t *testing.T) {
	db := openDB(t)
	ctx := context.Background()
	u := createUser(t, db, "meta@example.com")
	got, err := db.MergeUserMetadata(ctx, u.ID, store.MetadataPatch{Public: []byte(`{"a":{"b":1}}`), Private: []byte(`{"s":1}`)})
	if err != nil {
		t.Fatalf("MergeUserMetadata: %v", err)
	}
	got, err = db.MergeUserMetadata(ctx, u.ID, store.MetadataPatch{Public: []byte(`{"a":{"c":2}}`)})
	if err != nil {
		t.Fatalf("MergeUserMetadata: %v", err)
	}
	if !jsonEqual(t, got.PublicMetadata, []byte(`{"a":{"b":1,"c":2}}`)) {
		t.Errorf("public: got %s, want {\"a\":{\"b\":1,\"c\":2}}", got.PublicMetadata)
	}
	if !jsonEqual(t, got.PrivateMetadata, []byte(`{"s":1}`)) || !jsonEqual(t, got.UnsafeMetadata, []byte(`{}`)) {
		t.Errorf("untouched metadata changed: private %s unsafe %s", got.PrivateMetadata, got.UnsafeMetadata)
	}
	if _, err := db.MergeUserMetadata(ctx, "user_nope", store.MetadataPatch{Public: []byte(`{}`)}); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("unknown user: got %v, want ErrNotFound", err)
	}
}

func TestSessions(t *testing.T) {
	db := openDB(t)
	ctx := context.Background()
	u := createUser(t, db, "sess@example.com")
	s := createSession(t, db, "client_1", u.ID)

	c, err := db.GetClient(ctx, "client_1")
	if err != nil || c.LastActiveSessionID != s.ID {
		t.Fatalf("GetClient: got (%+v, %v), want last active session %s", c, err, s.ID)
	}
	ended, err := db.EndSession(ctx, s.ID, store.SessionEnded)
	if err != nil || ended.Status != store.SessionEnded {
		t.Fatalf("EndSession: got (%+v, %v), want status ended", ended, err)
	}
	if _, err := db.EndSession(ctx, s.ID, store.SessionRevoked); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("EndSession on an ended session: got %v, want ErrNotFound", err)
	}
	if got, _ := db.GetSession(ctx, s.ID); got.Status != store.SessionEnded {
		t.Errorf("status after a second EndSession: got %q, want ended", got.Status)
	}
	if _, err := db.EndSession(ctx, "sess_nope", store.SessionEnded); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("EndSession unknown: got %v, want ErrNotFound", err)
	}

	t.Run("a new sign-in on the client replaces its live session", func(t *testing.T) {
		a := createSession(t, db, "client_2", u.ID)
		b := createSession(t, db, "client_2", u.ID)
		got, err := db.GetSession(ctx, a.ID)
		if err != nil || got.Status == store.SessionActive {
			t.Errorf("first session: got (%v, %v), want no longer active", got, err)
		}
		if c, _ := db.GetClient(ctx, "client_2"); c.LastActiveSessionID != b.ID {
			t.Errorf("last active session: got %q, want %q", c.LastActiveSessionID, b.ID)
		}
	})

	t.Run("ban revokes sessions", func(t *testing.T) {
		v := createUser(t, db, "banned@example.com")
		bs := createSession(t, db, "client_3", v.ID)
		if _, err := db.SetUserBanned(ctx, v.ID, true); err != nil {
			t.Fatalf("SetUserBanned: %v", err)
		}
		if got, _ := db.GetSession(ctx, bs.ID); got.Status != store.SessionRevoked {
			t.Errorf("got status %q, want revoked", got.Status)
		}
	})
}

func TestRecordSignInFailure(t *testing.T) {
	db := openDB(t)
	ctx := context.Background()
	u := createUser(t, db, "fail@example.com")
	const maxFailures = 3
	for i := 1; i <= maxFailures; i++ {
		f, err := db.RecordSignInFailure(ctx, u.ID, maxFailures, time.Hour)
		if err != nil {
			t.Fatalf("failure %d: %v", i, err)
		}
		if f.Failures != i {
			t.Errorf("failure %d: got count %d, want %d", i, f.Failures, i)
		}
		locked := f.LockedUntil > store.Now()
		if want := i >= maxFailures; locked != want {
			t.Errorf("failure %d: got locked %v, want %v", i, locked, want)
		}
	}
	got, _ := db.GetUser(ctx, u.ID)
	if d := got.LockedUntil - store.Now(); d <= 0 || d > time.Hour.Milliseconds() {
		t.Errorf("LockedUntil: got %d ms from now, want in (0, 1h]", d)
	}
	// While locked, a successful password check changes nothing.
	lockedUntil, err := db.RecordSignIn(ctx, u.ID)
	if err != nil {
		t.Fatalf("RecordSignIn: %v", err)
	}
	got2, _ := db.GetUser(ctx, u.ID)
	if lockedUntil != got.LockedUntil || got2.LockedUntil != got.LockedUntil || got2.LastSignInAt != 0 {
		t.Errorf("RecordSignIn while locked: got lock %d (stored %d, last sign-in %d), want the lock %d kept and no sign-in",
			lockedUntil, got2.LockedUntil, got2.LastSignInAt, got.LockedUntil)
	}
	// Unlocked, it resets the count.
	other := createUser(t, db, "other-fail@example.com")
	if _, err := db.RecordSignInFailure(ctx, other.ID, maxFailures, time.Hour); err != nil {
		t.Fatal(err)
	}
	if lockedUntil, err := db.RecordSignIn(ctx, other.ID); err != nil || lockedUntil != 0 {
		t.Fatalf("RecordSignIn: got %d, %v; want 0, nil", lockedUntil, err)
	}
	got, _ = db.GetUser(ctx, other.ID)
	if got.FailedSignIns != 0 || got.LockedUntil != 0 || got.LastSignInAt == 0 {
		t.Errorf("after RecordSignIn: got failures %d locked %d last sign-in %d, want 0 0 >0", got.FailedSignIns, got.LockedUntil, got.LastSignInAt)
	}
	if _, err := db.RecordSignInFailure(ctx, "user_nope", maxFailures, time.Hour); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("unknown user: got %v, want ErrNotFound", err)
	}
}

func TestDeleteUserCascades(t *testing.T) {
	db := openDB(t)
	ctx := context.Background()
	u := createUser(t, db, "gone@example.com")
	keep := createUser(t, db, "keep@example.com")
	s := createSession(t, db, "client_1", u.ID)
	ks := createSession(t, db, "client_2", keep.ID)
	if err := db.DeleteUser(ctx, u.ID); err != nil {
		t.Fatalf("DeleteUser: %v", err)
	}
	if _, err := db.GetSession(ctx, s.ID); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("session of the deleted user: got %v, want ErrNotFound", err)
	}
	if list, _, err := db.ListSessions(ctx, store.SessionFilter{UserID: u.ID}); err != nil || len(list) != 0 {
		t.Errorf("ListSessions of the deleted user: got %d (%v), want 0", len(list), err)
	}
	if _, err := db.GetUserByEmail(ctx, "gone@example.com"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("email of the deleted user: got %v, want ErrNotFound", err)
	}
	if _, err := db.GetSession(ctx, ks.ID); err != nil {
		t.Errorf("another user's session: got %v, want it kept", err)
	}
	if err := db.DeleteUser(ctx, u.ID); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("second DeleteUser: got %v, want ErrNotFound", err)
	}
	// The address is free again.
	createUser(t, db, "gone@example.com")
	if err := db.CheckIntegrity(ctx); err != nil {
		t.Errorf("CheckIntegrity: %v", err)
	}
}

func TestCheckIntegrity(t *testing.T) {
	db := openDB(t)
	u := createUser(t, db, "int@example.com")
	createSession(t, db, "client_1", u.ID)
	if err := db.CheckIntegrity(context.Background()); err != nil {
		t.Errorf("CheckIntegrity: got %v, want nil", err)
	}
	if err := db.Ping(context.Background()); err != nil {
		t.Errorf("Ping: got %v, want nil", err)
	}
}

func TestReopenKeepsData(t *testing.T) {
	path := "sqlite:" + t.TempDir() + "/db"
	db, err := store.Open(context.Background(), path)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	u := createUser(t, db, "persist@example.com")
	db.Close()
	db, err = store.Open(context.Background(), path)
	if err != nil {
		t.Fatalf("second Open (migrations must be idempotent): %v", err)
	}
	defer db.Close()
	if _, err := db.GetUser(context.Background(), u.ID); err != nil {
		t.Errorf("GetUser after reopening: %v", err)
	}
}
