#!/usr/bin/env bash
# Build (once, cached) and start mongo-java-server (memory backend, atomic
# single-document updates) on a free 127.0.0.1 port, for taskpool's MongoDB
# backend tests. The same contract as ci/ferretdb/start.sh.
#
# Usage:  eval "$(bash ci/mongo-java-server/start.sh)"
#
# On success it prints, for the calling shell to eval:
#   export TASKPOOL_TEST_MONGODB_URL=mongodb://127.0.0.1:PORT/?directConnection=true
#   export TASKPOOL_TEST_MONGODB_SERVER=mongo-java-server
#   export TASKPOOL_MONGO_JAVA_SERVER_PID=PID
# The caller stops the server with `kill "$TASKPOOL_MONGO_JAVA_SERVER_PID"`
# (it keeps everything in memory: nothing to delete). Everything else (build
# output, the server log's location, errors) goes to stderr. Exits non-zero
# with a clear message if Java or Maven is missing, the build fails, or the
# server does not accept connections within
# TASKPOOL_MONGO_JAVA_SERVER_START_TIMEOUT seconds (default 60).
#
# Environment:
#   TASKPOOL_MONGO_JAVA_SERVER_CACHE          build cache dir (default
#                                             ${XDG_CACHE_HOME:-$HOME/.cache}/taskpool/mongo-java-server)
#   TASKPOOL_MONGO_JAVA_SERVER_START_TIMEOUT  seconds to wait for the port (default 60)
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cache="${TASKPOOL_MONGO_JAVA_SERVER_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/taskpool/mongo-java-server}"
timeout="${TASKPOOL_MONGO_JAVA_SERVER_START_TIMEOUT:-60}"
stamp_file="$cache/source.sha256"

log() { printf 'mongo-java-server: %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

command -v java >/dev/null 2>&1 || die "java (17 or newer) is not on PATH; it runs mongo-java-server"

# The classpath: the launcher's classes, then the jars Maven resolved.
classpath_ok() {
    [[ -f "$cache/classpath.txt" && -d "$cache/classes" ]] || return 1
    local jar
    while IFS= read -r jar; do
        [[ -f "$jar" ]] || return 1
    done < <(tr ':' '\n' <"$cache/classpath.txt")
}

# Rebuild only when the build is missing or the sources changed.
stamp="$(cat "$here/pom.xml" "$here"/src/main/java/taskpool/ci/*.java | sha256sum | cut -d' ' -f1)"
if [[ ! -f "$stamp_file" || "$(cat "$stamp_file")" != "$stamp" ]] || ! classpath_ok; then
    command -v mvn >/dev/null 2>&1 ||
        die "Maven (mvn) is not on PATH; it is needed to build mongo-java-server into $cache"
    mkdir -p "$cache"
    work="$(mktemp -d "${TMPDIR:-/tmp}/taskpool-mongo-java-server-build.XXXXXX")"
    cp -r "$here/pom.xml" "$here/src" "$work/"
    log "building mongo-java-server into $cache (the first build downloads it from Maven Central)"
    start=$SECONDS
    (cd "$work" && mvn -q -B package) >&2 || die "mvn package failed in $work"
    rm -rf "$cache/classes"
    cp -r "$work/target/classes" "$cache/classes"
    cp "$work/target/classpath.txt" "$cache/classpath.txt"
    rm -rf "$work"
    printf '%s\n' "$stamp" >"$stamp_file"
    log "built in $((SECONDS - start)) s"
fi

logs="$(mktemp -d "${TMPDIR:-/tmp}/taskpool-mongo-java-server.XXXXXX")"
# shellcheck source=../lib/start-server.sh
source "$here/../lib/start-server.sh"
start_listening mongo-java-server "$logs" "$timeout" \
    java -cp "$cache/classes:$(cat "$cache/classpath.txt")" taskpool.ci.Launcher PORT
printf "export TASKPOOL_TEST_MONGODB_URL='mongodb://127.0.0.1:%s/?directConnection=true'\n" "$port"
printf 'export TASKPOOL_TEST_MONGODB_SERVER=mongo-java-server\n'
printf 'export TASKPOOL_MONGO_JAVA_SERVER_PID=%s\n' "$pid"
