package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
)

// Machine is a service that authenticates with its own secret key and
// exchanges it for M2M tokens. The store keeps only the SHA-256 of the key.
type Machine struct {
	ID              string
	Name            string
	SecretHash      []byte
	DefaultTokenTTL int64 // seconds
	// ScopedMachines are the machines this one may request tokens for
	// (without their own scopes), by id.
	ScopedMachines       []Machine
	CreatedAt, UpdatedAt int64
}

// ScopeIDs returns the ids of the scoped machines.
func (m *Machine) ScopeIDs() []string {
	ids := make([]string, len(m.ScopedMachines))
	for i, s := range m.ScopedMachines {
		ids[i] = s.ID
	}
	return ids
}

// MachineStore keeps machines and their scopes.
type MachineStore interface {
	// CreateMachine inserts m with scopes (machine ids) in one
	// transaction; a scope naming an unknown machine gives ErrNotFound.
	CreateMachine(ctx context.Context, m Machine, scopes []string) error
	GetMachine(ctx context.Context, id string) (*Machine, error)
	// GetMachineBySecretHash returns the machine whose secret key hashes
	// to hash, or ErrNotFound.
	GetMachineBySecretHash(ctx context.Context, hash []byte) (*Machine, error)
	// ListMachines returns one page of machines, newest first, and how
	// many there are in all.
	ListMachines(ctx context.Context, limit, offset int) ([]*Machine, int, error)
	// DeleteMachine deletes a machine with its scopes and its tokens.
	DeleteMachine(ctx context.Context, id string) error
	// AddMachineScope lets machine from request tokens for machine to;
	// adding an existing scope changes nothing.
	AddMachineScope(ctx context.Context, from, to string) error
	// RemoveMachineScope removes a scope, or returns ErrNotFound.
	RemoveMachineScope(ctx context.Context, from, to string) error
}

const machineColumns = `id, name, secret_hash, default_token_ttl, created_at, updated_at`

func scanMachine(row rowScanner) (*Machine, error) {
	var m Machine
	if err := row.Scan(&m.ID, &m.Name, &m.SecretHash, &m.DefaultTokenTTL, &m.CreatedAt, &m.UpdatedAt); err != nil {
		return nil, err
	}
	return &m, nil
}

