#!/usr/bin/env bash
# Benchmarks Portcullis against node oidc-provider (tests/perf/peer) with wrk.
#
#   tests/perf/run.sh                       everything, 10 s per measurement
#   DURATION=3s SCENARIOS="jwks discovery" PEER=0 tests/perf/run.sh
#
# One run: builds the release binary and starts Portcullis on SQLite, Portcullis
# on PostgreSQL when one answers at 127.0.0.1:5432 (a fresh database, dropped
# afterwards) and the peer, every one pinned to core 0; every load generator
# runs on core 1. Each measurement is taken on every server in turn, seconds
# apart, so that a slow spell of the host falls on all of them alike; before
# each, the script waits until no server uses CPU (the peer's garbage
# collector may run on after its own measurement). Prints a markdown table and writes it to
# tests/perf/RESULTS.md; logs of the last run go to tests/perf/out/.
#
# Environment:
#   DURATION      wrk duration of each measurement (default 10s; wrk syntax: 10s, 1m)
#   SCENARIOS     space-separated subset of: client_credentials jwks discovery
#                 introspection device_authorization device_poll refresh
#                 authorization_code signin_storm (default: all)
#   CONNECTIONS   connection counts to measure (default "16 64")
#   PEER=0        skip oidc-provider;  POSTGRES=0  skip PostgreSQL
#   MINT_RATE     single-use codes/refresh tokens minted per second of DURATION
#                 for the first measurement of each (default 1500; later ones
#                 are sized from the rate the previous one reached)
#   STORM_CONNECTIONS  connections of the sign-in storm (default 16)
#   WARMUP        unrecorded wrk run before each repeatable scenario (default 2s; 0: none)
#   SETTLE_MAX    longest wait for the server core to stop losing time to the
#                 host before each server's scenarios (default 120 s)
#   PORT, PEER_PORT    listen ports (default 18080, 18090; Portcullis on
#                 PostgreSQL listens on PORT+1)
#   SKIP_BUILD=1  use target/release/portcullis as it is
#   ID_TOKEN_ALG  the bench client's id_token_signed_response_alg (default ES256).
#                 RS256, OIDC's default, caps code exchange and refresh at what
#                 one core signs with RSA-2048 (ring: ~1,750/s)
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
OUT="$HERE/out"

ALL_SCENARIOS="client_credentials jwks discovery introspection device_authorization device_poll refresh authorization_code signin_storm"
DURATION=${DURATION:-10s}
SCENARIOS=${SCENARIOS:-$ALL_SCENARIOS}
CONNECTIONS=${CONNECTIONS:-"16 64"}
PEER=${PEER:-1}
POSTGRES=${POSTGRES:-1}
MINT_RATE=${MINT_RATE:-1500}
WARMUP=${WARMUP:-2s}
SETTLE_MAX=${SETTLE_MAX:-120}
STORM_CONNECTIONS=${STORM_CONNECTIONS:-16}
ID_TOKEN_ALG=${ID_TOKEN_ALG:-ES256}
PORT=${PORT:-18080}
PEER_PORT=${PEER_PORT:-18090}
SERVER_CPU=0
LOAD_CPU=1
PG_HOST=127.0.0.1
PG_PORT=5432

# Fixed test data. The redirect URI points at the discard port: nothing
# follows the redirect, the code is read from the Location header.
EMAIL=bench@example.com
PASSWORD='correct horse battery'
REDIRECT=http://127.0.0.1:9/cb
DEVICES=1000

for s in $SCENARIOS; do
  [[ " $ALL_SCENARIOS " == *" $s "* ]] || { echo "unknown scenario: $s (known: $ALL_SCENARIOS)" >&2; exit 2; }
done
want() { [[ " $SCENARIOS " == *" $1 "* ]]; }

