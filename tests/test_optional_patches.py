# SPDX-License-Identifier: GPL-2.0
#
# A patch the run can go without (scripts/lib/optional-patches: 0003, the
# vma_lock tracepoints) that does not apply to your tree: it is named with
# the file and hunk, left out, and the run goes on without what needs it
# (the system-wide monitor: sysmon=0), which the verdict names as SKIP. A
# patch the run needs still refuses the tree. A git tree's status and
# diff are as they were after the shadow step, and an unchanged tree
# re-shadows to nothing new. A broken variant only the monitor's invariants
# catch is not booted, and named; the verdict says how much of the harness
# ran. On a fake tree whose include/linux/mmap_lock.h was rewritten where
# 0003's hunk #4 goes, a stand-in make and a fake QEMU.

import os
import shutil
import subprocess
import sys
import tempfile
import time
import unittest

import test_boots
import test_shadow_tree as shadow_tree
from test_shadow_tree import run
from vmalock import judge
from vmalock import names

HERE = os.path.dirname(os.path.abspath(__file__))
TOP = os.path.join(HERE, '..')
SCRIPTS = os.path.join(TOP, 'scripts')

P3 = '0003-mm-mmap_lock-add-vma_lock-tracepoints.patch'
WHY = 'include/linux/mmap_lock.h hunk #4 FAILED at'
# The system-wide monitor's invariants (vmalock_sysmon.c).
INVS = 'stable_while_read_locked,anon_vma_under_mmap_lock,sys_rw_exclusion,sys_reader_at_detach,lock_order,use_after_put'


def break_hunk(tree, patch, n, path):
	"""Rewrite the lines where hunk n (from 0) of patch goes in path."""
	p = os.path.join(tree, path)
	with open(p) as f:
		lines = f.read().split('\n')
	i = lines.index(f'/* {patch} hunk {n} */')
	j = next(j for j in range(i + 1, len(lines)) if lines[j].startswith('/* 0'))
	lines[i + 1:j] = ['/* rewritten by you */'] * (j - i - 1)
	with open(p, 'w') as f:
		f.write('\n'.join(lines))


