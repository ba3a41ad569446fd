#!/usr/bin/env bash
# make run-scale: the stack of `make run`, scaled out on one machine — the case store and Rasa's
# tracker store on PostgreSQL, Rasa's lock store on Redis, SANIC_WORKERS Rasa workers and
# ACTION_WORKERS action-server workers. Without DATABASE_URL / TRACKER_DB_HOST / REDIS_HOST
# set, a PostgreSQL and a Redis of its own are started under var/scale/ (kept between runs,
# stopped on exit); with them set, those servers are used (see the README).
set -euo pipefail
cd "$(dirname "$0")/.."
state="$PWD/var/scale"
export SANIC_WORKERS="${SANIC_WORKERS:-2}" ACTION_WORKERS="${ACTION_WORKERS:-2}"
export RASA_ENDPOINTS=endpoints-scale.yml REDIS_DB="${REDIS_DB:-1}"
export REDIS_KEY_PREFIX="${REDIS_KEY_PREFIX:-petition}"
cleanup=()
trap 'for c in "${cleanup[@]}"; do eval "$c"; done' EXIT

if [[ -n "${DATABASE_URL:-}" && -z "${TRACKER_DB_HOST:-}" || -z "${DATABASE_URL:-}" && -n "${TRACKER_DB_HOST:-}" ]]; then
  echo "error: set both DATABASE_URL (the case store) and TRACKER_DB_HOST (Rasa's tracker store), or neither to use make run-scale's own PostgreSQL" >&2
  exit 2
fi
if [[ -z "${DATABASE_URL:-}" ]]; then
  port="${SCALE_POSTGRES_PORT:-55433}"
  mkdir -p "$state"
  chmod 755 "$state"
  first=0; [[ -d "$state/postgres/data" ]] || first=1
  eval "$(TEST_POSTGRES_PORT=$port scripts/test-postgres.sh start "$state/postgres")"
  cleanup+=("scripts/test-postgres.sh stop '$state/postgres'")
  if [[ $first == 1 ]]; then
    for db in petition rasa; do
      psql -q -h 127.0.0.1 -p "$port" -U postgres -c "CREATE DATABASE $db" >/dev/null
    done
  fi
  export DATABASE_URL="postgresql+psycopg://postgres@127.0.0.1:$port/petition"
  export TRACKER_DB_HOST=127.0.0.1 TRACKER_DB_PORT="$port" TRACKER_DB_NAME=rasa
  export TRACKER_DB_USER=postgres TRACKER_DB_PASSWORD=""
fi
if [[ -z "${REDIS_HOST:-}" ]]; then
  eval "$(REDIS_PORT="${SCALE_REDIS_PORT:-56379}" scripts/redis.sh start "$state/redis")"
  cleanup+=("scripts/redis.sh stop '$state/redis'")
fi
: "${TRACKER_DB_PORT:=5432}" "${TRACKER_DB_NAME:=rasa}" "${TRACKER_DB_USER:=postgres}"
: "${TRACKER_DB_PASSWORD:=}" "${REDIS_PORT:=6379}"
export TRACKER_DB_PORT TRACKER_DB_NAME TRACKER_DB_USER TRACKER_DB_PASSWORD REDIS_PORT

.venv/bin/alembic upgrade head
echo "Starting (scale-out): Rasa :$RASA_PORT with $SANIC_WORKERS workers (tracker store on PostgreSQL, lock store on Redis $REDIS_HOST:$REDIS_PORT), action server :$ACTION_PORT with $ACTION_WORKERS workers, app :$APP_PORT (case store on PostgreSQL)"
# Not exec: the trap above stops PostgreSQL and Redis once supervisord has stopped the services.
.venv/bin/python -m webapp.supervise run
