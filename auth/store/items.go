package store

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/gatehouse-dev/gatehouse/auth/internal/randid"
)

// ListItems returns the user's items, oldest first.
func (db *DB) ListItems(ctx context.Context, userID string) ([]Item, error) {
	rows, err := db.read.QueryContext(ctx, `SELECT id, user_id, name, created_at FROM items
		WHERE user_id = $1 ORDER BY created_at, id LIMIT 1000`, userID)
	if err != nil {
		return nil, fmt.Errorf("store: list items: %w", err)
	}
	defer rows.Close()
	items := []Item{}
	for rows.Next() {
		var it Item
		if err := rows.Scan(&it.ID, &it.UserID, &it.Name, &it.CreatedAt); err != nil {
			return nil, fmt.Errorf("store: scan item: %w", err)
		}
		items = append(items, it)
	}
	return items, rows.Err()
}

// CreateItem adds an item for the user.
func (db *DB) CreateItem(ctx context.Context, userID, name string) (*Item, error) {
	it := Item{ID: randid.New("item"), UserID: userID, Name: name, CreatedAt: Now()}
	err := db.tx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO items (id, user_id, name, created_at) VALUES ($1, $2, $3, $4)`,
			it.ID, it.UserID, it.Name, it.CreatedAt)
		if isForeignKeyViolation(err) {
			return fmt.Errorf("store: user %q: %w", userID, ErrNotFound) // deleted a moment ago
		}
		if err != nil {
			return fmt.Errorf("store: insert item: %w", err)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &it, nil
}

// DeleteItem deletes the user's item, or returns ErrNotFound.
func (db *DB) DeleteItem(ctx context.Context, userID, id string) error {
	return db.tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM items WHERE id = $1 AND user_id = $2`, id, userID)
		if err != nil {
			return fmt.Errorf("store: delete item: %w", err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return fmt.Errorf("store: item %q: %w", id, ErrNotFound)
		}
		return nil
	})
}
