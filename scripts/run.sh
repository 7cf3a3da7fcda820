#!/usr/bin/env bash
# Runs the whole sheetsync stack locally: MariaDB + writer, resolver, ingest, gateway.
#
#   scripts/run.sh          build (Release, build/), start, print how to call it, stay in the
#                           foreground until Ctrl-C, then stop everything it started
#   scripts/run.sh start    the same but return once ready (also SHEETSYNC_DETACH=1)
#   scripts/run.sh stop     stop a running stack by its PID files
#
# State lives in .sheetsync/ (git-ignored; SHEETSYNC_STATE_DIR names another directory, e.g. the
# e2e `stack` fixture's): mariadb/ (data kept across runs), logs/, pids/, token and mysql_password
# (generated once, reused), run.env (written once /readyz answers 200).
#
# Environment overrides: SHEETSYNC_GATEWAY_TOKEN, SHEETSYNC_GATEWAY_PORT (8080),
# SHEETSYNC_MYSQL_PORT (3307), SHEETSYNC_MYSQL_USER / _PASSWORD / _DATABASE (sheetsync),
# SHEETSYNC_{INGEST,RESOLVER,WRITER}_PORT (7001/7002/7003),
# SHEETSYNC_{INGEST,RESOLVER,WRITER}_METRICS_PORT (9101/9102/9103), SHEETSYNC_TABLES (users),
# SHEETSYNC_BUILD_DIR (build), SHEETSYNC_SKIP_BUILD=1 (use the binaries as they are).
# A busy default port is replaced by a free one; a busy port given explicitly is an error.
set -euo pipefail
# shellcheck source=scripts/lib.sh
source "$(dirname "$0")/lib.sh"

STATE_DIR=${SHEETSYNC_STATE_DIR:-$SHEETSYNC_ROOT/.sheetsync}
mkdir -p "$STATE_DIR"
STATE_DIR=$(cd "$STATE_DIR" && pwd)
PID_DIR=$STATE_DIR/pids
LOG_DIR=$STATE_DIR/logs
MYSQL_DIR=$STATE_DIR/mariadb
RUN_ENV=$STATE_DIR/run.env
BUILD_DIR=${SHEETSYNC_BUILD_DIR:-$SHEETSYNC_ROOT/build}

# Start order; stop runs it backwards. The number keeps the PID files in this order.
SERVICES=(1-writer 2-resolver 3-ingest 4-gateway)
declare -A BINARY=(
  [1-writer]=$BUILD_DIR/services/writer/sheetsync-writer
  [2-resolver]=$BUILD_DIR/services/resolver/sheetsync-resolver
  [3-ingest]=$BUILD_DIR/services/ingest/sheetsync-ingest
  [4-gateway]=$BUILD_DIR/gateway/sheetsync-gateway
)
USED_PORTS=" "
# PIDs this shell spawned: our unreaped children, so never recycled and safe to signal.
declare -A CHILD_PID=()

