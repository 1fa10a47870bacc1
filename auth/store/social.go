package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/gatehouse-dev/gatehouse/auth/internal/randid"
)

// ErrLastSignInMethod means a change would leave a user with no way to
// sign in (no password, connected account or passkey).
var ErrLastSignInMethod = errors.New("store: the last way to sign in")

// ExternalAccount is a user's account at an OAuth or OpenID provider:
// Provider is Gatehouse's name for it (google, github, or a configured
// name) and ProviderUserID the provider's subject. The profile fields are
// what the provider said at the last sign-in.
type ExternalAccount struct {
	ID, UserID               string
	Provider, ProviderUserID string
	EmailAddress             string
	EmailVerified            bool
	FirstName, LastName      string
	Username, ImageURL       string
	CreatedAt, UpdatedAt     int64
}

// SocialStore holds what sign-in with a provider needs.
type SocialStore interface {
	// GetExternalAccount returns the account of provider and subject,
	// or ErrNotFound.
	GetExternalAccount(ctx context.Context, provider, providerUserID string) (*ExternalAccount, error)
	// CreateUserWithExternalAccount creates a user and its first
	// external account in one transaction; a taken address or account is
	// ErrConflict.
	CreateUserWithExternalAccount(ctx context.Context, nu NewUser, ea ExternalAccount) (*User, error)
	// LinkExternalAccount adds ea to its user; an account of that
	// provider and subject, or a second one of that provider for the
	// user, is ErrConflict.
	LinkExternalAccount(ctx context.Context, ea ExternalAccount) (*ExternalAccount, error)
	// UpdateExternalAccount stores the profile a provider gave at a new
	// sign-in.
	UpdateExternalAccount(ctx context.Context, ea ExternalAccount) error
	// DeleteExternalAccount removes the user's account id unless it is
	// the user's last way to sign in (ErrLastSignInMethod).
	DeleteExternalAccount(ctx context.Context, userID, id string) (*ExternalAccount, error)
	// ConsumeOAuthState records that the flow whose state hashes to
	// stateHash finished; a second time is ErrReplayed.
	ConsumeOAuthState(ctx context.Context, stateHash string, expireAt int64) error
}

const externalAccountColumns = `id, user_id, provider, provider_user_id, email_address, email_verified,
	first_name, last_name, username, image_url, created_at, updated_at`

func scanExternalAccount(row rowScanner) (*ExternalAccount, error) {
	var ea ExternalAccount
	var verified int
	if err := row.Scan(&ea.ID, &ea.UserID, &ea.Provider, &ea.ProviderUserID, &ea.EmailAddress, &verified,
		&ea.FirstName, &ea.LastName, &ea.Username, &ea.ImageURL, &ea.CreatedAt, &ea.UpdatedAt); err != nil {
		return nil, err
	}
	ea.EmailVerified = verified != 0
	return &ea, nil
}

// loadExternalAccounts fills u's external accounts; it is called only
// for a user whose mirror count says there are some.
func loadExternalAccounts(ctx context.Context, q queryer, u *User) error {
	rows, err := q.QueryContext(ctx, `SELECT `+externalAccountColumns+`
		FROM external_accounts WHERE user_id = $1 ORDER BY created_at, id`, u.ID)
	if err != nil {
		return fmt.Errorf("store: load external accounts: %w", err)
	}
	defer rows.Close()
	u.ExternalAccounts = u.ExternalAccounts[:0]
	for rows.Next() {
		ea, err := scanExternalAccount(rows)
		if err != nil {
			return fmt.Errorf("store: scan external account: %w", err)
		}
		u.ExternalAccounts = append(u.ExternalAccounts, *ea)
	}
	return rows.Err()
}

// GetExternalAccount implements [SocialStore].
func (db *DB) GetExternalAccount(ctx context.Context, provider, providerUserID string) (*ExternalAccount, error) {
	ea, err := scanExternalAccount(db.read.QueryRowContext(ctx, `SELECT `+externalAccountColumns+`
		FROM external_accounts WHERE provider = $1 AND provider_user_id = $2`, provider, providerUserID))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("store: external account: %w", ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("store: get external account: %w", err)
	}
	return ea, nil
}

// CreateUserWithExternalAccount implements [SocialStore].
func (db *DB) CreateUserWithExternalAccount(ctx context.Context, nu NewUser, ea ExternalAccount) (*User, error) {
	var id string
	err := db.tx(ctx, func(tx *sql.Tx) error {
		var err error
		if id, err = insertUser(ctx, tx, nu); err != nil {
			return err
		}
		ea.UserID = id
		_, err = insertExternalAccount(ctx, tx, ea)
		return err
	})
	if err != nil {
		return nil, err
	}
	return db.GetUser(ctx, id)
}

