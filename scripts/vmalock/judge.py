# SPDX-License-Identifier: GPL-2.0
#
# Judge a results directory written by vmalock-run.sh, from the saved boots
# alone: the one place that decides verdicts. Used at the end of every run and
# by vmalock-run.sh --recheck DIR.
#
# usage: vmalock-py judge DIR [--note TEXT]...
#
# DIR/<boot>/ (main, broken-<variant>) holds a boot's console.log, the
# results port (results.raw), qemu-cmd, qemu.log, kernel-config,
# kernel-version and boot.info (key=value: runs, timeout, status, kunit_py,
# stopped: why the console watch stopped QEMU early).
# Writes per boot verdict.txt, splats.txt, results-<run>.{ktap,json},
# junit-<run>.xml and summary.txt; at the top summary.txt, junit.xml, and
# links console.log, results.ktap and results.json to the main boot's. Prints
# the runs' reports on stderr, then the --note lines, the summary table and
# "vmalock: N passed, N failed[, N skipped][, N known]" on stdout.
#
# A boot whose only splats are known upstream ones (known-splats.json, on a
# kernel its entry covers) gets KNOWN with the report's link for its splat
# check: counted apart, listed in the table, not a failure (kernel CI's
# xfail). An unknown splat, or a known one on another kernel, is a FAIL.
#
# Exit 0 if every check passed or is KNOWN, 1 if any failed, 2 if DIR holds
# no boot or the known-splats list is malformed.

import argparse
import glob
import io
import json
import os
import re
import sys
import xml.etree.ElementTree as ET

from vmalock import TOP
from vmalock import bench
from vmalock import callsites
from vmalock import known
from vmalock import features
from vmalock import ktap
from vmalock import names
from vmalock import splats
from vmalock import watch

NAMES_H = os.path.join(TOP, 'vmalock_names.h')


def expected_invariants(run):
	"""{scenario: [invariants]} a broken-<variant> run must report."""
	if not run.startswith('broken-'):
		return None
	return names.load_catches(NAMES_H).get(run[len('broken-'):], {})

PANIC_RE = re.compile(r'Kernel panic - not syncing: ?(.*)')
VIOLATION_RE = re.compile(r'vmalock_test: (?:sysmon: )?violation(?: in \S+)?: (.*)')
BANNER_RE = re.compile(watch.BANNER.pattern, re.M)
HUNG_TASK_RE = watch.HUNG_TASK
DONE = 'VMALOCK-GUEST-DONE'


def read_text(path):
	try:
		with open(path, errors='replace') as f:
			return f.read()
	except FileNotFoundError:
		return ''


def read_info(bootdir):
	info = {}
	for line in read_text(os.path.join(bootdir, 'boot.info')).splitlines():
		k, sep, v = line.partition('=')
		if sep:
			info[k.strip()] = v.strip()
	return info


def boot_problem(bootdir, info, console):
	"""Why the boot did not end as it should, or None if it did."""
	status = int(info.get('status', -1))
	panic = PANIC_RE.search(console)
	boots = len(BANNER_RE.findall(console))
	if panic:
		return f'kernel panic: {panic.group(1).strip()}'
	if boots > 1:
		return f'guest rebooted: {boots} boots on one console'
	if info.get('stopped'):
		return f"hung: {info['stopped']} (QEMU stopped by the console watch)"
	if DONE in console:
		return None
	if status in (124, 137):
		hang = ' (hung-task detector fired)' if HUNG_TASK_RE.search(console) else ''
		return f"hung: killed after {info.get('timeout', '?')}s{hang}"
	if status in (126, 127):
		why = read_text(os.path.join(bootdir, 'qemu.log')).strip().splitlines()
		return f"qemu did not start: {why[-1] if why else f'status {status}'}"
	if status > 128:
		return f'qemu crashed: killed by signal {status - 128}'
	if not console:
		return f'no console output (qemu status {status})'
	return f'guest ended without finishing (qemu status {status})'


# The leak boot scans with kmemleak itself, and its run judges the suspects
# (those pointing at the module fail it); kmemleak's count on the console is
# not a splat there.
ALLOW = {'leak': [r'^kmemleak: \d+ new suspected memory leaks']}


