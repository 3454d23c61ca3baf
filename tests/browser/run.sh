#!/usr/bin/env bash
# The screens in headless Chromium: passkeys.mjs (a virtual passkey
# authenticator, the second-factor screen) and social.mjs (signing in through
# an upstream OpenID provider, and enterprise SSO by typing an address).
# Two servers run: the main one on http://localhost:<port>, and an upstream
# Portcullis on http://127.0.0.1:<port> (another host, so the browser keeps
# the two servers' cookies apart; passkeys need `localhost` on the main one).
# Needs Debian's chromium (/usr/bin/chromium) and node; builds the debug binary.
# Usage: tests/browser/run.sh   (screenshots land in tests/browser/out/)
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
cd "$root"
cargo build -q -p portcullis
bin="$root/target/debug/portcullis"
work="$(mktemp -d)"
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
port=$(free_port)
up_port=$(free_port)
pids=()
trap 'for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait; rm -rf "$work"' EXIT

# The upstream's environment: its own database, outbox and key.
up_env=(PORTCULLIS_BIND="127.0.0.1:$up_port" PORTCULLIS_ISSUER="http://127.0.0.1:$up_port"
  PORTCULLIS_DATABASE_URL="sqlite://$work/up.db?mode=rwc" PORTCULLIS_MAIL__OUTBOX_DIR="$work/up-mail"
  PORTCULLIS_SECRETS__KEY_FILE="$work/up.key" RUST_LOG=error)
up() { env "${up_env[@]}" "$bin" "$@"; }

wait_healthy() {
  for _ in $(seq 100); do curl -sf "http://127.0.0.1:$1/healthz" >/dev/null && return 0; sleep 0.1; done
  echo "no server on port $1" >&2
  return 1
}

# Not through up(): $! must be the server itself for the trap to stop it.
env "${up_env[@]}" "$bin" serve &
pids+=($!)
wait_healthy "$up_port"
password='correct horse battery'
up user create --email alice@example.com --password "$password" --name 'Alice Upstream' --verified >/dev/null
up user create --email bob@acme.test --password "$password" --name 'Bob Acme' --verified >/dev/null
client_json=$(up client create --name Downstream --grant authorization_code \
  --redirect-uri "http://localhost:$port/.auth/api/v1/auth/callback/upstream" \
  --scope 'openid email profile' --json)
field() { python3 -c 'import json,sys; print(json.load(sys.stdin)[sys.argv[1]])' "$1"; }
client_id=$(field client_id <<<"$client_json")
client_secret=$(field client_secret <<<"$client_json")
cat >"$work/portcullis.toml" <<EOF
[[oidc_providers]]
id = "upstream"
name = "Upstream IdP"
issuer = "http://127.0.0.1:$up_port"
client_id = "$client_id"
client_secret = "$client_secret"
EOF

PORTCULLIS_BIND="127.0.0.1:$port" PORTCULLIS_ISSUER="http://localhost:$port" \
  PORTCULLIS_DATABASE_URL="sqlite://$work/p.db?mode=rwc" PORTCULLIS_MAIL__OUTBOX_DIR="$work/mail" \
  PORTCULLIS_CONFIG="$work/portcullis.toml" PORTCULLIS_CLIENT_METADATA__ALLOW_LOOPBACK=true \
  RUST_LOG=warn "$bin" serve &
pids+=($!)
wait_healthy "$port"

cd "$here"
[ -d node_modules/playwright-core ] || npm install --no-audit --no-fund --silent
mkdir -p out
export BASE="http://localhost:$port" OUT="$here/out" MAIL_DIR="$work/mail"
export UPSTREAM="http://127.0.0.1:$up_port" PASSWORD="$password"
status=0
node passkeys.mjs || { echo "passkeys.mjs failed" >&2; status=1; }
node social.mjs || { echo "social.mjs failed" >&2; status=1; }
exit $status
