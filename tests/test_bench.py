# SPDX-License-Identifier: GPL-2.0
#
# Tests of scripts/bench.py (parser, report, compare mode and its flagging)
# and of scripts/bench.sh's bad input. fixtures/bench-smoke.raw is the
# results port of a smoke run of the bench (repeats=1, ms=50) on the debug
# kernel.

import importlib.util
import json
import os
import shutil
import subprocess
import sys
import tempfile
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
SCRIPT = os.path.join(HERE, '..', 'scripts', 'bench.py')
BENCH_SH = os.path.join(HERE, '..', 'scripts', 'bench.sh')
RAW = os.path.join(HERE, 'fixtures', 'bench-smoke.raw')

_spec = importlib.util.spec_from_file_location('bench', SCRIPT)
bench = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(bench)


def raw_text():
	with open(RAW) as f:
		return f.read()


def dump(doc, path):
	with open(path, 'w') as f:
		json.dump(doc, f)


def run(*args):
	return subprocess.run([sys.executable, SCRIPT] + list(args), capture_output=True,
			      text=True)


def doc_with(values, name='claim.pervma_reads'):
	"""A bench.json document with one measurement of these repeats."""
	m = {'unit': 'ops/s', 'values': values}
	m.update(bench.stats(values))
	return {'kernel': 'k', 'accel': 'tcg', 'smp': 2, 'repeats': len(values),
		'measurements': {name: m}}


class Parse(unittest.TestCase):
	def test_smoke_output(self):
		res = bench.parse(raw_text())
		self.assertEqual(res['header']['repeats'], 1)
		self.assertEqual(res['end'], 'ok')
		for name in ('uncontended.vma_read', 'claim.ratio', 'contention.wait_p99',
			     'scaling.pervma_2', 'faults.ratio', 'faults.pervma_vma_lock_success'):
			self.assertIn(name, res['measurements'])
		self.assertEqual(res['measurements']['claim.ratio']['values'], [4.06])
		self.assertIn('monitor_overhead', res['skipped'])
		self.assertTrue(all(ok for _, ok in res['checks']))
		self.assertEqual(len(res['checks']), 8)

	def test_printk_timestamps_and_noise_ignored(self):
		text = 'noise\n' + '\n'.join('[   1.234567] ' + ln for ln in raw_text().splitlines())
		self.assertEqual(bench.parse(text)['measurements'],
				 bench.parse(raw_text())['measurements'])

	def test_missing_block(self):
		with self.assertRaisesRegex(bench.BenchError, 'no bench results'):
			bench.parse('VMALOCK-RESULTS-BEGIN run=real\n')

	def test_cut_short(self):
		text = raw_text().replace('VMALOCK-RESULTS-END run=bench', '')
		with self.assertRaisesRegex(bench.BenchError, 'cut short'):
			bench.parse(text)

	def test_malformed_line(self):
		text = raw_text().replace('claim ratio x 4.06', 'claim ratio x four')
		with self.assertRaisesRegex(bench.BenchError, 'malformed bench line'):
			bench.parse(text)

	def test_wrong_number_of_repeats(self):
		text = raw_text().replace('claim ratio x 4.06', 'claim ratio x 4.06 4.10')
		with self.assertRaisesRegex(bench.BenchError, 'repeats=1'):
			bench.parse(text)

	def test_median_min_max(self):
		self.assertEqual(bench.stats([5, 1, 3]), {'median': 3, 'min': 1, 'max': 5})

	def test_merge_pools_boots(self):
		res = bench.parse(raw_text())
		doc = bench.document([res, res], 'perf', 2, 'tcg', 'cmd')
		m = doc['measurements']['claim.ratio']
		self.assertEqual(m['values'], [4.06, 4.06])
		self.assertEqual(doc['repeats'], 2)
		self.assertEqual(doc['boots'], 2)


class Check(unittest.TestCase):
	def check(self, text):
		with tempfile.TemporaryDirectory() as d:
			p = os.path.join(d, 'raw')
			with open(p, 'w') as f:
				f.write(text)
			r = run('check', p, '--out', d)
			return r, os.path.exists(os.path.join(d, 'bench.json'))

	def test_passes(self):
		r, wrote = self.check(raw_text())
		self.assertEqual(r.returncode, 0, r.stdout)
		self.assertIn('PASS bench/output', r.stdout)
		self.assertIn('PASS bench/rmmod_mid_bench', r.stdout)
		self.assertNotIn('FAIL', r.stdout)
		self.assertTrue(wrote)

	def test_failed_guest_check(self):
		r, _ = self.check(raw_text().replace('# check ok rmmod_mid_bench',
						     '# check FAIL rmmod_mid_bench'))
		self.assertEqual(r.returncode, 1)
		self.assertIn('FAIL bench/rmmod_mid_bench', r.stdout)

	def test_missing_item(self):
		text = '\n'.join(ln for ln in raw_text().splitlines()
				 if not ln.startswith('faults '))
		r, _ = self.check(text)
		self.assertEqual(r.returncode, 1)
		self.assertIn('FAIL bench/output (no faults)', r.stdout)

	def test_items_asked_for_only(self):
		text = '\n'.join(ln for ln in raw_text().splitlines()
				 if not ln.startswith(('faults ', 'scaling ')))
		r, _ = self.check(text.replace('items=1,2,3,4,5', 'items=1,2,3'))
		self.assertEqual(r.returncode, 0, r.stdout)
		r, _ = self.check(text.replace('items=1,2,3,4,5', 'items=1,2,3,4'))
		self.assertIn('FAIL bench/output (no scaling)', r.stdout)

	def test_error_in_bench(self):
		r, _ = self.check(raw_text().replace('# end ok', '# error: claim failed: -4\n# end error'))
		self.assertEqual(r.returncode, 1)
		self.assertIn('FAIL bench/output', r.stdout)


