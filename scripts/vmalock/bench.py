# SPDX-License-Identifier: GPL-2.0
#
# Post-processing of the bench mode (vmalock_bench.c): parse its output from
# the guest's results port, keep every repeat, and report median, min and max.
#
#   bench.py check RAW [--out DIR]          PASS/FAIL lines for the summary
#   bench.py report --raw RAW [--raw RAW..] --out DIR --variant V --smp N
#            --accel A --command CMD [--kernel TEXT] [--plots]
#                                            bench.json, bench.txt, plots
#   bench.py compare [--noise-floor PCT] A.json B.json
#                                            ratios B/A, changes flagged
#
# The bench prints, between "VMALOCK-RESULTS-BEGIN run=bench" and
# "VMALOCK-RESULTS-END run=bench", one line per measurement,
# "GROUP NAME UNIT V1 .. VR" (one value per repeat), "#" comments (a header
# with kernel= repeats= ms= readers= cpus=, "# check ok|FAIL NAME" from the
# guest, "# end ok|error") and "skip NAME: WHY" for what it cannot measure.
# Several RAW files (boots of one kernel) are merged: their repeats pooled,
# and each boot's median kept (boot_medians), since boots vary more than the
# repeats of one boot do.
#
# compare flags a measurement when the two kernels' ranges do not overlap
# (B's median outside A's min-max and A's median outside B's, min-max over
# every repeat of every boot) AND B/A is beyond the noise floor: B/A >= 1+f
# or B/A <= 1/(1+f), on the ratio as printed (3 decimals), so that swapping
# A and B flags the same rows. The default f, 20%, comes from 11 boots of
# one perf kernel under TCG: a measurement's per-boot median varied from
# boot to boot with a standard deviation of 2-12% (typically 7%; 20-50% for
# contention.fallback_pct, wait_p99 and wait_max), while the repeats within
# one boot often varied by only 1-2%; an A-vs-A --ab run (2 boots each) had
# B/A up to 1.16 outside both ranges. Two documents that hold different
# measurements (or units) are not compared.
#
# Exit status: 0 done, 1 a check failed (check), 2 bad input or results
# missing or malformed.

import argparse
import json
import os
import re
import shutil
import statistics
import subprocess
import sys

TS_RE = re.compile(r'^\[\s*\d+\.\d+\]\s?')
BEGIN = 'VMALOCK-RESULTS-BEGIN run=bench'
END = 'VMALOCK-RESULTS-END run=bench'
LINE_RE = re.compile(r'^([a-z]+) ([a-z0-9_]+) (\S+)((?: \d+(?:\.\d+)?)+)$')
GROUPS = ('uncontended', 'claim', 'contention', 'scaling', 'faults', 'monitor')
TCG_NOTE = ('accel tcg: absolute times are indicative only (an emulated CPU); '
	    'the ratios are the result')
NOISE_FLOOR = 20.0	# percent; see the rule above


class BenchError(Exception):
	"""Bench output missing or malformed, or bad input."""


def parse(text):
	"""Parse the last bench block of a results port's text."""
	lines = [TS_RE.sub('', ln.rstrip('\r\n')) for ln in text.splitlines()]
	begins = [i for i, ln in enumerate(lines) if ln.strip() == BEGIN]
	if not begins:
		raise BenchError('no bench results (no "%s" line)' % BEGIN)
	block = []
	for ln in lines[begins[-1] + 1:]:
		if ln.strip() == END:
			break
		block.append(ln.strip())
	else:
		raise BenchError('bench results cut short (no "%s" line)' % END)
	res = {'header': {}, 'measurements': {}, 'checks': [], 'skipped': {},
	       'errors': [], 'end': None}
	for ln in block:
		if not ln:
			continue
		if ln.startswith('# vmalock bench:'):
			for k, v in re.findall(r'(\w+)=(\S+)', ln):
				res['header'][k] = int(v) if v.isdigit() else v
		elif ln.startswith('# check '):
			parts = ln.split()
			if len(parts) != 4 or parts[2] not in ('ok', 'FAIL'):
				raise BenchError('malformed check line: %r' % ln)
			res['checks'].append((parts[3], parts[2] == 'ok'))
		elif ln.startswith('# end '):
			res['end'] = ln[6:].strip()
		elif ln.startswith('# error'):
			res['errors'].append(ln[2:])
		elif ln.startswith('#'):
			continue
		elif ln.startswith('skip '):
			name, _, why = ln[5:].partition(':')
			res['skipped'][name.strip()] = why.strip()
		else:
			m = LINE_RE.match(ln)
			if not m:
				raise BenchError('malformed bench line: %r' % ln)
			vals = [float(v) for v in m.group(4).split()]
			res['measurements']['%s.%s' % (m.group(1), m.group(2))] = {
				'unit': m.group(3), 'values': vals}
	if 'repeats' not in res['header']:
		raise BenchError('bench header line missing')
	for name, m in res['measurements'].items():
		if len(m['values']) != res['header']['repeats']:
			raise BenchError('%s has %d values, repeats=%d' % (
				name, len(m['values']), res['header']['repeats']))
	return res


