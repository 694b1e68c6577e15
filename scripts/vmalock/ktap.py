# SPDX-License-Identifier: GPL-2.0
#
# vmalock_test results as KTAP: find one run's block in a serial log, parse
# and validate it, decide each test's verdict, and write the run's
# results-<run>.{ktap,json} and junit-<run>.xml.
#
# The results of run NAME sit between
#	VMALOCK-RESULTS-BEGIN run=NAME
#	VMALOCK-RESULTS-END
# lines, possibly printk-timestamped. With kunit.py, results-<run>.json is
# kunit.py's own (KernelCI-style) JSON; without it, or if kunit.py fails, it
# is ours in the same shape plus the metrics and first violation.
#
# Expecting "fail" is for broken variants: every non-skipped scenario must be
# "not ok" with at least one violation; a "not ok" without a violation
# (e.g. the scenario crashed) does not count as the breakage being caught,
# nor does one whose only violation is [coverage] (it tested nothing).

import json
import os
import re
import subprocess
import sys
import xml.etree.ElementTree as ET

TS_RE = re.compile(r'^\[\s*\d+\.\d+\]\s?(?:\[\s*[TC]\d+\]\s?)?')
BEGIN_RE = re.compile(r'VMALOCK-RESULTS-BEGIN run=(\S+)')
END_RE = re.compile(r'VMALOCK-RESULTS-END\b')
RESULT_RE = re.compile(r'^(not ok|ok) (\d+)(?: (.*))?$')
KV_RE = re.compile(r'(\w+)=(\S+)')
VIOLATED_RE = re.compile(r'invariant (\w+) violated (\d+) times')


class ResultsError(Exception):
	"""Results of the run are missing or malformed."""


def _num(v):
	try:
		return int(v)
	except ValueError:
		try:
			return float(v)
		except ValueError:
			return v


def _kv(text):
	return {k: _num(v) for k, v in KV_RE.findall(text)}


def extract_block(lines, run):
	"""Return (ktap_lines, has_end) of the last results block of run.

	Time stamps, the markers and console noise that is not KTAP (kernel
	messages interleaved with the results) are dropped. Raises ResultsError
	if there is no block for run.
	"""
	start = None
	for i, line in enumerate(lines):
		m = BEGIN_RE.search(line)
		if m and m.group(1) == run:
			start = i
	if start is None:
		raise ResultsError(f'no VMALOCK-RESULTS-BEGIN run={run} marker')
	block, has_end, prefix = [], False, None
	for line in lines[start + 1:]:
		if END_RE.search(line):
			has_end = True
			break
		if BEGIN_RE.search(line):	# next run began: this one was cut short
			break
		line = TS_RE.sub('', line.rstrip('\r\n'), count=1).rstrip()
		# Like kunit_parser: the document starts at "KTAP version", and
		# whatever precedes that (a pr_fmt prefix, say) is stripped from
		# the lines that follow.
		if prefix is None:
			if 'KTAP version' not in line:
				continue
			prefix = line[:line.index('KTAP version')]
		if prefix and line.startswith(prefix):
			line = line[len(prefix):]
		# Indented lines are nested (KUnit suites and their cases): kept
		# as they are for kunit.py, skipped by the top-level parser.
		if line[:1].isspace() or re.match(r'KTAP version|\d*\.\.|(not )?ok |#( |$)', line):
			block.append(line)
	return block, has_end


