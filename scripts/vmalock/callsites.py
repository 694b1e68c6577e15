# SPDX-License-Identifier: GPL-2.0
#
# The per-VMA lock's call sites in the kernel that was built, and how a run's
# system-wide monitor (vmalock_sysmon.c) covered them.
#
# usage: callsites.py static KBUILD [-o FILE]
#            list every call site of the write lock, of detach and of the
#            read lock in KBUILD's vmlinux (from the objects of vmlinux.a)
#        callsites.py coverage STATIC CALL_SITES [--run RUN]
#            the coverage of the static list STATIC by a call-sites-RUN.txt
#            (judge.py writes both), and the verdict if RUN has expected
#            sites in expected-sites.txt
#
# No hand-written list of call sites: the inline lock operations call
# out-of-line functions (HELPERS) that record their return address as the
# caller, so every function that calls one of them is a call site, one the
# monitor names as caller=FUNCTION+OFF/LEN. A newer kernel's new call site
# appears by itself. Sites are merged per function, and GCC's suffixes
# (.isra.0, .constprop.0, .part.0, .cold) are dropped on both sides, so a site
# is a source function: several sites in one function count as one.
#
# Exit 0 on success (coverage: if no expected site was missed), 1 if one
# was, 2 on bad usage or input.

import argparse
import os
import re
import subprocess
import sys
import time

KINDS = ('write', 'detach', 'read')

# The out-of-line functions whose caller is a call site: (symbol, kind).
# They record their return address as the caller (patch 0003), so the
# function that calls them, after inlining, is what the monitor reports.
HELPERS = (
	('__vma_start_write', 'write'),			# vma_start_write*()
	('__vma_lock_do_trace_write_relocked', 'write'),	# ... already locked
	('__vma_lock_do_trace_detach_begin', 'detach'),	# vma_mark_detached()
	('__vma_lock_do_trace_detach_end', 'detach'),
	('__vma_exclude_readers_for_detach', 'detach'),
	('lock_vma_under_rcu', 'read'),			# records its _RET_IP_
	('lock_next_vma', 'read'),			# records its _RET_IP_
	('__vma_lock_do_trace_read_locked', 'read'),	# vma_start_read_locked*()
)

# The monitor's kinds (vt_site_kind_names[]) as kinds of this list: a
# killable write lock given up on a fatal signal ran at a write site.
MONITOR_KINDS = {'write': 'write', 'write_killed': 'write', 'detach': 'detach', 'read': 'read'}

EXPECTED = os.path.join(os.path.dirname(os.path.abspath(__file__)), 'expected-sites.txt')
STATUSES = ('expected', 'later')

# KUnit suites built in (mm/tests/vmalock_kunit.o, ...): their sites are
# the tests' own, reached by the KUnit run only, so not listed.
TEST_OBJECT_RE = re.compile(r'(^|/)tests?/|_kunit\.o$|_test\.o$')
SUFFIX_RE = re.compile(r'(\.(isra|constprop|part|cold|lto_priv|llvm)(\.\d+)?)+$')
FUNC_RE = re.compile(r'^[0-9a-f]+ <(\S+)>:$')
INSN_RE = re.compile(r'^\s+[0-9a-f]+:\t(\S+)\s*(.*)$')
RELOC_RE = re.compile(r'^\s+[0-9a-f]+: R_X86_64_(?:PLT32|PC32)\t([^\s+-]+)')
TARGET_RE = re.compile(r'<([^\s+>]+)>$')
PREFIXES = ('notrack', 'bnd', 'cs', 'ds')


class SitesError(Exception):
	"""A build directory, list or file is not what it should be."""


def source_name(symbol):
	"""The source function of a symbol: foo.isra.0, foo.cold -> foo."""
	return SUFFIX_RE.sub('', symbol)


def caller_function(caller):
	"""FUNCTION of the monitor's caller=FUNCTION+0xOFF/0xLEN, or None."""
	m = re.match(r'^([^\s+]+)\+0x[0-9a-f]+/0x[0-9a-f]+$', str(caller))
	return source_name(m.group(1)) if m else None


# ---------------------------------------------------------------------------
# The static list

