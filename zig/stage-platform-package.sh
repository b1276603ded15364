#!/usr/bin/env bash
# Packs the platform package with the library `npm run build:native` built:
#   stage-platform-package.sh OUT_DIR   → OUT_DIR/framewire-native-linux-x64-gnu-<version>.tgz (path printed)
# The package's folder in the repository holds only its manifest; the library is copied into a
# staging copy, so packing leaves the work tree untouched.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
out="$(cd "$1" && pwd)"
lib="$root/zig/zig-out/lib/libframewire_native.so"
[ -f "$lib" ] || { echo "stage-platform-package: $lib is missing; run npm run build:native first" >&2; exit 1; }
stage="$(mktemp -d /tmp/framewire-native-stage.XXXXXX)"
trap 'rm -rf "$stage"' EXIT
cp -r "$root/packages/framewire-native-linux-x64-gnu/." "$stage/"
mkdir -p "$stage/lib" && cp "$lib" "$stage/lib/"
cd "$stage" && echo "$out/$(npm pack --silent --pack-destination "$out" | tail -n 1)"
