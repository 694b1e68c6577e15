#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Install what scripts/lava-job.sh needs from Debian 12: lava-common (LAVA's
# job schema, with python3-yaml and python3-voluptuous) to write and
# validate jobs, and busybox-static for the guest (tests/test_lava.py runs
# the guest's scripts with it); with --dispatcher also lava-dispatcher
# (lava-run, about 150 packages) to run a job here. Idempotent, like
# scripts/deps.sh.
set -euo pipefail

pkgs=(lava-common python3-yaml busybox-static cpio gzip)
[ "${1:-}" = --dispatcher ] && pkgs+=(lava-dispatcher qemu-system-x86)
[ $# -eq 0 ] || [ "$1" = --dispatcher ] || { echo "deps-lava: unknown option '$1'" >&2; exit 2; }

missing=()
for p in "${pkgs[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed' ||
		missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
	echo "deps-lava: all present"
	exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
	echo "deps-lava: missing ${missing[*]}; run as root or install them" >&2
	exit 1
fi
echo "deps-lava: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
