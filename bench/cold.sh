#!/usr/bin/env bash
# Load benchmark: cold unfurls, then cold unfurls mixed with token refreshes, on loopback.
#
#   bench/cold.sh [DURATION_SECS] [CONNECTIONS] [PAGES_DIR]
#
# A local origin (examples/pages.rs) serves 2,000 distinct pages: the corpus in
# ../shared/corpus (179 real pages, repeated under 2,000 paths) unless PAGES_DIR names
# another folder. Every request asks for a URI never asked for before, so each is a real
# fetch, an extraction and a subscription written to SQLite. The second run makes every
# tenth request a refresh-token grant (each a rotation written to the database) against
# 200 seeded links. Prints requests/s, latency, non-2xx answers and the server's peak RSS;
# exits non-zero when a run had a 5xx, a socket error or a refused refresh.
set -euo pipefail
cd "$(dirname "$0")/.."

duration="${1:-30}"
connections="${2:-64}"
pages_dir="${3:-../shared/corpus}"
threads=2
export UNFURL_BENCH_THREADS=$threads

if ! command -v wrk >/dev/null; then
  if [ "$(id -u)" = 0 ]; then
    apt-get install -y wrk >/dev/null 2>&1 || { apt-get update >/dev/null && apt-get install -y wrk >/dev/null; }
  else
    echo "wrk is missing: apt-get install wrk" >&2; exit 1
  fi
fi
[ -d "$pages_dir" ] || { echo "no pages at $pages_dir" >&2; exit 1; }

cargo build --release --quiet --bin notion-unfurl --example pages --example seed_grants
bin=target/release/notion-unfurl

work=$(mktemp -d)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; if [ -n "${BENCH_KEEP:-}" ]; then echo "kept $work" >&2; else rm -rf "$work"; fi; }
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_port() { for _ in $(seq 1 200); do (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0; sleep 0.05; done; echo "port $1 never opened" >&2; exit 1; }

origin_port=$(free_port)
target/release/examples/pages "$pages_dir" "127.0.0.1:$origin_port" 2>"$work/origin.log" &
pids+=($!)
wait_port "$origin_port"
export UNFURL_BENCH_ORIGIN="http://127.0.0.1:$origin_port"
export UNFURL_BENCH_PAGES=2000
export UNFURL_BENCH_CLIENT_ID="bench-client"
export UNFURL_BENCH_CLIENT_SECRET="bench-client-secret-0123456789"

failed=0
# One fresh server (fresh data directory) per run: RUN_NAME REFRESH_EVERY
run() {
  local name=$1 every=$2
  local port data
  port=$(free_port)
  data="$work/data-$name"
  (
    export UNFURL_LISTEN="127.0.0.1:$port" UNFURL_DATA_DIR="$data" UNFURL_PUBLIC_URL="http://127.0.0.1:$port"
    export UNFURL_FETCH_ALLOW="127.0.0.1/32" UNFURL_WORKERS=2 RUST_LOG="${RUST_LOG:-warn}"
    export UNFURL_OAUTH_CLIENT_ID="$UNFURL_BENCH_CLIENT_ID" UNFURL_OAUTH_CLIENT_SECRET="$UNFURL_BENCH_CLIENT_SECRET"
    exec "$bin" serve
  ) >"$work/server-$name.log" 2>&1 &
  local server_pid=$!
  pids+=("$server_pid")
  wait_port "$port"
  local env=(env UNFURL_DATA_DIR="$data" UNFURL_PUBLIC_URL="http://127.0.0.1:$port"
    UNFURL_OAUTH_CLIENT_ID="$UNFURL_BENCH_CLIENT_ID" UNFURL_OAUTH_CLIENT_SECRET="$UNFURL_BENCH_CLIENT_SECRET")
  UNFURL_BENCH_TOKEN=$("${env[@]}" "$bin" token issue --account local:cold-bench)
  export UNFURL_BENCH_TOKEN
  if [ "$every" -gt 0 ]; then
    "${env[@]}" target/release/examples/seed_grants 200 "$UNFURL_BENCH_CLIENT_ID" https://www.notion.so/callback >"$work/refresh.txt"
  fi
  UNFURL_BENCH_REFRESH_EVERY=$every UNFURL_BENCH_REFRESH_FILE="$work/refresh.txt" \
    wrk -t"$threads" -c"$connections" -d"${duration}s" --timeout 10s --latency -s bench/cold.lua \
    "http://127.0.0.1:$port/" >"$work/$name.txt"
  local result
  result=$(grep '^RESULT' "$work/$name.txt")
  mib() { awk -v k="$1:" '$1 == k { printf "%.1f", $2 / 1024 }' "/proc/$server_pid/status"; }
  echo "$name: $result peak_rss_mib=$(mib VmHWM)"
  grep -A4 'Latency Distribution' "$work/$name.txt" | sed 's/^/    /'
  local fivexx
  fivexx=$(grep -c '"status":5[0-9][0-9]' "$work/server-$name.log" || true)
  echo "    server log: $(grep -c . "$work/server-$name.log" || true) lines, ${fivexx} naming a 5xx"
  grep -m3 '"level":"\(ERROR\|WARN\)"\|ERROR\|WARN' "$work/server-$name.log" | cut -c1-300 | sed 's/^/    /' || true
  local non2xx errors refused
  non2xx=$(sed -E 's/.*non2xx=([0-9]+).*/\1/' <<<"$result")
  errors=$(sed -E 's/.* errors=([0-9]+).*/\1/' <<<"$result")
  refused=$(sed -E 's/.*refused=([0-9]+).*/\1/' <<<"$result")
  if [ "$non2xx" != 0 ] || [ "$errors" != 0 ] || [ "$refused" != 0 ]; then failed=1; fi
  kill "$server_pid" 2>/dev/null || true
  wait "$server_pid" 2>/dev/null || true
}

echo "cores=$(nproc) threads=$threads connections=$connections duration=${duration}s pages=2000 from $pages_dir"
run cold 0
run mix 10
exit "$failed"
