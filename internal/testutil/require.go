package testutil

import (
	"os"
	"os/exec"
	"testing"
)

// FindBinary returns the first of names found on PATH or in /usr/sbin or
// /usr/bin (Debian installs php-fpm and nginx in sbin, outside some PATHs),
// or "" when none is installed.
func FindBinary(names ...string) string {
	for _, name := range names {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
		for _, dir := range []string{"/usr/sbin/", "/usr/bin/"} {
			if _, err := os.Stat(dir + name); err == nil {
				return dir + name
			}
		}
	}
	return ""
}

// Require guards a test that needs a real part (PHP-FPM, nginx, Chromium…):
// when found is false it skips on a developer machine but fails when
// PHPBRIDGE_REQUIRE_PHP=1 (set by scripts/test.sh), so CI can never pass by
// skipping. pkg is the Debian package to install.
func Require(t testing.TB, what, pkg string, found bool) {
	t.Helper()
	if found {
		return
	}
	if os.Getenv("PHPBRIDGE_REQUIRE_PHP") == "1" {
		t.Fatalf("%s not found but PHPBRIDGE_REQUIRE_PHP=1: apt-get install %s", what, pkg)
	}
	t.Skipf("%s not installed (apt-get install %s; set PHPBRIDGE_REQUIRE_PHP=1 to fail instead)", what, pkg)
}
