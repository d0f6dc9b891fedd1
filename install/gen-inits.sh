#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Renders install/templates/* once per daemon listed in install/daemons.conf:
#   inits/systemd/<name>.service      inits/upstart-1.x/<name>.conf
#   inits/upstart-0.6/<name>.conf     inits/sysv/<name>
# Usage: install/gen-inits.sh [OUTDIR]   (default: install/inits; the result is committed)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
out=${1:-$here/inits}
user=turnpike
group=turnpike

# Bash >= 5.2 treats '&' in a ${var//pat/rep} replacement as the match; keep it literal.
shopt -u patsub_replacement 2>/dev/null || true

# shellcheck disable=SC2016 # the '${CONF}'-style arguments are text for the generated files
render() { # render TEMPLATE DEST
  local t
  t=$(<"$1")
  t=${t//@NAME@/"$name"}
  t=${t//@DIR@/"/opt/$name"}
  t=${t//@BIN@/"$bin"}
  t=${t//@CONF@/"$conf"}
  t=${t//@DESC@/"$desc"}
  t=${t//@USER@/"$user"}
  t=${t//@GROUP@/"$group"}
  t=${t//@CONF_ARG@/"$(conf_arg '${CONF}')"}
  t=${t//@CONF_ARG_POS@/"$(conf_arg '"$1"')"}
  t=${t//@CONF_ARG_SYSV@/"$(conf_arg '"$CONF"')"}
  if [[ $t == *@[A-Z_]*@* ]]; then
    echo "gen-inits: unknown placeholder left in $2" >&2
    exit 1
  fi
  mkdir -p "$(dirname "$2")"
  printf '%s\n' "$t" >"$2.tmp"
  mv "$2.tmp" "$2"
}

conf_arg() { # how the binary takes its config file, with $1 as the file reference
  case "$flag" in
    *=) printf '%s%s' "$flag" "$1" ;;
    *) printf '%s %s' "$flag" "$1" ;;
  esac
}

n=0
while read -r name build conf flag extras desc; do
  case "$name" in '' | '#'*) continue ;; esac
  : "$extras"
  bin=$(basename "$build")
  render "$here/templates/systemd.service.in" "$out/systemd/$name.service"
  render "$here/templates/upstart-1.x.conf.in" "$out/upstart-1.x/$name.conf"
  render "$here/templates/upstart-0.6.conf.in" "$out/upstart-0.6/$name.conf"
  render "$here/templates/sysv.init.in" "$out/sysv/$name"
  chmod 0755 "$out/sysv/$name"
  n=$((n + 1))
done <"$here/daemons.conf"
echo "gen-inits: rendered init files for $n daemon(s) into $out"