def branches(objdump_text):
	"""[(function, mnemonic, target)] of the calls and jumps to a symbol.

	From `objdump -dr` of an object: the target is the symbol of the
	instruction's relocation; or, with none (a linked image, a local
	target), the <symbol> objdump names without an offset.
	"""
	out = []
	func = pending = None	# pending: [function, mnemonic, target or None]

	def flush():
		if pending and pending[2]:
			out.append(tuple(pending))

	for line in objdump_text.splitlines():
		m = RELOC_RE.match(line)
		if m:
			if pending:
				pending[2] = m.group(1)
			flush()
			pending = None
			continue
		m = FUNC_RE.match(line) or INSN_RE.match(line)
		if not m:
			continue
		flush()
		pending = None
		if m.re is FUNC_RE:
			func = m.group(1)
			continue
		mnem, args = m.group(1), m.group(2)
		if mnem in PREFIXES:
			mnem, _, args = args.partition(' ')
		if func and mnem.startswith(('call', 'j')):
			t = TARGET_RE.search(args)
			pending = [func, mnem, t.group(1) if t else None]
	flush()
	return out


def parse_nm(text):
	"""{symbol: [(object, nm type)]} of `nm -A vmlinux.a` output."""
	syms = {}
	for line in text.splitlines():
		where, _, rest = line.rpartition(':')
		obj = where.partition(':')[2]
		f = rest.split()
		if len(f) >= 2 and obj:
			syms.setdefault(f[-1], []).append((obj, f[-2]))
	return syms


def archive_symbols(kbuild):
	"""parse_nm() of the objects linked into KBUILD's vmlinux (vmlinux.a)."""
	if not os.path.isfile(os.path.join(kbuild, 'vmlinux.a')):
		raise SitesError(f'{kbuild}: no vmlinux.a: not a kernel build directory '
				 '(or one older than Linux 6.1)')
	r = subprocess.run(['nm', '-A', 'vmlinux.a'], cwd=kbuild, capture_output=True,
			   text=True, check=False)
	if r.returncode != 0 and not r.stdout:
		raise SitesError(f'nm {kbuild}/vmlinux.a: {r.stderr.strip()}')
	return parse_nm(r.stdout)


def static_sites(syms, disasm):
	"""({kind: {function: {'insns': N, 'via': set}}}, [notes]).

	syms: parse_nm() of the objects; disasm(object): its `objdump -dr`.
	A function calling a helper is a site. A function that jumps to one (a
	tail call) is not what the monitor reports: the return address is then
	in the function's own callers, which are followed instead (within the
	object if the function is local). notes: such functions with no direct
	caller (called through a pointer: the monitor names their callers,
	which no object shows), and the KUnit objects left out.
	"""
	cache = {}

	def calls_in(obj):
		if obj not in cache:
			cache[obj] = branches(disasm(obj))
		return cache[obj]

	sites = {k: {} for k in KINDS}
	unresolved, tests = [], {}
	todo = [(sym, kind, None, sym) for sym, kind in reversed(HELPERS)]
	seen = set()
	while todo:
		target, kind, only, via = todo.pop()	# via: how the site reaches a helper
		if (target, kind, only) in seen:
			continue
		seen.add((target, kind, only))
		objs = sorted({o for o, _ in syms.get(target, ())} if only is None else {only})
		found = False
		for obj in objs:
			for func, insn, tgt in calls_in(obj):
				if tgt != target:
					continue
				found = True
				if TEST_OBJECT_RE.search(obj):
					tests[obj] = tests.get(obj, 0) + 1
					continue
				if insn.startswith('call'):
					site = sites[kind].setdefault(source_name(func),
								      {'insns': 0, 'via': set()})
					site['insns'] += 1
					site['via'].add(via)
					continue
				# A tail call: the site is where this function was called.
				caller = re.sub(r'\.cold(\.\d+)?$', '', func)
				local = any(o == obj and t.islower() for o, t in syms.get(caller, ()))
				todo.append((caller, kind, obj if local else None,
					     f'{via}<-{source_name(caller)}'))
		if not found and via != target:
			unresolved.append(f'unresolved (a tail call with no direct caller): {kind} {via}')
	notes = sorted(set(unresolved))
	notes += [f'left out, a KUnit suite: {obj} ({n} calls)' for obj, n in sorted(tests.items())]
	return sites, notes


def kbuild_sites(kbuild):
	"""static_sites() of KBUILD's vmlinux, from the objects of vmlinux.a."""
	return static_sites(archive_symbols(kbuild),
			    lambda obj: objdump(os.path.join(kbuild, obj)))


def objdump(path):
	r = subprocess.run(['objdump', '-dr', '--no-show-raw-insn', path],
			   capture_output=True, text=True, check=False)
	if r.returncode != 0:
		raise SitesError(f'objdump {path}: {r.stderr.strip()}')
	return r.stdout


