#!/usr/bin/env bash
# Makes TorchSharp's libLibTorchSharp.so load on hosts whose libstdc++ lacks GLIBCXX_3.4.32
# (Debian 12). Called by Directory.Build.targets after every build and publish of a project
# that copies libLibTorchSharp.so; a no-op on hosts that have the version (Ubuntu 24.04, Debian 13).
#
# usage: fix-libtorchsharp.sh ORIGINAL_LIB DEST_LIB [DEST_LIB...]
#   ORIGINAL_LIB  libLibTorchSharp.so as the NuGet package ships it
#   DEST_LIB      a copy in an output folder, replaced by the patched library
#
# The patched library is built once per original (keyed by its SHA-256) under
# artifacts/native/, under a lock so that parallel project builds share it.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
required_version="GLIBCXX_3.4.32"
shim_name="libd2_glibcxx_shim.so"

die() { echo "fix-libtorchsharp: error: $*" >&2; exit 1; }

[ $# -ge 2 ] || die "usage: fix-libtorchsharp.sh ORIGINAL_LIB DEST_LIB [DEST_LIB...]"
original="$1"; shift
[ -f "$original" ] || die "original library '$original' does not exist (run a restore first)"

host_libstdcxx() {
    local path
    path="$(/sbin/ldconfig -p 2>/dev/null | awk '/libstdc\+\+\.so\.6 .*x86-64/ {print $NF; exit}')"
    [ -n "$path" ] || path="$(ls /usr/lib/x86_64-linux-gnu/libstdc++.so.6 /usr/lib64/libstdc++.so.6 2>/dev/null | head -n1)"
    echo "$path"
}

libstdcxx="$(host_libstdcxx)"
[ -n "$libstdcxx" ] || die "cannot find the host's libstdc++.so.6 (install Debian package libstdc++6)"
if grep -qa "$required_version" "$libstdcxx"; then
    exit 0   # the host's libstdc++ is new enough: TorchSharp loads as shipped
fi

ensure_tool() { # tool debian-package
    command -v "$1" >/dev/null 2>&1 && return 0
    if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
        echo "fix-libtorchsharp: installing Debian package $2 (needed for the $required_version fix)" >&2
        { apt-get install -y -qq "$2" >/dev/null 2>&1 || { apt-get update -qq >/dev/null 2>&1 && apt-get install -y -qq "$2" >/dev/null 2>&1; }; } \
            || die "could not install Debian package '$2'; install it and build again"
    fi
    command -v "$1" >/dev/null 2>&1 || die "'$1' is required to make TorchSharp load on this host ($libstdcxx lacks $required_version); install Debian package '$2'"
}

key="$(sha256sum "$original" | cut -c1-16)"
cache="${D2_NATIVE_CACHE:-$root/artifacts/native}/$key"
patched="$cache/libLibTorchSharp.so"
shim="$cache/$shim_name"
mkdir -p "$cache"

build_patched() {
    ensure_tool g++ g++
    ensure_tool gcc gcc
    ensure_tool patchelf patchelf
    local work; work="$(mktemp -d "$cache/tmp.XXXXXX")"
    g++ -shared -fPIC -O2 -o "$work/$shim_name" "$here/glibcxx-shim.cpp" \
        -Wl,--version-script="$here/glibcxx-shim.map" -Wl,-soname,"$shim_name"
    gcc -O2 -o "$work/elf-weaken-verneed" "$here/elf-weaken-verneed.c"
    cp "$original" "$work/libLibTorchSharp.so"
    chmod u+w "$work/libLibTorchSharp.so"
    "$work/elf-weaken-verneed" "$work/libLibTorchSharp.so" "$required_version"
    patchelf --add-needed "$shim_name" "$work/libLibTorchSharp.so"
    # The shim must come first among the new NEEDED entries and carry the version the library asks for.
    readelf -d "$work/libLibTorchSharp.so" | grep -q "\[$shim_name\]" || die "patchelf did not add $shim_name"
    readelf -V "$work/$shim_name" | grep -q "$required_version" || die "shim lacks $required_version"
    mv -f "$work/$shim_name" "$shim"
    mv -f "$work/libLibTorchSharp.so" "$patched"   # last: its presence marks a complete cache entry
    rm -rf "$work"
}

exec 9>"$cache/.lock"
flock 9
[ -f "$patched" ] && [ -f "$shim" ] || build_patched

for dest in "$@"; do
    dir="$(dirname "$dest")"
    [ -d "$dir" ] || die "destination folder '$dir' does not exist"
    if ! cmp -s "$patched" "$dest"; then
        cp -f "$patched" "$dest.tmp.$$" && mv -f "$dest.tmp.$$" "$dest"
    fi
    if ! cmp -s "$shim" "$dir/$shim_name"; then
        cp -f "$shim" "$dir/$shim_name.tmp.$$" && mv -f "$dir/$shim_name.tmp.$$" "$dir/$shim_name"
    fi
done
