# SPDX-License-Identifier: GPL-2.0
#
# Tests of scripts/vmalock/lkmm.py and scripts/lkmm.sh that need no herd7: the
# herd7 output parser (fixtures/herd7-*.out), the litmus header parser, the
# function extraction behind the drift check, and the bad-input exits.

import glob
import os
import shutil
import subprocess
import sys
import tempfile
import unittest

import kernel_tree
from vmalock import lkmm

HERE = os.path.dirname(os.path.abspath(__file__))
SCRIPTS = os.path.join(HERE, '..', 'scripts')
FIX = os.path.join(HERE, 'fixtures')

TREES = kernel_tree.trees('tools/memory-model/linux-kernel.cfg')


def fixture(name):
	with open(os.path.join(FIX, name)) as f:
		return f.read()


class HerdOutput(unittest.TestCase):
	def test_never(self):
		self.assertEqual(lkmm.parse_herd(fixture('herd7-never.out'), 'reuse'),
				 ('Never', None))

	def test_sometimes(self):
		self.assertEqual(lkmm.parse_herd(fixture('herd7-sometimes.out'),
						 'reuse-no-mm-check'),
				 ('Sometimes', None))

	def test_garbage(self):
		res, err = lkmm.parse_herd(fixture('herd7-garbage.out'), 'x')
		self.assertIsNone(res)
		self.assertIn('no Observation line', err)

	def test_other_test(self):
		res, err = lkmm.parse_herd(fixture('herd7-never.out'), 'detach')
		self.assertIsNone(res)
		self.assertIn('for test reuse, not detach', err)

	def test_two_observations(self):
		out = fixture('herd7-never.out') * 2
		self.assertIsNone(lkmm.parse_herd(out, 'reuse')[0])

	def test_counts_contradict(self):
		out = fixture('herd7-never.out').replace('Never 0 4', 'Never 1 3')
		res, err = lkmm.parse_herd(out, 'reuse')
		self.assertIsNone(res)
		self.assertIn('contradicts', err)

	def test_flags(self):
		self.assertEqual(lkmm.herd_flags('Flag data-race\nObservation x Never 0 1\n'),
				 ['data-race'])


HEADER = '''C demo

(*
 * Result: Never
 * Written-for: Linux 7.3.4
 * Models: mm/mmap_lock.c vma_start_read 0123456789abcdef
 *
 * Prose.
 *)

{}
'''


class Header(unittest.TestCase):
	def test_good(self):
		h = lkmm.parse_header(HEADER)
		self.assertEqual(h['name'], 'demo')
		self.assertEqual(h['Result'], 'Never')
		self.assertEqual(h['models'], [('mm/mmap_lock.c', 'vma_start_read',
						'0123456789abcdef')])

	def test_twin_needs_no_models(self):
		h = lkmm.parse_header('C t\n\n(*\n * Result: Sometimes\n * Twin-of: demo\n *)\n')
		self.assertEqual(h['Twin-of'], 'demo')

	def test_bad_result(self):
		with self.assertRaises(ValueError):
			lkmm.parse_header(HEADER.replace('Never', 'Always'))

	def test_no_models(self):
		with self.assertRaises(ValueError):
			lkmm.parse_header(HEADER.replace(' * Models', ' * Other'))

	def test_no_header(self):
		with self.assertRaises(ValueError):
			lkmm.parse_header('C demo\n\n{}\n')


SRC = '''/* comment naming foo(void) */
int foo(int a);

static inline __must_check unsigned int
foo(int a)
{
	return a;
}

static inline void one(void) {}
static inline void two(void) { if (1) { } }

#define bar(x)		\\
	do {		\\
		(x)++;	\\
	} while (0)
'''


class Extract(unittest.TestCase):
	def test_function_after_prototype(self):
		self.assertEqual(lkmm.extract(SRC, 'foo'),
				 'static inline __must_check unsigned int\n'
				 'foo(int a)\n{\n\treturn a;\n}')

	def test_macro(self):
		self.assertTrue(lkmm.extract(SRC, 'bar').endswith('} while (0)'))

	def test_one_line(self):
		self.assertEqual(lkmm.extract(SRC, 'one'),
				 'static inline void one(void) {}')
		self.assertEqual(lkmm.extract(SRC, 'two'),
				 'static inline void two(void) { if (1) { } }')

	def test_missing(self):
		self.assertIsNone(lkmm.extract(SRC, 'baz'))

	def test_hash_ignores_whitespace(self):
		self.assertEqual(lkmm.text_hash('a  b\n\tc'), lkmm.text_hash('a b c'))
		self.assertNotEqual(lkmm.text_hash('a b c'), lkmm.text_hash('a b d'))


