package store

import (
	"context"
	"errors"
	"path/filepath"
	"reflect"
	"testing"
)

// TestGetUserWithEmails: the one-statement read of a user gives what the
// two reads give (the user row, then its addresses in order), for a user
// with several addresses, one without any, and an unknown id.
func TestGetUserWithEmails(t *testing.T) {
	ctx := context.Background()
	db, err := Open(ctx, "sqlite:"+filepath.Join(t.TempDir(), "t.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	many, err := db.CreateUser(ctx, NewUser{Email: "many@example.com", FirstName: "Many", PasswordHash: "x"})
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range []struct {
		id, email string
		at        int64
	}{
		{"idn_b", "second@example.com", 1}, // oldest: first
		{"idn_a", "third@example.com", 1},  // same time: by id, before idn_b
		{"idn_z", "last@example.com", many.CreatedAt + 1},
	} {
		if _, err := db.write.ExecContext(ctx, `INSERT INTO email_addresses (id, user_id, email, is_primary, verified, created_at, updated_at)
			VALUES ($1, $2, $3, 0, 0, $4, $4)`, e.id, many.ID, e.email, e.at); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := db.write.ExecContext(ctx, `INSERT INTO users (id, first_name, last_name, password_hash, public_metadata,
		private_metadata, unsafe_metadata, created_at, updated_at) VALUES ('user_none', 'No', 'Mail', '', '{}', '{}', '{}', 5, 5)`); err != nil {
		t.Fatal(err)
	}
	twoReads := func(id string) (*User, error) {
		u, err := scanUser(db.read.QueryRowContext(ctx, `SELECT `+userColumns+` FROM users WHERE id = $1`, id))
		if err != nil {
			return nil, err
		}
		return u, loadEmails(ctx, db.read, u)
	}
	for _, id := range []string{many.ID, "user_none"} {
		want, err := twoReads(id)
		if err != nil {
			t.Fatal(err)
		}
		got, err := getUserWithEmails(ctx, db.read, id)
		if err != nil {
			t.Fatalf("%s: %v", id, err)
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%s: got %+v, want %+v", id, got, want)
		}
	}
	u, _ := getUserWithEmails(ctx, db.read, many.ID)
	var order []string
	for _, e := range u.EmailAddresses {
		order = append(order, e.ID)
	}
	if want := []string{"idn_a", "idn_b", many.PrimaryEmailAddressID, "idn_z"}; !reflect.DeepEqual(order, want) || u.PrimaryEmail() != "many@example.com" {
		t.Errorf("addresses: got %v (primary %q), want %v (primary many@example.com)", order, u.PrimaryEmail(), want)
	}
	if _, err := getUserWithEmails(ctx, db.read, "user_nope"); !errors.Is(err, ErrNotFound) {
		t.Errorf("unknown id: got %v, want ErrNotFound", err)
	}
}
