#!/usr/bin/env bash
# The inside of `make test-fresh` (started by tests/fresh/run.sh as the first
# process of a new mount and PID namespace, with private mount propagation): builds
# the root WORK/root from the cached minbase tarball, mounts what the suites need,
# installs only `make` and runs COMMAND (`make test`) in the tree (WORK/tree.tar) as root.
# Every mount made here is invisible outside and goes when this namespace ends.
# Usage: in_namespace.sh WORK TARBALL COMMAND REPORTS_DIR [DEBOOTSTRAP_INCLUDE]
set -euo pipefail
work=$1 tarball=$2 command=$3 reports=$4 include=${5:-}
root=$work/root
read -r mirror _ < <(grep -E ' bookworm$' "$work/sources")

teardown() {
  local status=$?
  trap - EXIT INT TERM
  # A process a test failed to stop (all here were started by this run) would keep
  # the mounts busy: end each by its PID; the namespace's /proc lists only ours.
  local entry pid
  for entry in /proc/[0-9]*; do
    pid=${entry#/proc/}
    [[ $pid -ne $$ ]] && kill -KILL "$pid" 2>/dev/null || true
  done
  if mountpoint -q "$root"; then
    umount -R "$root" 2>/dev/null || umount -R -l "$root"
  fi
  exit "$status"
}
trap teardown EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

started=$SECONDS
debootstrap --variant=minbase ${include:+"$include"} --unpack-tarball="$tarball" bookworm "$root" "$mirror" \
  > "$work/debootstrap.log" 2>&1 || { tail -n 40 "$work/debootstrap.log"; echo "test-fresh: debootstrap failed"; exit 1; }
echo "test-fresh: debootstrap $((SECONDS - started))s (minbase bookworm from $mirror)"

# `ip netns exec` makes / a slave mount (mount --make-rslave /) and mounts a fresh
# sysfs on /sys: in a chroot both fail unless the root directory is itself a mount
# point, hence the bind mount of the root onto itself first.
mount --bind "$root" "$root"
mount -t proc proc "$root/proc"
mount -t sysfs sysfs "$root/sys"
mount --rbind /dev "$root/dev"
mount -t tmpfs -o mode=1777,nosuid,nodev tmpfs "$root/dev/shm"
# /run as on a booted system: empty tmpfs (ip netns keeps its namespaces in /run/netns).
mount -t tmpfs -o mode=755,nosuid,nodev tmpfs "$root/run"
mkdir -m 1777 "$root/run/lock"

# apt as on a new Debian 12 install from this machine's mirrors: the release, its
# updates and security suites, and any acquire settings the mirror needs here.
while read -r uri suite; do echo "deb $uri $suite main"; done < "$work/sources" > "$root/etc/apt/sources.list"
apt-config dump | grep -E '^Acquire::(Check-Valid-Until|Check-Date|https?::Proxy) ' \
  > "$root/etc/apt/apt.conf.d/00test-fresh-mirror" || true
cp -L /etc/resolv.conf "$root/etc/resolv.conf"
[[ -s "$root/etc/hosts" ]] || printf '127.0.0.1\tlocalhost\n::1\t\tlocalhost ip6-localhost ip6-loopback\n' \
  > "$root/etc/hosts"
# A package's daemon started by its install (no init runs here) would outlive the run.
printf '#!/bin/sh\n# make test-fresh: no service starts inside the throwaway root\nexit 101\n' \
  > "$root/usr/sbin/policy-rc.d"
chmod 755 "$root/usr/sbin/policy-rc.d"

mkdir -p "$root/root"
tar -C "$root/root" -xf "$work/tree.tar"

in_root() {
  chroot "$root" /usr/bin/env -i HOME=/root LANG=C.UTF-8 TERM="${TERM:-dumb}" \
    PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin "$@"
}

started=$SECONDS
in_root apt-get update -qq
in_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends make >/dev/null
echo "test-fresh: apt (make) $((SECONDS - started))s"

# `make test` as a new user runs it; its output as it comes, with the time each
# phase took (install-deps, build, suites) noted at the end.
shopt -s lastpipe
started=$SECONDS
built_at="" suites_at=""
set +e
in_root bash -c "cd /root/ringlb && $command" 2>&1 | while IFS= read -r line; do
  printf '%s\n' "$line"
  [[ -z "$built_at" && "$line" == "make -j"*" all" ]] && built_at=$SECONDS  # deps done, build starts
  [[ -z "$suites_at" && "$line" == "== "*" tests "* ]] && suites_at=$SECONDS
done
status=${PIPESTATUS[0]}
set -e
ended=$SECONDS
phases=""
[[ -n "$built_at" ]] && phases+=", install-deps $((built_at - started))s"
[[ -n "$built_at" && -n "$suites_at" && $built_at -le $suites_at ]] && phases+=", build $((suites_at - built_at))s"
[[ -n "$suites_at" ]] && phases+=", suites $((ended - suites_at))s"
echo "test-fresh: '$command' $((ended - started))s$phases (exit status $status)"

if [[ -d "$root/root/ringlb/build/test-reports" ]]; then
  cp -r "$root/root/ringlb/build/test-reports" "$reports"
fi
exit "$status"
