# shellcheck shell=bash
# Shared helpers for sheetsync's scripts (run.sh, test.sh, tests/fixtures/mariadb.sh).
# Source it; it defines functions and SHEETSYNC_ROOT and changes no shell options.
#
#   ensure_packages                       installs the missing Debian packages (no apt on a warm machine)
#   build_project BUILD_DIR BUILD_TYPE [CMAKE_ARG...]
#                                         cmake -G Ninja + ninja, ccache in ~/.cache/ccache (shared by clones)
#   mariadb_start DATA_DIR PORT           starts (initialising if needed) MariaDB as a plain process;
#                                         $SHEETSYNC_MARIADB_ARGS adds mariadbd options (diagnostics,
#                                         e.g. "--general-log --general-log-file=general.log")
#   mariadb_stop DATA_DIR                 shuts it down and waits until the process is gone
#   mariadb_socket DATA_DIR               prints the server's unix socket path
#   mariadb_port SOCKET                   prints the TCP port of the server behind SOCKET
#   mysql_bootstrap SOCKET DB USER PASSWORD   database + least-privilege user + demo table `users`
#   free_port                             prints a TCP port free on 127.0.0.1, below the ephemeral range
#   port_is_free PORT                     succeeds when PORT can be bound on 127.0.0.1
#   wait_pid_exit PID TIMEOUT_S           waits until PID has exited (zombie counts as exited)
#   stop_pid PID [TIMEOUT_S]              SIGTERM, wait, then SIGKILL — for a PID we started
#
# Every process is addressed by a PID this project started; nothing is found by name.

SHEETSYNC_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

SHEETSYNC_PACKAGES=(
  cmake ninja-build g++ pkgconf ccache
  libgrpc++-dev protobuf-compiler-grpc protobuf-compiler libprotobuf-dev libabsl-dev
  libmysqlcppconn-dev libboost-dev prometheus-cpp-dev libssl-dev openssl
  libgtest-dev libgmock-dev libbenchmark-dev libsimdjson-dev
  mariadb-server mariadb-client curl jq python3 prometheus chromium clang libclang-rt-14-dev
)

# The system python3 (a pyenv/asdf shim in PATH can take seconds to start).
if [[ -x /usr/bin/python3 ]]; then SHEETSYNC_PYTHON=/usr/bin/python3; else SHEETSYNC_PYTHON=python3; fi

log_info() { printf '[sheetsync] %s\n' "$*" >&2; }
die() { printf '[sheetsync] error: %s\n' "$*" >&2; exit 1; }

# Runs a command as root (directly when we are root, else through sudo).
as_root() {
  if [[ $(id -u) -eq 0 ]]; then "$@"; else sudo "$@"; fi
}

