# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=bash
#
# The project's private apt configuration, sourced by get-kernel.sh and
# lkmm.sh: packages are looked up and downloaded from the trixie-backports
# and sid suites of the Debian mirror the system already uses, with lists and
# archives in the cache, leaving the system's sources list and package state
# untouched. Nothing is installed: callers unpack what they download.
#
# Needs CACHE set and a log function. Sets apt_dir and the apt_opts array
# (pass "${apt_opts[@]}" to apt-get and apt-cache); private_apt_refresh
# updates the lists at most once a day.

apt_dir=$CACHE/apt
mkdir -p "$apt_dir/lists/partial" "$apt_dir/archives/partial"

# The Debian mirror the system already uses (first URIs/deb line naming a
# debian suite), so no host name is written here.
mirror=$(sed -n 's/^URIs:[[:space:]]*\([^[:space:]]*\/debian\)[[:space:]]*$/\1/p' \
	/etc/apt/sources.list.d/*.sources 2>/dev/null | head -1)
[ -n "$mirror" ] || mirror=$(sed -n 's/^deb[[:space:]]\+\(\[[^]]*\][[:space:]]\+\)\?\([^[:space:]]*\/debian\)[[:space:]].*/\2/p' \
	/etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null | head -1)
[ -n "$mirror" ] || { log "no Debian mirror found in the system's apt sources"; exit 1; }

cat > "$apt_dir/sources.list" <<EOS
deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] $mirror trixie-backports main
deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] $mirror sid main
EOS

apt_opts=(-o "APT::Sandbox::User=root"
	  -o "Dir::Etc::sourcelist=$apt_dir/sources.list"
	  -o "Dir::Etc::sourceparts=-"
	  -o "Dir::State::Lists=$apt_dir/lists"
	  -o "Dir::Cache::Archives=$apt_dir/archives"
	  -o "Dir::Cache::pkgcache=" -o "Dir::Cache::srcpkgcache="
	  -o "APT::Get::List-Cleanup=0"
	  -o "Acquire::Languages=none")

# Refresh the lists at most once a day.
private_apt_refresh() {
	local stamp=$apt_dir/lists/.stamp

	if [ -z "$(find "$stamp" -mtime -1 2>/dev/null)" ]; then
		log "updating private package lists"
		apt-get "${apt_opts[@]}" update -qq >&2
		touch "$stamp"
	fi
}
