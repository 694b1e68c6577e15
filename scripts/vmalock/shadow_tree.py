# SPDX-License-Identifier: GPL-2.0
#
# The tree a kernel tree of yours (KDIR) is patched and built from: a shadow
# of it in the cache, so that your tree is never written to (its git status
# and git diff stay as they were; kvm.sh and kunit.py do the same with their
# build directories).
#
# The shadow is a tree of hard links to your files, refreshed on every run:
# a file you edited in place is the shadow's already, one replaced (an
# editor's rename, a git checkout) is linked again, one added or removed is
# added or removed; an unchanged file keeps its inode and time stamp, so an
# unchanged tree rebuilds nothing. In a git tree the files are git's, tracked
# and untracked but not ignored (build outputs of an in-tree build stay
# out); otherwise every file but .git. The files the project's patches
# touch (patches/*.patch) are copies instead, patched by patch-kernel.sh
# --skip-optional (a patch the run can go without that does not apply is
# left out, by name), and made again only when your version of one of them
# or patches/ changed, so they too keep their time stamps from run to run.
# A tree on another file system than the cache is copied, not linked
# (slower, same result).
# Hard links, not a git worktree: a worktree holds commits, not the edits
# you have not committed, and a tree needs not be a git tree.
#
# usage: vmalock-py shadow_tree KDIR
# Prints the shadow's path last on stdout: $CACHE/shadow/<name>-<hash of
# KDIR's path> (CACHE: default ~/.cache/vmalock-test).
# Exit status: 0 done, 2 bad usage or a tree patch-kernel.sh refuses (its
# one line), 1 another error.

import errno
import fcntl
import glob
import hashlib
import os
import shutil
import subprocess
import sys

from vmalock import TOP

PATCHES = os.path.join(TOP, 'patches')
OPTIONAL = os.path.join(TOP, 'scripts', 'lib', 'optional-patches')
STATE = '.vmalock-shadow'
# What patch-kernel.sh writes besides the patched files.
OWN_EXTRA = ['.vmalock-patches', 'mm/tests/vmalock_kunit.c', 'mm/tests/vmalock_monitor.h']


def die(msg, status=2):
	print(f'shadow-tree: {msg}', file=sys.stderr)
	sys.exit(status)


def patched_files():
	"""The files patches/ touch (a/ and b/ sides)."""
	files = set()
	for p in sorted(glob.glob(os.path.join(PATCHES, '*.patch'))):
		with open(p, errors='replace') as f:
			for line in f:
				for side in ('--- a/', '+++ b/'):
					if line.startswith(side):
						files.add(line[len(side):].split('\t')[0].rstrip('\n'))
	return sorted(files)


def source_files(kdir):
	"""The tree's files, relative: git's (tracked, and untracked but not
	ignored) in the top of a git tree, else every file but .git's."""
	top = subprocess.run(['git', '-C', kdir, 'rev-parse', '--show-toplevel'],
			     capture_output=True, text=True)
	if top.returncode == 0 and os.path.realpath(top.stdout.strip()) == os.path.realpath(kdir):
		out = subprocess.run(['git', '-C', kdir, 'ls-files', '-z', '-co', '--exclude-standard'],
				     capture_output=True, check=True).stdout
		# A file deleted but not yet staged is listed and absent.
		return {f for f in out.decode('utf-8', 'surrogateescape').split('\0')
			if f and os.path.lexists(os.path.join(kdir, f))}
	files = set()
	for root, dirs, names in os.walk(kdir):
		if root == kdir and '.git' in dirs:
			dirs.remove('.git')
		rel = os.path.relpath(root, kdir)
		for n in names:
			files.add(n if rel == '.' else os.path.join(rel, n))
		for d in dirs:		# a symbolic link to a directory
			if os.path.islink(os.path.join(root, d)):
				files.add(d if rel == '.' else os.path.join(rel, d))
	return files


def same(src, dst):
	"""Whether dst already is src (its hard link, or the same symlink)."""
	try:
		if os.path.islink(src):
			return os.path.islink(dst) and os.readlink(src) == os.readlink(dst)
		if os.path.islink(dst):
			return False
		return os.path.samefile(src, dst)
	except OSError:
		return False


def remove(path):
	if os.path.isdir(path) and not os.path.islink(path):
		shutil.rmtree(path)
	elif os.path.lexists(path):
		os.unlink(path)


def place(src, dst, link):
	"""dst as a hard link to src (a copy if link is False or cannot be),
	a symlink as a symlink. Returns whether it could link."""
	remove(dst)
	os.makedirs(os.path.dirname(dst), exist_ok=True)
	if os.path.islink(src):
		os.symlink(os.readlink(src), dst)
		return link
	if link:
		try:
			os.link(src, dst)
			return True
		except OSError as e:
			if e.errno not in (errno.EXDEV, errno.EPERM, errno.EMLINK):
				raise
	shutil.copy2(src, dst)
	return False


