#!/usr/bin/env bash
# `make deb`: builds build/ringlb_<version>_<arch>.deb with dpkg-buildpackage in a
# temporary copy of the tree, so that debian/ and its build artefacts never land in
# the repository. The version is RINGLB_VERSION from core/base/version.h; debian/changelog
# is generated from it. Source package, .changes and .buildinfo go to build/deb/
# (lintian reads them); the debug symbols package too.
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$(pwd)

die() { echo "build-deb: $*" >&2; exit 1; }

version=$(sed -n 's/^#define RINGLB_VERSION "\(.*\)"$/\1/p' core/base/version.h)
[[ "$version" =~ ^[0-9][0-9A-Za-z.+~]*$ ]] ||
  die "core/base/version.h: RINGLB_VERSION '$version' is not a Debian native version"

tests/install-deps.sh build deb

arch=$(dpkg --print-architecture)
work=$(mktemp -d "${TMPDIR:-/tmp}/ringlb-deb.XXXXXX")
trap 'rm -rf "$work"' EXIT
src="$work/ringlb-$version"
mkdir "$src"

# The tree as it is on disk (uncommitted work included), without build outputs.
tar -C "$repo" -cf - \
    --exclude=./build --exclude=./build-asan --exclude=./.git --exclude=./debian \
    --exclude=__pycache__ --exclude=.pytest_cache --exclude='*.pyc' . |
  tar -C "$src" -xf -
cp -r packaging/debian "$src/debian"
cp packaging/ringlb.service "$src/debian/ringlb.service"

# debian/changelog from the one version. The date is the last commit's, so the
# same tree builds the same package.
when=$(git -C "$repo" log -1 --format=%cD 2>/dev/null || true)
[[ -n "$when" ]] || when=$(date -R -r core/base/version.h)
cat > "$src/debian/changelog" <<CHANGELOG
ringlb ($version) unstable; urgency=medium

  * ringlb $version, packaged from core/base/version.h.

 -- ringlb developers <ringlb@example.org>  $when
CHANGELOG

# The man pages carry the same version and date.
day=$(date -u -d "$when" +%F)
sed -i -E "1s/^\.TH ([^ ]+) ([0-9]) \"[^\"]*\" \"ringlb [^\"]*\"/.TH \1 \2 \"$day\" \"ringlb $version\"/" \
  "$src"/packaging/man/*.[0-9]

echo "build-deb: building ringlb $version in $work"
(cd "$src" && dpkg-buildpackage --build=full --no-sign -jauto) > "$work/build.log" 2>&1 || {
  tail -n 60 "$work/build.log" >&2
  die "dpkg-buildpackage failed (log above)"
}

mkdir -p build/deb
rm -f build/deb/ringlb[_-]* build/ringlb_*.deb
cp "$work"/ringlb*"_$version"* build/deb/
cp "$work/build.log" build/deb/build.log
deb="build/ringlb_${version}_${arch}.deb"
cp "build/deb/ringlb_${version}_${arch}.deb" "$deb"
echo "build-deb: $deb"
