# SPDX-License-Identifier: GPL-2.0
#
# Tests of scripts/vmalock/names.py, the reader of vmalock_names.h.

import os
import subprocess
import sys
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, '..', 'scripts'))
from vmalock import names  # noqa: E402

HEADER = os.path.join(HERE, '..', 'vmalock_names.h')
SCRIPT = os.path.join(HERE, '..', 'scripts', 'vmalock', 'names.py')

TOY = r'''#define VT_SCENARIOS(S) \
	S(ONE,	one,	true)	\
	S(TWO,	two,	true)	\
	S(SLOW,	slow,	false)
#define VT_BROKEN_VARIANTS(B) \
	B(NO_A,	no_a,	VT_T(ONE) | VT_T(SLOW)) \
	B(NO_B,	no_b,	VT_T(TWO))
'''


class Names(unittest.TestCase):
	def test_toy(self):
		scenarios, broken = names.parse(TOY)
		self.assertEqual(scenarios, [('one', True), ('two', True), ('slow', False)])
		self.assertEqual(broken, {'no_a': ['one', 'slow'], 'no_b': ['two']})
		runs = lambda *a: names.scenario_runs(scenarios, broken, *a)
		self.assertEqual(runs('all'), ['one', 'two'])
		self.assertEqual(runs('all', 'no_a'), ['one', 'slow'])
		self.assertEqual(runs('slow,two'), ['slow', 'two'])
		self.assertEqual(runs('two,one', 'no_a'), ['one'])
		with self.assertRaisesRegex(names.NamesError, "unknown scenario 'three'"):
			runs('one,three')

	def test_bad_headers(self):
		for text, why in [(TOY.replace('VT_T(TWO)', 'VT_T(THREE)'), 'bad targets'),
				  (TOY.replace('true)\t\\\n\tS(TWO', 'yes)\t\\\n\tS(TWO'), 'in_all'),
				  ('', 'no scenario or broken variant entries')]:
			with self.assertRaisesRegex(names.NamesError, why):
				names.parse(text)

	def test_xmacro_lines(self):
		# VT_SCENARIO(ID)/VT_BROKEN(ID) say no in_all, no targets: all count.
		scenarios, broken = names.parse('VT_SCENARIO(ONE)\nVT_SCENARIO(TWO)\n\n'
						'VT_BROKEN(NO_A)\n')
		self.assertEqual(scenarios, [('one', True), ('two', True)])
		self.assertEqual(broken, {'no_a': ['one', 'two']})

	def test_real_header(self):
		scenarios, broken = names.load(HEADER)
		self.assertIn('detach_free', [n for n, _ in scenarios])
		self.assertIn('detach_no_wait', broken)
		self.assertTrue(all(set(t) <= {n for n, _ in scenarios} for t in broken.values()))

	def test_cli(self):
		def cli(*args):
			return subprocess.run([sys.executable, SCRIPT, HEADER, *args],
					      capture_output=True, text=True)
		r = cli('broken')
		self.assertEqual(r.returncode, 0)
		self.assertIn('detach_no_wait', r.stdout.split())
		self.assertEqual(cli('runs', 'rw_exclusion,watch').stdout, '2\n')
		for args, why in [(('runs', 'all', 'bogus'), "unknown broken variant 'bogus'"),
				  (('frob',), 'unknown command')]:
			r = cli(*args)
			self.assertEqual(r.returncode, 2)
			self.assertIn(why, r.stderr)


if __name__ == '__main__':
	unittest.main()
