package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
)

// JWTTemplate is a JWT template: the claims (with shortcodes) of the
// tokens GetToken({Template}) mints, their lifetime, and the key that
// signs them.
type JWTTemplate struct {
	ID               string
	Name             string
	Claims           json.RawMessage
	Lifetime         int64 // seconds
	AllowedClockSkew int64 // seconds
	SigningAlgorithm string
	// EncryptedSigningKey is nil when the instance key signs; otherwise the
	// custom HS256 secret or RS256 private key, encrypted by the caller.
	EncryptedSigningKey  []byte
	CreatedAt, UpdatedAt int64
}

// JWTTemplates is the part of the store that keeps JWT templates.
type JWTTemplates interface {
	// CreateJWTTemplate stores t; ErrConflict when its name is taken.
	CreateJWTTemplate(ctx context.Context, t JWTTemplate) (*JWTTemplate, error)
	GetJWTTemplate(ctx context.Context, id string) (*JWTTemplate, error)
	GetJWTTemplateByName(ctx context.Context, name string) (*JWTTemplate, error)
	// ListJWTTemplates returns templates by name, and the total count.
	ListJWTTemplates(ctx context.Context, limit, offset int) ([]*JWTTemplate, int, error)
	// UpdateJWTTemplate replaces every field of template t.ID but its
	// creation time; ErrNotFound when it does not exist, ErrConflict when
	// the new name is taken.
	UpdateJWTTemplate(ctx context.Context, t JWTTemplate) (*JWTTemplate, error)
	DeleteJWTTemplate(ctx context.Context, id string) error
}

const templateColumns = `id, name, claims, lifetime, allowed_clock_skew, signing_algorithm, encrypted_signing_key, created_at, updated_at`

func scanTemplate(row rowScanner) (*JWTTemplate, error) {
	var t JWTTemplate
	var claims string
	if err := row.Scan(&t.ID, &t.Name, &claims, &t.Lifetime, &t.AllowedClockSkew, &t.SigningAlgorithm,
		&t.EncryptedSigningKey, &t.CreatedAt, &t.UpdatedAt); err != nil {
		return nil, err
	}
	t.Claims = json.RawMessage(claims)
	return &t, nil
}

// CreateJWTTemplate stores t with fresh timestamps.
func (db *DB) CreateJWTTemplate(ctx context.Context, t JWTTemplate) (*JWTTemplate, error) {
	t.CreatedAt = Now()
	t.UpdatedAt = t.CreatedAt
	err := db.tx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO jwt_templates (`+templateColumns+`)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
			t.ID, t.Name, string(t.Claims), t.Lifetime, t.AllowedClockSkew, t.SigningAlgorithm,
			t.EncryptedSigningKey, t.CreatedAt, t.UpdatedAt)
		if isUniqueViolation(err) {
			return fmt.Errorf("store: JWT template name %q: %w", t.Name, ErrConflict)
		}
		if err != nil {
			return fmt.Errorf("store: insert JWT template: %w", err)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &t, nil
}

// GetJWTTemplate returns the template with id.
func (db *DB) GetJWTTemplate(ctx context.Context, id string) (*JWTTemplate, error) {
	return db.getTemplate(ctx, "id", id)
}

// GetJWTTemplateByName returns the template called name.
func (db *DB) GetJWTTemplateByName(ctx context.Context, name string) (*JWTTemplate, error) {
	return db.getTemplate(ctx, "name", name)
}

func (db *DB) getTemplate(ctx context.Context, column, v string) (*JWTTemplate, error) {
	t, err := scanTemplate(db.read.QueryRowContext(ctx,
		`SELECT `+templateColumns+` FROM jwt_templates WHERE `+column+` = $1`, v))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("store: JWT template %q: %w", v, ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("store: get JWT template: %w", err)
	}
	return t, nil
}

// ListJWTTemplates returns templates ordered by name.
func (db *DB) ListJWTTemplates(ctx context.Context, limit, offset int) ([]*JWTTemplate, int, error) {
	if limit <= 0 {
		limit = 100
	}
	var total int
	if err := db.read.QueryRowContext(ctx, `SELECT COUNT(*) FROM jwt_templates`).Scan(&total); err != nil {
		return nil, 0, fmt.Errorf("store: count JWT templates: %w", err)
	}
	rows, err := db.read.QueryContext(ctx, `SELECT `+templateColumns+` FROM jwt_templates
		ORDER BY name LIMIT $1 OFFSET $2`, limit, offset)
	if err != nil {
		return nil, 0, fmt.Errorf("store: list JWT templates: %w", err)
	}
	defer rows.Close()
	out := []*JWTTemplate{}
	for rows.Next() {
		t, err := scanTemplate(rows)
		if err != nil {
			return nil, 0, fmt.Errorf("store: scan JWT template: %w", err)
		}
		out = append(out, t)
	}
	return out, total, rows.Err()
}

// UpdateJWTTemplate replaces the fields of template t.ID.
func (db *DB) UpdateJWTTemplate(ctx context.Context, t JWTTemplate) (*JWTTemplate, error) {
	t.UpdatedAt = Now()
	err := db.tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE jwt_templates SET name = $2, claims = $3, lifetime = $4,
			allowed_clock_skew = $5, signing_algorithm = $6, encrypted_signing_key = $7, updated_at = $8
			WHERE id = $1`,
			t.ID, t.Name, string(t.Claims), t.Lifetime, t.AllowedClockSkew, t.SigningAlgorithm,
			t.EncryptedSigningKey, t.UpdatedAt)
		if isUniqueViolation(err) {
			return fmt.Errorf("store: JWT template name %q: %w", t.Name, ErrConflict)
		}
		if err != nil {
			return fmt.Errorf("store: update JWT template: %w", err)
		}
		if n, err := res.RowsAffected(); err != nil || n == 0 {
			return fmt.Errorf("store: JWT template %q: %w", t.ID, ErrNotFound)
		}
		return tx.QueryRowContext(ctx, `SELECT created_at FROM jwt_templates WHERE id = $1`, t.ID).Scan(&t.CreatedAt)
	})
	if err != nil {
		return nil, err
	}
	return &t, nil
}

// DeleteJWTTemplate deletes the template with id.
func (db *DB) DeleteJWTTemplate(ctx context.Context, id string) error {
	return db.tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM jwt_templates WHERE id = $1`, id)
		if err != nil {
			return fmt.Errorf("store: delete JWT template: %w", err)
		}
		if n, err := res.RowsAffected(); err != nil || n == 0 {
			return fmt.Errorf("store: JWT template %q: %w", id, ErrNotFound)
		}
		return nil
	})
}
