#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Packaging tests (`make test-packaging`): builds the .deb (and the .rpm when rpmbuild exists),
# lints them, verifies the systemd units, then installs the .deb on this machine and drives the
# SysV init script against a private redis-server and the gateway on free loopback ports:
# start, status, reload (SIGHUP) of a new API, upgrade, stop, logs, the plain-shell fallback, the
# other init systems' install/remove paths, and purge. Needs root for the install part (CI runs
# as root on a disposable machine). Everything it starts or installs is removed at exit,
# including the "turnpike" user if this run created it. Bounded by TEST_TIMEOUT (170 s).
# Closing line: "N passed, M failed"; exit status non-zero on any failure.
set -euo pipefail
cd "$(dirname "$0")/../.."

if [ -z "${TP_PKGTEST_CHILD:-}" ] && command -v timeout >/dev/null 2>&1; then
  export TP_PKGTEST_CHILD=1
  exec timeout -k 15 "${TEST_TIMEOUT:-170}" "$0" "$@"
fi

BUILD=${BUILD:-build}
OUT=${OUT:-build-pkg}
export BUILD OUT
svc=turnpike-gateway
initd=/etc/init.d/$svc
version=$(sed -n "s/^[[:space:]]*version[[:space:]]*:[[:space:]]*'\([^']*\)'.*/\1/p" meson.build | head -n 1)
arch=$(dpkg --print-architecture)
deb=$OUT/${svc}_${version}_${arch}.deb

pass=0
fail=0
ok() { pass=$((pass + 1)); echo "ok - $*"; }
not_ok() { fail=$((fail + 1)); echo "not ok - $*"; }
skip() { echo "skip - $*"; }
check() { # check DESCRIPTION COMMAND...
  local d=$1
  shift
  if "$@"; then ok "$d"; else not_ok "$d"; fi
}

tmp=$(mktemp -d /tmp/turnpike-pkgtest.XXXXXX)
chmod 0755 "$tmp" # the gateway runs as "turnpike" and reads its test config from here
redis_pid=""
up_pid=""
installed_by_us=0
user_existed=0
group_existed=0
etc_init_existed=0
getent passwd turnpike >/dev/null && user_existed=1
getent group turnpike >/dev/null && group_existed=1
[ -d /etc/init ] && etc_init_existed=1

finished=0
cleanup() {
  local rc=$?
  set +e
  if [ -n "$up_pid" ]; then
    kill "$up_pid" 2>/dev/null
    wait "$up_pid" 2>/dev/null
  fi
  if [ "$installed_by_us" = 1 ]; then
    if [ -x "$initd" ]; then timeout 60 "$initd" stop >/dev/null 2>&1; fi
    rm -f /opt/$svc/apps/pkgtest.json
    if dpkg-query -W -f='${Status}' $svc 2>/dev/null | grep -q installed; then
      dpkg --purge $svc >/dev/null 2>&1
    fi
    rm -f "/lib/systemd/system/$svc.service" "/etc/init/$svc.conf" "$initd"
    if [ "$etc_init_existed" = 0 ]; then rmdir /etc/init 2>/dev/null; fi
  fi
  if [ -n "$redis_pid" ]; then
    kill "$redis_pid" 2>/dev/null
    wait "$redis_pid" 2>/dev/null
  fi
  if [ "$user_existed" = 0 ] && getent passwd turnpike >/dev/null; then
    deluser --system --quiet turnpike >/dev/null 2>&1 || userdel turnpike >/dev/null 2>&1
  fi
  if [ "$group_existed" = 0 ] && getent group turnpike >/dev/null; then
    delgroup --system --quiet turnpike >/dev/null 2>&1 || groupdel turnpike >/dev/null 2>&1
  fi
  rm -rf "$tmp"
  if [ "$finished" = 0 ]; then
    not_ok "test run interrupted (status $rc)"
    echo "$pass passed, $fail failed"
    exit 1
  fi
}
trap cleanup EXIT
trap 'exit 1' INT TERM

free_port() {
  if command -v node >/dev/null 2>&1; then
    node -e 'const s=require("net").createServer().listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})'
  else
    python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])'
  fi
}

