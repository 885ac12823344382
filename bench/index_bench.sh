#!/usr/bin/env bash
# Simple-index bench: Airlock as the README starts it against nginx serving
# the same bytes as static files, side by side in one run, with wrk.
#
#   bench/index_bench.sh [DURATION_SECONDS]   (default 10 per run)
#
# 1. `cargo bench --bench index` builds an approved data folder through the
#    store, prints the uncached render time of a 2,000-file page and writes
#    the same pages and three wheels (10 KB and 75 KB, served from memory,
#    and 20 MB, too large for the memory cache) as nginx's static tree.
# 2. Airlock (release build) starts as the README says: `airlock serve`,
#    default logging (no RUST_LOG, no access_log), default workers; only
#    the data folder and the port are given. nginx serves the static tree
#    (sendfile on, worker_processes auto, access_log off).
# 3. For each endpoint, wrk (2 threads, 64 connections) loads nginx and
#    Airlock alternately, twice (nginx, Airlock, Airlock, nginx), and the
#    table gives the mean of the two same-moment ratios, the worse p99 of
#    each server, and the machine's load average when the endpoint started.
#    It also gives each server's CPU time per request (user + system, all
#    of its processes and threads, from /proc), which a busy machine moves
#    far less than it moves requests per second.
# 4. Airlock's log volume over the whole run, per million requests.
#
# AIRLOCK_BENCH_SERVER_NICE=N starts both servers at niceness N (default 0,
# wrk's own): on a machine where wrk shares the cores with the servers, a
# server that keeps both cores busy delays wrk's own reading of responses,
# and wrk counts that wait as the server's latency. With N > 0 both servers
# yield to wrk, so the p99 is closer to what the servers themselves add.
#
# AIRLOCK_BENCH_BIN=PATH runs another build of airlock (e.g. an older
# commit's, for before/after figures) instead of building this tree's.
set -euo pipefail
cd "$(dirname "$0")/.."
duration="${1:-10}"
out="${AIRLOCK_BENCH_DIR:-$PWD/target/index-bench}"
airlock_port=18181
nginx_port=18182

for tool in wrk nginx; do
    command -v "$tool" >/dev/null || { apt-get update -qq; DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-upgrade wrk nginx; }
done

bin="${AIRLOCK_BENCH_BIN:-}"
if [ -z "$bin" ]; then
    cargo build --release --quiet
    bin=./target/release/airlock
fi
cargo bench -p airlock-server --bench index --quiet -- "$out"
# shellcheck disable=SC1091
source "$out/paths.env"

cleanup() {
    [ -n "${airlock_pid:-}" ] && kill "$airlock_pid" 2>/dev/null || true
    [ -f "$out/nginx.pid" ] && kill "$(cat "$out/nginx.pid")" 2>/dev/null || true
}
trap cleanup EXIT

# The README's command, with this bench's data folder and port.
server_nice="${AIRLOCK_BENCH_SERVER_NICE:-0}"
nice -n "$server_nice" env -u RUST_LOG -u AIRLOCK_ACCESS_LOG -u AIRLOCK_WORKERS -u AIRLOCK_CONFIG \
    "$bin" --data-dir "$out/data" serve --listen "127.0.0.1:$airlock_port" >"$out/airlock.log" 2>&1 &
airlock_pid=$!

mkdir -p "$out/nginx"
cat >"$out/nginx.conf" <<EOF
worker_processes auto;
pid $out/nginx.pid;
error_log $out/nginx/error.log warn;
events { worker_connections 4096; }
http {
    access_log off;
    sendfile on;
    tcp_nopush on;
    keepalive_requests 1000000;
    client_body_temp_path $out/nginx;
    proxy_temp_path $out/nginx;
    fastcgi_temp_path $out/nginx;
    uwsgi_temp_path $out/nginx;
    scgi_temp_path $out/nginx;
    types { text/html html; application/vnd.pypi.simple.v1+json json; application/zip whl; }
    server {
        listen 127.0.0.1:$nginx_port;
        root $out/static;
        index index.html index.json;
    }
}
EOF
nice -n "$server_nice" nginx -c "$out/nginx.conf" -p "$out/nginx"

for _ in $(seq 1 100); do
    curl -fsS "http://127.0.0.1:$airlock_port/healthz" >/dev/null 2>&1 && curl -fsS "http://127.0.0.1:$nginx_port/simple/" >/dev/null 2>&1 && break
    sleep 0.1
done

a="http://127.0.0.1:$airlock_port"
n="http://127.0.0.1:$nginx_port"
json="Accept: application/vnd.pypi.simple.v1+json"
# Sanity: both serve the same bytes (this also fills Airlock's caches).
cmp <(curl -fsS "$a/simple/$SMALL/") <(curl -fsS "$n/simple/$SMALL/")
cmp <(curl -fsS -H "$json" "$a/simple/$SMALL/") <(curl -fsS "$n/json/$SMALL/index.json")
cmp <(curl -fsS "$a/simple/$BIG/") <(curl -fsS "$n/simple/$BIG/")
cmp <(curl -fsS "$a$WHEEL_PATH") <(curl -fsS "$n$WHEEL_PATH")
cmp <(curl -fsS "$a$SMALL_WHEEL_PATH") <(curl -fsS "$n$SMALL_WHEEL_PATH")
cmp <(curl -fsS "$a$LARGE_WHEEL_PATH") <(curl -fsS "$n$LARGE_WHEEL_PATH")
log_start=$(stat -c %s "$out/airlock.log")

# p99 as wrk prints it (850.00us, 1.23ms, 1.01s) in milliseconds.
to_ms() {
    awk -v v="$1" 'BEGIN { n = v + 0; if (v ~ /us$/) n /= 1000; else if (v ~ /ms$/) n += 0; else if (v ~ /s$/) n *= 1000; printf "%.2f", n }'
}

