#!/usr/bin/env bash
# Start a throwaway Redis (Debian's redis-server, installed when missing) on loopback and print
# its settings; stop it again. Usage: eval "$(scripts/redis.sh start DIR)"; scripts/redis.sh stop DIR
set -euo pipefail
action="$1"; dir="$2"; port="${REDIS_PORT:-56379}"
case "$action" in
  start)
    if ! command -v redis-server >/dev/null 2>&1; then
      echo "installing Redis (Debian package redis-server) …" >&2
      sudo_cmd=""; [ "$(id -u)" -ne 0 ] && sudo_cmd="sudo"
      $sudo_cmd apt-get update -qq >&2
      DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq --no-install-recommends redis-server >&2
    fi
    mkdir -p "$dir"
    redis-server --bind 127.0.0.1 --port "$port" --dir "$dir" --save "" --appendonly no \
      --daemonize yes --pidfile "$dir/redis.pid" --logfile "$dir/redis.log" >&2
    for _ in $(seq 50); do redis-cli -p "$port" ping >/dev/null 2>&1 && break; sleep 0.1; done
    echo "export REDIS_HOST=127.0.0.1 REDIS_PORT=$port"
    ;;
  stop)
    [ -f "$dir/redis.pid" ] && kill "$(cat "$dir/redis.pid")" 2>/dev/null || true
    ;;
esac
