# SPDX-License-Identifier: GPL-2.0
#
# What the guest's runs (/runs/NAME, scripts/guest/runs/) share, sourced by
# each: the environment /init hands them, the KTAP document of a run's
# checks, the checks that take a command, and the checks on saved text.
#
# From /init: OUT (the results file: ttyS1, or VT_OUT under LAVA), params
# (module parameters, blank-separated), scenarios, SYSMON (sysmon=N of
# params, if given), RUN (the run's name).
D=/sys/kernel/debug/vmalock_test
KO="/vmalock_test.ko${SYSMON:+ $SYSMON}"
G=${G:-/}

arg() { tr ' ' '\n' < /proc/cmdline | sed -n "s/^$1=//p" | tail -1; }
say() { echo "$*"; }
result() { echo "$*" >> "$OUT"; }

# A run's checks, each one KTAP test line: check NAME CMD... adds one, note
# TEXT a diagnostic line; ktap_doc writes the run's document to OUT between
# its markers.
lc_n=0
lc_lines=""
check() { # $1 name, rest: command that must succeed
	name=$1; shift
	lc_n=$((lc_n + 1))
	if "$@" >/dev/null 2>&1; then
		lc_lines="$lc_lines
ok $lc_n $name"
	else
		lc_lines="$lc_lines
not ok $lc_n $name"
	fi
}
note() { lc_lines="$lc_lines
$*"; }
ktap_doc() { # [more]: only the results and the end (another wrote the start)
	[ -n "${1:-}" ] || { result "VMALOCK-RESULTS-BEGIN run=$RUN"; result "KTAP version 1"; result "1..$lc_n"; }
	printf '%s\n' "$lc_lines" | sed '/^$/d' >> "$OUT"
	result "VMALOCK-RESULTS-END run=$RUN"
}
fails() { ! "$@"; }
writes_fail() { ! sh -c "echo '$1' > '$2'" 2>/dev/null; }
no_threads() { ! cat /proc/[0-9]*/comm 2>/dev/null | grep -q '^vmalock_'; }
status_is() { grep -qx "$1" $D/status; }
wait_status() { # $1 state, $2 seconds
	i=0
	while [ $i -lt $(($2 * 10)) ]; do status_is "$1" && return 0; sleep 0.1; i=$((i + 1)); done
	return 1
}
dmesg_has() { dmesg | tail -5 | grep -q "$1"; }

# VT-CHECKS-BEGIN
# Checks on saved text, shared by the leak, control, bad-input and soak runs
# (and the user run's bound on the stressor). tests/test_guest_checks.py sources this block alone (from this line
# to VT-CHECKS-END) with busybox sh and feeds it fixtures, so that each check
# is shown to fail on the input it is there to catch.

# kmemleak_ours REPORT: the suspected leaks of a kmemleak report (the text of
# /sys/kernel/debug/kmemleak) that point at the module: a block ("unreferenced
# object ...") whose comm or backtrace names vmalock, or whose backtrace has a
# frame that no longer resolves to a symbol (a bare 0x... address: code of a
# module unloaded since; in the leak boot only vmalock_test is ever loaded).
# Prints "suspects=N ours=M", then the first of ours as "# " lines.
kmemleak_ours() {
	awk '
	function flush() {
		if (blk != "") { total++; if (mine) { ours++; if (first == "") first = blk } }
		blk = ""; mine = 0
	}
	/^unreferenced object / { flush(); blk = " " }
	blk == "" { next }
	{ blk = blk "\n" $0 }
	/vmalock/ { mine = 1 }
	/^[ \t]+(\[<[0-9a-f]+>\] )?0x[0-9a-f]+$/ { mine = 1 }
	END {
		flush()
		printf "suspects=%d ours=%d\n", total, ours
		n = split(first, l, "\n")
		for (i = 2; i <= n && i < 22; i++) print "# " l[i]
	}' "$1"
}

# vt_threads [PROC]: the module's threads alive (their comm), one a line.
vt_threads() {
	cat "${1:-/proc}"/[0-9]*/comm 2>/dev/null | grep '^vmalock_'
}

# errno_of FILE: the errno a failed dd, echo or insmod reported in FILE (its
# stderr), by name; "ok" for an empty FILE.
errno_of() {
	[ -s "$1" ] || { echo ok; return; }
	read -r l < "$1"
	case $l in
	*"Invalid argument"* | *"invalid module parameters"* | *"invalid parameter"*) echo EINVAL ;;
	*"busy"*) echo EBUSY ;;
	*"No space left on device"*) echo ENOSPC ;;
	*"out of range"*) echo ERANGE ;;
	*"Interrupted"*) echo EINTR ;;
	*"temporarily unavailable"*) echo EAGAIN ;;
	*) echo "other: $l" ;;
	esac
}

# expand_data TEXT: TEXT with each <N*C> replaced by N copies of C (for
# inputs longer than a page), then its printf %b escapes (\n, \t, \0).
expand_data() {
	printf '%s' "$1" | awk '{
		while (match($0, /<[0-9]+\*[^>]>/)) {
			n = substr($0, RSTART + 1, RLENGTH - 4) + 0
			c = substr($0, RSTART + RLENGTH - 2, 1)
			r = ""
			for (i = 0; i < n; i++) r = r c
			$0 = substr($0, 1, RSTART - 1) r substr($0, RSTART + RLENGTH)
		}
		printf "%s", $0
	}' > /tmp/expand.$$
	printf '%b' "$(cat /tmp/expand.$$)"
	rm -f /tmp/expand.$$
}

