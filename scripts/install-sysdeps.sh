#!/usr/bin/env bash
# Installs the system libraries Qt (PySide6) needs on a bare Debian/Ubuntu box,
# only when one is missing. Tests run Qt offscreen; `make run` needs a display.
set -euo pipefail
# usage: install-sysdeps.sh [offscreen|display]
# offscreen: what the tests need (Qt's offscreen platform); display: a real window (xcb) and Xvfb.
PKGS=(libgl1 libegl1 libglib2.0-0 libfontconfig1 libxkbcommon0 libdbus-1-3)
if [ "${1:-display}" = display ]; then
  PKGS+=(libxkbcommon-x11-0 libxcb-icccm4 libxcb-keysyms1 libxcb-image0 libxcb-render-util0 libxcb-shape0
         libxcb-xinerama0 libxcb-randr0 libxcb-xkb1 libxcb-cursor0 xvfb xauth)
fi
command -v dpkg-query >/dev/null || { echo "Not a Debian/Ubuntu system: install Qt 6's xcb libraries with your package manager."; exit 0; }
missing=()
for p in "${PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
if [ "$(id -u)" -eq 0 ]; then
  echo "Installing system packages Qt needs: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq && apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
elif command -v sudo >/dev/null && sudo -n true 2>/dev/null; then
  sudo apt-get update -qq && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
else
  echo "Qt needs these system packages; run: sudo apt-get install ${missing[*]}" >&2
  exit 1
fi
