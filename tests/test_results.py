# SPDX-License-Identifier: GPL-2.0
#
# Tests of vmalock.results and vmalock.ktap against the console logs in
# fixtures/.

import json
import os
import subprocess
import sys
import tempfile
import unittest
import xml.etree.ElementTree as ET

import kernel_tree
from vmalock import ktap

HERE = os.path.dirname(os.path.abspath(__file__))
CMD = [sys.executable, '-m', 'vmalock.results']
FIX = os.path.join(HERE, 'fixtures')

KUNIT_PY = [os.path.join(t, 'tools/testing/kunit/kunit.py')
	    for t in kernel_tree.trees('tools/testing/kunit/kunit.py')]


def fixture(name):
	return os.path.join(FIX, name)


def lines_of(name):
	with open(fixture(name)) as f:
		return f.read().splitlines()


def parse_text(text, run='real'):
	return ktap.parse_ktap(*ktap.extract_block(text.splitlines(), run))


GOOD = '''VMALOCK-RESULTS-BEGIN run=real
KTAP version 1
1..2
# a: ops=1 violations=0 time_ms=1000 ops_per_s=1
ok 1 a
# b: ops=1 violations=0 time_ms=1000 ops_per_s=1
ok 2 b
VMALOCK-RESULTS-END
'''


