#!/usr/bin/env bash
# Mixed-load bench: index pages, file downloads, dashboard pages and API
# reads at 128 connections for DURATION seconds (default 600), with an
# approval storm (approvals, then yanks and unyanks of approved releases)
# running through the same window. Prints wrk's latency distribution and
# error count, and the server's RSS at the start and the end.
#
#   bench/load_bench.sh [DURATION_SECONDS] [RELEASES]
#
# Local only: the upstream is python's http.server on 127.0.0.1 serving
# wheels built by bench/load_setup.py.
set -euo pipefail
cd "$(dirname "$0")/.."
duration="${1:-600}"
count="${2:-40}"
out="${AIRLOCK_BENCH_DIR:-$PWD/target/load-bench}"
port=18281
up_port=18282
command -v wrk >/dev/null || { apt-get update -qq; DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-upgrade wrk; }
cargo build --release --quiet
rm -rf "$out" && mkdir -p "$out"
bin=./target/release/airlock

python3 bench/load_setup.py upstream "$out/upstream" "$count"
(cd "$out/upstream" && exec python3 -m http.server "$up_port" --bind 127.0.0.1 >"$out/upstream.log" 2>&1) &
up_pid=$!
cleanup() { kill "${airlock_pid:-}" "$up_pid" 2>/dev/null || true; }
trap cleanup EXIT

export AIRLOCK_DATA_DIR="$out/data"
echo "correct horse battery" | $bin user add alice --role auditor --password-stdin >/dev/null
token=$($bin token create --user alice)
RUST_LOG=warn $bin serve --listen "127.0.0.1:$port" --upstream "http://127.0.0.1:$up_port/simple/" >"$out/airlock.log" 2>&1 &
airlock_pid=$!
base="http://127.0.0.1:$port"
for _ in $(seq 1 100); do curl -fsS "$base/healthz" >/dev/null 2>&1 && break; sleep 0.2; done

python3 bench/load_setup.py prepare "$base" "$token" "$count" "$out"

# A dashboard session for the page requests.
jar="$out/cookies"
csrf=$(curl -fsS -c "$jar" "$base/login" | sed -n 's/.*name="csrf" value="\([0-9a-f]*\)".*/\1/p' | head -n1)
curl -fsS -b "$jar" -c "$jar" -o /dev/null -d "name=alice&password=correct+horse+battery&csrf=$csrf" "$base/login"
session=$(awk '$6 == "airlock_session" {print $7}' "$jar")
[ -n "$session" ] || { echo "could not sign in"; exit 1; }

cat >"$out/mixed.lua" <<LUA
local paths = {}
for line in io.lines("$out/paths.txt") do paths[#paths + 1] = line end
local i = 0
request = function()
  i = i + 1
  local path = paths[(i % #paths) + 1]
  local headers = {}
  if path:sub(1, 5) == "/api/" then
    headers["Authorization"] = "Bearer $token"
  elseif path:sub(1, 8) ~= "/simple/" and path:sub(1, 7) ~= "/files/" then
    headers["Cookie"] = "airlock_session=$session"
  end
  headers["Accept-Encoding"] = "gzip"
  return wrk.format("GET", path, headers)
end
LUA

rss() { awk '/VmRSS/ {printf "%.0f MB", $2 / 1024}' "/proc/$airlock_pid/status"; }
echo "RSS at start: $(rss)"
python3 bench/load_setup.py storm "$base" "$token" "$count" "$duration" >"$out/storm.log" 2>&1 &
storm_pid=$!
wrk -t2 -c128 -d"${duration}s" --timeout 10s --latency -s "$out/mixed.lua" "$base" | tee "$out/wrk.txt"
wait "$storm_pid"; cat "$out/storm.log"
echo "RSS at end: $(rss)  (peak $(awk '/VmHWM/ {printf "%.0f MB", $2 / 1024}' "/proc/$airlock_pid/status"))"
if grep -qE "Non-2xx|Socket errors" "$out/wrk.txt"; then echo "ERRORS: see above"; else echo "errors: none (no non-2xx/3xx answer, no socket error)"; fi
