#!/usr/bin/env bash
# Runs phpbridge in front of PHP-FPM on the demo app (examples/hello) on a
# fresh Debian machine: installs PHP-FPM and Go if missing, builds the
# binary, starts a PHP-FPM pool and serves http://127.0.0.1:8080/ until
# Ctrl-C. APP=examples/chat picks another example; LISTEN changes the port.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib.sh

APP="${APP:-examples/hello}"
LISTEN="${LISTEN:-127.0.0.1:8080}"
RUN="${RUNTIME_DIR:-/tmp/phpbridge-demo}"

apt_install php8.2-fpm php8.2-cli ca-certificates curl unzip
ensure_go

mkdir -p "$RUN"
go build -o "$RUN/phpbridge" ./cmd/phpbridge

sed "s#^listen = .*#listen = $RUN/fpm.sock#" "$APP/php-fpm.conf" > "$RUN/php-fpm.conf"
fpm_flags=(-F -y "$RUN/php-fpm.conf")
[ "$(id -u)" = 0 ] && fpm_flags+=(-R)
php-fpm8.2 "${fpm_flags[@]}" &
FPM_PID=$!
trap 'kill $FPM_PID 2>/dev/null; wait $FPM_PID 2>/dev/null' EXIT
for _ in $(seq 50); do [ -S "$RUN/fpm.sock" ] && break; sleep 0.1; done

echo ">> phpbridge on http://$LISTEN/ (Ctrl-C stops it)"
"$RUN/phpbridge" serve \
  --listen "$LISTEN" \
  --root "$APP/public" \
  --fastcgi "unix:$RUN/fpm.sock" \
  --fastcgi-max-conns 8 \
  --ws-handler "$APP/ws.php" \
  --control "unix:$RUN/control.sock" \
  "$@"
