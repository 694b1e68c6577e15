# SPDX-License-Identifier: GPL-2.0
#
# scripts/runs.table, the one list of the guest runs, and its reader
# scripts/vmalock/runs.py: the runs each boot gets, the LAVA sets, the one
# time-limit formula, and the refusals of a malformed table or unknown run.

import os
import subprocess
import tempfile
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
TOP = os.path.join(HERE, '..')
from vmalock import runs

TABLE = os.path.join(TOP, 'scripts', 'runs.table')
GUEST = os.path.join(TOP, 'scripts', 'guest', 'runs')


class RunsTable(unittest.TestCase):
	def cli(self, *args):
		return subprocess.run([os.path.join(TOP, 'scripts', 'vmalock-py'), 'runs',
				       TABLE] + list(args), capture_output=True, text=True)

	def test_boots(self):
		self.assertEqual(self.cli('boot', 'main').stdout.split(),
				 ['real', 'lifecycle', 'control', 'kunit', 'user', 'selftests', 'bench'])
		self.assertEqual(self.cli('lava', 'default').stdout.split(),
				 ['real', 'lifecycle', 'kunit', 'user'])

	def test_formula(self):
		rows = runs.load(TABLE)
		var = {'duration_s': 3, 'control_secs': 20, 'user_secs': 15, 'soak_s': 3,
		       'soak_secs': 60, 'leak_cycles': 50, 'bench_secs': 0}
		# 120 + real 60 + 20 * (3 * 3 + 10) + kunit 30 + user 60 + 2 * 15
		self.assertEqual(runs.boot_secs(rows, ['real', 'kunit', 'user'], 20, var), 680)
		self.assertEqual(runs.boot_secs(rows, ['leak'], 0, var), 540)
		self.assertEqual(runs.boot_secs(rows, ['broken-x'], 4, var), 120 + 4 * 19)
		self.assertEqual(self.cli('secs', 'soak', '20', 'soak_s=3', 'soak_secs=60').stdout.strip(),
				 str(120 + 180 + 20 * 28 + 60))

	def test_missing_value(self):
		r = self.cli('secs', 'control', '0')
		self.assertEqual(r.returncode, 2)
		self.assertIn('no value for control_secs', r.stderr)

	def test_unknown_run(self):
		r = self.cli('secs', 'real,frob', '1', 'duration_s=1')
		self.assertEqual(r.returncode, 2)
		self.assertIn("unknown run 'frob'; allowed: real", r.stderr)

	def test_malformed_row(self):
		with tempfile.NamedTemporaryFile('w', suffix='.table') as f:
			f.write('# c\nreal main default sixty - - what\n')
			f.flush()
			with self.assertRaisesRegex(runs.RunsError, 'line 2: malformed'):
				runs.load(f.name)

	def test_every_guest_run_has_a_script(self):
		if not os.path.isdir(GUEST):
			self.skipTest('no scripts/guest/runs yet')
		for r in runs.load(TABLE):
			if r['boot'] != 'lava':
				self.assertTrue(os.path.isfile(os.path.join(GUEST, r['run'])), r['run'])


if __name__ == '__main__':
	unittest.main()