def parse_file(path):
	try:
		with open(path, errors='replace') as f:
			return parse(f.read())
	except OSError as e:
		raise BenchError('cannot read %s: %s' % (path, e.strerror)) from e


def stats(values):
	return {'median': statistics.median(values), 'min': min(values),
		'max': max(values)}


def merge(runs):
	"""Pool the repeats of several boots of one kernel; keep each boot's
	median too."""
	out = {}
	for run in runs:
		for name, m in run['measurements'].items():
			e = out.setdefault(name, {'unit': m['unit'], 'values': [],
						  'boot_medians': []})
			e['values'].extend(m['values'])
			e['boot_medians'].append(statistics.median(m['values']))
	for e in out.values():
		e.update(stats(e['values']))
	return out


def document(runs, variant, smp, accel, command, kernel=None):
	h = runs[0]['header']
	return {
		'kernel': kernel or h.get('kernel', 'unknown'),
		'variant': variant, 'smp': smp, 'accel': accel,
		'repeats': sum(r['header']['repeats'] for r in runs),
		'repeats_per_boot': h['repeats'], 'boots': len(runs),
		'ms': h.get('ms'), 'readers': h.get('readers'), 'cpus': h.get('cpus'),
		'command': command,
		'note': TCG_NOTE if accel == 'tcg' else 'absolute times measured with ' + accel,
		'measurements': merge(runs),
		'not_measured': dict(runs[0]['skipped']),
		'errors': [e for r in runs for e in r['errors']],
	}


def fmt(v):
	if v == int(v) or abs(v) >= 1000:
		return '%.0f' % v
	if abs(v) >= 10:
		return '%.1f' % v
	return '%.2f' % v


def table(doc):
	ms = doc['measurements']
	out = ['vmalock bench: kernel %s, variant %s, smp %s, accel %s, %d repeats'
	       ' (%d boot(s)) x %s ms' % (doc['kernel'], doc['variant'], doc['smp'],
					  doc['accel'], doc['repeats'], doc['boots'], doc['ms']),
	       doc['note'], 'median [min - max] over the repeats', '']
	w = max([len(n) for n in ms] + [20])
	for group in GROUPS:
		names = [n for n in ms if n.startswith(group + '.')]
		if not names:
			continue
		for n in names:
			m = ms[n]
			out.append('%-*s %12s [%s - %s] %s' % (w, n, fmt(m['median']), fmt(m['min']),
							     fmt(m['max']), m['unit']))
		out.append('')
	scal = scaling_rows(doc)
	if scal:
		out.append('scaling (readers, each on its own VMA): median ops/s')
		out.append('%8s %14s %14s %8s' % ('readers', 'per-VMA', 'mmap_lock', 'ratio'))
		for k, p, m in scal:
			out.append('%8d %14s %14s %8s' % (k, fmt(p), fmt(m), fmt(p / m) if m else '-'))
		out.append('')
	for name, why in doc['not_measured'].items():
		out.append('not measured: %s (%s)' % (name, why))
	for e in doc['errors']:
		out.append(e)
	return '\n'.join(out).rstrip() + '\n'


def scaling_rows(doc):
	ms = doc['measurements']
	rows = []
	for n in ms:
		m = re.match(r'scaling\.pervma_(\d+)$', n)
		if m and 'scaling.mmap_%s' % m.group(1) in ms:
			k = int(m.group(1))
			rows.append((k, ms[n]['median'], ms['scaling.mmap_%d' % k]['median']))
	return sorted(rows)


