#!/usr/bin/env bash
# scripts/postgres.sh install|up|down DIR [PORT]
#   install  Debian's postgresql package, if its server programs are missing
#   up       a throwaway PostgreSQL cluster in DIR on 127.0.0.1:PORT (trust auth for local
#            connections), with the role `root` and the database `test`; prints its URL
#   down     stop it and remove DIR
# For the test run (test/run.ts) on a machine where no PostgreSQL answers. The server runs as the
# `postgres` user when started as root (initdb refuses root).
set -euo pipefail
cmd=${1:-}
dir=${2:-/tmp/coffer-postgres}
port=${3:-55432}
bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1 || true)
log() { printf '[postgres] %s\n' "$*" >&2; }
as_owner() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }

case "$cmd" in
  install)
    if [ -z "$bin" ] || [ ! -x "$bin/initdb" ]; then
      [ "$(id -u)" = 0 ] || { log "PostgreSQL is not installed and this is not root: apt-get install postgresql, or set COFFER_TEST_DATABASE_URL"; exit 1; }
      log "installing Debian's postgresql package (about 30 s)"
      apt-get update -qq
      DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null
    fi ;;
  up)
    [ -n "$bin" ] || { log "no PostgreSQL server programs (run: $0 install)"; exit 1; }
    mkdir -p "$dir"
    [ "$(id -u)" = 0 ] && chown postgres: "$dir"
    as_owner "$bin/initdb" -D "$dir/data" -U postgres -A trust --no-sync >/dev/null
    as_owner "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -o "-p $port -k $dir -c listen_addresses=127.0.0.1 -c fsync=off" start >/dev/null
    psql() { "$bin/psql" -h 127.0.0.1 -p "$port" -U postgres -qAt "$@"; }
    psql -c "create role root superuser login" postgres
    psql -c "create database test owner root" postgres
    echo "postgres://root@127.0.0.1:$port/test" ;;
  down)
    [ -d "$dir/data" ] && as_owner "$bin/pg_ctl" -D "$dir/data" -m fast -w stop >/dev/null 2>&1 || true
    rm -rf "$dir" ;;
  *) sed -n '2,9p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2 ;;
esac
