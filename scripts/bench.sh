#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Benchmarks of the per-VMA lock: build the perf kernel (no debugging), boot
# it, run the module's bench mode, and write bench.json, bench.txt and plots
# (PNG and SVG, gnuplot) under results/<timestamp>/.
#
# Usage: bench.sh [options]                   one kernel (KDIR or the default)
#        bench.sh --compare A.json B.json     ratios B/A, changes flagged
#        bench.sh --ab KDIR_A KDIR_B [options]
#                          build both trees, boot them alternately (A B A B
#                          ...), print the comparison
#        bench.sh --ab-builds BUILD_A BUILD_B [options]
#                          the same with two kernels already built
#                          (build directories of build-kernel.sh)
# Options:
#   --repeats N    repeats of each measurement per boot (default 5)
#   --ms N         length of one repeat in ms (default 1000)
#   --readers N    readers (and faulters) of items 2, 3, 5 (default: CPUs - 1)
#   --items LIST   all (default) or a comma-separated list of 1..6
#   --rounds N     --ab: boots of each kernel (default 2)
#   --noise-floor PCT  --compare, --ab: flag only changes of B/A >= 1+PCT/100
#                  or <= 1/(1+PCT/100), besides outside both ranges
#                  (default 20; 0: the ranges alone)
#   --variant V    kernel variant (default perf: no debugging)
#   --smp N        guest CPUs (default 2)
#   --accel A      auto (default), tcg, kvm
#   --out DIR      results directory (default results/<timestamp>)
# Environment: KDIR (your kernel tree), CACHE (default ~/.cache/vmalock-test).
#
# Exit status: 0 done, 1 a boot or the bench failed, 2 on bad usage.
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
repeats=5 ms=1000 readers=0 items=all rounds=2 smp=2 accel=auto out="" mode=one variant=perf
floor=20
kdir_a="" kdir_b="" kbuild_a="" kbuild_b="" json_a="" json_b=""
cmdline="scripts/bench.sh${*:+ $*}"

usage() { sed -n '/^# Usage/,/^# Exit/p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2; }
prog=bench
# shellcheck source-path=SCRIPTDIR source=lib/args.sh
. "$top/scripts/lib/args.sh"

while [ $# -gt 0 ]; do
	case $1 in
	--compare) [ $# -ge 3 ] || die "--compare needs A.json B.json"
		mode=compare json_a=$2 json_b=$3; shift 2 ;;
	--ab) [ $# -ge 3 ] || die "--ab needs KDIR_A KDIR_B"
		mode=ab kdir_a=$2 kdir_b=$3; shift 2 ;;
	--ab-builds) [ $# -ge 3 ] || die "--ab-builds needs BUILD_A BUILD_B"
		mode=ab-builds kbuild_a=$2 kbuild_b=$3; shift 2 ;;
	--variant) value "$@"; variant=$2; shift ;;
	--repeats) value "$@"; int repeats "$1" "$2" 1 100; shift ;;
	--ms) value "$@"; int ms "$1" "$2" 10 60000; shift ;;
	--readers) value "$@"; int readers "$1" "$2" 0 64; shift ;;
	--items) value "$@"; items=$2; shift ;;
	--rounds) value "$@"; int rounds "$1" "$2" 1 20; shift ;;
	--noise-floor) value "$@"; [[ $2 =~ ^[0-9]+(\.[0-9]+)?$ ]] && [ "${2%%.*}" -le 100 ] &&
		[[ ! $2 =~ ^100\.[0-9]*[1-9] ]] ||
		die "--noise-floor needs a percentage 0..100, got '$2'"
		floor=$2; shift ;;
	--smp) value "$@"; int smp "$1" "$2" 1 8; shift ;;
	--accel) value "$@"; accel=$2; shift ;;
	--out) value "$@"; check_out "$2"; out=$2; shift ;;
	-h|--help) usage ;;
	*) unknown_option "$1" ;;
	esac
	shift
done

if [ $mode = compare ]; then
	for f in "$json_a" "$json_b"; do [ -r "$f" ] || die "--compare: cannot read '$f'"; done
	exec "$top/scripts/vmalock-py" bench compare --noise-floor "$floor" "$json_a" "$json_b"
fi

