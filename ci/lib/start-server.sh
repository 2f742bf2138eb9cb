# Shared by ci/*/start.sh (sourced, not run): start a test server on a free
# 127.0.0.1 port and wait until it accepts connections.
#
# The sourcing script defines `log` and `die` (messages to stderr).

# A free TCP port on 127.0.0.1.
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

# Whether something accepts connections on 127.0.0.1:$1.
accepts() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# start_listening NAME LOG_DIR TIMEOUT COMMAND...: run COMMAND with the
# placeholder PORT replaced by a free port (or by $fixed_port when the
# sourcing script sets it, e.g. to restart a server where its clients
# expect it), in the background, logging to LOG_DIR/server-PORT.log, until it
# accepts connections. A free port may be taken between choosing it and
# binding it, so this tries three times. Sets `port`, `pid` and
# `server_log`; dies if the server never listens.
start_listening() {
    local name="$1" log_dir="$2" timeout="$3"
    shift 3
    local try deadline arg
    local -a cmd
    if [[ -n "${fixed_port:-}" ]] && accepts "$fixed_port"; then
        die "127.0.0.1:$fixed_port already accepts connections: cannot start $name there"
    fi
    for try in 1 2 3; do
        if [[ -n "${fixed_port:-}" ]]; then
            port="$fixed_port"
        else
            port="$(free_port)" || die "could not find a free TCP port on 127.0.0.1"
        fi
        server_log="$log_dir/server-$port.log"
        cmd=()
        for arg in "$@"; do cmd+=("${arg//PORT/$port}"); done
        "${cmd[@]}" >"$server_log" 2>&1 </dev/null &
        pid=$!
        deadline=$((SECONDS + timeout))
        while ! accepts "$port"; do
            if ! kill -0 "$pid" 2>/dev/null; then
                break
            fi
            if ((SECONDS >= deadline)); then
                kill "$pid" 2>/dev/null || true
                tail -n 20 "$server_log" >&2 || true
                die "$name (pid $pid) did not accept connections on 127.0.0.1:$port within ${timeout} s; log: $server_log"
            fi
            sleep 0.1
        done
        if kill -0 "$pid" 2>/dev/null; then
            log "pid $pid listening on 127.0.0.1:$port, log $server_log"
            return 0
        fi
        log "attempt $try: $name exited before listening on port $port:"
        tail -n 20 "$server_log" >&2 || true
    done
    die "$name failed to start three times; see $log_dir"
}
