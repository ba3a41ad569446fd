#!/usr/bin/env bash
# Start a throwaway PostgreSQL for the case-store tests (or make run-scale's own, kept in DIR
# between runs) and print its admin URL.
# Usage: eval "$(scripts/test-postgres.sh start DIR)"; ...; scripts/test-postgres.sh stop DIR
set -euo pipefail
action="$1"; dir="$2"; port="${TEST_POSTGRES_PORT:-55432}"
bin="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)"
case "$action" in
  start)
    if [[ -z "$bin" ]]; then
      echo "installing PostgreSQL (Debian package) for the tests …" >&2
      apt-get update -qq >&2 && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >&2
      bin="$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)"
    fi
    mkdir -p "$dir" && chown postgres "$dir"
    [[ -d "$dir/data" ]] || su postgres -c "$bin/initdb -D $dir/data -A trust -U postgres" >/dev/null
    su postgres -c "$bin/pg_ctl -D $dir/data -l $dir/log -w -o '-p $port -k $dir -c listen_addresses=127.0.0.1' start" >/dev/null
    echo "export TEST_POSTGRES_URL=postgresql+psycopg://postgres@127.0.0.1:$port/postgres"
    ;;
  stop)
    su postgres -c "$bin/pg_ctl -D $dir/data -m fast stop" >/dev/null 2>&1 || true
    ;;
esac