# Succeeds when PID runs a binary named like BINARY (guards against PID reuse;
# the directory may differ when the stack was started with another build dir):
# argv[0] is the binary, or argv[1] when it is a script run by its interpreter.
pid_runs() {
  local pid=$1 name=${2##*/} argv
  pid_alive "$pid" || return 1
  mapfile -t -n 2 argv < <(tr '\0' '\n' <"/proc/$pid/cmdline" 2>/dev/null)
  [[ ${argv[0]:-} == *"/$name" || ${argv[1]:-} == *"/$name" ]]
}

# Prints "NAME PID" of every service whose PID file names a live process of ours.
running_services() {
  local name pid
  for name in "${SERVICES[@]}"; do
    [[ -f $PID_DIR/$name.pid ]] || continue
    pid=$(<"$PID_DIR/$name.pid")
    pid_runs "$pid" "${BINARY[$name]}" && printf '%s %s\n' "$name" "$pid"
  done
  return 0
}

# Stops the services (reverse start order) and then MariaDB; removes run.env.
stop_stack() {
  local i name pid
  rm -f "$RUN_ENV"
  for ((i = ${#SERVICES[@]} - 1; i >= 0; i--)); do
    name=${SERVICES[i]}
    [[ -f $PID_DIR/$name.pid ]] || continue
    pid=$(<"$PID_DIR/$name.pid")
    if [[ ${CHILD_PID[$name]:-} == "$pid" ]] || pid_runs "$pid" "${BINARY[$name]}"; then
      log_info "stopping ${name#*-} (pid $pid)"
      stop_pid "$pid" 15 || log_info "could not stop ${name#*-} (pid $pid)"
    elif pid_alive "$pid"; then
      log_info "pid $pid in $name.pid is no longer ${name#*-}; leaving it alone"
    else
      wait "$pid" 2>/dev/null || true
    fi
    rm -f "$PID_DIR/$name.pid"
  done
  if [[ -d $MYSQL_DIR ]]; then
    log_info "stopping MariaDB"
    mariadb_stop "$MYSQL_DIR" || log_info "could not stop MariaDB"
  fi
}

# Sets PORT to the port for VAR: its value when set (must be free), else DEFAULT
# when free, else a free port from the kernel. Never repeats a port chosen before.
# (Sets a global rather than printing: USED_PORTS must survive the call.)
pick_port() {
  local var=$1 default=$2 port
  if [[ -n ${!var:-} ]]; then
    port=${!var}
    [[ $port =~ ^[0-9]+$ ]] || die "$var=$port is not a port number"
    port_is_free "$port" || die "$var=$port: port is busy"
  elif [[ $USED_PORTS != *" $default "* ]] && port_is_free "$default"; then
    port=$default
  else
    port=$(free_port)
    while [[ $USED_PORTS == *" $port "* ]]; do port=$(free_port); done
    log_info "port $default is busy; using $port for $var"
  fi
  USED_PORTS+="$port "
  PORT=$port
}

# Prints the secret stored in FILE, creating it (mode 600) on first use.
persistent_secret() {
  local file=$1
  if [[ ! -s $file ]]; then
    (umask 077 && random_hex 24 >"$file.tmp" && mv "$file.tmp" "$file")
  fi
  tr -d '\n' <"$file"
}

# Starts NAME in its own session with stdio on its log; records its PID.
spawn() {
  local name=$1; shift
  local log=$LOG_DIR/${name#*-}.log
  : >"$log"
  setsid "${BINARY[$name]}" "$@" </dev/null >>"$log" 2>&1 &
  CHILD_PID[$name]=$!
  printf '%s\n' "$!" >"$PID_DIR/$name.pid"
  log_info "started ${name#*-} (pid $!), log $log"
}

print_log_tails() {
  local f lines
  for f in "$LOG_DIR"/*.log "$MYSQL_DIR/error.log"; do
    [[ -f $f ]] || continue
    lines=40
    [[ $f == "$MYSQL_DIR/error.log" ]] && lines=10
    printf '\n===== tail of %s =====\n' "$f" >&2
    tail -n "$lines" "$f" >&2
  done
}

# Waits until GET /readyz answers 200; fails early when a service exits.
wait_ready() {
  local url=$1 timeout=$2 i code name pid
  for ((i = 0; i < timeout * 4; i++)); do
    code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 2 "$url/readyz" || true)
    [[ $code == 200 ]] && return 0
    for name in "${SERVICES[@]}"; do
      pid=$(<"$PID_DIR/$name.pid")
      pid_alive "$pid" || { log_info "${name#*-} exited during start-up"; return 1; }
    done
    sleep 0.25
  done
  log_info "gateway $url/readyz did not answer 200 within ${timeout}s (last: ${code:-none})"
  return 1
}

write_run_env() {
  local tmp key
  tmp=$(umask 077 && mktemp "$RUN_ENV.XXXXXX")
  for key in SHEETSYNC_GATEWAY_URL SHEETSYNC_GATEWAY_TOKEN SHEETSYNC_MYSQL_HOST \
    SHEETSYNC_MYSQL_PORT SHEETSYNC_MYSQL_USER SHEETSYNC_MYSQL_PASSWORD SHEETSYNC_MYSQL_DATABASE \
    SHEETSYNC_METRICS_URLS SHEETSYNC_GRPC_ADDRS; do
    printf '%s=%q\n' "$key" "${!key}" >>"$tmp"
  done
  mv "$tmp" "$RUN_ENV"
}

single_quote() {  # prints $1 quoted for a POSIX shell
  printf "'%s'" "${1//\'/\'\\\'\'}"
}

print_usage_hint() {
  local body
  body=$(printf '{"table":"users","changes":[{"event_id":"%s","row_id":"%s","updated_at":"%s","cells":{"name":"Ada"}}]}' \
    "$(cat /proc/sys/kernel/random/uuid)" "$(cat /proc/sys/kernel/random/uuid)" \
    "$(date -u +%Y-%m-%dT%H:%M:%S.%3NZ)")
  cat <<EOF

sheetsync is ready.
  gateway:  $SHEETSYNC_GATEWAY_URL
  token:    $SHEETSYNC_GATEWAY_TOKEN
  MySQL:    $SHEETSYNC_MYSQL_USER@$SHEETSYNC_MYSQL_HOST:$SHEETSYNC_MYSQL_PORT/$SHEETSYNC_MYSQL_DATABASE
  settings: $RUN_ENV (source it)
  logs:     $LOG_DIR/

Try one edit:
  curl -sS -X POST $(single_quote "$SHEETSYNC_GATEWAY_URL/v1/edits") \\
    -H $(single_quote "Authorization: Bearer $SHEETSYNC_GATEWAY_TOKEN") \\
    -H 'Content-Type: application/json' \\
    -d '$body'

EOF
}

start_stack() {
  local running name
  running=$(running_services)
  [[ -z $running ]] || die "already running (${running//$'\n'/, }); use: scripts/run.sh stop"
  ensure_packages
  [[ ${SHEETSYNC_SKIP_BUILD:-0} == 1 ]] || build_project "$BUILD_DIR" Release
  for name in "${SERVICES[@]}"; do
    [[ -x ${BINARY[$name]} ]] || die "missing binary ${BINARY[$name]}"
  done
  mkdir -p "$PID_DIR" "$LOG_DIR" "$MYSQL_DIR"
  rm -f "$PID_DIR"/*.pid "$RUN_ENV"
  trap 'log_info "start-up failed"; print_log_tails; stop_stack' EXIT
  trap 'exit 130' INT TERM

  local sock mysql_port
  sock=$(mariadb_socket "$MYSQL_DIR")
  if mysql_port=$(mariadb_port "$sock" 2>/dev/null); then
    log_info "reusing the MariaDB left running on port $mysql_port"
    USED_PORTS+="$mysql_port "
  else
    pick_port SHEETSYNC_MYSQL_PORT 3307
    mysql_port=$PORT
    mariadb_start "$MYSQL_DIR" "$mysql_port"
  fi
  SHEETSYNC_MYSQL_HOST=127.0.0.1
  SHEETSYNC_MYSQL_PORT=$mysql_port
  SHEETSYNC_MYSQL_USER=${SHEETSYNC_MYSQL_USER:-sheetsync}
  SHEETSYNC_MYSQL_DATABASE=${SHEETSYNC_MYSQL_DATABASE:-sheetsync}
  SHEETSYNC_MYSQL_PASSWORD=${SHEETSYNC_MYSQL_PASSWORD:-$(persistent_secret "$STATE_DIR/mysql_password")}
  SHEETSYNC_GATEWAY_TOKEN=${SHEETSYNC_GATEWAY_TOKEN:-$(persistent_secret "$STATE_DIR/token")}
  mysql_bootstrap "$sock" "$SHEETSYNC_MYSQL_DATABASE" "$SHEETSYNC_MYSQL_USER" "$SHEETSYNC_MYSQL_PASSWORD"

  local h=127.0.0.1 gw ing res wri ing_m res_m wri_m
  pick_port SHEETSYNC_GATEWAY_PORT 8080 && gw=$PORT
  pick_port SHEETSYNC_INGEST_PORT 7001 && ing=$PORT
  pick_port SHEETSYNC_RESOLVER_PORT 7002 && res=$PORT
  pick_port SHEETSYNC_WRITER_PORT 7003 && wri=$PORT
  pick_port SHEETSYNC_INGEST_METRICS_PORT 9101 && ing_m=$PORT
  pick_port SHEETSYNC_RESOLVER_METRICS_PORT 9102 && res_m=$PORT
  pick_port SHEETSYNC_WRITER_METRICS_PORT 9103 && wri_m=$PORT

  # Secrets travel in the environment (SHEETSYNC_MYSQL_PASSWORD, SHEETSYNC_GATEWAY_TOKEN),
  # not on command lines that every user can read in /proc.
  SHEETSYNC_MYSQL_PASSWORD=$SHEETSYNC_MYSQL_PASSWORD spawn 1-writer \
    "--listen=$h:$wri" "--metrics_listen=$h:$wri_m" "--mysql_host=$h" "--mysql_port=$mysql_port" \
    "--mysql_user=$SHEETSYNC_MYSQL_USER" "--mysql_database=$SHEETSYNC_MYSQL_DATABASE" \
    "--tables=${SHEETSYNC_TABLES:-users}"
  spawn 2-resolver "--listen=$h:$res" "--metrics_listen=$h:$res_m" "--writer_addr=$h:$wri"
  spawn 3-ingest "--listen=$h:$ing" "--metrics_listen=$h:$ing_m" "--resolver_addr=$h:$res" \
    "--writer_addr=$h:$wri"
  SHEETSYNC_GATEWAY_TOKEN=$SHEETSYNC_GATEWAY_TOKEN spawn 4-gateway "--listen=$h:$gw" \
    "--ingest_addr=$h:$ing" "--writer_addr=$h:$wri" "--ready_addrs=$h:$ing,$h:$res,$h:$wri"

  # Read through ${!key} in write_run_env.
  # shellcheck disable=SC2034
  SHEETSYNC_GATEWAY_URL=http://$h:$gw \
    SHEETSYNC_METRICS_URLS="http://$h:$gw/metrics http://$h:$ing_m/metrics http://$h:$res_m/metrics http://$h:$wri_m/metrics" \
    SHEETSYNC_GRPC_ADDRS="$h:$ing $h:$res $h:$wri"
  wait_ready "$SHEETSYNC_GATEWAY_URL" 60
  write_run_env
  trap - EXIT INT TERM
  print_usage_hint
}

# Stays in the foreground until Ctrl-C/SIGTERM or until a service exits.
supervise() {
  trap 'printf "\n" >&2; stop_stack; exit 0' INT TERM
  log_info "running; press Ctrl-C to stop"
  local name pid
  while true; do
    for name in "${SERVICES[@]}"; do
      if ! pid=$(cat "$PID_DIR/$name.pid" 2>/dev/null); then
        log_info "stopped by 'scripts/run.sh stop'"
        exit 0
      fi
      if ! pid_alive "$pid"; then
        wait "$pid" 2>/dev/null && true
        log_info "${name#*-} (pid $pid) exited with status $?"
        print_log_tails
        stop_stack
        exit 1
      fi
    done
    sleep 1 &
    wait $! || true
  done
}

main() {
  case ${1:-run} in
    run)
      start_stack
      [[ ${SHEETSYNC_DETACH:-0} == 1 ]] || supervise
      ;;
    start) start_stack ;;
    stop)
      local running
      running=$(running_services)
      [[ -n $running ]] || log_info "no sheetsync service is running"
      stop_stack
      ;;
    *) die "usage: $0 [run|start|stop]" ;;
  esac
}

main "$@"
