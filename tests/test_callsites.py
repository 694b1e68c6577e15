# SPDX-License-Identifier: GPL-2.0
#
# Tests of scripts/vmalock/callsites.py: the static list of the per-VMA lock's
# call sites read from objdump output (fixtures/callsites/: two objects
# compiled the way the kernel's inline lock operations compile), the
# coverage of that list by the monitor's call-site lines, and the verdict
# that fails a run missing an expected site.

import json
import os
import shutil
import subprocess
import sys
import tempfile
import unittest

from vmalock import callsites
from vmalock import ktap

HERE = os.path.dirname(os.path.abspath(__file__))
FIX = os.path.join(HERE, 'fixtures', 'callsites')
CLI = [sys.executable, '-m', 'vmalock.callsites']
JUDGE = [sys.executable, '-m', 'vmalock.judge']

OBJECTS = {'mm/vma.o': 'mm-vma.o.objdump', 'arch/x86/mm/fault.o': 'mm-fault.o.objdump'}


def read(name):
	with open(os.path.join(FIX, name)) as f:
		return f.read()


def fixture_sites():
	syms = callsites.parse_nm(read('vmlinux.a.nm'))
	return callsites.static_sites(syms, lambda obj: read(OBJECTS[obj]))


def monitor(*lines):
	"""The monitor's site dicts, as ktap.call_sites() reads them."""
	return [ktap._kv(line[len(ktap.SITE_PREFIX):]) for line in lines]


EXPECTED = '''# run kind function status reason
user write __split_vma expected munmap of part of a VMA
user read do_user_addr_fault expected every page fault
user write unmap_region later a workload that unmaps with a bad thing
real write vma_merge_two expected not this run's
'''


class Static(unittest.TestCase):
	def test_branches(self):
		b = callsites.branches(read('mm-vma.o.objdump'))
		self.assertIn(('__split_vma', 'call', '__vma_start_write'), b)
		self.assertIn(('vma_start_write_tail', 'jmp', '__vma_start_write'), b)
		self.assertIn(('unmap_region.cold', 'call', '__vma_start_write'), b)
		# A local callee has no relocation: objdump names it.
		self.assertIn(('vma_merge_two', 'call', 'lock_local_tail'), b)
		# The address taken is not a call; jumps inside a function are not either.
		self.assertNotIn('takes_address', [f for f, _, _ in b])
		self.assertFalse([t for _, _, t in b if '+' in t])

	def test_static_sites(self):
		sites, unresolved = fixture_sites()
		self.assertEqual({k: sorted(v) for k, v in sites.items()}, {
			'write': ['__split_vma', 'commit_merge', 'do_mprotect_pkey', 'mprotect_fixup',
				  'unmap_region', 'vma_merge_two'],
			'detach': ['vma_complete'],
			'read': ['do_user_addr_fault']})
		self.assertEqual(unresolved, [])
		# Clones and the cold part merge into the source function.
		self.assertEqual(sites['write']['unmap_region']['insns'], 2)
		self.assertEqual(sites['write']['commit_merge']['via'],
				 {'__vma_start_write', '__vma_lock_do_trace_write_relocked'})
		# A tail call's site is its callers', as the return address is.
		self.assertEqual(sites['write']['vma_merge_two']['via'],
				 {'__vma_start_write<-lock_local_tail'})
		self.assertEqual(sites['write']['do_mprotect_pkey']['via'],
				 {'__vma_start_write<-vma_start_write_tail'})

	def test_tail_call_with_no_caller(self):
		syms = callsites.parse_nm(read('vmlinux.a.nm'))
		del syms['vma_start_write_tail']
		sites, unresolved = callsites.static_sites(syms, lambda obj: read(OBJECTS[obj]))
		self.assertNotIn('do_mprotect_pkey', sites['write'])
		self.assertEqual(unresolved, ['unresolved (a tail call with no direct caller): '
					      'write __vma_start_write<-vma_start_write_tail'])

	def test_kunit_objects_left_out(self):
		syms = callsites.parse_nm(read('vmlinux.a.nm').replace('arch/x86/mm/fault.o',
									 'mm/tests/fault_kunit.o'))
		objects = {'mm/vma.o': OBJECTS['mm/vma.o'],
			   'mm/tests/fault_kunit.o': OBJECTS['arch/x86/mm/fault.o']}
		sites, notes = callsites.static_sites(syms, lambda obj: read(objects[obj]))
		self.assertEqual(sites['read'], {})
		self.assertNotIn('do_mprotect_pkey', sites['write'])
		self.assertEqual(notes, ['left out, a KUnit suite: mm/tests/fault_kunit.o (3 calls)'])

	def test_round_trip(self):
		sites, unresolved = fixture_sites()
		text = callsites.format_static(sites, unresolved, 'fixture')
		self.assertEqual(callsites.parse_static(text), sites)

	def test_bad_static_list(self):
		with self.assertRaisesRegex(callsites.SitesError, r'x:2: .*KIND one of write, detach, read'):
			callsites.parse_static('write\tf\t1\tv\nlock\tf\t1\tv\n', 'x')
		with self.assertRaisesRegex(callsites.SitesError, 'no call site listed'):
			callsites.parse_static('# nothing\n')

	def test_no_build_dir(self):
		tmp = tempfile.mkdtemp()
		self.addCleanup(shutil.rmtree, tmp)
		r = subprocess.run([*CLI, 'static', tmp], capture_output=True, text=True)
		self.assertEqual(r.returncode, 2)
		self.assertIn('no vmlinux.a', r.stderr)

	def test_caller_function(self):
		f = callsites.caller_function
		self.assertEqual(f('__split_vma+0x483/0x1cd0'), '__split_vma')
		self.assertEqual(f('vms_gather_munmap_vmas.isra.0+0x1/0x2'), 'vms_gather_munmap_vmas')
		self.assertEqual(f('unmap_region.cold+0x1/0x2'), 'unmap_region')
		self.assertIsNone(f('0xffffffff81234567'))