def plots(doc, outdir):
	"""scaling.{png,svg} and uncontended.{png,svg} with gnuplot."""
	gp = shutil.which('gnuplot')
	if not gp:
		raise BenchError('gnuplot not found (apt-get install gnuplot-nox)')
	ms = doc['measurements']
	title = '%s, %s, smp %s, %s' % (doc['kernel'].split()[0], doc['variant'],
					doc['smp'], doc['accel'])
	made = []
	rows = []
	for n in ms:
		m = re.match(r'scaling\.(pervma|mmap)_(\d+)$', n)
		if m:
			rows.append((int(m.group(2)), m.group(1), ms[n]))
	if rows:
		dat = os.path.join(outdir, 'scaling.dat')
		with open(dat, 'w') as f:
			f.write('# readers median min max (per-VMA) median min max (mmap_lock)\n')
			for k in sorted({r[0] for r in rows}):
				p = ms['scaling.pervma_%d' % k]
				q = ms['scaling.mmap_%d' % k]
				f.write('%d %g %g %g %g %g %g\n' % (k, p['median'], p['min'], p['max'],
								  q['median'], q['min'], q['max']))
		body = ('set title "reader scaling (%s)" noenhanced\n'
			'set xlabel "readers"\nset ylabel "reads/s (median, min-max)"\n'
			'set key left bottom\nset yrange [0:*]\nset xtics 1\n'
			'set offsets graph 0.05, graph 0.05, 0, 0\n'
			'plot "%s" u 1:2:3:4 w yerrorlines t "per-VMA lock", '
			'"%s" u 1:5:6:7 w yerrorlines t "mmap_lock"\n') % (title, dat, dat)
		made += _gnuplot(gp, body, os.path.join(outdir, 'scaling'))
	unc = [n for n in ms if n.startswith('uncontended.')]
	if unc:
		dat = os.path.join(outdir, 'uncontended.dat')
		with open(dat, 'w') as f:
			f.write('# pair median min max (ns/op)\n')
			for i, n in enumerate(unc):
				m = ms[n]
				f.write('%d "%s" %g %g %g\n' % (i, n.split('.')[1], m['median'], m['min'],
							    m['max']))
		body = ('set title "uncontended cost (%s)" noenhanced\n'
			'set ylabel "ns per pair (median, min-max)"\nset yrange [0:*]\n'
			'set style fill solid 0.5\nset boxwidth 0.6\nunset key\n'
			'set xrange [-0.5:%g]\n'
			'plot "%s" u 1:3:xtic(2) w boxes, "" u 1:3:4:5 w yerrorbars\n') % (
				title, len(unc) - 0.5, dat)
		made += _gnuplot(gp, body, os.path.join(outdir, 'uncontended'))
	return made


def _gnuplot(gp, body, base):
	made = []
	for term, ext in (('pngcairo size 800,500', 'png'), ('svg size 800,500', 'svg')):
		script = 'set terminal %s\nset termoption noenhanced\nset output "%s.%s"\n%s' % (term, base, ext, body)
		r = subprocess.run([gp], input=script, text=True, capture_output=True)
		if r.returncode != 0 or not os.path.exists('%s.%s' % (base, ext)):
			if term.startswith('pngcairo'):	# older or smaller builds: plain png
				script = script.replace('pngcairo', 'png', 1)
				r = subprocess.run([gp], input=script, text=True, capture_output=True)
			if r.returncode != 0:
				raise BenchError('gnuplot failed: %s' % r.stderr.strip().splitlines()[-1:])
		made.append('%s.%s' % (base, ext))
	return made


def load_doc(path):
	try:
		with open(path) as f:
			doc = json.load(f)
	except OSError as e:
		raise BenchError('cannot read %s: %s' % (path, e.strerror)) from e
	except ValueError as e:
		raise BenchError('%s is not JSON: %s' % (path, e)) from e
	if not isinstance(doc, dict) or not isinstance(doc.get('measurements'), dict):
		raise BenchError('%s is not a bench.json (no measurements)' % path)
	for name, m in doc['measurements'].items():
		if not isinstance(m, dict) or not all(k in m for k in ('median', 'min', 'max', 'unit')):
			raise BenchError('%s: measurement %s lacks median/min/max/unit' % (path, name))
		if not all(_number(m[k]) and m[k] >= 0 for k in ('median', 'min', 'max')):
			raise BenchError('%s: measurement %s: median/min/max not numbers >= 0' % (
				path, name))
	return doc


def _number(v):
	return isinstance(v, (int, float)) and not isinstance(v, bool)


def same_measurements(a, b, name_a='A', name_b='B'):
	"""Refuse to compare two documents that measured different things."""
	ma, mb = a['measurements'], b['measurements']
	only_a = sorted(set(ma) - set(mb))
	only_b = sorted(set(mb) - set(ma))
	if only_a or only_b:
		def few(names):
			return ', '.join(names[:3]) + (' ..' if len(names) > 3 else '') or 'none'
		raise BenchError('%s and %s measure different things: only in A: %s; only in B: %s'
				 % (name_a, name_b, few(only_a), few(only_b)))
	units = [n for n in ma if ma[n]['unit'] != mb[n]['unit']]
	if units:
		raise BenchError('%s and %s: %s in different units (%s, %s)' % (
			name_a, name_b, units[0], ma[units[0]]['unit'], mb[units[0]]['unit']))


