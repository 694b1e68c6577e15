#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Configure and build a test kernel for one variant.
#
# Usage: build-kernel.sh VARIANT
# Environment:
#   KDIR   your kernel source tree, never written to: it is built from a
#          patched shadow of it in the cache (vmalock/shadow_tree.py). Default:
#          the Debian linux-source fetched by get-kernel.sh, the project's
#          own, patched in place by patch-kernel.sh
#   CACHE  cache directory (default ~/.cache/vmalock-test)
#   JOBS   parallel make jobs (default: CPUs + 1)
#
# Exit status: 0 built, 2 on bad usage or a tree refused (check-tree.sh,
# patch-kernel.sh: one line, nothing written), 1 on a failed build.
#
# The build goes to $CACHE/build/<tree>-<variant> (an O= directory, so the
# source tree stays clean and variants build side by side). The last line on
# stdout is that directory. ARCH=x86_64 as kunit.py passes it: a different
# ARCH on the command line would make each rebuild everything.
set -euo pipefail

prog=build-kernel
top=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source-path=SCRIPTDIR source=lib/args.sh
. "$top/scripts/lib/args.sh"
CACHE=${CACHE:-$HOME/.cache/vmalock-test}

# Everything a bad input can fail, before the tree is fetched or touched.
[ $# -eq 1 ] || die "usage: build-kernel.sh VARIANT (one of: $(variants))"
check_variant "$1"
variant=$1
int JOBS JOBS "${JOBS:-$(($(nproc) + 1))}" 1 1024

log() { echo "build-kernel: $*" >&2; }

# Your tree or the Debian one: refused (exit 2) unless it has the vm_refcnt
# lock and the patches apply, before anything is written.
yours=${KDIR:-}
[ -n "${KDIR:-}" ] || KDIR=$("$top/scripts/get-kernel.sh" | tail -1)
check_kdir "$KDIR"
KDIR=$(cd "$KDIR" && pwd)
mkdir -p "$CACHE/build"
if [ -n "$yours" ]; then
	# Yours: patched and built in its shadow, refreshed now.
	yours=$KDIR
	KDIR=$("$top/scripts/vmalock-py" shadow_tree "$KDIR" | tail -1)
else
	# Two clones (or two shells) sharing the Debian tree: one patches it
	# at a time, and one builds each variant at a time; variants build
	# side by side.
	exec 8>"$CACHE/build/.lock-$(basename "$KDIR")"
	flock 8
	"$top/scripts/patch-kernel.sh" --skip-optional "$KDIR" >&2
	exec 8>&-
fi
"$top/scripts/check-tree.sh" "$KDIR" >&2

out=$CACHE/build/$(basename "$KDIR")-$variant
mkdir -p "$out"
exec 9>"$out/.lock"
flock 9

# Configure only when a fragment changed, so a second run is incremental.
frags=("$top/configs/base.config" "$top/configs/$variant.config")
sum=$(cat "${frags[@]}" | sha256sum | cut -d' ' -f1)
if [ ! -f "$out/.config" ] || [ "$(cat "$out/.vmalock-config-sum" 2>/dev/null)" != "$sum" ]; then
	log "configuring $variant in $out"
	(cd "$KDIR" && KCONFIG_CONFIG="$out/.config" \
		scripts/kconfig/merge_config.sh -n -m -O "$out" "${frags[@]}" >/dev/null)
	make -s -C "$KDIR" O="$out" ARCH=x86_64 olddefconfig >/dev/null
	"$top/scripts/check-config.sh" "$out/.config" "${frags[@]}" >&2
	echo "$sum" > "$out/.vmalock-config-sum"
fi

log "building $variant ($JOBS jobs)"
make -s -C "$KDIR" O="$out" ARCH=x86_64 -j"$JOBS" bzImage modules >&2
echo "$KDIR" > "$out/.vmalock-kdir"
# The patches left out (name, what goes without, module parameters, why),
# for vmalock-run.sh and the verdict.
if [ -s "$KDIR/.vmalock-patches/skipped" ]; then
	cp "$KDIR/.vmalock-patches/skipped" "$out/.vmalock-skipped"
else
	rm -f "$out/.vmalock-skipped"
fi
version=$(make -s -C "$KDIR" O="$out" ARCH=x86_64 kernelrelease 2>/dev/null)
deb=$(cat "$KDIR/.debian-version" 2>/dev/null || echo "user tree ${yours:-$KDIR}")
echo "$version ($deb)" > "$out/.vmalock-version"
log "built $version"
echo "$out"
