#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
#
# turnpike-pump throughput: Redis analytics list -> journal -> one sql sink -> PostgreSQL.
# Method: /work/shared/BENCHMARKING.md (adapted: a pump has no nginx to compare with, so the
# same-run reference is PostgreSQL itself taking the very same rows with psql's \copy).
#
#   core 0: system under test (turnpike-pump, release build)
#   core 1: redis-server, PostgreSQL 15, the poller (psql)
#
# Each round: a fresh table and journal, the analytics list filled with N realistic msgpack
# records (bench/pump-fill.mjs), then the pump starts; wall time runs from its start until
# the sink has committed N records (then SELECT count(*) must be exactly N), CPU time is the pump's utime+stime from /proc/<pid>/stat.
# Everything is private (own temp dir, free loopback ports) and stopped by PID on exit.
# Exit status: 0 = ran (the target may still be MISS), 1 = harness failure.

set -uo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$HERE/.." && pwd)

# ---------------------------------------------------------------- settings
N=${BENCH_PUMP_RECORDS:-200000}
ROUNDS=${BENCH_ROUNDS:-3}
TIMEOUT=${BENCH_PUMP_TIMEOUT:-300} # seconds a round may take
TARGET_RPS=${BENCH_PUMP_TARGET:-20000}
# Records per take from Redis. Tyk's default 0 (all at once) is not usable for a 200k backlog:
# the take of ~140 MB outlasts the pump's Redis timeout (see RESULTS-pump.md).
PURGE_CHUNK=${BENCH_PUMP_PURGE_CHUNK:-0}
SUT_CPU=${BENCH_SUT_CPU:-0}
AUX_CPU=${BENCH_AUX_CPU:-1}
PUMP_BIN=${PUMP_BIN:-$REPO/build-release/src/pump/turnpike-pump}
PG_BIN=${PG_BIN_DIR:-/usr/lib/postgresql/15/bin}
REDIS=${REDIS_BIN:-redis-server}
NODE=${NODE_BIN:-node}
RESULTS=${BENCH_RESULTS:-$HERE/RESULTS-pump.md}

