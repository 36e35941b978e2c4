#!/usr/bin/env bash
# Flood measurement (not CI): builds and starts the demo with its default (Argon2id) clients,
# sends REQUESTS concurrent token requests with wrong credentials (random client ids, and the
# demo's own ids with wrong secrets) and prints the server's peak RSS before and after, and the
# latency of `GET /healthz` while the flood runs.
#
#   scripts/flood.sh                     # 300 requests, dev profile
#   REQUESTS=1000 PROFILE=release scripts/flood.sh
#
# Loopback only; bounded in count (REQUESTS) and in time (TIMEOUT seconds, default 120).
# Needs python3 (standard library only) on a Linux /proc.
set -euo pipefail
cd "$(dirname "$0")/.."

REQUESTS="${REQUESTS:-300}"
TIMEOUT="${TIMEOUT:-120}"
# The dev profile is the one `cargo run --example server` uses; Argon2 is optimised in it too
# (Cargo.toml), so hashing costs what it costs in release.
PROFILE="${PROFILE:-dev}"
command -v python3 >/dev/null || { echo "python3 is required" >&2; exit 1; }
[ -r /proc/self/status ] || { echo "a Linux /proc is required" >&2; exit 1; }

cargo build -q --example server --profile "$PROFILE"
case "$PROFILE" in dev) dir=debug ;; *) dir="$PROFILE" ;; esac
server="${CARGO_TARGET_DIR:-target}/$dir/examples/server"

out=$(mktemp)
err=$(mktemp)
env -u CLIENTS_FILE -u ISSUER -u SIGNING_KEY_FILE ADDR=127.0.0.1:0 RUST_LOG=warn \
  "$server" >"$out" 2>"$err" &
pid=$!
trap 'kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; rm -f "$out" "$err"' EXIT
for _ in $(seq 100); do [ -s "$out" ] && break; sleep 0.1; done
base=$(head -n1 "$out" | sed -n 's/^tower-client-credentials demo listening on //p')
[ -n "$base" ] || { echo "the demo did not start:" >&2; cat "$err" >&2; exit 1; }

status_kib() { awk -v key="$1:" '$1 == key { print $2 }' "/proc/$pid/status"; }
mib() { awk -v k="$1" 'BEGIN { printf "%.1f MiB", k / 1024 }'; }

echo "demo: $base (pid $pid, profile $PROFILE)"
echo "peak RSS at start:              $(mib "$(status_kib VmHWM)")"
# One good request, so that the baseline includes a first Argon2id verification.
curl -s --noproxy '*' -o /dev/null -u demo:demo-secret -d grant_type=client_credentials \
  "$base/oauth2/token"
echo "peak RSS after one good login:  $(mib "$(status_kib VmHWM)")"

python3 - "$base" "$pid" "$REQUESTS" "$TIMEOUT" <<'PYTHON'
import asyncio, base64, collections, os, statistics, sys, time
from urllib.parse import urlsplit

base, pid, requests, timeout = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4])
url = urlsplit(base)
host, port = url.hostname, url.port

def proc_status(key):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(key + ":"):
                return int(line.split()[1])
    return 0

async def http(raw):
    """One request on its own connection; returns (status, seconds)."""
    start = time.monotonic()
    reader, writer = await asyncio.open_connection(host, port)
    try:
        writer.write(raw)
        await writer.drain()
        line = await reader.readline()
        await reader.read()
        status = int(line.split()[1]) if line.startswith(b"HTTP/") else 0
    finally:
        writer.close()
    return status, time.monotonic() - start

def token_request(i):
    # Half random client ids, half the demo's Argon2id clients with wrong secrets.
    client = os.urandom(6).hex() if i % 2 else ("demo", "reader")[i // 2 % 2]
    credentials = base64.b64encode(f"{client}:wrong-{os.urandom(8).hex()}".encode()).decode()
    body = b"grant_type=client_credentials"
    head = (f"POST /oauth2/token HTTP/1.1\r\nHost: {url.netloc}\r\n"
            f"Authorization: Basic {credentials}\r\n"
            "Content-Type: application/x-www-form-urlencoded\r\n"
            f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n")
    return head.encode() + body

async def flood(done):
    results = await asyncio.gather(
        *(http(token_request(i)) for i in range(requests)), return_exceptions=True)
    done.set()
    return results

async def probe(done, samples, peaks):
    health = f"GET /healthz HTTP/1.1\r\nHost: {url.netloc}\r\nConnection: close\r\n\r\n".encode()
    while not done.is_set():
        try:
            status, seconds = await asyncio.wait_for(http(health), timeout)
            samples.append(seconds if status == 200 else float("nan"))
        except Exception:
            samples.append(float("nan"))
        peaks["rss"] = max(peaks["rss"], proc_status("VmRSS"))
        peaks["threads"] = max(peaks["threads"], proc_status("Threads"))
        await asyncio.sleep(0.1)

async def main():
    done, samples, peaks = asyncio.Event(), [], {"rss": 0, "threads": 0}
    start = time.monotonic()
    prober = asyncio.create_task(probe(done, samples, peaks))
    try:
        results = await asyncio.wait_for(flood(done), timeout)
    except asyncio.TimeoutError:
        done.set()
        print(f"the flood did not finish within {timeout:.0f} s")
        results = []
    await prober
    elapsed = time.monotonic() - start
    statuses = collections.Counter(
        r[0] if isinstance(r, tuple) else type(r).__name__ for r in results)
    slowest = max((r[1] for r in results if isinstance(r, tuple)), default=0)
    print(f"flood: {requests} concurrent bad token requests in {elapsed:.1f} s; "
          f"statuses {dict(sorted(statuses.items(), key=str))}; slowest {slowest:.2f} s")
    ok = sorted(s for s in samples if s == s)
    failed = len(samples) - len(ok)
    if ok:
        p = lambda q: ok[min(len(ok) - 1, int(q * len(ok)))]
        print(f"/healthz during the flood: {len(samples)} probes, "
              f"min {ok[0]*1000:.0f} ms, median {statistics.median(ok)*1000:.0f} ms, "
              f"p90 {p(0.9)*1000:.0f} ms, max {ok[-1]*1000:.0f} ms"
              + (f", {failed} failed" if failed else ""))
    else:
        print(f"/healthz during the flood: {len(samples)} probes, none answered")
    print(f"during the flood: RSS up to {peaks['rss']/1024:.1f} MiB, "
          f"up to {peaks['threads']} threads")

asyncio.run(main())
PYTHON

echo "peak RSS after the flood:       $(mib "$(status_kib VmHWM)")"
echo "RSS after the flood:            $(mib "$(status_kib VmRSS)")"