class PatchedSource(unittest.TestCase):
	"""The drift hashes are of the text as patches/ make it, whether the
	tree in hand is patched yet or not."""

	PATCH = ('Subject: demo\n\n--- a/f.h\n+++ b/f.h\n@@ -1,3 +1,4 @@\n a\n b\n+x\n c\n'
		 '--- a/g.h\n+++ b/g.h\n@@ -1 +1 @@\n-g\n+G\n-- \n2.39.5\n')

	def setUp(self):
		self.tmp = tempfile.mkdtemp()
		self.addCleanup(shutil.rmtree, self.tmp)
		self.patches = os.path.join(self.tmp, 'patches')
		os.mkdir(self.patches)
		with open(os.path.join(self.patches, '0001-demo.patch'), 'w') as f:
			f.write(self.PATCH)

	def tree(self, name, text):
		d = os.path.join(self.tmp, name)
		os.mkdir(d)
		with open(os.path.join(d, 'f.h'), 'w') as f:
			f.write(text)
		return d

	def test_file_diffs(self):
		diffs = lkmm.file_diffs(self.PATCH)
		self.assertEqual(sorted(diffs), ['f.h', 'g.h'])
		self.assertTrue(diffs['g.h'].endswith('+G\n'), diffs['g.h'])

	def test_unpatched_patched_and_other(self):
		for name, text, want in [('unpatched', 'a\nb\nc\n', 'a\nb\nx\nc\n'),
					 ('patched', 'a\nb\nx\nc\n', 'a\nb\nx\nc\n'),
					 ('other', 'a\nq\nc\n', 'a\nq\nc\n')]:
			self.assertEqual(lkmm.patched_source(self.tree(name, text), 'f.h',
							     self.patches), want, name)
		self.assertIsNone(lkmm.patched_source(self.tmp, 'none.h', self.patches))


@unittest.skipUnless(TREES, 'no kernel tree with tools/memory-model (VMALOCK_TREE=DIR)')
class RecordedHashes(unittest.TestCase):
	"""The hashes in lkmm/ match the Debian tree they were recorded on,
	patched by patches/ or not yet (a fresh machine runs lkmm before the
	build patches the tree): no "changed since" warning on either. (Your
	own tree may well differ: lkmm.sh then warns, as it should.)"""

	def setUp(self):
		tree = TREES[-1]
		if not os.path.isfile(os.path.join(tree, '.debian-version')):
			self.skipTest('%s is not a Debian linux-source tree (get-kernel.sh)' % tree)
		want = 'Linux ' + lkmm.kernel_version(tree)
		tests = lkmm.load_tests([])
		written = {h['Written-for'] for _, _, h, _ in tests if h and 'Written-for' in h}
		if written != {want}:
			self.skipTest('tree %s is %s, the models were recorded on %s'
				      % (tree, want, ', '.join(sorted(written))))
		self.herd = os.path.join(tempfile.mkdtemp(), 'herd7')
		self.addCleanup(shutil.rmtree, os.path.dirname(self.herd))
		with open(self.herd, 'w') as f:
			f.write('#!/bin/sh\n[ "$1" = -version ] && echo 7.58 && exit 0\n'
				'n=$(basename "$3" .litmus)\n'
				'r=$(sed -n "s/^ \\* Result: //p" "$3")\n'
				'echo "Observation $n $r $([ $r = Never ] && echo 0 || echo 1) 4"\n')
		os.chmod(self.herd, 0o755)
		# A copy of the files the tests model, as patches/ leave them (+1)
		# and without them (-1).
		self.copies = {}
		paths = {m[0] for _, _, h, _ in tests if h for m in h['models']}
		patches = sorted(glob.glob(os.path.join(lkmm.PATCHES_DIR, '*.patch')))
		for way in (1, -1):
			kdir = tempfile.mkdtemp()
			self.addCleanup(shutil.rmtree, kdir)
			for path in paths | {'Makefile', 'tools/memory-model/linux-kernel.cfg'}:
				os.makedirs(os.path.dirname(os.path.join(kdir, path)) or kdir,
					    exist_ok=True)
				shutil.copy(os.path.join(tree, path), os.path.join(kdir, path))
			for p in patches[::way]:
				with open(p) as f:
					diffs = lkmm.file_diffs(f.read())
				for path in paths & set(diffs):
					flags = [] if way == 1 else ['-R']
					if lkmm._patch(kdir, diffs[path], *flags, '--dry-run'):
						self.assertTrue(lkmm._patch(kdir, diffs[path], *flags))
			self.copies[way] = kdir

	def check(self, kdir):
		r = run(sys.executable, '-m', 'vmalock.lkmm', '--kdir', kdir, '--herd',
			self.herd)
		self.assertNotIn('warning', r.stdout)
		self.assertIn(' 0 failed', r.stdout)
		self.assertEqual(r.returncode, 0, r.stdout + r.stderr)

	def test_patched(self):
		self.check(self.copies[1])

	def test_unpatched(self):
		self.check(self.copies[-1])

	def test_other_text_warns(self):
		"""The check can fail: vma_start_read() edited after patching."""
		kdir = self.copies[1]
		p = os.path.join(kdir, 'mm/mmap_lock.c')
		with open(p) as f:
			src = f.read()
		text = lkmm.extract(src, 'vma_start_read')
		with open(p, 'w') as f:
			f.write(src.replace(text, text.replace('{', '{\n\tbarrier();', 1)))
		r = run(sys.executable, '-m', 'vmalock.lkmm', '--kdir', kdir, '--herd',
			self.herd)
		self.assertIn('mm/mmap_lock.c vma_start_read() changed since Linux', r.stdout)


