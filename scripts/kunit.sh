#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# kunit.py run for the suites in kunit/, on the pipeline's kernel build.
#
# Usage: kunit.sh [kunit.py run options], e.g. --filter_glob='vmalock_race.*'
# Environment: VARIANT (default debug), KDIR, CACHE as for build-kernel.sh.
#
# The build is the one vmalock-run.sh uses (build-kernel.sh: patched tree,
# suites built in). kunit.py reuses a build directory when its .config
# already holds the kunitconfig and the .kunitconfig it wrote last time is
# the same; the second half is written here, so nothing is rebuilt.
# kunit.py asks QEMU for KVM first; unless a probe boot (vmalock-run.sh)
# showed that KVM works here, /dev/kvm is hidden in a private mount
# namespace so that QEMU falls back to TCG.
#
# Exit status: kunit.py's; 2 on bad usage (one line on stderr, before
# anything is built: VARIANT, KDIR, and the options, which kunit.py itself
# parses first, in a run that stops there).
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
export CACHE=${CACHE:-$HOME/.cache/vmalock-test}
prog=kunit
# shellcheck source-path=SCRIPTDIR source=lib/args.sh
. "$top/scripts/lib/args.sh"
variant=${VARIANT:-debug}
check_variant "$variant"
check_kdir

# The options, by kunit.py's own parser (--list-opts: parse, print the
# option names, stop), from KDIR's tree or, without KDIR, the tree
# build-kernel.sh will use.
check_opts() { # kunit.py options...
	local py=$1 err
	shift
	[ -f "$py" ] || die "no $py: the tree has no KUnit"
	err=$(PYTHONDONTWRITEBYTECODE=1 python3 "$py" run "$@" --list-opts 2>&1 >/dev/null) &&
		return 0
	die "$(echo "$err" | grep -m1 'error:' | sed 's/^kunit\.py[a-z ]*: error: //') (see kunit.py run --help)"
}
check_timeout() {
	local a next=0
	for a; do
		[ $next -eq 0 ] || int unused --timeout "$a" 1 86400
		next=0
		case $a in
		--timeout) next=1 ;;
		--timeout=*) int unused --timeout "${a#--timeout=}" 1 86400 ;;
		esac
	done
}
check_timeout "$@"
[ -z "${KDIR:-}" ] || check_opts "$KDIR/tools/testing/kunit/kunit.py" "$@"

"$top/scripts/deps.sh" >&2
if [ -z "${KDIR:-}" ]; then
	tree=$("$top/scripts/get-kernel.sh" | tail -1)
	check_opts "$tree/tools/testing/kunit/kunit.py" "$@"
fi
kbuild=$("$top/scripts/build-kernel.sh" "$variant" | tail -1)
kdir=$(cat "$kbuild/.vmalock-kdir")

# The entries kunit.py computes: its x86_64 QEMU options plus ours.
{
	printf 'CONFIG_SERIAL_8250=y\nCONFIG_SERIAL_8250_CONSOLE=y\n'
	grep '^CONFIG_' "$top/kunit/.kunitconfig"
} > "$kbuild/.kunitconfig"

cmd=(python3 "$kdir/tools/testing/kunit/kunit.py" run --arch=x86_64
     --build_dir="$kbuild" --kunitconfig="$top/kunit"
     --jobs="$(($(nproc) + 1))" --qemu_args='-smp 2' "$@")

if [ -e /dev/kvm ] && [ "$(cat "$CACHE/kvm-probe" 2>/dev/null)" != ok ]; then
	echo "kunit: KVM not proven to work here: hiding /dev/kvm, QEMU uses TCG" >&2
	exec unshare --mount sh -c 'mount --bind /dev/null /dev/kvm && exec "$@"' sh "${cmd[@]}"
fi
exec "${cmd[@]}"
