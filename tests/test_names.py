# SPDX-License-Identifier: GPL-2.0
#
# Tests of scripts/vmalock/names.py, the reader of vmalock_names.h.

import os
import subprocess
import sys
import unittest

from vmalock import names

HERE = os.path.dirname(os.path.abspath(__file__))

HEADER = os.path.join(HERE, '..', 'vmalock_names.h')
CMD = [sys.executable, '-m', 'vmalock.names']

TOY = '''VT_SCENARIO(ONE)
VT_SCENARIO(TWO)
VT_SCENARIO(SLOW)

VT_BROKEN(NO_A)
VT_BROKEN(NO_B)

VT_CATCHES(NO_A, ONE, INV_X)
VT_CATCHES(NO_A, SLOW, INV_Y)
VT_CATCHES(NO_A, SLOW, INV_Z)
VT_CATCHES(NO_B, TWO, INV_X)
'''


class Names(unittest.TestCase):
	def test_toy(self):
		scenarios, broken = names.parse(TOY)
		self.assertEqual(scenarios, [('one', True), ('two', True), ('slow', True)])
		self.assertEqual(broken, {'no_a': ['one', 'slow'], 'no_b': ['two']})
		runs = lambda *a: names.scenario_runs(scenarios, broken, *a)
		self.assertEqual(runs('all'), ['one', 'two', 'slow'])
		self.assertEqual(runs('all', 'no_a'), ['one', 'slow'])
		self.assertEqual(runs('slow,two'), ['slow', 'two'])
		self.assertEqual(runs('two,one', 'no_a'), ['one'])
		with self.assertRaisesRegex(names.NamesError, "unknown scenario 'three'"):
			runs('one,three')
		self.assertEqual(names.catches(TOY), {'no_a': {'one': ['inv_x'], 'slow': ['inv_y', 'inv_z']},
						      'no_b': {'two': ['inv_x']}})

	def test_bad_headers(self):
		for text, why in [(TOY.replace('NO_B, TWO', 'NO_B, THREE'), 'unknown broken variant or scenario'),
				  (TOY.replace('VT_CATCHES(NO_B, TWO, INV_X)', ''), 'no VT_CATCHES'),
				  (TOY.replace('NO_B, TWO, INV_X', 'NO_B, TWO'), 'malformed line'),
				  ('', 'no scenario or broken variant entries')]:
			with self.assertRaisesRegex(names.NamesError, why):
				names.parse(text)

	def test_real_header(self):
		scenarios, broken = names.load(HEADER)
		self.assertIn('detach_free', [n for n, _ in scenarios])
		self.assertIn('detach_no_wait', broken)
		self.assertTrue(all(set(t) <= {n for n, _ in scenarios} for t in broken.values()))
		# Every variant's every target names at least one invariant.
		want = names.load_catches(HEADER)
		self.assertEqual({b: sorted(t) for b, t in want.items()},
				 {b: sorted(t) for b, t in broken.items()})

	def test_cli(self):
		def cli(*args):
			return subprocess.run([*CMD, HEADER, *args],
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
