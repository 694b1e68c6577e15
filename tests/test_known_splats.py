# SPDX-License-Identifier: GPL-2.0
#
# Known upstream splats (scripts/vmalock/known.py, known-splats.json) as
# judge.py applies them: a boot whose only splats are known ones on a kernel
# their entry covers is KNOWN, with the link, counted apart and not a
# failure; a known splat on another kernel, an unknown splat next to a known
# one, or a near miss of a signature is a FAIL. fixtures/kcsan-maple.log is
# the maple-tree race of the first entry, as a soak boot's console shows it.

import io
import json
import os
import shutil
import tempfile
import unittest
import xml.etree.ElementTree as ET
from contextlib import redirect_stderr, redirect_stdout

from vmalock import judge
from vmalock import known

HERE = os.path.dirname(os.path.abspath(__file__))
FIX = os.path.join(HERE, 'fixtures')

LINK = 'https://lkml.iu.edu/2603.1/06295.html'
WARN = '[  700.1] WARNING: CPU: 1 PID: 77 at mm/mmap_lock.c:99 vma_start_read+0x1/0x2\n'


def maple():
	with open(os.path.join(FIX, 'kcsan-maple.log')) as f:
		return f.read()


class List(unittest.TestCase):
	"""The list itself, and what a malformed one gives."""

	def test_first_entry_is_the_maple_tree_race(self):
		e = known.load()[0]
		self.assertEqual((e['type'], e['functions'], e['file'], e['link']),
				 ('kcsan', ['mas_topiary_replace', 'mtree_range_walk'],
				  'lib/maple_tree.c', LINK))
		self.assertTrue(known.applies(e, (7, 3, 4)))
		self.assertFalse(known.applies(e, (7, 4)))
		self.assertFalse(known.applies(e, (6, 17, 9)))

	def bad(self, says, entry=None, text=None):
		path = os.path.join(self.tmp, 'known.json')
		good = known.load()[0]
		with open(path, 'w') as f:
			f.write(text if text is not None else json.dumps([dict(good, **entry)]))
		with self.assertRaises(known.KnownError) as cm:
			known.load(path)
		self.assertIn(says, str(cm.exception))

	def setUp(self):
		self.tmp = tempfile.mkdtemp()
		self.addCleanup(shutil.rmtree, self.tmp)

	def test_malformed(self):
		self.bad('not JSON', text='[{')
		self.bad('not a list', text='{}')
		self.bad("type 'kcsam' is not a splat kind; allowed: bug gpf", {'type': 'kcsam'})
		self.bad('functions must be a non-empty list', {'functions': []})
		self.bad('kernels must be {"from": "X.Y[.Z]"', {'kernels': {'from': '7'}})
		self.bad('to 6.1 is before from 6.18', {'kernels': {'from': '6.18', 'to': '6.1'}})
		self.bad("added must be a date, YYYY-MM-DD, got 'March'", {'added': 'March'})
		self.bad('link must be an https:// URL', {'link': 'lkml'})
		self.bad('unknown field owner; an entry has type, functions', {'owner': 'x'})

	def test_cli(self):
		out = io.StringIO()
		with redirect_stdout(out):
			self.assertEqual(known.main([]), 0)
		self.assertIn('kcsan mas_topiary_replace / mtree_range_walk (lib/maple_tree.c) '
			      'kernels 6.18..7.3', out.getvalue())
		with redirect_stderr(io.StringIO()):
			self.assertEqual(known.main([os.path.join(self.tmp, 'none.json')]), 2)


