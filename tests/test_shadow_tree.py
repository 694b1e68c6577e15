# SPDX-License-Identifier: GPL-2.0
#
# scripts/vmalock/shadow_tree.py (by way of scripts/vmalock-py) on a small fake tree (the files patches/ touch, as
# the patches expect them, and a few others): your tree is never written to
# (git status, git diff and every file's bytes, mode and time stamp as they
# were), the shadow is patched, an unchanged tree gives an unchanged shadow
# (nothing to rebuild), and each kind of edit in your tree reaches it.

import glob
import hashlib
import os
import shutil
import subprocess
import tempfile
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
TOP = os.path.join(HERE, '..')
CMD = [os.path.join(TOP, 'scripts', 'vmalock-py'), 'shadow_tree']


def run(*args, **kw):
	return subprocess.run(args, capture_output=True, text=True, **kw)


def pre_images(tree):
	"""Each file the patches change, as they expect to find it (every hunk's
	pre-image, in patch order, each after a line of its own)."""
	frags = {}
	for name in sorted(glob.glob('*.patch', root_dir=os.path.join(TOP, 'patches'))):
		with open(os.path.join(TOP, 'patches', name)) as f:
			text = f.read()
		for part in text.split('\n--- a/')[1:]:
			path = part.split('\n', 1)[0].strip()
			for n, hunk in enumerate(part.split('\n@@')[1:]):
				body = hunk.split('\n')[1:]
				frags.setdefault(path, []).append(f'/* {name} hunk {n} */')
				frags[path] += [ln[1:] for ln in body if ln.startswith((' ', '-'))]
	for path, lines in frags.items():
		full = os.path.join(tree, path)
		os.makedirs(os.path.dirname(full), exist_ok=True)
		with open(full, 'w') as f:
			f.write('\n'.join(lines) + '\n')
	return sorted(frags)


def snapshot(tree):
	"""{path: (bytes' hash, mode, mtime)} of every file, .git's too."""
	snap = {}
	for root, _, names in os.walk(tree):
		for n in names:
			p = os.path.join(root, n)
			st = os.lstat(p)
			if os.path.islink(p):
				data = os.readlink(p).encode()
			else:
				with open(p, 'rb') as f:
					data = f.read()
			snap[os.path.relpath(p, tree)] = (hashlib.sha256(data).hexdigest(),
							  st.st_mode, st.st_mtime_ns)
	return snap