# Installs those of SHEETSYNC_PACKAGES that dpkg does not list as installed.
# A warm machine never touches apt; `apt-get update` runs at most once per shell.
ensure_packages() {
  local missing=() pkg status
  status=$(dpkg-query -W -f='${Package} ${db:Status-Status}\n' "${SHEETSYNC_PACKAGES[@]}" 2>/dev/null || true)
  for pkg in "${SHEETSYNC_PACKAGES[@]}"; do
    grep -qxF "$pkg installed" <<<"$status" || missing+=("$pkg")
  done
  ((${#missing[@]} == 0)) && return 0
  log_info "installing: ${missing[*]}"
  if [[ -z ${SHEETSYNC_APT_UPDATED:-} ]]; then
    as_root env DEBIAN_FRONTEND=noninteractive apt-get update -q
    SHEETSYNC_APT_UPDATED=1
  fi
  as_root env DEBIAN_FRONTEND=noninteractive \
    apt-get install -y -q --no-install-recommends "${missing[@]}"
}

# Configures (Ninja) and builds the whole project into BUILD_DIR; extra arguments go to cmake.
build_project() {
  local build_dir=${1:?build_project BUILD_DIR BUILD_TYPE} build_type=${2:?build type}
  shift 2
  export CCACHE_DIR=${CCACHE_DIR:-${HOME:-/root}/.cache/ccache}
  # Relative paths in the cache keys: another clone of the repo hits the cache.
  export CCACHE_BASEDIR=${CCACHE_BASEDIR:-$SHEETSYNC_ROOT} CCACHE_NOHASHDIR=${CCACHE_NOHASHDIR:-true}
  mkdir -p "$CCACHE_DIR"
  cmake -S "$SHEETSYNC_ROOT" -B "$build_dir" -G Ninja -DCMAKE_BUILD_TYPE="$build_type" "$@" >/dev/null
  ninja -C "$build_dir"
}

# Prints a TCP port that is free on 127.0.0.1 right now. It is drawn below
# the kernel's ephemeral range, so no outgoing connection can take it while a
# server that owns it restarts.
free_port() {
  "$SHEETSYNC_PYTHON" -c 'import random, socket
low = int(open("/proc/sys/net/ipv4/ip_local_port_range").read().split()[0])
for _ in range(1000):
    port = random.randrange(10000, low)
    s = socket.socket()
    try:
        s.bind(("127.0.0.1", port))
    except OSError:
        continue
    finally:
        s.close()
    print(port)
    break
else:
    raise SystemExit("no free port below %d" % low)'
}

# Succeeds when PORT can be bound on 127.0.0.1 (no listener there, any address).
port_is_free() {
  "$SHEETSYNC_PYTHON" - "$1" <<'EOF' 2>/dev/null
import socket, sys
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", int(sys.argv[1])))
EOF
}

# Succeeds when PID is a live process (a zombie is not live: it has exited).
pid_alive() {
  local pid=$1 stat
  [[ $pid =~ ^[0-9]+$ ]] || return 1
  stat=$(cat "/proc/$pid/stat" 2>/dev/null) || return 1
  stat=${stat##*) }
  [[ ${stat:0:1} != Z ]]
}

# Waits up to TIMEOUT_S seconds for PID to exit; reaps it when it is our child.
# Checks /proc (reaping can lag ~1.5 s here, so `kill -0` would say "alive").
wait_pid_exit() {
  local pid=$1 timeout=${2:-30} i
  for ((i = 0; i < timeout * 10; i++)); do
    if ! pid_alive "$pid"; then
      wait "$pid" 2>/dev/null || true
      return 0
    fi
    sleep 0.1
  done
  return 1
}

# Stops a process this project started: SIGTERM, then SIGKILL after TIMEOUT_S.
stop_pid() {
  local pid=$1 timeout=${2:-15}
  pid_alive "$pid" || { wait "$pid" 2>/dev/null || true; return 0; }
  kill -TERM "$pid" 2>/dev/null || true
  wait_pid_exit "$pid" "$timeout" && return 0
  log_info "pid $pid ignored SIGTERM for ${timeout}s; sending SIGKILL"
  kill -KILL "$pid" 2>/dev/null || true
  wait_pid_exit "$pid" 10
}

# Prints the unix socket path for DATA_DIR. sun_path holds 107 bytes, so a deep
# DATA_DIR gets a short, stable path in /tmp instead.
mariadb_socket() {
  local dir sock
  dir=$(cd "$1" 2>/dev/null && pwd || printf '%s' "$1")
  sock="$dir/mysqld.sock"
  if ((${#sock} > 100)); then
    sock="/tmp/sheetsync-mysqld-$(printf '%s' "$dir" | md5sum | cut -c1-16).sock"
  fi
  printf '%s\n' "$sock"
}

mariadb_admin() {
  local sock=$1; shift
  mariadb-admin --no-defaults --socket="$sock" -uroot --connect-timeout=5 "$@"
}

# Prints the TCP port of the server listening on SOCKET.
mariadb_port() {
  mariadb --no-defaults --socket="$1" -uroot -N -B -e 'SELECT @@port'
}

# Starts MariaDB with its data in DATA_DIR/data, listening on 127.0.0.1:PORT and
# on $(mariadb_socket DATA_DIR); initialises DATA_DIR on first use and reuses it
# afterwards. When a server already answers on that socket it is left running.
# The server runs in its own session with stdio on files, so it outlives the caller.
mariadb_start() {
  local dir=${1:?mariadb_start DATA_DIR PORT} port=${2:?port} sock pid i
  mkdir -p "$dir"
  dir=$(cd "$dir" && pwd)
  sock=$(mariadb_socket "$dir")
  if mariadb_admin "$sock" ping >/dev/null 2>&1; then
    log_info "MariaDB already running in $dir (port $(mariadb_port "$sock"))"
    return 0
  fi
  if [[ ! -d $dir/data/mysql ]]; then
    # Seen to fail now and then (twice in a day, not reproduced). A failed
    # install must not leave a half-made datadir behind: the next start would
    # take it as initialised and run a server whose root cannot log in.
    # One failure's log showed the bootstrap's temporary table file gone
    # from the shared /tmp: each instance keeps its temporary files in its
    # own directory.
    local attempt
    for attempt in 1 2; do
      rm -rf "$dir/data" "$dir/tmp"
      mkdir -p "$dir/tmp"
      mariadb-install-db --no-defaults --user=root --datadir="$dir/data" --tmpdir="$dir/tmp" \
        --auth-root-authentication-method=normal --skip-test-db >"$dir/install.log" 2>&1 && break
      log_info "mariadb-install-db failed (attempt $attempt); its log up to the failure:"
      sed '/Installation of system tables failed/q' "$dir/install.log" | tail -n 40 >&2
      rm -rf "$dir/data"
      ((attempt < 2)) || return 1
    done
  fi
  mkdir -p "$dir/tmp"
  setsid /usr/sbin/mariadbd --no-defaults --user=root --datadir="$dir/data" --socket="$sock" \
    --tmpdir="$dir/tmp" \
    --pid-file="$dir/mysqld.pid" --port="$port" --bind-address=127.0.0.1 \
    --log-error="$dir/error.log" \
    --character-set-server=utf8mb4 --collation-server=utf8mb4_unicode_ci \
    ${SHEETSYNC_MARIADB_ARGS:-} </dev/null >>"$dir/mariadbd.out" 2>&1 &
  pid=$!
  for ((i = 0; i < 600; i++)); do
    mariadb_admin "$sock" ping >/dev/null 2>&1 && return 0
    if ! pid_alive "$pid"; then
      wait "$pid" 2>/dev/null || true
      log_info "mariadbd exited during start-up; tail of $dir/error.log:"
      tail -n 30 "$dir/error.log" >&2 || true
      return 1
    fi
    sleep 0.1
  done
  log_info "MariaDB did not answer within 60 s; tail of $dir/error.log:"
  tail -n 30 "$dir/error.log" >&2 || true
  stop_pid "$pid" 20
  return 1
}

# Shuts down the MariaDB whose data is in DATA_DIR and waits until its process
# has exited. Does nothing when no server runs there.
mariadb_stop() {
  local dir=${1:?mariadb_stop DATA_DIR} sock pid=""
  [[ -d $dir ]] || return 0
  dir=$(cd "$dir" && pwd)
  sock=$(mariadb_socket "$dir")
  [[ -f $dir/mysqld.pid ]] && pid=$(<"$dir/mysqld.pid")
  # The pid file may be stale (PID reused): only a mariadbd on this datadir is ours.
  if [[ -n $pid ]] && ! { pid_alive "$pid" &&
    [[ $(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null) == *"--datadir=$dir/data "* ]]; }; then
    pid=""
  fi
  # ping succeeds also when root is refused (mariadb-admin's rule), so a
  # refused shutdown falls back to SIGTERM as a server that does not answer.
  if mariadb_admin "$sock" ping >/dev/null 2>&1 &&
    mariadb_admin "$sock" shutdown >/dev/null 2>&1; then
    :
  elif [[ -n $pid ]]; then
    kill -TERM "$pid" 2>/dev/null || true  # not answering, or refusing root
  fi
  if [[ -n $pid ]] && ! wait_pid_exit "$pid" 60; then
    log_info "mariadbd (pid $pid) did not exit within 60 s"
    return 1
  fi
  local i
  for ((i = 0; i < 600; i++)); do  # no PID of ours: wait until the socket stops answering
    mariadb_admin "$sock" ping >/dev/null 2>&1 || return 0
    sleep 0.1
  done
  return 1
}

sql_string() {  # quotes $1 as an SQL string literal
  local s=${1//\\/\\\\}
  printf "'%s'" "${s//\'/\'\'}"
}

# Creates (idempotently) database DB in utf8mb4, the user USER with PASSWORD
# (reset on every call) and the demo table `users`, over SOCKET as root.
#
# The user exists as 'USER'@'localhost' (a TCP login from 127.0.0.1 matches it)
# and 'USER'@'%', and holds only what the engine needs on DB, nothing global:
#   GRANT SELECT, INSERT, UPDATE, DELETE   -- read and merge rows, versions, the feed
#         CREATE, ALTER, INDEX, DROP       -- the engine's metadata tables and their upgrades
#         TRIGGER                          -- capture triggers for MySQL-side edits
#   ON `DB`.* TO 'USER'@'localhost', 'USER'@'%';
mysql_bootstrap() {
  local sock=${1:?mysql_bootstrap SOCKET DB USER PASSWORD} db=${2:?db} user=${3:?user} pw=${4:?password}
  [[ $db =~ ^[A-Za-z0-9_]{1,64}$ ]] || die "database name must be [A-Za-z0-9_]: $db"
  [[ $user =~ ^[A-Za-z0-9_]{1,80}$ ]] || die "user name must be [A-Za-z0-9_]: $user"
  local grants="SELECT, INSERT, UPDATE, DELETE, CREATE, ALTER, INDEX, TRIGGER, DROP" host sql
  sql="CREATE DATABASE IF NOT EXISTS \`$db\` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci;"
  for host in localhost %; do
    sql+="CREATE USER IF NOT EXISTS '$user'@'$host' IDENTIFIED BY $(sql_string "$pw");"
    sql+="ALTER USER '$user'@'$host' IDENTIFIED BY $(sql_string "$pw");"
    sql+="GRANT $grants ON \`$db\`.* TO '$user'@'$host';"
  done
  sql+="CREATE TABLE IF NOT EXISTS \`$db\`.users (
      uuid CHAR(36) NOT NULL PRIMARY KEY,
      name VARCHAR(255) NULL,
      email VARCHAR(255) NULL,
      score INT NULL
    ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;"
  mariadb --no-defaults --socket="$sock" -uroot --connect-timeout=5 -e "$sql"
}

# Prints N random bytes as hex (a token or password).
random_hex() {
  od -An -tx1 -N"${1:-24}" /dev/urandom | tr -d ' \n'
}
