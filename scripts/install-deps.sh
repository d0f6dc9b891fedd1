#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Installs every Debian package that building, testing and running Turnpike needs.
# Idempotent: packages already present are skipped by apt; safe to run again.
set -euo pipefail

PKGS=(
  # build
  build-essential pkg-config meson ninja-build clang clang-format libclang-rt-14-dev
  # core libraries
  libevent-dev libssl-dev node-llhttp libjansson-dev libhiredis-dev libpcre2-dev
  libmurmurhash-dev libmsgpack-dev libcmocka-dev libcjose-dev libxml2-dev zlib1g-dev
  # JavaScript plugins (duktape built from its installed sources), HTTP/2 (and h2load for bench/)
  duktape-dev libnghttp2-dev nghttp2-client
  # pump sinks and analytics enrichment
  libsqlite3-dev libpq-dev libcurl4-openssl-dev librdkafka-dev libmaxminddb-dev
  # runtime peers for `make run` and the tests
  redis-server nginx-light wrk curl nodejs openssl procps
  postgresql sqlite3 influxdb prometheus libmaxmind-db-writer-perl
  # packages and init scripts (make deb / rpm / test-packaging)
  lintian rpm rpmlint systemd shellcheck init-system-helpers adduser dpkg-dev
)

SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi

missing=()
for p in "${PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done

if [ "${#missing[@]}" -gt 0 ]; then
  echo "install-deps: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
else
  echo "install-deps: all Debian packages present"
fi

# System services must not hold our ports; the tests start private instances.
for svc in redis-server nginx postgresql influxdb prometheus; do
  if command -v systemctl >/dev/null 2>&1 && systemctl is-active --quiet "$svc" 2>/dev/null; then
    $SUDO systemctl disable --now "$svc" >/dev/null 2>&1 || true
  fi
done