class ShadowTree(unittest.TestCase):
	def setUp(self):
		self.tmp = tempfile.mkdtemp()
		self.addCleanup(shutil.rmtree, self.tmp)
		self.user = os.path.join(self.tmp, 'linux')
		self.cache = os.path.join(self.tmp, 'cache')
		os.makedirs(os.path.join(self.user, 'mm'))
		self.patched = pre_images(self.user)
		self.write('mm/other.c', 'int other;\n')
		self.write('Makefile', 'VERSION = 7\nPATCHLEVEL = 3\n')
		self.write('.gitignore', '*.o\n')
		os.symlink('other.c', os.path.join(self.user, 'mm', 'link.c'))
		self.git('init', '-q')
		self.git('add', '-A')
		self.git('-c', 'user.name=t', '-c', 'user.email=t@t', 'commit', '-qm', 'base')
		# What a developer's tree has beside its commits.
		self.write('mm/other.c', 'int other, edited;\n')	# not committed
		self.write('mm/new.c', 'int added;\n')			# untracked
		self.write('mm/other.o', 'ELF\n')			# ignored

	def write(self, path, text, tree=None):
		full = os.path.join(tree or self.user, path)
		os.makedirs(os.path.dirname(full), exist_ok=True)
		with open(full, 'w') as f:
			f.write(text)

	def git(self, *args):
		return subprocess.run(['git', '-C', self.user, *args], capture_output=True,
				      text=True, check=True).stdout

	def shadow(self, tree=None):
		r = run(*CMD, tree or self.user, env=dict(os.environ, CACHE=self.cache))
		self.assertEqual(r.returncode, 0, r.stderr)
		return r.stdout.splitlines()[-1], r.stderr

	def read(self, path):
		with open(path) as f:
			return f.read()

	def test_user_tree_untouched_and_shadow_patched(self):
		status, diff = self.git('status', '--porcelain', '--ignored'), self.git('diff')
		before = snapshot(self.user)
		shadow, _ = self.shadow()
		# Before git status, which refreshes .git/index itself.
		self.assertEqual(snapshot(self.user), before)
		self.assertEqual(self.git('status', '--porcelain', '--ignored'), status)
		self.assertEqual(self.git('diff'), diff)
		self.assertTrue(shadow.startswith(os.path.join(self.cache, 'shadow', 'linux-')))
		# Every patch applied, in the shadow only.
		for name in glob.glob('*.patch', root_dir=os.path.join(TOP, 'patches')):
			self.assertTrue(os.path.isfile(os.path.join(shadow, '.vmalock-patches', name)))
		for path in self.patched:
			self.assertNotEqual(self.read(os.path.join(shadow, path)),
					    self.read(os.path.join(self.user, path)), path)
		self.assertTrue(os.path.islink(os.path.join(shadow, 'mm/tests/vmalock_kunit.c')))
		# The rest: your files, uncommitted and untracked ones too; not
		# the ignored build output, not .git.
		self.assertTrue(os.path.samefile(os.path.join(shadow, 'mm/other.c'),
						 os.path.join(self.user, 'mm/other.c')))
		self.assertEqual(self.read(os.path.join(shadow, 'mm/new.c')), 'int added;\n')
		self.assertEqual(os.readlink(os.path.join(shadow, 'mm/link.c')), 'other.c')
		self.assertFalse(os.path.exists(os.path.join(shadow, 'mm/other.o')))
		self.assertFalse(os.path.exists(os.path.join(shadow, '.git')))

	def test_unchanged_tree_unchanged_shadow(self):
		"""Nothing for make to rebuild: every file's inode and time stamp."""
		def state(shadow):
			# make follows symbolic links (patch-kernel.sh renews the
			# KUnit suite's on every run): their targets count.
			return {p: os.readlink(os.path.join(shadow, p))
				if os.path.islink(os.path.join(shadow, p)) else
				(os.stat(os.path.join(shadow, p)).st_ino, v[2])
				for p, v in snapshot(shadow).items()}
		shadow, _ = self.shadow()
		time.sleep(0.05)
		before = state(shadow)
		_, err = self.shadow()
		self.assertIn(': 0 files linked anew, 0 removed', err)
		self.assertEqual(state(shadow), before)

	def test_edits_reach_the_shadow(self):
		shadow, _ = self.shadow()
		patched, other = 'mm/Makefile', 'include/linux/mmap_lock.h'
		self.assertIn(patched, self.patched)
		self.assertIn(other, self.patched)
		kept = os.stat(os.path.join(shadow, other)).st_mtime_ns
		time.sleep(0.05)
		# In place (same inode), replaced (a new inode), removed, added.
		with open(os.path.join(self.user, 'mm/other.c'), 'a') as f:
			f.write('int in_place;\n')
		tmp = os.path.join(self.user, 'Makefile.new')
		self.write('Makefile.new', 'VERSION = 7\nPATCHLEVEL = 2\n')
		os.rename(tmp, os.path.join(self.user, 'Makefile'))
		os.unlink(os.path.join(self.user, 'mm/new.c'))
		self.write('mm/newer.c', 'int newer;\n')
		# Your version of a patched file: the shadow's is made again from it.
		with open(os.path.join(self.user, patched), 'a') as f:
			f.write('/* your edit */\n')
		_, err = self.shadow()
		self.assertIn('in_place', self.read(os.path.join(shadow, 'mm/other.c')))
		self.assertIn('PATCHLEVEL = 2', self.read(os.path.join(shadow, 'Makefile')))
		self.assertFalse(os.path.exists(os.path.join(shadow, 'mm/new.c')))
		self.assertEqual(self.read(os.path.join(shadow, 'mm/newer.c')), 'int newer;\n')
		text = self.read(os.path.join(shadow, patched))
		self.assertIn('/* your edit */', text)
		self.assertNotEqual(text, self.read(os.path.join(self.user, patched)))
		self.assertIn('applied', err)
		# The other patched files come out as they were: same time stamp.
		self.assertEqual(os.stat(os.path.join(shadow, other)).st_mtime_ns, kept)

	def test_not_a_git_tree(self):
		plain = os.path.join(self.tmp, 'plain')
		shutil.copytree(self.user, plain, symlinks=True)
		shutil.rmtree(os.path.join(plain, '.git'))
		before = snapshot(plain)
		shadow, _ = self.shadow(plain)
		self.assertEqual(snapshot(plain), before)
		self.assertTrue(os.path.exists(os.path.join(shadow, 'mm/other.o')))
		self.assertTrue(os.path.exists(os.path.join(shadow, '.vmalock-patches')))

	def test_tree_patched_in_place_before(self):
		"""A tree an earlier version patched in place builds as it is."""
		r = run(os.path.join(TOP, 'scripts', 'patch-kernel.sh'), self.user)
		self.assertEqual(r.returncode, 0, r.stderr)
		shadow, err = self.shadow()
		self.assertIn('already applied', err)
		for path in self.patched:
			self.assertEqual(self.read(os.path.join(shadow, path)),
					 self.read(os.path.join(self.user, path)), path)

	def test_refused_patch_leaves_the_tree(self):
		"""A patch the run needs (0002's mm/Makefile) refuses the tree."""
		self.write('mm/Makefile', 'nothing like the kernel\n')
		before = snapshot(self.user)
		r = run(*CMD, self.user, env=dict(os.environ, CACHE=self.cache))
		self.assertEqual(r.returncode, 2, r.stderr)
		self.assertIn('does not apply', r.stderr)
		self.assertEqual(snapshot(self.user), before)

	def test_bad_usage(self):
		for args, says in [((), 'usage: vmalock-py shadow_tree KDIR'),
				   (('-x',), 'usage: vmalock-py shadow_tree KDIR'),
				   ((os.path.join(self.tmp, 'none'),), 'not a kernel source tree (no such'),
				   ((self.cache if os.makedirs(self.cache) is None else '',),
				    'not a kernel source tree (no mm/)')]:
			r = run(*CMD, *args, env=dict(os.environ, CACHE=self.cache))
			self.assertEqual(r.returncode, 2, (args, r.stderr))
			self.assertIn(says, r.stderr)
		r = run(*CMD, self.user, env=dict(os.environ, CACHE=os.path.join(self.user, 'c')))
		self.assertEqual(r.returncode, 2)
		self.assertIn('the cache', r.stderr)



