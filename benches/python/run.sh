#!/usr/bin/env bash
# taskpool's Python package vs Qlib's TaskManager on one MongoDB-wire server,
# and the binding's per-call overhead vs the Rust API on SQLite.
#
# Usage: bash benches/python/run.sh [--n N] [--fetch M] [--repeat R] [--runs K]
#                                   [--warmup W] [--skip-sqlite] [--json FILE]
#
# - The virtualenv of benches/qlib/run.sh (QLIB_BENCH_VENV, default
#   $CARGO_TARGET_DIR/qlib-venv or target/qlib-venv) with pyqlib from PyPI,
#   plus `pip install ./python` (a release build in $CARGO_TARGET_DIR), and
#   the MongoDB-wire server (TASKPOOL_BENCH_MONGODB_URL, else
#   TASKPOOL_BENCH_MONGODB_SERVER=ferretdb or mongo-java-server started for the
#   run): benches/support/qlib-bench.sh.
# - Unless --skip-sqlite: builds the Rust baseline (cargo bench -p taskpool
#   --bench python_binding).
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$root/target}"
source "$root/benches/support/qlib-bench.sh"

venv="${QLIB_BENCH_VENV:-$CARGO_TARGET_DIR/qlib-venv}"
qlib_bench_venv "$venv" --taskpool
qlib_bench_server

if [[ " $* " != *" --skip-sqlite "* ]]; then
    qlib_bench_log "building the Rust baseline (cargo bench -p taskpool --bench python_binding --no-run)"
    (cd "$root" && cargo bench -p taskpool --bench python_binding --no-run) >&2
fi

cd "$root"
"$venv/bin/python" "$root/benches/python/bench.py" --root "$root" "$@"
