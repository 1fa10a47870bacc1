package appdata

import (
	"context"
	"fmt"

	"github.com/gatehouse-dev/gatehouse/auth/store"
)

// Item is a row of the example API's per-user resource.
type Item struct {
	ID        string
	UserID    string
	Name      string
	CreatedAt int64
}

// ListItems returns the user's items, oldest first.
func (db *DB) ListItems(ctx context.Context, userID string) ([]Item, error) {
	rows, err := db.read.QueryContext(ctx, `SELECT id, user_id, name, created_at FROM items
		WHERE user_id = $1 ORDER BY created_at, id LIMIT 1000`, userID)
	if err != nil {
		return nil, fmt.Errorf("appdata: list items: %w", err)
	}
	defer rows.Close()
	items := []Item{}
	for rows.Next() {
		var it Item
		if err := rows.Scan(&it.ID, &it.UserID, &it.Name, &it.CreatedAt); err != nil {
			return nil, fmt.Errorf("appdata: scan item: %w", err)
		}
		items = append(items, it)
	}
	return items, rows.Err()
}

// CreateItem adds an item for the user.
func (db *DB) CreateItem(ctx context.Context, userID, name string) (*Item, error) {
	it := Item{ID: store.NewID("item"), UserID: userID, Name: name, CreatedAt: store.Now()}
	_, err := db.write.ExecContext(ctx, `INSERT INTO items (id, user_id, name, created_at) VALUES ($1, $2, $3, $4)`,
		it.ID, it.UserID, it.Name, it.CreatedAt)
	if store.IsForeignKeyViolation(err) {
		return nil, fmt.Errorf("appdata: user %q: %w", userID, ErrNotFound) // deleted a moment ago
	}
	if err != nil {
		return nil, fmt.Errorf("appdata: insert item: %w", err)
	}
	return &it, nil
}

// DeleteItem deletes the user's item, or returns ErrNotFound.
func (db *DB) DeleteItem(ctx context.Context, userID, id string) error {
	res, err := db.write.ExecContext(ctx, `DELETE FROM items WHERE id = $1 AND user_id = $2`, id, userID)
	if err != nil {
		return fmt.Errorf("appdata: delete item: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("appdata: item %q: %w", id, ErrNotFound)
	}
	return nil
}
