# SPDX-License-Identifier: GPL-2.0
#
# Known upstream splats, kept as kernel CI keeps known issues: a kernel report
# that is not the per-VMA lock's fault, already reported upstream, listed in
# known-splats.json with its signature, its upstream report and the kernels it
# applies to. judge.py sorts each boot's splats with it: a boot whose only
# splats are known ones on kernels they apply to is KNOWN (listed and counted
# apart, not a failure, like LKFT's xfail); any other splat still fails.
#
# usage: known.py [FILE]     check the list (default known-splats.json) and
#                            print one line per entry; exit 2 if malformed.
#
# An entry: type (a vmalock.splats kind: kcsan, kasan, warning, ...),
# functions (every one must appear in the report, as the title names them or
# as a stack frame), file (the source file; checked when the report names
# source files, as a decoded trace does; a raw console's frames carry none),
# subject (the upstream report's subject), link (its archive URL, or "" with
# the subject to find it by), kernels {"from": "X.Y", "to": "X.Y" or null for
# still open; inclusive, X.Y.Z allowed}, added (YYYY-MM-DD), why (one line).

import datetime
import json
import os
import re
import sys

from vmalock.splats import PATTERNS, strip_ts

HERE = os.path.dirname(os.path.abspath(__file__))
DEFAULT = os.path.join(HERE, 'known-splats.json')
FIELDS = ('type', 'functions', 'file', 'subject', 'link', 'kernels', 'added', 'why')

KINDS = sorted({kind for kind, _ in PATTERNS})

VERSION_RE = re.compile(r'(\d+)\.(\d+)(?:\.(\d+))?')
# The end of a report: KASAN's and KCSAN's closing rule, WARN's and BUG's
# end-of-trace line.
END_RE = re.compile(r'^(?:={20,}$|---\[ end trace)')
SOURCE_RE = re.compile(r'([\w./-]+\.[chS]):\d+')
REPORT_LINES = 120


class KnownError(Exception):
	"""The known-splats list is not what it should be."""


def version(text):
	"""(X, Y[, Z]) of the first kernel version in text, or None."""
	m = VERSION_RE.search(text or '')
	return tuple(int(g) for g in m.groups() if g is not None) if m else None


def _check(i, e):
	where = f'entry {i + 1}'
	if not isinstance(e, dict):
		raise KnownError(f'{where}: not an object; an entry has {", ".join(FIELDS)}')
	missing = [f for f in FIELDS if f not in e]
	extra = [f for f in e if f not in FIELDS]
	if missing or extra:
		raise KnownError(f'{where}: ' + '; '.join(
			([f'missing {", ".join(missing)}'] if missing else []) +
			([f'unknown field {", ".join(extra)}'] if extra else [])) +
			f'; an entry has {", ".join(FIELDS)}')
	if e['type'] not in KINDS:
		raise KnownError(f"{where}: type '{e['type']}' is not a splat kind; "
				 f"allowed: {' '.join(KINDS)}")
	funcs = e['functions']
	if (not isinstance(funcs, list) or not funcs or
	    not all(isinstance(f, str) and re.fullmatch(r'[A-Za-z_]\w*', f) for f in funcs)):
		raise KnownError(f'{where}: functions must be a non-empty list of C function names')
	for f in ('file', 'subject', 'why'):
		if not isinstance(e[f], str) or not e[f]:
			raise KnownError(f'{where}: {f} must be a non-empty string')
	if not isinstance(e['link'], str) or (e['link'] and not e['link'].startswith('https://')):
		raise KnownError(f"{where}: link must be an https:// URL, or \"\" (then the subject "
				 f"finds the report)")
	k = e['kernels']
	if (not isinstance(k, dict) or set(k) != {'from', 'to'} or
	    not isinstance(k['from'], str) or not re.fullmatch(r'\d+\.\d+(\.\d+)?', k['from']) or
	    not (k['to'] is None or isinstance(k['to'], str) and
		 re.fullmatch(r'\d+\.\d+(\.\d+)?', k['to']))):
		raise KnownError(f'{where}: kernels must be {{"from": "X.Y[.Z]", "to": "X.Y[.Z]" '
				 f'or null (still open)}}, got {json.dumps(k)}')
	if k['to'] is not None and version(k['to']) < version(k['from']):
		raise KnownError(f"{where}: kernels: to {k['to']} is before from {k['from']}")
	try:
		datetime.date.fromisoformat(e['added'])
	except (TypeError, ValueError):
		raise KnownError(f"{where}: added must be a date, YYYY-MM-DD, got '{e['added']}'")