log() { printf '[pump-bench] %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

for n in "$REDIS" redis-cli psql curl "$NODE" taskset ss awk "$PG_BIN/initdb" "$PG_BIN/postgres"; do
    command -v "$n" >/dev/null 2>&1 || die "missing: $n"
done
if [[ ! -x "$PUMP_BIN" ]]; then
    log "building $PUMP_BIN (release)"
    [[ -d "$REPO/build-release" ]] || meson setup "$REPO/build-release" --buildtype=release >&2 ||
        die "meson setup failed"
    ninja -C "$REPO/build-release" src/pump/turnpike-pump >&2 || die "build failed"
fi
[[ -d "$REPO/tests/integration/node_modules/@msgpack/msgpack" ]] ||
    die "tests/integration/node_modules missing: run scripts/install-deps.sh (npm ci)"

# ---------------------------------------------------------------- processes and cleanup
TMP=$(mktemp -d /tmp/turnpike-pump-bench.XXXXXX)
chmod 755 "$TMP"
PIDS=()
stop_pid() {
    local pid=$1 i
    kill -0 "$pid" 2>/dev/null || return 0
    kill -TERM "$pid" 2>/dev/null
    for ((i = 0; i < 100; i++)); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    kill -0 "$pid" 2>/dev/null && kill -KILL "$pid" 2>/dev/null
    wait "$pid" 2>/dev/null
    return 0
}
cleanup() {
    local i
    trap - EXIT INT TERM
    for ((i = ${#PIDS[@]} - 1; i >= 0; i--)); do stop_pid "${PIDS[i]}"; done
    if [[ "${BENCH_KEEP_TMP:-0}" == 1 ]]; then log "kept temp dir $TMP"; else rm -rf "$TMP"; fi
}
trap cleanup EXIT
trap 'log "interrupted"; exit 130' INT TERM

USED_PORTS=" "
free_port() { # VAR -> sets VAR to an unused loopback port
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
now_ns() { date +%s%N; }
cpu_ticks() { # pid -> utime+stime in clock ticks
    local rest
    local -a f
    read -r rest <"/proc/$1/stat" || return 1
    rest=${rest##*) }
    read -r -a f <<<"$rest"
    echo $((f[11] + f[12]))
}
CLK_TCK=$(getconf CLK_TCK)

# PostgreSQL refuses to run as root: run it as `postgres` then (setpriv execs in place, so $!
# is the postmaster itself).
AS_PG=()
[[ "$(id -u)" == 0 ]] && AS_PG=(setpriv --reuid=postgres --regid=postgres --init-groups)

# ---------------------------------------------------------------- redis and PostgreSQL
free_port REDIS_PORT
free_port PG_PORT
free_port HEALTH_PORT

taskset -c "$AUX_CPU" "$REDIS" --port "$REDIS_PORT" --bind 127.0.0.1 --save '' --appendonly no \
    --dir "$TMP" --logfile "$TMP/redis.log" &
PIDS+=($!)

mkdir -p "$TMP/pg"
[[ "$(id -u)" == 0 ]] && chown postgres:postgres "$TMP/pg"
"${AS_PG[@]}" "$PG_BIN/initdb" -D "$TMP/pg/data" -A trust -U postgres -E UTF8 >"$TMP/initdb.log" 2>&1 ||
    die "initdb failed: $(tail -5 "$TMP/initdb.log")"
# Stock durability (fsync on, synchronous_commit on): the pump commits once per batch.
taskset -c "$AUX_CPU" "${AS_PG[@]}" "$PG_BIN/postgres" \
    -D "$TMP/pg/data" -p "$PG_PORT" -k "$TMP/pg" -c listen_addresses=127.0.0.1 \
    -c max_connections=20 ${BENCH_PG_OPTS:-} >"$TMP/pg.log" 2>&1 &
PIDS+=($!)
PSQL=(psql -X -At -h 127.0.0.1 -p "$PG_PORT" -U postgres -d postgres -v ON_ERROR_STOP=1)
for ((i = 0; i < 200; i++)); do
    "${PSQL[@]}" -c 'SELECT 1' >/dev/null 2>&1 && break
    sleep 0.1
done
"${PSQL[@]}" -c 'SELECT 1' >/dev/null 2>&1 || die "PostgreSQL did not start: $(tail -5 "$TMP/pg.log")"
for ((i = 0; i < 100; i++)); do
    redis-cli -p "$REDIS_PORT" PING >/dev/null 2>&1 && break
    sleep 0.1
done

log "generating $N records"
"$NODE" "$HERE/pump-fill.mjs" "$N" >"$TMP/fill.resp" || die "record generator failed"
FILL_MB=$(awk -v b="$(stat -c %s "$TMP/fill.resp")" 'BEGIN { printf "%.1f", b / 1048576 }')

# ---------------------------------------------------------------- one round
ROWS=$TMP/rows.tsv
: >"$ROWS"
run_round() { # round number
    local r=$1 dir=$TMP/round$1 t0 t1 cnt pid ticks0 ticks llen
    mkdir -p "$dir"
    "${PSQL[@]}" -c 'DROP TABLE IF EXISTS tyk_analytics, turnpike_pump_cursor' >/dev/null ||
        die "cannot reset PostgreSQL"
    redis-cli -p "$REDIS_PORT" DEL analytics-tyk-system-analytics >/dev/null
    redis-cli -p "$REDIS_PORT" --pipe <"$TMP/fill.resp" >"$dir/fill.log" 2>&1 || die "redis fill failed"
    llen=$(redis-cli -p "$REDIS_PORT" LLEN analytics-tyk-system-analytics)
    [[ "$llen" == "$N" ]] || die "analytics list holds $llen records, not $N"
    cat >"$dir/pump.conf" <<EOF
{
  "analytics_storage_type": "redis",
  "analytics_storage_config": {"type": "redis", "host": "127.0.0.1", "port": $REDIS_PORT},
  "purge_delay": 1,
  "purge_chunk": $PURGE_CHUNK,
  "dont_purge_uptime_data": true,
  "health_check_endpoint_port": $HEALTH_PORT,
  "journal_dir": "$dir/journal",
  "log_level": "${BENCH_PUMP_LOG_LEVEL:-warn}",
  "pumps": {
    "sql": {"type": "sql", "meta": {"type": "postgres",
      "connection_string": "host=127.0.0.1 port=$PG_PORT user=postgres dbname=postgres sslmode=disable"}}
  }
}
EOF
    t0=$(now_ns)
    taskset -c "$SUT_CPU" "$PUMP_BIN" -c "$dir/pump.conf" >"$dir/pump.log" 2>&1 &
    pid=$!
    PIDS+=("$pid")
    # Poll the sink's "written" counter (it counts committed batches) on the pump's /stats:
    # count(*) over a growing table every 50 ms would load core 1.
    cnt=0
    while :; do
        cnt=$(curl -s --max-time 2 "http://127.0.0.1:$HEALTH_PORT/stats" |
            awk '/"written":/ { gsub(/[^0-9]/, ""); print; exit }')
        [[ "${cnt:-0}" =~ ^[0-9]+$ ]] || cnt=0
        [[ "$cnt" -ge "$N" ]] && break
        kill -0 "$pid" 2>/dev/null || die "the pump exited: $(tail -5 "$dir/pump.log")"
        (($(now_ns) - t0 > TIMEOUT * 1000000000)) && die "round $r: only $cnt of $N rows after ${TIMEOUT}s"
        sleep 0.05
    done
    t1=$(now_ns)
    ticks=$(cpu_ticks "$pid")
    stop_pid "$pid"
    cnt=$("${PSQL[@]}" -c 'SELECT count(*) FROM tyk_analytics')
    [[ "$cnt" == "$N" ]] || die "round $r: $cnt rows for $N records (duplicates?)"
    awk -v r="$r" -v n="$N" -v ns=$((t1 - t0)) -v t="$ticks" -v hz="$CLK_TCK" 'BEGIN {
        s = ns / 1e9; printf "pump\t%d\t%.3f\t%.0f\t%.2f\n", r, s, n / s, t / hz * 1e6 / n }' >>"$ROWS"

    # The reference: PostgreSQL taking the same rows through psql's \copy, one transaction.
    if [[ ! -s "$TMP/rows.copy" ]]; then
        "${PSQL[@]}" -c "\\copy tyk_analytics TO '$TMP/rows.copy'" >/dev/null || die "copy out failed"
    fi
    "${PSQL[@]}" -c 'DROP TABLE IF EXISTS ref; CREATE TABLE ref (LIKE tyk_analytics INCLUDING ALL)' \
        >/dev/null || die "cannot create the reference table"
    t0=$(now_ns)
    taskset -c "$SUT_CPU" "${PSQL[@]}" -c "\\copy ref FROM '$TMP/rows.copy'" >/dev/null ||
        die "reference copy failed"
    t1=$(now_ns)
    awk -v r="$r" -v n="$N" -v ns=$((t1 - t0)) 'BEGIN {
        s = ns / 1e9; printf "copy\t%d\t%.3f\t%.0f\tNaN\n", r, s, n / s }' >>"$ROWS"
    "${PSQL[@]}" -c 'DROP TABLE ref' >/dev/null
    log "round $r: $(awk -F'\t' -v r="$r" '$2 == r { printf "%s %.0f rec/s (%.2fs, %s us/rec)  ", $1, $4, $3, $5 }' "$ROWS")"
}

for ((r = 1; r <= ROUNDS; r++)); do run_round "$r"; done

# ---------------------------------------------------------------- report
median() { # sys column -> median
    awk -F'\t' -v s="$1" -v c="$2" '$1 == s { print $c }' "$ROWS" | sort -g |
        awk '{ v[NR] = $1 } END { if (NR == 0) { print "NaN"; exit }
              if (NR % 2) print v[(NR + 1) / 2]; else printf "%.2f\n", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}
P_RPS=$(median pump 4)
P_S=$(median pump 3)
P_CPU=$(median pump 5)
C_RPS=$(median copy 4)
C_S=$(median copy 3)
RATIO=$(awk -v a="$P_RPS" -v b="$C_RPS" 'BEGIN { printf "%.2f", a / b }')
VERDICT=$(awk -v v="$P_RPS" -v t="$TARGET_RPS" 'BEGIN { print (v + 0 >= t + 0) ? "PASS" : "MISS" }')
PUMP_CPU_SHARE=$(awk -v cpu="$P_CPU" -v rps="$P_RPS" 'BEGIN { printf "%.0f", cpu * rps / 1e4 }')

{
    echo "# turnpike-pump throughput (bench/pump.sh)"
    echo
    echo "$(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) cores ($(awk -F': ' '/model name/ { print $2; exit }' /proc/cpuinfo)),"
    echo "$N records per round ($FILL_MB MiB of msgpack in Redis), $ROUNDS rounds, medians."
    echo "Pump pinned to core $SUT_CPU; redis-server, PostgreSQL 15 (stock fsync/synchronous_commit)"
    echo "and the poller on core $AUX_CPU. One \`sql\` sink (meta batch_size 1000, Tyk's default: rows"
    echo "per INSERT/COPY statement; the pump hands the sink up to \`batch_size\` 5000 records per"
    echo "transaction), purge_chunk $PURGE_CHUNK (Tyk's default; 0 takes the whole list with one RENAME and"
    echo "the pump reads it into the journal 5000 records at a time). Wall time: pump start until the sink has committed N records"
    echo "(then \`SELECT count(*)\` = N exactly); it includes start-up, taking the list into the"
    echo "journal with fsync, decoding, COPY and one commit per batch."
    echo
    echo "| | records/s | wall s | pump CPU µs/record |"
    echo "|---|---:|---:|---:|"
    echo "| turnpike-pump, Redis → PostgreSQL | $P_RPS | $P_S | $P_CPU |"
    echo "| reference: psql \\copy of the same rows | $C_RPS | $C_S | – |"
    echo
    echo "- Pump vs. PostgreSQL's own bulk load of the same rows: **$RATIO ×**."
    echo "- Pump core busy ~$PUMP_CPU_SHARE % of the wall time (CPU µs/record × records/s)."
    echo "- Target ≥ $TARGET_RPS records/s: **$VERDICT**."
    echo
    echo "Every round:"
    echo
    echo "| what | round | wall s | records/s | CPU µs/record |"
    echo "|---|---:|---:|---:|---:|"
    awk -F'\t' '{ printf "| %s | %s | %s | %s | %s |\n", $1, $2, $3, $4, ($5 == "NaN" ? "–" : $5) }' "$ROWS"
    echo
    echo "Reproduce: \`make bench-pump\` (or \`BENCH_PUMP_RECORDS=… BENCH_ROUNDS=… bench/pump.sh\`)."
} >"$RESULTS"
cat "$RESULTS"
