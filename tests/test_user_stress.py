# SPDX-License-Identifier: GPL-2.0
#
# The user-space stressor on the host kernel: a clean run passes, the shared
# region (-s) must be reported as corruption, bad arguments are refused.

import os
import shutil
import subprocess
import tempfile
import unittest

TOP = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..')
SRC = os.path.join(TOP, 'user', 'vmalock_user_stress.c')


class UserStress(unittest.TestCase):
	@classmethod
	def setUpClass(cls):
		cls.dir = tempfile.mkdtemp()
		cls.bin = os.path.join(cls.dir, 'vmalock_user_stress')
		subprocess.run(['gcc', '-O2', '-Wall', '-Wextra', '-Werror', '-pthread',
				'-o', cls.bin, SRC], check=True)

	@classmethod
	def tearDownClass(cls):
		shutil.rmtree(cls.dir)

	def run_it(self, *args):
		return subprocess.run([self.bin, *args], capture_output=True, text=True,
				      timeout=60)

	def test_clean_run(self):
		r = self.run_it('-t', '1', '-w', '2', '-p', '64')
		self.assertEqual(r.returncode, 0, r.stderr)
		self.assertIn('corruptions=0', r.stdout)
		self.assertRegex(r.stdout, r'forks=[1-9]')

	def test_shared_region_is_reported(self):
		r = self.run_it('-t', '1', '-s')
		self.assertEqual(r.returncode, 1, r.stdout)
		self.assertIn('saw memory change after fork', r.stderr)

	def test_bad_arguments(self):
		for args, says in ((('-w', '0'), '-w takes 1..64'),
				   (('-t', 'x'), '-t takes 1..3600'),
				   (('-q',), 'usage:')):
			r = self.run_it(*args)
			self.assertEqual(r.returncode, 2, args)
			self.assertIn(says, r.stderr)


if __name__ == '__main__':
	unittest.main()
