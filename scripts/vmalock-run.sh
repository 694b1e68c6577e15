#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# The main job: build the test kernel and vmalock_test.ko, boot the kernel in
# QEMU, run the scenarios, and judge the results and the console.
#
# Usage: vmalock-run.sh [options]
#   --variant NAME     kernel config variant: debug (default), kcsan, perf
#   --scenarios LIST   all (default) or a comma-separated list of scenarios
#   --broken LIST      also run broken variants, each in its own boot, and
#                      require each to be reported as FAIL: all, or a
#                      comma-separated list (default: none)
#   --no-real          do not run the real lock operations
#   --lifecycle        also run the bad-input and unload-mid-run checks
#   --no-kunit         do not run the KUnit suites (they run at boot of the
#                      main guest, with kunit.enable=1)
#   --no-user          do not run the user-space stressor (user/)
#   --bench SPEC       also run the bench mode in the main boot, SPEC its
#                      parameters: repeats=N,ms=N[,readers=N,items=LIST]
#                      (scripts/bench.sh is the command for benchmarks)
#   --duration-ms N    duration of each scenario (default 3000)
#   --params "K=V ..." further module parameters (see README)
#   --smp N            guest CPUs (default 2)
#   --accel A          auto (default: KVM only if a probe boot works), tcg, kvm
#   --out DIR          results directory (default results/<timestamp>)
# Environment: KDIR (your kernel tree), CACHE (default ~/.cache/vmalock-test),
#   KBUILD (a build directory of build-kernel.sh: boot it, build nothing).
#
# Exit status: 0 if every check passed, 1 if any failed, 2 on bad usage.
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
export CACHE=${CACHE:-$HOME/.cache/vmalock-test}
variant=debug scenarios=all broken=none real=1 lifecycle=0 kunit=1 user=1
duration_ms=3000 params="" smp=2 accel=auto out="" bench=""
# The broken variants: the names in vmalock_names.h.
all_broken=$(sed -n 's/^VT_BROKEN(\([A-Z_]*\))$/\1/p' "$top/vmalock_names.h" |
	tr 'A-Z\n' 'a-z ')
all_broken=${all_broken% }
[ -n "$all_broken" ] || { echo "vmalock-run: no broken variants found in vmalock_names.h" >&2; exit 2; }

usage() { sed -n '/^# Usage/,/^# Exit/p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2; }
die() { echo "vmalock-run: $*" >&2; exit 2; }
num() { [[ $2 =~ ^[0-9]+$ ]] || die "$1 needs a number, got '$2'"; }

while [ $# -gt 0 ]; do
	case $1 in
	--variant) variant=${2:?}; shift ;;
	--scenarios) scenarios=${2:?}; shift ;;
	--broken) broken=${2:?}; shift ;;
	--no-real) real=0 ;;
	--lifecycle) lifecycle=1 ;;
	--no-kunit) kunit=0 ;;
	--no-user) user=0 ;;
	--bench) bench=${2:?}; shift ;;
	--duration-ms) num "$1" "${2:-}"; duration_ms=$2; shift ;;
	--params) params=${2?}; shift ;;
	--smp) num "$1" "${2:-}"; smp=$2; shift ;;
	--accel) accel=${2:?}; shift ;;
	--out) out=${2:?}; shift ;;
	-h|--help) usage ;;
	*) echo "vmalock-run: unknown option '$1'" >&2; usage ;;
	esac
	shift
done
case $accel in auto|tcg|kvm) ;; *) die "--accel must be auto, tcg or kvm" ;; esac
[ "$smp" -ge 1 ] && [ "$smp" -le 8 ] || die "--smp must be 1..8"
[ "$duration_ms" -ge 10 ] && [ "$duration_ms" -le 600000 ] || die "--duration-ms must be 10..600000"
[ -f "$top/configs/$variant.config" ] && [ "$variant" != base ] ||
	die "unknown variant '$variant'; allowed: debug kcsan perf"
