#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# The project's tests: the host tools' unit tests, then the harness in QEMU on
# the debug kernel: every scenario with the real lock operations (must PASS,
# no kernel splat), the bad-input, concurrent-control, unload and leak
# checks, a one-minute soak, and every broken variant (must be reported as
# FAIL). Ends with one line "N passed, N failed[, N known]": known upstream
# splats (scripts/vmalock/known-splats.json) are counted apart, not failures.
#
# Usage: test.sh [vmalock-run.sh options], e.g. --duration-ms 5000
#        test.sh --generations [vmalock-run.sh options]: all of the above once
#        per kernel generation (KVER=7.2, then KVER=7.3), each into its own
#        results directory DIR/<X.Y> (DIR: --out, default
#        results/generations-<timestamp>), then a verdict table of each
# Exit status: 0 if every test passed, 1 if any failed, 2 on bad usage (the
# options and KDIR are checked first, by vmalock-run.sh --check-args).
set -uo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
GENERATIONS="7.2 7.3"

# One line per generation, then each one's checks that did not pass.
generations_table() { # base directory
	local g dir kv n
	printf '%-10s  %-24s  %6s  %6s  %7s  %6s  %s\n' \
		generation kernel passed failed skipped time verdict
	for g in $GENERATIONS; do
		dir=$1/$g
		kv=$(cat "$dir/kernel-version" 2>/dev/null || echo '?')
		n=$(grep -E '^[0-9]+ passed, [0-9]+ failed$' "$dir.log" 2>/dev/null | tail -1)
		printf '%-10s  %-24s  %6s  %6s  %7s  %6s  %s\n' "$g" "$kv" \
			"${n%% passed*}" "$(echo "$n" | sed -n 's/.* \([0-9]*\) failed$/\1/p')" \
			"$(grep -c '^SKIP' "$dir/summary.txt" 2>/dev/null)" "$(cat "$dir.time")s" \
			"$([ "$(cat "$dir.rc")" -eq 0 ] && echo PASS || echo FAIL)"
	done
	echo
	# shellcheck disable=SC2046
	"$top/scripts/vmalock-py" groups $(for g in $GENERATIONS; do echo "$g=$1/$g"; done)
	for g in $GENERATIONS; do
		echo "== $g: checks not passed (judge.py's $1/$g/summary.txt)"
		grep -v '^PASS' "$1/$g/summary.txt" 2>/dev/null || echo "(none, or no summary)"
	done
}

# --generations (anywhere among the options): this script once per generation.
generations=0 base="" args=()
while [ $# -gt 0 ]; do
	case $1 in
	--generations) generations=1 ;;
	--out) [ $# -ge 2 ] && { base=$2; args+=("$1" "$2"); shift; } || args+=("$1") ;;
	*) args+=("$1") ;;
	esac
	shift
done
if [ $generations -eq 1 ]; then
	[ -z "${KDIR:-}${KBUILD:-}${KVER:-}" ] ||
		{ echo "test: --generations picks each kernel by KVER; unset KDIR, KBUILD and KVER" >&2; exit 2; }
	for g in $GENERATIONS; do
		KVER=$g "$top/scripts/vmalock-run.sh" --check-args "${args[@]}" || exit 2
	done
	# Each generation's --out is its own directory under this one.
	rest=() skip=0
	for a in "${args[@]}"; do
		if [ $skip -eq 1 ]; then skip=0; continue; fi
		[ "$a" = --out ] && { skip=1; continue; }
		rest+=("$a")
	done
	base=${base:-$top/results/generations-$(date +%Y%m%d-%H%M%S)}
	mkdir -p "$base" || exit 2
	rc=0
	for g in $GENERATIONS; do
		echo "=== generation $g: KVER=$g test.sh --out $base/$g"
		st=$SECONDS
		KVER=$g "$0" "${rest[@]}" --out "$base/$g" 2>&1 | tee "$base/$g.log"
		echo "${PIPESTATUS[0]}" > "$base/$g.rc"
		echo $((SECONDS - st)) > "$base/$g.time"
		[ "$(cat "$base/$g.rc")" -eq 0 ] || rc=1
	done
	generations_table "$base" | tee "$base/generations.txt"
	exit $rc
