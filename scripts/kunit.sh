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
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
export CACHE=${CACHE:-$HOME/.cache/vmalock-test}
variant=${VARIANT:-debug}

"$top/scripts/deps.sh" >&2
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