// LinkExternalAccount implements [SocialStore].
func (db *DB) LinkExternalAccount(ctx context.Context, ea ExternalAccount) (*ExternalAccount, error) {
	var out *ExternalAccount
	err := db.tx(ctx, func(tx *sql.Tx) error {
		// Lock the user: a concurrent deletion or second link waits.
		if _, err := getUserLocked(ctx, tx, ea.UserID, db.forUpdate); err != nil {
			return err
		}
		var n int
		if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM external_accounts WHERE user_id = $1 AND provider = $2`,
			ea.UserID, ea.Provider).Scan(&n); err != nil {
			return fmt.Errorf("store: count external accounts: %w", err)
		}
		if n > 0 {
			return fmt.Errorf("store: user %q has a %s account: %w", ea.UserID, ea.Provider, ErrConflict)
		}
		var err error
		out, err = insertExternalAccount(ctx, tx, ea)
		return err
	})
	return out, err
}

// insertExternalAccount inserts ea (a new id, now) for ea.UserID, counts
// it on the user and records externalAccount.created.
func insertExternalAccount(ctx context.Context, tx *sql.Tx, ea ExternalAccount) (*ExternalAccount, error) {
	now := Now()
	ea.ID, ea.CreatedAt, ea.UpdatedAt = randid.New("eac"), now, now
	_, err := tx.ExecContext(ctx, `INSERT INTO external_accounts (`+externalAccountColumns+`)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $11)`,
		ea.ID, ea.UserID, ea.Provider, ea.ProviderUserID, ea.EmailAddress, boolInt(ea.EmailVerified),
		ea.FirstName, ea.LastName, ea.Username, ea.ImageURL, now)
	switch {
	case isUniqueViolation(err):
		return nil, fmt.Errorf("store: %s account %q is linked: %w", ea.Provider, ea.ProviderUserID, ErrConflict)
	case isForeignKeyViolation(err):
		return nil, fmt.Errorf("store: user %q: %w", ea.UserID, ErrNotFound)
	case err != nil:
		return nil, fmt.Errorf("store: insert external account: %w", err)
	}
	if _, err := tx.ExecContext(ctx, `UPDATE users SET external_accounts = external_accounts + 1, updated_at = $1 WHERE id = $2`,
		now, ea.UserID); err != nil {
		return nil, fmt.Errorf("store: count external account: %w", err)
	}
	return &ea, audit(ctx, tx, AuditEvent{Name: "externalAccount.created", UserID: ea.UserID, ResourceID: ea.ID,
		Object: ObjectUser, Payload: providerPayload(ea.Provider)})
}

// UpdateExternalAccount implements [SocialStore].
func (db *DB) UpdateExternalAccount(ctx context.Context, ea ExternalAccount) error {
	_, err := db.write.ExecContext(ctx, `UPDATE external_accounts SET email_address = $1, email_verified = $2,
		first_name = $3, last_name = $4, username = $5, image_url = $6, updated_at = $7 WHERE id = $8`,
		ea.EmailAddress, boolInt(ea.EmailVerified), ea.FirstName, ea.LastName, ea.Username, ea.ImageURL, Now(), ea.ID)
	if err != nil {
		return fmt.Errorf("store: update external account: %w", err)
	}
	return nil
}

// DeleteExternalAccount implements [SocialStore]. The check that another
// way to sign in remains is made on the locked user row, so two
// concurrent disconnections cannot both pass it.
func (db *DB) DeleteExternalAccount(ctx context.Context, userID, id string) (*ExternalAccount, error) {
	var ea *ExternalAccount
	err := db.tx(ctx, func(tx *sql.Tx) error {
		u, err := getUserLocked(ctx, tx, userID, db.forUpdate)
		if err != nil {
			return err
		}
		ea, err = scanExternalAccount(tx.QueryRowContext(ctx, `SELECT `+externalAccountColumns+`
			FROM external_accounts WHERE id = $1 AND user_id = $2`, id, userID))
		if errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("store: external account %q: %w", id, ErrNotFound)
		}
		if err != nil {
			return fmt.Errorf("store: get external account: %w", err)
		}
		if u.PasswordHash == "" && u.ExternalAccountCount <= 1 && u.PasskeyCount == 0 {
			return fmt.Errorf("store: disconnect %s: %w", ea.Provider, ErrLastSignInMethod)
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM external_accounts WHERE id = $1`, id); err != nil {
			return fmt.Errorf("store: delete external account: %w", err)
		}
		if _, err := tx.ExecContext(ctx, `UPDATE users SET external_accounts = external_accounts - 1, updated_at = $1 WHERE id = $2`,
			Now(), userID); err != nil {
			return fmt.Errorf("store: count external account: %w", err)
		}
		return audit(ctx, tx, AuditEvent{Name: "externalAccount.deleted", UserID: userID, ResourceID: id,
			Object: ObjectUser, Payload: providerPayload(ea.Provider)})
	})
	return ea, err
}

// ConsumeOAuthState implements [SocialStore]; it also forgets the states
// of flows that have expired, which can no longer be replayed.
func (db *DB) ConsumeOAuthState(ctx context.Context, stateHash string, expireAt int64) error {
	return db.tx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `DELETE FROM oauth_states WHERE expire_at < $1`, Now()); err != nil {
			return fmt.Errorf("store: prune oauth states: %w", err)
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO oauth_states (state_hash, expire_at) VALUES ($1, $2)`, stateHash, expireAt)
		if isUniqueViolation(err) {
			return fmt.Errorf("store: oauth state: %w", ErrReplayed)
		}
		if err != nil {
			return fmt.Errorf("store: record oauth state: %w", err)
		}
		return nil
	})
}

func providerPayload(provider string) []byte {
	b, _ := json.Marshal(map[string]string{"provider": provider}) // a string cannot fail
	return b
}
