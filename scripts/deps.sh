#!/usr/bin/env bash
# Installs the Debian packages ptlab needs when they are missing, so that
# `make run` and `make check` work on a fresh Debian 12 machine. (A
# plain `make` installs nothing: scripts/build-deps.sh names what is
# missing and how to install it.)
#   liburcu-dev  userspace RCU (ptlab's RCU is liburcu's memb flavor)
#   libjansson-dev  JSON: the command reads saved results and writes traces
#   spin         the Spin model checker (ptlab model)
#   tcc          compiles Spin's verifiers about 20 times faster than gcc
#                (ptlab model uses it when installed; same search)
#   gcc, make    the build; clang when CC=clang
#   pkg-config   make check builds examples/ against an installed copy
#   groff-base, man-db   make check renders the man page as man does
# for `scripts/deps.sh deb` (building the Debian packages, .ci/run):
#   dpkg-dev, debhelper, fakeroot, lintian, libpng-dev
# for `scripts/deps.sh <compiler> check` (make check):
#   libpng-dev   the tests decode the browser's screenshot (the test
#                binary links it, whatever the tier)
# for `scripts/deps.sh <compiler> check-full` (make check-full), also:
#   chromium     the report is tested in a real browser, headless (about
#                100 MB; about 30 s to install here)
# and for `scripts/deps.sh fuzz` (make fuzz): clang and libclang-rt-dev
# (libFuzzer and clang's sanitizer runtimes)
# Usage: scripts/deps.sh [compiler-name | deb | fuzz] [check | check-full]
set -euo pipefail

need=(liburcu-dev libjansson-dev spin tcc gcc make pkg-config groff-base man-db)
for arg in "${@:-gcc}"; do
	case "$arg" in
	clang*) need+=(clang) ;;
	deb) need+=(dpkg-dev debhelper fakeroot lintian libpng-dev) ;;
	fuzz) need+=(clang libclang-rt-dev) ;;
	check) need+=(libpng-dev) ;;
	check-full) need+=(libpng-dev chromium) ;;
	esac
done

missing=()
for pkg in "${need[@]}"; do
	if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed'; then
		missing+=("$pkg")
	fi
done
[ ${#missing[@]} -eq 0 ] && exit 0

echo "ptlab: installing missing Debian packages: ${missing[*]}" >&2
if [ "$(id -u)" -eq 0 ]; then
	apt=(apt-get)
elif command -v sudo >/dev/null 2>&1; then
	apt=(sudo apt-get)
else
	echo "ptlab: not root and no sudo; please run: apt-get install ${missing[*]}" >&2
	exit 1
fi
export DEBIAN_FRONTEND=noninteractive
if ! "${apt[@]}" install -y --no-install-recommends "${missing[@]}"; then
	"${apt[@]}" update
	"${apt[@]}" install -y --no-install-recommends "${missing[@]}"
fi