def format_static(sites, notes, source):
	lines = [f'# The per-VMA lock call sites of {source}, one line per kind and',
		 '# function (callsites.py): kind, function, call instructions, helpers',
		 '# called (A<-B: B tail-calls A, so its callers are the sites)']
	lines += [f'# {n}' for n in notes]
	for kind in KINDS:
		for func in sorted(sites[kind]):
			s = sites[kind][func]
			lines.append(f"{kind}\t{func}\t{s['insns']}\t{','.join(sorted(s['via']))}")
	return '\n'.join(lines) + '\n'


def parse_static(text, path='static list'):
	"""{kind: {function: {'insns': N, 'via': set}}} from format_static()."""
	sites = {k: {} for k in KINDS}
	for n, line in enumerate(text.splitlines(), 1):
		if not line.strip() or line.startswith('#'):
			continue
		f = line.split('\t')
		if len(f) != 4 or f[0] not in KINDS or not f[2].isdigit():
			raise SitesError(f'{path}:{n}: want KIND<tab>FUNCTION<tab>N<tab>HELPERS '
					 f'with KIND one of {", ".join(KINDS)}: {line!r}')
		sites[f[0]][f[1]] = {'insns': int(f[2]), 'via': set(f[3].split(','))}
	if not any(sites.values()):
		raise SitesError(f'{path}: no call site listed')
	return sites


def load_static(path):
	with open(path) as f:
		return parse_static(f.read(), path)


# ---------------------------------------------------------------------------
# The expected sites

def parse_expected(text, path='expected list'):
	"""[{run, kind, function, status, reason}] of an expected-sites.txt."""
	rows = []
	for n, line in enumerate(text.splitlines(), 1):
		if not line.strip() or line.startswith('#'):
			continue
		f = line.split(None, 4)
		if len(f) < 5 or f[1] not in KINDS or f[3] not in STATUSES:
			raise SitesError(f'{path}:{n}: want RUN KIND FUNCTION STATUS REASON with KIND '
					 f'one of {", ".join(KINDS)} and STATUS one of '
					 f'{", ".join(STATUSES)}: {line!r}')
		rows.append(dict(zip(('run', 'kind', 'function', 'status', 'reason'), f)))
	return rows


def load_expected(path=EXPECTED):
	with open(path) as f:
		return parse_expected(f.read(), path)


# ---------------------------------------------------------------------------
# Coverage and verdict

# The least share of a run's readable write sites (below) at which a reader
# was present at least once; a run not named has none.
READERS_PRESENT_MIN = {'user': 0.9}


def site_readable(s):
	"""Calls at a monitor's site that a reader could have met: readable= (the
	VMA in its mm's tree, the mm in use, not locked already); a monitor
	without it: the locks taken, or those that waited (a killed write lock)."""
	if 'readable' in s:
		return int(s['readable'])
	return max(int(s.get('locked', 0)), int(s.get('with_readers', 0)))


def coverage(static, sites):
	"""How the monitor's sites ([{kind, calls, ...caller}]) cover static.

	{kind: {'sites': [{function, calls, readable, with_readers,
	max_wait_us}] of the static list (calls 0: never reached), 'reached': N,
	'total': M, 'readable': N (reached with readable calls), 'with_readers':
	N (readable, with readers), 'unreadable': [function]: reached, but no
	reader could have been there (a new VMA, fork's child, exec, exit, or
	locked already), 'no_readers': [function]: readable, never met one,
	'unreached': [function], 'outside': [function]: reached but not in the
	list (a module's, or a name the kernel did not link)}}.
	"""
	zero = {'calls': 0, 'readable': 0, 'with_readers': 0, 'max_wait_us': 0}
	seen = {k: {} for k in KINDS}
	for s in sites:
		kind = MONITOR_KINDS.get(s.get('kind'))
		func = caller_function(s.get('caller', ''))
		if not kind or not func:
			continue
		c = seen[kind].setdefault(func, dict(zero))
		c['calls'] += int(s.get('calls', 0))
		c['readable'] += site_readable(s)
		c['with_readers'] += int(s.get('with_readers', 0))
		c['max_wait_us'] = max(c['max_wait_us'], int(s.get('max_wait_us', 0)))
	cov = {}
	for kind in KINDS:
		rows = []
		for func in sorted(static[kind]):
			rows.append({'function': func, **seen[kind].get(func, zero)})
		rows.sort(key=lambda r: (-r['calls'], r['function']))
		reached = [r for r in rows if r['calls']]
		readable = [r for r in reached if r['readable']]
		cov[kind] = {'sites': rows, 'total': len(rows), 'reached': len(reached),
			     'readable': len(readable),
			     'with_readers': sum(1 for r in readable if r['with_readers']),
			     'unreadable': [r['function'] for r in reached if not r['readable']],
			     'no_readers': [r['function'] for r in readable if not r['with_readers']],
			     'unreached': [r['function'] for r in rows if not r['calls']],
			     'outside': sorted(f for f in seen[kind] if f not in static[kind])}
	return cov


