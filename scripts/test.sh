#!/usr/bin/env bash
# Runs every test of phpbridge on a fresh Debian machine: installs PHP-FPM
# (and the other real parts the tests talk to), then Go vet, the Go tests
# (which start real PHP-FPM processes) under the race detector, short fuzz
# runs and the PHP SDK's PHPUnit suite. Anything that needs PHP-FPM fails instead of skipping.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib.sh

apt_install php8.2-fpm php8.2-cli php8.2-curl php8.2-mbstring php8.2-xml \
  phpunit php-codesniffer ca-certificates curl unzip nginx-light php-laravel-framework chromium \
  gcc libc6-dev
ensure_go

export PHPBRIDGE_REQUIRE_PHP=1
# Go's own toolchain wants room for 20,000 descriptors in some tests.
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true

echo ">> gofmt"
unformatted="$(gofmt -l $(git ls-files '*.go' 2>/dev/null || find . -name '*.go'))"
if [ -n "$unformatted" ]; then
  echo "gofmt would change:"; echo "$unformatted"; exit 1
fi
echo ">> go vet"
go vet ./...
echo ">> go test (race detector; it needs cgo, hence gcc)"
CGO_ENABLED=1 go test -race -count=1 -timeout 30m ./...

# A count, not a duration: Go 1.26's fuzz coordinator can fail a duration
# run with a spurious "context deadline exceeded" at its end
# (golang/go#75804, fixed in Go 1.27).
FUZZTIME="${FUZZTIME:-20000x}"
echo ">> fuzz ($FUZZTIME each)"
for target in $(grep -rhoE '^func (Fuzz[A-Za-z0-9_]+)' --include='*_test.go' . | sed 's/^func //' | sort -u); do
  pkg="$(grep -rlE "^func $target\(" --include='*_test.go' . | head -n1 | xargs dirname)"
  go test -run '^$' -fuzz "^$target\$" -fuzztime "$FUZZTIME" "$pkg"
done

if [ -d php-sdk/tests ]; then
  echo ">> phpunit (php-sdk)"
  (cd php-sdk && phpunit --colors=never)
  if [ "$(id -u)" = 0 ]; then
    # Root opens any socket, so the permission-error test skips above; it
    # runs here as nobody, on a copy nobody can read.
    echo ">> phpunit as nobody (the socket permission error)"
    tmp="$(mktemp -d)"
    cp -r php-sdk "$tmp/" && chmod -R a+rX "$tmp"
    (cd "$tmp/php-sdk" && runuser -u nobody -- phpunit --colors=never --do-not-cache-result \
      --filter testUnreadableSocketSaysHowToOpenIt) || { rm -rf "$tmp"; exit 1; }
    rm -rf "$tmp"
  fi
  echo ">> phpcs PSR-12 (php-sdk)"
  phpcs --standard=PSR12 php-sdk/src php-sdk/tests
fi
echo ">> all tests passed"