# DURATION in seconds, for sizing the pools of single-use values.
case $DURATION in
  *ms) echo "DURATION in ms is too short to measure anything" >&2; exit 2 ;;
  *s) DURATION_S=${DURATION%s} ;;
  *m) DURATION_S=$(( ${DURATION%m} * 60 )) ;;
  *h) DURATION_S=$(( ${DURATION%h} * 3600 )) ;;
  *) DURATION_S=$DURATION; DURATION=${DURATION}s ;;
esac
MINT_N=$(( DURATION_S * MINT_RATE ))

log() { printf '\n== %s\n' "$*" >&2; }
die() { echo "run.sh: $*" >&2; exit 1; }

# ---------------------------------------------------------------- tools
if ! command -v wrk >/dev/null; then
  # Debian's wrk; only root may install it here.
  [[ $(id -u) == 0 ]] || die "wrk is missing: apt-get install -y wrk"
  log "installing wrk"
  apt-get install -y wrk >/dev/null 2>&1 || { apt-get update -qq && apt-get install -y wrk >/dev/null; }
fi
for t in node npm curl taskset cargo; do command -v $t >/dev/null || die "$t is missing"; done
(( $(nproc --all) >= 2 )) || die "needs two cores (server on core $SERVER_CPU, load on core $LOAD_CPU)"

rm -rf "$OUT"; mkdir -p "$OUT"
# Other work on the machine skews the figures: RESULTS.md records the load.
LOAD_START=$(cut -d' ' -f1-3 /proc/loadavg)
WORK=$(mktemp -d /tmp/portcullis-perf.XXXXXX)
ROWS="$OUT/rows.tsv"     # server, scenario, connections, rps, p50, p99, errors, rss, notes
: > "$ROWS"

