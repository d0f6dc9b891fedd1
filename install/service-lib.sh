# SPDX-License-Identifier: Apache-2.0
# shellcheck shell=bash disable=SC2034 # the variables are for the scripts that source this
# Shared by post_install.sh and before_remove.sh (sourced, not run). Packaged as
# /opt/<service>/install/service-lib.sh next to service.env, which packaging/build.sh writes:
#   name=<service>  bin=<binary>  conf=<config file>  writable="<dirs the service may write>"

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=/dev/null
. "$here/service.env"
: "${name:?service.env: name missing}" "${conf:?service.env: conf missing}"
dir=/opt/$name
inits=$dir/install/inits
svc_user=turnpike
svc_group=turnpike

systemd_unit_dir=/lib/systemd/system
systemd_unit=$systemd_unit_dir/$name.service
upstart_job=/etc/init/$name.conf
sysv_script=/etc/init.d/$name

say() { printf '%s: %s\n' "$name" "$*"; }

# Which init system runs this host: systemd, upstart-0.6, upstart-1.x or sysv.
# TURNPIKE_INIT=<one of those> overrides the detection.
detect_init() {
  if [ -n "${TURNPIKE_INIT:-}" ]; then
    echo "$TURNPIKE_INIT"
  elif [ -d /run/systemd/system ]; then
    echo systemd
  elif command -v initctl >/dev/null 2>&1 && initctl version 2>/dev/null | grep -q upstart; then
    if initctl version 2>/dev/null | grep -Eq 'upstart 0\.'; then
      echo upstart-0.6
    else
      echo upstart-1.x
    fi
  else
    echo sysv
  fi
}

systemd_running() { [ -d /run/systemd/system ] && command -v systemctl >/dev/null 2>&1; }
upstart_running() { command -v initctl >/dev/null 2>&1 && initctl version >/dev/null 2>&1; }