[ "$broken" = all ] && broken=$all_broken
broken=$(echo "$broken" | tr ',' ' ')
[ "$broken" = none ] && broken=""
for b in $broken; do
	[[ " $all_broken " == *" $b "* ]] || die "unknown broken variant '$b'; allowed: all $all_broken"
done
[[ $scenarios =~ ^[a-z_,]+$ ]] || die "--scenarios takes all or a comma-separated list of names"
[[ $params =~ ^[a-z_0-9=\ ]*$ ]] || die "--params takes 'key=value ...' with numeric values"
[[ $bench =~ ^([a-z]+=[0-9a-z:]+(,[a-z]+=[0-9a-z:]+)*)?$ ]] ||
	die "--bench takes key=value,... (repeats=N,ms=N,readers=N,items=all|N:N..)"

[ -n "$out" ] || out=$top/results/$(date +%Y%m%d-%H%M%S)
mkdir -p "$out"
summary=$out/summary.txt
: > "$summary"
timings=()

stage() { # name, command...
	local name=$1 t0=$SECONDS
	shift
	echo "== $name" >&2
	"$@"
	timings+=("$name $((SECONDS - t0))s")
}

check() { # result name [detail]
	printf '%s %s%s\n' "$1" "$2" "${3:+ ($3)}" >> "$summary"
}

# One line per KUnit case, from kunit.py's JSON of the kunit run.
record_kunit() {
	if [ ! -s "$out/results-kunit.json" ]; then
		check FAIL kunit "results missing or malformed"
		return
	fi
	python3 - "$out/results-kunit.json" >> "$summary" <<'PY'
import json, sys
verdict = {'PASS': 'PASS', 'SKIP': 'SKIP'}
def walk(group, path):
	for case in group.get('test_cases', []):
		print(verdict.get(case['status'], 'FAIL'), f"{path}/{case['name']}")
	for sub in group.get('sub_groups', []):
		walk(sub, f"{path}/{sub['name']}")
walk(json.load(open(sys.argv[1])), 'kunit')
PY
}

stage deps "$top/scripts/deps.sh" >&2

build_kernel() {
	# KBUILD: a kernel build-kernel.sh already built, booted as it is.
	if [ -n "${KBUILD:-}" ]; then
		kbuild=$(cd "$KBUILD" && pwd)
		[ -f "$kbuild/arch/x86/boot/bzImage" ] && [ -f "$kbuild/.vmalock-version" ] ||
			die "KBUILD=$KBUILD is not a build directory of build-kernel.sh"
		return 0
	fi
	kbuild=$("$top/scripts/build-kernel.sh" "$variant" | tail -1)
}
stage kernel build_kernel
kversion=$(cat "$kbuild/.vmalock-version")
echo "kernel: $kversion" | tee "$out/kernel-version" >&2

build_module() {
	make -s -C "$kbuild" M="$top" ARCH=x86_64 modules >&2
	gcc -O2 -Wall -static -pthread -o "$out/vmalock_user_stress" "$top/user/vmalock_user_stress.c"
}
stage module build_module

initramfs() {
	local root=$out/initramfs
	rm -rf "$root"
	mkdir -p "$root"/{bin,proc,sys,dev,tmp}
	cp /bin/busybox "$root/bin/busybox"
	ln -s busybox "$root/bin/sh"
	cp "$top/scripts/guest/init" "$root/init"
	cp "$top/vmalock_test.ko" "$out/vmalock_user_stress" "$root/"
	(cd "$root" && find . | cpio -o -H newc --quiet) > "$out/initramfs.cpio"
	rm -rf "$root"
}
stage initramfs initramfs

# Time allowed for one boot: boot and teardown, plus every scenario's duration
# several times over (TCG with KASAN is slow), before the guest counts as hung.
boot_timeout() { # number of scenario runs
	echo $((120 + $1 * (3 * duration_ms / 1000 + 10)))
}

