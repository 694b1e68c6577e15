#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# A LAVA job for vmalock-test: for a built kernel, write the kernel, an
# initramfs (the guest's /init, /vmalock-lava-test, vmalock_test.ko, the
# user-space stressor) and a LAVA job definition that boots them on a qemu
# device and runs the harness as LAVA test definitions. The job is checked
# with LAVA's own job-submission schema before it is written.
#
# Usage: lava-job.sh [options]
#   --out DIR          where bzImage, initramfs.cpio.gz and job.yaml go
#                      (default results/lava-<timestamp>)
#   --kbuild DIR       the built kernel tree (default: the pipeline's build
#                      of --variant, as scripts/vmalock-run.sh makes it)
#   --variant NAME     debug (default), kcsan, perf
#   --url-base URL     where you will publish DIR's files (default file://DIR)
#   --kernel-url URL   the kernel's URL, overriding --url-base
#   --initramfs-url URL  the initramfs's URL, overriding --url-base
#   --runs LIST        the runs scripts/runs.table offers LAVA (column lava:
#                      default or yes), comma-separated (default: those
#                      marked default)
#   --broken LIST      all, none (default) or broken variants, one boot each
#   --scenarios LIST, --params "K=V ...", --duration-ms N, --smp N
#                      as for scripts/vmalock-run.sh
#   --kvm              let the device use KVM (default: TCG)
#   --run              then run the job here with lava-run (Debian's
#                      lava-dispatcher) on lava/qemu-vmalock.yaml, and print
#                      its verdicts; with --compare SUMMARY, side by side
#                      with scripts/vmalock-run.sh's summary.txt
#   --validate-only [JOB...]  build nothing: validate the given job files
#                      and jobs generated for a set of option combinations
#                      (and require LAVA's schema to refuse broken ones);
#                      ends with "N passed, N failed"
#
# Exit status: 0 on success, 1 if a job is invalid or (with --run) a check
# failed or disagreed, 2 on bad usage (one line on stderr, before anything
# is installed, built or written).
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
export CACHE=${CACHE:-$HOME/.cache/vmalock-test}
# LAVA's packages are for Debian's own Python.
lava_py() { PYTHON=/usr/bin/python3 "$top/scripts/vmalock-py" "$@"; }
out="" kbuild="" variant=debug url_base="" kernel_url="" initramfs_url=""
runs=$("$top/scripts/vmalock-py" runs "$top/scripts/runs.table" lava default | tr ' ' ,)
broken=none scenarios=all params="" duration_ms=3000 smp=2
kvm=0 run=0 compare="" validate_only=0 jobs=()

usage() { sed -n '/^# Usage/,/^# Exit/p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2; }
prog=lava-job
# shellcheck source-path=SCRIPTDIR source=lib/args.sh
. "$top/scripts/lib/args.sh"

while [ $# -gt 0 ]; do
	case $1 in
	--out) value "$@"; check_out "$2"; out=$2; shift ;;
	--kbuild) value "$@"; kbuild=$2; shift ;;
	--variant) value "$@"; variant=$2; shift ;;
	--url-base) value "$@"; url_base=$2; shift ;;
	--kernel-url) value "$@"; kernel_url=$2; shift ;;
	--initramfs-url) value "$@"; initramfs_url=$2; shift ;;
	--runs) value_or_empty "$@"; runs=$2; shift ;;
	--broken) value "$@"; broken=$2; shift ;;
	--scenarios) value "$@"; scenarios=$2; shift ;;
	--params) value_or_empty "$@"; params=$2; shift ;;
	--duration-ms) value "$@"; int duration_ms "$1" "$2" 10 600000; shift ;;
	--smp) value "$@"; int smp "$1" "$2" 1 8; shift ;;
	--kvm) kvm=1 ;;
	--run) run=1 ;;
	--compare) value "$@"; compare=$2; shift ;;
	--validate-only) validate_only=1
		while [ $# -gt 1 ] && [[ $2 != --* ]]; do
			[ -f "$2" ] && [ -r "$2" ] || die "--validate-only: cannot read job file '$2'"
			jobs+=("$2"); shift
		done ;;
	-h|--help) usage ;;
	*) unknown_option "$1" ;;
	esac
	shift
