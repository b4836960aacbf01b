#!/usr/bin/env bash
# Installs the system packages camdensity needs when they are missing:
# PostGIS for the PostgreSQL server on this machine, and (with --test) the tools the tests drive.
set -euo pipefail

# --test adds what the test suite drives: Chromium (map rendering) and docker-compose (config check).
# --bench adds what the benchmarks drive: wrk (HTTP load), pgbench (the SQL floor) and nginx (a
# static host, bench/publish_serving.py).
want_test=0
want_bench=0
[ "${1:-}" = "--test" ] && want_test=1
[ "${1:-}" = "--bench" ] && want_bench=1

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
if [ "$want_test" -eq 1 ]; then
  command -v chromium >/dev/null 2>&1 || packages+=(chromium)
  command -v docker-compose >/dev/null 2>&1 || packages+=(docker-compose)
fi

# tilemaker: `camdensity basemap` turns an .osm.pbf into vector tiles (make demo builds one).
command -v tilemaker >/dev/null 2>&1 || packages+=(tilemaker)
if [ "$want_bench" -eq 1 ]; then
  command -v wrk >/dev/null 2>&1 || packages+=(wrk)
  command -v pgbench >/dev/null 2>&1 || packages+=("postgresql-${major}")  # the SQL floor
  command -v nginx >/dev/null 2>&1 || packages+=(nginx)
fi

if [ ${#packages[@]} -gt 0 ]; then
  echo "camdensity: installing ${packages[*]}" >&2
  run_root apt-get -o DPkg::Lock::Timeout=300 update -qq
  DEBIAN_FRONTEND=noninteractive run_root apt-get -o DPkg::Lock::Timeout=300 install -y -qq "${packages[@]}" >/dev/null
fi
