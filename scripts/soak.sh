#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Soak: one boot that loops over every scenario with the real lock
# operations, the user-space stressor (with the watch scenario's monitors)
# and the KUnit suites for a given time, and fails on any violation, kernel
# splat, hang, or growth of memory over the loops (mm and VMA slab objects,
# unreclaimable slab, vmalloc, per-CPU), or a thread or test mm left after
# rmmod. Prints what ran (loops, scenario runs, lock operations, faults, VMA
# frees checked, KUnit runs) and what was found, then vmalock-run.sh's table.
#
# Usage: soak.sh [options]
#   --duration D       how long to loop: N, Ns, Nm or Nh (default 30m)
#   --variant NAME     kernel config variant: debug (default), kcsan, perf
#   --smp N            guest CPUs (default 2)
#   --soak-ms N        duration of each scenario in a loop (default 3000)
#   --accel A          auto (default), tcg, kvm
#   --out DIR          results directory (default results/<timestamp>)
# Environment: as vmalock-run.sh (KDIR, CACHE, KBUILD).
#
# Exit status: 0 if the soak passed, 1 if not, 2 on bad usage.
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
prog=soak
usage() { sed -n '/^# Usage/,/^# Exit/p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2; }
# shellcheck source-path=SCRIPTDIR source=lib/args.sh
. "$top/scripts/lib/args.sh"

duration=30m args=()
while [ $# -gt 0 ]; do
	case $1 in
	--duration) value "$@"; duration=$2; shift ;;
	--variant|--smp|--soak-ms|--accel|--out) value "$@"; args+=("$1" "$2"); shift ;;
	-h|--help) usage ;;
	*) unknown_option "$1" ;;
	esac
	shift
done
[[ $duration =~ ^([0-9]{1,6})([smh]?)$ ]] ||
	die "--duration takes N, Ns, Nm or Nh (10s..24h), got '$duration'"
unit=${BASH_REMATCH[2]} secs=$((10#${BASH_REMATCH[1]}))
[ "$unit" != m ] || secs=$((secs * 60))
[ "$unit" != h ] || secs=$((secs * 3600))
[ "$secs" -ge 10 ] && [ "$secs" -le 86400 ] || die "--duration must be 10s..24h, got '$duration'"
# vmalock-run.sh checks the other values (and KDIR), refusing bad ones in one line.
exec "$top/scripts/vmalock-run.sh" --no-real --no-kunit --no-user --soak "$duration" "${args[@]}"
