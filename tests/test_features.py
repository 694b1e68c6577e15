# SPDX-License-Identifier: GPL-2.0
#
# scripts/vmalock/features.py and the judge's use of it: the booted kernel's
# mm features go into results-<run>.json, and a user-stressor class or a
# selftest skipped although the kernel has every feature it needs fails.

import contextlib
import io
import json
import os
import shutil
import tempfile
import unittest

from vmalock import features
from vmalock import judge

HERE = os.path.dirname(os.path.abspath(__file__))
TOP = os.path.dirname(HERE)

SELFTESTS_TABLE = os.path.join(TOP, 'scripts', 'guest', 'selftests.table')

CONFIG = '''CONFIG_64BIT=y
CONFIG_MMU=y
CONFIG_PER_VMA_LOCK=y
CONFIG_TRANSPARENT_HUGEPAGE=y
CONFIG_USERFAULTFD=y
CONFIG_HUGETLBFS=y
# CONFIG_KSM is not set
'''

SELFTESTS = '''VMALOCK-RESULTS-BEGIN run=selftests
KTAP version 1
1..4
# proc-maps-race: time_ms=2100 exit=0 limit_s=40 subtests=6 pass=6 fail=0 skip=0
ok 1 proc-maps-race
# hugetlb-mmap: time_ms=30 exit=4 limit_s=20 subtests=0 pass=0 fail=0 skip=0
ok 2 hugetlb-mmap # SKIP Not enough huge pages
# ksm_functional_tests: time_ms=20 exit=4 limit_s=30 subtests=0 pass=0 fail=0 skip=0
ok 3 ksm_functional_tests # SKIP KSM not available
ok 4 watch_monitor
VMALOCK-RESULTS-END run=selftests
'''

USER = '''VMALOCK-RESULTS-BEGIN run=user
KTAP version 1
1..3
ok 1 fault
ok 2 collapse # SKIP THP disabled
ok 3 ksm # SKIP no ksmd
VMALOCK-RESULTS-END run=user
'''


def selftest_names():
	with open(SELFTESTS_TABLE) as f:
		return [line.split()[0] for line in f
			if line.strip() and not line.startswith('#') and len(line.split()) >= 6]


class Table(unittest.TestCase):
	def test_parses(self):
		rows = features.parse()
		self.assertIn('thp', [r[0] for r in rows])
		self.assertIn('CONFIG_USERFAULTFD', dict((r[0], r[1]) for r in rows)['userfaultfd'])

	def test_every_selftest_needs_a_feature(self):
		# Else a selftest that did not build would be skipped unjudged.
		for name in selftest_names():
			self.assertTrue(features.needs('selftests', name), f'{name}: no feature in the table')

	def test_table_names_only_listed_selftests(self):
		listed = set(selftest_names())
		for name, _, tests in features.parse():
			for t in tests['selftests']:
				self.assertIn(t, listed, f'{name}: {t} not in selftests.table')

	def test_malformed(self):
		for text, msg in [('thp TRANSPARENT_HUGEPAGE collapse\n', '3 columns'),
				  ('thp transparent - -\n', 'options must be')]:
			with self.assertRaisesRegex(features.FeaturesError, msg):
				features.parse(text)

	def test_module_option_counts(self):
		have = features.booted({'CONFIG_KSM': 'm'})
		self.assertTrue(have['ksm']['enabled'])
		self.assertFalse(have['thp']['enabled'])
		self.assertEqual(have['thp']['options'], {'CONFIG_TRANSPARENT_HUGEPAGE': 'n'})

	def test_needs_all_options(self):
		have = features.booted({'CONFIG_MMU_NOTIFIER': 'y'})
		self.assertFalse(have['mmu_notifier']['enabled'])
		self.assertIsNone(features.skipped_but_present('selftests', 'hmm-tests', have))
		have = features.booted({'CONFIG_MMU_NOTIFIER': 'y', 'CONFIG_TEST_HMM': 'y'})
		self.assertIn('mmu_notifier', features.skipped_but_present('selftests', 'hmm-tests', have))

	def test_unknown_test_is_not_judged(self):
		have = features.booted({'CONFIG_MMU': 'y'})
		self.assertIsNone(features.skipped_but_present('selftests', 'bogus', have))
		self.assertIsNone(features.skipped_but_present('real', 'mlock2-tests', have))


class Judge(unittest.TestCase):
	def setUp(self):
		self.out = tempfile.mkdtemp()
		self.addCleanup(shutil.rmtree, self.out)
		self.boot = os.path.join(self.out, 'main')
		os.makedirs(self.boot)
		self.write('console.log', 'VMALOCK-RUN-BEGIN run=selftests\nVMALOCK-GUEST-DONE\n')
		self.write('boot.info', 'runs=user,selftests\ntimeout=60\nstatus=0\nkunit_py=\nstopped=\n')
		self.write('results.raw', USER + SELFTESTS)

	def write(self, name, text):
		with open(os.path.join(self.boot, name), 'w') as f:
			f.write(text)

	def judge(self):
		with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
			rc = judge.judge_dir(self.out)
		with open(os.path.join(self.out, 'summary.txt')) as f:
			lines = f.read().splitlines()
		return rc, {line.split()[1]: line for line in lines}

	def test_skipped_with_feature_fails(self):
		self.write('kernel-config', CONFIG)
		rc, s = self.judge()
		self.assertEqual(rc, 1)
		self.assertTrue(s['selftests/hugetlb-mmap'].startswith(
			'FAIL selftests/hugetlb-mmap (skipped although the kernel has hugetlbfs '
			'(CONFIG_HUGETLBFS=y); its reason: Not enough huge pages)'), s['selftests/hugetlb-mmap'])
		self.assertTrue(s['user/collapse'].startswith('FAIL user/collapse (skipped although'))
		# The kernel lacks KSM: its skips stand.
		self.assertTrue(s['selftests/ksm_functional_tests'].startswith('SKIP '))
		self.assertTrue(s['user/ksm'].startswith('SKIP '))
		self.assertTrue(s['selftests/proc-maps-race'].startswith('PASS '))
		with open(os.path.join(self.boot, 'results-selftests.json')) as f:
			doc = json.load(f)
		self.assertTrue(doc['kernel_features']['hugetlbfs']['enabled'])
		self.assertFalse(doc['kernel_features']['ksm']['enabled'])
		case = [c for c in doc['test_cases'] if c['name'] == 'hugetlb-mmap'][0]
		self.assertEqual(case['status'], 'FAIL')
		with open(os.path.join(self.boot, 'junit-selftests.xml')) as f:
			self.assertIn('skipped although the kernel has hugetlbfs', f.read())

	def test_skipped_without_feature_passes(self):
		self.write('kernel-config', CONFIG.replace('CONFIG_HUGETLBFS=y', '# CONFIG_HUGETLBFS is not set')
			   .replace('CONFIG_TRANSPARENT_HUGEPAGE=y', ''))
		rc, s = self.judge()
		self.assertEqual(rc, 0, s)
		self.assertTrue(s['selftests/hugetlb-mmap'].startswith('SKIP '))
		self.assertTrue(s['user/collapse'].startswith('SKIP '))

	def test_no_kernel_config_judges_no_skip(self):
		rc, s = self.judge()
		self.assertEqual(rc, 0, s)
		with open(os.path.join(self.boot, 'results-selftests.json')) as f:
			self.assertNotIn('kernel_features', json.load(f))


if __name__ == '__main__':
	unittest.main()