def summary_line(cov):
	"""'write reached 25 of 36, with readers 17 of 18 readable; detach ...; read ...'."""
	parts = []
	for kind in KINDS:
		c = cov[kind]
		p = f"{kind} reached {c['reached']} of {c['total']}"
		if kind != 'read':	# the monitor counts no readers at a read lock
			p += f", with readers {c['with_readers']} of {c['readable']} readable"
		parts.append(p)
	return '; '.join(parts)


def readers_verdict(run, cov):
	"""(PASS|FAIL|None, detail): whether readers were present at enough of
	RUN's readable write sites (READERS_PRESENT_MIN); None if RUN has no
	minimum."""
	want = READERS_PRESENT_MIN.get(run)
	if want is None:
		return None, ''
	c = cov['write']
	if not c['readable']:
		return 'FAIL', 'no readable write site reached'
	share = c['with_readers'] / c['readable']
	detail = (f"readers at {c['with_readers']} of {c['readable']} readable write sites "
		  f"({100 * share:.0f}%, at least {100 * want:.0f}%)")
	if c['no_readers']:
		detail += f"; none at: {', '.join(c['no_readers'])}"
	return ('PASS' if share >= want else 'FAIL'), detail


def verdict(run, cov, expected, truncated=None):
	"""(PASS|FAIL|None, detail): None if RUN has no expected site.

	FAIL if a site expected for RUN is in the static list and was not
	reached. An expected site the kernel does not have is named, but does
	not fail (an older or newer kernel); a kind with expected sites and an
	empty static list does (the extraction is broken). truncated: the
	monitor's list was cut short ('shown N of M'), so a site not shown may
	have run: a missed site then fails, naming that.
	"""
	mine = [e for e in expected if e['run'] == run and e['status'] == 'expected']
	if not mine:
		return None, ''
	missed, absent = [], []
	for e in mine:
		c = cov[e['kind']]
		if not c['total']:
			return 'FAIL', f"no {e['kind']} site in the static list: extraction broken?"
		if e['function'] in c['unreached']:
			missed.append(f"{e['kind']} {e['function']}")
		elif not any(r['function'] == e['function'] for r in c['sites']):
			absent.append(f"{e['kind']} {e['function']}")
	detail = summary_line(cov)
	if absent:
		detail += f"; not in this kernel: {', '.join(absent)}"
	if missed:
		cut = f' (the monitor showed {truncated} sites only)' if truncated else ''
		return 'FAIL', f"expected but not reached{cut}: {', '.join(missed)}; {detail}"
	return 'PASS', detail


def format_coverage(run, cov, expected):
	"""The coverage table of call-site-coverage-RUN.txt."""
	status = {(e['kind'], e['function']): e['status'] for e in expected if e['run'] == run}
	lines = [f'# call site coverage of run {run}: {summary_line(cov)}',
		 '# readable: calls a reader could have met (the VMA in its tree, its mm in use,',
		 '# not locked already); with_readers: calls that waited for one',
		 'kind    calls  readable  with_readers  max_wait_us  expect    function']
	for kind in KINDS:
		for r in cov[kind]['sites']:
			lines.append(f"{kind:<7} {r['calls']:>6} {r['readable']:>9} {r['with_readers']:>13} "
				     f"{r['max_wait_us']:>12}  {status.get((kind, r['function']), '-'):<8}  "
				     f"{r['function']}")
		for func in cov[kind]['outside']:
			lines.append(f'{kind:<7} {"":>6} {"":>9} {"":>13} {"":>12}  {"-":<8}  {func} '
				     '(not in the static list)')
	return '\n'.join(lines) + '\n'


