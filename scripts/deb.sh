#!/usr/bin/env bash
# Builds the Debian packages of debian/ (ptlab, libptlab-dev) with
# `dpkg-buildpackage -us -uc -b` from a copy of the work tree in a
# temporary directory: the build is in-tree and dpkg-buildpackage writes
# the .debs next to the tree, so nothing is written outside that directory.
# lintian must report no error. With --install (CI), the packages are then
# installed on this machine, the installed `ptlab --version` and man page
# are checked and examples/ is built with pkg-config against the installed
# libptlab-dev and run (make installcheck), and the packages are purged.
# Usage: scripts/deb.sh [--install]
set -euo pipefail
cd "$(dirname "$0")/.."

install=false
case "${1:-}" in
--install) install=true ;;
"") ;;
*) echo "usage: scripts/deb.sh [--install]" >&2; exit 2 ;;
esac

scripts/deps.sh deb
tmp=$(mktemp -d "${TMPDIR:-/tmp}/ptlab-deb.XXXXXX")
installed=false
cleanup() {
	if $installed; then
		apt-get purge -y -q ptlab libptlab-dev >/dev/null || true
	fi
	rm -rf "$tmp"
}
trap cleanup EXIT

# The files git would commit (tracked, and new ones not ignored), as they
# are in the work tree.
mkdir "$tmp/ptlab"
git ls-files -z -co --exclude-standard | tar --null -T - -cf - | tar -xf - -C "$tmp/ptlab"
# -Jauto: the build and its tests (debian/rules) use every CPU.
(cd "$tmp/ptlab" && dpkg-buildpackage -us -uc -b -Jauto)
ls -l "$tmp"/*.deb
lintian --fail-on error --info --pedantic "$tmp"/*.changes

$install || exit 0
export DEBIAN_FRONTEND=noninteractive
installed=true
apt-get install -y -q --reinstall --no-install-recommends \
	"$tmp"/ptlab_*.deb "$tmp"/libptlab-dev_*.deb
command -v ptlab
ptlab --version
man -w ptlab
(cd "$tmp/ptlab" && make --no-print-directory installcheck PREFIX=/usr \
	LIBDIR="/usr/lib/$(dpkg-architecture -qDEB_HOST_MULTIARCH)")