class OptionalPatches(unittest.TestCase):
	def setUp(self):
		self.tmp = tempfile.mkdtemp()
		self.addCleanup(shutil.rmtree, self.tmp)
		self.tree = os.path.join(self.tmp, 'linux')
		self.bin = os.path.join(self.tmp, 'bin')
		shadow_tree.fake_tree(self.tree, self.bin)
		break_hunk(self.tree, P3, 3, 'include/linux/mmap_lock.h')

	def patch(self, *args):
		return run(os.path.join(SCRIPTS, 'patch-kernel.sh'), *args, self.tree)

	def read(self, path):
		with open(os.path.join(self.tree, path)) as f:
			return f.read()

	def test_left_out_by_name(self):
		r = self.patch()
		self.assertEqual(r.returncode, 2)
		self.assertIn(f'{P3} does not apply to {self.tree}: {WHY}', r.stderr)
		r = self.patch('--check', '--skip-optional')
		self.assertEqual(r.returncode, 0, r.stderr)
		self.assertIn('(1 left out)', r.stdout)
		self.assertIn(f'{WHY} ', r.stderr)
		self.assertIn('left out: the run goes on without sysmon (sysmon=0)', r.stderr)
		self.assertFalse(os.path.exists(os.path.join(self.tree, '.vmalock-patches')))
		r = self.patch('--skip-optional')
		self.assertEqual(r.returncode, 0, r.stderr)
		self.assertIn(f'left out {P3}', r.stdout)
		# The others applied; none of 0003's hunks (mm/mmap_lock.c's
		# applied would be), and no vma_lock.h.
		self.assertIn('EXPORT_SYMBOL_FOR_MODULES(__vma_exclude_readers_for_detach',
			      self.read('mm/mmap_lock.c'))
		self.assertNotIn('trace_vma_read_refused', self.read('mm/mmap_lock.c'))
		self.assertFalse(os.path.exists(os.path.join(
			self.tree, 'include/trace/events/vma_lock.h')))
		with open(os.path.join(self.tree, '.vmalock-patches', 'skipped')) as f:
			name, what, params, invs, why = f.read().rstrip('\n').split('\t')
		self.assertEqual((name, what, params, invs), (P3, 'sysmon', 'sysmon=0', INVS))
		self.assertTrue(why.startswith(WHY), why)
		# Again: nothing to do, no file touched (but the KUnit suite's
		# links, renewed on every run).
		def files():
			return {p: v for p, v in shadow_tree.snapshot(self.tree).items()
				if not os.path.islink(os.path.join(self.tree, p))}
		before = files()
		r = self.patch('--skip-optional')
		self.assertEqual(r.returncode, 0, r.stderr)
		self.assertIn(f'{P3} left out: {WHY}', r.stdout)
		self.assertNotIn('patch-kernel: applied', r.stdout)
		self.assertEqual(files(), before)
		# Without --skip-optional 0003 may not stay out: tried again, it
		# refuses the tree, which stays as it was.
		r = self.patch()
		self.assertEqual(r.returncode, 2)
		self.assertIn(f'{P3} does not apply to {self.tree}: {WHY}', r.stderr)
		self.assertEqual(files(), before)

	def test_shadow_of_a_git_tree(self):
		"""KDIR a git tree 0003 does not apply to: after the shadow step its
		git status, git diff and every file are as they were; the shadow
		goes without 0003, and re-shadows to nothing new while the tree
		is unchanged; your fix to the tree reaches it, and 0003 with it."""
		git = shadow_tree.git_commit(self.tree)
		with open(os.path.join(self.tree, 'mm/mmap_lock.c'), 'a') as f:
			f.write('/* not committed */\n')
		with open(os.path.join(self.tree, 'mm/untracked.c'), 'w') as f:
			f.write('int untracked;\n')
		status = run(*git, 'status', '--porcelain', '--ignored').stdout
		diff = run(*git, 'diff').stdout
		self.assertIn(' M mm/mmap_lock.c', status)
		before = shadow_tree.snapshot(self.tree)
		env = dict(os.environ, CACHE=os.path.join(self.tmp, 'cache'))
		r = run(*shadow_tree.CMD, self.tree, env=env)
		self.assertEqual(r.returncode, 0, r.stderr)
		shadow = r.stdout.splitlines()[-1]
		self.assertIn(f'{P3} does not apply to {shadow}: {WHY}', r.stderr)
		# Before git status, which refreshes .git/index itself.
		self.assertEqual(shadow_tree.snapshot(self.tree), before)
		self.assertEqual(run(*git, 'status', '--porcelain', '--ignored').stdout, status)
		self.assertEqual(run(*git, 'diff').stdout, diff)
		before = shadow_tree.snapshot(self.tree)
		with open(os.path.join(shadow, '.vmalock-patches', 'skipped')) as f:
			self.assertTrue(f.read().startswith(f'{P3}\tsysmon\t'))
		with open(os.path.join(shadow, 'mm/mmap_lock.c')) as f:
			text = f.read()
		self.assertIn('EXPORT_SYMBOL_FOR_MODULES(__vma_exclude_readers_for_detach', text)
		self.assertIn('/* not committed */', text)
		self.assertNotIn('trace_vma_read_refused', text)

		# Unchanged tree: no file linked, made or stamped anew (make would
		# rebuild nothing); the KUnit suite's links are renewed, same target.
		def state():
			return {p: os.readlink(os.path.join(shadow, p))
				if os.path.islink(os.path.join(shadow, p)) else
				(os.stat(os.path.join(shadow, p)).st_ino, v[2])
				for p, v in shadow_tree.snapshot(shadow).items()}
		was = state()
		time.sleep(0.05)
		r = run(*shadow_tree.CMD, self.tree, env=env)
		self.assertEqual(r.returncode, 0, r.stderr)
		self.assertIn(': 0 files linked anew, 0 removed', r.stderr)
		self.assertIn(f'{P3} left out: {WHY}', r.stderr)
		self.assertNotIn('patch-kernel: applied', r.stderr)
		self.assertEqual(state(), was)
		self.assertEqual(shadow_tree.snapshot(self.tree), before)

		# Your tree made fit for 0003: the next shadow has it.
		subprocess.run(git + ['checkout', '-q', 'HEAD', '--', 'include/linux/mmap_lock.h'],
			       check=True)
		self.tree_fixed()
		r = run(*shadow_tree.CMD, self.tree, env=env)
		self.assertEqual(r.returncode, 0, r.stderr)
		self.assertIn(f'applied {P3}', r.stderr)
		self.assertFalse(os.path.exists(os.path.join(shadow, '.vmalock-patches', 'skipped')) and
				 os.path.getsize(os.path.join(shadow, '.vmalock-patches', 'skipped')))
		with open(os.path.join(shadow, 'mm/mmap_lock.c')) as f:
			self.assertIn('trace_vma_read_refused', f.read())

	def tree_fixed(self):
		"""include/linux/mmap_lock.h as 0003 expects it again."""
		keep = os.path.join(self.tmp, 'fixed')
		shadow_tree.pre_images(keep)
		shutil.copy(os.path.join(keep, 'include/linux/mmap_lock.h'),
			    os.path.join(self.tree, 'include/linux/mmap_lock.h'))

	def test_needed_patch_still_refuses(self):
		break_hunk(self.tree, '0004-kunit-user_alloc-do-not-leak-the-mm-of-kunit_attach_mm.patch',
			   0, 'lib/kunit/user_alloc.c')
		r = self.patch('--skip-optional')
		self.assertEqual(r.returncode, 2)
		self.assertIn('0004-kunit-user_alloc-do-not-leak-the-mm-of-kunit_attach_mm.patch does '
			      'not apply', r.stderr)
		self.assertIn('nothing changed', r.stderr)

	def test_check_args_and_build(self):
		"""vmalock-run.sh takes the tree, naming the patch; build-kernel.sh
		builds its shadow without it and says so to vmalock-run.sh."""
		shadow_tree.git_commit(self.tree)
		cache = os.path.join(self.tmp, 'cache')
		env = dict(os.environ, KDIR=self.tree, CACHE=cache, JOBS='1',
			   MAKE_LOG=os.path.join(self.tmp, 'make.log'),
			   PATH=self.bin + ':' + os.environ['PATH'])
		r = run(os.path.join(SCRIPTS, 'vmalock-run.sh'), '--check-args', env=env)
		self.assertEqual(r.returncode, 0, r.stderr)
		self.assertIn(f'{P3} does not apply to {self.tree}: {WHY}', r.stderr)
		before = shadow_tree.snapshot(self.tree)
		r = run(os.path.join(SCRIPTS, 'build-kernel.sh'), 'debug', env=env)
		self.assertEqual(r.returncode, 0, r.stderr)
		self.assertEqual(shadow_tree.snapshot(self.tree), before)
		with open(os.path.join(r.stdout.splitlines()[-1], '.vmalock-skipped')) as f:
			self.assertTrue(f.read().startswith(f'{P3}\tsysmon\tsysmon=0\t{INVS}\t{WHY}'))