class ResultsTest(unittest.TestCase):
	def setUp(self):
		self.tmp = tempfile.TemporaryDirectory()
		self.out = self.tmp.name

	def tearDown(self):
		self.tmp.cleanup()

	def run_script(self, log, *args):
		return subprocess.run([*CMD, log, self.out, *args],
				      capture_output=True, text=True)

	def write_log(self, text):
		path = os.path.join(self.out, 'console.log')
		with open(path, 'w') as f:
			f.write(text)
		return path

	def test_broken_named_invariants(self):
		"""Expecting fail of broken-NAME, the invariants vmalock_names.h
		names for NAME are required, as judge.py requires them."""
		with open(fixture('broken.log')) as f:
			text = f.read().replace('run=broken-detach', 'run=broken-writer_no_wait')
		p = self.run_script(self.write_log(text), '--run', 'broken-writer_no_wait',
				    '--expect', 'fail')
		self.assertEqual(p.returncode, 1, p.stdout + p.stderr)
		self.assertIn('detach_free: NOT caught (caught, but not as rw_exclusion', p.stdout)
		p = self.run_script(fixture('broken.log'), '--run', 'broken-detach', '--expect', 'fail')
		self.assertEqual(p.returncode, 0, p.stdout + p.stderr)

	def test_parse_pass_skip(self):
		res, block = ktap.load(fixture('pass.log'), 'real')
		self.assertEqual(res['plan'], 3)
		self.assertEqual(res['header']['kernel'], '7.3.4')
		self.assertEqual(res['header']['readers'], 2)
		t = {t['name']: t for t in res['tests']}
		self.assertEqual([x['status'] for x in res['tests']], ['PASS', 'PASS', 'SKIP'])
		self.assertEqual(t['rw_exclusion']['metrics']['ops_per_s'], 60082)
		self.assertEqual(t['bulk_release']['skip_reason'], 'CONFIG_PER_VMA_LOCK_STATS not set')
		# A comment after '#' that is no SKIP is not part of the name.
		b = parse_text(GOOD.replace('ok 2 b', 'not ok 2 b # insmod failed'))['tests'][1]
		self.assertEqual((b['name'], b['status'], b['skip_reason']), ('b', 'FAIL', ''))
		# Markers, time stamps and interleaved kernel messages are gone.
		self.assertEqual(block[0], 'KTAP version 1')
		self.assertFalse([l for l in block if l.startswith('[') or 'VMALOCK' in l
				  or 'crng' in l], block)

	def test_parse_fail(self):
		res, _ = ktap.load(fixture('broken.log'), 'broken-detach')
		rw = res['tests'][0]
		self.assertEqual((rw['status'], rw['invariant'], rw['metrics']['detected_ms']),
				 ('FAIL', 'reader_at_free', 153))
		self.assertTrue(rw['violation'].startswith('[reader_at_free] BUG: reader got'))
		self.assertEqual(res['tests'][1]['invariant'], 'detach_refcount')
		# Each run's block is picked from the shared console log.
		res, _ = ktap.load(fixture('broken.log'), 'real')
		self.assertEqual(res['header']['broken'], 'none')

	def test_sysmon_summary_seed_and_delays(self):
		# The seed that replays a run's pauses, and the pauses made at
		# each step, reach results-RUN.json's "sysmon".
		text = GOOD.replace('ok 2 b\n', 'ok 2 b\n'
			'# sysmon: call_sites=2 shown=2 not_counted=0 most_read_locks_held=3 '
			'seed=123456789 delay_rate=200 delay_max_us=1000 delays=7 delay_us=900\n'
			'# sysmon: delays at read_locked=4 next_vma=0 read_refused=1 '
			'mmap_write_locked=1 detach_begin=0 read_unlocked=1\n'
			'# sysmon: site kind=write calls=9 locked=9 with_readers=2 max_wait_us=5 '
			'caller=__split_vma+0x1/0x2\n')
		res = parse_text(text)
		s = ktap.sysmon_summary(res)
		self.assertEqual((s['seed'], s['delay_rate'], s['delays'], s['delays_read_locked'],
				  s['delays_read_unlocked']), (123456789, 200, 7, 4, 1))
		self.assertEqual(len(ktap.call_sites(res)), 1)
		# Without pauses: no step counts, the seed all the same.
		s = ktap.sysmon_summary(parse_text(GOOD.replace('ok 2 b\n', 'ok 2 b\n'
			'# sysmon: call_sites=0 shown=0 not_counted=0 most_read_locks_held=0 '
			'seed=5 delay_rate=0 delay_max_us=1000 delays=0 delay_us=0\n')))
		self.assertEqual((s['seed'], s['delay_rate']), (5, 0))
		self.assertFalse([k for k in s if k.startswith('delays_')])
		self.assertIsNone(ktap.sysmon_summary(parse_text(GOOD)))

	def test_pr_fmt_prefix(self):
		text = ''.join(f'[    5.{i:06d}] vmalock_test: {l}\n' if 'VMALOCK' not in l else l + '\n'
			       for i, l in enumerate(GOOD.splitlines()))
		res = parse_text(text)
		self.assertEqual([t['status'] for t in res['tests']], ['PASS', 'PASS'])

	def test_expect_pass(self):
		p = self.run_script(fixture('pass.log'))
		self.assertEqual(p.returncode, 0, p.stderr)
		self.assertRegex(p.stdout, r'(?m)^rw_exclusion +PASS +120345 +60082 +0 +2\.003$')
		self.assertRegex(p.stdout, r'(?m)^bulk_release +SKIP .*\(CONFIG_PER_VMA_LOCK_STATS')
		self.assertIn('verdict: PASS', p.stdout)
		for f in ('results-real.ktap', 'results-real.json', 'junit-real.xml'):
			self.assertTrue(os.path.isfile(os.path.join(self.out, f)), f)
		p = self.run_script(fixture('broken.log'), '--run', 'broken-detach')
		self.assertEqual(p.returncode, 1)
		self.assertRegex(p.stdout, r'(?m)^detach_free +FAIL .* detach_refcount$')
		self.assertIn('verdict: FAIL', p.stdout)

	def test_expect_fail_caught(self):
		p = self.run_script(fixture('broken.log'), '--run', 'broken-detach', '--expect', 'fail')
		self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
		self.assertIn('rw_exclusion: caught: [reader_at_free] after 153 ms', p.stdout)
		self.assertIn('detach_free: caught: [detach_refcount] after 41 ms', p.stdout)
		self.assertIn('bulk_release: skipped', p.stdout)

	def test_expect_fail_coverage_is_no_catch(self):
		log = self.write_log('''VMALOCK-RESULTS-BEGIN run=broken-x
KTAP version 1
1..1
# reuse: ops=10 successes=9 fallbacks=1 violations=1 time_ms=3000 ops_per_s=3 detected_ms=3000
# reuse: first violation: [coverage] no lookup met a VMA reused by another mm
not ok 1 reuse
VMALOCK-RESULTS-END run=broken-x
''')
		p = self.run_script(log, '--run', 'broken-x', '--expect', 'fail')
		self.assertEqual(p.returncode, 1)
		self.assertIn('reuse: NOT caught (it did not test what it is for)', p.stdout)

	def test_expect_fail_not_caught(self):
		# One scenario passed, the other is "not ok" with no violation (hung).
		p = self.run_script(fixture('broken.log'), '--run', 'broken-nowait', '--expect', 'fail')
		self.assertEqual(p.returncode, 1)
		self.assertIn('rw_exclusion: NOT caught (passed)', p.stdout)
		self.assertIn('detach_free: NOT caught (not ok without a violation)', p.stdout)
		# Nothing caught when every scenario was skipped.
		log = self.write_log(GOOD.replace('ok 1 a', 'ok 1 a # SKIP x')
				     .replace('ok 2 b', 'ok 2 b # SKIP y'))
		p = self.run_script(log, '--expect', 'fail')
		self.assertEqual(p.returncode, 1)
		self.assertIn('no scenario ran', p.stdout)
		self.assertEqual(self.run_script(log).returncode, 0)

	def test_missing_kernel_feature(self):
		# What this kernel lacks is skipped by name, and the run goes on.
		skip01 = 'patch 0001 (export of __vma_exclude_readers_for_detach) not in this kernel'
		skip03 = 'vma_lock tracepoints (patch 0003) not in this kernel: a and b not checked'
		text = GOOD.replace('1..2', '1..3').replace('ok 2 b', f'ok 2 b # SKIP {skip01}') \
			.replace('VMALOCK-RESULTS-END', f'ok 3 sysmon # SKIP {skip03}\nVMALOCK-RESULTS-END')
		res = parse_text(text)
		self.assertEqual(ktap.sysmon_skipped(res), skip03)
		judged = [(t['name'], v, why) for t, v, why in ktap.verdicts(res, 'pass')]
		self.assertEqual(judged, [('a', 'PASS', ''), ('b', 'SKIP', skip01),
					  ('sysmon', 'SKIP', skip03)])
		self.assertEqual(ktap.run_verdict(res, 'pass'),
				 (True, '1 passed, 0 failed, 2 skipped'))
		# A broken variant whose scenarios all need what is missing: not
		# run, by name; one that only the system-wide monitor catches:
		# skipped, while its other invariants are still required.
		broken = text.replace('ok 1 a', 'ok 1 a # SKIP vma_start_write_killable() not in this kernel')
		met, why = ktap.run_verdict(parse_text(broken), 'fail')
		self.assertTrue(met)
		self.assertIn('broken variant not run: patch 0001', why)
		res = parse_text(text.replace('ok 2 b # SKIP', 'ok 2 c # SKIP'))
		judged = ktap.verdicts(res, 'fail', {'a': ['sys_rw_exclusion']})
		self.assertEqual(judged[0][1:], ('SKIP', f'caught only by sysmon: {skip03}'))
		self.assertTrue(ktap.run_verdict(res, 'fail', {'a': ['sys_rw_exclusion']})[0])
		judged = ktap.verdicts(res, 'fail', {'a': ['sys_rw_exclusion', 'rw_exclusion']})
		self.assertEqual(judged[0][1:], ('FAIL', 'passed'))
		# Skipped for another reason, nothing ran: not caught.
		self.assertFalse(ktap.run_verdict(parse_text(
			broken.replace('not in this kernel', 'failed')), 'fail')[0])

	def test_malformed(self):
		# (also: outputs of an earlier good attempt are removed)
		self.assertEqual(self.run_script(fixture('pass.log')).returncode, 0)
		for name, why in [('truncated.log', 'no VMALOCK-RESULTS-END marker'),
				  ('malformed-plan.log', "malformed plan '1..[")]:
			p = self.run_script(fixture(name))
			self.assertEqual(p.returncode, 2, name)
			self.assertIn('results missing or malformed: ' + why, p.stderr)
			self.assertEqual(os.listdir(self.out), [], name)
		p = self.run_script(fixture('pass.log'), '--run', 'broken-detach')
		self.assertEqual(p.returncode, 2)
		self.assertIn('results missing or malformed: no VMALOCK-RESULTS-BEGIN run=broken-detach',
			      p.stderr)
		bad = [
			(GOOD.replace('KTAP version 1\n', ''), "no 'KTAP version 1' line"),
			(GOOD.replace('1..2\n', ''), 'no test plan'),
			(GOOD.replace('1..2', '1..3'), 'plan is 1..3 but 2 results'),
			(GOOD.replace('ok 2 b', 'ok 3 b'), 'result 3 (b) where 2 expected'),
			(GOOD.replace('1..2\n', '1..2\n1..2\n'), 'more than one plan'),
			# The next run's BEGIN cuts a block that lost its END.
			(GOOD.replace('VMALOCK-RESULTS-END', 'VMALOCK-RESULTS-BEGIN run=broken-x'),
			 'no VMALOCK-RESULTS-END'),
		]
		for text, why in bad:
			with self.assertRaises(ktap.ResultsError, msg=why) as cm:
				parse_text(text)
			self.assertIn(why, str(cm.exception))
		self.assertEqual(len(parse_text(GOOD)['tests']), 2)

	def test_junit_well_formed(self):
		p = self.run_script(fixture('broken.log'), '--run', 'broken-detach', '--title', 'T')
		self.assertEqual(p.returncode, 1)
		root = ET.parse(os.path.join(self.out, 'junit-broken-detach.xml')).getroot()
		suites = root.findall('testsuite')
		self.assertEqual(len(suites), 1)
		s = suites[0]
		self.assertEqual((s.get('name'), s.get('tests'), s.get('failures'), s.get('skipped')),
				 ('T', '3', '2', '1'))
		cases = {c.get('name'): c for c in s.findall('testcase')}
		self.assertEqual(list(cases), ['rw_exclusion', 'detach_free', 'bulk_release'])
		rw = cases['rw_exclusion']
		self.assertEqual(rw.get('time'), '2.003')
		self.assertTrue(rw.find('failure').get('message').startswith('[reader_at_free]'))
		self.assertIn('violations=2', rw.find('system-out').text)
		self.assertIsNotNone(cases['bulk_release'].find('skipped'))
		self.assertIsNone(cases['bulk_release'].find('failure'))

	def test_json_well_formed(self):
		p = self.run_script(fixture('broken.log'), '--run', 'broken-detach')
		with open(os.path.join(self.out, 'results-broken-detach.json')) as f:
			j = json.load(f)
		self.assertEqual([(c['name'], c['status']) for c in j['test_cases']],
				 [('rw_exclusion', 'FAIL'), ('detach_free', 'FAIL'),
				  ('bulk_release', 'SKIP')])
		self.assertEqual(j['test_cases'][1]['invariant'], 'detach_refcount')
		self.assertEqual(j['misc'], {'tests': 3, 'passed': 0, 'failed': 2, 'skipped': 1})
		with open(os.path.join(self.out, 'results-broken-detach.ktap')) as f:
			self.assertEqual(f.readline(), 'KTAP version 1\n')

	@unittest.skipUnless(KUNIT_PY, 'no kernel tree with tools/testing/kunit/kunit.py (VMALOCK_TREE=DIR)')
	def test_kunit_py_json(self):
		p = self.run_script(fixture('broken.log'), '--run', 'broken-detach',
				    '--kunit-py', KUNIT_PY[-1])
		self.assertEqual(p.returncode, 1)
		self.assertNotIn('writing our own', p.stderr)
		with open(os.path.join(self.out, 'results-broken-detach.json')) as f:
			j = json.load(f)
		self.assertEqual([(c['name'], c['status']) for c in j['test_cases']],
				 [('rw_exclusion', 'FAIL'), ('detach_free', 'FAIL'),
				  ('bulk_release', 'SKIP')])
		self.assertEqual(j['misc']['failed'], 2)

	def test_bad_arguments(self):
		p = self.run_script(fixture('no-such.log'))
		self.assertEqual(p.returncode, 2)
		self.assertRegex(p.stderr, r'cannot access .*no-such\.log: No such file')
		p = self.run_script(fixture('pass.log'), '--expect', 'maybe')
		self.assertEqual(p.returncode, 2)
		p = subprocess.run(CMD, capture_output=True, text=True)
		self.assertEqual(p.returncode, 2)
		self.assertIn('usage:', p.stderr)

	KUNIT = """VMALOCK-RESULTS-BEGIN run=kunit
KTAP version 1
1..2
    KTAP version 1
    # Subtest: vmalock_a
    # module: vmalock_kunit
    1..3
    ok 1 first_test
        KTAP version 1
        # Subtest: param_test
        ok 1 one
        not ok 2 two
    # param_test: pass:1 fail:1 skip:0 total:2
    not ok 2 param_test
    ok 3 last_test # SKIP not here
# vmalock_a: pass:1 fail:1 skip:1 total:3
not ok 1 vmalock_a
    KTAP version 1
    # Subtest: vmalock_b
    1..1
    ok 1 only_test
ok 2 vmalock_b
VMALOCK-RESULTS-END run=kunit
"""
	KUNIT_LEAVES = [('kunit/vmalock_a/first_test', 'PASS'),
			('kunit/vmalock_a/param_test/one', 'PASS'),
			('kunit/vmalock_a/param_test/two', 'FAIL'),
			('kunit/vmalock_a/last_test', 'SKIP'),
			('kunit/vmalock_b/only_test', 'PASS')]

	def test_kunit_tree(self):
		block, has_end = ktap.extract_block(self.KUNIT.splitlines(), 'kunit')
		res = ktap.parse_ktap(block, has_end)
		self.assertEqual(len(res['tests']), 2)
		self.assertEqual(ktap.leaves(res['tests'], 'kunit'), self.KUNIT_LEAVES)

	def test_nested_documents(self):
		"""One parser for every level: a nested document's "# Subtest:"
		name, its tests as the children of the result line after it, their
		diagnostics and directives, at any depth."""
		block, has_end = ktap.extract_block(self.KUNIT.splitlines(), 'kunit')
		a, b = ktap.parse_ktap(block, has_end)['tests']
		self.assertEqual((a['name'], a['status'], b['name'], b['status']),
				 ('vmalock_a', 'FAIL', 'vmalock_b', 'PASS'))
		first, param, last = a['children']
		self.assertEqual([t['name'] for t in param['children']], ['one', 'two'])
		self.assertEqual(param['diag'], ['# param_test: pass:1 fail:1 skip:0 total:2'])
		self.assertEqual((last['status'], last['skip_reason']), ('SKIP', 'not here'))
		self.assertEqual(first['children'], [])
		self.assertEqual(a['diag'], ['# vmalock_a: pass:1 fail:1 skip:1 total:3'])

	def test_nesting_does_not_touch_the_top(self):
		"""Nested lines are no results of the top-level document, whatever
		they hold; its plan and numbering are checked as before."""
		doc = ['KTAP version 1', '1..1', '    1..5', '    ok 7 x', '    garbage',
		       '        ok 1 deeper', 'ok 1 top']
		res = ktap.parse_ktap(doc)
		self.assertEqual([t['name'] for t in res['tests']], ['top'])
		self.assertEqual(ktap.leaves(res['tests'], 'r'), [('r/top/x', 'PASS')])
		with self.assertRaisesRegex(ktap.ResultsError, 'plan is 1..2 but 1 results'):
			ktap.parse_ktap(['KTAP version 1', '1..2', '    ok 1 a', 'ok 1 b'])
		with self.assertRaisesRegex(ktap.ResultsError, "malformed result line 'garbage'"):
			ktap.parse_ktap(['KTAP version 1', '1..1', 'garbage', 'ok 1 b'])

	def test_todo_directive(self):
		"""TODO, as SKIP: not counted as a failure, with its reason."""
		res = ktap.parse_ktap(['KTAP version 1', '1..2', 'not ok 1 a # TODO not yet',
				       'ok 2 b # skip no reason'])
		self.assertEqual([(t['status'], t['skip_reason']) for t in res['tests']],
				 [('SKIP', 'TODO not yet'), ('SKIP', 'no reason')])
		self.assertEqual(ktap.run_verdict(res, 'pass')[0], True)

	def test_checks(self):
		"""The verdict API: a run's check lines as summary.txt names them."""
		block, has_end = ktap.extract_block(self.KUNIT.splitlines(), 'kunit')
		res = ktap.parse_ktap(block, has_end)
		self.assertEqual(ktap.checks(res, 'kunit', 'pass'),
				 [(v, name, '') for name, v in self.KUNIT_LEAVES])
		res, _ = ktap.load(fixture('broken.log'), 'broken-detach')
		self.assertEqual(ktap.expectation('broken-detach'), 'fail')
		self.assertEqual(ktap.checks(res, 'broken-detach', 'fail'), [
			('PASS', 'broken-detach/rw_exclusion', ''),
			('PASS', 'broken-detach/detach_free', ''),
			('SKIP', 'broken-detach/bulk_release', 'not affected by broken=detach')])
		# Caught, but not by the invariant the variant must trip.
		got = ktap.checks(res, 'broken-detach', 'fail', {'detach_free': ['rw_exclusion']})
		self.assertEqual(got[1][:2], ('FAIL', 'broken-detach/detach_free'))
		self.assertIn('not as rw_exclusion', got[1][2])
		self.assertEqual(ktap.checks({'header': {}, 'tests': []}, 'real', 'pass'),
				 [('FAIL', 'real', 'no test ran')])

	@unittest.skipUnless(KUNIT_PY, 'no kernel tree with tools/testing/kunit/kunit.py (VMALOCK_TREE=DIR)')
	def test_kunit_tree_as_kunit_py(self):
		"""Our nested parse sees the cases and statuses kunit.py sees."""
		log = self.write_log(self.KUNIT)
		p = self.run_script(log, '--run', 'kunit', '--kunit-py', KUNIT_PY[-1])
		self.assertEqual(p.returncode, 1, p.stderr)
		with open(os.path.join(self.out, 'results-kunit.json')) as f:
			j = json.load(f)

		def walk(group, path):
			out = [(f"{path}/{c['name']}", c['status']) for c in group.get('test_cases', [])]
			for sub in group.get('sub_groups', []):
				out += walk(sub, f"{path}/{sub['name']}")
			return out
		self.assertEqual(sorted(walk(j, 'kunit')), sorted(self.KUNIT_LEAVES))


