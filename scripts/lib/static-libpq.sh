#!/usr/bin/env bash
# Builds static libpq (libpq.a, libpgcommon.a, libpgport.a) from Debian's own PostgreSQL
# source package, at exactly the version of the installed libpq-dev, without GSSAPI, LDAP,
# ICU and readline (Debian's libpq.a needs GSSAPI and LDAP, which have no static libraries),
# with the patches of scripts/lib/libpq-patches/ on top of Debian's.
# Cached under build-static/postgresql-<version>-<flags>/ (or $STATIC_LIBPQ_CACHE/...: the
# image build keeps it in a cache mount): a second run only prints the path.
#   bash scripts/lib/static-libpq.sh   # prints the directory holding include/ and lib/
# Needs deb-src entries for bookworm (added to /etc/apt/sources.list.d/ when missing) and
# never installs anything into the system: the .a files are taken from the build tree.
set -euo pipefail
cd "$(dirname "$0")/../.."
root=$PWD

version=$(dpkg-query -W -f='${Version}' libpq-dev)
# Nothing is installed, so the prefix only shows in the paths compiled in: Debian's own
# (libpq5 reads pg_service.conf from /etc/postgresql-common), never the checkout's.
configure_flags=(--prefix=/usr --sysconfdir=/etc/postgresql-common --without-gssapi --without-ldap --without-icu
  --without-readline --with-openssl --without-zlib)
# Our patches on top of Debian's (scripts/lib/libpq-patches/, each saying why), applied in
# name order; their names are kept in patches.txt, for `--version` to show.
shopt -s nullglob
patches=("$root"/scripts/lib/libpq-patches/*.patch)
shopt -u nullglob
# Cached by version, flags and patches (their names and contents): a second build, or
# another checkout's, does not redo it.
cache=${STATIC_LIBPQ_CACHE:-$root/build-static}
key=$(
  echo "${configure_flags[*]}"
  for patch in "${patches[@]}"; do basename "$patch"; cat "$patch"; done
)
out=$cache/postgresql-$version-$(sha256sum <<<"$key" | cut -c1-8)
if [[ -f $out/lib/libpq.a && -f $out/lib/libpgcommon.a && -f $out/lib/libpgport.a && -f $out/include/libpq-fe.h &&
      -f $out/patches.txt ]]; then
  echo "$out"
  exit 0
fi

sudo_cmd=()
[[ $(id -u) -eq 0 ]] || sudo_cmd=(sudo)
if ! apt-get source --print-uris "postgresql-15=$version" >/dev/null 2>&1; then
  echo "static-libpq: adding deb-src entries for bookworm (/etc/apt/sources.list.d/debian-src.sources)" >&2
  "${sudo_cmd[@]}" tee /etc/apt/sources.list.d/debian-src.sources >/dev/null <<'SOURCES'
Types: deb-src
URIs: http://deb.debian.org/debian
Suites: bookworm bookworm-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb-src
URIs: http://deb.debian.org/debian-security
Suites: bookworm-security
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
SOURCES
  "${sudo_cmd[@]}" apt-get update -qq
fi

work=$cache/postgresql-$version.src
rm -rf "$work"
mkdir -p "$work"
(
  cd "$work"
  # apt-get source runs as whoever we are; dpkg-source unpacks (and applies Debian's patches).
  apt-get source -qq "postgresql-15=$version" >/dev/null
  src=$(find . -maxdepth 1 -type d -name 'postgresql-15-*' | head -1)
  cd "$src"
  # No fuzz: a hunk that no longer applies exactly (a new Debian version) fails the build
  # instead of landing elsewhere.
  for patch in "${patches[@]}"; do patch -s -p1 --fuzz=0 --no-backup-if-mismatch <"$patch"; done
  # Reproducible: no build path in the objects.
  ./configure -q "${configure_flags[@]}" CFLAGS="-O2 -ffile-prefix-map=$PWD=." >/dev/null
  make -s -C src/include >/dev/null
  make -s -C src/common -j"$(nproc)" >/dev/null
  make -s -C src/port -j"$(nproc)" >/dev/null
  make -s -C src/interfaces/libpq -j"$(nproc)" all-static-lib >/dev/null
  mkdir -p "$out.tmp/lib" "$out.tmp/include"
  cp src/interfaces/libpq/libpq.a src/common/libpgcommon.a src/port/libpgport.a "$out.tmp/lib/"
  cp src/interfaces/libpq/libpq-fe.h src/interfaces/libpq/libpq-events.h \
     src/include/postgres_ext.h src/include/pg_config_ext.h "$out.tmp/include/"
  for patch in "${patches[@]}"; do basename "$patch" .patch; done >"$out.tmp/patches.txt"
)
rm -rf "$out"
mv "$out.tmp" "$out"
rm -rf "$work"
echo "$out"