# Stand-ins for a kernel build: merge_config.sh keeps each option's last
# value, make records how it was called and makes what build-kernel.sh
# reads back.
MERGE_CONFIG = r"""#!/bin/bash
while [ "${1#-}" != "$1" ]; do [ "$1" = -O ] && shift; shift; done
cat "$@" | awk '/^CONFIG_/ { split($0, kv, "="); v[kv[1]] = $0 }
	/^# CONFIG_.* is not set/ { v[$2] = $0 } END { for (k in v) print v[k] }' > "$KCONFIG_CONFIG"
"""
MAKE = r"""#!/bin/bash
echo "make $*" >> "$MAKE_LOG"
for a; do case $a in O=*) out=${a#O=} ;; esac; done
case " $* " in
*" kernelrelease "*) echo 7.3.0 ;;
*" bzImage "*) mkdir -p "$out/arch/x86/boot"; touch "$out/arch/x86/boot/bzImage" ;;
esac
"""


def write(path, text, mode='a', exe=False):
	os.makedirs(os.path.dirname(path), exist_ok=True)
	with open(path, mode) as f:
		f.write(text)
	if exe:
		os.chmod(path, 0o755)


def fake_tree(user, bin_):
	"""A git tree check-tree.sh takes and the patches apply to, with a
	stand-in merge_config.sh, and a stand-in make in bin_."""
	pre_images(user)
	write(os.path.join(user, 'Makefile'), 'VERSION = 7\nPATCHLEVEL = 3\n', 'w')
	write(os.path.join(user, 'mm/Kconfig'), 'config PER_VMA_LOCK\n\tdef_bool y\n')
	write(os.path.join(user, 'arch/x86/Kconfig'), '\tselect ARCH_SUPPORTS_PER_VMA_LOCK\n')
	write(os.path.join(user, 'include/linux/mm_types.h'), '\trefcount_t vm_refcnt;\n'
	      '#define VM_REFCNT_EXCLUDE_READERS_FLAG (1U << 30)\n')
	write(os.path.join(user, 'mm/mmap_lock.c'),
	      'struct vm_area_struct *lock_vma_under_rcu(void);\n')
	write(os.path.join(user, 'scripts/kconfig/merge_config.sh'), MERGE_CONFIG, 'w', True)
	write(os.path.join(bin_, 'make'), MAKE, 'w', True)


