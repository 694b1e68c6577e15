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
# Exit status: 0 if every test passed, 1 if any failed, 2 on bad usage (the
# options and KDIR are checked first, by vmalock-run.sh --check-args).
set -uo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
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
VMALOCK_TREE=$tree run_stage host-tests "$top/tests/run-host-tests.sh"
run_stage lkmm "$top/scripts/lkmm.sh"
# A smoke run of the bench (scripts/bench.sh), and a one-minute soak.
run_stage module-in-qemu "$top/scripts/vmalock-run.sh" --lifecycle --broken all \
	--bench repeats=1,ms=50 --soak 1m "$@"

echo "total time: $((SECONDS - t0))s"
echo "$passed passed, $failed failed$([ "$known" -eq 0 ] || echo ", $known known")"
[ "$failed" -eq 0 ]
