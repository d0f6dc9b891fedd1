#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# `make run`: the platform on its embedded defaults — a private redis-server, a sample upstream,
# the dashboard on SQLite (run/dashboard.db) with a first organisation and admin user, the
# gateway in dashboard mode (it loads its APIs and policies from the dashboard), a sample keyless
# API created through the Dashboard API, and the pump writing analytics into SQLite
# (run/analytics.db, Tyk's tables) where the dashboard's /api/usage reads them. Everything lives
# under ./run and stops on Ctrl-C.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
run="$root/run"
bin="${BUILD:-build}/src/gateway/turnpike-gateway"
pump_bin="${BUILD:-build}/src/pump/turnpike-pump"
dash_bin="${BUILD:-build}/src/dashboard/turnpike-dashboard"
port="${PORT:-8080}"
dash_port="${DASHBOARD_PORT:-3000}"
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

rand_hex() { head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n'; }
secret="${TYK_GW_SECRET:-$(rand_hex)}"
node_secret=$(rand_hex)
admin_secret=$(rand_hex)

cat >"$run/tyk_analytics.conf" <<JSON
{
  "listen_port": $dash_port,
  "turnpike_listen_address": "127.0.0.1",
  "tyk_api_config": {"Host": "http://127.0.0.1", "Port": "$port", "Secret": "$secret"},
  "admin_secret": "$admin_secret",
  "shared_node_secret": "$node_secret",
  "storage": {
    "main": {"type": "sqlite", "connection_string": "$run/dashboard.db"},
    "analytics": {"type": "sqlite", "connection_string": "$run/analytics.db"}
  },
  "redis_host": "127.0.0.1",
  "redis_port": $redis_port,
  "notify_on_change": true,
  "log_level": "info"
}
JSON
"$dash_bin" --conf="$run/tyk_analytics.conf" 2>>"$run/logs/dashboard.log" &
pids+=($!)
for _ in $(seq 1 100); do
  curl -fs "http://127.0.0.1:$dash_port/health" >/dev/null 2>&1 && break
  sleep 0.1
done

# The first organisation and admin user, as Tyk's bootstrap does it (Admin API, then the user
# sets its password). The JSON replies are read with node, which the tests need anyway.
json_get() { node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>{const v=process.argv[1].split(".").reduce((o,k)=>o&&o[k],JSON.parse(s));console.log(v??"")})' "$1"; }
dash() { curl -fsS -H "Content-Type: application/json" "$@"; }
org_id=$(dash -H "admin-auth: $admin_secret" -d '{"owner_name":"Default Org","owner_slug":"default"}' \
  "http://127.0.0.1:$dash_port/admin/organisations" | json_get Meta)
email="admin@turnpike.local"
password="$(rand_hex | head -c 12)"
user=$(dash -H "admin-auth: $admin_secret" -d "{\"org_id\":\"$org_id\",\"first_name\":\"Admin\",\"last_name\":\"User\",\"email_address\":\"$email\",\"active\":true,\"user_permissions\":{\"IsAdmin\":\"admin\"}}" \
  "http://127.0.0.1:$dash_port/admin/users")
user_id=$(json_get Meta.id <<<"$user")
user_key=$(json_get Meta.access_key <<<"$user")
dash -H "authorization: $user_key" -d "{\"new_password\":\"$password\"}" \
  "http://127.0.0.1:$dash_port/api/users/$user_id/actions/reset" >/dev/null

# A sample keyless API, created through the Dashboard API; the gateway loads it from there.
dash -H "authorization: $user_key" -d "{\"api_definition\": {
  \"name\": \"Sample keyless API\", \"api_id\": \"sample\", \"use_keyless\": true, \"active\": true,
  \"version_data\": {\"not_versioned\": true, \"versions\": {\"Default\": {\"name\": \"Default\"}}},
  \"proxy\": {\"listen_path\": \"/sample/\", \"target_url\": \"http://127.0.0.1:$up_port/\", \"strip_listen_path\": true}}}" \
  "http://127.0.0.1:$dash_port/api/apis" >/dev/null
cat >"$run/tyk.conf" <<JSON
{
  "listen_address": "127.0.0.1",
  "listen_port": $port,
  "secret": "$secret",
  "node_secret": "$node_secret",
  "use_db_app_configs": true,
  "db_app_conf_options": {"connection_string": "http://127.0.0.1:$dash_port"},
  "policies": {"policy_source": "service", "policy_connection_string": "http://127.0.0.1:$dash_port"},
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

Turnpike is running: dashboard, gateway (in dashboard mode) and pump.
  Dashboard API:        http://127.0.0.1:$dash_port   (organisation $org_id)
    admin user:         $email   password: $password
    API access key:     curl -H 'authorization: $user_key' http://127.0.0.1:$dash_port/api/apis
    Admin API secret:   $admin_secret   (header admin-auth)
  Try the sample API:   curl http://127.0.0.1:$port/sample/hello
  Health:               curl http://127.0.0.1:$port/hello
  Control API:          curl -H 'X-Tyk-Authorization: $secret' http://127.0.0.1:$port/tyk/apis
  Analytics (SQLite):   sqlite3 $run/analytics.db 'SELECT timestamp, method, path, responsecode FROM tyk_analytics'
  Pump health / stats:  curl http://127.0.0.1:$pump_health/health   curl http://127.0.0.1:$pump_health/stats
  Config and logs:      $run/tyk.conf, $run/tyk_analytics.conf, $run/logs/
Press Ctrl-C to stop.
MSG
wait "$gw"