def git_commit(user):
	git = ['git', '-C', user]
	subprocess.run(git + ['init', '-q'], check=True)
	subprocess.run(git + ['add', '-A'], check=True)
	subprocess.run(git + ['-c', 'user.name=t', '-c', 'user.email=t@t', 'commit', '-qm',
			      'base'], check=True)
	return git


class BuildKernel(unittest.TestCase):
	"""build-kernel.sh with KDIR (fake tree, stand-in make): it builds from
	the patched shadow with O=, and your tree is as it was."""

	def test_builds_from_the_shadow(self):
		tmp = tempfile.mkdtemp()
		self.addCleanup(shutil.rmtree, tmp)
		user, cache, bin_ = (os.path.join(tmp, d) for d in ('linux', 'cache', 'bin'))
		fake_tree(user, bin_)
		git = git_commit(user)
		status = run(*git, 'status', '--porcelain', '--ignored').stdout
		before = snapshot(user)
		log = os.path.join(tmp, 'make.log')
		env = dict(os.environ, KDIR=user, CACHE=cache, JOBS='1', MAKE_LOG=log,
			   PATH=bin_ + ':' + os.environ['PATH'])
		r = run(os.path.join(TOP, 'scripts', 'build-kernel.sh'), 'debug', env=env)
		self.assertEqual(r.returncode, 0, r.stderr)
		self.assertEqual(snapshot(user), before)
		self.assertEqual(run(*git, 'status', '--porcelain', '--ignored').stdout, status)
		out = r.stdout.splitlines()[-1]
		shadow = self.read(os.path.join(out, '.vmalock-kdir')).strip()
		self.assertTrue(shadow.startswith(os.path.join(cache, 'shadow', 'linux-')), shadow)
		self.assertEqual(out, os.path.join(cache, 'build', os.path.basename(shadow) + '-debug'))
		self.assertIn(f'user tree {user}', self.read(os.path.join(out, '.vmalock-version')))
		with open(log) as f:
			calls = f.read().splitlines()
		# check-tree.sh asks your tree its version; all else is the build.
		builds = [c for c in calls if not c.endswith(' kernelversion')]
		self.assertTrue(builds)
		for call in builds:
			self.assertIn(f'-C {shadow} O={out} ', call)
		self.assertTrue(os.path.isdir(os.path.join(shadow, '.vmalock-patches')))

	def read(self, path):
		with open(path) as f:
			return f.read()


if __name__ == '__main__':
	unittest.main()
