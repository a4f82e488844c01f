#!/usr/bin/env bash
# Checks, before make compiles anything, that the compiler and the
# headers the build needs are there; when one is not, names the Debian
# packages that hold them and the one command that installs them,
# instead of the compiler error the first #include would give.
#   liburcu-dev     <urcu/urcu-memb.h>, <urcu/urcu-qsbr.h>
#   libjansson-dev  <jansson.h> (the command)
#   libpng-dev      <png.h> (the tests only: with "tests")
# Usage: CC=... CPPFLAGS=... scripts/build-deps.sh [tests]
# The Makefile runs it once per build directory ($(BUILD)/deps-ok). It
# installs nothing: `make run` and `make check` do (scripts/deps.sh), a
# plain `make` leaves the machine as it is.
set -uo pipefail

cc=${CC:-gcc}
read -r -a cc_words <<<"$cc"
checks=("urcu/urcu-memb.h liburcu-dev" "urcu/urcu-qsbr.h liburcu-dev" "jansson.h libjansson-dev")
[ "${1:-}" = tests ] && checks+=("png.h libpng-dev")

missing=()
add() {
	case " ${missing[*]} " in *" $1 "*) ;; *) missing+=("$1") ;; esac
}
if ! command -v "${cc_words[0]}" >/dev/null 2>&1; then
	case "$(basename "${cc_words[0]}")" in
	clang*) add clang ;;
	*) add gcc ;;
	esac
else
	for c in "${checks[@]}"; do
		read -r header pkg <<<"$c"
		# shellcheck disable=SC2086 # CPPFLAGS is a list of words
		printf '#include <%s>\n' "$header" |
			"${cc_words[@]}" ${CPPFLAGS:-} -E -x c - -o /dev/null 2>/dev/null || add "$pkg"
	done
fi
[ ${#missing[@]} -eq 0 ] && exit 0

{
	echo "ptlab: the build needs Debian packages that are missing: ${missing[*]}"
	echo "ptlab: install them with: sudo apt-get install ${missing[*]}"
	echo "ptlab: (or run make run or make check, which install what they need)"
} >&2
exit 1