def floor_bounds(floor):
	"""The ratios B/A at and beyond which a change passes a noise floor of
	@floor percent, rounded as printed."""
	f = floor / 100.0
	return round(1 + f, 3), round(1 / (1 + f), 3)


def boot_spread(m):
	"""max/min - 1 of a measurement's per-boot medians; None with fewer
	than two boots (or a zero median)."""
	meds = m.get('boot_medians') or []
	if len(meds) < 2 or min(meds) <= 0:
		return None
	return max(meds) / min(meds) - 1


def compare(a, b, floor=NOISE_FLOOR):
	"""Rows (name, unit, A, B, ratio B/A, flagged) for every measurement.

	A change is flagged only when the ranges do not overlap (B's median
	outside A's [min, max] and A's median outside B's) and B/A, rounded to
	3 decimals as printed, is beyond the noise floor of @floor percent:
	B/A >= 1 + floor or B/A <= 1 / (1 + floor). A floor of 0 leaves the
	range rule alone. The two documents must hold the same measurements.
	"""
	same_measurements(a, b)
	hi, lo = floor_bounds(floor)
	rows = []
	for name, ma in a['measurements'].items():
		mb = b['measurements'][name]
		ratio = mb['median'] / ma['median'] if ma['median'] else None
		outside = (not ma['min'] <= mb['median'] <= ma['max'] and
			   not mb['min'] <= ma['median'] <= mb['max'])
		beyond = ratio is not None and (round(ratio, 3) >= hi or round(ratio, 3) <= lo)
		rows.append((name, ma['unit'], ma, mb, ratio, outside and beyond))
	return rows


def _runs(doc):
	boots = doc.get('boots', 1)
	per = doc.get('repeats_per_boot', doc.get('repeats'))
	ms = ' of %s ms' % doc['ms'] if doc.get('ms') else ''
	return '%s boot%s x %s repeats%s' % (boots, '' if boots == 1 else 's', per, ms)


def compare_text(a, b, rows, name_a='A', name_b='B', floor=NOISE_FLOOR):
	hi, lo = floor_bounds(floor)
	out = ['vmalock bench compare: B/A',
	       'A: %s (%s, %s, smp %s, %s)' % (name_a, a.get('kernel'), a.get('accel'),
					   a.get('smp'), _runs(a)),
	       'B: %s (%s, %s, smp %s, %s)' % (name_b, b.get('kernel'), b.get('accel'),
					   b.get('smp'), _runs(b))]
	if 'tcg' in (a.get('accel'), b.get('accel')):
		out.append(TCG_NOTE)
	out.append('rule: a change is flagged (*) when the ranges do not overlap (B\'s median')
	out.append('      outside A\'s min-max and A\'s outside B\'s; min-max over every repeat')
	if floor:
		out.append('      of every boot) and B/A >= %.3f or <= %.3f (noise floor %g%%,'
			   % (hi, lo, floor))
		out.append('      --noise-floor PCT)')
	else:
		out.append('      of every boot); noise floor 0: the ranges alone decide')
	out.append('boots A|B: how much one kernel\'s per-boot medians differ (max/min - 1)')
	if min(a.get('boots', 1), b.get('boots', 1)) < 2:
		out.append('one boot on a side: boot-to-boot variation not sampled there; '
			   'the noise floor stands for it')
	out.append('')
	def rng(m):
		return '%s [%s-%s]' % (fmt(m['median']), fmt(m['min']), fmt(m['max']))

	cells = []
	noisy = 0
	for name, unit, ma, mb, ratio, flagged in rows:
		sa, sb = boot_spread(ma), boot_spread(mb)
		if floor and max(sa or 0, sb or 0) * 100 >= floor:
			noisy += 1
		bs = '%s|%s' % tuple('-' if s is None else '%.0f%%' % (s * 100) for s in (sa, sb))
		cells.append((name, rng(ma), rng(mb), bs,
			      '%.3f' % ratio if ratio is not None else '-', '*' if flagged else ''))
	head = ('measurement', 'A median [min-max]', 'B median [min-max]', 'boots A|B', 'B/A', '')
	w = [max(len(c[i]) for c in cells + [head]) for i in range(5)]
	for c in [head] + cells:
		out.append(('%-*s  %*s  %*s  %*s  %*s %s' % (w[0], c[0], w[1], c[1], w[2], c[2],
							    w[3], c[3], w[4], c[4], c[5])).rstrip())
	n = sum(1 for r in rows if r[5])
	out.append('')
	out.append('%d of %d measurements changed beyond the spread and the noise floor'
		   % (n, len(rows)))
	if noisy:
		out.append('%d measurement(s) differ between boots of one kernel by the noise '
			   'floor or more (boots A|B): their verdicts are weak; more --rounds help'
			   % noisy)
	return '\n'.join(out) + '\n'