def scan(bootdir, console):
	"""Scan the console for splats into splats.txt, known upstream ones apart.
	Return (verdict, detail, splats.txt's text); verdict PASS (none), KNOWN
	(known ones only) or FAIL."""
	verdict, detail, text = splat_check(
		console.splitlines(), read_text(os.path.join(bootdir, 'kernel-version')),
		ALLOW.get(os.path.basename(bootdir), ()))
	with open(os.path.join(bootdir, 'splats.txt'), 'w') as f:
		f.write(text + '\n')
	return verdict, detail, text


def splat_check(lines, kernel_version, allow=()):
	"""The splat check of a boot's console lines on kernel_version (text
	holding X.Y[.Z]): (verdict, detail, splats.txt's text), as scan()."""
	found, allowed = splats.scan(lines, allow)
	kver = known.version(kernel_version)
	unknown, ok, wrong = known.sort(found, lines, kver, known.load(), allowed)
	this = '.'.join(map(str, kver)) if kver else 'unknown'
	out = [f'splat: {kind}: {n}: {msg}' for kind, n, msg in unknown]
	out += [f"splat: {s[0]}: {s[1]}: {s[2]} (known upstream for kernels {known.kernels(e)}, "
		f"not {this}: {e['link'] or e['subject']})" for s, e in wrong]
	out += [f"known: {s[0]}: {s[1]}: {s[2]} ({e['link'] or e['subject']})" for s, e in ok]
	out.append(f'splats: {len(unknown) + len(wrong)}' + (f', known: {len(ok)}' if ok else ''))
	if unknown or wrong:
		detail = f'splats: {len(unknown) + len(wrong)}' + ''.join(
			f'; {known.name(e)} is known upstream for kernels {known.kernels(e)} only, '
			f'this is {this}' for e in {known.name(e): e for _, e in wrong}.values())
		detail += f'; known upstream: {len(ok)}' if ok else ''
		return 'FAIL', detail, '\n'.join(out)
	if ok:
		named = dict.fromkeys(f"{known.name(e)}, {e['link'] or e['subject']}" for _, e in ok)
		return 'KNOWN', f"known upstream: {'; '.join(named)}", '\n'.join(out)
	return 'PASS', '', '\n'.join(out)


def judge_run(bootdir, run, raw, kunit_py, log, gone=None):
	"""Check lines [(verdict, name, detail)] of one run of a boot; gone: what
	the runs went without (LeftOut)."""
	if run == 'bench':	# not KTAP: figures and checks, for vmalock.bench
		return bench.checks('\n'.join(raw), bootdir)
	expect = ktap.expectation(run)
	ktap.clear_run(bootdir, run)
	try:
		block, has_end = ktap.extract_block(raw, run)
		res = ktap.parse_ktap(block, has_end)
	except ktap.ResultsError as e:
		return malformed(run, e, log)
	if gone and expect == 'fail':
		gone.unchecked(run, res)
	have = judge_features(bootdir, run, res, log)
	ktap.write_run(res, block, bootdir, run, f'vmalock_test.{run}', kunit_py)
	if have is not None:
		add_to_json(bootdir, run, 'kernel_features', have)
	sites = ktap.call_sites(res)
	if sites:
		write_call_sites(os.path.join(bootdir, f'call-sites-{run}.txt'), sites,
				 ktap.sysmon_summary(res))
		print(f'results: run {run}: {len(sites)} lock call sites reached, '
		      f'see call-sites-{run}.txt', file=log)
	# Which of the built kernel's call sites the run reached (call-sites-static.txt);
	# the monitor counts them, so without it (patch 0003 left out) nothing is.
	try:
		coverage = callsites.judge_run(bootdir, run, sites, ktap.sysmon_summary(res), log,
					       left_out=gone and gone.without('sysmon'))
	except (OSError, callsites.SitesError) as e:
		coverage = [('FAIL', f'call-sites-{run}', str(e))]
	want = gone.want(run) if gone else expected_invariants(run)
	return run_checks(res, run, log, want) + coverage


def malformed(run, e, log):
	"""The one check of a run whose results are missing or malformed."""
	print(f'results: run {run}: results missing or malformed: {e}', file=log)
	return [('FAIL', run, f'results missing or malformed: {e}')]