done
[ -z "$compare" ] || [ $run -eq 1 ] || die "--compare needs --run"
[ -z "$compare" ] || [ -r "$compare" ] || die "cannot read --compare file '$compare'"
check_variant "$variant"
[ -z "$kbuild" ] || [ -f "$kbuild/arch/x86/boot/bzImage" ] ||
	die "--kbuild $kbuild: no arch/x86/boot/bzImage there"
[ -z "$url_base" ] || [[ $url_base =~ ^(file|https?|scp)://[^[:space:]]+$ ]] ||
	die "--url-base must be a file://, http(s):// or scp:// URL, got '$url_base'"
# The job's options as vmalock.lava_job will take them (it needs no lava_common
# for that), with the URLs the job will have.
base=${url_base:-file://${out:-/results}}
base=${base%/}
lava_py lava_job check --runs "$runs" --broken "$broken" --scenarios "$scenarios" \
	--params "$params" --duration-ms "$duration_ms" --smp "$smp" \
	--kernel-url "${kernel_url:-$base/bzImage}" \
	--initramfs-url "${initramfs_url:-$base/initramfs.cpio.gz}" || exit 2
# The kernel tree, when one is to be built.
[ $validate_only -eq 1 ] || [ -n "$kbuild" ] || check_kdir

if [ $run -eq 1 ]; then
	"$top/scripts/deps.sh" --lava-dispatcher >&2
else
	"$top/scripts/deps.sh" --lava >&2
fi

gen_opts() { # the job options shared by every mode
	local o=(--runs "$runs" --broken "$broken" --scenarios "$scenarios" --params "$params"
		 --duration-ms "$duration_ms" --smp "$smp")
	[ $kvm -eq 1 ] && o+=(--kvm)
	printf '%s\0' "${o[@]}"
}
mapfile -d '' opts < <(gen_opts)

if [ $validate_only -eq 1 ]; then
	tmp=$(mktemp -d)
	trap 'rm -rf "$tmp"' EXIT
	passed=0 failed=0
	k=file:///srv/vmalock/bzImage i=file:///srv/vmalock/initramfs.cpio.gz
	# Jobs for the option combinations users ask for, each must validate.
	combos=("" "--broken all" "--runs real --broken reader_no_seqcheck --duration-ms 500"
		"--runs kunit" "--runs none --broken all" "--scenarios rw_exclusion,reuse --params readers=4 --smp 4"
		"--kvm" "--runs real,lifecycle,control,kunit,user,soak,selftests")
	n=0
	for c in "${combos[@]}"; do
		n=$((n + 1))
		# shellcheck disable=SC2086 # the combinations are word lists
		if lava_py lava_job generate --kernel-url "$k" --initramfs-url "$i" \
			--out "$tmp/job-$n.yaml" $c >"$tmp/gen.err" 2>&1; then
			jobs+=("$tmp/job-$n.yaml")
		else
			echo "FAIL generate ${c:-(defaults)}: $(tail -1 "$tmp/gen.err")"
			failed=$((failed + 1))
		fi
	done
	for j in "${jobs[@]}"; do
		if lava_py lava_job validate "$j" >"$tmp/val.out" 2>&1; then
			echo "PASS $(grep '^valid' "$tmp/val.out")"
			passed=$((passed + 1))
		else
			echo "FAIL $(grep '^invalid' "$tmp/val.out" || tail -1 "$tmp/val.out")"
			failed=$((failed + 1))
		fi
	done
	# The schema must be able to say no: broken copies of a good job.
	good=$tmp/job-1.yaml
	if [ -f "$good" ]; then
		breakers=("s/^visibility: public/visibility: everyone/"
			  "s/^  job:/  jobs:/"
			  "s/^    to: tmpfs/    to: tmpfs\n    frobs: 1/"
			  "s/^    method: qemu/    method: qemu-frob/"
			  "s/^      name: vmalock-real$/      name: vmalock real/"
			  "s/^- test:/- tset:/")
		for b in "${breakers[@]}"; do
			sed "$b" "$good" > "$tmp/bad.yaml"
			if cmp -s "$good" "$tmp/bad.yaml"; then
				echo "FAIL refuse: '$b' changed nothing"
				failed=$((failed + 1))
			elif lava_py lava_job validate "$tmp/bad.yaml" >"$tmp/val.out" 2>&1; then
				echo "FAIL refuse: LAVA's schema accepted a job broken by '$b'"
				failed=$((failed + 1))
			else
				echo "PASS refuse ($b): $(grep '^invalid' "$tmp/val.out" | sed 's/^invalid: [^:]*: //')"
				passed=$((passed + 1))
			fi
		done
	fi
	echo "lava-validate: $passed passed, $failed failed"
	[ "$failed" -eq 0 ]
	exit
fi

if [ -z "$kbuild" ]; then
	kbuild=$("$top/scripts/build-kernel.sh" "$variant" | tail -1)
fi
[ -f "$kbuild/arch/x86/boot/bzImage" ] || die "no arch/x86/boot/bzImage in '$kbuild'"
[ -n "$out" ] || out=$top/results/lava-$(date +%Y%m%d-%H%M%S)
mkdir -p "$out"
out=$(cd "$out" && pwd)
kversion=$(cat "$kbuild/.vmalock-version" 2>/dev/null || make -s -C "$kbuild" kernelversion)
kversion=${kversion%% *}

echo "lava-job: building the module and the user-space stressor" >&2
make -s -C "$kbuild" M="$top" ARCH=x86_64 modules >&2
gcc -O2 -Wall -static -pthread -o "$out/vmalock_user_stress" "$top/user/vmalock_user_stress.c"

root=$out/initramfs
rm -rf "$root"
mkdir -p "$root"/{bin,proc,sys,dev,tmp}
cp /bin/busybox "$root/bin/busybox"
ln -s busybox "$root/bin/sh"
"$top/scripts/guest/pack" "$root" --lava
lava_py lava_job splat-ere > "$root/vmalock-splats.ere"
cp "$top/vmalock_test.ko" "$out/vmalock_user_stress" "$root/"
# The kernel's own selftests, from the tree the kernel was built from.
if [[ ,$runs, == *,selftests,* ]]; then
	"$top/scripts/build-selftests.sh" "$(cat "$kbuild/.vmalock-kdir")" "$out/selftests" >&2 ||
		echo "lava-job: building the selftests failed; the guest reports each as skipped" >&2
	cp -r "$out/selftests/." "$root/kselftest/"
	rm -rf "$out/selftests"
fi
(cd "$root" && find . | cpio -o -H newc --quiet) | gzip -9 > "$out/initramfs.cpio.gz"
rm -rf "$root" "$out/vmalock_user_stress"
cp "$kbuild/arch/x86/boot/bzImage" "$out/bzImage"

base=${url_base:-file://$out}
base=${base%/}
lava_py lava_job generate "${opts[@]}" --out "$out/job.yaml" \
	--kernel-url "${kernel_url:-$base/bzImage}" --initramfs-url "${initramfs_url:-$base/initramfs.cpio.gz}" \
	--kernel-version "$kversion" --job-name "vmalock-test $kversion ($variant)"
lava_py lava_job validate "$out/job.yaml" >&2
echo "lava-job: wrote $out/job.yaml (kernel $kversion), and bzImage, initramfs.cpio.gz beside it" >&2
[ $run -eq 1 ] || { echo "$out/job.yaml"; exit 0; }

# The real thing: LAVA's dispatcher runs the job on the QEMU device of
# lava/qemu-vmalock.yaml, as a lab's worker would.
rm -rf "$out/lava-run"
rc=0
lava-run --job-id 1 --output-dir "$out/lava-run" --device "$top/lava/qemu-vmalock.yaml" \
	"$out/job.yaml" > "$out/lava-run.log" 2>&1 || rc=$?
echo "lava-job: lava-run exited $rc; log $out/lava-run.log" >&2
# The device's console, and from it each run's KTAP, JSON (kunit.py's
# own for KUnit: what KernelCI reads) and JUnit, as vmalock-run.sh has them.
lava_py lava_results "$out/lava-run.log" --console "$out/console-lava.log" >/dev/null || true
kdir=$(cat "$kbuild/.vmalock-kdir" 2>/dev/null || echo "$kbuild")
grep -o 'VMALOCK-RESULTS-BEGIN run=[a-z_-]*' "$out/console-lava.log" | sort -u | cut -d= -f2 |
while read -r r; do
	e=pass; [[ $r == broken-* ]] && e=fail
	"$top/scripts/vmalock-py" results "$out/console-lava.log" "$out" --run "$r" --expect "$e" \
		--kunit-py "$kdir/tools/testing/kunit/kunit.py" > "$out/verdict-$r.txt" 2>&1 || true
done
lava_py lava_results "$out/lava-run.log" --out "$out/summary-lava.txt" \
	${compare:+--summary "$compare"}