def judge_run(bootdir, run, sites, summary, log, static_path=None, expected_path=EXPECTED,
	      left_out=None):
	"""Coverage of a run's call sites: writes call-site-coverage-RUN.txt and
	adds 'call_site_coverage' to results-RUN.json; returns the check lines
	[(verdict, name, detail)]: call-sites-RUN if RUN has expected sites.
	left_out: why the monitor, which counts the sites, did not run."""
	import json
	if static_path is None:
		static_path = os.path.join(os.path.dirname(os.path.abspath(bootdir)),
					   'call-sites-static.txt')
	expected = load_expected(expected_path)
	name = f'call-sites-{run}'
	wanted = any(e['run'] == run and e['status'] == 'expected' for e in expected)
	if not sites and not wanted:
		return []
	if left_out:
		return [('SKIP', name, left_out)] if wanted else []
	if not os.path.exists(static_path):
		print(f'results: run {run}: call sites: static list unavailable', file=log)
		return [('SKIP', name, 'static list unavailable')] if wanted else []
	static = load_static(static_path)
	cov = coverage(static, sites)
	shown, total = (summary or {}).get('shown'), (summary or {}).get('call_sites')
	truncated = f'{shown} of {total}' if shown is not None and shown != total else None
	v, detail = verdict(run, cov, expected, truncated)
	rv, rdetail = readers_verdict(run, cov)
	if rv and str((summary or {}).get('sit_us', '')) == '0':
		rv, rdetail = 'SKIP', f'no sitters held their read locks (sit_us=0); {rdetail}'
	if not summary:
		v, detail = ('FAIL', 'the monitor reported no call sites') if wanted else (None, '')
		rv, rdetail = (rv and 'FAIL', 'the monitor reported no call sites')
	with open(os.path.join(bootdir, f'call-site-coverage-{run}.txt'), 'w') as f:
		f.write(format_coverage(run, cov, expected))
	path = os.path.join(bootdir, f'results-{run}.json')
	if os.path.exists(path):
		with open(path) as f:
			doc = json.load(f)
		doc['call_site_coverage'] = {
			'summary': summary_line(cov), 'verdict': v, 'detail': detail, 'kinds': cov,
			'readers_verdict': rv, 'readers_detail': rdetail,
			'expected': [e for e in expected if e['run'] == run]}
		with open(path, 'w') as f:
			json.dump(doc, f, indent=4)
			f.write('\n')
	print(f'results: run {run}: call sites: {summary_line(cov)}; '
	      f'see call-site-coverage-{run}.txt', file=log)
	checks = [(v, name, detail)] if v else []
	if rv:
		checks.append((rv, f'readers-present-{run}', rdetail))
	return checks


def main(argv=None):
	ap = argparse.ArgumentParser(description='Per-VMA lock call sites: static list, coverage.')
	sub = ap.add_subparsers(dest='cmd', required=True)
	p = sub.add_parser('static', help="list KBUILD's call sites")
	p.add_argument('kbuild')
	p.add_argument('-o', '--output', help='write the list here (default: stdout)')
	p = sub.add_parser('coverage', help='coverage of a static list by a call-sites-RUN.txt')
	p.add_argument('static')
	p.add_argument('call_sites')
	p.add_argument('--run', default='user')
	args = ap.parse_args(argv)
	try:
		if args.cmd == 'static':
			t0 = time.monotonic()
			sites, notes = kbuild_sites(args.kbuild)
			if not any(sites.values()):
				raise SitesError(f'{args.kbuild}: no call site found in vmlinux.a')
			text = format_static(sites, notes, os.path.abspath(args.kbuild))
			if args.output:
				with open(args.output, 'w') as f:
					f.write(text)
			else:
				sys.stdout.write(text)
			print('call sites: ' + ', '.join(f'{k} {len(sites[k])}' for k in KINDS) +
			      f' functions ({time.monotonic() - t0:.1f}s)', file=sys.stderr)
			return 0
		static = load_static(args.static)
		sites = read_call_sites_txt(args.call_sites)
		cov = coverage(static, sites)
		expected = load_expected()
		sys.stdout.write(format_coverage(args.run, cov, expected))
		v, detail = verdict(args.run, cov, expected)
		print(f'{v or "no verdict"}: {detail or summary_line(cov)}')
		return 1 if v == 'FAIL' else 0
	except (OSError, SitesError) as e:
		print(f'callsites: {e}', file=sys.stderr)
		return 2


def read_call_sites_txt(path):
	"""[{kind, calls, ..., caller}] of a call-sites-RUN.txt (judge.py's table)."""
	with open(path) as f:
		lines = [ln.split() for ln in f if ln.strip()]
	head = next((i for i, f in enumerate(lines) if f and f[0] == 'kind'), None)
	if head is None:
		raise SitesError(f'{path}: no "kind calls ..." header line')
	cols = lines[head]
	return [dict(zip(cols, f)) for f in lines[head + 1:]]


if __name__ == '__main__':
	sys.exit(main())
