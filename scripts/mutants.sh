#!/usr/bin/env bash
# Mutation testing of the protocol (make mutants): applies each named
# mutation of tests/mutants.txt, one at a time, to a copy of the tree,
# builds the copy and runs the quick tier of its tests, which must fail.
# A mutant no quick-tier test catches "survived": a test is missing.
#
#   scripts/mutants.sh [--list FILE] [--build DIR] [--check] [NAME...]
#
#   --list FILE  the mutations (default tests/mutants.txt; its opening
#                comment says the format)
#   --build DIR  the tree's build directory, built already (default
#                build); it is copied with the tree, so that each mutant
#                rebuilds only what its edits touch
#   --check      only check that every mutant applies to this tree (each
#                find text found exactly once); no build, no test
#   NAME...      only the mutants whose names contain a NAME
#
# Per mutant: its name, caught or survived, the test that caught it and
# the time it took. The last line is "mutants: N caught, M survived"; the
# exit status is non-zero when a mutant survived or could not be judged
# (it does not apply, its build failed, its tests hung, or the test that
# failed fails on the tree as it is too: it is run there again, and only
# a test that passes there catches the mutant). A mutant's
# `first` tests run first (they are the likeliest to catch it), then, if
# none failed, the whole quick tier: the verdict is the quick tier's.
# On a terminal (and CI unset) a progress line says what runs.
# Run from the top of the tree. CC and SAN come from the environment, as
# make's; the copy must build with the very flags of the original (its
# flags stamp must not change), else the mutant is an error.
set -uo pipefail
shopt -u patsub_replacement 2>/dev/null || true

list=tests/mutants.txt
build=build
check_only=false
filters=()
while (($#)); do
	case "$1" in
	--list) list=${2:?--list needs a file}; shift 2 ;;
	--build) build=${2:?--build needs a directory}; shift 2 ;;
	--check) check_only=true; shift ;;
	-h|--help) sed -n '2,/^set /{/^set /d;s/^# \{0,1\}//;p}' "$0"; exit 0 ;;
	-*) echo "mutants: unknown option: $1 (allowed: --list, --build, --check, --help)" >&2; exit 2 ;;
	*) filters+=("$1"); shift ;;
	esac
done

die() { echo "mutants: $*" >&2; exit 2; }
[[ -r $list ]] || die "no list of mutants: $list"

# ---- the list: parallel arrays, one entry per mutant; edits flattened
# (file, find, replace), each mutant owning the range [edit_from, edit_to).
names=() removes=() firsts=() edit_from=() edit_to=()
efile=() efind=() erepl=()