def run_checks(res, run, log, want):
	"""Report a parsed run on log; return its check lines (ktap.checks())."""
	expect = ktap.expectation(run)
	ktap.report(res, run, f'vmalock_test.{run}', expect, file=log, want=want)
	return ktap.checks(res, run, expect, want)


def judge_console(lines, log):
	"""{run: check lines} of each run whose KTAP results are in lines (a
	console on which the guest relayed them, as on LAVA): the checks
	judge_run() makes of them, a broken variant's named invariants
	included, without what needs the boot's directory (files, call-site
	coverage, the kernel's features)."""
	out = {}
	for run in dict.fromkeys(m.group(1) for m in map(ktap.BEGIN_RE.search, lines) if m):
		if run == 'bench':
			continue
		try:
			block, has_end = ktap.extract_block(lines, run)
			res = ktap.parse_ktap(block, has_end)
		except ktap.ResultsError as e:
			out[run] = malformed(run, e, log)
			continue
		out[run] = run_checks(res, run, log, expected_invariants(run))
	return out


def judge_features(bootdir, run, res, log):
	"""The booted kernel's mm features (from its kernel-config), or None
	without one. A test the run skipped although the kernel has every
	feature it needs (features.py's table) is turned into a failure,
	unless its table skips it on purpose, with a reason."""
	config = features.read_config(os.path.join(bootdir, 'kernel-config'))
	if config is None:
		return None
	have = features.booted(config)
	planned = features.planned_skips(run)
	for t in res['tests']:
		why = (t['status'] == 'SKIP' and t['name'] not in planned and
		       features.skipped_but_present(run, t['name'], have))
		if why:
			why += f"; its reason: {t['skip_reason'] or 'none given'}"
			print(f"results: run {run}: {t['name']} {why}", file=log)
			t.update(status='FAIL', skip_reason=why, violation=why)
	return have


def add_to_json(bootdir, run, key, value):
	"""One more key in the run's results-<run>.json (ours or kunit.py's)."""
	path = os.path.join(bootdir, f'results-{run}.json')
	with open(path) as f:
		doc = json.load(f)
	doc[key] = value
	with open(path, 'w') as f:
		json.dump(doc, f, indent=4)
		f.write('\n')


def judge_boot(bootdir, gone=None):
	"""Judge one boot; return its check lines [(verdict, name, detail)]."""
	name = os.path.basename(bootdir)
	info = read_info(bootdir)
	console = read_text(os.path.join(bootdir, 'console.log'))
	raw = read_text(os.path.join(bootdir, 'results.raw')).splitlines()
	log = io.StringIO()
	checks = []
	problem = boot_problem(bootdir, info, console)
	print(f'== boot {name}: ' + (f'FAIL: {problem}' if problem else 'ok'), file=log)
	if problem:
		# What the module saw before the boot went wrong (a deadlock the
		# system-wide monitor named as it began, for one).
		seen = VIOLATION_RE.findall(console)
		if seen:
			print(f'violations on the console before that: {len(seen)}; first: {seen[0]}',
			      file=log)
			problem += f'; first violation on the console: {seen[0]}'
		checks.append(('FAIL', f'boot-{name}', problem))
	verdict, detail, text = scan(bootdir, console)
	# A broken variant may well trip the kernel's own checks: no verdict.
	# Every other boot (main, leak, soak) must be clean, or KNOWN.
	if not name.startswith('broken-'):
		check = 'no-kernel-splat' + ('' if name == 'main' else f'-{name}')
		checks.append((verdict, check, detail))
		if verdict != 'PASS':
			print(text, file=log)
	for run in filter(None, info.get('runs', '').split(',')):
		checks += judge_run(bootdir, run, raw, info.get('kunit_py') or None, log, gone)
	write_summary(os.path.join(bootdir, 'summary.txt'), checks)
	with open(os.path.join(bootdir, 'verdict.txt'), 'w') as f:
		f.write(log.getvalue())
	sys.stderr.write(log.getvalue())
	return checks


