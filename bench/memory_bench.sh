#!/usr/bin/env bash
# Memory bench (issue #10): the reported hostile release, 6 wheels each
# with 40 zero-filled members just under the 8 MiB bomb threshold (about
# 2 MB to download, 1.9 GB unpacked), served by the local upstream, then:
#   1. one anonymous GET /simple/padded/ (request on miss: mirrored,
#      inspected, measured by the background audit-size task),
#   2. N diff pages of 2.0 against the approved 1.0, all at once,
#   3. N file-viewer requests of its members, all at once,
# printing the `airlock serve` process's peak RSS (VmHWM) after each step
# and the statuses answered (503: the review memory budget was busy).
#
#   bench/memory_bench.sh [CONCURRENT]   (default 10)
#
# The server runs the README's defaults (review_memory_mb = 128). A test
# ceiling kills it past AIRLOCK_BENCH_CEILING_MIB (default 4096) so that a
# regression cannot take the machine down; the figure is then the last
# peak seen. AIRLOCK_BENCH_PROFILE=dev uses the dev build (quicker to
# build; inflating and hashing are optimized there too).
set -euo pipefail
cd "$(dirname "$0")/.."
export AIRLOCK_BENCH_CONCURRENT="${1:-10}"
profile=(--release)
[ "${AIRLOCK_BENCH_PROFILE:-release}" = dev ] && profile=()
cargo test "${profile[@]}" --quiet --test e2e_memory memory_figures_of_the_reported_release -- --ignored --nocapture 2>&1 \
    | grep -E '^(\||reported|killed)'