class Judge(unittest.TestCase):
	"""judge.py on a soak boot with the maple-tree race on its console."""

	def setUp(self):
		self.out = tempfile.mkdtemp()
		self.addCleanup(shutil.rmtree, self.out)

	def judge(self, console, kver='7.3.4 (linux-source-7.3 7.3.4-1~bpo13+1)', boot='soak'):
		d = os.path.join(self.out, boot)
		os.makedirs(d, exist_ok=True)
		for f, text in [('console.log', console), ('boot.info', 'runs=\nstatus=0\n'),
				('kernel-version', kver + '\n')]:
			with open(os.path.join(d, f), 'w') as fh:
				fh.write(text)
		out = io.StringIO()
		with redirect_stdout(out), redirect_stderr(io.StringIO()):
			rc = judge.main([self.out])
		with open(os.path.join(self.out, 'summary.txt')) as f:
			return rc, out.getvalue().splitlines()[-1], f.read().splitlines()

	def test_known_only_is_known(self):
		rc, last, summary = self.judge(maple())
		self.assertEqual(summary, [f'KNOWN no-kernel-splat-soak (known upstream: kcsan '
					   f'mas_topiary_replace / mtree_range_walk, {LINK})'])
		self.assertEqual(last, 'vmalock: 0 passed, 0 failed, 1 known')
		self.assertEqual(rc, 0)
		with open(os.path.join(self.out, 'soak', 'splats.txt')) as f:
			self.assertEqual(f.read().splitlines()[-2:], [
				'known: kcsan: 5: BUG: KCSAN: data-race in mas_topiary_replace / '
				f'mtree_range_walk ({LINK})', 'splats: 0, known: 1'])
		case = ET.parse(os.path.join(self.out, 'junit.xml')).find(
			".//testcase[@name='no-kernel-splat-soak']")
		self.assertTrue(case.find('skipped').get('message').startswith('KNOWN: known upstream'))

	def test_known_on_another_kernel_fails(self):
		for kver, this in [('7.4.1', '7.4.1'), ('6.17.3', '6.17.3'), ('unknown', 'unknown')]:
			rc, last, summary = self.judge(maple(), kver)
			self.assertEqual(summary, [
				'FAIL no-kernel-splat-soak (splats: 1; kcsan mas_topiary_replace / '
				'mtree_range_walk is known upstream for kernels 6.18..7.3 only, '
				f'this is {this})'], kver)
			self.assertEqual((rc, last), (1, 'vmalock: 0 passed, 1 failed'))

	def test_known_and_unknown_fails(self):
		console = maple().replace('VMALOCK-RUN-END', WARN + 'VMALOCK-RUN-END')
		rc, last, summary = self.judge(console)
		self.assertEqual(summary, ['FAIL no-kernel-splat-soak (splats: 1; known upstream: 1)'])
		self.assertEqual((rc, last), (1, 'vmalock: 0 passed, 1 failed'))

	def test_near_misses_fail(self):
		"""The signature is all of type, functions and (when named) file."""
		for what, console in [
				('other function', maple().replace('mtree_range_walk', 'mas_walk')),
				('other type', maple().replace('BUG: KCSAN: data-race in',
							       'BUG: KASAN: slab-use-after-free in')),
				('decoded, other file', maple().replace(
					'mas_topiary_replace+0x14e/0x14a0',
					'mas_topiary_replace+0x14e/0x14a0 lib/xarray.c:2350'))]:
			rc, _, summary = self.judge(console)
			self.assertEqual((rc, summary[0][:4]), (1, 'FAIL'), what)

	def test_decoded_trace_in_the_file(self):
		rc, _, summary = self.judge(maple().replace(
			'mas_topiary_replace+0x14e/0x14a0',
			'mas_topiary_replace+0x14e/0x14a0 home/u/linux/lib/maple_tree.c:2350'))
		self.assertEqual((rc, summary[0][:5]), (0, 'KNOWN'))

	def test_main_boot_and_counts(self):
		"""KNOWN next to passing checks of another boot: counted apart."""
		self.judge('[    0.0] Linux version 7.3.4\nVMALOCK-GUEST-DONE\n', boot='main')
		rc, last, summary = self.judge(maple())
		self.assertEqual(summary[0], 'PASS no-kernel-splat')
		self.assertEqual((rc, last), (0, 'vmalock: 1 passed, 0 failed, 1 known'))

	def test_malformed_list_is_an_error(self):
		bad = os.path.join(self.out, 'bad.json')
		with open(bad, 'w') as f:
			f.write('[')
		self.addCleanup(setattr, known, 'DEFAULT', known.DEFAULT)
		known.DEFAULT = bad
		os.makedirs(os.path.join(self.out, 'soak'))
		with open(os.path.join(self.out, 'soak', 'boot.info'), 'w') as f:
			f.write('runs=\nstatus=0\n')
		err = io.StringIO()
		with redirect_stdout(io.StringIO()), redirect_stderr(err):
			self.assertEqual(judge.main([self.out]), 2)
		self.assertIn('bad.json: not JSON', err.getvalue())


if __name__ == '__main__':
	unittest.main()
