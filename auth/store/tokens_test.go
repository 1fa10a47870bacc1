package store_test

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"testing"

	"github.com/gatehouse-dev/gatehouse/auth/store"
)

// TestSigningKeyRotation checks the rotation and retirement of signing
// keys on every dialect.
func TestSigningKeyRotation(t *testing.T) {
	for name, db := range openDialects(t) {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			kids := func(keys []store.SigningKey) []string {
				var out []string
				for _, k := range keys {
					out = append(out, k.KID)
				}
				return out
			}
			if err := db.InsertSigningKey(ctx, store.SigningKey{KID: "k1", EncryptedPrivateKey: []byte("a"), CreatedAt: 1000}); err != nil {
				t.Fatalf("InsertSigningKey: %v", err)
			}
			if err := db.RotateSigningKey(ctx, store.SigningKey{KID: "k2", EncryptedPrivateKey: []byte("b"), CreatedAt: 2000}, 5000); err != nil {
				t.Fatalf("RotateSigningKey k2: %v", err)
			}
			if err := db.RotateSigningKey(ctx, store.SigningKey{KID: "k3", EncryptedPrivateKey: []byte("c"), CreatedAt: 3000}, 9000); err != nil {
				t.Fatalf("RotateSigningKey k3: %v", err)
			}
			keys, err := db.SigningKeys(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if got, want := kids(keys), []string{"k3", "k2", "k1"}; !slices.Equal(got, want) {
				t.Fatalf("SigningKeys: got %v, want %v (newest first)", got, want)
			}
			// k1 keeps the time of the first rotation; k2 gets the second's.
			retire := map[string]int64{}
			for _, k := range keys {
				retire[k.KID] = k.RetireAt
			}
			if retire["k1"] != 5000 || retire["k2"] != 9000 || retire["k3"] != 0 {
				t.Errorf("retire_at: got %v, want k1 5000, k2 9000, k3 0", retire)
			}

			n, err := db.RetireSigningKeys(ctx, 4999)
			if err != nil || n != 0 {
				t.Errorf("RetireSigningKeys(4999): got %d, %v; want 0", n, err)
			}
			n, err = db.RetireSigningKeys(ctx, 5000)
			if err != nil || n != 1 {
				t.Errorf("RetireSigningKeys(5000): got %d, %v; want 1", n, err)
			}
			keys, _ = db.SigningKeys(ctx)
			if got, want := kids(keys), []string{"k3", "k2"}; !slices.Equal(got, want) {
				t.Errorf("SigningKeys after retiring k1: got %v, want %v", got, want)
			}
			all, err := db.AllSigningKeys(ctx)
			if err != nil || len(all) != 3 || all[2].KID != "k1" || all[2].RetiredAt != 5000 {
				t.Errorf("AllSigningKeys: got %+v, %v; want k1 last with retired_at 5000", all, err)
			}
		})
	}
}

// TestJWTTemplates checks the template table on every dialect.
func TestJWTTemplates(t *testing.T) {
	for name, db := range openDialects(t) {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			in := store.JWTTemplate{ID: "jtmp_1", Name: "supabase", Claims: json.RawMessage(`{"role":"authenticated"}`),
				Lifetime: 60, AllowedClockSkew: 5, SigningAlgorithm: "HS256", EncryptedSigningKey: []byte{1, 2, 3}}
			created, err := db.CreateJWTTemplate(ctx, in)
			if err != nil {
				t.Fatalf("CreateJWTTemplate: %v", err)
			}
			if created.CreatedAt == 0 || created.UpdatedAt != created.CreatedAt {
				t.Errorf("timestamps: got created %d updated %d, want equal and set", created.CreatedAt, created.UpdatedAt)
			}
			dup := in
			dup.ID = "jtmp_2"
			if _, err := db.CreateJWTTemplate(ctx, dup); !errors.Is(err, store.ErrConflict) {
				t.Errorf("duplicate name: got %v, want ErrConflict", err)
			}
			got, err := db.GetJWTTemplateByName(ctx, "supabase")
			if err != nil || got.ID != "jtmp_1" || string(got.Claims) != `{"role":"authenticated"}` ||
				string(got.EncryptedSigningKey) != "\x01\x02\x03" || got.SigningAlgorithm != "HS256" {
				t.Fatalf("GetJWTTemplateByName: got %+v, %v", got, err)
			}
			other := store.JWTTemplate{ID: "jtmp_3", Name: "hasura", Claims: json.RawMessage(`{}`), Lifetime: 30, SigningAlgorithm: "RS256"}
			if _, err := db.CreateJWTTemplate(ctx, other); err != nil {
				t.Fatal(err)
			}
			got, err = db.GetJWTTemplate(ctx, "jtmp_3")
			if err != nil || got.EncryptedSigningKey != nil {
				t.Errorf("instance-key template: got key %v, %v; want nil", got.EncryptedSigningKey, err)
			}
			list, total, err := db.ListJWTTemplates(ctx, 10, 0)
			if err != nil || total != 2 || len(list) != 2 || list[0].Name != "hasura" {
				t.Errorf("ListJWTTemplates: got %d of %d (%v), want 2 ordered by name", len(list), total, err)
			}
			list, total, _ = db.ListJWTTemplates(ctx, 1, 1)
			if total != 2 || len(list) != 1 || list[0].Name != "supabase" {
				t.Errorf("ListJWTTemplates(1, 1): got %d of %d, want supabase only", len(list), total)
			}

			upd := *got
			upd.Name = "supabase"
			if _, err := db.UpdateJWTTemplate(ctx, upd); !errors.Is(err, store.ErrConflict) {
				t.Errorf("rename onto a taken name: got %v, want ErrConflict", err)
			}
			upd.Name, upd.Lifetime, upd.EncryptedSigningKey = "hasura2", 120, []byte{9}
			after, err := db.UpdateJWTTemplate(ctx, upd)
			if err != nil || after.CreatedAt != got.CreatedAt || after.Lifetime != 120 {
				t.Fatalf("UpdateJWTTemplate: got %+v, %v", after, err)
			}
			upd.ID = "jtmp_missing"
			if _, err := db.UpdateJWTTemplate(ctx, upd); !errors.Is(err, store.ErrNotFound) {
				t.Errorf("update of a missing template: got %v, want ErrNotFound", err)
			}
			if err := db.DeleteJWTTemplate(ctx, "jtmp_3"); err != nil {
				t.Fatal(err)
			}
			if err := db.DeleteJWTTemplate(ctx, "jtmp_3"); !errors.Is(err, store.ErrNotFound) {
				t.Errorf("second delete: got %v, want ErrNotFound", err)
			}
			if _, err := db.GetJWTTemplateByName(ctx, "hasura2"); !errors.Is(err, store.ErrNotFound) {
				t.Errorf("get after delete: got %v, want ErrNotFound", err)
			}
		})
	}
}
