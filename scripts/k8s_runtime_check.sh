#!/usr/bin/env bash
# Proves that the runtime images of deploy/docker/Dockerfile carry every library their
# binary needs, without a Docker engine: for each of gateway, ingest, resolver and writer it
# builds the image's root filesystem into a temporary folder with the Dockerfile's own
# deploy/docker/make-rootfs.sh and the package lists of its RUNTIME_PACKAGES_* lines (binary +
# only the shared objects of those packages, found with dpkg -L), then inside that tree
# (chroot, as the image's user 10001):
#   - `ld.so --list` of the binary and of every shared object in the tree: fails on "not found";
#   - starts the binary: the gateway answers GET /healthz 200 and /metrics; ingest and resolver
#     serve /metrics and exit 0 on SIGTERM; the writer prints its flags and, with no MySQL,
#     exits 2 with its "cannot connect to MySQL" message (so Connector/C++ loaded and ran).
#
#   scripts/k8s_runtime_check.sh [--build-dir DIR] [--gateway BIN --ingest BIN --resolver BIN --writer BIN]
#
# Default binaries: DIR/gateway/sheetsync-gateway, DIR/services/<svc>/sheetsync-<svc> with
# DIR=build. Needs root (chroot) or unprivileged user namespaces (unshare -r). Runtime packages
# missing on the host are installed with apt-get when running as root.
# Exits 0 when every check passes; prints one line per check.
set -euo pipefail
# shellcheck source=scripts/lib.sh
source "$(dirname "$0")/lib.sh"

DOCKERFILE=${SHEETSYNC_DOCKERFILE:-$SHEETSYNC_ROOT/deploy/docker/Dockerfile}  # override: a copy to test
MAKE_ROOTFS=$SHEETSYNC_ROOT/deploy/docker/make-rootfs.sh
SERVICES=(gateway ingest resolver writer)
declare -A BIN=()
build_dir=$SHEETSYNC_ROOT/build
while (($#)); do
  case $1 in
    --build-dir) build_dir=$2; shift 2 ;;
    --gateway | --ingest | --resolver | --writer) BIN[${1#--}]=$2; shift 2 ;;
    -h | --help) sed -n '2,20p' "$0"; exit 0 ;;
    *) die "unknown argument: $1" ;;
  esac
done
for svc in "${SERVICES[@]}"; do
  if [[ -z ${BIN[$svc]:-} ]]; then
    if [[ $svc == gateway ]]; then BIN[$svc]=$build_dir/gateway/sheetsync-gateway
    else BIN[$svc]=$build_dir/services/$svc/sheetsync-$svc; fi
  fi
  [[ -x ${BIN[$svc]} ]] || die "missing binary ${BIN[$svc]} (build first: scripts/test.sh or ninja -C build)"
done

passed=0 failed=0
ok() { printf 'ok   %s\n' "$*"; passed=$((passed + 1)); }
fail() { printf 'FAIL %s\n' "$*"; failed=$((failed + 1)); }

# --- the Dockerfile's package lists ----------------------------------------------------------
# Prints the value of `ARG NAME="..."` (continuation lines joined).
dockerfile_arg() {
  sed -e ':a' -e '/\\$/N; s/\\\n//; ta' "$DOCKERFILE" |
    sed -n -E "s/^ARG $1=\"([^\"]*)\".*/\1/p" | tr -s ' \t' ' ' | sed -E 's/^ //; s/ $//'
}
declare -A PKGS=()
common=$(dockerfile_arg RUNTIME_PACKAGES_COMMON)
[[ -n $common ]] || die "no ARG RUNTIME_PACKAGES_COMMON=\"...\" in $DOCKERFILE"
joined=$(sed -e ':a' -e '/\\$/N; s/\\\n//; ta' "$DOCKERFILE" | tr -s ' \t' ' ')
for svc in "${SERVICES[@]}"; do
  upper=${svc^^}
  grep -q "^ARG RUNTIME_PACKAGES_$upper=" "$DOCKERFILE" || die "no ARG RUNTIME_PACKAGES_$upper in $DOCKERFILE"
  extra=$(dockerfile_arg "RUNTIME_PACKAGES_$upper")
  PKGS[$svc]="$common${extra:+ $extra}"
  # The image must be built from exactly these lists and this tree.
  if grep -qF "make-rootfs /rootfs/$svc /staging/sheetsync-$svc \${RUNTIME_PACKAGES_COMMON} \${RUNTIME_PACKAGES_$upper}" <<<"$joined" &&
    grep -qF "COPY --from=rootfs /rootfs/$svc/ /" <<<"$joined" &&
    grep -qE "^FROM scratch AS $svc\$" <<<"$joined" &&
    grep -qF "ENTRYPOINT [\"/usr/local/bin/sheetsync-$svc\"]" <<<"$joined"; then
    ok "Dockerfile target $svc: FROM scratch + make-rootfs of RUNTIME_PACKAGES_COMMON + RUNTIME_PACKAGES_$upper"
  else
    fail "Dockerfile target $svc is not built as 'FROM scratch' + make-rootfs /rootfs/$svc with RUNTIME_PACKAGES_COMMON and RUNTIME_PACKAGES_$upper"
  fi
