#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Builds one package per daemon listed in install/daemons.conf from the Meson build directory:
#   packaging/build.sh deb   ->  build-pkg/<name>_<version>_<arch>.deb   (dpkg-deb, no debhelper)
#   packaging/build.sh rpm   ->  build-pkg/<name>-<version>-1.<arch>.rpm (rpmbuild)
# Environment: BUILD (Meson build dir, default build), OUT (default build-pkg),
#              MAINTAINER (default "Turnpike maintainers <turnpike@example.org>").
# Package layout, as Tyk lays out /opt/tyk-gateway:
#   /opt/<name>/<binary>, /opt/<name>/<config> (conffile), the daemon's default tree from
#   etc/<name>/ (apps/, policies/, middleware/ for the gateway), the extras column of
#   daemons.conf (templates/), /opt/<name>/install/{inits/*, post_install.sh, before_remove.sh,
#   service-lib.sh, service.env}, and etc/default/<name> as /etc/default/<name> (deb) or
#   /etc/sysconfig/<name> (rpm).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
kind=${1:-}
case "$kind" in
  deb | rpm) ;;
  *) echo "usage: $0 deb|rpm" >&2; exit 2 ;;
esac
build=${BUILD:-build}
out=${OUT:-build-pkg}
maintainer=${MAINTAINER:-Turnpike maintainers <turnpike@example.org>}
shopt -u patsub_replacement 2>/dev/null || true

version=$(sed -n "s/^[[:space:]]*version[[:space:]]*:[[:space:]]*'\([^']*\)'.*/\1/p" meson.build | head -n 1)
if [ -z "$version" ]; then echo "build.sh: no project version in meson.build" >&2; exit 1; fi

if [ "$kind" = rpm ] && ! command -v rpmbuild >/dev/null 2>&1; then
  echo "build.sh: rpmbuild is not installed (Debian: apt-get install rpm); cannot build the .rpm" >&2
  exit 1
fi
for tool in dpkg-deb strip; do
  if [ "$kind" = deb ] || [ "$tool" = strip ]; then
    command -v "$tool" >/dev/null 2>&1 || { echo "build.sh: $tool is not installed" >&2; exit 1; }
  fi
done

mkdir -p "$out"
out=$(cd "$out" && pwd)
work="$out/work-$kind"
rm -rf "$work"
mkdir -p "$work"

# The committed init files must match their templates (install/gen-inits.sh regenerates them).
install/gen-inits.sh "$work/inits" >/dev/null
if ! diff -r "$work/inits" install/inits >/dev/null; then
  echo "build.sh: install/inits is out of date; run install/gen-inits.sh and commit the result" >&2
  exit 1
fi