class Verdict(unittest.TestCase):
	"""A kernel without patch 0003: the runs get sysmon=0, the verdict says
	SKIP sysmon/* with the patch, file and hunk, and the rest passes.
	vmalock-run.sh --images with test_boots.py's fake QEMU (its helpers,
	not its tests)."""

	F = test_boots.FakeBoots
	setUp, mkdir, write, guest = F.setUp, F.mkdir, F.write, F.guest
	run_harness, summary = F.run_harness, F.summary

	def test_skip_by_name(self):
		self.write(os.path.join(self.images, 'skipped-patches'),
			   f'{P3}\tsysmon\tsysmon=0\t{INVS}\t{WHY} 309\n')
		self.guest(test_boots.BANNER + test_boots.DONE, test_boots.REAL)
		r = self.run_harness()
		self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
		self.assertEqual(r.stdout.splitlines()[-1], 'vmalock: 3 passed, 0 failed, 1 skipped')
		self.assertIn(f'SKIP sysmon/* (patch 0003 does not apply to this tree: {WHY} 309; '
			      'the runs went without it, sysmon=0)', self.summary())
		with open(os.path.join(self.out, 'main', 'qemu-cmd')) as f:
			self.assertIn(',sysmon=0', f.read())

	def broken(self, left_out):
		"""--broken writer_no_wait,detach_unlocked; writer_no_wait caught as
		rw_exclusion in both its scenarios, not as sys_rw_exclusion."""
		if left_out:
			self.write(os.path.join(self.images, 'skipped-patches'),
				   f'{P3}\tsysmon\tsysmon=0\t{INVS}\t{WHY} 309\n')
		ktap = ['VMALOCK-RESULTS-BEGIN run=broken-writer_no_wait', 'KTAP version 1', '1..2']
		for n, scn in enumerate(['rw_exclusion', 'detach_free'], 1):
			ktap += [f'# {scn}: ops=10 violations=2 time_ms=10 ops_per_s=1000 detected_ms=3',
				 f'# {scn}: invariant rw_exclusion violated 2 times',
				 f'# {scn}: first violation: [rw_exclusion] reader/0: VMA 5 write-locked',
				 f'not ok {n} {scn}']
		ktap.append('VMALOCK-RESULTS-END run=broken-writer_no_wait')
		self.guest(test_boots.BANNER + 'VMALOCK-GUEST-DONE\n', '\n'.join(ktap) + '\n',
			   runs='broken-writer_no_wait')
		return self.run_harness('--no-real', '--broken', 'writer_no_wait,detach_unlocked')

	def test_broken_without_sysmon(self):
		"""Without 0003: a variant only the monitor catches is not booted,
		and named; one it catches besides others must be caught by those."""
		r = self.broken(True)
		self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
		self.assertFalse(os.path.exists(os.path.join(self.out, 'broken-detach_unlocked')))
		self.assertIn('broken-detach_unlocked not booted', r.stderr)
		self.assertEqual(sorted(self.summary()), [
			'PASS broken-writer_no_wait/detach_free',
			'PASS broken-writer_no_wait/rw_exclusion',
			'SKIP broken-detach_unlocked (caught only by sys_reader_at_detach, which needs '
			'patch 0003: left out)',
			f'SKIP sysmon/* (patch 0003 does not apply to this tree: {WHY} 309; the runs went '
			'without it, sysmon=0)'])
		lines = r.stdout.splitlines()
		self.assertEqual(lines[-1], 'vmalock: 2 passed, 0 failed, 2 skipped')
		self.assertEqual(lines[-2], 'vmalock: part of the harness ran: 3 of 4 patches applied '
				 '(0003 left out: does not apply to this tree); skipped for it: sysmon/*, '
				 'broken-detach_unlocked; everything else ran (2 checks)')

	def test_broken_with_sysmon(self):
		"""The same results with every patch: writer_no_wait must be caught as
		sys_rw_exclusion too, and detach_unlocked boots (and, caught by
		nothing here, fails)."""
		r = self.broken(False)
		self.assertEqual(r.returncode, 1, r.stdout + r.stderr)
		s = self.summary()
		self.assertIn('FAIL broken-writer_no_wait/rw_exclusion (caught, but not as '
			      'sys_rw_exclusion (reported: rw_exclusion))', s)
		self.assertTrue(os.path.isdir(os.path.join(self.out, 'broken-detach_unlocked')))
		self.assertNotIn('part of the harness', r.stdout)

	def test_no_patch_left_out(self):
		self.guest(test_boots.BANNER + test_boots.DONE, test_boots.REAL)
		r = self.run_harness()
		self.assertEqual(r.stdout.splitlines()[-1], 'vmalock: 3 passed, 0 failed')
		with open(os.path.join(self.out, 'main', 'qemu-cmd')) as f:
			self.assertNotIn('sysmon=0', f.read())


