#!/usr/bin/env bash
# The screens in headless Chromium with a virtual passkey authenticator.
# Needs Debian's chromium (/usr/bin/chromium) and node; builds the debug binary.
# Usage: tests/browser/run.sh   (screenshots land in tests/browser/out/)
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
cd "$root"
cargo build -q -p portcullis
work="$(mktemp -d)"
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
PORTCULLIS_BIND="127.0.0.1:$port" PORTCULLIS_ISSUER="http://localhost:$port" \
  PORTCULLIS_DATABASE_URL="sqlite://$work/p.db?mode=rwc" PORTCULLIS_MAIL__OUTBOX_DIR="$work/mail" \
  RUST_LOG=warn "$root/target/debug/portcullis" serve &
server=$!
trap 'kill $server 2>/dev/null; rm -rf "$work"' EXIT
for _ in $(seq 50); do curl -sf "http://127.0.0.1:$port/healthz" >/dev/null && break; sleep 0.1; done
cd "$here"
[ -d node_modules/playwright-core ] || npm install --no-audit --no-fund --silent
mkdir -p out
BASE="http://localhost:$port" OUT="$here/out" MAIL_DIR="$work/mail" node passkeys.mjs