fi
set -- "${args[@]}"
t0=$SECONDS
passed=0 failed=0 known=0
log=$(mktemp)
trap 'rm -f "$log"' EXIT

add_counts() { # stage name, status
	local line
	line=$(grep -E '^([A-Za-z-]+: )?[0-9]+ passed, [0-9]+ failed' "$log" | tail -1)
	if [ -z "$line" ]; then
		echo "test: $1 printed no result line (status $2)"
		failed=$((failed + 1))
		return
	fi
	line=${line#*: }
	local p=${line%% passed*} f=${line#*passed, }
	f=${f%% failed*}
	passed=$((passed + p))
	failed=$((failed + f))
	[[ $line =~ ,\ ([0-9]+)\ known ]] && known=$((known + BASH_REMATCH[1]))
	# A stage that failed without counting a failure still fails the suite.
	if [ "$2" -ne 0 ] && [ "$f" -eq 0 ]; then
		echo "test: $1 exited with status $2"
		failed=$((failed + 1))
	fi
}

run_stage() { # name, command...
	local name=$1 st=$SECONDS rc=0
	shift
	echo "=== $name"
	"$@" 2>&1 | tee "$log" || rc=${PIPESTATUS[0]}
	add_counts "$name" "$rc"
	echo "=== $name: $((SECONDS - st))s"
}

# Bad options or a KDIR that will not do: vmalock-run.sh's one line and
# exit status 2, before any stage runs.
"$top/scripts/vmalock-run.sh" --check-args "$@" || exit 2

# What a fresh machine lacks, before the host tests need it (docutils).
"$top/scripts/deps.sh" || { echo "test: installing dependencies failed"; echo "0 passed, 1 failed"; exit 1; }
run_stage lava-validate "$top/scripts/lava-job.sh" --validate-only
# The tree in use (KDIR, or Debian's, fetched now rather than at the build)
# for the host tests that read one (kunit.py, the lkmm drift hashes): given
# to them in VMALOCK_TREE, none of them skips (tests/kernel_tree.py).
tree=${KDIR:-$("$top/scripts/get-kernel.sh" | tail -1)} ||
	{ echo "test: fetching the kernel tree failed"; failed=$((failed + 1)); }
# The kernel builds while the host tests and lkmm run (most of their time
# is spent waiting on subprocesses): a fresh machine's run is minutes
# shorter. vmalock-run.sh builds it again below, which is then a no-op.
variant=debug prev=""
for a; do [ "$prev" = --variant ] && variant=$a; prev=$a; done
kbuild_log=$(mktemp)
kbuild_pid=""
if [ -z "${KBUILD:-}" ] && [[ " $* " != *" --images "* ]]; then
	"$top/scripts/build-kernel.sh" "$variant" > "$kbuild_log" 2>&1 &
	kbuild_pid=$!
	trap 'rm -f "$log" "$kbuild_log"; [ -z "$kbuild_pid" ] || kill "$kbuild_pid" 2>/dev/null' EXIT
fi
VMALOCK_TREE=$tree run_stage host-tests "$top/tests/run-host-tests.sh"
run_stage lkmm "$top/scripts/lkmm.sh"
if [ -n "$kbuild_pid" ]; then
	st=$SECONDS
	wait "$kbuild_pid" || echo "test: the early kernel build failed; vmalock-run.sh builds it again:"
	kbuild_pid=""
	echo "=== kernel build (begun with the host tests): $((SECONDS - st))s more"
	tail -3 "$kbuild_log"
fi
rm -f "$kbuild_log"
# A smoke run of the bench (scripts/bench.sh), and a one-minute soak.
run_stage module-in-qemu "$top/scripts/vmalock-run.sh" --lifecycle --broken all \
	--bench repeats=1,ms=50 --soak 1m "$@"

echo "total time: $((SECONDS - t0))s"
echo "$passed passed, $failed failed$([ "$known" -eq 0 ] || echo ", $known known")"
[ "$failed" -eq 0 ]