done

# Static checks of the Dockerfile that need no engine: known instructions, stages defined before
# `COPY --from` uses them, exec-form ENTRYPOINTs (the images have no shell), and the build stage
# installing every build dependency that scripts/lib.sh installs for the project's own builds.
lint_dockerfile() {
  local bad=0 line word stage from stages=" " build_pkgs pkg
  while IFS= read -r line; do
    [[ -z $line || $line == \#* ]] && continue
    word=${line%% *}
    case $word in
      FROM)
        stage=$(sed -n -E 's/^FROM [^ ]+ AS ([a-z0-9_-]+)$/\1/p' <<<"$line")
        [[ -n $stage ]] || { fail "Dockerfile: stage without a name: $line"; bad=1; }
        stages+="$stage " ;;
      RUN | COPY | ARG | ENV | USER | EXPOSE | WORKDIR | LABEL | CMD) ;;
      ENTRYPOINT)
        [[ $line =~ ^ENTRYPOINT\ \[\".*\"\]$ ]] || { fail "Dockerfile: ENTRYPOINT must be exec form (no shell in the image): $line"; bad=1; } ;;
      *) fail "Dockerfile: unknown instruction: $line"; bad=1 ;;
    esac
    from=$(sed -n -E 's/^COPY --from=([a-z0-9_-]+) .*/\1/p' <<<"$line")
    if [[ -n $from && $stages != *" $from "* ]]; then
      fail "Dockerfile: COPY --from=$from before (or without) a stage of that name"; bad=1
    fi
  done < <(sed -e ':a' -e '/\\$/N; s/\\\n//; ta' "$DOCKERFILE" | grep -v '^# syntax=' | sed -E 's/^[[:space:]]+//')
  build_pkgs=$(awk '/^FROM .* AS build$/{b=1; next} /^FROM /{b=0} b' "$DOCKERFILE" |
    sed -e ':a' -e '/\\$/N; s/\\\n//; ta')
  for pkg in "${SHEETSYNC_PACKAGES[@]}"; do
    # Build dependencies only (libraries' -dev packages, compilers, generators); not test tools.
    [[ $pkg == libclang-rt-* ]] && continue  # the fuzzers' runtime (scripts/fuzz.sh)
    [[ $pkg == *-dev || $pkg =~ ^(cmake|ninja-build|g\+\+|pkgconf|protobuf-compiler.*)$ ]] || continue
    [[ " $(tr -s ' \t' ' ' <<<"$build_pkgs") " == *" $pkg "* ]] ||
      { fail "Dockerfile: the build stage does not install $pkg (scripts/lib.sh builds with it)"; bad=1; }
  done
  if ((bad == 0)); then
    ok "Dockerfile: instructions, stage references, exec-form entrypoints, build dependencies of scripts/lib.sh"
  fi
}
lint_dockerfile

# Installs (as root) the listed packages that dpkg does not have.
missing=()
for pkg in $(printf '%s\n' "${PKGS[@]}" | tr ' ' '\n' | sort -u); do
  dpkg-query -W -f='${db:Status-Status}' "$pkg" 2>/dev/null | grep -qx installed || missing+=("$pkg")
done
if ((${#missing[@]})); then
  [[ $(id -u) -eq 0 ]] || die "runtime packages not installed here: ${missing[*]} (apt-get install them)"
  log_info "installing runtime packages: ${missing[*]}"
  DEBIAN_FRONTEND=noninteractive apt-get update -q >/dev/null
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null
fi

# --- running inside a tree --------------------------------------------------------------------
# Sets RCMD to the command that runs ARGS inside the tree ROOT (as uid 10001 when root).
if [[ $(id -u) -eq 0 ]]; then
  CHROOT=$(command -v chroot) || die "chroot not found"
  root_cmd() { local root=$1; shift; RCMD=("$CHROOT" --userspec=10001:10001 "$root" "$@"); }
elif unshare --map-root-user true 2>/dev/null; then
  UNSHARE=$(command -v unshare)
  root_cmd() { local root=$1; shift; RCMD=("$UNSHARE" --map-root-user "--root=$root" "$@"); }
else
  die "needs root (chroot) or unprivileged user namespaces (unshare -r) to run inside the image tree"
fi

work=$(mktemp -d "${TMPDIR:-/tmp}/sheetsync-rootfs.XXXXXX")
pids=()
cleanup() {
  local pid
  for pid in "${pids[@]}"; do stop_pid "$pid" 5 || true; done
  rm -rf "$work"
}
trap cleanup EXIT

# Runs ld.so --list inside ROOT on FILE (a path inside ROOT); prints missing libraries.
missing_libs() {
  local root=$1 file=$2
  root_cmd "$root" /lib64/ld-linux-x86-64.so.2 --list "$file"
  env -i "${RCMD[@]}" 2>&1 | grep -E 'not found|No such file|cannot' || true
}

declare -A VERIFIED=()
# Succeeds when every word of $1 is a word of $2.
is_subset() {
  local word
  for word in $1; do [[ " $2 " == *" $word "* ]] || return 1; done
}

check_tree() {
  local svc=$1 out lib n=0 bad=0
  local root=$work/$svc bin=/usr/local/bin/sheetsync-$svc
  # shellcheck disable=SC2086  # the package list is a word list
  if ! "$MAKE_ROOTFS" "$root" "${BIN[$svc]}" ${PKGS[$svc]} >"$work/$svc.log" 2>&1; then
    fail "$svc: make-rootfs failed: $(tail -n 3 "$work/$svc.log")"
    return 1
  fi
  out=$(missing_libs "$root" "$bin")
  if [[ -n $out ]]; then
    fail "$svc: ld.so --list $bin in the image tree: $(tr '\n' ' ' <<<"$out")"
    bad=1
  fi
  # Every shared object of the tree too (plugins the binary dlopen()s, e.g. MariaDB's auth).
  # One that resolved in an earlier tree built from a subset of these packages resolves here.
  while IFS= read -r lib; do
    lib=${lib#"$root"}
    n=$((n + 1))
    [[ -n ${VERIFIED[$lib]:-} ]] && is_subset "${VERIFIED[$lib]}" "${PKGS[$svc]}" && continue
    out=$(missing_libs "$root" "$lib")
    if [[ -z $out ]]; then
      VERIFIED[$lib]=${PKGS[$svc]}
    else
      fail "$svc: $lib needs a library outside the list: $(tr '\n' ' ' <<<"$out")"
      bad=1
    fi
  done < <(find "$root" -type f \( -name '*.so' -o -name '*.so.[0-9]*' \) ! -name 'ld-linux*' | sort)
  ((bad != 0)) || ok "$svc: binary and $n shared objects resolve every library inside the tree of [${PKGS[$svc]}] ($(du -sh "$root" | cut -f1))"
  return "$bad"
}

# Starts ARGS (a command inside tree ROOT) with a clean environment plus VARS, output to a log:
#   start_in_tree NAME ROOT [VAR=VALUE...] -- COMMAND ARGS...
start_in_tree() {
  local name=$1 root=$2 vars=()
  shift 2
  while [[ $1 != -- ]]; do vars+=("$1"); shift; done
  shift
  root_cmd "$root" "$@"
  env -i "${vars[@]}" "${RCMD[@]}" >"$work/$name.run.log" 2>&1 &
  pids+=("$!")
  STARTED_PID=$!
}

# Waits until URL answers 200 (curl), while PID lives; TIMEOUT seconds.
wait_http_200() {
  local url=$1 pid=$2 timeout=$3 i
  for ((i = 0; i < timeout * 10; i++)); do
    [[ $(curl -s -o /dev/null -w '%{http_code}' --max-time 1 "$url" || true) == 200 ]] && return 0
    pid_alive "$pid" || return 1
    sleep 0.1
  done
  return 1
}

# SIGTERM PID and expect exit status 0 within 20 s.
expect_clean_exit() {
  local pid=$1 status=0 i
  kill -TERM "$pid" 2>/dev/null || true
  for ((i = 0; i < 200; i++)); do pid_alive "$pid" || break; sleep 0.1; done
  pid_alive "$pid" && return 1
  wait "$pid" || status=$?
  return "$status"
}

smoke_gateway() {
  local root=$work/gateway port pid
  port=$(free_port)
  start_in_tree gateway "$root" SHEETSYNC_GATEWAY_TOKEN=runtime-check -- \
    /usr/local/bin/sheetsync-gateway --listen="127.0.0.1:$port" --ingest_addr=127.0.0.1:1 \
    --ready_addrs=127.0.0.1:1 --drain_timeout=1s
  pid=$STARTED_PID
  if wait_http_200 "http://127.0.0.1:$port/healthz" "$pid" 20 &&
    curl -sf --max-time 2 "http://127.0.0.1:$port/metrics" | grep '^# TYPE sheetsync_' >/dev/null &&
    expect_clean_exit "$pid"; then
    ok "gateway: started from its tree as uid 10001, GET /healthz 200, /metrics served, SIGTERM exit 0"
  else
    fail "gateway did not serve /healthz + /metrics from its tree or exit 0 on SIGTERM; log: $(tail -n 5 "$work/gateway.run.log")"
  fi
}

smoke_grpc_service() {
  local svc=$1 root=$work/$1 port mport pid
  port=$(free_port)
  mport=$(free_port)
  while [[ $mport == "$port" ]]; do mport=$(free_port); done
  start_in_tree "$svc" "$root" -- "/usr/local/bin/sheetsync-$svc" \
    --listen="127.0.0.1:$port" --metrics_listen="127.0.0.1:$mport" --writer_addr=127.0.0.1:1 \
    --drain_timeout=1s
  pid=$STARTED_PID
  if wait_http_200 "http://127.0.0.1:$mport/metrics" "$pid" 20 && expect_clean_exit "$pid"; then
    ok "$svc: started from its tree as uid 10001, /metrics 200, SIGTERM exit 0"
  else
    fail "$svc did not serve /metrics from its tree or exit 0 on SIGTERM; log: $(tail -n 5 "$work/$svc.run.log")"
  fi
}

smoke_writer() {
  local root=$work/writer out status=0 port
  root_cmd "$root" /usr/local/bin/sheetsync-writer --helpfull
  out=$(env -i "${RCMD[@]}" 2>&1) || status=$?
  if ((status <= 1)) && grep -q -- '--mysql_host' <<<"$out"; then
    ok "writer: --helpfull runs from its tree (exit $status, Abseil's status after help)"
  else
    fail "writer --helpfull from its tree: exit $status: $(head -n 3 <<<"$out")"
  fi
  port=$(free_port)  # nothing listens there: the writer must fail cleanly at start-up
  status=0
  root_cmd "$root" /usr/local/bin/sheetsync-writer --mysql_host=127.0.0.1 --mysql_port="$port" \
    --listen=127.0.0.1:0 --metrics_listen=127.0.0.1:0
  out=$(env -i "$(command -v timeout)" 30 "${RCMD[@]}" 2>&1) || status=$?
  if ((status == 2)) && grep -q 'cannot connect to MySQL' <<<"$out"; then
    ok "writer: Connector/C++ loaded and ran from its tree (no MySQL: exit 2, 'cannot connect to MySQL')"
  else
    fail "writer without MySQL: expected exit 2 and 'cannot connect to MySQL', got $status: $(tail -n 3 <<<"$out")"
  fi
}

# Self-check: the same tree without one package the binaries need must be caught, so that
# this script can never pass by checking nothing.
self_check() {
  local root=$work/self-check drop=libc-ares2 out
  # shellcheck disable=SC2086
  "$MAKE_ROOTFS" "$root" "${BIN[gateway]}" ${PKGS[gateway]/$drop/} >"$work/self-check.log" 2>&1 ||
    { fail "self-check: make-rootfs failed: $(tail -n 3 "$work/self-check.log")"; return; }
  out=$(missing_libs "$root" /usr/local/bin/sheetsync-gateway)
  if grep -q 'libcares' <<<"$out"; then
    ok "self-check: a tree without $drop is caught (libcares.so.2 not found)"
  else
    fail "self-check: a tree without $drop was not caught: ld.so --list said '$out'"
  fi
  rm -rf "$root"
}
self_check

for svc in "${SERVICES[@]}"; do
  check_tree "$svc" || continue
  case $svc in
    gateway) smoke_gateway ;;
    writer) smoke_writer ;;
    *) smoke_grpc_service "$svc" ;;
  esac
done

printf '\nk8s_runtime_check: %d passed, %d failed\n' "$passed" "$failed"
((failed == 0))
