#!/usr/bin/env bash
# venv-install.sh VENV ARGS...: `pip install ARGS` into VENV, done by uv when it can be had.
#
# uv resolves and installs several times faster than pip (parallel downloads, hard links from
# its cache). Used from PATH when there, else bootstrapped into the venv (`pip install uv`);
# pip itself is the fallback. uv does not read pip's configuration, so pip's index settings
# (index-url, extra-index-url, find-links, constraint) are handed to it: both install from the
# same package index, and pip's rule of the best version across indexes is kept.
set -euo pipefail
venv=$1
shift
py="$venv/bin/python"

uv=""
if [ "${ROADSEG_NO_UV:-}" != "1" ]; then
  if command -v uv >/dev/null 2>&1; then
    uv=$(command -v uv)
  elif [ -x "$venv/bin/uv" ]; then
    uv="$venv/bin/uv"
  elif "$py" -m pip install -q uv >/dev/null 2>&1 && [ -x "$venv/bin/uv" ]; then
    echo "venv-install: bootstrapped uv into $venv"
    uv="$venv/bin/uv"
  fi
fi
if [ -z "$uv" ]; then
  echo "venv-install: uv is not available; installing with pip"
  exec "$py" -m pip install "$@"
fi

flags=(--index-strategy unsafe-best-match)
# `pip config list` prints lines such as  global.extra-index-url='file:///a file:///b'
while IFS= read -r line; do
  key=${line%%=*}
  key=${key##*.}
  value=${line#*=}
  value=${value#\'}
  value=${value%\'}
  case $key in
    index-url) flags+=(--index-url "$value") ;;
    extra-index-url) for url in $value; do flags+=(--extra-index-url "$url"); done ;;
    find-links) for url in $value; do flags+=(--find-links "$url"); done ;;
    constraint) for file in $value; do flags+=(--constraint "$file"); done ;;
    no-index) case $value in true|yes|1|on) flags+=(--no-index) ;; esac ;;
  esac
done < <("$py" -m pip config list 2>/dev/null || true)

echo "venv-install: $uv pip install ${flags[*]} $*"
exec "$uv" pip install --python "$py" "${flags[@]}" "$@"
