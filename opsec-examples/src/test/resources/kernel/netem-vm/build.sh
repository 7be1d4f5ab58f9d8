#!/usr/bin/env bash
# Assembles the netem VM of the kernel lab (docs/interop.md): Debian's kernel and an initramfs
# made of busybox-static, the host's tc, ip and ethtool with their shared libraries, the few kernel modules
# the VM needs (with their dependencies from modules.dep) and the init script beside this file.
#
#   build.sh --cache DIR [--fetch] [--out DIR]
#
# --cache DIR  where the kernel package lives (~/.cache/opsec-stack/netem-vm in CI); the newest
#              linux-image-*-amd64_*.deb there is used, extracted once to DIR/<kernel version>/
# --fetch      first download the package that linux-image-amd64 depends on with apt-get download
#              (needs apt and Debian's mirror; only .ci/run does this, never a test)
# --out DIR    write vmlinuz and initramfs.gz there (default: the kernel's folder in the cache)
#
# Prints "kernel=PATH", "initramfs=PATH" and "version=V" on success. Nothing here is committed:
# the binaries come from Debian packages at run time.
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
cache="" out="" fetch=0
while [ $# -gt 0 ]; do
  case "$1" in
    --cache) cache="$2"; shift 2 ;;
    --out) out="$2"; shift 2 ;;
    --fetch) fetch=1; shift ;;
    *) echo "build.sh: unknown argument $1" >&2; exit 2 ;;
  esac
done
[ -n "$cache" ] || { echo "build.sh: --cache DIR is required" >&2; exit 2; }
mkdir -p "$cache"

if [ "$fetch" = 1 ]; then
  pkg="$(apt-cache depends linux-image-amd64 2>/dev/null | awk '/Depends: linux-image-[0-9]/{print $2; exit}')"
  [ -n "$pkg" ] || { echo "build.sh: apt-cache knows no linux-image-amd64 (run apt-get update)" >&2; exit 1; }
  if ! ls "$cache/${pkg}"_*.deb >/dev/null 2>&1; then
    # apt's sandbox user cannot write to root's home; download in a temporary folder it can.
    tmp="$(mktemp -d)"; chmod 755 "$tmp"
    (cd "$tmp" && apt-get download -q "$pkg" >/dev/null 2>&1 || apt-get download -q "$pkg")
    mv "$tmp"/*.deb "$cache/"; rmdir "$tmp"
  fi
fi

deb="$(ls -1 "$cache"/linux-image-*-amd64_*.deb 2>/dev/null | sort -V | tail -1 || true)"
[ -n "$deb" ] || { echo "build.sh: no linux-image-*-amd64 package in $cache (.ci/run fetches it: build.sh --cache $cache --fetch)" >&2; exit 1; }
version="$(basename "$deb" | sed -E 's/^linux-image-([^_]+)_.*/\1/')"
kdir="$cache/$version"

# The modules the VM loads; modprobe-style names. Their dependencies come from modules.dep.
wanted=(virtio_pci virtio_net bridge sch_netem)

if [ ! -f "$kdir/.complete" ]; then
  # Extract beside the cache's final folder and rename it into place: another build running at
  # the same time (other worktrees do) either wins the rename or finds the folder complete.
  tmpk="$(mktemp -d "$cache/.extract.XXXXXX")"; chmod 755 "$tmpk"
  trap 'rm -rf "$tmpk"' EXIT
  dpkg-deb -x "$deb" "$tmpk/root"
  mdir="$tmpk/root/lib/modules/$version"
  # The package ships no modules.dep (its postinst runs depmod); busybox's depmod writes one,
  # each line listing a module's whole dependency closure.
  [ -f "$mdir/modules.dep" ] || busybox depmod -b "$tmpk/root" "$version"
  mkdir -p "$tmpk/modules"
  cp "$tmpk/root/boot/vmlinuz-$version" "$tmpk/vmlinuz"
  : > "$tmpk/modules.load"
  # Each module after everything it depends on (a depth-first walk over modules.dep).
  add() {
    local path="$1" line dep
    grep -qx "$path" "$tmpk/modules.load" && return 0
    line="$(grep -E "^${path//./\\.}:" "$mdir/modules.dep")" || { echo "build.sh: $path is not in modules.dep" >&2; exit 1; }
    for dep in ${line#*:}; do add "$dep"; done
    echo "$path" >> "$tmpk/modules.load"
    mkdir -p "$tmpk/modules/$(dirname "$path")"
    cp "$mdir/$path" "$tmpk/modules/$path"
  }
  for m in "${wanted[@]}"; do
    line="$(grep -E "(^|/)${m}\.ko(\.[a-z]+)?:" "$mdir/modules.dep" || true)"
    [ -n "$line" ] || { echo "build.sh: module $m is not in $version's modules.dep" >&2; exit 1; }
    add "${line%%:*}"
  done
  rm -rf "$tmpk/root"
  touch "$tmpk/.complete"
  [ -f "$kdir/.complete" ] || { rm -rf "$kdir"; mv -T "$tmpk" "$kdir" 2>/dev/null || true; }
  rm -rf "$tmpk"
  trap - EXIT
  [ -f "$kdir/.complete" ] || { echo "build.sh: could not put the kernel in $kdir" >&2; exit 1; }
fi

out="${out:-$kdir}"
mkdir -p "$out"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
mkdir -p "$work"/{bin,sbin,dev,proc,sys,tmp,lib/modules}
cp "$(command -v busybox)" "$work/bin/busybox"
for tool in tc ip ethtool; do
  bin="$(command -v "$tool")"
  cp "$bin" "$work/sbin/$tool"
  # The host's iproute2 and ethtool (Debian's, as the kernel is) with the shared libraries ldd names.
  for lib in $(ldd "$bin" | awk '/=> \//{print $3} /^[ \t]*\//{print $1}'); do
    mkdir -p "$work$(dirname "$lib")"
    cp -L "$lib" "$work$lib"
  done
done
cp -r "$kdir/modules/." "$work/lib/modules/"
cp "$kdir/modules.load" "$work/lib/modules/load"
cp "$here/init" "$work/init"
chmod 755 "$work/init" "$work/bin/busybox"
(cd "$work" && find . | sort | busybox cpio -o -H newc 2>/dev/null | gzip -1) > "$out/initramfs.gz.tmp"
mv "$out/initramfs.gz.tmp" "$out/initramfs.gz"
[ "$out" = "$kdir" ] || cp "$kdir/vmlinuz" "$out/vmlinuz"
echo "kernel=$out/vmlinuz"
echo "initramfs=$out/initramfs.gz"
echo "version=$version"
