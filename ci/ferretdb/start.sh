#!/usr/bin/env bash
# Build (once, cached) and start a FerretDB v1 test server (SQLite handler) on
# a free 127.0.0.1 port with a fresh data directory, for taskpool's MongoDB
# backend tests.
#
# Usage:  eval "$(bash ci/ferretdb/start.sh)"
#
# On success it prints, for the calling shell to eval:
#   export TASKPOOL_TEST_MONGODB_URL=mongodb://127.0.0.1:PORT/?directConnection=true
#   export TASKPOOL_FERRETDB_PID=PID
#   export TASKPOOL_FERRETDB_DIR=DATA_DIR
# The caller stops the server with `kill "$TASKPOOL_FERRETDB_PID"` and may
# delete "$TASKPOOL_FERRETDB_DIR". Everything else (build output, server log
# location, errors) goes to stderr. Exits non-zero with a clear message if Go
# is missing, the build fails, or the server does not accept connections
# within TASKPOOL_FERRETDB_START_TIMEOUT seconds (default 60).
#
# Environment:
#   TASKPOOL_FERRETDB_CACHE          binary cache dir
#                                    (default ${XDG_CACHE_HOME:-$HOME/.cache}/taskpool/ferretdb-v1.24.2)
#   TASKPOOL_FERRETDB_START_TIMEOUT  seconds to wait for the port (default 60)
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cache="${TASKPOOL_FERRETDB_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/taskpool/ferretdb-v1.24.2}"
timeout="${TASKPOOL_FERRETDB_START_TIMEOUT:-60}"
bin="$cache/ferretdb-test"
stamp_file="$cache/source.sha256"

log() { printf 'ferretdb: %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

# Rebuild only when the binary is missing or the sources changed.
stamp="$(cat "$here/main.go" "$here/go.mod" "$here/go.sum" | sha256sum | cut -d' ' -f1)"
if [[ ! -x "$bin" || ! -f "$stamp_file" || "$(cat "$stamp_file")" != "$stamp" ]]; then
    command -v go >/dev/null 2>&1 ||
        die "the Go toolchain (go >= 1.24) is not on PATH; it is needed to build FerretDB into $bin"
    mkdir -p "$cache"
    log "building FerretDB into $bin (first build takes minutes)"
    start=$SECONDS
    (cd "$here" && go build -o "$bin.tmp" .) >&2 || die "go build failed in $here"
    mv "$bin.tmp" "$bin"
    printf '%s\n' "$stamp" >"$stamp_file"
    log "built in $((SECONDS - start)) s"
fi

# A fresh data directory, in memory when /dev/shm is available.
if [[ -d /dev/shm && -w /dev/shm ]]; then
    data="$(mktemp -d /dev/shm/taskpool-ferretdb.XXXXXX)"
else
    data="$(mktemp -d "${TMPDIR:-/tmp}/taskpool-ferretdb.XXXXXX")"
fi

free_port() {
    if command -v python3 >/dev/null 2>&1; then
        python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
    else
        local port
        for _ in $(seq 1 50); do
            port=$((20000 + RANDOM % 40000))
            if ! (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
                echo "$port"
                return
            fi
        done
        return 1
    fi
}

accepts() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# The port may be taken between choosing it and binding it: retry a few times.
for try in 1 2 3; do
    port="$(free_port)" || die "could not find a free TCP port on 127.0.0.1"
    server_log="$data/server.log"
    "$bin" -port "$port" -dir "$data/db" >"$server_log" 2>&1 </dev/null &
    pid=$!
    deadline=$((SECONDS + timeout))
    while ! accepts "$port"; do
        if ! kill -0 "$pid" 2>/dev/null; then
            break
        fi
        if ((SECONDS >= deadline)); then
            kill "$pid" 2>/dev/null || true
            tail -n 20 "$server_log" >&2 || true
            die "FerretDB (pid $pid) did not accept connections on 127.0.0.1:$port within ${timeout} s; log: $server_log"
        fi
        sleep 0.1
    done
    if kill -0 "$pid" 2>/dev/null; then
        log "pid $pid listening on 127.0.0.1:$port, data in $data/db, log $server_log"
        printf "export TASKPOOL_TEST_MONGODB_URL='mongodb://127.0.0.1:%s/?directConnection=true'\n" "$port"
        printf 'export TASKPOOL_FERRETDB_PID=%s\n' "$pid"
        printf "export TASKPOOL_FERRETDB_DIR='%s'\n" "$data"
        exit 0
    fi
    log "attempt $try: FerretDB exited before listening on port $port:"
    tail -n 20 "$server_log" >&2 || true
done
die "FerretDB failed to start three times; see $data/server.log"