http_code() { curl -s -o /dev/null -m 5 -w '%{http_code}' "http://127.0.0.1:$gw_port$1" || true; }

wait_code() { # wait_code PATH CODE SECONDS
  local i
  for ((i = 0; i < $3 * 10; i++)); do
    [ "$(http_code "$1")" = "$2" ] && return 0
    sleep 0.1
  done
  return 1
}

gw_pid() { cat "/var/run/$svc.pid" 2>/dev/null || true; }

# ---------------------------------------------------------------------------------------------
echo "# static checks"
if command -v shellcheck >/dev/null 2>&1; then
  check "shellcheck: install/, packaging/, tests/packaging/ and the generated SysV scripts" \
    shellcheck -x install/*.sh install/inits/sysv/* packaging/build.sh packaging/scripts/*.in \
    tests/packaging/run.sh
else
  skip "shellcheck is not installed"
fi
upstart_syntax() { # the script/pre-start blocks of every Upstart job parse as sh
  local f
  for f in install/inits/upstart-*/*.conf; do
    sed -n '/^\(pre-start \)\{0,1\}script$/,/^end script$/{/script$/d;p}' "$f" | sh -n || {
      echo "  $f: shell syntax error"
      return 1
    }
    grep -q '^console log' "$f" || grep -q '>>/var/log/' "$f" || return 1
  done
}
check "Upstart jobs: script blocks parse, logs go to upstart's log or /var/log/<svc>.std*" upstart_syntax
install/gen-inits.sh "$tmp/inits" >/dev/null
check "install/inits matches install/templates (install/gen-inits.sh output is committed)" \
  diff -r "$tmp/inits" install/inits

# ---------------------------------------------------------------------------------------------
echo "# deb"
if [ ! -x "$BUILD/src/gateway/$svc" ]; then make --no-print-directory build >/dev/null; fi
rm -f "$deb"
check "packaging/build.sh deb builds $deb" packaging/build.sh deb
deb_lists() {
  local list f
  list=$(dpkg-deb -c "$deb" | awk '{print $6}' | sed 's|^\./|/|; s|/$||')
  for f in /opt/$svc/$svc /opt/$svc/tyk.conf /opt/$svc/templates/error.json /opt/$svc/apps \
    /opt/$svc/policies /opt/$svc/middleware /opt/$svc/install/inits/systemd/$svc.service \
    /opt/$svc/install/inits/sysv/$svc /opt/$svc/install/inits/upstart-0.6/$svc.conf \
    /opt/$svc/install/inits/upstart-1.x/$svc.conf /opt/$svc/install/post_install.sh \
    /etc/default/$svc /usr/share/doc/$svc/copyright; do
    grep -qx "$f" <<<"$list" || { echo "  missing $f"; return 1; }
  done
  dpkg-deb -f "$deb" Depends | grep -q adduser &&
    dpkg-deb -I "$deb" conffiles | grep -qx "/opt/$svc/tyk.conf"
}
check "the .deb holds Tyk's /opt layout, conffiles and dependencies" deb_lists
if command -v lintian >/dev/null 2>&1; then
  lint() {
    local out
    out=$(lintian --tag-display-limit 0 "$deb" 2>&1 | grep -v 'running with root privileges' || true)
    if [ -n "$out" ]; then printf '%s\n' "$out" | sed 's/^/  /'; fi
    ! grep -q '^E:' <<<"$out"
  }
  check "lintian reports no errors" lint
else
  not_ok "lintian is not installed (scripts/install-deps.sh installs it)"
fi

