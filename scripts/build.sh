#!/usr/bin/env bash
# Configures and builds migrate-init and its tests into build/ (or $BUILD_DIR).
#   bash scripts/build.sh            # the dynamic build and its tests, in build/
#   bash scripts/build.sh --static   # the two stripped release binaries, in dist/:
#     dist/migrate-init         everything static but glibc (build-static-glibc/)
#     dist/migrate-init-static  fully static, -static (build-static-full/)
#   Both link a libpq built from Debian's PostgreSQL source package without GSSAPI and LDAP
#   (scripts/lib/static-libpq.sh, cached under build-static/), and Debian's static OpenSSL.
set -euo pipefail
cd "$(dirname "$0")/.."
# Paths relative to the checkout in ccache's keys: a fresh clone elsewhere still hits the cache.
export CCACHE_BASEDIR=${CCACHE_BASEDIR:-$PWD}
case "${1:-}" in
  "")
    build_dir=${BUILD_DIR:-build}
    cmake -S . -B "$build_dir" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
    cmake --build "$build_dir" -j"$(nproc)"
    ;;
  --static)
    libpq=$(bash scripts/lib/static-libpq.sh)
    mkdir -p dist
    for kind in glibc full; do
      # -O2 as the normal build, without -g: the binaries are stripped, and without it the
      # objects of both builds are the same to ccache (with -g, it keys them by build directory).
      cmake -S . -B "build-static-$kind" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O2 -DNDEBUG" \
        -DBUILD_TESTING=OFF \
        -DMIGRATE_INIT_STATIC="$kind" -DMIGRATE_INIT_STATIC_LIBPQ="$libpq" >/dev/null
      started=$SECONDS
      cmake --build "build-static-$kind" -j"$(nproc)" --target migrate-init
      echo "build-static-$kind/migrate-init: $((SECONDS - started)) s"
    done
    cp build-static-glibc/migrate-init dist/migrate-init
    cp build-static-full/migrate-init dist/migrate-init-static
    ls -l dist/migrate-init dist/migrate-init-static
    ;;
  *) echo "usage: bash scripts/build.sh [--static]" >&2; exit 2 ;;
esac