def _depth(line):
	"""(nesting depth, line without its indentation): 4 spaces a level, as
	KUnit nests a suite's document in the run's and a parameterised case's
	in the suite's; any indentation at all is nested."""
	body = line.lstrip()
	n = len(line) - len(body)
	return (max(1, n // 4) if n else 0), body


def _result(line):
	"""(number, name, ok, skip, reason) of a result line, or None. The
	directive is what follows the first '#': SKIP, and TODO (a test not
	expected to pass yet, counted as skipped, as TAP does not count it)."""
	m = RESULT_RE.match(line)
	if not m:
		return None
	name, _, directive = (x.strip() for x in (m.group(3) or '').partition('#'))
	word = directive[:4].upper()
	skip = word in ('SKIP', 'TODO')
	reason = ('TODO ' if word == 'TODO' else '') + directive[4:].strip() if skip else ''
	return int(m.group(2)), name, m.group(1) == 'ok', skip, reason.strip()


def _parse_doc(lines, pos, depth):
	"""Parse the KTAP document that starts at lines[pos] at nesting depth.

	Returns (doc, pos after it). A document is its version line, its "#"
	lines before the plan (the header; "# Subtest: NAME" names a nested
	one), its plan and its results; the results of a document nested
	before a result line (deeper indentation) are that test's children.
	It ends at a line less indented. The top-level document (depth 0) is
	validated, and ResultsError raised at its first fault; nested ones are
	taken as they come, as kunit.py takes them.
	"""
	top = depth == 0
	doc = {'name': None, 'header': {}, 'plan': None, 'tests': [], 'trailer': []}
	pending, children = [], []
	if pos < len(lines) and re.fullmatch(r'K?TAP version \d+', lines[pos].strip()) and \
	   _depth(lines[pos])[0] == depth:
		pos += 1
	while pos < len(lines):
		d, line = _depth(lines[pos])
		if d < depth:
			break
		if d > depth:
			sub, pos = _parse_doc(lines, pos, depth + 1)
			children += sub['tests']
			continue
		pos += 1
		if line.startswith('#'):
			m = re.match(r'# Subtest: (.*)', line)
			if m and doc['plan'] is None and not top:
				doc['name'] = m.group(1).strip()
			elif doc['plan'] is None:
				doc['header'].update(_kv(line))
			else:
				pending.append(line)
			continue
		if re.match(r'\d*\.\.', line):
			m = re.fullmatch(r'1\.\.(\d+)', line)
			if top and not m:
				raise ResultsError(f"malformed plan '{line}'")
			if top and doc['plan'] is not None:
				raise ResultsError('more than one plan')
			doc['plan'] = int(m.group(1)) if m else doc['plan']
			continue
		r = _result(line)
		if not r:
			if top:
				raise ResultsError(f"malformed result line '{line}'")
			continue
		if top and doc['plan'] is None:
			raise ResultsError(f"no test plan (1..N) before '{line}'")
		t = _make_test(*r, pending)
		t['children'], pending, children = children, [], []
		doc['tests'].append(t)
	doc['trailer'] = pending
	return doc, pos


def parse_ktap(block, has_end=True):
	"""Parse and validate extracted KTAP lines: the one KTAP parser.

	Returns {'header': {k: v}, 'plan': N, 'tests': [test, ...], 'trailer':
	[diagnostic lines after the last result]} where a test is {'number',
	'name', 'status' (PASS/FAIL/SKIP), 'skip_reason', 'diag' (diagnostic
	lines), 'metrics' ({k: v}), 'violation' (text or None), 'invariant'
	(name or None), 'violated' ({invariant: count}), 'children' (the tests
	of the document nested under it: a KUnit suite's cases, a case's
	parameters; [] for none)}. Raises ResultsError.
	"""
	if not has_end:
		raise ResultsError('no VMALOCK-RESULTS-END marker (guest crashed or hung?)')
	if not block or block[0] != 'KTAP version 1':
		raise ResultsError("no 'KTAP version 1' line")
	doc, _ = _parse_doc(block, 0, 0)
	plan, tests = doc['plan'], doc['tests']
	if plan is None:
		raise ResultsError('no test plan (1..N)')
	if len(tests) != plan:
		raise ResultsError(f'plan is 1..{plan} but {len(tests)} results')
	for i, t in enumerate(tests, 1):
		if t['number'] != i:
			raise ResultsError(f"result {t['number']} ({t['name']}) where {i} expected")
	return {'header': doc['header'], 'plan': plan, 'tests': tests, 'trailer': doc['trailer']}


SITE_PREFIX = '# sysmon: site '


def _all_diag(res):
	for t in res['tests']:
		yield from t['diag']
	yield from res.get('trailer', [])


def call_sites(res):
	"""The system-wide monitor's call sites: [{kind, calls, ..., caller}].

	From the "# sysmon: site kind=K calls=N ... caller=SYMBOL+OFF/LEN" lines
	the module prints after its last result, most called first (a run
	that relays them, as the guest's user run does, may put them anywhere).
	"""
	sites = []
	for line in _all_diag(res):
		if line.startswith(SITE_PREFIX):
			sites.append(_kv(line[len(SITE_PREFIX):]))
	return sites


def sysmon_summary(res):
	"""The "# sysmon: call_sites=N ... seed=S delay_rate=R ..." line, as
	{k: v}, with the pauses made at each step ("# sysmon: delays at
	read_locked=N ...", when there were pauses) as delays_STEP, or None."""
	summary, steps = None, {}
	for line in _all_diag(res):
		if line.startswith('# sysmon: call_sites=') and summary is None:
			summary = _kv(line[len('# sysmon: '):])
		elif line.startswith('# sysmon: delays at '):
			steps = {f'delays_{k}': v for k, v in _kv(line).items()}
	if summary is not None:
		summary.update(steps)
	return summary


def _make_test(number, name, ok, skip, reason, diag):
	t = {'number': number, 'name': name,
	     'status': 'SKIP' if skip else 'PASS' if ok else 'FAIL',
	     'skip_reason': reason, 'diag': diag, 'metrics': {},
	     'violation': None, 'invariant': None, 'violated': {}}
	own = f'# {name}: '
	for line in diag:
		if not line.startswith(own):
			continue
		text = line[len(own):]
		m = VIOLATED_RE.fullmatch(text)
		if m:
			t['violated'][m.group(1)] = int(m.group(2))
		elif text.startswith('first violation:'):
			t['violation'] = text[len('first violation:'):].strip()
			m = re.search(r'\[([^\]]+)\]', t['violation'])
			t['invariant'] = m.group(1) if m else None
		else:
			t['metrics'].update(_kv(text))
	return t


def load(path, run):
	"""Read a console log and return (parsed results, ktap lines)."""
	with open(path, errors='replace') as f:
		lines = f.read().splitlines()
	block, has_end = extract_block(lines, run)
	return parse_ktap(block, has_end), block


def counts(res):
	c = {'tests': len(res['tests']), 'passed': 0, 'failed': 0, 'skipped': 0}
	for t in res['tests']:
		c[{'PASS': 'passed', 'FAIL': 'failed', 'SKIP': 'skipped'}[t['status']]] += 1
	return c


def to_json(res, run, title):
	"""Our own JSON, shaped like kunit.py's (test_cases[].status, misc)."""
	cases = [{'name': t['name'], 'status': t['status'],
		  'skip_reason': t['skip_reason'] or None,
		  'metrics': t['metrics'], 'invariant': t['invariant'],
		  'first_violation': t['violation']} for t in res['tests']]
	return {'name': title, 'run': run, 'metadata': res['header'],
		'test_cases': cases, 'misc': counts(res)}


def _secs(t):
	ms = t['metrics'].get('time_ms')
	return f'{ms / 1000:.3f}' if isinstance(ms, (int, float)) else '0'


# Characters XML 1.0 does not allow (control characters but tab and
# newline): a relayed test's output may carry colour escapes.
XML_BAD_RE = re.compile('[\x00-\x08\x0b-\x1f\x7f]')


def _xml_text(text):
	return XML_BAD_RE.sub('', text)


def to_junit(res, run, title):
	"""JUnit XML text: one testsuite for the run, one testcase per scenario."""
	c = counts(res)
	total = sum(t['metrics'].get('time_ms', 0) for t in res['tests']
		    if isinstance(t['metrics'].get('time_ms'), (int, float)))
	attrs = {'tests': str(c['tests']), 'failures': str(c['failed']),
		 'skipped': str(c['skipped']), 'errors': '0',
		 'time': f'{total / 1000:.3f}'}
	root = ET.Element('testsuites', name=title, **attrs)
	suite = ET.SubElement(root, 'testsuite', name=title, **attrs)
	props = ET.SubElement(suite, 'properties')
	for k, v in [('run', run)] + list(res['header'].items()):
		ET.SubElement(props, 'property', name=k, value=str(v))
	for t in res['tests']:
		tc = ET.SubElement(suite, 'testcase', name=t['name'],
				   classname=f'vmalock_test.{run}', time=_secs(t))
		if t['status'] == 'FAIL':
			msg = t['violation'] or 'not ok without a reported violation'
			ET.SubElement(tc, 'failure', message=_xml_text(msg)).text = _xml_text(msg)
		elif t['status'] == 'SKIP':
			ET.SubElement(tc, 'skipped', message=_xml_text(t['skip_reason']))
		if t['diag']:
			ET.SubElement(tc, 'system-out').text = _xml_text('\n'.join(t['diag']) + '\n')
	ET.indent(root)
	return '<?xml version="1.0" encoding="UTF-8"?>\n' + \
		ET.tostring(root, encoding='unicode') + '\n'


def kunit_json(kunit_py, ktap_path, json_path):
	"""Have kunit.py write its JSON; return True if it produced valid JSON.

	kunit.py's "--json" alone prints JSON to stdout mixed with its
	human-readable summary, so give it a file. It chdirs to the kernel
	tree, hence absolute paths; it exits 1 when tests failed, so judge by
	the file, not by the exit code.
	"""
	json_path = os.path.abspath(json_path)
	if os.path.exists(json_path):
		os.unlink(json_path)
	cmd = [sys.executable, kunit_py, 'parse', f'--json={json_path}',
	       os.path.abspath(ktap_path)]
	try:
		# No __pycache__ in the kernel tree.
		env = dict(os.environ, PYTHONDONTWRITEBYTECODE='1')
		subprocess.run(cmd, capture_output=True, timeout=120, env=env)
		with open(json_path) as f:
			json.load(f)
		return True
	except (OSError, ValueError, subprocess.TimeoutExpired) as e:
		print(f'results: kunit.py parse gave no valid JSON ({e}); writing our own',
		      file=sys.stderr)
		return False


def _fmt(v):
	return '-' if v is None else f'{v:g}' if isinstance(v, float) else str(v)


# The module's SKIP reason for what needs a feature this kernel lacks.
NOT_IN_KERNEL = 'not in this kernel'


def sysmon_skipped(res):
	"""Why the system-wide monitor did not run (its SKIP line), or None."""
	for t in res['tests']:
		if t['name'] == 'sysmon' and t['status'] == 'SKIP':
			return t['skip_reason']
	return None


def verdicts(res, expect, want=None):
	"""Judge each test of a run against the expectation.

	Returns [(test, verdict, why)], verdict PASS, FAIL or SKIP. Expecting
	'pass', a test's verdict is its status. Expecting 'fail' (a broken
	variant), a test passes when it caught the breakage: "not ok" with a
	violation that is not [coverage] (recorded last, so first only if
	alone, it says the scenario did not test anything), and, if @want
	({scenario: [invariants]}, vmalock_names.h's VT_CATCHES) names the
	test, with each of those invariants among the ones it reports. Without
	the system-wide monitor (its SKIP line), its sys_* invariants are not
	required, and a test that only they would catch is skipped.
	"""
	out = []
	no_sysmon = sysmon_skipped(res)
	for t in res['tests']:
		if t['status'] == 'SKIP' or expect == 'pass':
			out.append((t, t['status'], t['skip_reason']))
			continue
		v = t['metrics'].get('violations', 0)
		named = (want or {}).get(t['name'], [])
		if no_sysmon:
			named = [i for i in named if not i.startswith('sys_')]
			if (want or {}).get(t['name']) and not named and t['status'] != 'FAIL':
				out.append((t, 'SKIP', f'caught only by sysmon: {no_sysmon}'))
				continue
		missing = [i for i in named if i not in t['violated']]
		if (t['status'] == 'FAIL' and isinstance(v, int) and v > 0 and
		    t['invariant'] != 'coverage' and missing):
			out.append((t, 'FAIL', f"caught, but not as {', '.join(missing)} "
				    f"(reported: {', '.join(t['violated']) or 'none'})"))
		elif (t['status'] == 'FAIL' and isinstance(v, int) and v > 0 and
		      t['invariant'] != 'coverage'):
			ms = t['metrics'].get('detected_ms', '?')
			also = [i for i in named if i != t['invariant']]
			out.append((t, 'PASS', f"[{t['invariant'] or '?'}] after {ms} ms" +
				    (f"; also {', '.join(also)}" if also else '')))
		else:
			out.append((t, 'FAIL', 'passed' if t['status'] == 'PASS' else
				    'it did not test what it is for' if t['invariant'] == 'coverage'
				    else 'not ok without a violation'))
	return out


def expectation(run):
	"""What a run must do: 'fail' for a broken variant's run (catch it),
	else 'pass'."""
	return 'fail' if run.startswith('broken-') else 'pass'


def run_verdict(res, expect, want=None):
	"""(met, text) for the whole run: the last line of its report."""
	c = counts(res)
	judged = verdicts(res, expect, want)
	failed = [t['name'] for t, v, _ in judged if v == 'FAIL']
	if expect == 'pass':
		text = f"{c['passed']} passed, {c['failed']} failed, {c['skipped']} skipped"
		return not failed, text + (f"; failed: {', '.join(failed)}" if failed else '')
	ran = sum(v != 'SKIP' for _, v, _ in judged)
	# All scenarios skipped means nothing was caught either, unless this
	# kernel lacks what they need: then the variant is skipped by name.
	if failed:
		return False, f"broken variant not caught by: {', '.join(failed)}"
	why = sorted({r for _, v, r in judged if v == 'SKIP'})
	if not ran and why and all(NOT_IN_KERNEL in r for r in why):
		return True, f"broken variant not run: {'; '.join(why)}"
	if not ran:
		return False, 'broken variant no scenario ran'
	return True, f'broken variant caught by all {ran} scenarios'


def report(res, run, title, expect, file=None, want=None):
	"""Print the table and verdict; return True if the expectation is met."""
	def say(text=''):
		print(text, file=file or sys.stdout)
	tests = res['tests']
	w = max([len('scenario')] + [len(t['name']) for t in tests])
	meta = ' '.join(f'{k}={v}' for k, v in res['header'].items())
	say(f'== {title}' + (f' ({meta})' if meta else '') + ' ==')
	say(f'{"scenario":<{w}}  result        ops      ops/s  violations  time(s)  invariant')
	for t in tests:
		m = t['metrics']
		secs = _secs(t) if 'time_ms' in m else '-'
		if t['status'] == 'SKIP':
			extra = f"({t['skip_reason']})" if t['skip_reason'] else ''
		elif t['status'] == 'FAIL':
			extra = t['invariant'] or '(no violation reported)'
		else:
			extra = ''
		say(f"{t['name']:<{w}}  {t['status']:<6}  {_fmt(m.get('ops')):>9}  "
		    f"{_fmt(m.get('ops_per_s')):>9}  {_fmt(m.get('violations')):>10}  "
		    f"{secs:>7}  {extra}".rstrip())
	if expect == 'fail':
		for t, v, why in verdicts(res, expect, want):
			say(f"{t['name']}: " + (f'skipped ({why})' if v == 'SKIP' else
						f'caught: {why}' if v == 'PASS' else f'NOT caught ({why})'))
	met, text = run_verdict(res, expect, want)
	say(f'verdict: {"PASS" if met else "FAIL"}: run {run}: {text}')
	return met


def checks(res, run, expect, want=None):
	"""The run's check lines [(verdict, name, detail)], named as summary.txt
	names them: RUN/TEST for each test, RUN/SUITE/CASE[/PARAM] for each
	leaf of a KUnit run, and RUN itself when the run failed in a way no
	test line shows (or nothing ran). The verdict API: judge.py and the
	LAVA results path both judge a run with it."""
	if run == 'kunit':
		out = [(v, name, '') for name, v in leaves(res['tests'], run)]
	else:
		out = [(v, f"{run}/{t['name']}", '' if v == 'PASS' else why)
		       for t, v, why in verdicts(res, expect, want)]
	met, text = run_verdict(res, expect, want)
	if not out or (not met and not any(v == 'FAIL' for v, _, _ in out)):
		out.append(('FAIL', run, text if out else 'no test ran'))
	return out


def leaves(tests, path):
	"""[(path/name, status)] of the tests without children, depth first."""
	out = []
	for t in tests:
		p = f"{path}/{t['name']}"
		out += leaves(t['children'], p) if t['children'] else [(p, t['status'])]
	return out


def write_run(res, block, outdir, run, title, kunit_py=None):
	"""Write results-<run>.ktap, results-<run>.json and junit-<run>.xml."""
	base = os.path.join(outdir, f'results-{run}')
	os.makedirs(outdir, exist_ok=True)
	with open(base + '.ktap', 'w') as f:
		f.write('\n'.join(block) + '\n')
	use_kunit = kunit_py and os.path.isfile(kunit_py)
	if kunit_py and not use_kunit:
		print(f'results: no {kunit_py}; writing our own JSON', file=sys.stderr)
	if not (use_kunit and kunit_json(kunit_py, base + '.ktap', base + '.json')):
		with open(base + '.json', 'w') as f:
			json.dump(to_json(res, run, title), f, indent=4)
			f.write('\n')
	summary = sysmon_summary(res)
	if summary is not None:	# beside kunit.py's keys, or ours
		with open(base + '.json') as f:
			doc = json.load(f)
		doc['sysmon'] = summary
		doc['call_sites'] = call_sites(res)
		with open(base + '.json', 'w') as f:
			json.dump(doc, f, indent=4)
			f.write('\n')
	with open(os.path.join(outdir, f'junit-{run}.xml'), 'w') as f:
		f.write(to_junit(res, run, title))


def clear_run(outdir, run):
	"""Remove what write_run() wrote for run: outputs of an earlier attempt
	must not stand in for missing results."""
	for name in (f'results-{run}.ktap', f'results-{run}.json', f'junit-{run}.xml'):
		path = os.path.join(outdir, name)
		if os.path.exists(path):
			os.unlink(path)
