# SPDX-License-Identifier: GPL-2.0
#
# Tests of scripts/lkmm.py and scripts/lkmm.sh that need no herd7: the
# herd7 output parser (fixtures/herd7-*.out), the litmus header parser, the
# function extraction behind the drift check, and the bad-input exits.

import importlib.util
import os
import shutil
import subprocess
import sys
import tempfile
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
SCRIPTS = os.path.join(HERE, '..', 'scripts')
FIX = os.path.join(HERE, 'fixtures')
sys.path.insert(0, HERE)
import kernel_tree  # noqa: E402

TREES = kernel_tree.trees('tools/memory-model/linux-kernel.cfg')

_spec = importlib.util.spec_from_file_location(
	'lkmm', os.path.join(SCRIPTS, 'lkmm.py'))
lkmm = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(lkmm)


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
		r = run('python3', os.path.join(SCRIPTS, 'lkmm.py'), '--kdir',
			self.kdir, '--dir', self.dir, '--record', 'reuse')
		self.assertIn('reuse: recorded', r.stdout)
		self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
		self.herd = os.path.join(self.kdir, 'herd7')
		with open(self.herd, 'w') as f:
			f.write('#!/bin/sh\n[ "$1" = -version ] && echo 7.58 && exit 0\n'
				'echo "Observation reuse Never 0 4"\n')
		os.chmod(self.herd, 0o755)

	def lkmm_run(self):
		return run('python3', os.path.join(SCRIPTS, 'lkmm.py'), '--kdir',
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
