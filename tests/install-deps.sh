#!/usr/bin/env bash
# Installs the Debian packages a target needs, only those missing.
# Usage: tests/install-deps.sh build|test|bench|deb|package|fuzz|fresh ...
# Why the less obvious ones: test has man-db because make test's package suite renders
# the man pages even without a .deb; deb has build-essential because dpkg-buildpackage
# checks it as an implicit build dependency; fresh is `make test-fresh` (debootstrap).
set -euo pipefail

declare -A groups=(
  [build]="g++ make pkg-config liburing-dev libboost-program-options-dev libspdlog-dev libfmt-dev libnl-3-dev libnl-route-3-dev nlohmann-json3-dev libgtest-dev"
  [test]="python3 python3-pytest iproute2 iptables nftables procps keepalived util-linux man-db haproxy nginx-light libnginx-mod-stream"
  [bench]="haproxy nginx-light libnginx-mod-stream valgrind util-linux"
  [deb]="build-essential debhelper dpkg-dev"
  [package]="lintian systemd logrotate strace bash-completion man-db python3 python3-pytest util-linux adduser"
  [fuzz]="clang libclang-rt-dev"
  [fresh]="debootstrap"
)

wanted=()
for group in "$@"; do
  [[ -n "${groups[$group]:-}" ]] || { echo "install-deps: unknown group '$group'" >&2; exit 2; }
  for pkg in ${groups[$group]}; do
    status=$(dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null || true)
    [[ "$status" == "install ok installed" ]] || wanted+=("$pkg")
  done
done

[[ ${#wanted[@]} -eq 0 ]] && exit 0

if [[ $(id -u) -ne 0 ]]; then
  echo "install-deps: missing packages: ${wanted[*]}" >&2
  echo "install-deps: run as root, or: sudo apt-get install -y ${wanted[*]}" >&2
  exit 1
fi
echo "install-deps: installing ${wanted[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${wanted[@]}" >/dev/null