# ---------------------------------------------------------------------------------------------
echo "# rpm"
if command -v rpmbuild >/dev/null 2>&1; then
  rm -f "$OUT/$svc-$version"-1.*.rpm
  check "packaging/build.sh rpm builds the .rpm" packaging/build.sh rpm
  rpmfile=$(find "$OUT" -maxdepth 1 -name "$svc-$version-1.*.rpm" | head -n 1)
  rpm_lists() {
    local list f
    [ -n "$rpmfile" ] || return 1
    list=$(rpm -qpl "$rpmfile" 2>/dev/null)
    for f in /opt/$svc/$svc /opt/$svc/tyk.conf /opt/$svc/templates/error.json /opt/$svc/apps \
      /opt/$svc/install/inits/systemd/$svc.service /opt/$svc/install/inits/sysv/$svc \
      /opt/$svc/install/post_install.sh /etc/sysconfig/$svc; do
      grep -qx "$f" <<<"$list" || { echo "  missing $f"; return 1; }
    done
    rpm -qpc "$rpmfile" 2>/dev/null | grep -qx "/opt/$svc/tyk.conf" &&
      rpm -qp --scripts "$rpmfile" 2>/dev/null | grep -q "install/post_install.sh"
  }
  check "rpm -qpl lists the expected files, config files and scriptlets" rpm_lists
  if command -v rpmlint >/dev/null 2>&1; then
    rlint() {
      local out
      out=$(LC_ALL=C.UTF-8 rpmlint -r packaging/rpm/rpmlintrc "$rpmfile" 2>&1 | grep -E "^$svc|checked" || true)
      printf '%s\n' "$out" | sed 's/^/  /'
      ! grep -q ': E: ' <<<"$out"
    }
    check "rpmlint reports no errors" rlint
  else
    skip "rpmlint is not installed"
  fi
else
  skip "rpmbuild is not installed (Debian package: rpm); the .rpm is not built or checked"
fi

# ---------------------------------------------------------------------------------------------
echo "# install on this machine"
if [ "$(id -u)" -ne 0 ]; then
  skip "not root: the install, init-script and purge tests need root"
  finished=1
  echo "$pass passed, $fail failed"
  [ "$fail" -eq 0 ]
  exit
fi
if dpkg-query -W -f='${Status}' $svc 2>/dev/null | grep -q installed || [ -e "$initd" ]; then
  not_ok "$svc is already installed here; purge it first (dpkg --purge $svc)"
  finished=1
  echo "$pass passed, $fail failed"
  exit 1
fi

installed_by_us=1
if install_out=$(dpkg -i "$deb" 2>&1); then
  ok "dpkg -i installs the .deb"
else
  not_ok "dpkg -i installs the .deb"
  printf '%s\n' "$install_out" | sed 's/^/  /'
fi
check "postinst picks SysVinit here (no systemd as PID 1, no Upstart)" grep -q "installed the sysv init file" <<<"$install_out"
check "postinst installs $initd and its rc.d links" \
  bash -c "[ -x $initd ] && ls /etc/rc2.d/S*$svc >/dev/null 2>&1"
check "postinst creates the turnpike system user and group" \
  bash -c 'getent passwd turnpike >/dev/null && getent group turnpike >/dev/null'
check "tyk.conf is root:turnpike 0640, apps/ is writable by turnpike" \
  bash -c "[ \"\$(stat -c '%U:%G %a' /opt/$svc/tyk.conf)\" = 'root:turnpike 640' ] && [ \"\$(stat -c %U /opt/$svc/apps)\" = turnpike ]"