def checks(text, out=None):
	"""Check lines [(PASS|FAIL, name, detail)] of a results port's bench
	block; with @out, also write bench.json and bench.txt there."""
	try:
		res = parse(text)
	except BenchError as e:
		return [('FAIL', 'bench/output', str(e))]
	# The groups of the items asked for (all when the header does not say).
	items = str(res['header'].get('items', '1,2,3,4,5')).split(',')
	missing = [g for i, g in enumerate(GROUPS, 1) if str(i) in items and
		   not any(n.startswith(g + '.') for n in res['measurements'])]
	ok = res['end'] == 'ok' and not res['errors'] and not missing
	detail = '; '.join(res['errors'] + (['no ' + ', '.join(missing)] if missing else []))
	lines = [('PASS' if ok else 'FAIL', 'bench/output', detail)]
	lines += [('PASS' if good else 'FAIL', 'bench/' + name, '') for name, good in res['checks']]
	if out and res['measurements']:
		doc = document([res], 'unknown', None, 'unknown', 'vmalock-run.sh --bench')
		with open(os.path.join(out, 'bench.json'), 'w') as f:
			json.dump(doc, f, indent=1)
		with open(os.path.join(out, 'bench.txt'), 'w') as f:
			f.write(table(doc))
	return lines


def cmd_check(args):
	"""Summary lines (PASS|FAIL name) for a results port."""
	with open(args.raw, errors='replace') as f:
		lines = checks(f.read(), args.out)
	for v, name, detail in lines:
		print('%s %s%s' % (v, name, ' (%s)' % detail if detail else ''))
	return 1 if any(v == 'FAIL' for v, _, _ in lines) else 0


def cmd_report(args):
	runs = [parse_file(p) for p in args.raw]
	for p, r in zip(args.raw, runs):
		if r['end'] != 'ok' or r['errors']:
			raise BenchError('%s: the bench did not finish: %s' % (
				p, '; '.join(r['errors']) or 'no "# end ok"'))
	doc = document(runs, args.variant, args.smp, args.accel, args.command, args.kernel)
	os.makedirs(args.out, exist_ok=True)
	if args.plots:
		doc['plots'] = [os.path.basename(p) for p in plots(doc, args.out)]
	with open(os.path.join(args.out, 'bench.json'), 'w') as f:
		json.dump(doc, f, indent=1)
	text = table(doc)
	with open(os.path.join(args.out, 'bench.txt'), 'w') as f:
		f.write(text)
	sys.stdout.write(text)
	for p in doc.get('plots', []):
		print('plot: %s' % os.path.join(args.out, p))
	return 0


def cmd_compare(args):
	a, b = load_doc(args.a), load_doc(args.b)
	same_measurements(a, b, args.a, args.b)
	rows = compare(a, b, args.noise_floor)
	if not rows:
		raise BenchError('%s and %s hold no measurements' % (args.a, args.b))
	sys.stdout.write(compare_text(a, b, rows, args.a, args.b, args.noise_floor))
	return 0


def percent(text):
	try:
		v = float(text)
	except ValueError:
		v = -1
	if not 0 <= v <= 100:
		raise argparse.ArgumentTypeError('a percentage 0..100, got %r' % text)
	return v


def main(argv=None):
	ap = argparse.ArgumentParser(description=__doc__)
	sub = ap.add_subparsers(dest='cmd', required=True)
	c = sub.add_parser('check')
	c.add_argument('raw')
	c.add_argument('--out')
	r = sub.add_parser('report')
	r.add_argument('--raw', action='append', required=True)
	r.add_argument('--out', required=True)
	r.add_argument('--variant', required=True)
	r.add_argument('--smp', type=int, required=True)
	r.add_argument('--accel', required=True)
	r.add_argument('--command', required=True)
	r.add_argument('--kernel')
	r.add_argument('--plots', action='store_true')
	p = sub.add_parser('compare')
	p.add_argument('--noise-floor', type=percent, default=NOISE_FLOOR, metavar='PCT')
	p.add_argument('a')
	p.add_argument('b')
	args = ap.parse_args(argv)
	try:
		return {'check': cmd_check, 'report': cmd_report, 'compare': cmd_compare}[args.cmd](args)
	except BenchError as e:
		print('bench: %s' % e, file=sys.stderr)
		return 2


if __name__ == '__main__':
	sys.exit(main())
