#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# shellcheck source-path=SCRIPTDIR
# Pre-remove for a Turnpike service package (deb prerm / rpm %preun call it with their own
# arguments: "remove|upgrade|deconfigure|failed-upgrade" or "0" / "1"). On removal it stops the
# service and removes whatever init file post_install.sh installed (whichever init system); on
# upgrade it does nothing (post_install.sh restarts the new version).
set -euo pipefail
# shellcheck source=service-lib.sh
. "$(cd "$(dirname "$0")" && pwd)/service-lib.sh"

case "${1:-remove}" in
  upgrade | failed-upgrade | [1-9]*) exit 0 ;;
esac

# Never fail a removal because the service was already stopped or half-installed.
if [ -f "$systemd_unit" ]; then
  if systemd_running; then systemctl stop "$name" >/dev/null 2>&1 || say "warning: stop failed"; fi
  if command -v systemctl >/dev/null 2>&1; then systemctl disable "$name" >/dev/null 2>&1 || true; fi
  rm -f "$systemd_unit"
  if systemd_running; then systemctl daemon-reload >/dev/null 2>&1 || true; fi
  say "removed $systemd_unit"
fi
if [ -f "$upstart_job" ]; then
  if upstart_running; then initctl stop "$name" >/dev/null 2>&1 || true; fi
  rm -f "$upstart_job"
  say "removed $upstart_job"
fi
if [ -f "$sysv_script" ]; then
  "$sysv_script" stop || say "warning: stop failed"
  if command -v chkconfig >/dev/null 2>&1 && ! command -v update-rc.d >/dev/null 2>&1; then
    chkconfig --del "$name" >/dev/null 2>&1 || true
  fi
  rm -f "$sysv_script"
  if command -v update-rc.d >/dev/null 2>&1; then update-rc.d "$name" remove >/dev/null 2>&1 || true; fi
  say "removed $sysv_script"
fi