class Coverage(unittest.TestCase):
	def setUp(self):
		self.static, _ = fixture_sites()
		self.sites = monitor(
			'# sysmon: site kind=write calls=90 locked=80 with_readers=3 max_wait_us=15 '
			'caller=__split_vma+0x483/0x1cd0',
			'# sysmon: site kind=write calls=10 locked=10 with_readers=1 max_wait_us=40 '
			'caller=__split_vma+0x21/0x1cd0',
			'# sysmon: site kind=write_killed calls=1 locked=0 with_readers=1 max_wait_us=70 '
			'caller=commit_merge.constprop.0+0x1/0x2',
			'# sysmon: site kind=read calls=500 locked=500 with_readers=0 max_wait_us=0 '
			'caller=do_user_addr_fault+0x312/0xa90',
			'# sysmon: site kind=write calls=5 locked=5 with_readers=0 max_wait_us=0 '
			'caller=vt_op_write+0x1/0x2 [vmalock_test]')
		self.expected = callsites.parse_expected(EXPECTED)

	def test_coverage(self):
		cov = callsites.coverage(self.static, self.sites)
		w = cov['write']
		self.assertEqual((w['reached'], w['total'], w['with_readers']), (2, 6, 2))
		self.assertEqual(w['sites'][0], {'function': '__split_vma', 'calls': 100,
						 'readable': 90, 'with_readers': 4, 'max_wait_us': 40})
		self.assertEqual(w['unreached'], ['do_mprotect_pkey', 'mprotect_fixup', 'unmap_region',
						  'vma_merge_two'])
		self.assertEqual(w['outside'], ['vt_op_write'])
		self.assertEqual(callsites.summary_line(cov),
				 'write reached 2 of 6, with readers 2 of 2 readable; '
				 'detach reached 0 of 1, with readers 0 of 0 readable; read reached 1 of 1')

	def test_readable(self):
		sites = monitor(
			'# sysmon: site kind=write calls=9 locked=9 readable=0 with_readers=0 '
			'max_wait_us=0 caller=__split_vma+0x1/0x2',
			'# sysmon: site kind=write calls=9 locked=9 readable=4 with_readers=0 '
			'max_wait_us=0 caller=mprotect_fixup+0x1/0x2',
			'# sysmon: site kind=write calls=3 locked=3 readable=3 with_readers=1 '
			'max_wait_us=9 caller=vma_merge_two+0x1/0x2')
		w = callsites.coverage(self.static, sites)['write']
		self.assertEqual((w['reached'], w['readable'], w['with_readers']), (3, 2, 1))
		self.assertEqual((w['unreadable'], w['no_readers']), (['__split_vma'], ['mprotect_fixup']))

	def test_readers_verdict(self):
		self.assertEqual(callsites.readers_verdict('kunit', {}), (None, ''))
		cov = callsites.coverage(self.static, self.sites)
		self.assertEqual(callsites.readers_verdict('user', cov)[0], 'PASS')
		cov = callsites.coverage(self.static, self.sites + monitor(
			'# sysmon: site kind=write calls=9 locked=9 readable=4 with_readers=0 '
			'max_wait_us=0 caller=mprotect_fixup+0x1/0x2'))
		v, detail = callsites.readers_verdict('user', cov)
		self.assertEqual(v, 'FAIL')
		self.assertIn('readers at 2 of 3 readable write sites (67%, at least 90%)', detail)
		self.assertIn('none at: mprotect_fixup', detail)

	def test_verdict_pass(self):
		cov = callsites.coverage(self.static, self.sites)
		v, detail = callsites.verdict('user', cov, self.expected)
		self.assertEqual(v, 'PASS')		# unmap_region is only expected later
		self.assertTrue(detail.startswith('write reached 2 of 6'))
		self.assertEqual(callsites.verdict('kunit', cov, self.expected), (None, ''))

	def test_verdict_expected_site_unreached(self):
		cov = callsites.coverage(self.static, self.sites[1:])	# still reached
		self.assertEqual(callsites.verdict('user', cov, self.expected)[0], 'PASS')
		cov = callsites.coverage(self.static, [s for s in self.sites
						       if '__split_vma' not in s['caller']])
		v, detail = callsites.verdict('user', cov, self.expected)
		self.assertEqual(v, 'FAIL')
		self.assertTrue(detail.startswith('expected but not reached: write __split_vma;'), detail)
		v, detail = callsites.verdict('real', cov, self.expected)
		self.assertEqual((v, detail.split(';')[0]),
				 ('FAIL', 'expected but not reached: write vma_merge_two'))
		v, detail = callsites.verdict('user', cov, self.expected, truncated='96 of 130')
		self.assertIn('(the monitor showed 96 of 130 sites only)', detail)

	def test_expected_site_not_in_kernel(self):
		del self.static['write']['__split_vma']
		cov = callsites.coverage(self.static, self.sites)
		v, detail = callsites.verdict('user', cov, self.expected)
		self.assertEqual(v, 'PASS')
		self.assertIn('not in this kernel: write __split_vma', detail)
		self.assertIn('__split_vma', cov['write']['outside'])
		self.static['write'] = {}
		cov = callsites.coverage(self.static, self.sites)
		self.assertEqual(callsites.verdict('user', cov, self.expected),
				 ('FAIL', 'no write site in the static list: extraction broken?'))

	def test_cli_coverage(self):
		tmp = tempfile.mkdtemp()
		self.addCleanup(shutil.rmtree, tmp)
		static = os.path.join(tmp, 'call-sites-static.txt')
		with open(static, 'w') as f:
			f.write(callsites.format_static(self.static, [], 'fixture'))
		table = os.path.join(tmp, 'call-sites-user.txt')
		with open(table, 'w') as f:	# as judge.py writes it
			f.write('call_sites=1 shown=1 not_counted=0 most_read_locks_held=1\n'
				'kind    calls  locked  with_readers  max_wait_us  caller\n'
				'read    9      9       0             0            '
				'do_user_addr_fault+0x312/0xb60\n')
		r = subprocess.run([*CLI, 'coverage', static, table, '--run', 'nosuchrun'],
				   capture_output=True, text=True)
		self.assertEqual(r.returncode, 0, r.stderr)
		self.assertIn('read         9         9             0            0  -         '
			      'do_user_addr_fault', r.stdout)
		self.assertEqual(r.stdout.splitlines()[-1],
				 'no verdict: write reached 0 of 6, with readers 0 of 0 readable; '
				 'detach reached 0 of 1, with readers 0 of 0 readable; read reached 1 of 1')

	def test_bad_expected_list(self):
		with self.assertRaisesRegex(callsites.SitesError,
					    r'e:1: .*STATUS one of expected, later'):
			callsites.parse_expected('user write f maybe because\n', 'e')
		with self.assertRaisesRegex(callsites.SitesError, r'e:1: want RUN KIND FUNCTION'):
			callsites.parse_expected('user write f expected\n', 'e')

	def test_shipped_expected_list(self):
		rows = callsites.load_expected()
		self.assertTrue(any(r['status'] == 'expected' for r in rows))
		keys = [(r['run'], r['kind'], r['function']) for r in rows]
		self.assertEqual(len(keys), len(set(keys)), 'a site listed twice')