if __name__ == '__main__':
	unittest.main()


GROUPS = ['-m', 'vmalock.groups']


class GroupsTest(unittest.TestCase):
	"""groups.py: the verdict table of test.sh --generations."""

	def summary(self, d, text):
		os.makedirs(d)
		with open(os.path.join(d, 'summary.txt'), 'w') as f:
			f.write(text)

	def test_table(self):
		with tempfile.TemporaryDirectory() as tmp:
			self.summary(os.path.join(tmp, 'a'), 'PASS no-kernel-splat\nPASS real/mirror\n'
				     'SKIP real/detach_free (patch 0001 (export of x) not in this kernel)\n'
				     'PASS kunit/vmalock/refcnt\nFAIL broken-r1/detach_free (NOT caught)\n'
				     'PASS broken-r2/rw_exclusion ([rw_exclusion] after 3 ms)\n')
			self.summary(os.path.join(tmp, 'b'), 'PASS no-kernel-splat\nPASS real/mirror\n'
				     'PASS user/stress\n')
			p = subprocess.run([sys.executable, *GROUPS, f'7.2={tmp}/a', f'7.3={tmp}/b',
					    f'none={tmp}/c'], capture_output=True, text=True)
		self.assertEqual(p.returncode, 0, p.stderr)
		rows = {line.split()[0]: line.split()[1:] for line in p.stdout.splitlines()[1:-1]}
		self.assertEqual(rows['real'], ['1/0/1', '1/0/0', 'no', 'summary'])
		self.assertEqual(rows['broken'], ['1/1/0', '-', 'no', 'summary'])
		self.assertEqual(rows['kunit'], ['1/0/0', '-', 'no', 'summary'])
		self.assertEqual(rows['user'], ['-', '1/0/0', 'no', 'summary'])
		self.assertEqual(rows['boot'], ['1/0/0', '1/0/0', 'no', 'summary'])
		self.assertEqual(rows['total'], ['4/1/1', '3/0/0', 'no', 'summary'])
		self.assertEqual(p.stdout.splitlines()[1].split()[0], 'real')

	def test_usage(self):
		for args in ([], ['nolabel'], ['=dir']):
			p = subprocess.run([sys.executable, *GROUPS] + args, capture_output=True, text=True)
			self.assertEqual(p.returncode, 2)
			self.assertIn('usage: groups.py LABEL=DIR', p.stderr)
