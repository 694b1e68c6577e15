# SPDX-License-Identifier: GPL-2.0
#
# The verdicts of a LAVA run of a job from scripts/lava-job.sh, in the form
# of scripts/vmalock-run.sh's summary.txt, and their comparison with one.
#
# usage: vmalock-py lava_results LOG [--summary SUMMARY] [--out FILE] [--console FILE]
#
# LOG is lava-run's log (the YAML lines it writes, one record a line) or a
# server's job log in the same form; its "results" records are read. Each
# test case of a vmalock-<run> test suite becomes "RESULT <check>" with the
# check named as in summary.txt: real/<scenario>, lifecycle/<check>,
# kunit/<suite>/<case>, user/<check>, broken-<name>/<scenario>,
# no-kernel-splat; a "results" case (the run's results were missing or
# malformed) is the check <run> itself. A test action or the job that LAVA
# itself failed is a failed check lava/<name>.
#
# A run whose KTAP the guest relayed to the console (the log's "target"
# lines, between VMALOCK-RESULTS-BEGIN/END) is judged from it by judge.py's
# own code (judge.judge_console(): ktap.checks(), with the invariants each
# broken variant must be caught by), and its checks replace the ones its
# test cases gave. So does the check no-kernel-splat when the splats run's
# kernel log is there (between VMALOCK-DMESG-BEGIN/END): judge.py's splat
# check, known upstream splats included. The records are enough for the
# rest (lava/*).
#
# Without --summary: print the checks, then "N passed, N failed" (checks).
# With --summary: print the two verdicts of each check side by side, then
# "N passed, N failed" where a pass is a check with the same verdict on both
# sides (also when both fail); a check missing on either side disagrees.
# Exit 0 if all agree (or, without --summary, if every check passed), 1 if
# not, 2 if a file is unreadable or holds no results.

import argparse
import io
import json
import re
import sys

from vmalock import judge
from vmalock import refuse

VERDICT = {'pass': 'PASS', 'fail': 'FAIL', 'skip': 'SKIP'}
SUMMARY_RE = re.compile(r'^(PASS|FAIL|SKIP|KNOWN) (\S+)(?: \((.*)\))?$')


class ResultsError(Exception):
	pass


def clean(name):
	"""A name as a LAVA test case may carry it (what guest/lava-test does)."""
	return re.sub(r'[^-_a-zA-Z0-9.]', '_', name)


def key(check):
	"""Comparison key of a summary.txt check name: (run, case)."""
	run, _, rest = check.partition('/')
	if check == 'no-kernel-splat':
		return ('splats', 'no-kernel-splat')
	return (run, clean(rest.replace('/', '.')) if rest else 'results')


def _field(text, name):
	# Values in the log's flow-style YAML: plain or quoted scalars.
	m = re.search(r"[{ ]%s: ('(?:[^']|'')*'|\"[^\"]*\"|[^,}]*)" % re.escape(name), text)
	if not m:
		return None
	v = m.group(1).strip()
	if v[:1] in ('"', "'"):
		v = v[1:-1]
	return v


def _record(line):
	"""The msg of a results record, as a dict, or None.

	lava-run writes one JSON object a line; a server's log is YAML, one
	flow mapping a line ("- {dt: .., lvl: results, msg: {case: .., ..}}").
	"""
	line = line.strip()
	if line.startswith('- '):
		line = line[2:]
	if 'results' not in line:
		return None
	# lava-run's JSON carries YAML tags on some values ("endtc": ! "989").
	for text in (line, re.sub(r'(:\s*)!\s+', r'\1', line)):
		try:
			rec = json.loads(text)
		except ValueError:
			continue
		if isinstance(rec, dict) and rec.get('lvl') == 'results' and isinstance(rec.get('msg'), dict):
			return rec['msg']
		return None
	if not re.search(r'[{ ]lvl: results\b', line):
		return None
	return {k: _field(line, k) for k in ('definition', 'case', 'result', 'measurement', 'units')
		if _field(line, k) is not None}


def read_lava(path):
	"""Return {key: (verdict, check name, measurement text or detail)} from
	a LAVA log: its results records, and the runs whose KTAP is on its
	console judged again from it."""
	with open(path, errors='replace') as f:
		lines = f.read().splitlines()
	checks = records(lines)
	target = console(lines)
	judged = judge.judge_console(target, io.StringIO())
	dmesg = dmesg_block(target)
	if not checks and not judged and dmesg is None:
		raise ResultsError(f'{path}: no results records')
	checks = {k: v for k, v in checks.items() if k[0] not in judged}
	for run_checks in judged.values():
		checks.update((key(name), (v, name, detail)) for v, name, detail in run_checks)
	if dmesg is not None:	# the splats run's kernel log, judged as judge.py does
		kver = next((m.group(0) for m in map(LINUX_RE.search, dmesg) if m), '')
		v, detail, _ = judge.splat_check(dmesg, kver)
		checks[key('no-kernel-splat')] = (v, 'no-kernel-splat', detail)
	return checks


