# Sourced by benches/qlib/run.sh and benches/python/run.sh: the virtualenv
# with Qlib, and the MongoDB-wire server both sides of the comparison use.
#
#   source benches/support/qlib-bench.sh
#   qlib_bench_venv VENV [--taskpool]   # create VENV if missing, install pyqlib
#                                       # (and `pip install ./python` with --taskpool)
#   qlib_bench_server                   # start the server unless a URL is given
#
# Environment:
#   QLIB_BENCH_PYTHON          the Python that creates the venv (default python3.11)
#   QLIB_BENCH_PYQLIB          the pyqlib requirement (default pyqlib==0.9.7, from PyPI)
#   TASKPOOL_BENCH_MONGODB_URL use this server; otherwise start the server that
#   TASKPOOL_BENCH_MONGODB_SERVER names (ferretdb, the default, or
#                              mongo-java-server) with ci/<server>/start.sh, as CI
#                              does, and stop it when the script exits.
# qlib_bench_server exports TASKPOOL_BENCH_MONGODB_URL and, when it started the
# server, TASKPOOL_BENCH_SERVER_PID (the benches then report the server's CPU
# time per workload).

qlib_bench_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"

qlib_bench_log() { printf 'qlib-bench: %s\n' "$*" >&2; }

qlib_bench_venv() {
    local venv="$1" with_taskpool="${2:-}"
    local python="${QLIB_BENCH_PYTHON:-python3.11}"
    local pyqlib="${QLIB_BENCH_PYQLIB:-pyqlib==0.9.7}"
    if [[ ! -x "$venv/bin/python" ]]; then
        qlib_bench_log "creating the virtualenv $venv ($python)"
        "$python" -m venv "$venv"
    fi
    if ! "$venv/bin/python" -c 'import qlib.workflow.task.manage' 2>/dev/null; then
        qlib_bench_log "installing $pyqlib into $venv"
        "$venv/bin/pip" install --quiet "$pyqlib"
    fi
    if [[ "$with_taskpool" == --taskpool ]]; then
        qlib_bench_log "installing taskpool (pip install ./python, release build in ${CARGO_TARGET_DIR:-the default target dir})"
        "$venv/bin/pip" install --quiet "$qlib_bench_root/python"
    fi
}

qlib_bench_server() {
    if [[ -z "${TASKPOOL_BENCH_MONGODB_URL:-}" ]]; then
        case "${TASKPOOL_BENCH_MONGODB_SERVER:-ferretdb}" in
        ferretdb)
            eval "$(bash "$qlib_bench_root/ci/ferretdb/start.sh")"
            trap 'kill "$TASKPOOL_FERRETDB_PID" 2>/dev/null || true; rm -rf "$TASKPOOL_FERRETDB_DIR"' EXIT
            export TASKPOOL_BENCH_SERVER_PID="$TASKPOOL_FERRETDB_PID"
            ;;
        mongo-java-server)
            eval "$(bash "$qlib_bench_root/ci/mongo-java-server/start.sh")"
            trap 'kill "$TASKPOOL_MONGO_JAVA_SERVER_PID" 2>/dev/null || true' EXIT
            export TASKPOOL_BENCH_SERVER_PID="$TASKPOOL_MONGO_JAVA_SERVER_PID"
            ;;
        *)
            qlib_bench_log "TASKPOOL_BENCH_MONGODB_SERVER must be ferretdb or mongo-java-server"
            exit 2
            ;;
        esac
        export TASKPOOL_BENCH_MONGODB_URL="$TASKPOOL_TEST_MONGODB_URL"
    fi
    qlib_bench_log "server: $TASKPOOL_BENCH_MONGODB_URL (${TASKPOOL_BENCH_MONGODB_SERVER:-given by URL})"
}