class Judge(unittest.TestCase):
	"""judge.py on a saved results directory whose user run reached the
	shipped list's expected sites, or all but one."""

	def setUp(self):
		self.tmp = tempfile.mkdtemp()
		self.addCleanup(shutil.rmtree, self.tmp)
		self.main = os.path.join(self.tmp, 'main')
		os.makedirs(self.main)
		expected = [r for r in callsites.load_expected()
			    if r['run'] == 'user' and r['status'] == 'expected']
		self.expected = expected
		static = {k: {} for k in callsites.KINDS}
		for r in expected + [{'kind': 'write', 'function': 'never_reached_here'}]:
			static[r['kind']][r['function']] = {'insns': 1, 'via': {'__vma_start_write'}}
		self.static = callsites.format_static(static, [], 'test')
		with open(os.path.join(self.main, 'boot.info'), 'w') as f:
			f.write('runs=user\nstatus=0\n')
		with open(os.path.join(self.main, 'console.log'), 'w') as f:
			f.write('VMALOCK-GUEST-DONE\n')

	def results(self, reached, readers=7, extra=''):
		lines = ['VMALOCK-RESULTS-BEGIN run=user', 'KTAP version 1', '1..1',
			 f'# sysmon: call_sites={len(reached)} shown={len(reached)} not_counted=0 '
			 f'most_read_locks_held=1{extra}']
		lines += [f"# sysmon: site kind={r['kind']} calls=7 locked=7 readable=7 with_readers={readers} "
			  f"max_wait_us=0 caller={r['function']}+0x10/0x100" for r in reached]
		lines += ['ok 1 user_stress', 'VMALOCK-RESULTS-END run=user']
		with open(os.path.join(self.main, 'results.raw'), 'w') as f:
			f.write('\n'.join(lines) + '\n')

	def judge(self):
		r = subprocess.run([*JUDGE, self.tmp], capture_output=True, text=True)
		with open(os.path.join(self.tmp, 'summary.txt')) as f:
			return r, f.read().splitlines()

	def test_static_list_unavailable(self):
		self.results(self.expected)
		r, summary = self.judge()
		self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
		self.assertIn('SKIP call-sites-user (static list unavailable)', summary)

	def test_all_reached(self):
		with open(os.path.join(self.tmp, 'call-sites-static.txt'), 'w') as f:
			f.write(self.static)
		self.results(self.expected)
		r, summary = self.judge()
		self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
		n = len(self.expected)
		line = [s for s in summary if s.startswith('PASS call-sites-user (')]
		self.assertEqual(len(line), 1, summary)
		self.assertIn(f'write reached {sum(e["kind"] == "write" for e in self.expected)} of '
			      f'{sum(e["kind"] == "write" for e in self.expected) + 1}', line[0])
		with open(os.path.join(self.main, 'results-user.json')) as f:
			doc = json.load(f)
		cov = doc['call_site_coverage']
		self.assertEqual(cov['verdict'], 'PASS')
		self.assertEqual(sum(c['reached'] for c in cov['kinds'].values()), n)
		self.assertIn('never_reached_here', cov['kinds']['write']['unreached'])
		with open(os.path.join(self.main, 'call-site-coverage-user.txt')) as f:
			self.assertIn('never_reached_here', f.read())

	def readers_judged(self, extra=''):
		"""The judge's returncode and readers-present line, no reader met."""
		with open(os.path.join(self.tmp, 'call-sites-static.txt'), 'w') as f:
			f.write(self.static)
		self.results(self.expected, readers=0, extra=extra)
		r, summary = self.judge()
		line = [s for s in summary if ' readers-present-user (' in s]
		self.assertEqual(len(line), 1, summary)
		return r.returncode, line[0]

	def test_readers_missing_fails_run(self):
		rc, line = self.readers_judged()
		self.assertEqual(rc, 1, line)
		self.assertTrue(line.startswith('FAIL readers-present-user (readers at 0 of '), line)

	def test_readers_skipped_without_sitters(self):
		rc, line = self.readers_judged(' sit_us=0')
		self.assertEqual(rc, 0, line)
		self.assertTrue(line.startswith('SKIP readers-present-user (no sitters held'), line)

	def test_expected_site_missed_fails_run(self):
		with open(os.path.join(self.tmp, 'call-sites-static.txt'), 'w') as f:
			f.write(self.static)
		missed = self.expected[0]
		self.results(self.expected[1:])
		r, summary = self.judge()
		self.assertEqual(r.returncode, 1, r.stdout + r.stderr)
		want = (f"FAIL call-sites-user (expected but not reached: {missed['kind']} "
			f"{missed['function']};")
		self.assertTrue(any(s.startswith(want) for s in summary), summary)


if __name__ == '__main__':
	unittest.main()
