#!/usr/bin/env bash
# Simple-index bench: Airlock against nginx serving the same pages as
# static files, in the same run, with wrk.
#
#   bench/index_bench.sh [DURATION_SECONDS]   (default 15; the 256-connection run takes 60)
#
# 1. `cargo bench --bench index` builds an approved data folder through the
#    store, prints the uncached render time of a 2,000-file page and writes
#    the same pages and a 75 KB wheel as nginx's static tree.
# 2. Airlock (release build) and nginx serve them on loopback ports.
# 3. wrk loads each endpoint at 64 connections on both, then Airlock at 256
#    connections for 60 s, and the figures are printed as a table.
# Both servers log nothing per request (access_log off, RUST_LOG=warn).
set -euo pipefail
cd "$(dirname "$0")/.."
duration="${1:-15}"
out="${AIRLOCK_BENCH_DIR:-$PWD/target/index-bench}"
airlock_port=18181
nginx_port=18182

for tool in wrk nginx; do
    command -v "$tool" >/dev/null || { apt-get update -qq; DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-upgrade wrk nginx; }
done

cargo build --release --quiet
cargo bench -p airlock-server --bench index --quiet -- "$out"
# shellcheck disable=SC1091
source "$out/paths.env"

cleanup() {
    [ -n "${airlock_pid:-}" ] && kill "$airlock_pid" 2>/dev/null || true
    [ -f "$out/nginx.pid" ] && kill "$(cat "$out/nginx.pid")" 2>/dev/null || true
}
trap cleanup EXIT

RUST_LOG=warn ./target/release/airlock --data-dir "$out/data" serve --listen "127.0.0.1:$airlock_port" --workers 1 \
    >"$out/airlock.log" 2>&1 &
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
nginx -c "$out/nginx.conf" -p "$out/nginx"

for _ in $(seq 1 100); do
    curl -fsS "http://127.0.0.1:$airlock_port/healthz" >/dev/null 2>&1 && curl -fsS "http://127.0.0.1:$nginx_port/simple/" >/dev/null 2>&1 && break
    sleep 0.1
done

# Sanity: both serve the same bytes.
cmp <(curl -fsS "http://127.0.0.1:$airlock_port/simple/$SMALL/") <(curl -fsS "http://127.0.0.1:$nginx_port/simple/$SMALL/")
cmp <(curl -fsS -H "Accept: application/vnd.pypi.simple.v1+json" "http://127.0.0.1:$airlock_port/simple/$SMALL/") \
    <(curl -fsS "http://127.0.0.1:$nginx_port/json/$SMALL/index.json")
cmp <(curl -fsS "http://127.0.0.1:$airlock_port$WHEEL_PATH") <(curl -fsS "http://127.0.0.1:$nginx_port$WHEEL_PATH")

# run NAME URL [HEADER] -> "req/s p99"
run() {
    local conns="$1" secs="$2" url="$3" header="${4:-}"
    local args=(-t2 -c"$conns" -d"${secs}s" --latency)
    [ -n "$header" ] && args+=(-H "$header")
    local report
    report="$(wrk "${args[@]}" "$url")"
    echo "$report" >>"$out/wrk.log"
    local rps p99 errors
    rps="$(awk '/Requests\/sec/ {print $2}' <<<"$report")"
    p99="$(awk '$1 == "99%" {print $2}' <<<"$report")"
    errors="$(grep -E 'Non-2xx|Socket errors' <<<"$report" | tr -s ' ' | paste -sd ';' || true)"
    echo "$rps $p99 ${errors:-none}"
}

: >"$out/wrk.log"
json="Accept: application/vnd.pypi.simple.v1+json"
printf '\n%-28s %12s %9s %12s %9s %7s\n' endpoint "nginx req/s" "p99" "airlock req/s" "p99" ratio
row() {
    local name="$1" airlock_url="$2" nginx_url="$3" header="${4:-}"
    read -r n_rps n_p99 _ <<<"$(run 64 "$duration" "$nginx_url")"
    read -r a_rps a_p99 a_err <<<"$(run 64 "$duration" "$airlock_url" "$header")"
    printf '%-28s %12.0f %9s %12.0f %9s %6.2fx %s\n' "$name" "$n_rps" "$n_p99" "$a_rps" "$a_p99" "$(echo "$a_rps / $n_rps" | bc -l)" \
        "$([ "$a_err" = none ] || echo "airlock: $a_err")"
}
a="http://127.0.0.1:$airlock_port"
n="http://127.0.0.1:$nginx_port"
row "/simple/<project>/ HTML" "$a/simple/$SMALL/" "$n/simple/$SMALL/"
row "/simple/<project>/ JSON" "$a/simple/$SMALL/" "$n/json/$SMALL/index.json" "$json"
row "/simple/ root" "$a/simple/" "$n/simple/"
row "2,000-file page HTML" "$a/simple/$BIG/" "$n/simple/$BIG/"
row "one $((WHEEL_BYTES / 1024)) KB wheel" "$a$WHEEL_PATH" "$n$WHEEL_PATH"

read -r rps p99 errors <<<"$(run 256 60 "$a/simple/$SMALL/")"
printf '\nairlock at 256 connections for 60 s: %.0f req/s, p99 %s, errors: %s\n' "$rps" "$p99" "$errors"
echo "full wrk reports: $out/wrk.log"
