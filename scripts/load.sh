#!/usr/bin/env bash
# Load harness: the resource-server layer, its peers and the token endpoint, measured with wrk
# in interleaved rounds on 127.0.0.1, reported as medians and as ratios to a baseline measured
# in the same round; then the memory of a flood of distinct tokens and the demo's idle memory.
#
#   scripts/load.sh                          # ~6 min on 2 cores, after the builds
#   ROUNDS=2 DURATION=1s scripts/load.sh     # a smoke run
#
# Settings (environment):
#   ROUNDS=5 DURATION=3s WARMUP=1s   rounds; seconds per row per round; one warm-up pass
#   THREADS=1 CONNECTIONS=32         wrk -t / -c
#   PEER_ALG=EdDSA                   the algorithm of the peer comparison (EdDSA or ES256)
#   PEERS=1                          0 skips building and running the peer targets
#   FLOOD=1000000                    distinct tokens of the memory flood (0 skips it)
#   BASE_PORT=3100                   ports BASE_PORT..BASE_PORT+8 on 127.0.0.1
#   OUT=<target>/load                the results: table.md, results.tsv, raw.tsv, logs
#   SVG=docs/performance.svg         the peer chart (empty: none)
#
# Every row sends its requests through scripts/load/wrk.lua (the same Lua path for all rows).
# Not run by CI (.ci/run): it takes minutes and its numbers depend on the machine.
set -euo pipefail
cd "$(dirname "$0")/.."

ROUNDS=${ROUNDS:-5}
DURATION=${DURATION:-3s}
WARMUP=${WARMUP:-1s}
THREADS=${THREADS:-1}
CONNECTIONS=${CONNECTIONS:-32}
PEER_ALG=${PEER_ALG:-EdDSA}
PEERS=${PEERS:-1}
FLOOD=${FLOOD:-1000000}
BASE_PORT=${BASE_PORT:-3100}
SVG=${SVG-docs/performance.svg}
HOST=127.0.0.1
ISSUER=https://auth.load.test
AUDIENCE=load
COMMAND="$(printf '%q ' "ROUNDS=$ROUNDS" "DURATION=$DURATION" "THREADS=$THREADS" \
  "CONNECTIONS=$CONNECTIONS" "PEER_ALG=$PEER_ALG" "FLOOD=$FLOOD")scripts/load.sh"

case "$PEER_ALG" in
  EdDSA) peer_alg=eddsa ;;
  ES256) peer_alg=es256 ;;
  *) echo "PEER_ALG must be EdDSA or ES256" >&2; exit 2 ;;
esac

say() { printf '==> %s\n' "$*" >&2; }

# --- tools -------------------------------------------------------------------------------
as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }
missing=()
for tool in wrk curl python3; do
  command -v "$tool" >/dev/null 2>&1 || missing+=("$tool")
done
if [ "${#missing[@]}" -gt 0 ]; then
  say "installing ${missing[*]}"
  as_root apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}"
fi
command -v cargo >/dev/null || { echo "cargo is required" >&2; exit 1; }

# --- builds --------------------------------------------------------------------------------
TARGET_DIR=$(cargo metadata --format-version 1 --no-deps |
  python3 -c 'import json, sys; print(json.load(sys.stdin)["target_directory"])')