qemu_boot() { # name accel runs timeout [kernel arguments]
	local name=$1 acc=$2 runs=$3 limit=$4 append rc=0
	append="console=ttyS0 panic=-1 loglevel=6 vt.runs=$runs vt.scenarios=$scenarios ${5:-}"
	append+=" vt.params=duration_ms=$duration_ms${params:+,${params// /,}}"
	[ "$acc" = tcg ] && acc=tcg,thread=multi
	timeout --kill-after=10 "$limit" qemu-system-x86_64 -accel "$acc" -smp "$smp" -m 2G \
		-kernel "$kbuild/arch/x86/boot/bzImage" -initrd "$out/initramfs.cpio" \
		-append "$append" -display none -monitor none -no-reboot \
		-serial "file:$out/console-$name.log" -serial "file:$out/results-$name.raw" \
		</dev/null >"$out/qemu-$name.log" 2>&1 || rc=$?
	grep -q VMALOCK-GUEST-DONE "$out/console-$name.log" 2>/dev/null && return 0
	[ $rc -eq 124 ] || [ $rc -eq 137 ] &&
		echo "vmalock-run: guest $name hung: killed after ${limit}s" >&2 && return 124
	echo "vmalock-run: guest $name ended without finishing (qemu status $rc)" >&2
	return 1
}

pick_accel() {
	if [ "$accel" != auto ]; then
		use_accel=$accel
		return
	fi
	use_accel=tcg
	[ -w /dev/kvm ] || return 0
	local probe=$CACHE/kvm-probe
	if [ -z "$(find "$probe" -mtime -1 2>/dev/null)" ]; then
		if qemu_boot probe kvm probe 30 >/dev/null 2>&1; then echo ok; else echo fail; fi > "$probe"
		rm -f "$out/console-probe.log" "$out/results-probe.raw" "$out/qemu-probe.log"
	fi
	[ "$(cat "$probe")" = ok ] && use_accel=kvm
	return 0
}
stage accel-probe pick_accel
echo "accel: $use_accel" >&2

nscn=9
[ "$scenarios" = all ] || nscn=$(echo "$scenarios" | tr ',' '\n' | grep -c .)

judge() { # boot-name run expect
	local rc=0
	python3 "$top/scripts/results.py" "$out/results-$1.raw" "$out" --run "$2" \
		--expect "$3" --kunit-py "$(cat "$kbuild/.vmalock-kdir")/tools/testing/kunit/kunit.py" \
		> "$out/verdict-$2.txt" 2>&1 || rc=$?
	cat "$out/verdict-$2.txt" >&2
	return $rc
}

