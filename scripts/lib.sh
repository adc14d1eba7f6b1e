# Shared helpers for the project's scripts: install what a fresh Debian
# machine lacks. Sourced, not run.

GO_VERSION="${GO_VERSION:-1.26.8}"

as_root() {
  if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi
}

# apt_install installs Debian packages that are missing (one apt-get update
# per run, and only when something is missing).
apt_install() {
  local missing=()
  for p in "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  echo ">> apt-get install ${missing[*]}"
  if [ -z "${_APT_UPDATED:-}" ]; then
    as_root apt-get update -qq
    _APT_UPDATED=1
  fi
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

# ensure_go puts a Go toolchain >= GO_VERSION on PATH. Debian's golang-go is
# too old, so it fetches the official toolchain from the Go module proxy
# (golang.org/toolchain), the one registry these machines reach.
ensure_go() {
  export PATH="/usr/local/go/bin:$HOME/go/bin:$PATH"
  if command -v go >/dev/null 2>&1; then
    local have
    have="$(go env GOVERSION 2>/dev/null | sed 's/^go//')"
    if [ "$(printf '%s\n%s\n' "$GO_VERSION" "$have" | sort -V | head -n1)" = "$GO_VERSION" ]; then
      return 0
    fi
  fi
  apt_install curl unzip ca-certificates
  local dir="/usr/local/go-$GO_VERSION"
  if [ ! -x "$dir/bin/go" ]; then
    local zip
    zip="$(mktemp --suffix=.zip)"
    echo ">> fetching Go $GO_VERSION from the module proxy"
    curl -fsSL -o "$zip" "${GOPROXY_URL:-https://proxy.golang.org}/golang.org/toolchain/@v/v0.0.1-go$GO_VERSION.linux-amd64.zip"
    local tmp
    tmp="$(mktemp -d)"
    unzip -q "$zip" -d "$tmp"
    as_root mv "$tmp/golang.org/toolchain@v0.0.1-go$GO_VERSION.linux-amd64" "$dir"
    as_root chmod -R a+rX "$dir"
    chmod +x "$dir"/bin/* "$dir"/pkg/tool/*/* 2>/dev/null || as_root chmod +x "$dir"/bin/* "$dir"/pkg/tool/*/*
    rm -rf "$zip" "$tmp"
  fi
  export PATH="$dir/bin:$PATH"
  export GOTOOLCHAIN=local
}

repo_root() {
  cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd
}
