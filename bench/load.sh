#!/usr/bin/env bash
# Load benchmark: cached unfurls through the full path (token check, routing, cache hit,
# JSON) against a bare actix handler returning the same bytes, on loopback, in one run.
# Two links are measured each round: a page (the OpenGraph provider, in Rust) and a ticket
# of a provider file (`UNFURL_PROVIDERS_DIR`, reading a JSON API on loopback), so a cached
# unfurl routed to a provider file is compared with one routed to a Rust provider.
#
#   bench/load.sh [DURATION_SECS] [CONNECTIONS] [ROUNDS]
#
# Needs wrk (Debian package `wrk`; installed here when missing and running as root).
# Prints both results and the ratio; exits non-zero when a run had errors.
set -euo pipefail
cd "$(dirname "$0")/.."

duration="${1:-15}"
connections="${2:-64}"
rounds="${3:-3}"
threads=2
workers=2

if ! command -v wrk >/dev/null; then
  if [ "$(id -u)" = 0 ]; then
    apt-get install -y wrk >/dev/null 2>&1 || { apt-get update >/dev/null && apt-get install -y wrk >/dev/null; }
  else
    echo "wrk is missing: apt-get install wrk" >&2; exit 1
  fi
fi

cargo build --release --quiet --bin notion-unfurl --example baseline
bin=target/release/notion-unfurl
baseline=target/release/examples/baseline