def own_key(kdir, own):
	"""What the patched files are made from: your version of each (or its
	absence), patches/, and which of them a run may leave out
	(scripts/lib/optional-patches)."""
	h = hashlib.sha256()
	for f in own:
		h.update(f.encode() + b'\0')
		p = os.path.join(kdir, f)
		if os.path.isfile(p):
			with open(p, 'rb') as fh:
				h.update(hashlib.sha256(fh.read()).digest())
		else:
			h.update(b'absent')
	for p in sorted(glob.glob(os.path.join(PATCHES, '*.patch'))) + sorted(
			glob.glob(os.path.join(kdir, '.vmalock-patches', '*'))) + [OPTIONAL]:
		with open(p, 'rb') as fh:
			h.update(os.path.relpath(p, os.path.dirname(os.path.dirname(p))).encode() +
				 b'\0' + hashlib.sha256(fh.read()).digest())
	return h.hexdigest()


def digest(path):
	with open(path, 'rb') as f:
		return hashlib.sha256(f.read()).digest()


def remake(kdir, shadow, own):
	"""Your version of a patched file (or patches/) changed: the shadow's
	patched files from copies of yours. Returns {file: (digest, mtime)} of
	what they were."""
	was = {f: (digest(p), os.stat(p).st_mtime_ns) for f in own
	       for p in [os.path.join(shadow, f)] if os.path.isfile(p) and not os.path.islink(p)}
	remove(os.path.join(shadow, STATE))
	for f in own + OWN_EXTRA:
		remove(os.path.join(shadow, f))
		s = os.path.join(kdir, f)
		if f in own and os.path.isfile(s):
			place(s, os.path.join(shadow, f), False)
	# A tree an earlier version of this harness patched in place: its
	# record of the patches applied comes along, patch-kernel.sh goes on
	# from there.
	if os.path.isdir(os.path.join(kdir, '.vmalock-patches')):
		shutil.copytree(os.path.join(kdir, '.vmalock-patches'),
				os.path.join(shadow, '.vmalock-patches'))
	return was


def restamp(shadow, was):
	"""A patched file that came out as it was gets its time stamp back:
	make rebuilds only what depends on the files that changed."""
	for f, (d, mtime) in was.items():
		p = os.path.join(shadow, f)
		if os.path.isfile(p) and digest(p) == d:
			os.utime(p, ns=(mtime, mtime))


def refresh(kdir, shadow):
	"""Bring the shadow up to date with kdir; patch it if needed."""
	own = patched_files()
	keep = set(own) | set(OWN_EXTRA) | {STATE}
	src = {f for f in source_files(kdir) - keep
	       if not any(f.startswith(k + '/') for k in keep)}
	link = True
	relinked = 0
	for f in sorted(src):
		s, d = os.path.join(kdir, f), os.path.join(shadow, f)
		if not same(s, d):
			link = place(s, d, link)
			relinked += 1
	# What is in the shadow and no longer in your tree goes.
	gone = 0
	for root, dirs, names in os.walk(shadow, topdown=False):
		rel = os.path.relpath(root, shadow)
		for n in names + [d for d in dirs if os.path.islink(os.path.join(root, d))]:
			f = n if rel == '.' else os.path.join(rel, n)
			if f not in src and f not in keep and not any(
					f.startswith(k + '/') for k in keep):
				os.unlink(os.path.join(root, n))
				gone += 1
		if rel != '.' and not os.listdir(root):
			os.rmdir(root)
	key = own_key(kdir, own)
	try:
		with open(os.path.join(shadow, STATE)) as f:
			old = f.read().split('\n')[0]
	except OSError:
		old = ''
	print(f'shadow-tree: {shadow}: {relinked} files linked anew, {gone} removed'
	      + ('' if link else ' (copied: another file system than the cache)'), file=sys.stderr)
	was = remake(kdir, shadow, own) if old != key else None
	# Every run, as on any tree: patch-kernel.sh finds the patches applied
	# (or applies patches/ as changed) and links the KUnit suite of the
	# clone in use.
	r = subprocess.run([os.path.join(TOP, 'scripts', 'patch-kernel.sh'), '--skip-optional',
			    shadow], stdout=sys.stderr)
	if r.returncode != 0:
		sys.exit(r.returncode)
	if was is not None:
		restamp(shadow, was)
		with open(os.path.join(shadow, STATE), 'w') as f:
			f.write(key + '\n' + kdir + '\n')


def main(argv):
	if len(argv) != 1 or not argv[0] or argv[0].startswith('-'):
		die('usage: vmalock-py shadow_tree KDIR')
	kdir = os.path.abspath(argv[0])
	if not os.path.isdir(kdir):
		die(f'{argv[0]}: not a kernel source tree (no such directory)')
	if not os.path.isdir(os.path.join(kdir, 'mm')):
		die(f'{argv[0]}: not a kernel source tree (no mm/)')
	cache = os.environ.get('CACHE') or os.path.expanduser('~/.cache/vmalock-test')
	base = os.path.join(os.path.abspath(cache), 'shadow')
	name = os.path.basename(kdir) + '-' + hashlib.sha256(kdir.encode()).hexdigest()[:8]
	shadow = os.path.join(base, name)
	if os.path.realpath(shadow).startswith(os.path.realpath(kdir) + os.sep):
		die(f'{kdir}: the cache ({cache}) is inside it; set CACHE= elsewhere')
	os.makedirs(shadow, exist_ok=True)
	# One refresh of a shadow at a time (two shells, two clones).
	with open(os.path.join(base, f'.lock-{name}'), 'w') as lock:
		fcntl.flock(lock, fcntl.LOCK_EX)
		refresh(kdir, shadow)
	print(shadow)
	return 0


if __name__ == '__main__':
	sys.exit(main(sys.argv[1:]))
