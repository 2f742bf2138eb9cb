#!/usr/bin/env bash
# Qlib's TaskManager against taskpool's MongoDB backend, on one MongoDB-wire
# server: create (twice, half duplicates the second time), fetch/commit,
# stat. Prints a table with the ratios (Qlib time / taskpool time).
#
# Usage: bash benches/qlib/run.sh [--n N] [--fetch M] [--repeat R]
#
# - Creates a virtualenv (QLIB_BENCH_VENV, default $CARGO_TARGET_DIR/qlib-venv
#   or target/qlib-venv) with QLIB_BENCH_PYTHON (default python3.11) and
#   installs pyqlib==0.9.7 from PyPI into it (once).
# - Uses TASKPOOL_BENCH_MONGODB_URL if set; otherwise starts the server that
#   TASKPOOL_BENCH_MONGODB_SERVER names (ferretdb, the default, or
#   mongo-java-server) with ci/<server>/start.sh (as CI does) and stops it on
#   exit.
# - Builds and runs the `qlib_workloads` bench (cargo bench -p taskpool).
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
target="${CARGO_TARGET_DIR:-$root/target}"
venv="${QLIB_BENCH_VENV:-$target/qlib-venv}"
python="${QLIB_BENCH_PYTHON:-python3.11}"
pyqlib="${QLIB_BENCH_PYQLIB:-pyqlib==0.9.7}"

log() { printf 'qlib-bench: %s\n' "$*" >&2; }

if [[ ! -x "$venv/bin/python" ]]; then
    log "creating the virtualenv $venv ($python)"
    "$python" -m venv "$venv"
fi
if ! "$venv/bin/python" -c 'import qlib.workflow.task.manage' 2>/dev/null; then
    log "installing $pyqlib into $venv"
    "$venv/bin/pip" install --quiet "$pyqlib"
fi

if [[ -z "${TASKPOOL_BENCH_MONGODB_URL:-}" ]]; then
    case "${TASKPOOL_BENCH_MONGODB_SERVER:-ferretdb}" in
    ferretdb)
        eval "$(bash "$root/ci/ferretdb/start.sh")"
        trap 'kill "$TASKPOOL_FERRETDB_PID" 2>/dev/null || true; rm -rf "$TASKPOOL_FERRETDB_DIR"' EXIT
        ;;
    mongo-java-server)
        eval "$(bash "$root/ci/mongo-java-server/start.sh")"
        trap 'kill "$TASKPOOL_MONGO_JAVA_SERVER_PID" 2>/dev/null || true' EXIT
        ;;
    *)
        log "TASKPOOL_BENCH_MONGODB_SERVER must be ferretdb or mongo-java-server"
        exit 2
        ;;
    esac
    export TASKPOOL_BENCH_MONGODB_URL="$TASKPOOL_TEST_MONGODB_URL"
fi
log "server: $TASKPOOL_BENCH_MONGODB_URL (${TASKPOOL_BENCH_MONGODB_SERVER:-given by URL})"

log "building the taskpool side (cargo bench -p taskpool --bench qlib_workloads --no-run)"
(cd "$root" && cargo bench -p taskpool --bench qlib_workloads --no-run) >&2

"$venv/bin/python" "$root/benches/qlib/compare.py" --root "$root" "$@"