if command -v systemd-analyze >/dev/null 2>&1; then
  units=$(ls /opt/turnpike-*/install/inits/systemd/*.service)
  for u in $units; do
    check "systemd-analyze verify $(basename "$u")" systemd-analyze verify "$u"
  done
else
  not_ok "systemd-analyze is not installed (Debian package: systemd)"
fi

# Private Redis and a test config on free loopback ports, selected through /etc/default.
redis_port=$(free_port)
gw_port=$(free_port)
redis-server --port "$redis_port" --bind 127.0.0.1 --save '' --appendonly no \
  --logfile "$tmp/redis.log" &
redis_pid=$!
cat >"$tmp/tyk.conf" <<JSON
{
  "listen_address": "127.0.0.1",
  "listen_port": $gw_port,
  "secret": "pkgtest-secret",
  "app_path": "/opt/$svc/apps",
  "template_path": "/opt/$svc/templates",
  "pid_file_location": "/var/run/$svc/$svc.pid",
  "graceful_shutdown_timeout_duration": 5,
  "storage": {"type": "redis", "host": "127.0.0.1", "port": $redis_port},
  "log_level": "info"
}
JSON
chmod 0644 "$tmp/tyk.conf"
echo "CONF=$tmp/tyk.conf" >>/etc/default/$svc

echo "# SysV init script (start-stop-daemon)"
check "$initd start exits 0" "$initd" start
check "GET /hello answers 200" wait_code /hello 200 10
status_out=$("$initd" status) && st=0 || st=$?
check "status exits 0 and says running" bash -c "[ $st -eq 0 ] && grep -q running <<<'$status_out'"
pid=$(gw_pid)
check "the gateway runs as the turnpike user" bash -c "[ \"\$(ps -o user= -p '$pid')\" = turnpike ]"
check "an API not yet loaded answers 404" bash -c "[ \"\$(curl -s -o /dev/null -m 5 -w '%{http_code}' http://127.0.0.1:$gw_port/pkgtest/hello)\" = 404 ]"
cat >/opt/$svc/apps/pkgtest.json <<JSON
{
  "name": "pkgtest", "api_id": "pkgtest", "org_id": "default", "use_keyless": true, "active": true,
  "version_data": {"not_versioned": true, "versions": {"Default": {"name": "Default"}}},
  "proxy": {"listen_path": "/pkgtest/", "target_url": "http://127.0.0.1:$gw_port/", "strip_listen_path": true}
}
JSON
check "$initd reload exits 0" "$initd" reload
check "after reload (SIGHUP) the new API answers 200" wait_code /pkgtest/hello 200 5
check "reload kept the same process" bash -c "[ '$(gw_pid)' = '$pid' ] && kill -0 '$pid'"

if upgrade_out=$(dpkg -i --force-confdef --force-confold "$deb" 2>&1); then
  ok "dpkg -i over the installed package (upgrade path)"
else
  not_ok "dpkg -i over the installed package (upgrade path)"
  printf '%s\n' "$upgrade_out" | sed 's/^/  /'
fi
check "the upgrade restarted the running gateway" \
  bash -c "[ -n \"\$(cat /var/run/$svc.pid)\" ] && [ \"\$(cat /var/run/$svc.pid)\" != '$pid' ]"
check "after the upgrade /pkgtest/hello answers 200" wait_code /pkgtest/hello 200 10
pid=$(gw_pid)

check "$initd stop exits 0" "$initd" stop
check "the gateway process is gone" bash -c "! kill -0 '$pid' 2>/dev/null"
st=0
"$initd" status >/dev/null || st=$?
check "status exits 3 when stopped" [ "$st" -eq 3 ]
check "logs in /var/log/$svc.stderr (start, SIGHUP reload, stop)" \
  bash -c "grep -q listening /var/log/$svc.stderr && grep -q SIGHUP /var/log/$svc.stderr && grep -q stopped /var/log/$svc.stderr"
check "/var/log/$svc.stdout exists" test -f /var/log/$svc.stdout

echo "# SysV init script (plain-shell fallback, START_STOP_DAEMON=no)"
echo "START_STOP_DAEMON=no" >>/etc/default/$svc
check "start exits 0" "$initd" start
check "GET /hello answers 200" wait_code /hello 200 10
check "status exits 0" "$initd" status
pid=$(gw_pid)
check "reload exits 0" "$initd" reload
check "stop exits 0 and the process is gone" bash -c "'$initd' stop && ! kill -0 '$pid' 2>/dev/null"
st=0
"$initd" status >/dev/null || st=$?
check "status exits 3 when stopped" [ "$st" -eq 3 ]
sed -i '/^START_STOP_DAEMON=/d' /etc/default/$svc

echo '{"listen_port": ' >"$tmp/bad.conf"
chmod 0644 "$tmp/bad.conf"
sed -i "s|^CONF=.*|CONF=$tmp/bad.conf|" /etc/default/$svc
st=0
bad_out=$("$initd" start 2>&1) || st=$?
check "start with a broken config reports failure" [ "$st" -ne 0 ]
[ "$st" -ne 0 ] || printf '%s\n' "$bad_out" | sed 's/^/  /'
if [ "$st" -eq 0 ]; then "$initd" stop >/dev/null 2>&1 || true; fi
sed -i "s|^CONF=.*|CONF=$tmp/tyk.conf|" /etc/default/$svc

echo "# Upstart jobs' shell blocks, run the way Upstart runs them (sh -e), without Upstart"
upstart_block() { sed -n "/^$2\$/,/^end script\$/{/^$2\$/d;/^end script\$/d;p}" "$1"; }
for v in upstart-0.6 upstart-1.x; do
  job=/opt/$svc/install/inits/$v/$svc.conf
  : >/var/log/$svc.stderr
  sh -e -c "$(upstart_block "$job" 'pre-start script')"
  sh -e -c "$(upstart_block "$job" script)" </dev/null >"$tmp/$v.log" 2>&1 &
  up_pid=$!
  check "$v job: the gateway answers /hello as user turnpike" bash -c \
    "$(declare -f http_code wait_code); gw_port=$gw_port; wait_code /hello 200 10 && [ \"\$(ps -o user= -p $up_pid)\" = turnpike ]"
  kill -TERM "$up_pid" 2>/dev/null || true
  wait "$up_pid" 2>/dev/null || true
  up_pid=""
  if [ "$v" = upstart-0.6 ]; then
    check "$v job: logs in /var/log/$svc.stderr" grep -q listening /var/log/$svc.stderr
  else
    check "$v job: logs on stdout/stderr (console log)" grep -q listening "$tmp/$v.log"
  fi
done

echo "# other init systems (install/remove paths of the helpers)"
helper=/opt/$svc/install
check "post_install.sh with TURNPIKE_INIT=systemd installs and enables the unit" bash -c \
  "TURNPIKE_INIT=systemd $helper/post_install.sh configure >/dev/null && [ -f /lib/systemd/system/$svc.service ] && [ -L /etc/systemd/system/multi-user.target.wants/$svc.service ]"
check "post_install.sh with TURNPIKE_INIT=upstart-1.x installs /etc/init/$svc.conf" bash -c \
  "TURNPIKE_INIT=upstart-1.x $helper/post_install.sh configure >/dev/null && cmp -s $helper/inits/upstart-1.x/$svc.conf /etc/init/$svc.conf"
check "post_install.sh with TURNPIKE_INIT=upstart-0.6 installs the 0.6 job" bash -c \
  "TURNPIKE_INIT=upstart-0.6 $helper/post_install.sh configure >/dev/null && cmp -s $helper/inits/upstart-0.6/$svc.conf /etc/init/$svc.conf"
check "before_remove.sh removes every init file it finds" bash -c \
  "$helper/before_remove.sh remove >/dev/null && [ ! -e /lib/systemd/system/$svc.service ] && [ ! -e /etc/systemd/system/multi-user.target.wants/$svc.service ] && [ ! -e /etc/init/$svc.conf ] && [ ! -e $initd ]"
check "post_install.sh puts the SysV script back" bash -c \
  "$helper/post_install.sh configure 0.0.1 >/dev/null && [ -x $initd ]"

echo "# purge"
rm -f /opt/$svc/apps/pkgtest.json
check "dpkg --purge exits 0" dpkg --purge $svc
check "purge removes /opt/$svc, the init script, rc.d links, /etc/default and logs" bash -c \
  "[ ! -e /opt/$svc ] && [ ! -e $initd ] && ! ls /etc/rc?.d/*$svc >/dev/null 2>&1 && [ ! -e /etc/default/$svc ] && [ ! -e /var/log/$svc.stderr ] && [ ! -e /var/run/$svc.pid ]"
installed_by_us=0
rm -f "/lib/systemd/system/$svc.service" "/etc/init/$svc.conf"
if [ "$etc_init_existed" = 0 ]; then rmdir /etc/init 2>/dev/null || true; fi

finished=1
kill "$redis_pid" 2>/dev/null || true
wait "$redis_pid" 2>/dev/null || true
redis_pid=""
if [ "$user_existed" = 0 ]; then
  deluser --system --quiet turnpike >/dev/null 2>&1 || userdel turnpike >/dev/null 2>&1 || true
fi
if [ "$group_existed" = 0 ] && getent group turnpike >/dev/null; then
  delgroup --system --quiet turnpike >/dev/null 2>&1 || groupdel turnpike >/dev/null 2>&1 || true
fi
if [ "$user_existed" = 0 ]; then
  check "the turnpike user this run created is removed again" bash -c '! getent passwd turnpike >/dev/null'
fi

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
