// Package clerkfile reads and writes Clerk's export formats: the user
// export CSV of Clerk's dashboard and organizations with their
// memberships as JSON in the Backend API's shapes. "gatehouse import
// clerk" and "gatehouse export" use it; the rules of what may be
// imported are the backend client's.
package clerkfile

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/gatehouse-dev/gatehouse/auth/clerkclient"
)

// UserColumns are the columns of Clerk's user export, in its order,
// then the ones Gatehouse also writes (metadata, external id, creation).
var UserColumns = []string{
	"id", "first_name", "last_name", "username", "primary_email_address", "primary_phone_number",
	"verified_email_addresses", "unverified_email_addresses", "verified_phone_numbers", "unverified_phone_numbers",
	"totp_secret", "password_digest", "password_hasher",
	"public_metadata", "private_metadata", "unsafe_metadata", "external_id", "created_at",
}

// UserRow is one row of a user export: the user as the backend client
// imports it, and what the row held that Gatehouse has no place for.
type UserRow struct {
	Line   int // the row's line in the file (the header is line 1)
	ID     string
	User   clerkclient.ImportUserParams
	Err    error    // the row cannot be read; User is incomplete
	Unkept []string // fields given that are not kept (phone numbers, username)
}

// UserReader reads a user export CSV row by row.
type UserReader struct {
	r    *csv.Reader
	col  map[string]int
	line int
}

// NewUserReader reads the header of a user export. It needs an id
// column; the others may be missing, and columns it does not know are
// ignored (Clerk adds some over time).
func NewUserReader(r io.Reader) (*UserReader, error) {
	br := bufio.NewReader(r)
	// Spreadsheets save "CSV UTF-8" with a byte-order mark.
	if b, err := br.Peek(3); err == nil && bytes.Equal(b, []byte{0xEF, 0xBB, 0xBF}) {
		br.Discard(3)
	}
	cr := csv.NewReader(br)
	cr.FieldsPerRecord = -1
	cr.ReuseRecord = false
	header, err := cr.Read()
	if err != nil {
		return nil, fmt.Errorf("clerkfile: read header: %w", err)
	}
	ur := &UserReader{r: cr, col: map[string]int{}, line: 1}
	for i, h := range header {
		ur.col[strings.ToLower(strings.TrimSpace(h))] = i
	}
	if _, ok := ur.col["id"]; !ok {
		return nil, errors.New("clerkfile: the header has no id column; is this Clerk's user export?")
	}
	return ur, nil
}

// Next returns the next row, or io.EOF after the last. A row that cannot
// be read is returned with Err set; the reading goes on after it.
func (ur *UserReader) Next() (*UserRow, error) {
	rec, err := ur.r.Read()
	if err == io.EOF {
		return nil, io.EOF
	}
	ur.line++
	row := &UserRow{Line: ur.line}
	if pe, ok := errors.AsType[*csv.ParseError](err); ok {
		row.Line = pe.StartLine
		row.Err = fmt.Errorf("not valid CSV: %v", pe.Err)
		return row, nil
	}
	if err != nil {
		return nil, fmt.Errorf("clerkfile: read row: %w", err)
	}
	if line, _ := ur.r.FieldPos(0); line > 0 {
		row.Line = line
	}
	get := func(name string) string {
		if i, ok := ur.col[name]; ok && i < len(rec) {
			return strings.TrimSpace(rec[i])
		}
		return ""
	}
	row.ID = get("id")
	u := clerkclient.ImportUserParams{
		ID: row.ID, ExternalID: get("external_id"), FirstName: get("first_name"), LastName: get("last_name"),
		PrimaryEmailAddress: get("primary_email_address"),
		PasswordDigest:      get("password_digest"), PasswordHasher: strings.ToLower(get("password_hasher")),
		TOTPSecret: get("totp_secret"),
	}
	var errs []error
	var e1, e2 error
	u.VerifiedEmailAddresses, e1 = list(get("verified_email_addresses"))
	u.UnverifiedEmailAddresses, e2 = list(get("unverified_email_addresses"))
	errs = append(errs, e1, e2)
	for _, m := range []struct {
		name string
		dst  *json.RawMessage
	}{{"public_metadata", &u.PublicMetadata}, {"private_metadata", &u.PrivateMetadata}, {"unsafe_metadata", &u.UnsafeMetadata}} {
		v, err := object(m.name, get(m.name))
		*m.dst = v
		errs = append(errs, err)
	}
	var err3 error
	u.CreatedAt, err3 = millis(get("created_at"))
	errs = append(errs, err3)
	row.User = u
	row.Err = errors.Join(errs...)
	for _, f := range []string{"username", "primary_phone_number", "verified_phone_numbers", "unverified_phone_numbers"} {
		if get(f) != "" {
			row.Unkept = append(row.Unkept, f)
		}
	}
	return row, nil
}

