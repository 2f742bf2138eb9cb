#!/usr/bin/env bash
# taskpool's Python package vs Qlib's TaskManager on one MongoDB-wire server,
# and the binding's per-call overhead vs the Rust API on SQLite.
#
# Usage: bash benches/python/run.sh [--n N] [--fetch M] [--repeat R] [--json FILE]
#
# - A virtualenv (PY_BENCH_VENV, default $CARGO_TARGET_DIR/python-bench-venv or
#   target/python-bench-venv) with PY_BENCH_PYTHON (default python3.11), pyqlib
#   from PyPI (as benches/qlib/run.sh) and `pip install ./python` (a release build).
# - TASKPOOL_BENCH_MONGODB_URL if set; otherwise FerretDB from ci/ferretdb/start.sh,
#   stopped on exit.
# - Builds the Rust baseline (cargo bench -p taskpool --bench python_binding).
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
target="${CARGO_TARGET_DIR:-$root/target}"
venv="${PY_BENCH_VENV:-$target/python-bench-venv}"
python="${PY_BENCH_PYTHON:-python3.11}"
pyqlib="${QLIB_BENCH_PYQLIB:-pyqlib==0.9.7}"

log() { printf 'python-bench: %s\n' "$*" >&2; }

if [[ ! -x "$venv/bin/python" ]]; then
    log "creating the virtualenv $venv ($python)"
    "$python" -m venv "$venv"
fi
if ! "$venv/bin/python" -c 'import qlib.workflow.task.manage' 2>/dev/null; then
    log "installing $pyqlib into $venv"
    "$venv/bin/pip" install --quiet "$pyqlib"
fi
log "installing taskpool (pip install ./python, release build)"
"$venv/bin/pip" install --quiet "$root/python"

if [[ -z "${TASKPOOL_BENCH_MONGODB_URL:-}" ]]; then
    eval "$(bash "$root/ci/ferretdb/start.sh")"
    trap 'kill "$TASKPOOL_FERRETDB_PID" 2>/dev/null || true; rm -rf "$TASKPOOL_FERRETDB_DIR"' EXIT
    export TASKPOOL_BENCH_MONGODB_URL="$TASKPOOL_TEST_MONGODB_URL"
fi

log "building the Rust baseline (cargo bench -p taskpool --bench python_binding --no-run)"
(cd "$root" && cargo bench -p taskpool --bench python_binding --no-run) >&2

cd "$root"
"$venv/bin/python" "$root/benches/python/bench.py" --root "$root" "$@"