# whole_ktap FILE: FILE holds one of the results file's documented answers:
# a whole KTAP document (first line "KTAP version 1", one plan 1..N, then N
# results numbered 1..N) or one of its two one-line notes. Prints why not.
whole_ktap() {
	awk '
	NR == 1 { first = $0; next }
	/^[0-9]*\.\.[0-9]+$/ { plans++; plan = substr($0, 4) + 0; if ($0 !~ /^1\.\./) bad = "plan " $0; next }
	/^(not )?ok / {
		k++; num = ($1 == "not") ? $3 : $2
		if (!plans && bad == "") bad = "result before the plan"
		if (num != k && bad == "") bad = "result " k " numbered " num
		next
	}
	/^#/ || /^[ \t]/ { next }
	{ if (bad == "") bad = "stray line: " $0 }
	END {
		if (NR == 1 && (first == "# a run is in progress" || first == "# no run yet")) exit 0
		if (NR == 0) { print "empty"; exit 1 }
		if (first != "KTAP version 1") { print "first line: " first; exit 1 }
		if (plans != 1) { print plans + 0 " plans"; exit 1 }
		if (bad != "") { print bad; exit 1 }
		if (k != plan) { print "plan 1.." plan " but " k " results"; exit 1 }
	}' "$1"
}

# status_ok FILE: FILE is a documented answer of the status file: idle, done,
# or running followed by "scenario=NAME broken=NAME seed=N". Prints why not.
status_ok() {
	awk '
	NR == 1 { s = $0 }
	NR == 2 { l2 = $0 }
	END {
		if (s == "idle" || s == "done") { if (NR == 1) exit 0; print s " with more lines"; exit 1 }
		if (s == "running" && l2 ~ /^scenario=[a-z_]* broken=[a-z_]+ seed=[0-9]+$/) exit 0
		print "status: " s " / " l2; exit 1
	}' "$1"
}

# growth FILE KEY TOL: KEY's samples (KEY=N in each line of FILE, one line a
# loop) after the first (a warm-up) grew by more than TOL from the first to
# the last AND rose in at least 3 of every 4 steps: memory the loops do not
# give back. Prints one line with the figures; fails on such growth.
growth() {
	awk -v key="$2" -v tol="$3" '
	{ for (i = 1; i <= NF; i++) if (index($i, key "=") == 1) v[n++] = substr($i, length(key) + 2) + 0 }
	END {
		if (n < 3) { printf "%s: %d samples, too few to judge growth (the first is a warm-up)\n", key, n; exit 0 }
		up = 0
		for (i = 2; i < n; i++) if (v[i] > v[i - 1]) up++
		g = v[n - 1] - v[1]
		printf "%s: %d -> %d over %d loops after the warm-up (growth %d, tolerance %d, rose in %d of %d steps)\n", key, v[1], v[n - 1], n - 1, g, tol, up, n - 2
		if (g > tol && up * 4 >= (n - 2) * 3) exit 1
	}' "$1"
}

# ktap_sum FILE KEY: the sum of KEY=N over the "# SCENARIO: " diagnostic
# lines of a results document (first match per line; not the sysmon's).
ktap_sum() {
	awk -v key="$2" '/^# [a-z_]+: / && !/^# sysmon: / {
		for (i = 3; i <= NF; i++) if (index($i, key "=") == 1) { s += substr($i, length(key) + 2); break }
	} END { print s + 0 }' "$1"
}

# bounded SECS CMD...: run CMD (its status is returned), which must end
# within SECS. Past that it is stuck in the kernel, where no signal reaches
# it: say so at once, with its threads' kernel stacks, on the console
# ($HANG_TO), where the host ends the boot in seconds rather than after the
# hung-task detector (30-60 s) or the boot's time limit. Then wait on.
bounded() {
	b_lim=$1
	shift
	"$@" &
	b_pid=$!
	(
		i=0
		while kill -0 $b_pid 2>/dev/null; do
			if [ $i -eq "$b_lim" ]; then
				{
					echo "VMALOCK-HANG: $1 has not ended $b_lim s after it began"
					for s in /proc/$b_pid/task/*/stack; do
						echo "# ${s%/stack}:"
						cat "$s"
					done
				} > "${HANG_TO:-/dev/console}" 2>&1
			fi
			sleep 1
			i=$((i + 1))
		done
	) &
	b_watch=$!
	wait $b_pid
	b_rc=$?
	wait $b_watch
	return $b_rc
}
# VT-CHECKS-END

# In-use objects of a slab cache, after kmem_cache_shrink() (the shrink

# In-use objects of a slab cache, after kmem_cache_shrink() (the shrink
# file) has flushed the per-CPU slabs and KASAN's quarantine of that cache
# back to the lists /sys/kernel/slab/CACHE/objects counts.
# The least of three readings, 0.2 s apart: exited tasks' mms are freed a
# little later (lazy TLB references, deferred mmdrop).
slab_objs() {
	m=""
	for r in 1 2 3; do
		echo 1 > "/sys/kernel/slab/$1/shrink" 2>/dev/null
		read -r v _ < "/sys/kernel/slab/$1/objects"
		[ -n "$m" ] && [ "$m" -le "$v" ] || m=$v
		[ $r = 3 ] || sleep 0.2
	done
	echo "$m"
}
mm_counts() { echo "mm_struct=$(slab_objs mm_struct) vm_area_struct=$(slab_objs vm_area_struct)"; }
field() { echo "$2" | tr ' ' '\n' | sed -n "s/^$1=//p"; } # $1 key, $2 "k=v ..."

# rmmod, retried while the module is in use (an open debugfs file).
rmmod_retry() {
	j=0
	while ! rmmod vmalock_test 2>/dev/null; do
		j=$((j + 1))
		[ $j -lt 300 ] || return 1
		sleep 0.02
	done
	rm_retries=$((rm_retries + j))
}
