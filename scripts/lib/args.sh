# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=bash disable=SC2154 # prog and top: set by the script that sources this
#
# Option checking shared by the host scripts. A bad input ends the script
# with one line on stderr, "PROG: what is wrong; what is allowed", and exit
# status 2, before it fetches, builds, boots or writes anything.
#
# Needs prog (the name messages start with) and top (the repository) set.
# The options a script takes are read from its header comment (the lines
# starting with # at the top of the file), so the list in a message is the
# one --help shows.

die() { echo "$prog: $*" >&2; exit 2; }

# The header comment of the running script, without the leading "# ".
header() { awk 'NR > 1 && !/^#/ { exit } NR > 1 { sub(/^# ?/, ""); print }' "$0"; }

# The options the header names, on one line.
header_opts() {
	header | grep -o -- '--[a-z][a-z_-]*' | awk '!seen[$0]++' | tr '\n' ' ' | sed 's/ $//'
}

unknown_option() { die "unknown option '$1'; allowed: $(header_opts) (--help explains them)"; }

# The header's line for an option, squeezed: what its value should be. Every
# reader takes all its input: one that stopped at the first match (grep -m1)
# would leave the header's writer to die of SIGPIPE, which pipefail reports.
opt_help() {
	{ header | grep -E -- "^[[:space:]]*$1([ ,=]|\$)" || true; } |
		sed -n '1{s/[[:space:]][[:space:]]*/ /g;s/^ //;s/ $//;p;}'
}

# value "$@": the option in $1 has a non-empty value in $2.
value() {
	[ $# -ge 2 ] && [ -n "$2" ] && [[ $2 != --* ]] && return 0
	local h
	h=$(opt_help "$1")
	die "$1 needs a value${h:+ ($h)}"
}

# value_or_empty "$@": as value, but an empty value is one.
value_or_empty() {
	[ $# -ge 2 ] && [[ $2 != --* ]] && return 0
	value "$1"
}

# int VAR OPTION VALUE MIN MAX: VAR=VALUE as a decimal number (leading zeros
# dropped: bash would read 08 as octal), if it is one in MIN..MAX.
int() {
	local var=$1 opt=$2 v=$3 min=$4 max=$5
	[[ $v =~ ^[0-9]+$ ]] || die "$opt needs a number, got '$v' (allowed: $min..$max)"
	v=$(echo "$v" | sed 's/^0*//')
	v=${v:-0}
	# More digits than any limit here: out of range, and of bash's integers.
	{ [ ${#v} -le 9 ] && [ "$v" -ge "$min" ] && [ "$v" -le "$max" ]; } ||
		die "$opt must be $min..$max, got $3"
	printf -v "$var" '%s' "$v"
}

# The kernel variants: configs/*.config but base, on one line.
variants() {
	(cd "$top/configs" && ls -- *.config) | sed 's/\.config$//' | grep -vx base |
		tr '\n' ' ' | sed 's/ $//'
}

# check_variant NAME: NAME is a kernel variant.
check_variant() {
	[ -n "$1" ] && [ -f "$top/configs/$1.config" ] && [ "$1" != base ] && return 0
	die "unknown variant '$1'; allowed: $(variants)"
}

# check_out DIR: DIR can be a results directory (it is one, or does not exist).
check_out() {
	[ ! -e "$1" ] || [ -d "$1" ] || die "--out $1: exists and is not a directory"
}

# check_kdir [TREE]: TREE (default $KDIR, if set) is a kernel tree this
# project can use, and its patches apply to it (a dry run: nothing is
# written), but for those the run can go without (optional-patches: each
# named on stderr, with the file and hunk). Otherwise check-tree.sh's or
# patch-kernel.sh's one line, exit 2.
check_kdir() {
	local kdir=${1:-${KDIR:-}}
	[ -n "$kdir" ] || return 0
	"$top/scripts/check-tree.sh" "$kdir" >/dev/null || exit 2
	"$top/scripts/patch-kernel.sh" --check --skip-optional "$kdir" >/dev/null || exit 2
}
