#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Check that every option requested by the fragments survived olddefconfig.
# Usage: check-config.sh .config FRAGMENT...
# Exit 1, naming each option that was dropped or changed.
set -euo pipefail

config=${1:?usage: check-config.sh .config FRAGMENT...}
shift
bad=0
# The last fragment that names an option wins, as in merge_config.sh.
declare -A want
for f in "$@"; do
	while IFS= read -r line; do
		case "$line" in
		CONFIG_*=*) want[${line%%=*}]=${line#*=} ;;
		"# CONFIG_"*" is not set") o=${line#\# }; want[${o%% *}]=n ;;
		esac
	done < "$f"
done
for opt in "${!want[@]}"; do
	w=${want[$opt]}
	if grep -q "^$opt=" "$config"; then
		got=$(grep "^$opt=" "$config" | cut -d= -f2-)
	else
		got=n
	fi
	if [ "$got" != "$w" ]; then
		echo "check-config: $opt requested $w, got $got" >&2
		bad=1
	fi
done
[ $bad -eq 0 ] || { echo "check-config: requested options did not survive olddefconfig (missing dependency?)" >&2; exit 1; }
echo "check-config: all ${#want[@]} requested options present"
