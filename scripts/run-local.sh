#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# `make run`: the platform on its embedded defaults — a private redis-server, a sample upstream,
# the gateway with a sample keyless API and analytics on, and the pump writing those analytics
# into SQLite (run/analytics.db, Tyk's tables). Everything lives under ./run and stops on Ctrl-C.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
run="$root/run"
bin="${BUILD:-build}/src/gateway/turnpike-gateway"
pump_bin="${BUILD:-build}/src/pump/turnpike-pump"
port="${PORT:-8080}"
mkdir -p "$run/apps" "$run/logs"

free_port() {
  node -e 'const s=require("net").createServer().listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})'
}

pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
}
trap cleanup EXIT INT TERM

redis_port=$(free_port)
redis-server --port "$redis_port" --bind 127.0.0.1 --save '' --appendonly no \
  --logfile "$run/logs/redis.log" &
pids+=($!)

up_port=$(free_port)
node scripts/sample-upstream.mjs "$up_port" >"$run/logs/upstream.log" 2>&1 &
pids+=($!)

cat >"$run/apps/sample.json" <<JSON
{
  "name": "Sample keyless API",
  "api_id": "sample",
  "org_id": "default",
  "use_keyless": true,
  "active": true,
  "version_data": {"not_versioned": true, "versions": {"Default": {"name": "Default"}}},
  "proxy": {"listen_path": "/sample/", "target_url": "http://127.0.0.1:$up_port/", "strip_listen_path": true}
}
JSON

secret="${TYK_GW_SECRET:-$(head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n')}"
cat >"$run/tyk.conf" <<JSON
{
  "listen_address": "127.0.0.1",
  "listen_port": $port,
  "secret": "$secret",
  "app_path": "$run/apps",
  "template_path": "$root/templates",
  "pid_file_location": "$run/gateway.pid",
  "storage": {"type": "redis", "host": "127.0.0.1", "port": $redis_port},
  "enable_analytics": true,
  "turnpike_analytics_spool_dir": "$run/analytics-spool",
  "log_level": "info"
}
JSON

pump_health=$(free_port)
cat >"$run/pump.conf" <<JSON
{
  "analytics_storage_type": "redis",
  "analytics_storage_config": {"type": "redis", "host": "127.0.0.1", "port": $redis_port},
  "purge_delay": 2,
  "health_check_endpoint_port": $pump_health,
  "journal_dir": "$run/pump-journal",
  "pumps": {
    "sqlite": {"type": "sql", "meta": {"type": "sqlite", "connection_string": "$run/analytics.db"}},
    "sqlite_aggregate": {"type": "sql_aggregate", "meta": {"type": "sqlite", "connection_string": "$run/analytics.db"}}
  }
}
JSON
"$pump_bin" --conf="$run/pump.conf" 2>>"$run/logs/pump.log" &
pids+=($!)

"$bin" --conf="$run/tyk.conf" 2> >(tee "$run/logs/gateway.log" >&2) &
gw=$!
pids+=($gw)

for _ in $(seq 1 50); do
  curl -fs "http://127.0.0.1:$port/hello" >/dev/null 2>&1 && break
  sleep 0.1
done

cat <<MSG

Turnpike gateway is running.
  Try the sample API:   curl http://127.0.0.1:$port/sample/hello
  Health:               curl http://127.0.0.1:$port/hello
  Control API:          curl -H 'X-Tyk-Authorization: $secret' http://127.0.0.1:$port/tyk/apis
  Analytics (SQLite):   sqlite3 $run/analytics.db 'SELECT timestamp, method, path, responsecode FROM tyk_analytics'
  Pump health / stats:  curl http://127.0.0.1:$pump_health/health   curl http://127.0.0.1:$pump_health/stats
  Config and logs:      $run/tyk.conf, $run/logs/
Press Ctrl-C to stop.
MSG
wait "$gw"