// CreateMachine inserts m and its scopes.
func (db *DB) CreateMachine(ctx context.Context, m Machine, scopes []string) error {
	return db.tx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO machines (`+machineColumns+`) VALUES ($1, $2, $3, $4, $5, $5)`,
			m.ID, m.Name, m.SecretHash, m.DefaultTokenTTL, m.CreatedAt)
		if isUniqueViolation(err) {
			return fmt.Errorf("store: machine %q: %w", m.ID, ErrConflict)
		}
		if err != nil {
			return fmt.Errorf("store: insert machine: %w", err)
		}
		for _, to := range scopes {
			if err := insertScope(ctx, tx, m.ID, to, m.CreatedAt); err != nil {
				return err
			}
		}
		return nil
	})
}

func insertScope(ctx context.Context, tx *sql.Tx, from, to string, at int64) error {
	_, err := tx.ExecContext(ctx, `INSERT INTO machine_scopes (from_machine_id, to_machine_id, created_at)
		VALUES ($1, $2, $3) ON CONFLICT (from_machine_id, to_machine_id) DO NOTHING`, from, to, at)
	if isForeignKeyViolation(err) {
		return fmt.Errorf("store: machine scope %q → %q: %w", from, to, ErrNotFound)
	}
	if err != nil {
		return fmt.Errorf("store: insert machine scope: %w", err)
	}
	return nil
}

// GetMachine returns the machine with id and its scopes, or ErrNotFound.
func (db *DB) GetMachine(ctx context.Context, id string) (*Machine, error) {
	return db.machineWhere(ctx, "id = $1", id)
}

// GetMachineBySecretHash returns the machine holding the secret key.
func (db *DB) GetMachineBySecretHash(ctx context.Context, hash []byte) (*Machine, error) {
	return db.machineWhere(ctx, "secret_hash = $1", hash)
}

func (db *DB) machineWhere(ctx context.Context, cond string, arg any) (*Machine, error) {
	m, err := scanMachine(db.read.QueryRowContext(ctx, `SELECT `+machineColumns+` FROM machines WHERE `+cond, arg))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("store: machine: %w", ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("store: get machine: %w", err)
	}
	if m.ScopedMachines, err = db.scopedMachines(ctx, m.ID); err != nil {
		return nil, err
	}
	return m, nil
}

func (db *DB) scopedMachines(ctx context.Context, id string) ([]Machine, error) {
	rows, err := db.read.QueryContext(ctx, `SELECT m.id, m.name, m.secret_hash, m.default_token_ttl, m.created_at, m.updated_at
		FROM machine_scopes s JOIN machines m ON m.id = s.to_machine_id
		WHERE s.from_machine_id = $1 ORDER BY s.to_machine_id`, id)
	if err != nil {
		return nil, fmt.Errorf("store: machine scopes: %w", err)
	}
	defer rows.Close()
	scoped := []Machine{}
	for rows.Next() {
		m, err := scanMachine(rows)
		if err != nil {
			return nil, fmt.Errorf("store: scan machine scope: %w", err)
		}
		m.SecretHash = nil // not the caller's business
		scoped = append(scoped, *m)
	}
	return scoped, rows.Err()
}

// ListMachines returns one page of machines, newest first.
func (db *DB) ListMachines(ctx context.Context, limit, offset int) ([]*Machine, int, error) {
	var total int
	if err := db.read.QueryRowContext(ctx, `SELECT count(*) FROM machines`).Scan(&total); err != nil {
		return nil, 0, fmt.Errorf("store: count machines: %w", err)
	}
	if limit <= 0 {
		limit = 10
	}
	rows, err := db.read.QueryContext(ctx, `SELECT `+machineColumns+` FROM machines
		ORDER BY created_at DESC, id LIMIT $1 OFFSET $2`, min(limit, 500), max(offset, 0))
	if err != nil {
		return nil, 0, fmt.Errorf("store: list machines: %w", err)
	}
	var out []*Machine
	for rows.Next() {
		m, err := scanMachine(rows)
		if err != nil {
			rows.Close()
			return nil, 0, fmt.Errorf("store: scan machine: %w", err)
		}
		out = append(out, m)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, 0, fmt.Errorf("store: list machines: %w", err)
	}
	// One small query per machine, after the list is read: SQLite's reader
	// pool is bounded, and a page is at most a few hundred machines.
	for _, m := range out {
		if m.ScopedMachines, err = db.scopedMachines(ctx, m.ID); err != nil {
			return nil, 0, err
		}
	}
	return out, total, nil
}

// DeleteMachine deletes the machine; its scopes and tokens go with it.
func (db *DB) DeleteMachine(ctx context.Context, id string) error {
	return db.tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM machines WHERE id = $1`, id)
		if err != nil {
			return fmt.Errorf("store: delete machine: %w", err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return fmt.Errorf("store: machine %q: %w", id, ErrNotFound)
		}
		return nil
	})
}

// AddMachineScope lets from request tokens for to.
func (db *DB) AddMachineScope(ctx context.Context, from, to string) error {
	return db.tx(ctx, func(tx *sql.Tx) error {
		if err := insertScope(ctx, tx, from, to, Now()); err != nil {
			return err
		}
		return touchMachine(ctx, tx, from)
	})
}

// RemoveMachineScope removes the scope from → to.
func (db *DB) RemoveMachineScope(ctx context.Context, from, to string) error {
	return db.tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM machine_scopes WHERE from_machine_id = $1 AND to_machine_id = $2`, from, to)
		if err != nil {
			return fmt.Errorf("store: delete machine scope: %w", err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return fmt.Errorf("store: machine scope %q → %q: %w", from, to, ErrNotFound)
		}
		return touchMachine(ctx, tx, from)
	})
}

func touchMachine(ctx context.Context, tx *sql.Tx, id string) error {
	if _, err := tx.ExecContext(ctx, `UPDATE machines SET updated_at = $1 WHERE id = $2`, Now(), id); err != nil {
		return fmt.Errorf("store: update machine: %w", err)
	}
	return nil
}
