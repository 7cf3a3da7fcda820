#!/usr/bin/env bash
# Builds the root filesystem of one sheetsync runtime image into DEST:
#
#   make-rootfs.sh DEST BINARY PACKAGE...
#
# DEST gets BINARY in /usr/local/bin, the shared objects (*.so, *.so.*) that the
# given Debian PACKAGEs ship (their `dpkg -L` lists, so the packages must be
# installed where this runs) and their copyright files, the dynamic loader,
# /etc/passwd + /etc/group with the unprivileged user `sheetsync` (10001:10001),
# /etc/nsswitch.conf and an empty /tmp. Nothing else: no shell, no package
# manager, no other library. Used twice, so that both build the same layout:
#   - by deploy/docker/Dockerfile, whose images are `FROM scratch` + this DEST;
#   - by scripts/k8s_runtime_check.sh, which runs `ld.so --list` and the binary
#     inside such a DEST (chroot), failing when a library is missing.
# Left out: iconv's gconv modules (libc6; nothing in sheetsync converts charsets
# through iconv) and libgrpc_plugin_support (libgrpc++1.51; the library of protoc's
# code generator plugins, which needs libprotoc and is never loaded at run time).
set -euo pipefail

die() { printf 'make-rootfs: %s\n' "$*" >&2; exit 1; }

(($# >= 3)) || die "usage: make-rootfs.sh DEST BINARY PACKAGE..."
dest=$1 binary=$2
shift 2
[[ -x $binary ]] || die "not an executable: $binary"
[[ ! -e $dest || -d $dest ]] || die "DEST exists and is not a directory: $dest"

mkdir -p "$dest"/usr/{lib,lib64,bin,sbin,local/bin} "$dest"/etc "$dest"/tmp "$dest"/usr/share/doc
chmod 1777 "$dest/tmp"
# The merged-/usr layout of Debian 12.
for d in lib lib64 bin sbin; do
  [[ -L $dest/$d ]] || ln -s "usr/$d" "$dest/$d"
done

# Files to copy, grouped by the real directory they live in, so that /lib/x/...
# and /usr/lib/x/... end up together (symlinks are kept as symlinks).
declare -A by_dir=()
declare -A real_dir=()
add_path() {
  local path=$1 dir=${1%/*}
  [[ -n ${real_dir[$dir]:-} ]] || real_dir[$dir]=$(readlink -f "$dir")
  by_dir[${real_dir[$dir]}]+="$path"$'\n'
}

for pkg in "$@"; do
  files=$(dpkg -L "$pkg" 2>/dev/null) || die "package $pkg is not installed here (dpkg -L failed)"
  copied=0
  while IFS= read -r path; do
    case $path in
      */gconv/* | */libgrpc_plugin_support.so*) continue ;;
      */usr/share/doc/*/copyright) ;;
      *.so | *.so.*) copied=$((copied + 1)) ;;
      *) continue ;;
    esac
    [[ -f $path || -L $path ]] && add_path "$path"
  done <<<"$files"
  ((copied > 0)) || die "package $pkg ships no shared object: is it a runtime library package?"
done
for dir in "${!by_dir[@]}"; do
  mkdir -p "$dest$dir"
  mapfile -t paths < <(printf '%s' "${by_dir[$dir]}")
  cp -P --preserve=mode,timestamps "${paths[@]}" "$dest$dir/"
done

# The loader at its ABI path (libc6 ships it in /lib/<triplet>; /lib64/ld-*.so.2
# is the path the kernel reads from the ELF header).
interp=$(readlink -f /lib64/ld-linux-x86-64.so.2 2>/dev/null || true)
if [[ -n $interp && -e $dest$interp && ! -e $dest/usr/lib64/ld-linux-x86-64.so.2 ]]; then
  ln -s "$interp" "$dest/usr/lib64/ld-linux-x86-64.so.2"
fi

install -m 0755 "$binary" "$dest/usr/local/bin/$(basename "$binary")"

cat >"$dest/etc/passwd" <<'EOF'
root:x:0:0:root:/root:/usr/sbin/nologin
nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin
sheetsync:x:10001:10001:sheetsync:/nonexistent:/usr/sbin/nologin
EOF
cat >"$dest/etc/group" <<'EOF'
root:x:0:
nogroup:x:65534:
sheetsync:x:10001:
EOF
printf 'hosts: files dns\n' >"$dest/etc/nsswitch.conf"
chmod 0644 "$dest/etc/passwd" "$dest/etc/group" "$dest/etc/nsswitch.conf"
