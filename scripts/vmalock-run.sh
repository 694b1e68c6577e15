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
#   --lifecycle        also run the bad-input and unload-mid-run checks, the
#                      concurrent control loops (main boot), and the leak
#                      check: cycles of insmod, run, rmmod, then kmemleak
#                      (a boot of its own, kmemleak=on)
#   --control-secs N   how long the control loops run (default 20)
#   --user-secs N      how long the user-space stressor runs, 1..290 (default
#                      15; the watch beside it lasts 2N+17 s, at most 600)
#   --leak-cycles N    insmod/rmmod cycles of the leak check (default 50)
#   --soak DURATION    also soak, in a boot of its own: every scenario, the
#                      user-space stressor and the KUnit suites in a loop
#                      for DURATION (N, Ns, Nm or Nh; 10s..24h); see soak.sh
#   --soak-ms N        duration of each scenario in the soak (default 3000)
#   --no-kunit         do not run the KUnit suites (they run at boot of the
#                      main guest, with kunit.enable=1)
#   --no-user          do not run the user-space stressor (user/)
#   --selftests        also run the kernel's own mm and proc selftests
#                      (scripts/guest/selftests.table) in the main boot,
#                      under the system-wide monitor (3 to 8 min on TCG)
#   --bench SPEC       also run the bench mode in the main boot, SPEC its
#                      parameters: repeats=N,ms=N[,readers=N,items=LIST,
#                      delays=R:R..] (delays: item 6 also with the monitor's
#                      pauses at each rate, at most 3)
#                      (scripts/bench.sh is the command for benchmarks)
#   --duration-ms N    duration of each scenario (default 3000; twice that in
#                      the broken variants' boots)
#   --params "K=V ..." further module parameters (`modinfo vmalock_test.ko`)
#   --delay RATE[:MAX_US[:SIT_US]]  the system-wide monitor pauses the
#                      harness's and the stressor's tasks at one VMA lock
#                      step in RATE, each for 1..MAX_US us (default 1000),
#                      and holds each read lock of the stressor's sitters
#                      SIT_US/2..SIT_US us longer or until a writer waits
#                      (default 2000, up to 5000), in every
#                      boot's runs; 0: no pauses. Default 20, in the main
#                      and the broken variants' boots only. A run's seed
#                      (seed= in its results) replays its pauses:
#                      --params seed=N
#   --smp N            guest CPUs (default 2)
#   --accel A          auto (default: KVM only if a probe boot works), tcg, kvm
#   --out DIR          results directory (default results/<timestamp>)
#   --boot-timeout S   seconds a boot may take before it counts as hung
#                      (default: derived from the runs and --duration-ms)
#   --images DIR       boot DIR/bzImage with DIR/initramfs.cpio instead of
#                      building them: skips the deps, kernel, module and
#                      initramfs stages (DIR may also hold kernel-config and
#                      kernel-version). For testing the harness itself.
#   --recheck DIR      judge the saved results directory DIR again without
#                      booting: rewrites its summary.txt and junit.xml
#   --check-args       check the options, and KDIR (check-tree.sh, and a dry
#                      run of patch-kernel.sh), then exit: what test.sh
#                      does before its first stage
# Environment: KDIR (your kernel tree), CACHE (default ~/.cache/vmalock-test),
#   KBUILD (a build directory of build-kernel.sh: boot it, build nothing).
#
# Exit status: 0 if every check passed, 1 if any failed, 2 on bad usage (one
# line on stderr, before anything is built, booted or written).
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
export CACHE=${CACHE:-$HOME/.cache/vmalock-test}
variant=debug scenarios=all broken=none real=1 lifecycle=0 kunit=1 user=1 selftests=0
duration_ms=3000 params="" smp=2 accel=auto out="" bench=""
# The pauses of the main and broken-variant boots unless --delay says
# (Documentation/vmalock-test/checks.rst, "Pauses"): one step in 20,
# chosen from measurements there.
delay_default=20 delay="" sit_default=2000
control_secs=20 user_secs=15 leak_cycles=50 soak="" soak_secs=0 soak_ms=3000
# The one list of scenarios and broken variants (vmalock_names.h).
names() { "$top/scripts/vmalock-py" names "$top/vmalock_names.h" "$@"; }
judge() { "$top/scripts/vmalock-py" judge "$@"; }
# The one list of guest runs, and their time limits (scripts/runs.table).
runs() { "$top/scripts/vmalock-py" runs "$top/scripts/runs.table" "$@"; }
all_broken=$(names broken) || exit 2
images="" boot_limit=""