// list reads a cell of several values: a JSON array, or values separated
// by commas or pipes (Clerk's exports have used each).
func list(cell string) ([]string, error) {
	if cell == "" {
		return nil, nil
	}
	if strings.HasPrefix(cell, "[") {
		var out []string
		if err := json.Unmarshal([]byte(cell), &out); err != nil {
			return nil, fmt.Errorf("%q is not a JSON array of strings", cell)
		}
		return out, nil
	}
	out := strings.FieldsFunc(cell, func(r rune) bool { return r == ',' || r == '|' })
	for i := range out {
		out[i] = strings.TrimSpace(out[i])
	}
	return out, nil
}

// object reads a metadata cell: a JSON object, or empty.
func object(name, cell string) (json.RawMessage, error) {
	if cell == "" || cell == `""` || cell == "null" {
		return nil, nil
	}
	var m map[string]any
	if err := json.Unmarshal([]byte(cell), &m); err != nil || m == nil {
		return nil, fmt.Errorf("%s is not a JSON object", name)
	}
	return json.RawMessage(cell), nil
}

// millis reads a time: Unix milliseconds, or RFC 3339.
func millis(cell string) (int64, error) {
	if cell == "" {
		return 0, nil
	}
	if n, err := strconv.ParseInt(cell, 10, 64); err == nil && n > 0 {
		if n < 1e11 { // seconds: as milliseconds it would be 1973
			n *= 1000
		}
		return n, nil
	}
	t, err := time.Parse(time.RFC3339, cell)
	if err != nil {
		return 0, fmt.Errorf("created_at %q is neither Unix milliseconds nor RFC 3339", cell)
	}
	return t.UnixMilli(), nil
}

// UserWriter writes a user export CSV with [UserColumns].
type UserWriter struct {
	w *csv.Writer
}

// NewUserWriter writes the header and returns the writer.
func NewUserWriter(w io.Writer) (*UserWriter, error) {
	uw := &UserWriter{w: csv.NewWriter(w)}
	if err := uw.w.Write(UserColumns); err != nil {
		return nil, fmt.Errorf("clerkfile: write header: %w", err)
	}
	return uw, nil
}

// Write writes one user. Multiple addresses are joined by commas, as
// Clerk's export does (the cell is quoted).
func (uw *UserWriter) Write(u *clerkclient.ExportedUser) error {
	var verified, unverified []string
	for _, e := range u.EmailAddresses {
		if e.Verification.Status == "verified" {
			verified = append(verified, e.EmailAddress)
		} else {
			unverified = append(unverified, e.EmailAddress)
		}
	}
	meta := func(m json.RawMessage) string {
		if len(m) == 0 || string(m) == "{}" {
			return ""
		}
		return string(m)
	}
	deref := func(p *string) string {
		if p == nil {
			return ""
		}
		return *p
	}
	rec := []string{
		u.ID, deref(u.FirstName), deref(u.LastName), deref(u.Username), u.PrimaryEmailAddress(), "",
		strings.Join(verified, ","), strings.Join(unverified, ","), "", "",
		u.TOTPSecret, u.PasswordDigest, u.PasswordHasher,
		meta(u.PublicMetadata), meta(u.PrivateMetadata), meta(u.UnsafeMetadata), deref(u.ExternalID),
		strconv.FormatInt(u.CreatedAt, 10),
	}
	if err := uw.w.Write(rec); err != nil {
		return fmt.Errorf("clerkfile: write user: %w", err)
	}
	return nil
}

// Flush writes what is buffered and reports any error of the writes.
func (uw *UserWriter) Flush() error {
	uw.w.Flush()
	if err := uw.w.Error(); err != nil {
		return fmt.Errorf("clerkfile: write users: %w", err)
	}
	return nil
}
