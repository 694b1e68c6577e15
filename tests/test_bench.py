# SPDX-License-Identifier: GPL-2.0
#
# Tests of scripts/vmalock/bench.py (parser, report, compare mode and its flagging)
# and of scripts/bench.sh's bad input. fixtures/bench-smoke.raw is the
# results port of a smoke run of the bench (repeats=1, ms=50) on the debug
# kernel. fixtures/bench-aa-{A,B}.json are an A-vs-A run of --ab (the same
# perf kernel twice, 2 alternated boots each, 5 x 1 s repeats, TCG) whose
# boots differ more than the repeats of one boot; fixtures/bench-slow-
# {A,B}.json an --ab run (2 boots each, 2 x 300 ms) of that kernel against
# one with a delay in its read path.

import json
import os
import shutil
import subprocess
import sys
import tempfile
import unittest

from vmalock import bench

HERE = os.path.dirname(os.path.abspath(__file__))
BENCH_SH = os.path.join(HERE, '..', 'scripts', 'bench.sh')
RAW = os.path.join(HERE, 'fixtures', 'bench-smoke.raw')
AA = [os.path.join(HERE, 'fixtures', 'bench-aa-%s.json' % k) for k in 'AB']
SLOW = [os.path.join(HERE, 'fixtures', 'bench-slow-%s.json' % k) for k in 'AB']



def raw_text():
	with open(RAW) as f:
		return f.read()


def dump(doc, path):
	with open(path, 'w') as f:
		json.dump(doc, f)


def run(*args):
	return subprocess.run([sys.executable, '-m', 'vmalock.bench'] + list(args), capture_output=True,
			      text=True)


def load(path):
	with open(path) as f:
		return json.load(f)


def flagged_names(a, b, **kw):
	return sorted(r[0] for r in bench.compare(a, b, **kw) if r[5])


def slowed(doc, factors):
	"""A copy of @doc with the measurements of @factors scaled by them."""
	doc = json.loads(json.dumps(doc))
	for name, k in factors.items():
		m = doc['measurements'][name]
		m['values'] = [v * k for v in m['values']]
		m['boot_medians'] = [v * k for v in m['boot_medians']]
		m.update(bench.stats(m['values']))
	return doc


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
		self.assertEqual(m['boot_medians'], [4.06, 4.06])

	def test_boot_medians(self):
		res = bench.parse(raw_text())
		other = json.loads(json.dumps(res))
		other['measurements']['claim.ratio']['values'] = [5.0]
		m = bench.document([res, other], 'perf', 2, 'tcg', 'cmd')['measurements']['claim.ratio']
		self.assertEqual(m['boot_medians'], [4.06, 5.0])
		self.assertAlmostEqual(bench.boot_spread(m), 5.0 / 4.06 - 1)
		self.assertIsNone(bench.boot_spread({'boot_medians': [4.06]}))


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

	def test_noise_floor(self):
		# ranges apart, but B/A = 1.1: below the default floor of 20%
		self.assertFalse(self.flagged([99, 100, 101], [109, 110, 111]))
		rows = bench.compare(doc_with([99, 100, 101]), doc_with([109, 110, 111]), floor=5)
		self.assertTrue(rows[0][5])

	def test_noise_floor_bounds(self):
		# at the floor is beyond it, either way round: 1.2 and 1/1.2
		a = [99, 100, 101]
		for b, want in (([119, 120, 121], True), ([83, 83.34, 84], True),
				([118, 119, 120], False), ([83.5, 84, 84.5], False)):
			self.assertEqual(self.flagged(a, b), want, b)
			self.assertEqual(self.flagged(b, a), want, b)
		self.assertEqual(bench.floor_bounds(20), (1.2, 0.833))

	def test_floor_zero_is_the_range_rule(self):
		rows = bench.compare(doc_with([99, 100, 101]), doc_with([102, 103, 104]), floor=0)
		self.assertTrue(rows[0][5])

	def test_a_vs_a_not_flagged(self):
		# Two boots of one kernel differ by up to 16% here (scaling.pervma_1:
		# 1.162): the ranges alone flag it, the noise floor does not.
		a, b = load(AA[0]), load(AA[1])
		self.assertEqual(a['boots'], 2)
		self.assertEqual(flagged_names(a, b), [])
		self.assertEqual(flagged_names(b, a), [])
		self.assertEqual(flagged_names(a, b, floor=0),
				 ['scaling.pervma_1', 'scaling.pervma_2'])

	def test_slowdown_of_20_percent_flagged(self):
		# B of the A-vs-A pair, 20% slower in five measurements: times x 1.2,
		# rates x 0.8. Exactly those are flagged, either way round.
		slow = {'uncontended.vma_write': 1.2, 'uncontended.speculate': 1.2,
			'claim.pervma_reads': 0.8, 'scaling.mmap_2': 0.8, 'faults.pervma': 0.8}
		a, b = load(AA[0]), slowed(load(AA[1]), slow)
		self.assertEqual(flagged_names(a, b), sorted(slow))
		self.assertEqual(flagged_names(b, a), sorted(slow))

	def test_read_path_delay_flagged(self):
		names = flagged_names(load(SLOW[0]), load(SLOW[1]))
		self.assertEqual(len(names), 12)
		for n in ('uncontended.vma_read', 'claim.pervma_reads', 'scaling.pervma_1',
			  'scaling.pervma_2', 'faults.pervma'):
			self.assertIn(n, names)
		for n in ('uncontended.mmap_read', 'scaling.mmap_1', 'scaling.mmap_2'):
			self.assertNotIn(n, names)

	def test_cli(self):
		with tempfile.TemporaryDirectory() as d:
			pa, pb = os.path.join(d, 'a.json'), os.path.join(d, 'b.json')
			dump(doc_with([95, 100, 110]), pa)
			dump(doc_with([45, 50, 55]), pb)
			r = run('compare', pa, pb)
			self.assertEqual(r.returncode, 0, r.stderr)
			self.assertIn('0.500 *', r.stdout)
			self.assertIn('1 of 1 measurements changed', r.stdout)
			self.assertIn('one boot on a side', r.stdout)

	def test_table_states_the_rule(self):
		r = run('compare', *AA)
		self.assertEqual(r.returncode, 0, r.stderr)
		for text in ('the ratios are the result', 'absolute times are indicative only',
			     'ranges do not overlap', 'B/A >= 1.200 or <= 0.833 (noise floor 20%',
			     '--noise-floor PCT', '2 boots x 5 repeats of 1000 ms', 'boots A|B',
			     '0 of 27 measurements changed'):
			self.assertIn(text, r.stdout)
		row = [ln for ln in r.stdout.splitlines() if ln.startswith('scaling.pervma_1 ')]
		self.assertRegex(row[0], r' 9%\|2%  1\.162$')
		r = run('compare', '--noise-floor', '12.5', *AA)
		self.assertIn('B/A >= 1.125 or <= 0.889 (noise floor 12.5%', r.stdout)
		r = run('compare', '--noise-floor', '0', *AA)
		self.assertIn('noise floor 0: the ranges alone decide', r.stdout)
		self.assertIn('2 of 27 measurements changed', r.stdout)

	def test_bad_input(self):
		with tempfile.TemporaryDirectory() as d:
			bad = os.path.join(d, 'bad.json')
			with open(bad, 'w') as f:
				f.write('{"x": 1}')
			notjson = os.path.join(d, 'n.json')
			with open(notjson, 'w') as f:
				f.write('{"measurements": {')
			fewer = os.path.join(d, 'fewer.json')
			doc = load(AA[1])
			del doc['measurements']['faults.ratio']
			dump(doc, fewer)
			other_unit = os.path.join(d, 'unit.json')
			doc = load(AA[1])
			doc['measurements']['faults.ratio']['unit'] = '%'
			dump(doc, other_unit)
			text = os.path.join(d, 'text.json')
			doc = load(AA[1])
			doc['measurements']['faults.ratio']['median'] = 'fast'
			dump(doc, text)
			for args, msg in (((bad, bad), 'not a bench.json'),
					  ((notjson, bad), 'is not JSON'),
					  ((os.path.join(d, 'gone.json'), bad), 'cannot read'),
					  ((AA[0], fewer), 'measure different things: only in A: '
					   'faults.ratio; only in B: none'),
					  ((fewer, AA[0]), 'only in A: none; only in B: faults.ratio'),
					  ((AA[0], other_unit), 'faults.ratio in different units'),
					  ((AA[0], text), 'not numbers')):
				r = run('compare', *args)
				self.assertEqual(r.returncode, 2, args)
				self.assertIn(msg, r.stderr, args)
				self.assertEqual(len(r.stderr.strip().splitlines()), 1, r.stderr)
				self.assertEqual(r.stdout, '')