class Uncaught(unittest.TestCase):
	"""Which broken variants, and which of their scenarios, can still be
	caught without a set of invariants (names.py, judge.LeftOut)."""

	HEADER = '''VT_SCENARIO(A)
VT_SCENARIO(B)
VT_BROKEN(ONE)
VT_BROKEN(TWO)
VT_BROKEN(BOTH)
VT_CATCHES(ONE, A, LOCK_ORDER)
VT_CATCHES(TWO, A, RW_EXCLUSION)
VT_CATCHES(TWO, A, SYS_RW_EXCLUSION)
VT_CATCHES(BOTH, A, RW_EXCLUSION)
VT_CATCHES(BOTH, B, USE_AFTER_PUT)
'''

	def test_names(self):
		caught = names.catches(self.HEADER)
		sysmon = INVS.split(',')
		self.assertEqual(names.uncaught(caught, sysmon), ['one'])
		self.assertEqual(names.uncaught(caught, []), [])
		self.assertEqual(names.without(caught, sysmon),
				 {'one': {'a': []}, 'two': {'a': ['rw_exclusion']},
				  'both': {'a': ['rw_exclusion'], 'b': []}})
		# The real header: the variants only the monitor catches.
		self.assertEqual(names.uncaught(names.load_catches(test_boots.HEADER), sysmon),
				 ['writer_changes_unlocked', 'reader_waits_mmap', 'detach_unlocked',
				  'reader_uses_after_put', 'reader_sets_anon_vma'])

	def test_scenario_only_the_monitor_catches_in(self):
		"""broken-both boots (a catches it without the monitor), b cannot
		catch it: b is skipped by name, a judged as before."""
		tmp = tempfile.mkdtemp()
		self.addCleanup(shutil.rmtree, tmp)
		header = os.path.join(tmp, 'names.h')
		with open(header, 'w') as f:
			f.write(self.HEADER)
		with open(os.path.join(tmp, 'skipped-patches'), 'w') as f:
			f.write(f'{P3}\tsysmon\tsysmon=0\t{INVS}\t{WHY} 309\n')
		old, judge.NAMES_H = judge.NAMES_H, header
		self.addCleanup(setattr, judge, 'NAMES_H', old)
		gone = judge.LeftOut(tmp)
		res = {'tests': [{'name': 'a', 'status': 'FAIL', 'skip_reason': ''},
				 {'name': 'b', 'status': 'PASS', 'skip_reason': ''}]}
		gone.unchecked('broken-both', res)
		self.assertEqual([t['status'] for t in res['tests']], ['FAIL', 'SKIP'])
		self.assertEqual(res['tests'][1]['skip_reason'],
				 'caught only by use_after_put, which needs patch 0003: left out')
		self.assertEqual(gone.want('broken-both'), {'a': ['rw_exclusion'], 'b': []})
		self.assertEqual(gone.skipped, ['broken-both/b'])
		self.assertEqual(judge.LeftOut(os.path.join(tmp, 'none')).skipped, [])


if __name__ == '__main__':
	unittest.main()
