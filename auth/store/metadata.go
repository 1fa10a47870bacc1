package store

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
)

// MergeUserMetadata deep-merges p into the user's metadata.
func (db *DB) MergeUserMetadata(ctx context.Context, id string, p MetadataPatch) (*User, error) {
	var u *User
	err := db.tx(ctx, func(tx *sql.Tx) error {
		cur, err := getUserLocked(ctx, tx, id, db.forUpdate)
		if err != nil {
			return err
		}
		up := UserUpdate{}
		for _, m := range []struct {
			patch, cur []byte
			dst        *json.RawMessage
		}{{p.Public, cur.PublicMetadata, &up.PublicMetadata}, {p.Private, cur.PrivateMetadata, &up.PrivateMetadata}, {p.Unsafe, cur.UnsafeMetadata, &up.UnsafeMetadata}} {
			if m.patch == nil {
				continue
			}
			merged, err := MergeJSON(m.cur, m.patch)
			if err != nil {
				return fmt.Errorf("store: merge metadata: %w", err)
			}
			*m.dst = merged
		}
		if _, err := tx.ExecContext(ctx, `UPDATE users SET public_metadata = COALESCE($1, public_metadata),
			private_metadata = COALESCE($2, private_metadata), unsafe_metadata = COALESCE($3, unsafe_metadata),
			updated_at = $4 WHERE id = $5`,
			nullJSON(up.PublicMetadata), nullJSON(up.PrivateMetadata), nullJSON(up.UnsafeMetadata), Now(), id); err != nil {
			return fmt.Errorf("store: update metadata: %w", err)
		}
		u, err = getUser(ctx, tx, id)
		return err
	})
	return u, err
}

func nullJSON(b json.RawMessage) sql.NullString {
	return sql.NullString{String: string(b), Valid: b != nil}
}

// MergeJSON deep-merges the JSON object patch into the JSON object base:
// objects merge key by key, a null deletes the key, anything else replaces.
func MergeJSON(base, patch []byte) (json.RawMessage, error) {
	var b, p map[string]any
	if len(bytes.TrimSpace(base)) == 0 {
		base = []byte("{}")
	}
	if err := decodeObject(base, &b); err != nil {
		return nil, fmt.Errorf("base: %w", err)
	}
	if err := decodeObject(patch, &p); err != nil {
		return nil, fmt.Errorf("patch: %w", err)
	}
	out, err := json.Marshal(mergeMaps(b, p))
	if err != nil {
		return nil, err
	}
	return out, nil
}

func decodeObject(data []byte, dst *map[string]any) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	if err := dec.Decode(dst); err != nil {
		return err
	}
	if *dst == nil {
		*dst = map[string]any{}
	}
	return nil
}

func mergeMaps(base, patch map[string]any) map[string]any {
	for k, pv := range patch {
		if pv == nil {
			delete(base, k)
			continue
		}
		pm, pIsMap := pv.(map[string]any)
		bm, bIsMap := base[k].(map[string]any)
		if pIsMap && bIsMap {
			base[k] = mergeMaps(bm, pm)
			continue
		}
		if pIsMap {
			base[k] = mergeMaps(map[string]any{}, pm)
			continue
		}
		base[k] = pv
	}
	return base
}