usage() { sed -n '/^# Usage/,/^# Exit/p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2; }
prog=vmalock-run
# shellcheck source-path=SCRIPTDIR source=lib/args.sh
. "$top/scripts/lib/args.sh"

check_only=0 recheck=""
while [ $# -gt 0 ]; do
	case $1 in
	--variant) value "$@"; variant=$2; shift ;;
	--scenarios) value "$@"; scenarios=$2; shift ;;
	--broken) value "$@"; broken=$2; shift ;;
	--no-real) real=0 ;;
	--lifecycle) lifecycle=1 ;;
	--control-secs) value "$@"; int control_secs "$1" "$2" 1 3600; shift ;;
	--user-secs) value "$@"; int user_secs "$1" "$2" 1 290; shift ;;
	--leak-cycles) value "$@"; int leak_cycles "$1" "$2" 1 10000; shift ;;
	--soak) value "$@"; soak=$2; shift ;;
	--soak-ms) value "$@"; int soak_ms "$1" "$2" 10 600000; shift ;;
	--no-kunit) kunit=0 ;;
	--no-user) user=0 ;;
	--selftests) selftests=1 ;;
	--bench) value "$@"; bench=$2; shift ;;
	--duration-ms) value "$@"; int duration_ms "$1" "$2" 10 600000; shift ;;
	--params) value_or_empty "$@"; params=$2; shift ;;
	--delay) value "$@"; delay=$2; shift ;;
	--smp) value "$@"; int smp "$1" "$2" 1 8; shift ;;
	--accel) value "$@"; accel=$2; shift ;;
	--out) value "$@"; check_out "$2"; out=$2; shift ;;
	--boot-timeout) value "$@"; int boot_limit "$1" "$2" 1 86400; shift ;;
	--images) value "$@"; images=$2; shift ;;
	--recheck) value "$@"; recheck=$2; shift ;;
	--check-args) check_only=1 ;;
	-h|--help) usage ;;
	*) unknown_option "$1" ;;
	esac
	shift
done
if [ -n "$recheck" ]; then
	[ -d "$recheck" ] || die "--recheck $recheck: not a directory"
	[ $check_only -eq 0 ] || exit 0
	rc=0
	judge "$recheck" --note "recheck of $recheck" || rc=$?
	exit $rc
fi
case $accel in auto|tcg|kvm) ;; *) die "--accel must be auto, tcg or kvm, got '$accel'" ;; esac
check_variant "$variant"
[ "$broken" = all ] && broken=$all_broken
broken=$(echo "$broken" | tr ',' ' ')
[ "$broken" = none ] && broken=""
for b in $broken; do
	[[ " $all_broken " == *" $b "* ]] || die "unknown broken variant '$b'; allowed: all none $all_broken"