# Record one PASS/FAIL line per scenario (or per lifecycle check) of a run.
record() { # run expect judge-rc
	local run=$1 expect=$2 ktap=$out/results-$1.ktap line
	if [ ! -s "$ktap" ]; then
		check FAIL "$run" "results missing or malformed"
		return
	fi
	while read -r line; do
		case $line in
		"ok "*|"not ok "*) ;;
		*) continue ;;
		esac
		local name=${line#not ok } verdict
		name=${name#ok }
		name=${name#* }
		name=${name%% #*}
		if [[ $line == *"# SKIP"* ]]; then
			verdict=SKIP
		elif [ "$expect" = pass ]; then
			[[ $line == ok* ]] && verdict=PASS || verdict=FAIL
		else
			# caught = not ok with violations; results.py says so per scenario
			grep -q "^$name: caught" "$out/verdict-$run.txt" && verdict=PASS || verdict=FAIL
		fi
		check "$verdict" "$run/$name"
	done < "$ktap"
}

# Bound on the bench's time: windows of ms, 30 at most per repeat, x3 on TCG.
bench_secs() {
	local r ms
	r=$(echo "$bench" | tr ',' '\n' | sed -n 's/^repeats=//p')
	ms=$(echo "$bench" | tr ',' '\n' | sed -n 's/^ms=//p')
	[ -n "$bench" ] && echo $((30 + 3 * 30 * ${r:-5} * ${ms:-1000} / 1000)) || echo 0
}

boots() {
	local runs="" rc
	[ $real -eq 1 ] && runs=real
	[ $lifecycle -eq 1 ] && runs=${runs:+$runs,}lifecycle
	[ $kunit -eq 1 ] && runs=${runs:+$runs,}kunit
	[ $user -eq 1 ] && runs=${runs:+$runs,}user
	[ -n "$bench" ] && runs=${runs:+$runs,}bench
	if [ -n "$runs" ]; then
		rc=0
		qemu_boot main "$use_accel" "$runs" "$(($(boot_timeout $((nscn + 4))) + $(bench_secs)))" \
			"$([ $kunit -eq 1 ] && echo kunit.enable=1)${bench:+ vt.bench=$bench}" || rc=$?
		[ $rc -eq 0 ] || check FAIL "boot-main" "$([ $rc -eq 124 ] && echo hung || echo crashed)"
		if python3 "$top/scripts/scan-splats.py" "$out/console-main.log" > "$out/splats-main.txt"; then
			check PASS "no-kernel-splat"
		else
			cat "$out/splats-main.txt" >&2
			check FAIL "no-kernel-splat" "$(tail -1 "$out/splats-main.txt")"
		fi
		if [ $real -eq 1 ]; then
			judge main real pass || true
			record real pass
		fi
		if [ $lifecycle -eq 1 ]; then
			judge main lifecycle pass || true
			record lifecycle pass
		fi
		if [ $kunit -eq 1 ]; then
			judge main kunit pass || true
			record_kunit
		fi
		if [ $user -eq 1 ]; then
			judge main user pass || true
			record user pass
		fi
		[ -z "$bench" ] || python3 "$top/scripts/bench.py" check "$out/results-main.raw" \
			--out "$out" >> "$summary" || true
	fi
	for b in $broken; do
		rc=0
		qemu_boot "broken-$b" "$use_accel" "broken-$b" "$(boot_timeout "$nscn")" || rc=$?
		[ $rc -eq 0 ] || check FAIL "boot-broken-$b" "$([ $rc -eq 124 ] && echo hung || echo crashed)"
		# Splats are expected here: a broken lock may well trip the kernel's own checks.
		python3 "$top/scripts/scan-splats.py" "$out/console-broken-$b.log" \
			> "$out/splats-broken-$b.txt" || true
		judge "broken-$b" "broken-$b" fail || true
		record "broken-$b" fail
	done
}
stage boot+run boots

# The main files under their plain names: the real run's results, and one
# JUnit document with a test suite per run.
collect() {
	[ -f "$out/console-main.log" ] && ln -sf console-main.log "$out/console.log"
	[ -f "$out/results-real.ktap" ] && ln -sf results-real.ktap "$out/results.ktap"
	[ -f "$out/results-real.json" ] && ln -sf results-real.json "$out/results.json"
	python3 - "$out" <<'PY'
import glob, sys, xml.etree.ElementTree as ET
root = ET.Element('testsuites', name='vmalock-test')
for path in sorted(glob.glob(sys.argv[1] + '/junit-*.xml')):
	top = ET.parse(path).getroot()
	root.extend(top.findall('testsuite') if top.tag == 'testsuites' else [top])
ET.ElementTree(root).write(sys.argv[1] + '/junit.xml', encoding='unicode', xml_declaration=True)
PY
}
collect

printf '\nkernel %s, variant %s, accel %s, smp %s, results in %s\n' \
	"$kversion" "$variant" "$use_accel" "$smp" "$out"
printf 'stage times: %s\n\n' "$(IFS=,; echo "${timings[*]}" | sed 's/,/, /g')"
sort -k2 "$summary" | column -t -l 2 2>/dev/null || sort -k2 "$summary"
passed=$(grep -c '^PASS' "$summary" || true)
failed=$(grep -c '^FAIL' "$summary" || true)
skipped=$(grep -c '^SKIP' "$summary" || true)
[ $((passed + failed)) -gt 0 ] || { failed=1; echo "vmalock-run: no check ran" >&2; }
line="$passed passed, $failed failed"
[ "$skipped" -gt 0 ] && line+=", $skipped skipped"
echo "vmalock: $line"
[ "$failed" -eq 0 ]