SERVER_PID=
PG_DB=
# The servers of this run, in the order of the table; S_* hold each one's
# label, kind (portcullis | peer), base URL, issuer, client and process.
SERVERS=()
declare -A S_KIND S_BASE S_ISSUER S_CLIENT_ID S_CLIENT_SECRET S_PID
cleanup() {
  local s
  # A killed server's wait answers 143: not the run's failure.
  for s in "${SERVERS[@]}"; do kill "${S_PID[$s]}" 2>/dev/null && wait "${S_PID[$s]}" 2>/dev/null || true; done
  [[ -n $PG_DB ]] && dropdb -h $PG_HOST -p $PG_PORT -U postgres --if-exists "$PG_DB" 2>/dev/null
  rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

if [[ ${SKIP_BUILD:-0} != 1 ]]; then
  log "cargo build --release -p portcullis"
  (cd "$ROOT" && cargo build --release -p portcullis)
fi
BIN="$ROOT/target/release/portcullis"
[[ -x $BIN ]] || die "no $BIN"

if [[ $PEER == 1 && ! -d $HERE/peer/node_modules/oidc-provider ]]; then
  log "npm ci (peer)"
  (cd "$HERE/peer" && npm ci --no-audit --no-fund >/dev/null)
fi
# A fresh build (and npm ci) leave gigabytes of dirty pages: their writeback
# would take CPU from the first scenarios, and SQLite's checkpoint fsyncs
# would queue behind it. Flush them before measuring anything.
sync

# ---------------------------------------------------------------- measuring

# VmRSS of $1 (KiB) every ~100 ms, appended to $2 until killed; peak_rss
# takes the largest complete line (the last may be cut short by the kill).
sample_rss() {
  local pid=$1 file=$2 k v _
  while [[ -r /proc/$pid/status ]]; do
    while read -r k v _; do
      [[ $k == VmRSS: ]] && echo "$v" >> "$file"
    done < "/proc/$pid/status" 2>/dev/null || true
    sleep 0.1
  done
}
peak_rss() { awk '/^[0-9]+$/ && $1 > m { m = $1 } END { print m + 0 }' "$1" 2>/dev/null || echo 0; }

# CPU time (clock ticks, user + system, all threads) of process $1; the
# name in /proc/PID/stat may hold spaces, so fields count from its ')'.
cpu_ticks() { sed 's/.*) //' "/proc/$1/stat" 2>/dev/null | awk '{ print $12 + $13 }' || echo 0; }
# "busy total" clock ticks of core $1 since boot.
core_ticks() { awk -v c="cpu$1" '$1 == c { print $2 + $3 + $4 + $7 + $8, $2 + $3 + $4 + $5 + $6 + $7 + $8 }' /proc/stat; }
# "stolen total" clock ticks of core $1 since boot: time the hypervisor ran
# something else while this vCPU wanted to run (a shared host's noise).
steal_ticks() { awk -v c="cpu$1" '$1 == c { print $9, $2 + $3 + $4 + $5 + $6 + $7 + $8 + $9 }' /proc/stat; }
CLK_TCK=$(getconf CLK_TCK)

# wrk on the load core; its "PERF ..." line (see lua/common.lua) ends up in $2.
# usage: load LUA_SCRIPT OUTFILE CONNECTIONS PATH
load() {
  taskset -c $LOAD_CPU wrk -t1 -c"$3" -d"$DURATION" --timeout 30s \
    -s "$HERE/lua/$1.lua" "$BASE$4" > "$2" 2>&1 || true
}

field() { grep -m1 '^PERF ' "$1" | tr ' ' '\n' | sed -n "s/^$2=//p"; }

# Appends one table row from a wrk log and the RSS file; measure() adds the
# server's CPU ticks during the load, how busy the load core was (%) and how
# much of the server core's time the hypervisor stole (%).
# usage: row LABEL SCENARIO CONNECTIONS WRKLOG RSSFILE NOTES [CPU_TICKS LOAD_BUSY STEAL]
row() {
  local log=$4 rss notes=$6 errors
  if ! grep -q '^PERF ' "$log"; then
    echo "wrk failed for $2 ($3):" >&2; cat "$log" >&2
    printf '%s\t%s\t%s\t-\t-\t-\t-\t-\twrk failed\n' "$1" "$2" "$3" >> "$ROWS"
    return
  fi
  rss=$(peak_rss "$5")
  errors=$(( $(field "$log" socket_errors) + $(field "$log" unexpected) ))
  local d; d=$(field "$log" duration_s)
  if [[ $(field "$log" exhausted) ]] && (( $(field "$log" exhausted) > 0 )); then
    notes="${notes:+$notes; }pool of single-use values ran out after ${d} s"
  fi
  if [[ $(field "$log" pending) ]]; then
    # How the expected 400s of device polling split.
    notes="${notes:+$notes; }$(field "$log" pending) authorization_pending, $(field "$log" slow_down) slow_down"
  fi
  if grep -q '^PERF_SAMPLE' "$log"; then
    notes="${notes:+$notes; }first unexpected: $(grep -m1 '^PERF_SAMPLE' "$log" | cut -c13-90 | tr '|\t' '/ ')"
  fi
  # Server CPU per answer (what a saturated load generator cannot cap).
  local cpu_us= ticks=${7:-} busy=${8:-} steal=${9:-}
  if [[ -n $ticks ]] && (( $(field "$log" requests) > 0 )); then
    cpu_us=$(awk -v t="$ticks" -v hz="$CLK_TCK" -v n="$(field "$log" requests)" 'BEGIN { printf "%.1f", t * 1e6 / hz / n }')
  fi
  printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$1" "$2" "$3" \
    "$(field "$log" rps)" "$(field "$log" p50_ms)" "$(field "$log" p99_ms)" \
    "$errors" "$(( rss / 1024 ))" "$notes" "$cpu_us" "$busy" "$steal" >> "$ROWS"
  printf '   %-24s c=%-3s %s\n' "$2" "$3" "$(grep -m1 '^PERF ' "$log" | cut -c6-)" >&2
}

# A short unrecorded run before a scenario's measurements, so that the peer's
# JIT (and any lazy initialisation) is warm; not for single-use scenarios.
warm() {
  [[ $WARMUP == 0 ]] && return 0
  taskset -c $LOAD_CPU wrk -t1 -c16 -d"$WARMUP" -s "$HERE/lua/$1.lua" "$BASE$2" > /dev/null 2>&1 || true
}

# Waits (up to 10 s) until no server has used CPU for half a second: the
# servers share core 0, and one measured just before (the peer's garbage
# collector after a burst, say) must not run on into the next measurement.
quiesce() {
  local s t0 t1 tries=0
  while (( tries < 20 )); do
    t0=0; for s in "${SERVERS[@]}"; do t0=$(( t0 + $(cpu_ticks "${S_PID[$s]}") )); done
    sleep 0.5
    t1=0; for s in "${SERVERS[@]}"; do t1=$(( t1 + $(cpu_ticks "${S_PID[$s]}") )); done
    (( t1 - t0 <= 1 )) && return 0
    tries=$(( tries + 1 ))
  done
  echo "   (servers still busy after 10 s; measuring anyway)" >&2
}

# One measurement with RSS sampling. usage: measure LABEL SCENARIO CONNECTIONS LUA PATH [NOTES]
measure() {
  local tag="$OUT/${1// /_}-$2-$3"
  quiesce
  sample_rss "$SERVER_PID" "$tag.rss" & local sampler=$!
  taskset -pc $LOAD_CPU $sampler >/dev/null
  local c0 c1 b0 t0 b1 t1 s0 u0 s1 u1
  c0=$(cpu_ticks "$SERVER_PID"); read -r b0 t0 < <(core_ticks $LOAD_CPU)
  read -r s0 u0 < <(steal_ticks $SERVER_CPU)
  load "$4" "$tag.wrk" "$3" "$5"
  c1=$(cpu_ticks "$SERVER_PID"); read -r b1 t1 < <(core_ticks $LOAD_CPU)
  read -r s1 u1 < <(steal_ticks $SERVER_CPU)
  kill $sampler 2>/dev/null; wait $sampler 2>/dev/null || true
  row "$1" "$2" "$3" "$tag.wrk" "$tag.rss" "${6:-}" \
    $(( c1 - c0 )) $(( t1 > t0 ? 100 * (b1 - b0) / (t1 - t0) : 0 )) \
    $(( u1 > u0 ? 100 * (s1 - s0) / (u1 - u0) : 0 ))
}

# Pool size for the next single-use measurement, from the req/s of the last
# row of server $1.
next_pool() {
  awk -F'\t' -v l="$1" -v d="$DURATION_S" '$1 == l { r = $4 + 0 } END { n = int(r * d * 1.5); print (n < 1000 ? 1000 : n) }' "$ROWS"
}

mint() { taskset -c $LOAD_CPU node "$HERE/mint.mjs" "$@"; }

# usage: body_has PATH NEEDLE: the server's answer at PATH contains NEEDLE.
body_has() {
  curl -fsS "$BASE$1" | grep -qF "$2" || die "$BASE$1 does not answer with $2"
}

wait_up() {
  for _ in $(seq 1 300); do
    curl -fsS -o /dev/null "$BASE$1" 2>/dev/null && return 0
    kill -0 "$SERVER_PID" 2>/dev/null || die "server exited; see $2"
    sleep 0.1
  done
  die "server did not answer $BASE$1; see $2"
}

# Waits (up to SETTLE_MAX seconds) until the server core has two quiet
# seconds in a row: less than 2% of its time stolen by the hypervisor. Right
# after heavy disk writes (the build, npm ci, a migration) the host was seen
# stealing a quarter of the core for half a minute.
settle() {
  local s0 u0 s1 u1 quiet=0 waited=0
  while (( quiet < 2 && waited < SETTLE_MAX )); do
    read -r s0 u0 < <(steal_ticks $SERVER_CPU); sleep 1
    read -r s1 u1 < <(steal_ticks $SERVER_CPU)
    if (( u1 > u0 && 100 * (s1 - s0) < 2 * (u1 - u0) )); then quiet=$(( quiet + 1 )); else quiet=0; fi
    waited=$(( waited + 1 ))
  done
  (( quiet >= 2 )) || echo "   (core $SERVER_CPU still losing time to the host after ${SETTLE_MAX}s; measuring anyway)" >&2
}

# Makes server $1 the one that load(), measure() and mint() talk to.
use() {
  label=$1 kind=${S_KIND[$1]} BASE=${S_BASE[$1]} ISSUER=${S_ISSUER[$1]}
  CLIENT_ID=${S_CLIENT_ID[$1]} CLIENT_SECRET=${S_CLIENT_SECRET[$1]} SERVER_PID=${S_PID[$1]}
  export PERF_LUA="$HERE/lua" PERF_BASE="$BASE" PERF_ISSUER="$ISSUER" \
    PERF_RESOURCE="$ISSUER/api" PERF_CLIENT_ID="$CLIENT_ID" \
    PERF_CLIENT_SECRET="$CLIENT_SECRET" PERF_REDIRECT="$REDIRECT" \
    PERF_EMAIL="$EMAIL" PERF_PASSWORD="$PASSWORD" PERF_ORIGIN="$ISSUER" \
    PERF_BASIC="Basic $(printf '%s:%s' "$CLIENT_ID" "$CLIENT_SECRET" | base64 -w0)"
}

# A repeatable scenario on every server: each warmed up, then for each
# connection count every server measured in turn.
# usage: repeatable SCENARIO LUA PATH [BODY_NEEDLE]
repeatable() {
  local s c
  for s in "${SERVERS[@]}"; do
    use "$s"
    # static.lua checks statuses only; the body is checked here, once.
    if [[ -n ${4:-} ]]; then body_has "$3" "$4"; fi
    if [[ $1 == introspection ]]; then introspection_token; fi
    warm "$2" "$3"
  done
  for c in $CONNECTIONS; do
    for s in "${SERVERS[@]}"; do
      use "$s"
      local note=
      if [[ $1 == introspection ]]; then introspection_token; note=$INTROSPECTION_NOTE; fi
      measure "$label" "$1" "$c" "$2" "$3" "$note"
    done
  done
}

# PERF_TOKEN: an access token of the server in use that introspects as
# active (minted once per server).
declare -A TOKEN
introspection_token() {
  INTROSPECTION_NOTE=
  if [[ $kind == peer ]]; then
    # oidc-provider answers unsupported_token_type for JWT access tokens.
    [[ -n ${TOKEN[$label]:-} ]] || TOKEN[$label]=$(mint introspect-token opaque)
    INTROSPECTION_NOTE="opaque token (oidc-provider does not introspect JWTs)"
  else
    [[ -n ${TOKEN[$label]:-} ]] || TOKEN[$label]=$(mint introspect-token)
  fi
  export PERF_TOKEN=${TOKEN[$label]}
}

# Every scenario, each on every server (the peer skips refresh,
# authorization_code and signin_storm: it has no users).
scenarios() {
  local s c
  settle
  want client_credentials && repeatable client_credentials client_credentials /oauth2/token
  want jwks && repeatable jwks static /oauth2/jwks '"keys"'
  want discovery && repeatable discovery static /.well-known/openid-configuration '"token_endpoint"'
  want introspection && repeatable introspection introspect /oauth2/introspect
  want device_authorization && repeatable device_authorization device_authorization /oauth2/device_authorization
  if want device_poll; then
    for c in $CONNECTIONS; do
      for s in "${SERVERS[@]}"; do
        use "$s"
        # Fresh devices each time: codes live 600 s and pacing state is per code.
        export PERF_FILE="$WORK/devices.txt"
        mint devices $DEVICES "$PERF_FILE"
        warm device_poll /oauth2/token
        measure "$label" device_poll "$c" device_poll /oauth2/token "$DEVICES pending devices"
      done
    done
  fi

  want refresh && single_use refresh refresh tokens 'grant_type=refresh_token&refresh_token=%s'
  if want authorization_code; then
    local verifier=perf-verifier-0123456789abcdefghijklmnopqrstuvwxyz-ABCDEFGH
    single_use authorization_code codes codes \
      "grant_type=authorization_code&code=%s&redirect_uri=$(node -p 'encodeURIComponent(process.argv[1])' "$REDIRECT")&code_verifier=$verifier"
  fi
  if want signin_storm; then
    for s in "${SERVERS[@]}"; do
      use "$s"; [[ $kind == peer ]] && continue
      storm
    done
  fi
}

# A scenario of single-use values (refresh tokens, codes) on every Portcullis:
# the first measurement of each server gets DURATION x MINT_RATE values, later
# ones 1.5 x what its previous one managed (at least 1,000), so that minting,
# which costs about as much as the measurement itself, stays short. A
# measurement that runs out ends early and says so in its notes.
# usage: single_use SCENARIO MINT_KIND NOUN BODY (%s: the value)
single_use() {
  local -A pool
  local s c n
  for s in "${SERVERS[@]}"; do pool[$s]=$MINT_N; done
  for c in $CONNECTIONS; do
    for s in "${SERVERS[@]}"; do
      use "$s"; [[ $kind == peer ]] && continue
      n=${pool[$s]}
      export PERF_FILE="$WORK/$2.txt" PERF_BODY=$4
      mint "$2" "$n" "$PERF_FILE"
      measure "$label" "$1" "$c" once /oauth2/token "$n $3, each used once"
      pool[$s]=$(next_pool "$label")
    done
  done
}

# client_credentials at 64 connections during a storm of password sign-ins,
# on the server in use.
storm() {
  local tag="$OUT/${label// /_}-storm" quiet=
  quiet() { awk -F'\t' -v l="$label" '$1==l && $2=="client_credentials" && $3==64 {print "quiet p50 " $5 " / p99 " $6 " ms"}' "$ROWS"; }
  # The quiet baseline: the client_credentials row at 64 connections, measured now if it was not.
  [[ $(quiet) ]] || measure "$label" client_credentials 64 client_credentials /oauth2/token "quiet baseline for the storm"
  quiet=$(quiet)
  mint check-signin
  sample_rss "$SERVER_PID" "$tag.rss" & local sampler=$!
  taskset -pc $LOAD_CPU $sampler >/dev/null
  load signin "$tag-signin.wrk" "$STORM_CONNECTIONS" /.auth/api/v1/auth/sign-in/email & local storm=$!
  load client_credentials "$tag-cc.wrk" 64 /oauth2/token
  wait $storm
  kill $sampler 2>/dev/null; wait $sampler 2>/dev/null || true
  row "$label" "client_credentials during sign-in storm" 64 "$tag-cc.wrk" "$tag.rss" "$quiet"
  row "$label" "sign-in storm (correct password)" "$STORM_CONNECTIONS" "$tag-signin.wrk" "$tag.rss" "concurrent with the row above"
}

# ---------------------------------------------------------------- servers

# usage: portcullis NAME DATABASE_URL PORT: sets up and starts one Portcullis,
# in a directory of its own (no portcullis.toml from elsewhere may leak in).
portcullis() {
  local label="Portcullis $1" logf="$OUT/portcullis-${1// /_}.log" port=$3 dir="$WORK/${1// /_}"
  local env=(PORTCULLIS_BIND=127.0.0.1:$port PORTCULLIS_ISSUER=http://localhost:$port
    PORTCULLIS_DATABASE_URL=$2 PORTCULLIS_RESOURCES=http://localhost:$port/api
    RUST_LOG=warn PORTCULLIS_MAIL__OUTBOX_DIR="$dir/mail"
    PORTCULLIS_RATE_LIMIT__SIGN_IN=1000000 PORTCULLIS_RATE_LIMIT__DEVICE_CODE=1000000
    PORTCULLIS_RATE_LIMIT__DEVICE_AUTHORIZATION=1000000 PORTCULLIS_RATE_LIMIT__DEVICE_AUTHORIZATION_CLIENT=1000000
    PORTCULLIS_TOKENS__CODE_TTL=3600 PORTCULLIS_TOKENS__REFRESH_REUSE_GRACE=10)
  log "$label on port $port"
  mkdir -p "$dir"
  (cd "$dir" && env "${env[@]}" "$BIN" migrate) >> "$logf" 2>&1
  (cd "$dir" && env "${env[@]}" "$BIN" client create --name bench --grant client_credentials \
    --grant authorization_code --grant refresh_token --grant urn:ietf:params:oauth:grant-type:device_code \
    --redirect-uri "$REDIRECT" --scope "openid profile email offline_access" --trusted \
    --resource "http://localhost:$port/api" --id-token-alg "$ID_TOKEN_ALG" --json) > "$dir/client.json"
  (cd "$dir" && env "${env[@]}" "$BIN" user create --email "$EMAIL" --password "$PASSWORD" --verified) >> "$logf" 2>&1
  SERVERS+=("$label")
  S_KIND[$label]=portcullis S_BASE[$label]=http://127.0.0.1:$port S_ISSUER[$label]=http://localhost:$port
  S_CLIENT_ID[$label]=$(node -p 'JSON.parse(require("fs").readFileSync(process.argv[1])).client_id' "$dir/client.json")
  S_CLIENT_SECRET[$label]=$(node -p 'JSON.parse(require("fs").readFileSync(process.argv[1])).client_secret' "$dir/client.json")
  # One worker: the server sizes its worker pool from its CPU affinity.
  (cd "$dir" && exec env "${env[@]}" taskset -c $SERVER_CPU "$BIN" serve) >> "$logf" 2>&1 & S_PID[$label]=$!
  use "$label"; wait_up /healthz "$logf"
}

portcullis SQLite "sqlite://$WORK/p.db?mode=rwc" "$PORT"

PG_VERSION=
if [[ $POSTGRES == 1 ]] && command -v createdb >/dev/null && (exec 3<>/dev/tcp/$PG_HOST/$PG_PORT) 2>/dev/null; then
  PG_DB=portcullis_perf_$$
  createdb -h $PG_HOST -p $PG_PORT -U postgres "$PG_DB"
  PG_VERSION=$(psql -h $PG_HOST -p $PG_PORT -U postgres -At -c 'show server_version' "$PG_DB" 2>/dev/null || true)
  portcullis PostgreSQL "postgres://postgres@$PG_HOST:$PG_PORT/$PG_DB" $(( PORT + 1 ))
else
  log "no PostgreSQL at $PG_HOST:$PG_PORT (or POSTGRES=0): SQLite only"
fi

PEER_VERSION=
if [[ $PEER == 1 ]]; then
  PEER_VERSION=$(node -p 'require(process.argv[1]).version' "$HERE/peer/node_modules/oidc-provider/package.json")
  label="oidc-provider $PEER_VERSION"
  log "$label (peer) on port $PEER_PORT"
  SERVERS+=("$label")
  S_KIND[$label]=peer S_BASE[$label]=http://127.0.0.1:$PEER_PORT S_ISSUER[$label]=http://localhost:$PEER_PORT
  S_CLIENT_ID[$label]=bench S_CLIENT_SECRET[$label]=$(head -c 24 /dev/urandom | base64 | tr '+/' '-_')
  (cd "$HERE/peer" && NODE_ENV=production PEER_PORT=$PEER_PORT PEER_CLIENT_SECRET=${S_CLIENT_SECRET[$label]} \
    exec taskset -c $SERVER_CPU node server.mjs) > "$OUT/peer.log" 2>&1 & S_PID[$label]=$!
  use "$label"; wait_up /.well-known/openid-configuration "$OUT/peer.log"
fi

log "measuring: ${SERVERS[*]}"
scenarios

# ---------------------------------------------------------------- report

# Portcullis rows get "req/s ÷ peer req/s" and "peer CPU/req ÷ ours" for the
# same scenario and connections.
table() {
  echo '| server | scenario | conns | req/s | p50 ms | p99 ms | errors | peak RSS MiB | server CPU µs/req | load core busy % | server core stolen % | ÷ peer req/s | ÷ peer CPU/req | notes |'
  echo '|---|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|---|'
  awk -F'\t' '
    NR == FNR { if ($1 ~ /^oidc-provider/) { peer[$2 "|" $3] = $4; pcpu[$2 "|" $3] = $10 }; next }
    {
      k = $2 "|" $3; ratio = ""; cratio = ""
      if ($1 ~ /^Portcullis/ && (k in peer) && peer[k] > 0 && $4 != "-")
        ratio = sprintf("%.2f", $4 / peer[k])
      if ($1 ~ /^Portcullis/ && (k in pcpu) && pcpu[k] > 0 && $10 > 0)
        cratio = sprintf("%.2f", pcpu[k] / $10)
      rps = ($4 == "-") ? "-" : sprintf("%.0f", $4)
      printf "| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |\n", $1, $2, $3, rps, $5, $6, $7, $8, $10, $11, $12, ratio, cratio, $9
    }' "$ROWS" "$ROWS"
}

COMMIT=$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo unknown)
if [[ -n $(git -C "$ROOT" --no-optional-locks status --porcelain --untracked-files=no 2>/dev/null) ]]; then
  COMMIT="$COMMIT (with uncommitted changes)"