def run(*args, env=None):
	e = dict(os.environ)
	e.update(env or {})
	return subprocess.run(args, capture_output=True, text=True, env=e)


class BadInput(unittest.TestCase):
	"""lkmm.sh refuses bad input with one line and status 2."""

	def setUp(self):
		self.tmp = tempfile.mkdtemp()
		self.addCleanup(shutil.rmtree, self.tmp)

	def refused(self, *args, says, env=None):
		r = run(os.path.join(SCRIPTS, 'lkmm.sh'), *args, env=env)
		self.assertEqual(r.returncode, 2, r.stdout + r.stderr)
		self.assertIn(says, r.stderr)
		self.assertEqual(len(r.stderr.strip().splitlines()), 1, r.stderr)

	def fake_tree(self, memory_model=True):
		os.makedirs(os.path.join(self.tmp, 'mm'))
		os.makedirs(os.path.join(self.tmp, 'include', 'linux'))
		open(os.path.join(self.tmp, 'Makefile'), 'w').close()
		if memory_model:
			d = os.path.join(self.tmp, 'tools', 'memory-model')
			os.makedirs(d)
			open(os.path.join(d, 'linux-kernel.cfg'), 'w').close()
		return self.tmp

	def test_unknown_option(self):
		self.refused('--frobnicate', says="unknown option '--frobnicate'")

	def test_kdir_not_a_tree(self):
		self.refused(says='is not a kernel tree', env={'KDIR': self.tmp})

	def test_no_memory_model(self):
		self.refused(says='no tools/memory-model/linux-kernel.cfg',
			     env={'KDIR': self.fake_tree(memory_model=False)})

	def test_unknown_test(self):
		self.refused('no-such-test', says="no test 'no-such-test'",
			     env={'KDIR': self.fake_tree(), 'HERD7': 'false'})


@unittest.skipUnless(TREES, 'no kernel tree with tools/memory-model (VMALOCK_TREE=DIR)')
class Drift(unittest.TestCase):
	"""The drift check on a copy of the files test reuse models (hashes
	recorded from the copy with --record), with a stand-in herd7 that
	answers Never."""

	def setUp(self):
		self.kdir = tempfile.mkdtemp()
		self.addCleanup(shutil.rmtree, self.kdir)
		with open(os.path.join(HERE, '..', 'lkmm', 'reuse.litmus')) as f:
			self.models = lkmm.parse_header(f.read())['models']
		for path, _, _ in self.models + [
				('tools/memory-model/linux-kernel.cfg', 0, 0), ('Makefile', 0, 0)]:
			os.makedirs(os.path.dirname(os.path.join(self.kdir, path)) or '.',
				    exist_ok=True)
			shutil.copy(os.path.join(TREES[-1], path),
				    os.path.join(self.kdir, path))
		self.dir = os.path.join(self.kdir, 'lkmm')
		os.mkdir(self.dir)
		shutil.copy(os.path.join(HERE, '..', 'lkmm', 'reuse.litmus'), self.dir)
		r = run(sys.executable, '-m', 'vmalock.lkmm', '--kdir',
			self.kdir, '--dir', self.dir, '--record', 'reuse')
		self.assertIn('reuse: recorded', r.stdout)
		self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
		self.herd = os.path.join(self.kdir, 'herd7')
		with open(self.herd, 'w') as f:
			f.write('#!/bin/sh\n[ "$1" = -version ] && echo 7.58 && exit 0\n'
				'echo "Observation reuse Never 0 4"\n')
		os.chmod(self.herd, 0o755)

	def lkmm_run(self):
		return run(sys.executable, '-m', 'vmalock.lkmm', '--kdir',
			   self.kdir, '--herd', self.herd, '--dir', self.dir, 'reuse')

	def test_unchanged(self):
		r = self.lkmm_run()
		self.assertIn('PASS reuse', r.stdout)
		self.assertNotIn('warning', r.stdout)
		self.assertEqual(r.returncode, 0)

	def test_changed(self):
		path, func, _ = self.models[0]
		p = os.path.join(self.kdir, path)
		with open(p) as f:
			src = f.read()
		text = lkmm.extract(src, func)
		with open(p, 'w') as f:
			f.write(src.replace(text, text.replace('{', '{\n\tbarrier();', 1)))
		r = self.lkmm_run()
		self.assertIn('warning: reuse: %s %s() changed since Linux' % (path, func),
			      r.stdout)
		self.assertIn('PASS reuse', r.stdout)

	def test_missing(self):
		path, func, _ = self.models[0]
		p = os.path.join(self.kdir, path)
		with open(p) as f:
			src = f.read()
		with open(p, 'w') as f:
			f.write(src.replace(func + '(', func + '_renamed('))
		r = self.lkmm_run()
		self.assertIn('FAIL reuse', r.stdout)
		self.assertIn('%s() is not in the tree' % func, r.stdout)
		self.assertNotEqual(r.returncode, 0)


if __name__ == '__main__':
	unittest.main()