[[ $items =~ ^(all|[1-6](,[1-6])*)$ ]] || die "--items must be all or a list of 1..6"
case $accel in auto|tcg|kvm) ;; *) die "--accel must be auto, tcg or kvm, got '$accel'" ;; esac
check_variant "$variant"
# The trees (KDIR, or --ab's two) must do, and take the patches, before
# anything is installed, built or written.
if [ $mode = ab ]; then
	[ -n "$kdir_a" ] && [ -n "$kdir_b" ] || die "--ab needs KDIR_A KDIR_B"
	check_kdir "$kdir_a"
	check_kdir "$kdir_b"
elif [ $mode = one ]; then
	check_kdir
fi
if [ $mode = ab-builds ]; then
	for d in "$kbuild_a" "$kbuild_b"; do
		[ -f "$d/arch/x86/boot/bzImage" ] && [ -f "$d/.vmalock-version" ] ||
			die "'$d' is not a build directory of build-kernel.sh"
	done
fi

# gnuplot for the plots (Debian's, without X)
if ! command -v gnuplot >/dev/null; then
	[ "$(id -u)" -eq 0 ] || die "gnuplot missing; install gnuplot-nox"
	echo "bench: installing gnuplot-nox" >&2
	DEBIAN_FRONTEND=noninteractive apt-get update -qq
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends gnuplot-nox >/dev/null
fi

[ -n "$out" ] || out=$top/results/$(date +%Y%m%d-%H%M%S)
mkdir -p "$out"
spec="repeats=$repeats,ms=$ms,readers=$readers,items=${items//,/:}"

# One boot into $out/$1, of KBUILD=$2 if given, else of the variant of KDIR.
boot() { # name [kbuild]
	local t0=$SECONDS rc=0
	echo "bench: boot $1${2:+ ($2)}" >&2
	KBUILD=${2:-} "$top/scripts/vmalock-run.sh" --variant "$variant" --no-real --no-kunit --no-user \
		--bench "$spec" --smp "$smp" --accel "$accel" --out "$out/$1" \
		> "$out/$1.log" 2>&1 || rc=$?
	if [ $rc -ne 0 ]; then
		tail -20 "$out/$1.log" >&2
		echo "bench: boot $1 failed (status $rc); log: $out/$1.log" >&2
		exit 1
	fi
	echo "bench: boot $1 done in $((SECONDS - t0))s" >&2
	sed -n 's/^kernel \(.*\), variant .*, accel \([a-z]*\), smp .*/\2/p' "$out/$1.log" \
		> "$out/$1/accel"
}

report() { # out-dir plots? raw...
	local dir=$1 plots=$2
	shift 2
	local args=() r
	for r in "$@"; do args+=(--raw "$r/main/results.raw"); done
	"$top/scripts/vmalock-py" bench report "${args[@]}" --out "$dir" --variant "$variant" \
		--smp "$smp" --accel "$(cat "$dir/accel")" --command "$cmdline" \
		--kernel "$(sed "s/^kernel: //" "$dir/kernel-version")" $plots
}

if [ $mode = one ]; then
	boot boot-1
	cp "$out/boot-1/kernel-version" "$out/boot-1/accel" "$out/"
	report "$out" --plots "$out/boot-1"
	echo "bench: results in $out" >&2
	exit 0
fi

# A/B: build both first, then boot them alternately so that machine noise
# falls on both.
if [ $mode = ab ]; then
	echo "bench: building $kdir_a" >&2
	kbuild_a=$(KDIR=$kdir_a "$top/scripts/build-kernel.sh" "$variant" | tail -1)
	echo "bench: building $kdir_b" >&2
	kbuild_b=$(KDIR=$kdir_b "$top/scripts/build-kernel.sh" "$variant" | tail -1)
fi
a_runs=() b_runs=()
for ((i = 1; i <= rounds; i++)); do
	boot "A-$i" "$kbuild_a"
	a_runs+=("$out/A-$i")
	boot "B-$i" "$kbuild_b"
	b_runs+=("$out/B-$i")
done
mkdir -p "$out/A" "$out/B"
cp "$out/A-1/kernel-version" "$out/A-1/accel" "$out/A/"
cp "$out/B-1/kernel-version" "$out/B-1/accel" "$out/B/"
report "$out/A" "" "${a_runs[@]}" > /dev/null
report "$out/B" "" "${b_runs[@]}" > /dev/null
"$top/scripts/vmalock-py" bench compare --noise-floor "$floor" "$out/A/bench.json" "$out/B/bench.json" |
	tee "$out/compare.txt"
echo "bench: A = ${kdir_a:-$kbuild_a}, B = ${kdir_b:-$kbuild_b}; results in $out" >&2