def load(path=None):
	"""The entries of a known-splats list (default DEFAULT), checked;
	KnownError if malformed."""
	path = path or DEFAULT
	try:
		with open(path) as f:
			entries = json.load(f)
	except OSError as e:
		raise KnownError(f'{path}: cannot read: {e.strerror}')
	except ValueError as e:
		raise KnownError(f'{path}: not JSON: {e}')
	if not isinstance(entries, list):
		raise KnownError(f'{path}: not a list of entries')
	for i, e in enumerate(entries):
		try:
			_check(i, e)
		except KnownError as err:
			raise KnownError(f'{path}: {err}')
	return entries


def name(e):
	"""Short name of an entry: its type and functions."""
	return f"{e['type']} {' / '.join(e['functions'])}"


def kernels(e):
	k = e['kernels']
	return f"{k['from']}..{k['to'] or ''}"


def applies(e, kver):
	"""Whether entry e applies to kernel version kver ((X, Y[, Z]) or None).

	Each bound compares as many numbers as it has: "to": "7.3" takes every
	7.3.z. An unknown version is not in any range."""
	if kver is None:
		return False
	lo = version(e['kernels']['from'])
	if kver[:len(lo)] < lo:
		return False
	hi = e['kernels']['to']
	return hi is None or kver[:len(version(hi))] <= version(hi)


def report(lines, n, stop):
	"""The lines of the report that starts at line n (1-based): up to its
	end marker, the line before stop (the next report), or REPORT_LINES."""
	out = []
	for i in range(n - 1, min(len(lines), stop - 1, n - 1 + REPORT_LINES)):
		msg = strip_ts(lines[i])
		if out and END_RE.match(msg):
			break
		out.append(msg)
	return out


def matches(e, kind, body):
	"""Whether a report (its kind, its lines) has entry e's signature."""
	if kind != e['type']:
		return False
	text = '\n'.join(body)
	for f in e['functions']:
		if not re.search(r'(?<![\w.])%s(?!\w)' % re.escape(f), text):
			return False
	files = SOURCE_RE.findall(text)
	return not files or any(p == e['file'] or p.endswith('/' + e['file']) for p in files)


def sort(splats, lines, kver, entries, others=()):
	"""Sort splats [(kind, lineno, msg)] of a console (its lines) from a kernel
	of version kver: (unknown, known, wrong_kernel), the last two as
	[(splat, entry)]; wrong_kernel are known signatures on a kernel their
	entry does not cover. others: the console's other (allowed) splats,
	where a report ends too."""
	unknown, known, wrong = [], [], []
	starts = sorted(n for _, n, _ in list(splats) + list(others))
	for s in splats:
		kind, n, _ = s
		stop = next((m for m in starts if m > n), len(lines) + 1)
		body = report(lines, n, stop)
		e = next((e for e in entries if matches(e, kind, body)), None)
		if e is None:
			unknown.append(s)
		elif applies(e, kver):
			known.append((s, e))
		else:
			wrong.append((s, e))
	return unknown, known, wrong


def main(argv=None):
	argv = sys.argv[1:] if argv is None else argv
	if len(argv) > 1:
		print('usage: known.py [FILE]', file=sys.stderr)
		return 2
	try:
		entries = load(*argv)
	except KnownError as e:
		print(f'known: {e}', file=sys.stderr)
		return 2
	for e in entries:
		print(f"{name(e)} ({e['file']}) kernels {kernels(e)} added {e['added']}: "
		      f"{e['link'] or e['subject']}")
	return 0


if __name__ == '__main__':
	sys.exit(main())