LINUX_RE = re.compile(r'Linux version \S+')


def dmesg_block(lines):
	"""The kernel log the splats run relayed (between VMALOCK-DMESG-BEGIN
	and VMALOCK-DMESG-END, the last such), or None."""
	ends = [i for i, line in enumerate(lines) if line.strip() == 'VMALOCK-DMESG-END']
	begins = [i for i, line in enumerate(lines) if line.strip() == 'VMALOCK-DMESG-BEGIN']
	if not ends or not begins or begins[-1] > ends[-1]:
		return None
	return lines[begins[-1] + 1:ends[-1]]


def records(lines):
	"""{key: (verdict, check name, measurement text)} of the results
	records of a LAVA log's lines."""
	checks = {}
	for line in lines:
		rec = _record(line)
		if rec is None:
			continue
		definition = str(rec.get('definition', ''))
		case = str(rec.get('case', ''))
		result = str(rec.get('result', '')).lower()
		verdict = VERDICT.get(result, 'FAIL')
		m = re.fullmatch(r'\d+_vmalock-(.+)', definition)
		if m:
			run = m.group(1)
			if run == 'splats':
				name = case
			elif case == 'results':
				name = run
			elif run == 'kunit':	# suite.case[.param], as kunit/suite/case[/param]
				name = 'kunit/' + case.replace('.', '/')
			else:
				name = f'{run}/{case}'
			meas = rec.get('measurement')
			units = rec.get('units')
			checks[(run, case)] = (verdict, name, f'{meas} {units}' if meas else '')
		elif definition == 'lava' and verdict == 'FAIL':
			checks[('lava', case)] = ('FAIL', f'lava/{case}', '')
	return checks


def console(lines):
	"""The target (device console) lines of a lava-run log's lines."""
	out = []
	for line in lines:
		try:
			rec = json.loads(line)
		except ValueError:
			continue
		if isinstance(rec, dict) and rec.get('lvl') == 'target':
			out.append(f"{rec.get('msg')}")
	return out


def write_console(log, path):
	"""The target (device console) lines of a lava-run log, as text."""
	with open(log, errors='replace') as f, open(path, 'w') as out:
		out.writelines(f'{line}\n' for line in console(f.read().splitlines()))


def read_summary(path):
	"""Return {key: (verdict, check name, detail)} from a summary.txt."""
	checks = {}
	with open(path) as f:
		for line in f:
			line = line.rstrip('\n')
			if not line:
				continue
			m = SUMMARY_RE.match(line)
			if not m:
				raise ResultsError(f"{path}: malformed line '{line}'")
			checks[key(m.group(2))] = (m.group(1), m.group(2), m.group(3) or '')
	if not checks:
		raise ResultsError(f'{path}: no checks')
	return checks


def compare(lava, summary):
	"""Return [(check, summary verdict, lava verdict, agree)], sorted."""
	rows = []
	for k in sorted(set(lava) | set(summary)):
		s = summary.get(k)
		la = lava.get(k)
		name = (s or la)[1]
		sv = s[0] if s else '-'
		lv = la[0] if la else '-'
		rows.append((name, sv, lv, s is not None and la is not None and sv == lv))
	return rows


def main(argv=None):
	ap = argparse.ArgumentParser(description='Verdicts of a LAVA run, compared with summary.txt.')
	ap.add_argument('log')
	ap.add_argument('--summary', help="vmalock-run.sh's summary.txt")
	ap.add_argument('--out', help='also write the checks, summary.txt-style, here')
	ap.add_argument('--console', help="also write the device's console output (the log's "
			'target lines) here, for vmalock.results and vmalock.splats')
	args = ap.parse_args(argv)
	try:
		lava = read_lava(args.log)
		if args.console:
			write_console(args.log, args.console)
		summary = read_summary(args.summary) if args.summary else None
	except (OSError, ResultsError) as e:
		return refuse('lava-results', e)
	if args.out:
		with open(args.out, 'w') as f:
			for verdict, name, meas in sorted(lava.values(), key=lambda v: v[1]):
				f.write(f'{verdict} {name}' + (f' ({meas})' if meas else '') + '\n')
	if summary is None:
		for verdict, name, meas in sorted(lava.values(), key=lambda v: v[1]):
			print(f'{verdict:<4}  {name}' + (f'  {meas}' if meas else ''))
		p = sum(1 for v in lava.values() if v[0] != 'FAIL')
		print(f'{p} passed, {len(lava) - p} failed')
		return 0 if p == len(lava) else 1
	rows = compare(lava, summary)
	w = max(len(r[0]) for r in rows)
	print(f'{"check":<{w}}  vmalock-run  lava-run')
	for name, sv, lv, ok in rows:
		print(f'{name:<{w}}  {sv:<11}  {lv:<8}' + ('' if ok else '  DIFFERENT'))
	agree = sum(1 for r in rows if r[3])
	print(f'{agree} passed, {len(rows) - agree} failed')
	return 0 if agree == len(rows) else 1


if __name__ == '__main__':
	sys.exit(main())
