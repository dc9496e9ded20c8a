#!/usr/bin/env bash
# Compiles libd2_gloo_shim.so (the C API over Gloo that D2.Detection.Distributed P/Invokes) into DEST_DIR.
# Called by trainer/D2.Detection/D2.Detection.csproj before every build. Needs g++ and Debian's libgloo-dev; as root
# with apt it installs them when missing, otherwise it stops with a message naming the packages.
# The library is built once per source (keyed by its SHA-256) under artifacts/native/gloo/, under a lock.
#
# usage: build-gloo-shim.sh DEST_DIR
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../../.." && pwd)"
source_file="$here/d2-gloo-shim.cpp"
name="libd2_gloo_shim.so"

die() { echo "build-gloo-shim: error: $*" >&2; exit 1; }
[ $# -eq 1 ] || die "usage: build-gloo-shim.sh DEST_DIR"
dest="$1"

have_gloo() { [ -f /usr/include/gloo/rendezvous/store.h ] && compgen -G "/usr/lib/libgloo.so*" >/dev/null || compgen -G "/usr/lib/*/libgloo.so*" >/dev/null && [ -f /usr/include/gloo/rendezvous/store.h ]; }

ensure() { # check-command debian-packages...
    local check="$1"; shift
    eval "$check" && return 0
    if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
        echo "build-gloo-shim: installing Debian package(s) $* (the CPU collective backend of distributed training)" >&2
        { DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null 2>&1 \
            || { apt-get update -qq >/dev/null 2>&1 && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null 2>&1; }; } \
            || die "could not install Debian package(s) $*; install them and build again"
    fi
    eval "$check" || die "distributed training's CPU backend needs Debian package(s) $* (not root, or no apt-get here): run 'sudo apt-get install -y $*' and build again, or build with -p:D2GlooShimEnabled=false (no distributed training)"
}

key="$(cat "$source_file" "${BASH_SOURCE[0]}" | sha256sum | cut -c1-16)"
cache="${D2_NATIVE_CACHE:-$root/artifacts/native}/gloo/$key"
mkdir -p "$cache" "$dest"
exec 9>"$cache/.lock"
flock 9
if [ ! -f "$cache/$name" ]; then
    ensure "command -v g++ >/dev/null 2>&1" g++
    ensure have_gloo libgloo-dev
    work="$(mktemp -d "$cache/tmp.XXXXXX")"
    # DT_RPATH $ORIGIN (not RUNPATH: it also covers libgloo's own dependencies): an image may ship libgloo.so.0 and its
    # libraries next to the shim instead of installing the Debian/Ubuntu package (trainer/Dockerfile does).
    g++ -shared -fPIC -O2 -fvisibility=hidden -std=c++17 -o "$work/$name" "$source_file" -lgloo -Wl,-soname,"$name" \
        -Wl,--disable-new-dtags,-rpath,'$ORIGIN' \
        || die "compiling $source_file against Gloo failed"
    mv -f "$work/$name" "$cache/$name"
    rm -rf "$work"
fi
if ! cmp -s "$cache/$name" "$dest/$name"; then
    cp -f "$cache/$name" "$dest/$name.tmp.$$" && mv -f "$dest/$name.tmp.$$" "$dest/$name"
fi