def write_call_sites(path, sites, summary):
	"""The system-wide monitor's call sites as a table, most called first."""
	cols = ['kind', 'calls', 'locked', 'readable', 'with_readers', 'max_wait_us', 'caller']
	rows = [[str(site.get(c, '')) for c in cols] for site in sites]
	width = [max(len(c), *(len(r[i]) for r in rows)) for i, c in enumerate(cols)]
	with open(path, 'w') as f:
		if summary:
			f.write(' '.join(f'{k}={v}' for k, v in summary.items()) + '\n')
		for r in [cols] + rows:
			f.write('  '.join(v.ljust(w) for v, w in zip(r, width)).rstrip() + '\n')


def write_summary(path, checks):
	with open(path, 'w') as f:
		for v, name, detail in checks:
			f.write(f'{v} {name}' + (f' ({detail})' if detail else '') + '\n')


def boots(out):
	"""The boot subdirectories of a results directory, main first."""
	names = sorted(d for d in os.listdir(out)
		       if os.path.isfile(os.path.join(out, d, 'boot.info')))
	return sorted(names, key=lambda d: d != 'main')


def merge_junit(out, names, checks):
	"""junit.xml: every run's suite, and one for the checks of no run."""
	root = ET.Element('testsuites', name='vmalock-test')
	for b in names:
		for run in filter(None, read_info(os.path.join(out, b)).get('runs', '').split(',')):
			path = os.path.join(out, b, f'junit-{run}.xml')
			if os.path.exists(path):
				top = ET.parse(path).getroot()
				root.extend(top.findall('testsuite') if top.tag == 'testsuites' else [top])
	# And the parts of the harness a patch left out takes with it (sysmon/*).
	own = [c for c in checks if '/' not in c[1] or c[1].endswith('/*')]
	suite = ET.SubElement(root, 'testsuite', name='vmalock_test.boot', tests=str(len(own)),
			      failures=str(sum(v == 'FAIL' for v, _, _ in own)), errors='0',
			      skipped=str(sum(v in ('SKIP', 'KNOWN') for v, _, _ in own)))
	for v, name, detail in own:
		tc = ET.SubElement(suite, 'testcase', name=name, classname='vmalock_test.boot')
		if v == 'FAIL':
			ET.SubElement(tc, 'failure', message=detail or 'failed')
		elif v in ('SKIP', 'KNOWN'):
			ET.SubElement(tc, 'skipped', message=(f'{v}: ' if v == 'KNOWN' else '') + detail)
	ET.indent(root)
	ET.ElementTree(root).write(os.path.join(out, 'junit.xml'), encoding='unicode',
				   xml_declaration=True)


def link_main(out):
	"""console.log, results.ktap, results.json at the top: the main boot's."""
	for link, target in [('console.log', 'main/console.log'),
			     ('results.ktap', 'main/results-real.ktap'),
			     ('results.json', 'main/results-real.json')]:
		path = os.path.join(out, link)
		if os.path.islink(path) or os.path.exists(path):
			os.unlink(path)
		if os.path.exists(os.path.join(out, target)):
			os.symlink(target, path)


def final_line(checks):
	"""('vmalock: N passed, N failed[, N skipped][, N known]', N failed)."""
	n = {v: sum(c[0] == v for c in checks) for v in ('PASS', 'FAIL', 'SKIP', 'KNOWN')}
	line = f"vmalock: {n['PASS']} passed, {n['FAIL']} failed"
	line += f", {n['SKIP']} skipped" if n['SKIP'] else ''
	return line + (f", {n['KNOWN']} known" if n['KNOWN'] else ''), n['FAIL']


PATCHES = os.path.join(TOP, 'patches')


