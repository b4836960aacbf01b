#!/usr/bin/env bash
# Installs the system packages camdensity needs when they are missing:
# PostGIS for the PostgreSQL server on this machine, and (with --browser) Chromium for the map test.
set -euo pipefail

want_browser=0
[ "${1:-}" = "--browser" ] && want_browser=1

pg_major() {
  if command -v pg_config >/dev/null 2>&1; then
    pg_config --version | sed -E 's/[^0-9]*([0-9]+).*/\1/'
  else
    ls /usr/lib/postgresql 2>/dev/null | sort -n | tail -n 1
  fi
}

run_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"
  elif command -v sudo >/dev/null 2>&1; then sudo "$@"
  else echo "camdensity: need root to run: $*" >&2; exit 1
  fi
}

packages=()
major="$(pg_major)"
if [ -z "$major" ]; then
  packages+=(postgresql postgresql-contrib)
  major=15
fi
sharedir="/usr/share/postgresql/${major}"
[ -f "${sharedir}/extension/postgis.control" ] || packages+=("postgresql-${major}-postgis-3")
[ -f "${sharedir}/extension/pg_trgm.control" ] || packages+=(postgresql-contrib)
if [ "$want_browser" -eq 1 ] && ! command -v chromium >/dev/null 2>&1; then
  packages+=(chromium)
fi

if [ ${#packages[@]} -gt 0 ]; then
  echo "camdensity: installing ${packages[*]}" >&2
  run_root apt-get update -qq
  DEBIAN_FRONTEND=noninteractive run_root apt-get install -y -qq "${packages[@]}" >/dev/null
fi
