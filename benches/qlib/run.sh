#!/usr/bin/env bash
# Qlib's TaskManager against taskpool's MongoDB backend, on one MongoDB-wire
# server: create (twice, half duplicates the second time), fetch/commit,
# stat. Prints a table with the medians of --runs runs and the ratios (Qlib
# time / taskpool time).
#
# Usage: bash benches/qlib/run.sh [--n N] [--fetch M] [--repeat R] [--runs K] [--json FILE]
#
# - A virtualenv (QLIB_BENCH_VENV, default $CARGO_TARGET_DIR/qlib-venv or
#   target/qlib-venv) with pyqlib from PyPI, and the MongoDB-wire server
#   (TASKPOOL_BENCH_MONGODB_URL, else TASKPOOL_BENCH_MONGODB_SERVER=ferretdb or
#   mongo-java-server started for the run): benches/support/qlib-bench.sh.
# - Builds and runs the `qlib_workloads` bench (cargo bench -p taskpool).
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$root/target}"
source "$root/benches/support/qlib-bench.sh"

venv="${QLIB_BENCH_VENV:-$CARGO_TARGET_DIR/qlib-venv}"
qlib_bench_venv "$venv"
qlib_bench_server

qlib_bench_log "building the taskpool side (cargo bench -p taskpool --bench qlib_workloads --no-run)"
(cd "$root" && cargo bench -p taskpool --bench qlib_workloads --no-run) >&2

"$venv/bin/python" "$root/benches/qlib/compare.py" --root "$root" "$@"