subst() { # subst FILE -> stdout with @NAME@-style placeholders replaced
  local t
  t=$(<"$1")
  t=${t//@NAME@/"$name"}
  t=${t//@VERSION@/"$version"}
  t=${t//@DESC@/"$desc"}
  t=${t//@CONF@/"$conf"}
  t=${t//@MAINTAINER@/"$maintainer"}
  printf '%s\n' "$t"
}

# stage DEST: the package's file tree under DEST (root-relative paths).
stage() {
  local opt=$1/opt/$name d
  install -d -m 0755 "$opt" "$opt/install"
  install -m 0755 "$build/$buildpath" "$opt/$bin"
  strip --remove-section=.comment --remove-section=.note "$opt/$bin"
  # Default tree (config + data directories); .gitkeep files only keep empty dirs in git.
  (cd "etc/$name" && find . -mindepth 1 -type d -printf '%P\n') | while read -r d; do
    install -d -m 0755 "$opt/$d"
  done
  (cd "etc/$name" && find . -type f ! -name .gitkeep -printf '%P\n') | while read -r d; do
    install -m 0644 "etc/$name/$d" "$opt/$d"
  done
  chmod 0640 "$opt/$conf"
  writable=$(cd "etc/$name" && find . -mindepth 1 -maxdepth 1 -type d -printf '%P\n' | sort | tr '\n' ' ')
  if [ "$extras" != - ]; then
    local IFS=,
    for d in $extras; do
      cp -R "$d" "$opt/"
      find "$opt/$(basename "$d")" -type d -exec chmod 0755 {} + -o -type f -exec chmod 0644 {} +
    done
    unset IFS
  fi
  # install/: this daemon's init files and the helpers the maintainer scripts call.
  local init
  for init in systemd/"$name".service upstart-1.x/"$name".conf upstart-0.6/"$name".conf sysv/"$name"; do
    install -d -m 0755 "$opt/install/inits/$(dirname "$init")"
    install -m 0644 "install/inits/$init" "$opt/install/inits/$init"
  done
  chmod 0755 "$opt/install/inits/sysv/$name"
  install -m 0755 install/post_install.sh install/before_remove.sh "$opt/install/"
  install -m 0644 install/service-lib.sh install/README.md "$opt/install/"
  printf 'name=%s\nbin=%s\nconf=%s\nwritable="%s"\n' "$name" "$bin" "$conf" "${writable% }" \
    >"$opt/install/service.env"
  chmod 0644 "$opt/install/service.env"
}

build_deb() {
  local pkgroot=$work/$name arch depends size f
  arch=$(dpkg --print-architecture)
  stage "$pkgroot"
  if [ -f "etc/default/$name" ]; then
    install -D -m 0644 "etc/default/$name" "$pkgroot/etc/default/$name"
  fi
  local doc=$pkgroot/usr/share/doc/$name
  install -D -m 0644 packaging/deb/copyright "$doc/copyright"
  local when
  when=$(LC_ALL=C date -R -u -d "@${SOURCE_DATE_EPOCH:-$(stat -c %Y meson.build)}")
  printf '%s (%s) unstable; urgency=medium\n\n  * Turnpike %s; see the project history for changes.\n\n -- %s  %s\n' \
    "$name" "$version" "$version" "$maintainer" "$when" | gzip -9n >"$doc/changelog.gz"
  chmod 0644 "$doc/changelog.gz"
  install -D -m 0644 /dev/stdin "$pkgroot/usr/share/lintian/overrides/$name" <<OVR
# Tyk's layout: a Turnpike service is a drop-in for /opt/tyk-*, so it lives in /opt/$name/.
$name: dir-or-file-in-opt [opt/$name/*]
# Tyk keeps its config next to the binary (/opt/tyk-gateway/tyk.conf) and scripts and docs
# point there; it must still survive upgrades, so it is a conffile outside /etc.
$name: non-etc-file-marked-as-conffile opt/$name/$conf [conffiles:1]
# The config holds secrets (control-API secret, Redis password): not world-readable.
$name: non-standard-file-perm 0640 != 0644 [opt/$name/$conf]
# install/README.md documents the init files next to them, as Tyk ships install/.
$name: package-contains-documentation-outside-usr-share-doc [opt/$name/install/README.md]
OVR

  # Shared-library dependencies, as dh_shlibdeps computes them.
  local shl=$work/shlibs-$name
  mkdir -p "$shl/debian"
  printf 'Source: %s\n\nPackage: %s\nArchitecture: any\n' "$name" "$name" >"$shl/debian/control"
  depends=$(cd "$shl" && dpkg-shlibdeps -O -e"$pkgroot/opt/$name/$bin" 2>/dev/null |
    sed -n 's/^shlibs:Depends=//p')
  depends="${depends:+$depends, }adduser"

  install -d -m 0755 "$pkgroot/DEBIAN"
  for f in postinst prerm postrm; do
    subst "packaging/scripts/$f.in" >"$pkgroot/DEBIAN/$f"
    chmod 0755 "$pkgroot/DEBIAN/$f"
  done
  {
    echo "/opt/$name/$conf"
    if [ -f "$pkgroot/etc/default/$name" ]; then echo "/etc/default/$name"; fi
  } >"$pkgroot/DEBIAN/conffiles"
  (cd "$pkgroot" && find . -path ./DEBIAN -prune -o -type f -printf '%P\n' | LC_ALL=C sort |
    xargs -d '\n' md5sum) >"$pkgroot/DEBIAN/md5sums"
  size=$(du -sk --exclude=DEBIAN "$pkgroot" | cut -f1)
  local t
  t=$(subst packaging/deb/control.in)
  t=${t//@ARCH@/"$arch"}
  t=${t//@SIZE@/"$size"}
  t=${t//@DEPENDS@/"$depends"}
  printf '%s\n' "$t" >"$pkgroot/DEBIAN/control"
  chmod 0644 "$pkgroot/DEBIAN/control" "$pkgroot/DEBIAN/conffiles" "$pkgroot/DEBIAN/md5sums"
  local deb="$out/${name}_${version}_${arch}.deb"
  dpkg-deb --root-owner-group -Zxz --build "$pkgroot" "$deb" >/dev/null
  echo "built $deb"
}

build_rpm() {
  local top=$work/rpmbuild stagedir=$work/$name p files spec
  stage "$stagedir"
  if [ -f "etc/default/$name" ]; then
    install -D -m 0644 "etc/default/$name" "$stagedir/etc/sysconfig/$name"
  fi
  # %files from the staged tree: directories we own, conffiles, everything else.
  files=$(
    echo "%defattr(-,root,root,-)"
    (cd "$stagedir" && find "opt/$name" -type d | LC_ALL=C sort) | sed 's|^|%dir /|'
    (cd "$stagedir" && find . -type f -printf '/%P\n' | LC_ALL=C sort) | while read -r p; do
      case "$p" in
        "/opt/$name/$conf") echo "%config(noreplace) %attr(0640,root,root) $p" ;;
        /etc/*) echo "%config(noreplace) $p" ;;
        *) echo "$p" ;;
      esac
    done
  )
  spec=$work/$name.spec
  local t
  t=$(subst packaging/rpm/service.spec.in)
  t=${t//@STAGE@/"$stagedir"}
  t=${t//@RPMDATE@/"$(LC_ALL=C date -u -d "@${SOURCE_DATE_EPOCH:-$(stat -c %Y meson.build)}" '+%a %b %d %Y')"}
  t=${t//@FILES@/"$files"}
  t=${t//@POSTINST@/"$(subst packaging/scripts/postinst.in)"}
  t=${t//@PRERM@/"$(subst packaging/scripts/prerm.in)"}
  t=${t//@POSTRM@/"$(subst packaging/scripts/postrm.in)"}
  printf '%s\n' "$t" >"$spec"
  mkdir -p "$top"/{BUILD,BUILDROOT,RPMS,SOURCES,SPECS,SRPMS}
  rpmbuild -bb --quiet \
    --define "_topdir $top" \
    --define "_rpmdir $out" \
    --define "_build_name_fmt %%{NAME}-%%{VERSION}-%%{RELEASE}.%%{ARCH}.rpm" \
    --define "_tmppath $work/tmp" \
    "$spec" >"$work/rpmbuild.log" 2>&1 || { cat "$work/rpmbuild.log" >&2; exit 1; }
  echo "built $(ls "$out/$name-$version"-1.*.rpm)"
}

n=0
while read -r name buildpath conf flag extras desc; do
  case "$name" in '' | '#'*) continue ;; esac
  : "$flag"
  bin=$(basename "$buildpath")
  if [ ! -x "$build/$buildpath" ]; then
    echo "build.sh: $build/$buildpath is missing; run 'make build' first" >&2
    exit 1
  fi
  "build_$kind"
  n=$((n + 1))
done <install/daemons.conf
rm -rf "$work"
echo "build.sh: $n $kind package(s) in $out"