class LeftOut:
	"""What a run went without: the patches that do not apply to the tree
	(DIR/skipped-patches, from patch-kernel.sh by way of build-kernel.sh:
	name, what needs it, the module parameters the runs took, the
	invariants no longer checked, why; tab-separated, one line each), and
	the broken variants not booted, as only those invariants catch them
	(DIR/skipped-runs, from vmalock-run.sh: broken-NAME, one a line)."""

	def __init__(self, out):
		self.patches = []
		for line in read_text(os.path.join(out, 'skipped-patches')).splitlines():
			f = line.split('\t')
			if len(f) == 5:
				self.patches.append(dict(zip(('name', 'what', 'params', 'invs', 'why'), f)))
		self.invs = {i: p for p in self.patches for i in p['invs'].split(',') if i}
		self.runs = [r for r in read_text(os.path.join(out, 'skipped-runs')).split() if r]
		self.skipped = []	# the checks skipped for them, by name

	def short(self, p):
		return f"patch {p['name'][:4]}"

	def needs(self, invs):
		"""'which needs patch NNNN' for invariants not checked."""
		who = sorted({self.short(self.invs[i]) for i in invs})
		return f"{', '.join(invs)}, which need{'s' if len(invs) == 1 else ''} " \
			f"{' and '.join(who)}: left out"

	def checks(self):
		"""The SKIP lines: each patch's part of the harness, each run not booted."""
		out = [('SKIP', f"{p['what']}/*", f"{self.short(p)} does not apply to this tree: "
			f"{p['why']}; the runs went without it, {p['params']}") for p in self.patches]
		caught = names.load_catches(NAMES_H)
		for run in self.runs:
			invs = sorted({i for t in caught.get(run[len('broken-'):], {}).values()
				       for i in t if i in self.invs})
			out.append(('SKIP', run, f'caught only by {self.needs(invs)}' if invs else
				    'not booted: what catches it was left out'))
		self.skipped += [name for _, name, _ in out]
		return out

	def unchecked(self, run, res):
		"""A broken run's scenarios that only invariants not checked could
		report in: skipped, with the reason, in res (the run's results)."""
		want = expected_invariants(run) or {}
		for t in res['tests']:
			invs = want.get(t['name'])
			if invs and all(i in self.invs for i in invs) and t['status'] != 'SKIP':
				t['status'], t['skip_reason'] = 'SKIP', f'caught only by {self.needs(invs)}'
				self.skipped.append(f"{run}/{t['name']}")

	def without(self, what):
		"""Why the part @what of the harness did not run, or None if it did."""
		for p in self.patches:
			if p['what'] == what:
				return f"{self.short(p)} does not apply to this tree: {p['why']}"
		return None

	def want(self, run):
		"""The invariants a broken run must report, but those not checked."""
		want = expected_invariants(run)
		return want and names.without({run: want}, self.invs)[run]

	def note(self, checks):
		"""How much of the harness ran, in one line, if not all of it."""
		if not self.patches:
			return None
		total = len(glob.glob(os.path.join(PATCHES, '*.patch')))
		ran = sum(v != 'SKIP' for v, _, _ in checks)
		left = ' and '.join(p['name'][:4] for p in self.patches)
		return (f"vmalock: part of the harness ran: {total - len(self.patches)} of {total} "
			f"patches applied ({left} left out: does not apply to this tree); skipped "
			f"for it: {', '.join(self.skipped)}; everything else ran ({ran} checks)")


def judge_dir(out, notes=()):
	names = boots(out)
	if not names:
		print(f'judge: {out}: no boot directory (<boot>/boot.info)', file=sys.stderr)
		return 2
	gone = LeftOut(out)
	checks = gone.checks()
	for b in names:
		checks += judge_boot(os.path.join(out, b), gone)
	if not any(v in ('PASS', 'FAIL', 'KNOWN') for v, _, _ in checks):
		checks.append(('FAIL', 'any-check', 'no check ran'))
	write_summary(os.path.join(out, 'summary.txt'), checks)
	merge_junit(out, names, checks)
	link_main(out)
	for note in notes:
		print(note)
	table = sorted(checks, key=lambda c: c[1])
	w = max(len(c[1]) for c in table)
	print()
	for v, name, detail in table:
		print(f'{v}  {name:<{w}}  ({detail})' if detail else f'{v}  {name}')
	line, failed = final_line(checks)
	note = gone.note(checks)
	if note:
		print(note)
	print(line)
	return 1 if failed else 0


def main(argv=None):
	ap = argparse.ArgumentParser(description='Judge a vmalock-run.sh results directory.')
	ap.add_argument('dir')
	ap.add_argument('--note', action='append', default=[], help='line to print before the table')
	args = ap.parse_args(argv)
	if not os.path.isdir(args.dir):
		print(f'judge: {args.dir}: not a directory', file=sys.stderr)
		return 2
	try:
		return judge_dir(args.dir, args.note)
	except (OSError, known.KnownError) as e:
		print(f'judge: {e}', file=sys.stderr)
		return 2


if __name__ == '__main__':
	sys.exit(main())