# \n, \t and \\ in a find or replace text.
unescape() {
	local s=$1 bs=$'\001'
	s=${s//'\\'/$bs}
	s=${s//'\n'/$'\n'}
	s=${s//'\t'/$'\t'}
	printf '%s' "${s//$bs/\\}"
}

parse_error() { die "$list:$lineno: $*"; }

lineno=0 cur_file='' pending_find=''
have_find=false
while IFS= read -r line || [[ -n $line ]]; do
	((lineno++))
	[[ $line =~ ^[[:space:]]*(#|$) ]] && continue
	key=${line%%[[:space:]]*}
	val=${line#"$key"}
	val=${val#"${val%%[![:space:]]*}"}
	n=${#names[@]}
	if [[ $key != mutant && $n -eq 0 ]]; then
		parse_error "'$key' before the first 'mutant'"
	fi
	case "$key" in
	mutant)
		$have_find && parse_error "mutant ${names[n-1]}: a find with no replace"
		((n)) && edit_to[n-1]=${#efile[@]}
		[[ $val =~ ^[a-z0-9][a-z0-9-]*$ ]] ||
			parse_error "bad mutant name: '$val' (allowed: lower-case letters, digits, dashes)"
		for old in "${names[@]}"; do
			[[ $old == "$val" ]] && parse_error "mutant $val named twice"
		done
		names+=("$val") removes+=('') firsts+=('') edit_from+=("${#efile[@]}") edit_to+=('')
		cur_file=''
		;;
	removes) removes[n-1]=$val ;;
	first) firsts[n-1]=$val ;;
	file)
		$have_find && parse_error "mutant ${names[n-1]}: a find with no replace"
		cur_file=$val ;;
	find)
		[[ -n $cur_file ]] || parse_error "mutant ${names[n-1]}: find before any file"
		$have_find && parse_error "mutant ${names[n-1]}: two finds in a row"
		[[ -n $val ]] || parse_error "mutant ${names[n-1]}: an empty find"
		pending_find=$(unescape "$val") have_find=true ;;
	replace)
		$have_find || parse_error "mutant ${names[n-1]}: replace with no find"
		efile+=("$cur_file") efind+=("$pending_find") erepl+=("$(unescape "$val")")
		have_find=false ;;
	*) parse_error "unknown keyword: '$key' (allowed: mutant, removes, file, find, replace, first)" ;;
	esac
done <"$list"
$have_find && die "$list: mutant ${names[-1]}: a find with no replace"
((${#names[@]})) || die "$list: no mutant"
edit_to[${#names[@]}-1]=${#efile[@]}
for i in "${!names[@]}"; do
	[[ -n ${removes[i]} ]] || die "$list: mutant ${names[i]}: no 'removes' line"
	((edit_to[i] > edit_from[i])) || die "$list: mutant ${names[i]}: no edit"
done

selected=()
for i in "${!names[@]}"; do
	if ((${#filters[@]} == 0)); then
		selected+=("$i")
		continue
	fi
	for f in "${filters[@]}"; do
		if [[ ${names[i]} == *"$f"* ]]; then
			selected+=("$i")
			break
		fi
	done
done
((${#selected[@]})) || die "no mutant matches: ${filters[*]}"

# Applies mutant @1's edits to the tree at @2, each to the file as the
# edits before it left it. Prints why not and returns 1 when one does
# not apply.
apply_mutant() {
	local i=$1 top=$2 e path content rest count
	for ((e = edit_from[i]; e < edit_to[i]; e++)); do
		path=$top/${efile[e]}
		if [[ ! -f $path ]]; then
			echo "mutant ${names[i]}: no file ${efile[e]}"
			return 1
		fi
		IFS= read -r -d '' content <"$path"
		rest=${content//"${efind[e]}"/}
		count=$(((${#content} - ${#rest}) / ${#efind[e]}))
		if ((count != 1)); then
			echo "mutant ${names[i]}: ${efile[e]}: the text to find occurs $count times" \
			     "(it must occur exactly once): ${efind[e]}"
			return 1
		fi
		if [[ ${efind[e]} == "${erepl[e]}" ]]; then
			echo "mutant ${names[i]}: ${efile[e]}: the replacement is the text found"
			return 1
		fi
		# Later edits of the same file see this one's result.
		printf '%s' "${content/"${efind[e]}"/"${erepl[e]}"}" >"$path"
	done
}

if $check_only; then
	# Edits of one mutant apply in turn: check them on a scratch copy
	# of the files each touches.
	scratch=$(mktemp -d "${TMPDIR:-/tmp}/ptlab-mutants.XXXXXX") || exit 2
	trap 'rm -rf "$scratch"' EXIT
	bad=0
	for i in "${selected[@]}"; do
		rm -rf "$scratch/tree" && mkdir -p "$scratch/tree"
		for ((e = edit_from[i]; e < edit_to[i]; e++)); do
			if [[ -f ${efile[e]} && ! -e $scratch/tree/${efile[e]} ]]; then
				mkdir -p "$scratch/tree/$(dirname "${efile[e]}")"
				cp "${efile[e]}" "$scratch/tree/${efile[e]}"
			fi
		done
		why=$(apply_mutant "$i" "$scratch/tree") || { echo "mutants: $why" >&2; bad=$((bad + 1)); }
	done
	if ((bad)); then
		echo "mutants: $bad of ${#selected[@]} do not apply" >&2
		exit 1
	fi
	echo "mutants: ${#selected[@]} apply"
	exit 0
fi

# ---- running them
[[ -x $build/ptlab-tests && -x $build/ptlab && -f $build/flags ]] ||
	die "$build: not built (make test-programs first; make mutants does)"
# The copy's make must be its own: not the caller's jobserver or flags.
unset MAKEFLAGS MFLAGS MAKELEVEL
# Every model search live: a mutant of the driver (its pan flags, say)
# would otherwise read the unmutated tree's outputs from the model cache.
unset PTLAB_MODEL_CACHE
progress=false
[[ -t 1 && ${CI:-} != true ]] && progress=true
say() {
	$progress && printf '\r\033[K'
	printf '%s\n' "$*"
}
status_line() { $progress && printf '\r\033[K%s' "$*"; }

work=''
cleanup() { [[ -n $work ]] && rm -rf "$work"; }
trap cleanup EXIT
trap 'cleanup; exit 130' INT TERM

# A copy of the tree as it is (tracked files, with their changes), and of
# its build, times kept: make rebuilds only what the mutant edits.
copy_tree() {
	local dst=$1
	if git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
		git ls-files -z --cached | tar --null -T - -cf - | tar -C "$dst" -xf - || return 1
	else
		tar --exclude='./build' --exclude='./build-*' -cf - . | tar -C "$dst" -xf - || return 1
	fi
	mkdir -p "$dst/$(dirname "$build")" && cp -a "$build" "$dst/$build"
}

# The quick tier's tests that fail in @1 (a log of ptlab-tests): the
# first one's name, and why, as "NAME<TAB>WHY".
first_failure() {
	sed -n 's/^FAIL \([^ ]*\) .*[0-9]s  \(.*\)$/\1\t\2/p' "$1" | head -n 1
}

# Whether test @1 passes against the tree as it is (its own build): a
# test that fails there too says nothing of the mutant. Run from the
# top of the tree, as the mutant's.
control_passes() {
	status_line "[$k/${#selected[@]}] $name: $1 against the tree as it is"
	timeout -k 10 "$RUN_LIMIT" "$build/ptlab-tests" --ptlab "$build/ptlab" --tier quick \
		"$1" >"$work/control.log" 2>&1
}

# Time limit of a whole test run: far above the quick tier's (about
# 100 s on 2 idle cores), below any per-test time limit's doubling.
RUN_LIMIT=${MUTANT_RUN_LIMIT:-1800}
caught=0 survived=0 errors=0
total_start=$SECONDS
k=0
for i in "${selected[@]}"; do
	((k++))
	name=${names[i]}
	start=$SECONDS
	verdict='' detail=''
	work=$(mktemp -d "${TMPDIR:-/tmp}/ptlab-mutant-$name.XXXXXX") || die "no temporary directory"
	status_line "[$k/${#selected[@]}] $name: copying the tree"
	if ! copy_tree "$work"; then
		verdict=error detail="the tree could not be copied"
	elif ! why=$(apply_mutant "$i" "$work"); then
		verdict=error detail="does not apply: ${why#"mutant $name: "}"
	fi
	if [[ -z $verdict ]]; then
		status_line "[$k/${#selected[@]}] $name: building"
		stamp_before=$(stat -c %Y.%s "$work/$build/flags")
		if ! make -C "$work" --no-print-directory -j2 test-programs >"$work/build.log" 2>&1; then
			verdict=error detail="its build failed: $(grep -m1 -E 'error|Error' "$work/build.log")"
		elif [[ $(stat -c %Y.%s "$work/$build/flags") != "$stamp_before" ]]; then
			verdict=error detail="the copy was built with other flags than $build (its flags stamp changed)"
		fi
	fi
	build_secs=$((SECONDS - start))
	if [[ -z $verdict ]]; then
		phases=()
		[[ -n ${firsts[i]} ]] && phases+=("${firsts[i]}")
		phases+=('')
		flaky=''
		for names_first in "${phases[@]}"; do
			# A test that fails on the tree as it is too (a flaky
			# one, on a loaded machine) says nothing of the mutant:
			# the phase runs once more, and twice is an error.
			for attempt in 1 2; do
				# shellcheck disable=SC2086 # the names are words
				status_line "[$k/${#selected[@]}] $name: testing${names_first:+ (first: $names_first)}"
				(cd "$work" && timeout -k 10 "$RUN_LIMIT" "$build/ptlab-tests" --ptlab "$build/ptlab" \
					--tier quick --fail-fast -j 2 $names_first) >"$work/tests.log" 2>&1
				rc=$?
				fail=$(first_failure "$work/tests.log")
				test=${fail%%$'\t'*} why=${fail#*$'\t'}
				if ((rc == 124 || rc == 137)); then
					verdict=error detail="its tests hung (no end within $RUN_LIMIT s)"
				elif [[ -n $fail && $why == "timed out"* ]]; then
					verdict=error detail="hang: $test $why"
				elif [[ -n $fail ]] && control_passes "$test"; then
					verdict=caught detail="by $test ($why)${flaky:+; $flaky}"
				elif [[ -n $fail ]]; then
					flaky="$test failed on the tree as it is too"
					((attempt == 2)) && verdict=error detail="$flaky, twice (a flaky test?)"
					continue
				elif ((rc != 0)); then
					verdict=error detail="ptlab-tests exited $rc: $(tail -n 1 "$work/tests.log")"
				fi
				break
			done
			[[ -n $verdict ]] && break
		done
		[[ -n $verdict ]] || verdict=survived detail="every quick-tier test passed"
	fi
	secs=$((SECONDS - start))
	say "$(printf '%-9s %-38s %s  [%d s: build %d s, tests %d s]' "$verdict" "$name" "$detail" \
		"$secs" "$build_secs" "$((secs - build_secs))")"
	[[ $verdict == survived ]] && say "          (it removes ${removes[i]})"
	case "$verdict" in
	caught) caught=$((caught + 1)) ;;
	survived) survived=$((survived + 1)) ;;
	*) errors=$((errors + 1)) ;;
	esac
	rm -rf "$work"
	work=''
done
((errors)) && say "mutants: $errors could not be judged (see above); $((SECONDS - total_start)) s in all"
((errors)) || say "mutants: $((SECONDS - total_start)) s in all"
say "mutants: $caught caught, $survived survived"
((survived == 0 && errors == 0))