done
[[ $scenarios =~ ^[a-z_,]+$ ]] || die "--scenarios takes all or a comma-separated list of names"
nscn=$(names runs "$scenarios") || exit 2
[[ $params =~ ^[a-z_0-9=\ ]*$ ]] || die "--params takes 'key=value ...' with numeric values"
# --delay RATE[:MAX_US[:SIT_US]] as the module's parameters delay_rate,
# delay_max_us, sit_us. SIT_US is the default's unless given, or 0 with RATE 0.
delay_params() { # RATE[:MAX_US[:SIT_US]] -> "delay_rate=R delay_max_us=M sit_us=S"
	local d_rate d_max=1000 d_sit=$sit_default f	# not int()'s own names
	[[ $1 =~ ^[0-9]+(:[0-9]+){0,2}$ ]] ||
		die "--delay takes RATE[:MAX_US[:SIT_US]] (RATE 0..1000000, MAX_US 1..1000, SIT_US 0..5000), got '$1'"
	IFS=: read -r -a f <<< "$1"
	int d_rate --delay "${f[0]}" 0 1000000
	[ "$d_rate" != 0 ] || d_sit=0
	[ -z "${f[1]:-}" ] || int d_max "--delay MAX_US" "${f[1]}" 1 1000
	[ -z "${f[2]:-}" ] || int d_sit "--delay SIT_US" "${f[2]}" 0 5000
	echo "delay_rate=$d_rate delay_max_us=$d_max sit_us=$d_sit"
}
delay_default=$(delay_params "$delay_default") || exit 2
[ -z "$delay" ] || delay=$(delay_params "$delay") || exit 2
# --soak DURATION: N seconds, or Ns, Nm, Nh.
if [ -n "$soak" ]; then
	[[ $soak =~ ^([0-9]{1,6})([smh]?)$ ]] ||
		die "--soak takes a duration: N, Ns, Nm or Nh (10s..24h), got '$soak'"
	unit=${BASH_REMATCH[2]} soak_secs=$((10#${BASH_REMATCH[1]}))
	[ "$unit" != m ] || soak_secs=$((soak_secs * 60))
	[ "$unit" != h ] || soak_secs=$((soak_secs * 3600))
	[ "$soak_secs" -ge 10 ] && [ "$soak_secs" -le 86400 ] ||
		die "--soak must be 10s..24h, got '$soak'"
fi
# The bench's parameters, with the ranges of scripts/bench.sh's options.
[[ $bench =~ ^([a-z]+=[0-9a-z:]+(,[a-z]+=[0-9a-z:]+)*)?$ ]] ||
	die "--bench takes key=value,... (repeats=N,ms=N,readers=N,items=all|N:N..,delays=0|R:R..)"
for kv in ${bench//,/ }; do
	case ${kv%%=*} in
	repeats) int unused "--bench repeats" "${kv#*=}" 1 100 ;;
	ms) int unused "--bench ms" "${kv#*=}" 10 60000 ;;
	readers) int unused "--bench readers" "${kv#*=}" 0 64 ;;
	items) [[ ${kv#*=} =~ ^(all|[1-6](:[1-6])*)$ ]] ||
		die "--bench items must be all or a :-separated list of 1..6, got '${kv#*=}'" ;;
	delays) [[ ${kv#*=} =~ ^(0|[0-9]+(:[0-9]+){0,2})$ ]] ||
		die "--bench delays must be 0 or up to 3 rates 1..1000000, :-separated, got '${kv#*=}'"
		[ "${kv#*=}" = 0 ] || for r in ${kv//:/ }; do int unused "--bench delays" "${r#delays=}" 1 1000000; done ;;
	*) die "--bench: unknown key '${kv%%=*}'; allowed: repeats ms readers items delays" ;;
	esac
done
bench=$(echo "$bench" | sed -E 's/(^|,)(repeats|ms|readers)=0*([0-9])/\1\2=\3/g')
if [ -n "$images" ] && ! { [ -f "$images/bzImage" ] && [ -f "$images/initramfs.cpio" ]; }; then
	die "--images $images: no bzImage and initramfs.cpio there"
fi
# The main boot's runs: those of scripts/runs.table's main boot the options
# ask for, in the table's order.
want_real=$real want_lifecycle=$lifecycle want_control=$lifecycle want_kunit=$kunit
want_user=$user want_selftests=$selftests want_bench=$([ -z "$bench" ]; echo $?)
main_runs=""
for r in $(runs boot main) ; do
	w=want_$r
	[ "${!w:-0}" -eq 0 ] || main_runs=${main_runs:+$main_runs,}$r
done
[ -n "$main_runs$broken$soak" ] || die "nothing to run: --no-real, --no-kunit and --no-user without --lifecycle, --selftests, --broken, --bench or --soak"
# The kernel: a build to boot as it is, or a tree that will do (checked, and
# the patches tried, without writing anything).
if [ -z "$images" ] && [ -n "${KBUILD:-}" ]; then
	[ -f "$KBUILD/arch/x86/boot/bzImage" ] && [ -f "$KBUILD/.vmalock-version" ] ||
		die "KBUILD=$KBUILD is not a build directory of build-kernel.sh (no arch/x86/boot/bzImage and .vmalock-version)"
elif [ -z "$images" ]; then
	check_kdir
fi
[ $check_only -eq 0 ] || exit 0

[ -n "$out" ] || out=$top/results/$(date +%Y%m%d-%H%M%S)
mkdir -p "$out"
timings=()

stage() { # name, command...
	local name=$1 t0=$SECONDS
	shift
	echo "== $name" >&2
	"$@"
	timings+=("$name $((SECONDS - t0))s")
}

build_kernel() {
	# KBUILD: a kernel build-kernel.sh already built, booted as it is.
	if [ -n "${KBUILD:-}" ]; then
		kbuild=$(cd "$KBUILD" && pwd)
	else
		kbuild=$("$top/scripts/build-kernel.sh" "$variant" | tail -1)
	fi
	kversion=$(cat "$kbuild/.vmalock-version")
	kconfig=$kbuild/.config bzimage=$kbuild/arch/x86/boot/bzImage
	kunit_py=$(cat "$kbuild/.vmalock-kdir")/tools/testing/kunit/kunit.py
}

# The built kernel's own list of lock call sites, for the judge's coverage
# check; in the results directory, so that --recheck has it.
static_sites() {
	rm -f "$out/call-sites-static.txt"
	"$top/scripts/vmalock-py" callsites static "$kbuild" -o "$out/call-sites-static.txt" >&2 ||
		echo "call sites: no static list: coverage not judged" >&2
}

build_module() {
	make -s -C "$kbuild" M="$top" ARCH=x86_64 modules >&2
	gcc -O2 -Wall -static -pthread -o "$out/vmalock_user_stress" "$top/user/vmalock_user_stress.c"
}

# The kernel's own selftests, from the tree the kernel was built from; the
# ones that do not build are skipped by name in the guest.
build_selftests() {
	[ $selftests -eq 1 ] || return 0
	"$top/scripts/build-selftests.sh" "$(cat "$kbuild/.vmalock-kdir")" "$out/selftests" >&2 ||
		echo "vmalock-run: building the selftests failed; the guest reports each as skipped" >&2
}

initramfs() {
	local root=$out/initramfs
	rm -rf "$root"
	mkdir -p "$root"/{bin,proc,sys,dev,tmp}
	cp /bin/busybox "$root/bin/busybox"
	ln -s busybox "$root/bin/sh"
	"$top/scripts/guest/pack" "$root"
	cp "$top/vmalock_test.ko" "$out/vmalock_user_stress" "$root/"
	[ ! -d "$out/selftests" ] || cp -r "$out/selftests/." "$root/kselftest/"
	(cd "$root" && find . | cpio -o -H newc --quiet) > "$out/initramfs.cpio"
	rm -rf "$root"
	initrd=$out/initramfs.cpio
}

if [ -n "$images" ]; then
	bzimage=$images/bzImage initrd=$images/initramfs.cpio kconfig=$images/kernel-config
	kversion=$(cat "$images/kernel-version" 2>/dev/null || echo unknown) kunit_py=""
else
	stage deps "$top/scripts/deps.sh" >&2
	stage kernel build_kernel
	stage call-sites static_sites
	stage module build_module
	stage selftests build_selftests
	stage initramfs initramfs
fi
echo "kernel: $kversion" | tee "$out/kernel-version" >&2
# Patches left out of this kernel (build-kernel.sh; --images: its
# skipped-patches): the runs go on without what needs them, with the module
# parameters that say so, and the verdict names it as SKIP. A broken variant
# only the invariants they take along catch is not booted (skipped-runs),
# as it could not be caught.
rm -f "$out/skipped-patches" "$out/skipped-runs"
left_out=$([ -n "$images" ] && echo "$images/skipped-patches" || echo "$kbuild/.vmalock-skipped")
if [ -s "$left_out" ]; then
	cp "$left_out" "$out/skipped-patches"
	params="${params:+$params }$(cut -f3 "$left_out" | tr '\n' ' ' | sed 's/ *$//')"
	cut -f1,5 "$left_out" | sed 's/\t/ left out: /;s/^/vmalock-run: /' >&2
	uncaught=" $(names uncaught "$(cut -f4 "$left_out" | paste -sd,)") "
	kept=""
	for b in $broken; do
		if [[ $uncaught == *" $b "* ]]; then
			echo "broken-$b" >> "$out/skipped-runs"
			echo "vmalock-run: broken-$b not booted: only what was left out catches it" >&2
		else
			kept+="${kept:+ }$b"
		fi
	done
	broken=$kept
fi

# A boot's scenario duration: --duration-ms, twice that in a broken
# variant's boot, whose catch is likely but not certain within one (a 3 s
# detach_free missed detach_no_wait once in CI, under load; it is caught in
# 0.1-2.4 s otherwise); the module's bound is 600000.
boot_duration_ms() { # boot name
	local d=$duration_ms
	[[ $1 != broken-* ]] || d=$((2 * d > 600000 ? 600000 : 2 * d))
	echo "$d"
}

# Time allowed for one boot before the guest counts as hung: boot and
# teardown, and each run's time limit (scripts/runs.table: every scenario's
# duration several times over, as TCG with KASAN is slow).
boot_timeout() { # runs, number of scenario runs[, their duration in ms]
	[ -z "$boot_limit" ] || { echo "$boot_limit"; return; }
	runs secs "$1" "$2" duration_s="${3:-$duration_ms}"e-3 soak_s="$soak_ms"e-3 \
		control_secs="$control_secs" user_secs="$user_secs" leak_cycles="$leak_cycles" \
		soak_secs="$soak_secs" \
		bench_secs="$(bench_secs)"
}

# One boot in its own directory, kept for --recheck: the console, the results
# port, QEMU's command line and output, the kernel's config and version, and
# boot.info (runs, time limit, QEMU's exit status, why the watch stopped it).
qemu_boot() { # name accel runs timeout [kernel arguments]
	local name=$1 acc=$2 runs=$3 limit=$4 dir=$out/$1 append rc=0 qpid
	append="console=ttyS0 panic=-1 loglevel=6 numa=fake=2 vt.runs=$runs vt.scenarios=$scenarios ${5:-}"
	# The default pauses in the main boot and the broken variants' (whose
	# catches must hold under them); --params after them: a delay_rate
	# there wins.
	local p="${delay:-$([[ $1 == main || $1 == broken-* ]] && echo "$delay_default")}"
	p+="${params:+ $params}"
	append+=" vt.params=duration_ms=$(boot_duration_ms "$1")${p:+,${p// /,}}"
	[ "$acc" = tcg ] && acc=tcg,thread=multi
	local cmd=(qemu-system-x86_64 -accel "$acc" -smp "$smp" -m 2G
		-kernel "$bzimage" -initrd "$initrd" -append "$append"
		-display none -monitor none -no-reboot
		-serial "file:$dir/console.log" -serial "file:$dir/results.raw")
	rm -rf "$dir"
	mkdir -p "$dir"
	{ echo "# boot $name, killed after ${limit}s"; printf '%q ' "${cmd[@]}"; echo; } > "$dir/qemu-cmd"
	[ ! -f "$kconfig" ] || cp "$kconfig" "$dir/kernel-config"
	echo "$kversion" > "$dir/kernel-version"
	timeout --kill-after=10 "$limit" "${cmd[@]}" </dev/null >"$dir/qemu.log" 2>&1 &
	qpid=$!
	# Stops QEMU early when the console settles the verdict (a hang, a reboot).
	"$top/scripts/vmalock-py" watch "$dir/console.log" "$qpid" > "$dir/watch.txt" &
	wait "$qpid" || rc=$?
	wait $!
	printf 'runs=%s\ntimeout=%s\nstatus=%s\nkunit_py=%s\nstopped=%s\n' \
		"$runs" "$limit" "$rc" "$kunit_py" "$(cat "$dir/watch.txt")" > "$dir/boot.info"
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
		qemu_boot probe kvm probe 30 >/dev/null 2>&1
		grep -qs VMALOCK-GUEST-DONE "$out/probe/console.log" && echo ok > "$probe" || echo fail > "$probe"
		rm -rf "$out/probe"
	fi
	[ "$(cat "$probe")" = ok ] && use_accel=kvm
	return 0
}
stage accel-probe pick_accel
echo "accel: $use_accel" >&2

# Bound on the bench's time: windows of ms, 30 at most per repeat, x3 on TCG.
bench_secs() {
	local r ms
	r=$(echo "$bench" | tr ',' '\n' | sed -n 's/^repeats=//p')
	ms=$(echo "$bench" | tr ',' '\n' | sed -n 's/^ms=//p')
	[ -n "$bench" ] && echo $((30 + 3 * 30 * ${r:-5} * ${ms:-1000} / 1000)) || echo 0
}

boots() {
	local b
	[ -z "$main_runs" ] ||
		qemu_boot main "$use_accel" "$main_runs" "$(boot_timeout "$main_runs" "$nscn")" \
			"$([ $kunit -eq 1 ] && echo kunit.enable=1)${bench:+ vt.bench=$bench} vt.control=$control_secs vt.user_secs=$user_secs"
	# Leaks: kmemleak on (it costs every allocation), so a boot of its own.
	[ $lifecycle -eq 0 ] ||
		qemu_boot leak "$use_accel" leak "$(boot_timeout leak 0)" \
			"kmemleak=on vt.leak_cycles=$leak_cycles"
	# The soak: its loop ends after soak_secs, at the end of a loop.
	[ -z "$soak" ] ||
		qemu_boot soak "$use_accel" soak "$(boot_timeout soak "$nscn")" \
			"kunit.enable=1 vt.soak=$soak_secs vt.soak_ms=$soak_ms"
	for b in $broken; do
		qemu_boot "broken-$b" "$use_accel" "broken-$b" \
			"$(boot_timeout "broken-$b" "$(names runs "$scenarios" "$b")" \
				"$(boot_duration_ms "broken-$b")")"
	done
}
stage boot+run boots

rc=0
# The soak's figures, what ran and what was found, before the table.
soak_note=""
[ -z "$soak" ] || soak_note=$("$top/scripts/vmalock-py" soak "$out/soak" 2>&1) || true
judge "$out" --note "" ${soak_note:+--note "$soak_note"} \
	--note "kernel $kversion, variant $variant, accel $use_accel, smp $smp, results in $out" \
	--note "stage times: $(IFS=,; echo "${timings[*]}" | sed 's/,/, /g')" || rc=$?
exit $rc
