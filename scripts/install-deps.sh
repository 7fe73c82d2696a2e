#!/usr/bin/env bash
# Installs what building, testing and the demo need, from Debian 12's packages.
# Runs apt-get only when something is missing, so repeated runs cost nothing.
set -euo pipefail

packages=(
  g++ cmake make pkg-config ccache
  libpq-dev libssl-dev
  libboost1.81-dev libboost-program-options1.81-dev
  libspdlog-dev doctest-dev
  postgresql postgresql-client pgbouncer
  python3 python3-yaml util-linux
  podman runc debootstrap dpkg-dev
  clang libclang-rt-14-dev hyperfine
)
missing=()
for package in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep "install ok installed" >/dev/null || missing+=("$package")
done
if ((${#missing[@]})); then
  echo "installing: ${missing[*]}" >&2
  sudo_cmd=()
  [[ $(id -u) -eq 0 ]] || sudo_cmd=(sudo)
  "${sudo_cmd[@]}" apt-get update -qq
  DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
