package clerkfile

import (
	"io"
	"slices"
	"strings"
	"testing"
)

func TestList(t *testing.T) {
	for _, tc := range []struct {
		cell string
		want []string
		err  bool
	}{
		{"", nil, false},
		{"a@x.dev", []string{"a@x.dev"}, false},
		{"a@x.dev, b@x.dev", []string{"a@x.dev", "b@x.dev"}, false},
		{"a@x.dev|b@x.dev", []string{"a@x.dev", "b@x.dev"}, false},
		{`["a@x.dev","b@x.dev"]`, []string{"a@x.dev", "b@x.dev"}, false},
		{`["a@x.dev",`, nil, true},
	} {
		got, err := list(tc.cell)
		if (err != nil) != tc.err || !slices.Equal(got, tc.want) {
			t.Errorf("list(%q) = %q, %v; want %q, error %v", tc.cell, got, err, tc.want, tc.err)
		}
	}
}

func TestMillis(t *testing.T) {
	for _, tc := range []struct {
		cell string
		want int64
		err  bool
	}{
		{"", 0, false},
		{"1704067200000", 1704067200000, false},
		{"1704067200", 1704067200000, false}, // seconds
		{"2024-01-01T00:00:00Z", 1704067200000, false},
		{"yesterday", 0, true},
	} {
		got, err := millis(tc.cell)
		if (err != nil) != tc.err || got != tc.want {
			t.Errorf("millis(%q) = %d, %v; want %d, error %v", tc.cell, got, err, tc.want, tc.err)
		}
	}
}

func TestUserReader(t *testing.T) {
	in := "\uFEFFid,first_name,primary_email_address,verified_email_addresses,public_metadata,some_new_column\n" +
		"user_1,Ada,a@x.dev,\"a@x.dev,b@x.dev\",\"{\"\"plan\"\":\"\"pro\"\"}\",x\n" +
		"user_2,Bo,b@y.dev,,[1],x\n"
	ur, err := NewUserReader(strings.NewReader(in))
	if err != nil {
		t.Fatal(err)
	}
	r1, err := ur.Next()
	if err != nil || r1.Err != nil || r1.ID != "user_1" || r1.User.FirstName != "Ada" ||
		!slices.Equal(r1.User.VerifiedEmailAddresses, []string{"a@x.dev", "b@x.dev"}) || string(r1.User.PublicMetadata) != `{"plan":"pro"}` {
		t.Fatalf("row 1: got %+v, %v", r1, err)
	}
	r2, err := ur.Next()
	if err != nil || r2.Err == nil || r2.Line != 3 {
		t.Fatalf("row 2: got %+v, %v; want a metadata error on line 3", r2, err)
	}
	if _, err := ur.Next(); err != io.EOF {
		t.Fatalf("after the last row: got %v, want io.EOF", err)
	}
	if _, err := NewUserReader(strings.NewReader("email\na@x.dev\n")); err == nil {
		t.Fatal("a file without an id column: got no error")
	}
}
