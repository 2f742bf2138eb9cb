#!/usr/bin/env bash
# The soak test: what does not fit in CI (docs/reliability.md).
#
#   nice -n 19 bash scripts/soak.sh   # everything (hours on 2 cores)
#   SOAK_TASKS_PER_WORKER=1000 SOAK_KILLS=20 SOAK_FUZZ_CASES=100000 bash scripts/soak.sh   # a short run
#   SOAK_PARTS="ferretdb fuzz" bash scripts/soak.sh   # only some parts
#
# SOAK_PARTS names the parts to run (default all: sqlite ferretdb
# mongo-java-server fuzz). SOAK_JAVA_URL_OPTIONS are taskpool's URL options
# for mongo-java-server (default below; set it empty for none). FerretDB
# runs SOAK_FERRETDB_TASKS_PER_WORKER
# tasks per worker (default 25) under a SOAK_FERRETDB_LEASE-second lease
# (default 30), mongo-java-server under a SOAK_JAVA_LEASE-second one
# (default 10), SQLite under 2 s leases. SOAK_DRAIN_TIMEOUT
# (seconds, default 3600) bounds each drain. FerretDB v1 scans and sorts
# the whole collection for every claim and its findAndModify is not atomic,
# so concurrent claimers take the same task and, under 16 claimers, a claim
# outlasts a 2 s lease: at 8 x 1,000 the drain stalls (docs/reliability.md,
# "FerretDB: why its soak is small").
#
# Builds the release binary, then for each store that several processes can
# share (SQLite; MongoDB on FerretDB and on mongo-java-server when their
# start scripts work here) runs scripts/soak.py: SOAK_WORKERS `taskpool
# worker` processes drain SOAK_WORKERS x SOAK_TASKS_PER_WORKER tasks while
# SOAK_KILLS random workers are SIGKILLed and a few SIGSTOPped past their
# lease; SQLite also gets SIGKILLs in the middle of `taskpool create` and a
# `cp` of its file while workers write; FerretDB is killed and restarted on
# the same data directory mid-run; mongo-java-server, which keeps nothing
# across a restart, is killed and restarted on its port after the workers
# connected and drained a warm-up task each, before the tasks are created. Then the parser fuzz properties run with
# SOAK_FUZZ_CASES inputs each. Prints one summary table; exits 1 if anything
# was lost, done twice or inconsistent.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
export TASKPOOL_CACHE=${TASKPOOL_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/taskpool}
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$TASKPOOL_CACHE/target}
workers=${SOAK_WORKERS:-8}
per_worker=${SOAK_TASKS_PER_WORKER:-10000}
kills=${SOAK_KILLS:-100}
drain_timeout=${SOAK_DRAIN_TIMEOUT:-3600}
ferret_per_worker=${SOAK_FERRETDB_TASKS_PER_WORKER:-25}
ferret_lease=${SOAK_FERRETDB_LEASE:-30}
java_per_worker=${SOAK_JAVA_TASKS_PER_WORKER:-$per_worker}
java_lease=${SOAK_JAVA_LEASE:-10}
# taskpool's URL options for mongo-java-server: the lookup indexes, which that
# server needs to find a task by `_id` without scanning the pool
# (crates/task-store-mongo/README.md, "Index use of the hot queries"), and
# candidate lists of 256 kept up to 10 s: each list read sorts the whole
# pool there (80,000 tasks). A list is rechecked (two unsorted reads) at each
# lease expiry it does not cover and re-read only if a lease expired; before
# that recheck it was re-read at each one, hence the 10 s lease
# (docs/reliability.md).
java_url_options=${SOAK_JAVA_URL_OPTIONS-lookupIndexes=true&claimBatch=256&claimBatchMaxAgeMS=10000}
fuzz_cases=${SOAK_FUZZ_CASES:-1000000}
parts=" ${SOAK_PARTS:-sqlite ferretdb mongo-java-server fuzz} "
part() { [[ "$parts" == *" $1 "* ]]; }

step() { printf '\n==> %s\n' "$*" >&2; }
results=$(mktemp)
work=$(mktemp -d)
# The servers' pids live in files: a restart replaces them.
ferret_pidfile="$work/ferretdb.pid"
java_pidfile="$work/mongo-java-server.pid"
cleanup() {
    local pids=() file
    for file in "$ferret_pidfile" "$java_pidfile"; do
        [[ -f "$file" ]] && pids+=("$(cat "$file")")
    done
    kill "${pids[@]}" 2>/dev/null || true
    rm -rf "$work" "${TASKPOOL_FERRETDB_DIR:-/nonexistent}"
}
trap cleanup EXIT

if part sqlite || part ferretdb || part mongo-java-server; then
    step "release build"
    cargo build --release -p taskpool-cli >&2
fi
bin="$CARGO_TARGET_DIR/release/taskpool"

soak() { # label store tasks-per-worker [extra soak.py options…]
    local label=$1 store=$2 tasks=$3
    shift 3
    step "soak: $label ($workers workers x $tasks tasks, $kills kills)"
    python3 scripts/soak.py --bin "$bin" --store "$store" --label "$label" \
        --workers "$workers" --tasks-per-worker "$tasks" --kills "$kills" --timeout "$drain_timeout" "$@" |
        tee -a "$results" >&2 || true
}

