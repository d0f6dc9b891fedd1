#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
#
# Turnpike benchmark: gateway vs. nginx reverse proxy, measured in the same run.
# Method: /work/shared/BENCHMARKING.md (see bench/README.md for a summary).
#
#   core 0: system under test (gateway, 1 worker | nginx reverse proxy, 1 worker)
#   core 1: upstream nginx (return 200 + small JSON), wrk, paced client, redis
#
# Everything it starts is private (own temp dir, own config, own free loopback port)
# and is stopped by PID on exit. Exit status: 0 = benchmark ran (targets may still be
# MISS), 1 = harness failure, 2 = the gateway could not be started or does not proxy.

set -uo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$HERE/.." && pwd)

# ---------------------------------------------------------------- settings
ROUNDS=${BENCH_ROUNDS:-3}
DURATION=${BENCH_DURATION:-10}
WARMUP=${BENCH_WARMUP:-2}
THREADS=${BENCH_THREADS:-2}
CONNS=${BENCH_CONNS:-64}
PACED_CONNS=${BENCH_PACED_CONNS:-4}
PACED_THINK_MS=${BENCH_PACED_THINK_MS:-10}
PACED_DURATION=${BENCH_PACED_DURATION:-3}
RSS_APIS=${BENCH_RSS_APIS:-1000}
START_TIMEOUT=${BENCH_START_TIMEOUT:-15}
SELFTEST=${BENCH_SELFTEST:-0}
# keyless | key-drl-quota (auth token + in-memory rate limit + Redis quota)
#         | key-redis-quota (auth token + Redis sliding log + quota, one pipelined exchange)
#         | analytics (keyless with analytics records on, against the same gateway with them off
#           as the reference instead of nginx; a drainer empties the Redis list every second)
#         | endpoints (keyless with 20 extended_paths entries, a header transform and a URL
#           rewrite on the benchmarked path)
#         | h2 (keyless over h2c prior knowledge: h2load against the gateway with enable_http2 and
#           nginx `listen ... http2`; latency columns are h2load's mean and max, no paced run)
SCENARIO=${BENCH_SCENARIO:-keyless}
BENCH_KEY=benchkey0001
SUT_CPU=${BENCH_SUT_CPU:-0}
AUX_CPU=${BENCH_AUX_CPU:-1}
GATEWAY_BIN=${GATEWAY_BIN:-$REPO/build-release/src/gateway/turnpike-gateway}
NGINX=${NGINX_BIN:-nginx}
WRK=${WRK_BIN:-wrk}
REDIS=${REDIS_BIN:-redis-server}
NODE=${NODE_BIN:-node}
if [[ -n "${BENCH_RESULTS:-}" ]]; then
    RESULTS=$BENCH_RESULTS
elif [[ "$SELFTEST" == 1 ]]; then
    RESULTS=$HERE/RESULTS-selftest.md
elif [[ "$SCENARIO" != keyless ]]; then
    RESULTS=$HERE/RESULTS-$SCENARIO.md
else
    RESULTS=$HERE/RESULTS.md
fi
AUTH_HDR=()
REF_LABEL=nginx
if [[ "$SCENARIO" == analytics ]]; then
    REF_LABEL="gateway, analytics off"
    RSS_APIS=0
elif [[ "$SCENARIO" == endpoints || "$SCENARIO" == jsvm || "$SCENARIO" == h2 ]]; then
    RSS_APIS=0
elif [[ "$SCENARIO" != keyless ]]; then
    AUTH_HDR=(-H "Authorization: $BENCH_KEY")
    export BENCH_AUTH_HEADER="$BENCH_KEY"
    RSS_APIS=0
fi

# Targets (ratios gateway / nginx, same run).
T_CPU=1.15
case "$SCENARIO" in
    keyless) ;;
    key-drl-quota) T_CPU=1.3 ;;
    key-redis-quota) T_CPU=2.0 ;;
    analytics) T_CPU=1.1 ;;
    endpoints) T_CPU=1.3 ;;
    jsvm) T_CPU=2.0 ;;
    h2) T_CPU=1.25 ;;  # issue 6: HTTP/2 downstream, <= 1.25x nginx  # issue 7: a JS pre middleware setting one header, <= 2x nginx
    *) echo "unknown BENCH_SCENARIO $SCENARIO" >&2; exit 1 ;;
esac
T_RPS=0.9
T_P99=1.25
H2LOAD=${H2LOAD_BIN:-h2load}
H2_CONNS=${BENCH_H2_CONNS:-16}
H2_STREAMS=${BENCH_H2_STREAMS:-10}
CURL_PROTO=()   # how the harness's own probes speak (to the proxies, once the upstream is up)
CURL_PROXY_PROTO=()
NGX_LISTEN_OPT=""
if [[ "$SCENARIO" == h2 ]]; then
    CURL_PROXY_PROTO=(--http2-prior-knowledge)
    NGX_LISTEN_OPT=" http2"  # nginx: h2c with prior knowledge on a plain listener
    PACED_DURATION=0
fi
T_RSS_MIB=40

CLK_TCK=$(getconf CLK_TCK)
T_START=$(date +%s)

exec 9>&2   # the harness's own stderr, even inside redirected function calls
log() { printf '[bench %3ss] %s\n' "$(( $(date +%s) - T_START ))" "$*" >&9; }
die() { printf 'bench: ERROR: %s\n' "$*" >&9; exit 1; }
gw_die() { printf 'bench: GATEWAY ERROR: %s\n' "$*" >&9; GW_FAILED=1; exit 2; }

for n in "$NGINX" "$WRK" "$REDIS" "$NODE" taskset curl timeout ss awk; do
    command -v "$n" >/dev/null 2>&1 || die "required tool not found: $n"
done
NPROC=$(nproc --all)
[[ "$NPROC" -ge 2 ]] || log "warning: fewer than 2 CPUs online; pinning will overlap"
for v in ROUNDS DURATION WARMUP THREADS CONNS PACED_CONNS PACED_DURATION RSS_APIS START_TIMEOUT; do
    [[ "${!v}" =~ ^[0-9]+$ ]] || die "$v must be a non-negative integer (got '${!v}')"
