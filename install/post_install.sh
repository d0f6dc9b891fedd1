#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# shellcheck source-path=SCRIPTDIR
# Post-install for a Turnpike service package (deb postinst / rpm %post call it with their own
# arguments: "configure [old-version]" or "1" / "2"). Idempotent:
#   - creates the system group and user "turnpike" if missing,
#   - sets ownership (config readable by the group only, data directories writable),
#   - installs the init file for the init system this host runs, copied from install/inits/:
#       systemd      -> /lib/systemd/system/<svc>.service   (daemon-reload + enable)
#       upstart-1.x  -> /etc/init/<svc>.conf                 (starts on boot by itself)
#       upstart-0.6  -> /etc/init/<svc>.conf
#       sysv         -> /etc/init.d/<svc>                    (update-rc.d defaults / chkconfig --add)
#   - on upgrade restarts the service if it was running; a fresh install is enabled, not started.
# TURNPIKE_INIT=systemd|upstart-1.x|upstart-0.6|sysv forces the init system.
set -euo pipefail
# shellcheck source=service-lib.sh
. "$(cd "$(dirname "$0")" && pwd)/service-lib.sh"

mode=install
case "${1:-}" in
  configure) if [ -n "${2:-}" ]; then mode=upgrade; fi ;;
  abort-upgrade | abort-remove | abort-deconfigure) mode=upgrade ;;
  1 | "") mode=install ;;
  [0-9]*) mode=upgrade ;;
  *) mode=install ;;
esac

ensure_user() {
  local nologin=/usr/sbin/nologin
  [ -x "$nologin" ] || nologin=/sbin/nologin
  if ! getent group "$svc_group" >/dev/null; then
    if command -v addgroup >/dev/null 2>&1 && addgroup --help 2>&1 | grep -q -- --system; then
      addgroup --system --quiet "$svc_group"
    else
      groupadd -r "$svc_group"
    fi
    say "created system group $svc_group"
  fi
  if ! getent passwd "$svc_user" >/dev/null; then
    if command -v adduser >/dev/null 2>&1 && adduser --help 2>&1 | grep -q -- --system; then
      adduser --system --quiet --ingroup "$svc_group" --no-create-home --home /nonexistent \
        --shell "$nologin" --gecos "Turnpike services" "$svc_user"
    else
      useradd -r -g "$svc_group" -M -d /nonexistent -s "$nologin" -c "Turnpike services" "$svc_user"
    fi
    say "created system user $svc_user"
  fi
}

set_ownership() {
  # The config holds secrets: root-owned, readable by the service group, never world-readable.
  if [ -f "$dir/$conf" ]; then
    chown "root:$svc_group" "$dir/$conf"
    chmod 0640 "$dir/$conf"
  fi
  # Directories the service writes (the gateway's control API writes apps/ and policies/).
  local d
  for d in ${writable:-}; do
    if [ -d "$dir/$d" ]; then chown -R "$svc_user:$svc_group" "$dir/$d"; fi
  done
}

install_init() {
  local init=$1
  case "$init" in
    systemd)
      mkdir -p "$systemd_unit_dir"
      install -m 0644 "$inits/systemd/$name.service" "$systemd_unit"
      if command -v systemctl >/dev/null 2>&1; then
        systemctl daemon-reload >/dev/null 2>&1 || true
        systemctl unmask "$name" >/dev/null 2>&1 || true
        systemctl enable "$name" >/dev/null 2>&1 || say "warning: systemctl enable $name failed"
      fi
      ;;
    upstart-1.x | upstart-0.6)
      mkdir -p /etc/init
      install -m 0644 "$inits/$init/$name.conf" "$upstart_job"
      initctl reload-configuration >/dev/null 2>&1 || true
      ;;
    sysv)
      install -m 0755 "$inits/sysv/$name" "$sysv_script"
      if command -v update-rc.d >/dev/null 2>&1; then
        update-rc.d "$name" defaults >/dev/null
      elif command -v chkconfig >/dev/null 2>&1; then
        chkconfig --add "$name"
      fi
      ;;
    *)
      say "unknown init system '$init' (TURNPIKE_INIT?); no init file installed"
      return 0
      ;;
  esac
  say "installed the $init init file (logs: $(log_hint "$init"))"
}

log_hint() {
  case "$1" in
    systemd) echo "journalctl -u $name" ;;
    upstart-1.x) echo "/var/log/upstart/$name.log" ;;
    *) echo "/var/log/$name.stdout, /var/log/$name.stderr" ;;
  esac
}

restart_if_running() {
  case "$1" in
    systemd)
      if systemd_running; then systemctl try-restart "$name" || say "warning: restart failed"; fi
      ;;
    upstart-1.x | upstart-0.6)
      if upstart_running && initctl status "$name" 2>/dev/null | grep -q running; then
        initctl stop "$name" >/dev/null 2>&1 || true
        initctl start "$name" >/dev/null || say "warning: restart failed"
      fi
      ;;
    sysv)
      if "$sysv_script" status >/dev/null 2>&1; then
        "$sysv_script" restart || say "warning: restart failed"
      fi
      ;;
  esac
}

start_hint() {
  case "$1" in
    systemd) echo "systemctl start $name" ;;
    upstart-*) echo "start $name" ;;
    *) echo "$sysv_script start" ;;
  esac
}

ensure_user
set_ownership
init=$(detect_init)
install_init "$init"
if [ "$mode" = upgrade ]; then
  restart_if_running "$init"
else
  say "configure $dir/$conf, then start it with: $(start_hint "$init")"
fi