class Report(unittest.TestCase):
	def test_json_table(self):
		with tempfile.TemporaryDirectory() as d:
			r = run('report', '--raw', RAW, '--out', d, '--variant', 'debug', '--smp', '2',
				'--accel', 'tcg', '--command', 'scripts/bench.sh --repeats 1')
			self.assertEqual(r.returncode, 0, r.stderr)
			with open(os.path.join(d, 'bench.json')) as f:
				doc = json.load(f)
			for key in ('kernel', 'variant', 'smp', 'accel', 'repeats', 'command'):
				self.assertIn(key, doc)
			self.assertEqual(doc['command'], 'scripts/bench.sh --repeats 1')
			self.assertIn('indicative only', r.stdout)
			self.assertIn('not measured: monitor_overhead', r.stdout)

	@unittest.skipUnless(shutil.which('gnuplot'), 'gnuplot not installed')
	def test_plots(self):
		with tempfile.TemporaryDirectory() as d:
			r = run('report', '--raw', RAW, '--out', d, '--variant', 'debug', '--smp', '2',
				'--accel', 'tcg', '--command', 'x', '--plots')
			self.assertEqual(r.returncode, 0, r.stderr)
			for f in ('scaling.png', 'scaling.svg', 'uncontended.png', 'uncontended.svg'):
				self.assertGreater(os.path.getsize(os.path.join(d, f)), 1000, f)

	def test_unfinished_bench_refused(self):
		with tempfile.TemporaryDirectory() as d:
			p = os.path.join(d, 'raw')
			with open(p, 'w') as f:
				f.write(raw_text().replace('# end ok', '# end error'))
			r = run('report', '--raw', p, '--out', d, '--variant', 'perf', '--smp', '2',
				'--accel', 'tcg', '--command', 'x')
			self.assertEqual(r.returncode, 2)
			self.assertIn('did not finish', r.stderr)


class Compare(unittest.TestCase):
	def flagged(self, a, b):
		rows = bench.compare(doc_with(a), doc_with(b))
		self.assertEqual(len(rows), 1)
		return rows[0][5]

	def test_inside_spread_not_flagged(self):
		# B's median 103 lies inside A's 95..110
		self.assertFalse(self.flagged([95, 100, 110], [98, 103, 112]))

	def test_outside_spread_flagged(self):
		self.assertTrue(self.flagged([95, 100, 110], [60, 62, 65]))

	def test_outside_one_spread_only_not_flagged(self):
		# B median 120 is outside A's 95..110, but A's 100 is inside B's 90..150
		self.assertFalse(self.flagged([95, 100, 110], [90, 120, 150]))

	def test_same_run_not_flagged(self):
		res = bench.parse(raw_text())
		doc = bench.document([res], 'perf', 2, 'tcg', 'cmd')
		rows = bench.compare(doc, doc)
		self.assertTrue(rows)
		self.assertFalse(any(r[5] for r in rows))
		self.assertTrue(all(r[4] == 1.0 for r in rows if r[4] is not None))

	def test_cli(self):
		with tempfile.TemporaryDirectory() as d:
			pa, pb = os.path.join(d, 'a.json'), os.path.join(d, 'b.json')
			dump(doc_with([95, 100, 110]), pa)
			dump(doc_with([45, 50, 55]), pb)
			r = run('compare', pa, pb)
			self.assertEqual(r.returncode, 0, r.stderr)
			self.assertIn('0.500 *', r.stdout)
			self.assertIn('1 of 1 measurements changed', r.stdout)

	def test_bad_input(self):
		with tempfile.TemporaryDirectory() as d:
			bad = os.path.join(d, 'bad.json')
			with open(bad, 'w') as f:
				f.write('{"x": 1}')
			notjson = os.path.join(d, 'n.json')
			with open(notjson, 'w') as f:
				f.write('not json')
			for args, msg in (((bad, bad), 'not a bench.json'),
					  ((notjson, bad), 'is not JSON'),
					  ((os.path.join(d, 'gone.json'), bad), 'cannot read')):
				r = run('compare', *args)
				self.assertEqual(r.returncode, 2)
				self.assertIn(msg, r.stderr)
				self.assertEqual(len(r.stderr.strip().splitlines()), 1)


class BenchShUsage(unittest.TestCase):
	def sh(self, *args):
		return subprocess.run(['bash', BENCH_SH] + list(args), capture_output=True,
				      text=True)

	def test_bad_options(self):
		for args, msg in ((('--repeats', 'x'), 'needs a number'),
				  (('--repeats', '0'), '1..100'),
				  (('--items', '6'), 'monitor overhead'),
				  (('--accel', 'xen'), 'auto, tcg or kvm'),
				  (('--ab', '/nonexistent', '/tmp'), 'not a kernel source tree'),
				  (('--compare', 'only-one'), 'needs A.json B.json'),
				  (('--ab-builds', '/tmp', '/tmp'), 'not a build directory'),
				  (('--variant', 'base'), "unknown variant 'base'"),
				  (('--frob',), "unknown option '--frob'")):
			r = self.sh(*args)
			self.assertEqual(r.returncode, 2, args)
			self.assertIn(msg, r.stderr, args)

	def test_compare_through_bench_sh(self):
		with tempfile.TemporaryDirectory() as d:
			pa = os.path.join(d, 'a.json')
			dump(doc_with([95, 100, 110]), pa)
			r = self.sh('--compare', pa, pa)
			self.assertEqual(r.returncode, 0, r.stderr)
			self.assertIn('0 of 1 measurements changed', r.stdout)


if __name__ == '__main__':
	unittest.main()