done
[[ "$ROUNDS" -ge 1 && "$DURATION" -ge 1 ]] || die "BENCH_ROUNDS and BENCH_DURATION must be >= 1"

# ---------------------------------------------------------------- cleanup
TMP=$(mktemp -d /tmp/turnpike-bench.XXXXXX) || die "mktemp failed"
chmod 755 "$TMP"
PIDS=()          # every process we started, in start order
GW_FAILED=0

descendants() {  # print all descendant PIDs of $1 (not $1 itself), one pass over /proc
    local st rest p
    local -a f
    for st in /proc/[0-9]*/stat; do
        { read -r rest <"$st"; } 2>/dev/null || continue
        p=${st#/proc/}; p=${p%/stat}
        rest=${rest##*) }
        read -r -a f <<<"$rest"
        echo "$p ${f[1]}"
    done | awk -v root="$1" '{ par[$1] = $2 }
        END { want[root] = 1; changed = 1
              while (changed) { changed = 0
                  for (p in par) if (!(p in want) && (par[p] in want)) { want[p] = 1; changed = 1; print p } } }'
}

stop_pid() {
    local pid=$1 i kids
    kill -0 "$pid" 2>/dev/null || return 0
    kids=$(descendants "$pid")
    kill -TERM "$pid" 2>/dev/null
    for ((i = 0; i < 30; i++)); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    kill -0 "$pid" 2>/dev/null && kill -KILL "$pid" 2>/dev/null
    for k in $kids; do kill -KILL "$k" 2>/dev/null; done
    wait "$pid" 2>/dev/null
    return 0
}

CHILD=""         # the load-generator run in progress (see run_fg)
cleanup() {
    local i
    trap - EXIT INT TERM
    [[ -n "$CHILD" ]] && stop_pid "$CHILD"
    for ((i = ${#PIDS[@]} - 1; i >= 0; i--)); do stop_pid "${PIDS[i]}"; done
    if [[ "${BENCH_KEEP_TMP:-0}" == 1 ]]; then
        log "kept temp dir $TMP"
    else
        rm -rf "$TMP"
    fi
}
trap cleanup EXIT
trap 'log "interrupted"; exit 130' INT TERM

# The harness itself (bash, curl, awk) runs on the load core; the SUT is pinned explicitly.
taskset -cp "$AUX_CPU" $$ >/dev/null || die "taskset failed"

# ---------------------------------------------------------------- helpers
USED_PORTS=" "
free_port() {  # VAR -> sets VAR to an unused loopback port (no subshell: USED_PORTS persists)
    local p i
    for ((i = 0; i < 200; i++)); do
        p=$((20000 + RANDOM % 40000))
        [[ "$USED_PORTS" == *" $p "* ]] && continue
        if [[ -z "$(ss -Htan "( sport = :$p )" 2>/dev/null)" ]]; then
            USED_PORTS+="$p "
            printf -v "$1" '%s' "$p"
            return 0
        fi
    done
    die "no free loopback port found"
}

http_code() {  # url -> status code (000 on failure); never uses a proxy
    curl --noproxy '*' -s -o /dev/null --max-time 2 "${CURL_PROTO[@]}" "${AUTH_HDR[@]}" -w '%{http_code}' "$1" 2>/dev/null || true
}

wait_http() {  # url timeout_s pid -> 0 when it answers 200
    local url=$1 deadline=$(( $(date +%s) + $2 )) pid=${3:-}
    while (( $(date +%s) < deadline )); do
        if [[ -n "$pid" ]] && ! kill -0 "$pid" 2>/dev/null; then return 1; fi
        [[ "$(http_code "$url")" == 200 ]] && return 0
        sleep 0.1
    done
    return 1
}

tree_pids() { echo "$1"; descendants "$1"; }

tree_ticks() {  # utime+stime (fields 14,15) summed over $1 and descendants
    local total=0 p rest
    local -a f
    for p in $(tree_pids "$1"); do
        { read -r rest <"/proc/$p/stat"; } 2>/dev/null || continue
        rest=${rest##*) }          # fields from 3 onward; utime = f[11], stime = f[12]
        read -r -a f <<<"$rest"
        total=$(( total + f[11] + f[12] ))
    done
    echo "$total"
}

tree_status_kb() {  # field (VmHWM|VmRSS) summed over $2 and descendants, in kB
    local field=$1 total=0 p v
    for p in $(tree_pids "$2"); do
        v=$(awk -v k="$field:" '$1 == k { print $2 }' "/proc/$p/status" 2>/dev/null)
        total=$(( total + ${v:-0} ))
    done
    echo "$total"
}

cpu_sample() {  # "busy0 total0 busy1 total1" from /proc/stat for the two cores
    awk -v a="cpu$SUT_CPU" -v b="cpu$AUX_CPU" '
        $1 == a || $1 == b {
            t = 0; for (i = 2; i <= 9; i++) t += $i
            busy[$1] = t - $5 - $6; tot[$1] = t
        }
        END { printf "%d %d %d %d\n", busy[a], tot[a], busy[b], tot[b] }' /proc/stat
}

now() { date +%s.%N; }

# Run a bounded foreground job in the background and wait for it, so that INT/TERM
# interrupt the wait immediately and cleanup can stop the job by PID.
run_fg() {
    local rc
    "$@" &
    CHILD=$!
    wait "$CHILD"; rc=$?
    CHILD=""
    return "$rc"
}

# ---------------------------------------------------------------- configs
free_port UP_PORT
free_port REDIS_PORT
free_port NGX_PORT
free_port GW_PORT
UP_BODY='{"status":"ok","service":"bench-upstream","items":[1,2,3]}'

nginx_common() {  # prefix dir -> common top-level directives
    cat <<EOF
daemon off;
master_process on;
pid $1/nginx.pid;
lock_file $1/nginx.lock;
error_log $1/error.log warn;
EOF
    [[ "$(id -u)" == 0 ]] && echo "user root;"
}

nginx_http_common() {
    cat <<EOF
    access_log off;
    client_body_temp_path $1/body;
    proxy_temp_path $1/proxy;
    fastcgi_temp_path $1/fastcgi;
    uwsgi_temp_path $1/uwsgi;
    scgi_temp_path $1/scgi;
    keepalive_requests 1000000;
    keepalive_timeout 75s;
EOF
}

write_upstream_conf() {
    local d=$TMP/upstream; mkdir -p "$d"
    {
        nginx_common "$d"
        cat <<EOF
worker_processes 1;
events { worker_connections 4096; }
http {
$(nginx_http_common "$d")
    server {
        listen 127.0.0.1:$UP_PORT reuseport backlog=4096;
        location / {
            default_type application/json;
            return 200 '$UP_BODY';
        }
    }
}
EOF
    } >"$d/nginx.conf"
}

# Reference reverse proxy: /PATH/ -> upstream /, upstream keep-alive.
# $1 = dir name, $2 = listen port, $3 = number of extra /api-N/ locations (for the RSS selftest)
write_proxy_conf() {
    local d=$TMP/$1 port=$2 extra=${3:-0} i; mkdir -p "$d"
    {
        nginx_common "$d"
        cat <<EOF
worker_processes 1;
events { worker_connections 4096; }
http {
$(nginx_http_common "$d")
    upstream bench_upstream {
        server 127.0.0.1:$UP_PORT;
        keepalive 64;
        keepalive_requests 1000000;
    }
    server {
        listen 127.0.0.1:$port backlog=4096$NGX_LISTEN_OPT;
        location /bench/ {
            proxy_pass http://bench_upstream/;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
        }
EOF
        for ((i = 1; i <= extra; i++)); do
            printf '        location /api-%d/ { proxy_pass http://bench_upstream/; proxy_http_version 1.1; proxy_set_header Connection ""; }\n' "$i"
        done
        cat <<EOF
    }
}
EOF
    } >"$d/nginx.conf"
}

api_def() {  # name listen_path -> API definition JSON (printf: no fork per file)
    local keyless=true
    [[ "$SCENARIO" != keyless && "$SCENARIO" != analytics && "$SCENARIO" != endpoints && "$SCENARIO" != jsvm && "$SCENARIO" != h2 ]] && keyless=false
    printf '{"name":"%s","api_id":"%s","org_id":"default","use_keyless":%s,"active":true,\n' "$1" "$1" "$keyless"
    if [[ "$SCENARIO" == endpoints ]]; then
        # 20 entries: 17 that do not match the benchmarked path (checked and passed over on every
        # request), a header transform and a URL rewrite that do, and a size limit (GET: skipped).
        printf ' "version_data":{"not_versioned":true,"versions":{"Default":{"name":"Default",'
        printf '"use_extended_paths":true,"extended_paths":{"black_list":['
        for i in 0 1 2 3 4 5 6 7 8 9; do printf '%s{"path":"/blocked-%d/{id}","method":"GET"}' "$([[ $i == 0 ]] || echo ,)" "$i"; done
        printf '],"ignored":[{"path":"/health","method":"GET"},{"path":"/status/{x}","method":"GET"},{"path":"/ping","method":"GET"},{"path":"/metrics","method":"GET"}],'
        printf '"mock_response":[{"path":"/mock-a","method":"GET","code":200,"body":"a"},{"path":"/mock-b","method":"GET","code":200,"body":"b"},{"path":"/mock-c","method":"POST","code":201,"body":"c"}],'
        printf '"size_limits":[{"path":"/bench","method":"GET","size_limit":1048576}],'
        printf '"transform_headers":[{"path":"/","method":"GET","add_headers":{"X-Bench":"1"},"delete_headers":["X-Remove"]}],'
        printf '"url_rewrites":[{"path":"/","method":"GET","match_pattern":"/bench/(.*)","rewrite_to":"/bench/$1"}]'
        printf '}}}},\n'
    else
        printf ' "version_data":{"not_versioned":true,"versions":{"Default":{"name":"Default"}}},\n'
    fi
    [[ "$SCENARIO" == jsvm ]] && printf ' "custom_middleware":{"driver":"otto","pre":[{"name":"benchPre","path":"%s"}]},\n' "$TMP/gw/bench_pre.js"
    printf ' "proxy":{"listen_path":"%s","target_url":"http://127.0.0.1:%s/","strip_listen_path":true}}\n' "$2" "$UP_PORT"
}

write_gateway_conf() {  # dir port [analytics] -> $dir/tyk.conf (apps in $dir/apps)
    local d=$1 port=$2 analytics=${3:-false}
    mkdir -p "$d/apps"
    [[ "$SCENARIO" == jsvm ]] && cat >"$d/bench_pre.js" <<'JS'
var benchPre = new TykJS.TykMiddleware.NewMiddleware({});
benchPre.NewProcessRequest(function (request, session, config) {
  request.SetHeaders['X-Bench-Js'] = '1';
  return benchPre.ReturnData(request, {});
});
JS
    cat >"$d/tyk.conf" <<EOF
{"listen_address":"127.0.0.1","listen_port":$port,"secret":"bench-secret",
 "app_path":"$d/apps","template_path":"$REPO/templates","pid_file_location":"$d/gw.pid",
 "storage":{"type":"redis","host":"127.0.0.1","port":$REDIS_PORT},
 "turnpike_workers":1,"log_level":"warn","enable_analytics":$analytics,
 "turnpike_analytics_spool_dir":"$d/spool"$(
    [[ "$SCENARIO" == key-redis-quota ]] && printf ',"enable_redis_rolling_limiter":true'
    [[ "$SCENARIO" == jsvm ]] && printf ',"enable_jsvm":true'
    [[ "$SCENARIO" == h2 ]] && printf ',"http_server_options":{"enable_http2":true}')}
EOF
}

start_nginx() {  # cpu dir -> echoes master pid
    local cpu=$1 d=$2
    taskset -c "$cpu" "$NGINX" -p "$d" -c "$d/nginx.conf" -e "$d/error.log" \
        </dev/null >>"$d/stdout.log" 2>&1 &
    local pid=$!
    PIDS+=("$pid")
    LAST_PID=$pid
}

start_gateway() {  # dir -> LAST_PID
    local d=$1
    [[ -x "$GATEWAY_BIN" ]] || gw_die "gateway binary not found or not executable: $GATEWAY_BIN
  (build it: meson setup build-release --buildtype=release && ninja -C build-release,
   or run the harness self-test: BENCH_SELFTEST=1 make bench)"
    taskset -c "$SUT_CPU" "$GATEWAY_BIN" --conf="$d/tyk.conf" </dev/null >>"$d/gateway.log" 2>&1 &
    local pid=$!
    PIDS+=("$pid")
    LAST_PID=$pid
}

# If the gateway daemonized, follow the PID in its pid file (and stop it on exit too).
adopt_pidfile() {  # dir var
    local f=$1/gw.pid p
    [[ -s "$f" ]] || return 0
    read -r p <"$f" 2>/dev/null || return 0
    if [[ "$p" =~ ^[0-9]+$ && "$p" != "${!2}" ]] && kill -0 "$p" 2>/dev/null &&
        ! descendants "${!2}" | grep -qx "$p"; then
        log "gateway pid file names $p (started as ${!2}); measuring $p"
        PIDS+=("$p")
        printf -v "$2" '%s' "$p"
    fi
}

# ---------------------------------------------------------------- start
log "temp dir $TMP; ports: upstream=$UP_PORT redis=$REDIS_PORT nginx=$NGX_PORT gateway=$GW_PORT"
max_s=$(( ROUNDS * 2 * (WARMUP + DURATION + PACED_DURATION + 2) + 3 * START_TIMEOUT + 15 ))
log "rounds=$ROUNDS duration=${DURATION}s warmup=${WARMUP}s wrk -t$THREADS -c$CONNS; upper bound ~${max_s}s"

write_upstream_conf
start_nginx "$AUX_CPU" "$TMP/upstream"; UP_PID=$LAST_PID
wait_http "http://127.0.0.1:$UP_PORT/" "$START_TIMEOUT" "$UP_PID" ||
    die "upstream nginx did not start: $(tail -5 "$TMP/upstream/error.log" "$TMP/upstream/stdout.log" 2>/dev/null)"
CURL_PROTO=("${CURL_PROXY_PROTO[@]}")

mkdir -p "$TMP/redis"
taskset -c "$AUX_CPU" "$REDIS" --port "$REDIS_PORT" --bind 127.0.0.1 --save '' --appendonly no \
    --daemonize no --dir "$TMP/redis" --logfile "$TMP/redis/redis.log" </dev/null >/dev/null 2>&1 &
REDIS_PID=$!; PIDS+=("$REDIS_PID")
for ((i = 0; i < START_TIMEOUT * 10; i++)); do
    kill -0 "$REDIS_PID" 2>/dev/null || die "redis-server exited: $(tail -5 "$TMP/redis/redis.log" 2>/dev/null)"
    (exec 3<>"/dev/tcp/127.0.0.1/$REDIS_PORT") 2>/dev/null && break
    sleep 0.1
done
if [[ "$SCENARIO" != keyless && "$SCENARIO" != analytics ]]; then
    # A session that never hits its limits: the cost of checking them is what is measured.
    session='{"org_id":"default","rate":1000000000,"per":1,"quota_max":1000000000000,"quota_renewal_rate":3600,"access_rights":{"bench":{"api_id":"bench","api_name":"bench","versions":["Default"]}}}'
    printf '*3\r\n$3\r\nSET\r\n$%d\r\n%s\r\n$%d\r\n%s\r\n' "$((7 + ${#BENCH_KEY}))" "apikey-$BENCH_KEY" \
        "${#session}" "$session" | timeout 5 bash -c "exec 3<>/dev/tcp/127.0.0.1/$REDIS_PORT; cat >&3; head -c 5 <&3" >/dev/null ||
        die "could not store the bench key in Redis"
fi

if [[ "$SCENARIO" == analytics ]]; then
    # The reference is the same gateway with analytics off; the Redis list is emptied every
    # second on the load core, as a pump would, so memory stays flat.
    write_gateway_conf "$TMP/nginx-proxy" "$NGX_PORT" false
    api_def bench /bench/ >"$TMP/nginx-proxy/apps/bench.json"
    start_gateway "$TMP/nginx-proxy"; NGX_PID=$LAST_PID
    wait_http "http://127.0.0.1:$NGX_PORT/bench/" "$START_TIMEOUT" "$NGX_PID" ||
        die "reference gateway did not start: $(tail -5 "$TMP/nginx-proxy/gateway.log" 2>/dev/null)"
    adopt_pidfile "$TMP/nginx-proxy" NGX_PID
    cat >"$TMP/drain.sh" <<'EOF_DRAIN'
#!/usr/bin/env bash
# Empties the analytics list once a second (stands in for a pump).
port=$1
while sleep 1; do
    exec 3<>"/dev/tcp/127.0.0.1/$port" || exit 0
    printf '*2\r\n$3\r\nDEL\r\n$30\r\nanalytics-tyk-system-analytics\r\n' >&3
    head -c 4 <&3 >/dev/null
    exec 3>&-
done
EOF_DRAIN
    taskset -c "$AUX_CPU" bash "$TMP/drain.sh" "$REDIS_PORT" &
    PIDS+=("$!")
else
    write_proxy_conf nginx-proxy "$NGX_PORT"
    start_nginx "$SUT_CPU" "$TMP/nginx-proxy"; NGX_PID=$LAST_PID
    wait_http "http://127.0.0.1:$NGX_PORT/bench/" "$START_TIMEOUT" "$NGX_PID" ||
        die "reference nginx proxy did not start: $(tail -5 "$TMP/nginx-proxy/error.log" 2>/dev/null)"
fi

if [[ "$SELFTEST" == 1 ]]; then
    GW_LABEL="gateway(selftest=nginx)"
    write_proxy_conf gw "$GW_PORT"
    start_nginx "$SUT_CPU" "$TMP/gw"; GW_PID=$LAST_PID
    GW_CMD="taskset -c $SUT_CPU $NGINX -p <tmp>/gw -c <tmp>/gw/nginx.conf  (BENCH_SELFTEST=1)"
    wait_http "http://127.0.0.1:$GW_PORT/bench/" "$START_TIMEOUT" "$GW_PID" ||
        die "selftest nginx did not start: $(tail -5 "$TMP/gw/error.log" 2>/dev/null)"
else
    GW_LABEL="gateway"
    write_gateway_conf "$TMP/gw" "$GW_PORT" "$([[ $SCENARIO == analytics ]] && echo true || echo false)"
    api_def bench /bench/ >"$TMP/gw/apps/bench.json"
    start_gateway "$TMP/gw"; GW_PID=$LAST_PID
    GW_CMD="taskset -c $SUT_CPU $GATEWAY_BIN --conf=<tmp>/gw/tyk.conf"
    wait_http "http://127.0.0.1:$GW_PORT/bench/" "$START_TIMEOUT" "$GW_PID" ||
        gw_die "gateway did not answer 200 on /bench/ within ${START_TIMEOUT}s (last status $(http_code "http://127.0.0.1:$GW_PORT/bench/")); log:
$(tail -20 "$TMP/gw/gateway.log" 2>/dev/null)"
    adopt_pidfile "$TMP/gw" GW_PID
fi

# Both proxies must return the upstream's body unchanged.
for p in "$NGX_PORT" "$GW_PORT"; do
    body=$(curl --noproxy '*' -s --max-time 2 "${CURL_PROTO[@]}" "${AUTH_HDR[@]}" "http://127.0.0.1:$p/bench/")
    if [[ "$body" != "$UP_BODY" ]]; then
        [[ "$p" == "$GW_PORT" && "$SELFTEST" != 1 ]] && gw_die "gateway returned an unexpected body: $body"
        die "proxy on port $p returned an unexpected body: $body"
    fi
done
log "all services up (upstream pid $UP_PID, redis pid $REDIS_PID, nginx pid $NGX_PID, gateway pid $GW_PID)"

# ---------------------------------------------------------------- rounds
to_us() {  # "1.23ms" -> 1230
    awk -v v="$1" 'BEGIN {
        n = v + 0; u = v; sub(/^[0-9.]+/, "", u)
        m = (u == "us") ? 1 : (u == "ms") ? 1000 : (u == "s") ? 1e6 : (u == "m") ? 6e7 : (u == "h") ? 3.6e9 : -1
        if (m < 0) { print "NaN"; exit }
        printf "%.1f\n", n * m }'
}

ROWS=$TMP/rows.tsv
: >"$ROWS"
WRK_CMD="taskset -c $AUX_CPU $WRK ${AUTH_HDR[*]:+-H 'Authorization: $BENCH_KEY'} -t$THREADS -c$CONNS -d${DURATION}s --latency http://127.0.0.1:<port>/bench/"
PACED_CMD="taskset -c $AUX_CPU $NODE bench/paced.js http://127.0.0.1:<port>/bench/ $PACED_CONNS $PACED_THINK_MS $PACED_DURATION"
if [[ "$SCENARIO" == h2 ]]; then
    WRK_CMD="taskset -c $AUX_CPU $H2LOAD -t$THREADS -c$H2_CONNS -m$H2_STREAMS -D $DURATION http://127.0.0.1:<port>/bench/  (h2c; latency rows: p50 = h2load mean, p99 = h2load max)"
    PACED_CMD="(none for h2)"
fi

# h2: one h2load run in place of wrk + paced; the same row layout (p50 = mean, p99 = max).
run_one_h2() {  # sys port pid round
    local sys=$1 port=$2 pid=$3 round=$4 url out t0 t1 w0 w1 c0 c1
    url="http://127.0.0.1:$port/bench/"
    out=$TMP/h2load-$sys-$round.txt
    if (( WARMUP > 0 )); then
        run_fg timeout $((WARMUP + 10)) taskset -c "$AUX_CPU" "$H2LOAD" -t"$THREADS" -c"$H2_CONNS" -m"$H2_STREAMS" \
            -D "$WARMUP" "$url" >/dev/null 2>&1 || die "h2load warm-up against $sys failed"
    fi
    t0=$(tree_ticks "$pid"); c0=$(cpu_sample); w0=$(now)
    run_fg timeout $((DURATION + 15)) taskset -c "$AUX_CPU" "$H2LOAD" -t"$THREADS" -c"$H2_CONNS" -m"$H2_STREAMS" \
        -D "$DURATION" "$url" >"$out" 2>&1 || die "h2load against $sys failed: $(tail -20 "$out")"
    w1=$(now); c1=$(cpu_sample); t1=$(tree_ticks "$pid")
    kill -0 "$pid" 2>/dev/null || { [[ $sys == gw ]] && gw_die "gateway died during round $round"; die "$sys died during round $round"; }
    local reqs rps mean max err
    reqs=$(awk '/^requests:/ { print $8; exit }' "$out")
    rps=$(awk '/^finished in/ { gsub(/,/, ""); print $4; exit }' "$out")
    mean=$(to_us "$(awk '/^time for request:/ { print $6; exit }' "$out")")
    max=$(to_us "$(awk '/^time for request:/ { print $5; exit }' "$out")")
    err=$(awk '/^requests:/ { print $10 + $12 + $14; exit }' "$out")
    [[ "$reqs" =~ ^[0-9]+$ && "$reqs" -gt 0 && -n "$rps" ]] || die "could not parse h2load output for $sys: $(cat "$out")"
    awk -v sys="$sys" -v r="$round" -v reqs="$reqs" -v rps="$rps" -v p50="$mean" -v p99="$max" \
        -v dt="$((t1 - t0))" -v hz="$CLK_TCK" -v w0="$w0" -v w1="$w1" -v c0="$c0" -v c1="$c1" -v err="$err" 'BEGIN {
            split(c0, a, " "); split(c1, b, " ")
            wall = w1 - w0
            cpu_us = dt / hz * 1e6 / reqs
            sut = dt / hz / wall * 100
            core0 = (b[2] - a[2]) > 0 ? (b[1] - a[1]) / (b[2] - a[2]) * 100 : 0
            core1 = (b[4] - a[4]) > 0 ? (b[3] - a[3]) / (b[4] - a[4]) * 100 : 0
            printf "%s\t%d\t%.1f\t%.1f\t%.1f\t%.2f\t%.1f\t%.1f\t%.1f\t%.1f\t%.1f\t%d\t%d\n",
                sys, r, rps, p50, p99, cpu_us, sut, core0, core1, 0, 0, err, reqs
        }' >>"$ROWS"
    log "$(tail -1 "$ROWS" | awk -F'\t' '{ printf "round %s %-3s rps=%s mean=%sus max=%sus cpu=%sus/req sut=%s%% core0=%s%% core1=%s%% errors=%s", $2, $1, $3, $4, $5, $6, $7, $8, $9, $12 }')"
}

run_one() {  # sys port pid round
    local sys=$1 port=$2 pid=$3 round=$4 url out
    if [[ "$SCENARIO" == h2 ]]; then
        run_one_h2 "$@"
        return
    fi
    url="http://127.0.0.1:$port/bench/"
    out=$TMP/wrk-$sys-$round.txt
    kill -0 "$pid" 2>/dev/null || { [[ $sys == gw && $SELFTEST != 1 ]] && gw_die "gateway (pid $pid) died before round $round"; die "$sys (pid $pid) died"; }

    if (( WARMUP > 0 )); then
        run_fg timeout $((WARMUP + 10)) taskset -c "$AUX_CPU" "$WRK" "${AUTH_HDR[@]}" -t"$THREADS" -c"$CONNS" -d"${WARMUP}s" "$url" >/dev/null 2>&1 ||
            die "wrk warm-up against $sys failed"
    fi

    local t0 t1 w0 w1 c0 c1
    t0=$(tree_ticks "$pid"); c0=$(cpu_sample); w0=$(now)
    run_fg timeout $((DURATION + 15)) taskset -c "$AUX_CPU" "$WRK" "${AUTH_HDR[@]}" -t"$THREADS" -c"$CONNS" -d"${DURATION}s" --latency "$url" >"$out" 2>&1 ||
        die "wrk against $sys failed: $(cat "$out")"
    w1=$(now); c1=$(cpu_sample); t1=$(tree_ticks "$pid")
    kill -0 "$pid" 2>/dev/null || { [[ $sys == gw && $SELFTEST != 1 ]] && gw_die "gateway died during round $round"; die "$sys died during round $round"; }

    local reqs rps p50 p99 non2xx sockerr
    reqs=$(awk '/requests in/ { print $1; exit }' "$out")
    rps=$(awk '/^Requests\/sec:/ { print $2; exit }' "$out")
    p50=$(to_us "$(awk '$1 == "50%" { print $2; exit }' "$out")")
    p99=$(to_us "$(awk '$1 == "99%" { print $2; exit }' "$out")")
    non2xx=$(awk '/Non-2xx or 3xx responses:/ { print $NF; exit }' "$out"); non2xx=${non2xx:-0}
    sockerr=$(awk '/Socket errors:/ { gsub(/,/, ""); print $4 + $6 + $8 + $10; exit }' "$out"); sockerr=${sockerr:-0}
    [[ "$reqs" =~ ^[0-9]+$ && "$reqs" -gt 0 && -n "$rps" && "$p99" != NaN ]] ||
        die "could not parse wrk output for $sys round $round: $(cat "$out")"

    local paced pp50 pp99 perr
    run_fg timeout $((PACED_DURATION + 15)) taskset -c "$AUX_CPU" "$NODE" "$HERE/paced.js" "$url" \
        "$PACED_CONNS" "$PACED_THINK_MS" "$PACED_DURATION" >"$TMP/paced-$sys-$round.txt" 2>&1 ||
        die "paced run against $sys failed: $(cat "$TMP/paced-$sys-$round.txt")"
    paced=$(<"$TMP/paced-$sys-$round.txt")
    pp50=$(sed -n 's/.*p50_us=\([0-9.]*\).*/\1/p' <<<"$paced")
    pp99=$(sed -n 's/.*p99_us=\([0-9.]*\).*/\1/p' <<<"$paced")
    perr=$(sed -n 's/.*errors=\([0-9]*\).*/\1/p' <<<"$paced")
    [[ -n "$pp50" && -n "$pp99" ]] || die "could not parse paced output: $paced"

    # derived: CPU us/request of the SUT, SUT CPU % of one core, core busy %
    awk -v sys="$sys" -v r="$round" -v reqs="$reqs" -v rps="$rps" -v p50="$p50" -v p99="$p99" \
        -v dt="$((t1 - t0))" -v hz="$CLK_TCK" -v w0="$w0" -v w1="$w1" -v c0="$c0" -v c1="$c1" \
        -v pp50="$pp50" -v pp99="$pp99" -v err="$((non2xx + sockerr + perr))" 'BEGIN {
            split(c0, a, " "); split(c1, b, " ")
            wall = w1 - w0
            cpu_us = dt / hz * 1e6 / reqs
            sut = dt / hz / wall * 100
            core0 = (b[2] - a[2]) > 0 ? (b[1] - a[1]) / (b[2] - a[2]) * 100 : 0
            core1 = (b[4] - a[4]) > 0 ? (b[3] - a[3]) / (b[4] - a[4]) * 100 : 0
            printf "%s\t%d\t%.1f\t%.1f\t%.1f\t%.2f\t%.1f\t%.1f\t%.1f\t%.1f\t%.1f\t%d\t%d\n",
                sys, r, rps, p50, p99, cpu_us, sut, core0, core1, pp50, pp99, err, reqs
        }' >>"$ROWS"
    log "$(tail -1 "$ROWS" | awk -F'\t' '{ printf "round %s %-3s rps=%s p50=%sus p99=%sus cpu=%sus/req sut=%s%% core0=%s%% core1=%s%% paced p50=%sus p99=%sus errors=%s", $2, $1, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12 }')"
}

for ((r = 1; r <= ROUNDS; r++)); do
    run_one gw "$GW_PORT" "$GW_PID" "$r"
    run_one ngx "$NGX_PORT" "$NGX_PID" "$r"
done

GW_HWM_KB=$(tree_status_kb VmHWM "$GW_PID")
GW_RSS_KB=$(tree_status_kb VmRSS "$GW_PID")
NGX_HWM_KB=$(tree_status_kb VmHWM "$NGX_PID")

# Free core 0 for the RSS scenario.
stop_pid "$GW_PID"
stop_pid "$NGX_PID"

# ---------------------------------------------------------------- RSS with many APIs
RSS_HWM_KB=0; RSS_RSS_KB=0; RSS_NOTE=""
if (( RSS_APIS > 0 )); then
    free_port RSS_PORT
    log "RSS scenario: $RSS_APIS API definitions"
    RSS_T0=$(date +%s)
    if [[ "$SELFTEST" == 1 ]]; then
        write_proxy_conf rss "$RSS_PORT" "$RSS_APIS"
        start_nginx "$SUT_CPU" "$TMP/rss"; RSS_PID=$LAST_PID
        RSS_OK=1
        wait_http "http://127.0.0.1:$RSS_PORT/api-1/" "$START_TIMEOUT" "$RSS_PID" || RSS_OK=0
        [[ $RSS_OK == 1 ]] || die "selftest nginx with $RSS_APIS locations did not start"
    else
        write_gateway_conf "$TMP/rss" "$RSS_PORT"
        for ((i = 1; i <= RSS_APIS; i++)); do
            api_def "api-$i" "/api-$i/" >"$TMP/rss/apps/api-$i.json"
        done
        log "generated $RSS_APIS API files"
        start_gateway "$TMP/rss"; RSS_PID=$LAST_PID
        wait_http "http://127.0.0.1:$RSS_PORT/api-$RSS_APIS/" $((START_TIMEOUT * 2)) "$RSS_PID" ||
            gw_die "gateway with $RSS_APIS APIs did not answer 200 on /api-$RSS_APIS/; log:
$(tail -20 "$TMP/rss/gateway.log" 2>/dev/null)"
        adopt_pidfile "$TMP/rss" RSS_PID
    fi
    log "RSS scenario: answering after $(( $(date +%s) - RSS_T0 ))s"
    bad=0
    for n in 1 2 $((RSS_APIS / 2)) $((RSS_APIS - 1)) "$RSS_APIS"; do
        (( n >= 1 )) || continue
        for ((k = 0; k < 5; k++)); do
            [[ "$(http_code "http://127.0.0.1:$RSS_PORT/api-$n/")" == 200 ]] || bad=$((bad + 1))
        done
    done
    (( bad == 0 )) || RSS_NOTE=" ($bad of the probe requests did not return 200)"
    RSS_HWM_KB=$(tree_status_kb VmHWM "$RSS_PID")
    RSS_RSS_KB=$(tree_status_kb VmRSS "$RSS_PID")
    stop_pid "$RSS_PID"
fi

# ---------------------------------------------------------------- report
median() {  # sys column -> median
    awk -F'\t' -v s="$1" -v c="$2" '$1 == s { print $c }' "$ROWS" | sort -g |
        awk '{ v[NR] = $1 } END { if (NR == 0) { print "NaN"; exit }
              if (NR % 2) print v[(NR + 1) / 2]; else printf "%.2f\n", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b + 0 == 0) print "NaN"; else printf "%.2f\n", a / b }'; }
verdict() {  # value op target
    awk -v v="$1" -v op="$2" -v t="$3" 'BEGIN {
        if (v == "NaN") { print "MISS"; exit }
        ok = (op == "le") ? (v + 0 <= t + 0) : (op == "ge") ? (v + 0 >= t + 0) : (v + 0 < t + 0)
        print ok ? "PASS" : "MISS" }'
}
mib() { awk -v k="$1" 'BEGIN { printf "%.1f\n", k / 1024 }'; }

declare -A M
for s in gw ngx; do
    for c in 3:rps 4:p50 5:p99 6:cpu 7:sut 8:core0 9:core1 10:pp50 11:pp99; do
        M[$s.${c#*:}]=$(median "$s" "${c%%:*}")
    done
    M[$s.cpurange]=$(awk -F'\t' -v s="$s" '$1 == s { v = $6 + 0; if (n++ == 0 || v < lo) lo = v; if (v > hi) hi = v }
        END { printf "%.1f–%.1f", lo, hi }' "$ROWS")
    M[$s.rpsrange]=$(awk -F'\t' -v s="$s" '$1 == s { v = $3 + 0; if (n++ == 0 || v < lo) lo = v; if (v > hi) hi = v }
        END { printf "%.0f–%.0f", lo, hi }' "$ROWS")
    M[$s.err]=$(awk -F'\t' -v s="$s" '$1 == s { e += $12 } END { print e + 0 }' "$ROWS")
done
R_CPU=$(ratio "${M[gw.cpu]}" "${M[ngx.cpu]}")
R_RPS=$(ratio "${M[gw.rps]}" "${M[ngx.rps]}")
R_P50=$(ratio "${M[gw.p50]}" "${M[ngx.p50]}")
R_P99=$(ratio "${M[gw.p99]}" "${M[ngx.p99]}")
R_PP50=$(ratio "${M[gw.pp50]}" "${M[ngx.pp50]}")
R_PP99=$(ratio "${M[gw.pp99]}" "${M[ngx.pp99]}")
RSS_MIB=$(mib "$RSS_HWM_KB")

saturation() {  # sys -> text
    awk -v sut="${M[$1.sut]}" -v c0="${M[$1.core0]}" -v c1="${M[$1.core1]}" 'BEGIN {
        s = (sut >= 90) ? "SUT saturated (core 0)" : (c1 >= 90) ? "load side saturated (core 1)" : "neither core saturated"
        if (sut >= 90 && c1 >= 90) s = "both cores saturated"
        printf "%s: SUT %.0f%% of a core, core 0 %.0f%% busy, core 1 %.0f%% busy", s, sut, c0, c1
        if (c0 - sut > 15) printf " — WARNING: %.0f%% of core 0 went to other processes (shared machine); treat this run as noisy", c0 - sut }'
    awk -F'\t' -v s="$1" '$1 == s && $8 - $7 > 15 { n++ } END { if (n) printf " (%d round(s) with core 0 contended by other processes)", n }' "$ROWS"
}

REPORT=$TMP/report.md
{
    echo "# Turnpike benchmark results"
    echo
    echo "- date: $(date -u '+%Y-%m-%d %H:%M:%S UTC')"
    echo "- machine: nproc=$NPROC, kernel $(uname -r), $(awk -F': ' '/model name/ { print $2; exit }' /proc/cpuinfo)"
    echo "- scenario: $SCENARIO"
    echo "- mode: $([[ $SELFTEST == 1 ]] && echo "SELFTEST (a second nginx stands in for the gateway)" || echo "gateway $GATEWAY_BIN")"
    echo "- rounds: $ROUNDS interleaved (gateway, nginx, ...), ${WARMUP}s warm-up + ${DURATION}s measured each; medians below"
    echo "- core $SUT_CPU: system under test; core $AUX_CPU: upstream nginx, wrk, paced client, redis"
    echo
    echo "Commands:"
    echo
    echo '```'
    echo "gateway:  $GW_CMD"
    echo "nginx:    taskset -c $SUT_CPU $NGINX -p <tmp>/nginx-proxy -c <tmp>/nginx-proxy/nginx.conf   (worker_processes 1, keepalive 64, proxy_http_version 1.1, Connection \"\")"
    echo "upstream: taskset -c $AUX_CPU $NGINX -p <tmp>/upstream -c <tmp>/upstream/nginx.conf   (return 200 '$UP_BODY')"
    echo "redis:    taskset -c $AUX_CPU $REDIS --port <port> --save '' --appendonly no"
    echo "load:     $WRK_CMD"
    echo "paced:    $PACED_CMD"
    echo "env:      BENCH_ROUNDS=$ROUNDS BENCH_DURATION=$DURATION BENCH_WARMUP=$WARMUP BENCH_SELFTEST=$SELFTEST"
    echo '```'
    echo
    echo "| metric (median) | $GW_LABEL | $REF_LABEL | ratio gw/ref | target | verdict |"
    echo "|---|---:|---:|---:|---:|---|"
    echo "| CPU µs / request (SUT) | ${M[gw.cpu]} | ${M[ngx.cpu]} | $R_CPU | ≤ $T_CPU | $(verdict "$R_CPU" le $T_CPU) |"
    echo "| CPU µs / request, range over rounds | ${M[gw.cpurange]} | ${M[ngx.cpurange]} | | | |"
    echo "| requests / s | ${M[gw.rps]} | ${M[ngx.rps]} | $R_RPS | ≥ $T_RPS | $(verdict "$R_RPS" ge $T_RPS) |"
    echo "| requests / s, range over rounds | ${M[gw.rpsrange]} | ${M[ngx.rpsrange]} | | | |"
    echo "| p50 latency µs (wrk -c$CONNS) | ${M[gw.p50]} | ${M[ngx.p50]} | $R_P50 | | |"
    echo "| p99 latency µs (wrk -c$CONNS) | ${M[gw.p99]} | ${M[ngx.p99]} | $R_P99 | ≤ $T_P99 | $(verdict "$R_P99" le $T_P99) |"
    echo "| paced p50 µs ($PACED_CONNS conn, ${PACED_THINK_MS} ms think) | ${M[gw.pp50]} | ${M[ngx.pp50]} | $R_PP50 | | |"
    echo "| paced p99 µs | ${M[gw.pp99]} | ${M[ngx.pp99]} | $R_PP99 | | |"
    echo "| SUT CPU % of one core | ${M[gw.sut]} | ${M[ngx.sut]} | | | |"
    echo "| core 1 (load side) busy % | ${M[gw.core1]} | ${M[ngx.core1]} | | | |"
    echo "| errors (non-2xx + socket, all rounds) | ${M[gw.err]} | ${M[ngx.err]} | | 0 | $([[ ${M[gw.err]} == 0 ]] && echo PASS || echo MISS) |"
    echo "| peak RSS MiB (VmHWM at end) | $(mib "$GW_HWM_KB") | $(mib "$NGX_HWM_KB") | | | |"
    if (( RSS_APIS > 0 )); then
        echo "| RSS MiB with $RSS_APIS APIs (VmHWM; VmRSS $(mib "$RSS_RSS_KB")) | $RSS_MIB | | | < $T_RSS_MIB | $(verdict "$RSS_MIB" lt $T_RSS_MIB)$RSS_NOTE |"
    fi
    echo
    if [[ ${M[gw.err]} != 0 || ${M[ngx.err]} != 0 ]]; then
        echo "**Warning:** errors (non-2xx responses or socket errors) were seen; the ratios above are not comparable."
        echo
    fi
    echo "Saturation:"
    echo
    echo "- $GW_LABEL: $(saturation gw)"
    echo "- $REF_LABEL: $(saturation ngx)"
    echo
    echo "Per round (sys, round, req/s, p50 µs, p99 µs, CPU µs/req, SUT %, core0 %, core1 %, paced p50 µs, paced p99 µs, errors, requests):"
    echo
    echo '```'
    cat "$ROWS"
    echo '```'
    [[ $SELFTEST == 1 ]] && { echo; echo "Self-test: both columns are the same nginx configuration; ratios should be ~1.00 and show the harness noise."; }
} >"$REPORT"

cat "$REPORT"
cp "$REPORT" "$RESULTS" || die "could not write $RESULTS"
log "wrote $RESULTS"
exit 0