work=$(mktemp -d)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_port() { for _ in $(seq 1 200); do (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0; sleep 0.05; done; echo "port $1 never opened" >&2; exit 1; }

# A page for the one real fetch that fills the cache.
mkdir -p "$work/site"
cat > "$work/site/page.html" <<'HTML'
<html><head><title>Benchmark page</title>
<meta property="og:description" content="A page for the load benchmark.">
<meta property="og:image" content="https://images.example.test/cover.png">
</head><body>body</body></html>
HTML
# The provider file's API: one ticket as JSON, served by the same origin.
mkdir -p "$work/site/v1/tickets"
echo '{"title": "Printer on floor 3 jams", "status": "Open"}' >"$work/site/v1/tickets/42"
origin_port=$(free_port)
mkdir -p "$work/providers"
cat > "$work/providers/tickets.toml" <<TOML
id = "tickets"
name = "Acme Tickets"
domain = "tickets.example.com"

[[match]]
pattern = '^https://tickets\.example\.com/t/(?<id>[0-9]+)\$'
samples = [{ url = "https://tickets.example.com/t/42", captures = { id = "42" } }]

[[request]]
name = "ticket"
base = "http://127.0.0.1:$origin_port/v1"
path = "/tickets/{{ id }}"

[cache]
ttl = "1h"

[[attribute]]
id = "title"
section = "title"
value = "{{ ticket.title }}"

[[attribute]]
id = "status"
name = "Status"
section = "primary"
type = "enum"
value = "{{ ticket.status }}"
TOML
export UNFURL_PROVIDERS_DIR="$work/providers"
python3 -m http.server "$origin_port" --bind 127.0.0.1 --directory "$work/site" >/dev/null 2>&1 &
pids+=($!)

server_port=$(free_port)
export UNFURL_LISTEN="127.0.0.1:$server_port"
export UNFURL_DATA_DIR="$work/data"
export UNFURL_SECRET_KEY="benchmark-secret-key-0123456789abcdef0123456789"
export UNFURL_FETCH_ALLOW="127.0.0.1/32"
export UNFURL_WORKERS="$workers"
export RUST_LOG=warn
"$bin" serve >"$work/server.log" 2>&1 &
server_pid=$!
pids+=("$server_pid")
wait_port "$origin_port"
wait_port "$server_port"

export UNFURL_BENCH_URI="http://127.0.0.1:$origin_port/page.html"
UNFURL_BENCH_TOKEN=$("$bin" token issue --account local:bench)
export UNFURL_BENCH_TOKEN
curl -sf -X POST "http://127.0.0.1:$server_port/unfurl" \
  -H "Authorization: Bearer $UNFURL_BENCH_TOKEN" -H 'Content-Type: application/json' \
  -d "{\"uri\":\"$UNFURL_BENCH_URI\"}" >"$work/body.json"
grep -q '"Benchmark page"' "$work/body.json" || { echo "warm-up unfurl failed: $(cat "$work/body.json")" >&2; exit 1; }
file_uri="https://tickets.example.com/t/42"
curl -sf -X POST "http://127.0.0.1:$server_port/unfurl" \
  -H "Authorization: Bearer $UNFURL_BENCH_TOKEN" -H 'Content-Type: application/json' \
  -d "{\"uri\":\"$file_uri\"}" >"$work/file.json"
grep -q '"Printer on floor 3 jams"' "$work/file.json" || { echo "warm-up unfurl of the provider file failed: $(cat "$work/file.json")" >&2; exit 1; }

baseline_port=$(free_port)
"$baseline" "$work/body.json" "127.0.0.1:$baseline_port" "$workers" &
pids+=($!)
wait_port "$baseline_port"

run() { wrk -t"$threads" -c"$connections" -d"${duration}s" --latency -s bench/unfurl.lua "http://127.0.0.1:$1/unfurl" | tee "$work/$2.txt" >&2; grep '^RESULT' "$work/$2.txt"; }
page_uri="$UNFURL_BENCH_URI"

echo "== warm-up (5 s each, discarded)" >&2
wrk -t"$threads" -c"$connections" -d5s -s bench/unfurl.lua "http://127.0.0.1:$server_port/unfurl" >/dev/null
wrk -t"$threads" -c"$connections" -d5s -s bench/unfurl.lua "http://127.0.0.1:$baseline_port/unfurl" >/dev/null
field() { sed -E "s/.*$2=([0-9.]+).*/\1/" <<<"$1"; }
# Alternate baseline and server in several rounds: both are measured under the same drift
# of a shared two-core machine, and the median round is reported.
results=()
files=()
errors=0
for round in $(seq 1 "$rounds"); do
  echo "== round $round: baseline (bare actix handler, same bytes), notion-unfurl (page), notion-unfurl (provider file)" >&2
  base=$(run "$baseline_port" "baseline-$round")
  export UNFURL_BENCH_URI="$page_uri"
  full=$(run "$server_port" "server-$round")
  export UNFURL_BENCH_URI="$file_uri"
  file=$(run "$server_port" "file-$round")
  ratio=$(python3 -c "print(f'{$(field "$full" rps)/$(field "$base" rps)*100:.1f}')")
  file_ratio=$(python3 -c "print(f'{$(field "$file" rps)/$(field "$full" rps)*100:.1f}')")
  results+=("$ratio $(field "$base" rps) $(field "$base" p99_ms) $(field "$full" rps) $(field "$full" p50_ms) $(field "$full" p99_ms)")
  files+=("$file_ratio $(field "$file" rps) $(field "$file" p50_ms) $(field "$file" p99_ms)")
  errors=$((errors + $(field "$full" errors) + $(field "$base" errors) + $(field "$file" errors)))
done
echo
echo "cores=$(nproc) threads=$threads connections=$connections duration=${duration}s workers=$workers rounds=$rounds"
printf '%s\n' "${results[@]}" | sort -n | while read -r ratio brps bp99 frps fp50 fp99; do
  echo "round           baseline rps=$brps p99=${bp99}ms | notion-unfurl rps=$frps p50=${fp50}ms p99=${fp99}ms | ratio ${ratio}%"
done
median=$(printf '%s\n' "${results[@]}" | sort -n | awk '{ r[NR] = $0 } END { print r[int((NR + 1) / 2)] }')
read -r ratio brps bp99 frps fp50 fp99 <<<"$median"
echo "median round    baseline rps=$brps | notion-unfurl rps=$frps p50=${fp50}ms p99=${fp99}ms"
echo "ratio           ${ratio}% of baseline (target >= 70%), p99 target < 5 ms"
printf '%s\n' "${files[@]}" | sort -n | while read -r fratio frps fp50 fp99; do
  echo "provider file   rps=$frps p50=${fp50}ms p99=${fp99}ms | ${fratio}% of the page's rps that round"
done
median=$(printf '%s\n' "${files[@]}" | sort -n | awk '{ r[NR] = $0 } END { print r[int((NR + 1) / 2)] }')
read -r fratio frps fp50 fp99 <<<"$median"
echo "provider file   median ${fratio}% of a cached unfurl routed to the Rust provider (target: as fast, ~100%)"
mib() { awk -v k="$1:" '$1 == k { printf "%.1f", $2 / 1024 }' "/proc/$server_pid/status"; }
echo "server memory   peak RSS $(mib VmHWM) MiB, RSS after the run $(mib VmRSS) MiB"
[ "$errors" = 0 ]
