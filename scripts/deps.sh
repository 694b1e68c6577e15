#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Install what a fresh Debian 12 machine lacks to build and boot the test
# kernel and to run every host test (docutils for the docs, gnuplot for the
# bench plots). Idempotent: does nothing when every package is already
# present.
#
# Usage: deps.sh [--lava] [--lava-dispatcher]
#   --lava             also what scripts/lava-job.sh needs to write and
#                      validate LAVA jobs: lava-common (LAVA's job schema)
#   --lava-dispatcher  also lava-dispatcher, to run a job here with lava-run
#                      (about 150 packages)
set -euo pipefail

pkgs=(qemu-system-x86 qemu-utils flex bison bc libelf-dev libssl-dev dwarves
      cpio busybox-static xz-utils zstd kmod python3 gcc make rsync libc6-dev
      sparse ca-certificates python3-docutils gzip gnuplot-nox
      libnuma-dev libcap-dev)
for opt in "$@"; do
	case $opt in
	--lava) pkgs+=(lava-common python3-yaml) ;;
	--lava-dispatcher) pkgs+=(lava-common python3-yaml lava-dispatcher) ;;
	*) echo "deps: unknown option '$opt'; allowed: --lava --lava-dispatcher" >&2; exit 2 ;;
	esac
done

missing=()
for p in "${pkgs[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed' ||
		missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
	echo "deps: all present"
	exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
	echo "deps: missing ${missing[*]}; run as root or install them" >&2
	exit 1
fi
echo "deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