airlock_requests=0
nginx_pids() { cat "$out/nginx.pid"; pgrep -P "$(cat "$out/nginx.pid")"; }
# CPU clock ticks (user + system) used so far by the processes PIDS...
# (a process's /proc/PID/stat counts all of its threads).
cpu_ticks() {
    local total=0 pid
    for pid in "$@"; do
        total=$((total + $(awk '{print $14 + $15}' "/proc/$pid/stat")))
    done
    echo "$total"
}
tick_us=$((1000000 / $(getconf CLK_TCK)))
# run PIDS CONNS SECS URL [HEADER] -> "req/s p99_ms requests errors cpu_us_per_request"
run() {
    local pids="$1" conns="$2" secs="$3" url="$4" header="${5:-}"
    local args=(-t2 -c"$conns" -d"${secs}s" --latency)
    [ -n "$header" ] && args+=(-H "$header")
    local report before after
    # shellcheck disable=SC2086
    before="$(cpu_ticks $pids)"
    report="$(wrk "${args[@]}" "$url")"
    # shellcheck disable=SC2086
    after="$(cpu_ticks $pids)"
    echo "$report" >>"$out/wrk.log"
    local rps p99 requests errors
    rps="$(awk '/Requests\/sec/ {print $2}' <<<"$report")"
    p99="$(to_ms "$(awk '$1 == "99%" {print $2}' <<<"$report")")"
    requests="$(awk '/requests in/ {print $1}' <<<"$report")"
    errors="$(grep -E 'Non-2xx|Socket errors' <<<"$report" | tr -s ' ' | paste -sd ';' | tr ' ' '_' || true)"
    echo "$rps $p99 $requests ${errors:-none} $(echo "($after - $before) * $tick_us / $requests" | bc -l)"
}

: >"$out/wrk.log"
printf '\n%s, %s s per run, 64 connections, servers at niceness %s; load average at start: %s\n' "$(date -u +%FT%TZ)" "$duration" "$server_nice" "$(cut -d' ' -f1-3 /proc/loadavg)"
printf '%-26s %10s %11s %7s %7s %6s %10s %12s %11s %11s %5s\n' endpoint "nginx r/s" "airlock r/s" ratio1 ratio2 mean "nginx p99" "airlock p99" "nginx cpu" "airlock cpu" load
row() {
    local name="$1" airlock_url="$2" nginx_url="$3" header="${4:-}"
    local load n1 n1p n1c a1 a1p a1n a1e a1c n2 n2p n2c a2 a2p a2n a2e a2c
    load="$(cut -d' ' -f1 /proc/loadavg)"
    read -r n1 n1p _ _ n1c <<<"$(run "$(nginx_pids)" 64 "$duration" "$nginx_url" "$header")"
    read -r a1 a1p a1n a1e a1c <<<"$(run "$airlock_pid" 64 "$duration" "$airlock_url" "$header")"
    read -r a2 a2p a2n a2e a2c <<<"$(run "$airlock_pid" 64 "$duration" "$airlock_url" "$header")"
    read -r n2 n2p _ _ n2c <<<"$(run "$(nginx_pids)" 64 "$duration" "$nginx_url" "$header")"
    airlock_requests=$((airlock_requests + a1n + a2n))
    local r1 r2
    r1="$(echo "$a1 / $n1" | bc -l)"
    r2="$(echo "$a2 / $n2" | bc -l)"
    printf '%-26s %10.0f %11.0f %6.2fx %6.2fx %5.2fx %8s ms %9s ms %8.1f us %8.1f us %5s %s\n' "$name" "$(echo "($n1 + $n2) / 2" | bc -l)" \
        "$(echo "($a1 + $a2) / 2" | bc -l)" "$r1" "$r2" "$(echo "($r1 + $r2) / 2" | bc -l)" \
        "$(printf '%s\n%s\n' "$n1p" "$n2p" | sort -g | tail -1)" "$(printf '%s\n%s\n' "$a1p" "$a2p" | sort -g | tail -1)" \
        "$(echo "($n1c + $n2c) / 2" | bc -l)" "$(echo "($a1c + $a2c) / 2" | bc -l)" "$load" \
        "$([ "$a1e$a2e" = nonenone ] || echo "airlock errors: $a1e $a2e")"
}
row "/simple/<project>/ HTML" "$a/simple/$SMALL/" "$n/simple/$SMALL/"
row "/simple/<project>/ JSON" "$a/simple/$SMALL/" "$n/json/$SMALL/index.json" "$json"
row "$((SMALL_WHEEL_BYTES / 1024)) KB wheel" "$a$SMALL_WHEEL_PATH" "$n$SMALL_WHEEL_PATH"
row "$((WHEEL_BYTES / 1024)) KB wheel" "$a$WHEEL_PATH" "$n$WHEEL_PATH"
row "$((LARGE_WHEEL_BYTES / 1048576)) MB wheel (from disk)" "$a$LARGE_WHEEL_PATH" "$n$LARGE_WHEEL_PATH"
row "/simple/ root" "$a/simple/" "$n/simple/"
row "2,000-file page HTML" "$a/simple/$BIG/" "$n/simple/$BIG/"

log_bytes=$(($(stat -c %s "$out/airlock.log") - log_start))
printf '\nairlock log (default level): %d bytes over %d requests: %.0f bytes per million requests\n' \
    "$log_bytes" "$airlock_requests" "$(echo "$log_bytes * 1000000 / $airlock_requests" | bc -l)"
printf 'load average at the end: %s\n' "$(cut -d' ' -f1-3 /proc/loadavg)"
echo "full wrk reports: $out/wrk.log; airlock's log: $out/airlock.log"