if part sqlite; then
    soak sqlite "sqlite://$work/soak.db" "$per_worker" --create-kills 5
fi

if part ferretdb; then
    if eval "$(bash ci/ferretdb/start.sh)"; then
        echo "$TASKPOOL_FERRETDB_PID" >"$ferret_pidfile"
        ferret_bin=${TASKPOOL_FERRETDB_CACHE:-$TASKPOOL_CACHE/ferretdb-v1.24.2}/ferretdb-test
        ferret_port=${TASKPOOL_TEST_MONGODB_URL#mongodb://127.0.0.1:}
        ferret_port=${ferret_port%%/*}
        # SIGKILL the server (by its pid) and start it again on the same
        # port and data directory.
        restart="kill -9 \$(cat '$ferret_pidfile'); sleep 2; \
            nohup '$ferret_bin' -port $ferret_port -dir '$TASKPOOL_FERRETDB_DIR/db' \
            >>'$TASKPOOL_FERRETDB_DIR/server.log' 2>&1 </dev/null & echo \$! >'$ferret_pidfile'; sleep 1"
        soak mongodb-ferretdb "${TASKPOOL_TEST_MONGODB_URL%%\?*}soak?directConnection=true" \
            "$ferret_per_worker" --lease "$ferret_lease" --not-atomic \
            --restart-cmd "$restart" --restart-after 20
    else
        echo '{"label": "mongodb-ferretdb", "failures": ["FerretDB did not start"]}' >>"$results"
    fi
fi

if part mongo-java-server; then
    if eval "$(bash ci/mongo-java-server/start.sh)"; then
        echo "$TASKPOOL_MONGO_JAVA_SERVER_PID" >"$java_pidfile"
        java_port=${TASKPOOL_TEST_MONGODB_URL#mongodb://127.0.0.1:}
        java_port=${java_port%%/*}
        # SIGKILL the server (by its pid) and start an empty one on the same port.
        restart="kill -9 \$(cat '$java_pidfile'); sleep 1; \
            eval \"\$(fixed_port=$java_port bash ci/mongo-java-server/start.sh)\" && \
            echo \$TASKPOOL_MONGO_JAVA_SERVER_PID >'$java_pidfile'"
        soak mongodb-java-server "${TASKPOOL_TEST_MONGODB_URL%%\?*}soak?directConnection=true${java_url_options:+&$java_url_options}" \
            "$java_per_worker" --lease "$java_lease" --restart-before-work "$restart"
    else
        echo '{"label": "mongodb-java-server", "failures": ["the server did not start"]}' >>"$results"
    fi
fi

# Each parser's fuzz properties (their names hold "never_panics"), timed
# one parser at a time after one release build of the test harnesses.
fuzz_parsers=(
    "query query::fuzz::"
    "task-file task_file_never_panics"
    "gen-template template_never_panics"
    "calendar calendar_parse_never_panics"
    "run-config run_config_never_panics"
)
if part fuzz; then
    step "parser fuzzing: $fuzz_cases inputs per property"
    # The same packages and features every time: one build serves all.
    fuzz_test() {
        TASKPOOL_FUZZ_CASES=$fuzz_cases cargo test --release --all-features --lib \
            -p task-store -p taskpool-pipeline -p taskpool-experiment -p taskpool-cli "$@"
    }
    fuzz_test --no-run >&2
    for entry in "${fuzz_parsers[@]}"; do
        read -r label filter <<<"$entry"
        fuzz_start=$SECONDS
        if fuzz_test "$filter" >"$work/fuzz-$label.log" 2>&1; then
            failures='[]'
        else
            failures='["see the log above"]'
            tail -40 "$work/fuzz-$label.log" >&2
        fi
        properties=$(grep -c '^test .*never_panics.* ok$' "$work/fuzz-$label.log" || true)
        echo "{\"label\": \"fuzz $label\", \"properties\": $properties, \"cases_each\": $fuzz_cases, \"seconds\": $((SECONDS - fuzz_start)), \"failures\": $failures}" |
            tee -a "$results" >&2
    done
fi

step "summary ($(date -u +%Y-%m-%dT%H:%MZ), $(nproc) cores)"
python3 - "$results" <<'EOF'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if l.strip().startswith("{")]
cols = ["label", "planned_tasks", "done", "create_kills", "kills", "stops", "restarts", "workers_through_restart", "copy",
        "ran_twice_or_more", "executions", "acked_commits", "acked_overwritten", "integrity", "drain_s", "properties", "cases_each", "seconds"]
print("| " + " | ".join(cols + ["result"]) + " |")
print("|" + "---|" * (len(cols) + 1))
bad = 0
for r in rows:
    bad += bool(r.get("failures"))
    print("| " + " | ".join(str(r.get(c, "")) for c in cols) + " | " +
          ("; ".join(r["failures"]) if r.get("failures") else "ok") + " |")
sys.exit(1 if bad else 0)
EOF