class BenchShUsage(unittest.TestCase):
	def sh(self, *args):
		return subprocess.run(['bash', BENCH_SH] + list(args), capture_output=True,
				      text=True)

	def test_bad_options(self):
		for args, msg in ((('--repeats', 'x'), 'needs a number'),
				  (('--repeats', '0'), '1..100'),
				  (('--items', '7'), 'list of 1..6'),
				  (('--accel', 'xen'), 'auto, tcg or kvm'),
				  (('--ab', '/nonexistent', '/tmp'), 'not a kernel source tree'),
				  (('--compare', 'only-one'), 'needs A.json B.json'),
				  (('--ab-builds', '/tmp', '/tmp'), 'not a build directory'),
				  (('--variant', 'base'), "unknown variant 'base'"),
				  (('--noise-floor', 'x'), 'percentage 0..100'),
				  (('--noise-floor', '101'), 'percentage 0..100'),
				  (('--noise-floor',), '--noise-floor needs a value'),
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
		r = self.sh('--compare', *AA, '--noise-floor', '0')
		self.assertEqual(r.returncode, 0, r.stderr)
		self.assertIn('2 of 27 measurements changed', r.stdout)

	def test_compare_bad_input_through_bench_sh(self):
		with tempfile.TemporaryDirectory() as d:
			broken = os.path.join(d, 'broken.json')
			with open(broken, 'w') as f:
				f.write('[1, 2')
			fewer = os.path.join(d, 'fewer.json')
			doc = load(AA[1])
			del doc['measurements']['claim.ratio']
			dump(doc, fewer)
			for args, msg in (((AA[0], os.path.join(d, 'gone.json')), 'cannot read'),
					  ((AA[0], broken), 'is not JSON'),
					  ((AA[0], fewer), 'measure different things')):
				r = self.sh('--compare', *args)
				self.assertEqual(r.returncode, 2, args)
				self.assertIn(msg, r.stderr, args)
				self.assertEqual(len(r.stderr.strip().splitlines()), 1, r.stderr)


if __name__ == '__main__':
	unittest.main()