fi
# The hand-written design notes at the end of RESULTS.md survive a new run.
NOTES=$(sed -n '/^## Design notes/,$p' "$HERE/RESULTS.md" 2>/dev/null || true)
LOAD_END=$(cut -d' ' -f1-3 /proc/loadavg)
CPU=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1)

{
  echo "# Benchmark results"
  echo
  echo "Written by \`tests/perf/run.sh\`; see the README's Benchmarks section."
  echo
  echo "- date: $(date -u '+%Y-%m-%d %H:%M UTC')"
  echo "- commit: $COMMIT"
  echo "- CPU: $CPU ($(nproc --all) cores; server pinned to core $SERVER_CPU, wrk to core $LOAD_CPU)"
  echo "- kernel: $(uname -sr)"
  echo "- load average (1/5/15 min) before: $LOAD_START, after: $LOAD_END"
  echo "- wrk $(wrk -v 2>&1 | head -1 | awk '{print $2}'), node $(node --version)${PEER_VERSION:+, oidc-provider $PEER_VERSION}${PG_VERSION:+, PostgreSQL $PG_VERSION}"
  echo "- $DURATION per measurement, wrk -t1 --timeout 30s"
  echo
  table
  echo
  echo "errors = socket errors + answers with an unexpected status or body (for"
  echo "device polling, 400 \`authorization_pending\`/\`slow_down\` are the expected answers)."
  echo "÷ peer req/s = Portcullis req/s divided by oidc-provider req/s for the same"
  echo "scenario and connections. Server CPU µs/req = the server process's CPU time"
  echo "(user + system, all threads, from /proc) during the measurement divided by"
  echo "the answers; ÷ peer CPU/req = the peer's µs/req divided by Portcullis'. Load"
  echo "core busy % = how busy wrk's core was: near 100, wrk itself is the limit"
  echo "and req/s understates the server (JWKS and discovery are checked by status"
  echo "alone under load, their bodies once before, so wrk skips Lua per answer)."
  echo "Server core stolen % = the share of core $SERVER_CPU's time that the hypervisor"
  echo "gave to other guests during the measurement (/proc/stat steal): on a shared"
  echo "host, a row with more than a few % measured the neighbours as well."
  echo "Peak RSS: largest VmRSS of the server process, sampled every"
  echo "100 ms during the measurement. The peer runs on \`NODE_ENV=production\` with its"
  echo "in-memory adapter (no LRU cap); Portcullis writes to its database."
  if [[ -n $NOTES ]]; then
    echo
    echo "$NOTES"
  fi
} > "$HERE/RESULTS.md"

echo
cat "$HERE/RESULTS.md"
