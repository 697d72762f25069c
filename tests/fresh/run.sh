#!/usr/bin/env bash
# `make test-fresh`: what a new user does (README: `make test` as root on a fresh
# Debian 12), done in a throwaway root so that a missing install step fails here.
#   1. debootstrap --variant=minbase bookworm from the mirror this machine's apt uses
#      (the downloaded packages are cached as a tarball; the root is new every run);
#   2. HEAD of this repository (git archive: committed work only, no build outputs);
#   3. only `make` installed, then `make test` as root inside; the last line printed
#      is that run's "N passed, N failed, N skipped". Exit status non-zero on failure.
# The root lives in its own mount and PID namespace (tests/fresh/in_namespace.sh):
# nothing it mounts is visible outside, and when it ends every process in it ends
# and every mount goes, even after a failure, Ctrl-C or a kill of this script.
# Root only. Environment: FRESH_TIMEOUT (seconds, default 3600: CI has 90 minutes in
# all), FRESH_COMMAND (what runs in the tree inside, default "make test"; e.g.
# "make deps all && tests/run --only integration -k backpressure" to retry one test),
# FRESH_CACHE (default /var/cache/ringlb/test-fresh).
set -euo pipefail
cd "$(dirname "$0")/../.."
repo=$(pwd)

die() { echo "test-fresh: $*" >&2; exit 1; }
[[ $(id -u) -eq 0 ]] || die "needs root (debootstrap, chroot, mounts): sudo make test-fresh"
git -C "$repo" rev-parse --verify -q HEAD >/dev/null || die "$repo is not a git checkout with a commit"
[[ -z "$(git -C "$repo" status --porcelain --untracked-files=no)" ]] ||
  echo "test-fresh: note: uncommitted changes are not tested (the root gets HEAD)" >&2

tests/install-deps.sh fresh

timeout_s=${FRESH_TIMEOUT:-3600}
command=${FRESH_COMMAND:-make test}
cache=${FRESH_CACHE:-/var/cache/ringlb/test-fresh}
arch=$(dpkg --print-architecture)
log=$repo/build/test-fresh.log
reports=$repo/build/test-fresh-reports

# The Debian mirrors this machine's apt is configured with ("URI SUITE" lines).
mapfile -t sources < <(tests/fresh/apt_sources.sh bookworm)
mirror=""
for line in "${sources[@]}"; do [[ ${line#* } == bookworm ]] && mirror=${line% *}; done
[[ -n "$mirror" ]] || die "no 'bookworm' suite in /etc/apt/sources.list*; set one up or edit tests/fresh/apt_sources.sh"
include=""
[[ " ${sources[*]}" == *" https:"* ]] && include="--include=ca-certificates"  # apt over https needs it

# The packages debootstrap downloads, cached; rebuilt after 30 days so the root
# stays close to what a new install gets.
mkdir -p "$cache"
tarball=$cache/debootstrap-bookworm-minbase-$arch${include:+-ca}.tgz
started=$SECONDS
if [[ ! -s "$tarball" ]] || [[ -n $(find "$tarball" -mtime +30) ]]; then
  echo "test-fresh: downloading minbase bookworm from $mirror into $tarball"
  scratch=$(mktemp -d "$cache/download.XXXXXX")  # beside the tarball: the mv is atomic
  trap 'rm -rf "$scratch"' EXIT
  debootstrap --variant=minbase $include --make-tarball="$scratch/minbase.tgz" bookworm \
    "$scratch/root" "$mirror" > "$scratch/debootstrap.log" 2>&1 ||
    { tail -n 40 "$scratch/debootstrap.log" >&2; die "debootstrap --make-tarball failed"; }
  mv "$scratch/minbase.tgz" "$tarball"
  rm -rf "$scratch"
  trap - EXIT
fi
download_s=$((SECONDS - started))

work=$(mktemp -d "${TMPDIR:-/var/tmp}/ringlb-fresh.XXXXXX")
child="" follower=""
cleanup() {
  local status=$?
  trap - EXIT INT TERM
  # unshare --kill-child: its end kills the namespace's first process, and with it
  # every process in the namespace; the namespace's mounts go with its last process.
  if [[ -n "$child" ]] && kill -0 "$child" 2>/dev/null; then
    kill -TERM "$child" 2>/dev/null || true
    wait "$child" 2>/dev/null || true
  fi
  [[ -z "$follower" ]] || kill "$follower" 2>/dev/null || true
  # Nothing was mounted in this namespace; if something is (a bug), remove nothing.
  if grep -qF " $work/" /proc/self/mountinfo; then
    echo "test-fresh: mounts left under $work; not deleting it:" >&2
    grep -F " $work/" /proc/self/mountinfo >&2
    exit 1
  fi
  rm -rf --one-file-system "$work"
  exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

git -C "$repo" archive --format=tar --prefix=ringlb/ HEAD > "$work/tree.tar"
printf '%s\n' "${sources[@]}" > "$work/sources"
mkdir -p "$repo/build"
rm -rf "$reports"
echo "test-fresh: $(git -C "$repo" log -1 --format='%h %s' | cut -c1-72)"
echo "test-fresh: root $work/root, log $log"

# In the background so that the traps above run on Ctrl-C or TERM while it runs.
timeout --kill-after=30 "$timeout_s" \
  unshare --mount --pid --fork --kill-child --mount-proc --propagation private \
  tests/fresh/in_namespace.sh "$work" "$tarball" "$command" "$reports" "$include" \
  < /dev/null > "$log" 2>&1 &
child=$!
tail -n +1 -f --pid="$child" "$log" &
follower=$!
status=0
wait "$child" || status=$?
child=""
wait "$follower" || true
[[ $status -eq 124 ]] && echo "test-fresh: stopped after FRESH_TIMEOUT=${timeout_s}s"
echo "test-fresh: package download ${download_s}s (0 when cached)"
summary=$(grep -E '^[0-9]+ passed, [0-9]+ failed' "$log" | tail -n 1 || true)
if [[ -z "$summary" ]]; then
  echo "test-fresh: '$command' ended (status $status) before the suites reported"
  [[ $status -ne 0 ]] || status=1
  exit "$status"
fi
echo "$summary"
exit "$status"
