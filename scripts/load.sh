#!/usr/bin/env bash
# Load harness: req/s of one JSON handler with no auth, BearerAuthLayer (cached) and
# BearerAuthLayer (uncached), measured in the same run with wrk, reported as ratios to no auth.
#   scripts/load.sh            # EdDSA; ALG=ES256|RS256|PS256|HS256 for others
# Needs wrk (apt-get install wrk). Sends traffic to 127.0.0.1 only, for a bounded time.
set -euo pipefail
cd "$(dirname "$0")/.."
command -v wrk >/dev/null || { echo "wrk is required: apt-get install wrk" >&2; exit 1; }
ADDR="${ADDR:-127.0.0.1:3100}"
DURATION="${DURATION:-6s}"
cargo build --release --example load_target -q
out=$(mktemp)
ADDR="$ADDR" ./target/release/examples/load_target >"$out" &
server=$!
trap 'kill $server 2>/dev/null || true; rm -f "$out"' EXIT
for _ in $(seq 50); do [ -s "$out" ] && break; sleep 0.1; done
token=$(head -n1 "$out")

rate() {
  wrk -t1 -c32 -d"$DURATION" "$@" 2>/dev/null | awk '/Requests\/sec/ {print $2}'
}
base=$(rate "http://$ADDR/noauth")
cached=$(rate -H "Authorization: Bearer $token" "http://$ADDR/auth")
uncached=$(rate -H "Authorization: Bearer $token" "http://$ADDR/auth-uncached")
printf '%-26s %12s %8s\n' route req/s ratio
for row in "no auth:$base" "BearerAuth (cached):$cached" "BearerAuth (uncached):$uncached"; do
  name=${row%%:*}; value=${row##*:}
  awk -v n="$name" -v v="$value" -v b="$base" 'BEGIN { printf "%-26s %12.0f %8.2f\n", n, v, v / b }'
done
