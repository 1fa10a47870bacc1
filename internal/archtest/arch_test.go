// Package archtest keeps the project's layout true: what the root holds,
// which package may import which, and the size of the request-time
// library. It reads the packages with `go list`, so it sees what the
// compiler sees.
package archtest

import (
	"bytes"
	"encoding/json"
	"go/parser"
	"go/token"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

const module = "github.com/gatehouse-dev/gatehouse"

// maxAuthLines bounds package auth, the library an app reads first. It
// grew by the doors of second factors, reverification, sign-in with a
// provider and passkeys, which pages call as they call the sign-in
// doors, and VerifyWebhook; their rules live in token, identity, social
// and webhook.
const maxAuthLines = 2400

type pkg struct {
	ImportPath string
	Dir        string
	GoFiles    []string
	Imports    []string
}

// rel is the package's path inside the module ("" for the root).
func (p pkg) rel() string {
	return strings.TrimPrefix(strings.TrimPrefix(p.ImportPath, module), "/")
}

// own returns the module's packages p imports (not counting its tests),
// by their paths inside the module.
func (p pkg) own() []string {
	var out []string
	for _, imp := range p.Imports {
		if imp == module {
			out = append(out, "")
		} else if r, ok := strings.CutPrefix(imp, module+"/"); ok {
			out = append(out, r)
		}
	}
	return out
}

func root(t *testing.T) string {
	t.Helper()
	dir, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	return dir
}

func listPackages(t *testing.T) []pkg {
	t.Helper()
	cmd := exec.Command("go", "list", "-json", "./...")
	cmd.Dir = root(t)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, stderr.String())
	}
	var pkgs []pkg
	dec := json.NewDecoder(bytes.NewReader(out))
	for {
		var p pkg
		if err := dec.Decode(&p); err == io.EOF {
			break
		} else if err != nil {
			t.Fatal(err)
		}
		pkgs = append(pkgs, p)
	}
	if len(pkgs) < 10 {
		t.Fatalf("go list found %d packages; want the whole module", len(pkgs))
	}
	return pkgs
}

// under reports whether rel is dir or a package below it.
func under(rel, dir string) bool { return rel == dir || strings.HasPrefix(rel, dir+"/") }

// TestRootHoldsOnlyMain checks that a reader who opens the root sees where
// the app starts: main.go is its only Go file.
func TestRootHoldsOnlyMain(t *testing.T) {
	files, err := filepath.Glob(filepath.Join(root(t), "*.go"))
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		if name := filepath.Base(f); name != "main.go" {
			t.Errorf("the root holds %s; want main.go only (the CLI is in internal/cli, the wiring in internal/app, tests in e2e)", name)
		}
	}
}

// importRule is a rule about the module's packages: which of them (by
// their path inside the module) a package matching from may import.
type importRule struct {
	name    string
	from    func(rel string) bool
	allowed func(imp string) bool
}

var internalOnly = []string{"auth/store", "auth/identity", "auth/token"}

func importRules() []importRule {
	only := func(dirs ...string) func(string) bool {
		return func(imp string) bool { return slices.Contains(dirs, imp) }
	}
	return []importRule{
		{"pages import only auth, components and the app's data",
			func(r string) bool { return under(r, "pages") }, only("auth", "components", "internal/appdata")},
		{"api imports only auth and the app's data",
			func(r string) bool { return under(r, "api") }, only("auth", "internal/appdata")},
		{"components import only auth",
			func(r string) bool { return under(r, "components") }, only("auth")},
		{"only auth/… and internal/… import the store, the identity server and the tokens",
			func(r string) bool { return !under(r, "auth") && !under(r, "internal") },
			func(imp string) bool {
				return !slices.ContainsFunc(internalOnly, func(d string) bool { return under(imp, d) })
			}},
		{"auth/… imports nothing of the app (pages, api, components, internal/…, the root)",
			func(r string) bool { return under(r, "auth") },
			func(imp string) bool {
				return imp != "" && !slices.ContainsFunc([]string{"pages", "api", "components", "internal", "e2e"}, func(d string) bool { return under(imp, d) })
			}},
		{"auth's sub-packages never import auth itself (imports point from auth to them)",
			func(r string) bool { return strings.HasPrefix(r, "auth/") }, func(imp string) bool { return imp != "auth" }},
	}
}

// TestImports checks the import rules on every package's own (non-test)
// imports.
func TestImports(t *testing.T) {
	pkgs := listPackages(t)
	for _, rule := range importRules() {
		t.Run(rule.name, func(t *testing.T) {
			for _, p := range pkgs {
				if !rule.from(p.rel()) {
					continue
				}
				for _, imp := range p.own() {
					if !rule.allowed(imp) {
						t.Errorf("%s imports %s", p.ImportPath, module+"/"+imp)
					}
				}
			}
		})
	}
}

// TestRulesCatchForbiddenImports shows the rules refuse what they should.
func TestRulesCatchForbiddenImports(t *testing.T) {
	for _, tc := range []struct {
		from, imp string
		want      bool
	}{
		{"pages", "auth", true},
		{"pages", "auth/store", false},
		{"pages", "auth/clerkclient", false},
		{"api", "components", false},
		{"components", "auth/token", false},
		{"e2e", "auth/store", false},
		{"internal/app", "auth/store", true},
		{"auth/clerkclient", "auth", false},
		{"auth", "internal/config", false},
		{"auth", "auth/clerkclient", true},
	} {
		ok := true
		for _, rule := range importRules() {
			if rule.from(tc.from) && !rule.allowed(tc.imp) {
				ok = false
			}
		}
		if ok != tc.want {
			t.Errorf("%s importing %s: got allowed=%v, want %v", tc.from, tc.imp, ok, tc.want)
		}
	}
}

// TestAuthPackageSize keeps package auth the request-time library only:
// at most maxAuthLines lines of non-test Go.
func TestAuthPackageSize(t *testing.T) {
	for _, p := range listPackages(t) {
		if p.rel() != "auth" {
			continue
		}
		total := 0
		for _, f := range p.GoFiles {
			b, err := os.ReadFile(filepath.Join(p.Dir, f))
			if err != nil {
				t.Fatal(err)
			}
			if _, err := parser.ParseFile(token.NewFileSet(), f, b, parser.PackageClauseOnly); err != nil {
				t.Fatal(err)
			}
			total += bytes.Count(b, []byte("\n"))
		}
		if total > maxAuthLines {
			t.Errorf("package auth has %d lines of non-test Go; want at most %d (the backend client and the HTTP surfaces live in sub-packages)", total, maxAuthLines)
		}
		return
	}
	t.Fatal("package auth not found")
}
