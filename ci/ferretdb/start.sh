#!/usr/bin/env bash
# Build (once, cached) and start a FerretDB v1 test server (SQLite handler) on
# a free 127.0.0.1 port with a fresh data directory, for taskpool's MongoDB
# backend tests.
#
# Usage:  eval "$(bash ci/ferretdb/start.sh)"
#
# On success it prints, for the calling shell to eval:
#   export TASKPOOL_TEST_MONGODB_URL=mongodb://127.0.0.1:PORT/?directConnection=true
#   export TASKPOOL_TEST_MONGODB_SERVER=ferretdb
#   export TASKPOOL_FERRETDB_PID=PID
#   export TASKPOOL_FERRETDB_DIR=DATA_DIR
# The caller stops the server with `kill "$TASKPOOL_FERRETDB_PID"` and may
# delete "$TASKPOOL_FERRETDB_DIR". Everything else (build output, server log
# location, errors) goes to stderr. Exits non-zero with a clear message if Go
# is missing, the build fails, or the server does not accept connections
# within TASKPOOL_FERRETDB_START_TIMEOUT seconds (default 60).
#
# Restart:  bash ci/ferretdb/start.sh --restart DATA_DIR PORT
# starts a server on the data of an earlier one (the DATA_DIR it printed) and
# on its port, so that clients holding its URL find it again (the fault tests
# kill FerretDB mid-run and restart it so). It prints the same lines.
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

# A fresh data directory, in memory when /dev/shm is available, unless an
# earlier server's is given.
if [[ "${1:-}" == --restart ]]; then
    [[ $# -eq 3 ]] || die "usage: $0 --restart DATA_DIR PORT"
    data="$2"
    fixed_port="$3"
    [[ -d "$data/db" ]] || die "$data holds no FerretDB data ($data/db is missing)"
elif [[ $# -ne 0 ]]; then
    die "usage: $0 [--restart DATA_DIR PORT]"
elif [[ -d /dev/shm && -w /dev/shm ]]; then
    data="$(mktemp -d /dev/shm/taskpool-ferretdb.XXXXXX)"
else
    data="$(mktemp -d "${TMPDIR:-/tmp}/taskpool-ferretdb.XXXXXX")"
fi

# shellcheck source=../lib/start-server.sh
source "$here/../lib/start-server.sh"
start_listening FerretDB "$data" "$timeout" "$bin" -port PORT -dir "$data/db"
log "data in $data/db"
printf "export TASKPOOL_TEST_MONGODB_URL='mongodb://127.0.0.1:%s/?directConnection=true'\n" "$port"
printf 'export TASKPOOL_TEST_MONGODB_SERVER=ferretdb\n'
printf 'export TASKPOOL_FERRETDB_PID=%s\n' "$pid"
printf "export TASKPOOL_FERRETDB_DIR='%s'\n" "$data"
