#!/usr/bin/env bash
# Installs what `npm run build:native` needs, when it is missing: Debian's libwebsockets-dev (the C
# library the native path wraps; built against this one version, 4.1.x) and the pinned Zig from
# PyPI. Idempotent: on a machine that has both it only prints their versions.
set -euo pipefail
ZIG_VERSION=0.15.2

if ! dpkg-query -W -f='${Status}' libwebsockets-dev 2>/dev/null | grep -q "install ok installed"; then
  echo "== installing libwebsockets-dev (apt)"
  sudo_cmd=()
  if [ "$(id -u)" -ne 0 ]; then sudo_cmd=(sudo); fi
  "${sudo_cmd[@]}" apt-get update -qq
  DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq libwebsockets-dev >/dev/null
fi
if [ "$(python3 -m ziglang version 2>/dev/null || true)" != "$ZIG_VERSION" ]; then
  echo "== installing ziglang==$ZIG_VERSION (pip)"
  python3 -m pip install --quiet --disable-pip-version-check "ziglang==$ZIG_VERSION"
fi
echo "== libwebsockets-dev $(dpkg-query -W -f='${Version}' libwebsockets-dev), zig $(python3 -m ziglang version)"
