# Process and port handling shared by the bench scripts (sourced, not run).
# Each script sets NAME (its name in messages) before sourcing this.

stop_pid() { # PID: stop one process we started, by its PID, and reap it
  local pid=$1
  [ -n "$pid" ] || return 0
  kill -TERM "$pid" 2>/dev/null || return 0
  for _ in $(seq 100); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  kill -KILL "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
}

free_port() { # a loopback port nothing uses now
  local p
  for _ in $(seq 100); do
    p=$((20000 + RANDOM % 20000))
    ss -Htan "sport = :$p" | grep -q . || { echo "$p"; return; }
  done
  echo "$NAME: no free port" >&2
  exit 1
}

wait_http() { # URL PATTERN SECONDS: poll until the body matches (bounded)
  local deadline=$((SECONDS + $3))
  until curl -fsS --max-time 2 "$1" 2>/dev/null | grep -q "$2"; do
    [ $SECONDS -lt $deadline ] || { echo "$NAME: $1 not ready after $3 s" >&2; return 1; }
    sleep 0.2
  done
}

# Thousands of sockets per process: the servers we start inherit this.
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)"
