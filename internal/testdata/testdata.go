// Package testdata finds the shared real dumps (../shared/testdata beside the
// repository) for tests.
package testdata

import (
	"os"
	"path/filepath"
	"testing"
)

// Dir returns the shared testdata directory, failing the test when it is absent.
func Dir(t testing.TB) string {
	t.Helper()
	wd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for d := wd; ; d = filepath.Dir(d) {
		if _, err := os.Stat(filepath.Join(d, "go.mod")); err == nil {
			p := filepath.Join(d, "..", "shared", "testdata")
			if _, err := os.Stat(p); err != nil {
				t.Fatalf("shared test data not found at %s: %v", p, err)
			}
			return p
		}
		if filepath.Dir(d) == d {
			t.Fatal("go.mod not found above " + wd)
		}
	}
}

// Path joins elements under the shared testdata directory.
func Path(t testing.TB, elem ...string) string {
	return filepath.Join(append([]string{Dir(t)}, elem...)...)
}

// SentryCLIVersion is the sentry-cli release the tests run as a peer.
const SentryCLIVersion = "3.8.0"

// SentryCLI returns the path of the sentry-cli binary that
// scripts/install-test-deps unpacks ($DUMPTRIAGE_SENTRY_CLI overrides it),
// failing the test when it is absent: a skipped peer check proves nothing.
func SentryCLI(t testing.TB) string {
	t.Helper()
	p := os.Getenv("DUMPTRIAGE_SENTRY_CLI")
	if p == "" {
		cache, err := os.UserCacheDir()
		if err != nil {
			t.Fatal(err)
		}
		p = filepath.Join(cache, "dumptriage-test", "sentry-cli-"+SentryCLIVersion, "package", "bin", "sentry-cli")
	}
	if _, err := os.Stat(p); err != nil {
		t.Fatalf("sentry-cli %s not found at %s (run scripts/install-test-deps): %v", SentryCLIVersion, p, err)
	}
	return p
}