OUT=${OUT:-$TARGET_DIR/load}
mkdir -p "$OUT"
rm -rf "$OUT/flood"
rm -f "$OUT"/*.tsv "$OUT"/*.stdout "$OUT"/*.stderr "$OUT"/*.log "$OUT/table.md"
say "building the targets (release)"
cargo build --release -q --features sqlx --example load_target --example load_issuer --example load_flood \
  --example server
BIN=$TARGET_DIR/release/examples

# peer NAME -> the peer crate's binary, built on first use; empty when the build fails.
declare -A PEER_BIN=()
build_peer() {
  local dir=$1 bin=$2 log="$OUT/build-$1.log"
  say "building peer target benches/peers/$dir (log: $log)"
  if cargo build --release --manifest-path "benches/peers/$dir/Cargo.toml" \
    --target-dir "$TARGET_DIR/peers" >"$log" 2>&1; then
    PEER_BIN[$dir]=$TARGET_DIR/peers/release/$bin
  else
    say "SKIPPING the rows of benches/peers/$dir: its build failed (see $log)"
  fi
}
if [ "$PEERS" != 0 ]; then
  build_peer jwt-authorizer peer-jwt-authorizer
  build_peer axum8-peers peer-axum8
fi

# --- processes -----------------------------------------------------------------------------
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# start NAME PORT [VAR=value ...] BINARY: runs it with ADDR=127.0.0.1:PORT and waits for its
# "ready" line; sets STARTED_PID. Returns 1 if it exits or stays silent for 120 s.
start() {
  local name=$1 port=$2
  shift 2
  env ADDR="$HOST:$port" OUT="$OUT" "$@" >"$OUT/$name.stdout" 2>"$OUT/$name.stderr" &
  STARTED_PID=$!
  pids+=("$STARTED_PID")
  for _ in $(seq 1200); do
    grep -q '^ready ' "$OUT/$name.stdout" 2>/dev/null && return 0
    kill -0 "$STARTED_PID" 2>/dev/null || break
    sleep 0.1
  done
  say "$name did not start (see $OUT/$name.stderr)"
  return 1
}
stop() { kill "$1" 2>/dev/null || true; wait "$1" 2>/dev/null || true; }
rss_kib() { awk -v k="$2:" '$1 == k { print $2 }' "/proc/$1/status"; }

RESOURCE=$BASE_PORT
ISSUER_PORT=$((BASE_PORT + 1))
say "starting load_target and load_issuer"
start load_target "$RESOURCE" PEER_ALG="$PEER_ALG" "$BIN/load_target"
target_pid=$STARTED_PID
start load_issuer "$ISSUER_PORT" "$BIN/load_issuer"

peer_env=(ALG="$PEER_ALG" ISSUER="$ISSUER" AUDIENCE="$AUDIENCE"
  PUBKEY_PEM="$OUT/$peer_alg.pub.pem" JWKS="$OUT/$peer_alg.jwks.json"
  JWKS_URL="http://$HOST:$RESOURCE/$peer_alg/jwks.json")
declare -A PEER_PORT=()
start_peer() { # NAME PORT BINARY-KEY [VAR=value ...]
  local name=$1 port=$2 bin=${PEER_BIN[$3]:-}
  shift 3
  [ -n "$bin" ] || return 0
  if start "$name" "$port" "${peer_env[@]}" "$@" "$bin"; then
    PEER_PORT[$name]=$port
  else
    say "SKIPPING the $name rows: the target did not start"
  fi
}
start_peer jwt-authorizer $((BASE_PORT + 2)) jwt-authorizer
start_peer axum-jwt-auth $((BASE_PORT + 3)) axum8-peers PEER=axum-jwt-auth
start_peer oauth-resource-server $((BASE_PORT + 4)) axum8-peers PEER=oauth-resource-server
start_peer huskarl $((BASE_PORT + 7)) axum8-peers PEER=huskarl
start_peer tower-oauth2-resource-server $((BASE_PORT + 8)) axum8-peers \
  PEER=tower-oauth2-resource-server
# The peers, in the order of the rows, the probe columns and the chart.
PEERS_ALL=(jwt-authorizer axum-jwt-auth oauth-resource-server huskarl tower-oauth2-resource-server)

# --- rows ----------------------------------------------------------------------------------
# rows.tsv: id, group, baseline id, chart label ("-": not in the chart), label; the wrk
# arguments stay here.
ROWS=()
declare -A URL=() MODE=() FILE=() OFFSET=()
printf 'id\tgroup\tbaseline\tchart\tlabel\n' >"$OUT/rows.tsv"
row() { # ID GROUP BASELINE CHART-LABEL URL MODE FILE LABEL
  ROWS+=("$1")
  URL[$1]=$5 MODE[$1]=$6 FILE[$1]=$7 OFFSET[$1]=0
  printf '%s\t%s\t%s\t%s\t%s\n' "$1" "$2" "$3" "$4" "$8" >>"$OUT/rows.tsv"
}
target="http://$HOST:$RESOURCE"
row noauth resource noauth "no auth" "$target/noauth" get - "no auth"
row static resource noauth "tower-http static bearer (the ceiling)" "$target/static" bearer \
  "$OUT/$peer_alg.token" \
  "tower-http ValidateRequestHeaderLayer::bearer (static string compare: the ceiling)"
for alg in eddsa es256; do
  name=$([ "$alg" = eddsa ] && echo EdDSA || echo ES256)
  on=$([ "$alg" = "$peer_alg" ] && echo 1 || echo 0)
  chart() { if [ "$on" = 1 ]; then echo "this crate, $1"; else echo -; fi; }
  row "$alg-1" resource noauth "$(chart "cache on, one token")" "$target/$alg/auth" bearer \
    "$OUT/$alg.token" "BearerAuthLayer, cache on, one token reused ($name)"
  row "$alg-10k" resource noauth "$(chart "cache on, 10 000 tokens")" "$target/$alg/auth" \
    bearer "$OUT/$alg.tokens" "BearerAuthLayer, cache on, 10 000 tokens in turn ($name)"
  row "$alg-uncached" resource noauth "$(chart "cache off")" "$target/$alg/auth-uncached" \
    bearer "$OUT/$alg.token" "BearerAuthLayer, cache off ($name)"
done
declare -A PEER_LABEL=(
  [jwt-authorizer]="jwt-authorizer 0.15 (axum 0.7, jsonwebtoken 9 + ring)"
  [axum-jwt-auth]="axum-jwt-auth 0.7 (jsonwebtoken 10 + rust_crypto)"
  [oauth-resource-server]="oauth-resource-server 0.4 (jsonwebtoken 9 + ring)"
  [huskarl]="huskarl-axum 0.1 + huskarl-resource-server 0.11 (huskarl-crypto-native: RustCrypto)"
  [tower-oauth2-resource-server]="tower-oauth2-resource-server 0.12 (jsonwebtoken 11 + rust_crypto)"
)
for peer in "${PEERS_ALL[@]}"; do
  [ -n "${PEER_PORT[$peer]:-}" ] || continue
  row "$peer" peer noauth "${PEER_LABEL[$peer]%% (*}" "http://$HOST:${PEER_PORT[$peer]}/auth" \
    bearer "$OUT/$peer_alg.token" "${PEER_LABEL[$peer]}, one token reused ($PEER_ALG)"
done
if [ -n "${PEER_PORT[jwt-authorizer]:-}" ]; then
  row noauth-axum07 peer noauth - "http://$HOST:${PEER_PORT[jwt-authorizer]}/noauth" get - \
    "no auth on axum 0.7 (the jwt-authorizer target's /noauth)"
fi
grants="http://$HOST:$ISSUER_PORT"
row healthz token healthz - "$grants/healthz" get - "token server: GET /healthz"
row grant-sha token healthz - "$grants/oauth2/token" basic "$OUT/issuer-sha.auth" \
  "grant, generated secret (SHA-256)"
if [ -s "$OUT/issuer-sql.auth" ]; then
  row grant-sql token healthz - "$grants/sql/oauth2/token" basic "$OUT/issuer-sql.auth" \
    "grant, generated secret (SHA-256), clients in SQLite (SqlClientStore)"
fi
row grant-argon-first token healthz - "$grants/oauth2/token" basic \
  "$OUT/issuer-argon-first.auth" "grant, Argon2id secret, first grant (a new client id each time)"
row grant-argon-repeat token healthz - "$grants/oauth2/token" basic "$OUT/issuer-argon.auth" \
  "grant, Argon2id secret, the same client repeating"

# --- probes: what each target answers to tokens that are wrong in one way ------------------
say "probing the targets"
declare -A PROBE_URL=([tower-client-credentials]="$target/$peer_alg/auth")
for peer in "${PEERS_ALL[@]}"; do
  if [ -n "${PEER_PORT[$peer]:-}" ]; then
    PROBE_URL[$peer]="http://$HOST:${PEER_PORT[$peer]}/auth"
  fi
done
printf 'probe\ttarget\tstatus\twww-authenticate\tbody\n' >"$OUT/probes.tsv"
while IFS=$'\t' read -r probe token; do
  # The header goes through a file: a 100 KiB token is too long for one command-line argument.
  auth_file=$(mktemp)
  if [ -n "$token" ]; then printf 'Authorization: Bearer %s\n' "$token" >"$auth_file"; fi
  for name in tower-client-credentials "${PEERS_ALL[@]}"; do
    url=${PROBE_URL[$name]:-}
    [ -n "$url" ] || continue
    headers=$(mktemp)
    body=$({ curl -s -D "$headers" -H "@$auth_file" "$url" || true; } | head -c 120 |
      tr '\t\r\n' '   ')
    status=$(awk 'NR == 1 { print $2 }' "$headers")
    challenge=$(awk 'tolower($1) == "www-authenticate:" { $1 = ""; sub(/^ /, ""); print }' \
      "$headers" | tr -d '\r' | paste -sd ';' -)
    rm -f "$headers"
    printf '%s\t%s\t%s\t%s\t%s\n' "$probe" "$name" "$status" "$challenge" "$body" \
      >>"$OUT/probes.tsv"
  done
  rm -f "$auth_file"
done <"$OUT/$peer_alg.probes"

# --- rounds --------------------------------------------------------------------------------
printf 'round\tid\trequests\tduration_us\tnon2xx\tsocket_errors\tp50_us\tp99_us\n' >"$OUT/raw.tsv"
measure() { # ROUND ID DURATION
  local id=$2 result
  result=$(wrk -t"$THREADS" -c"$CONNECTIONS" -d"$3" --timeout 10s -s scripts/load/wrk.lua \
    "${URL[$id]}" -- "${MODE[$id]}" "${FILE[$id]}" "${OFFSET[$id]}" "$THREADS" 2>&1 |
    awk '$1 == "RESULT" { $1 = ""; print }') || true
  [ -n "$result" ] || { say "wrk failed on $id"; result="0 1 0 0 0 0"; }
  read -r requests duration non2xx errors p50 p99 <<<"$result"
  # Ids handed out may include requests cut off at the end: skip a connection's worth more.
  OFFSET[$id]=$((OFFSET[$id] + requests + CONNECTIONS))
  printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$1" "$id" "$requests" "$duration" "$non2xx" \
    "$errors" "$p50" "$p99" >>"$OUT/raw.tsv"
}
say "warm-up: every row for $WARMUP (round 0, not counted)"
for id in "${ROWS[@]}"; do measure 0 "$id" "$WARMUP"; done
for round in $(seq "$ROUNDS"); do
  say "round $round of $ROUNDS: ${#ROWS[@]} rows × $DURATION"
  for id in "${ROWS[@]}"; do measure "$round" "$id" "$DURATION"; done
done
first_clients=$(wc -l <"$OUT/issuer-argon-first.auth")
if [ "${OFFSET[grant-argon-first]}" -gt "$first_clients" ]; then
  say "WARNING: first grants wrapped around $first_clients client ids (raise ARGON_CLIENTS)"
fi

# --- memory --------------------------------------------------------------------------------
printf 'key\tvalue\n' >"$OUT/memory.tsv"
mem() { printf '%s\t%s\n' "$1" "$2" >>"$OUT/memory.tsv"; }
if [ "$FLOOD" -gt 0 ]; then
  say "flood: $FLOOD distinct tokens through a fresh load_target"
  mkdir -p "$OUT/flood"
  start flood $((BASE_PORT + 5)) OUT="$OUT/flood" TOKENS=0 "$BIN/load_target"
  flood_pid=$STARTED_PID
  sleep 1
  mem flood_rss_before_kib "$(rss_kib "$flood_pid" VmRSS)"
  mem flood_hwm_before_kib "$(rss_kib "$flood_pid" VmHWM)"
  line=$(URL="http://$HOST:$((BASE_PORT + 5))/eddsa/auth" KEY_FILE="$OUT/flood/eddsa.key.pem" \
    COUNT="$FLOOD" CONNECTIONS="$CONNECTIONS" "$BIN/load_flood") || line="flood failed"
  mem flood_rss_after_kib "$(rss_kib "$flood_pid" VmRSS)"
  mem flood_hwm_after_kib "$(rss_kib "$flood_pid" VmHWM)"
  stats=$(curl -s "http://$HOST:$((BASE_PORT + 5))/stats")
  mem flood_result "$line"
  mem flood_stats "$stats"
  stop "$flood_pid"
fi
say "demo idle memory: cargo run --release --example server"
demo_port=$((BASE_PORT + 6))
env -u CLIENTS_FILE -u ISSUER -u SIGNING_KEY_FILE -u TRUSTED_ISSUERS ADDR="$HOST:$demo_port" "$BIN/server" >"$OUT/demo.stdout" 2>"$OUT/demo.stderr" &
demo_pid=$!
pids+=("$demo_pid")
for _ in $(seq 300); do
  curl -sf "http://$HOST:$demo_port/healthz" >/dev/null 2>&1 && break
  sleep 0.1
done
sleep 1
mem demo_rss_kib "$(rss_kib "$demo_pid" VmRSS)"
mem demo_hwm_kib "$(rss_kib "$demo_pid" VmHWM)"
stop "$demo_pid"
mem load_target_rss_kib "$(rss_kib "$target_pid" VmRSS)"
mem load_target_hwm_kib "$(rss_kib "$target_pid" VmHWM)"

# --- report --------------------------------------------------------------------------------
{
  printf 'date\t%s\n' "$(date -u '+%Y-%m-%d %H:%M UTC')"
  printf 'commit\t%s\n' "$(git rev-parse --short HEAD 2>/dev/null || echo unknown)"
  printf 'command\t%s\n' "$COMMAND"
  printf 'nproc\t%s\n' "$(nproc)"
  printf 'cpu\t%s\n' "$(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)"
  printf 'memory\t%s\n' "$(awk '/^MemTotal/ { printf "%.1f GiB", $2 / 1048576 }' /proc/meminfo)"
  printf 'wrk\t-t%s -c%s, %s rounds of %s per row (after %s warm-up)\n' "$THREADS" \
    "$CONNECTIONS" "$ROUNDS" "$DURATION" "$WARMUP"
  printf 'rounds\t%s\n' "$ROUNDS"
  printf 'duration\t%s\n' "$DURATION"
  printf 'peer_alg\t%s\n' "$PEER_ALG"
  printf 'flood\t%s\n' "$FLOOD"
} >"$OUT/meta.tsv"
python3 scripts/load/report.py "$OUT" | tee "$OUT/table.md"
if [ -n "$SVG" ]; then
  mkdir -p "$(dirname "$SVG")"
  python3 scripts/load/chart.py "$OUT/results.tsv" "$OUT/meta.tsv" "$SVG"
  say "chart: $SVG"
fi
say "results: $OUT/table.md, $OUT/results.tsv (raw rounds: $OUT/raw.tsv)"
