#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
#
# Read scripts/runs.table, the one list of the guest runs (see its header for
# the columns), and compute time limits from it.
#
# usage: runs.py TABLE boot BOOT             the runs of BOOT, in order
#        runs.py TABLE lava default|all      the runs a LAVA job runs by
#                                            default, or may ask for
#        runs.py TABLE secs RUN,... SCN [VAR=N...]
#                                            seconds a boot of those runs
#                                            may take (SCN scenario runs
#                                            each): 120 + the sum of the
#                                            runs' time limits
# Exit 2 with a one-line error on an unknown run or a malformed table.

import os
import re
import sys

TABLE = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'runs.table')
SELFTESTS = os.path.join(os.path.dirname(TABLE), 'guest', 'selftests.table')
BOOT_SECS = 120
USAGE = 'usage: runs.py TABLE boot BOOT | lava default|all | secs RUN,... SCN [VAR=N...]'
TERM_RE = re.compile(r'(?:(\d+)\*([a-z_]+)|([a-z_]+)\*(\d+)|-)$')


class RunsError(Exception):
	"""The table or a run named is not what it should be."""


def load(path=TABLE):
	"""[{run, boot, lava, fixed, scn, extra, what}] in the table's order."""
	rows = []
	with open(path) as f:
		for n, line in enumerate(f, 1):
			if not line.strip() or line.startswith('#'):
				continue
			cols = line.split(None, 6)
			if len(cols) < 7 or not cols[3].isdigit() or \
			   not TERM_RE.match(cols[4]) or not TERM_RE.match(cols[5]):
				raise RunsError(f'{path}: line {n}: malformed row')
			rows.append({'run': cols[0], 'boot': cols[1], 'lava': cols[2],
				     'fixed': int(cols[3]), 'scn': cols[4], 'extra': cols[5],
				     'what': cols[6].strip()})
	return rows


def row(rows, run):
	"""The row of RUN (broken-NAME: broken's)."""
	key = 'broken' if run.startswith('broken-') else run
	for r in rows:
		if r['run'] == key:
			return r
	raise RunsError(f"unknown run '{run}'; allowed: {' '.join(r['run'] for r in rows)}")


def selftests_secs(path=SELFTESTS):
	"""The selftests run's bound: its tests' time limits, and a minute."""
	secs = 60
	with open(path) as f:
		for line in f:
			cols = line.split()
			if len(cols) >= 6 and not line.startswith('#') and cols[5] == '-':
				secs += int(cols[2])
	return secs


def _term(term, var):
	m = TERM_RE.match(term)
	if term == '-':
		return 0
	k, name = (m.group(1), m.group(2)) if m.group(1) else (m.group(4), m.group(3))
	if name not in var:
		raise RunsError(f"no value for {name}")
	return int(int(k) * float(var[name]))	# whole seconds, as the shell's $(( ))


def run_secs(r, nscn, var):
	"""Seconds run row R may take with NSCN scenario runs; VAR: {name: N}."""
	var = dict(var)
	if 'selftests_secs' not in var and r['extra'].startswith('selftests_secs'):
		var['selftests_secs'] = selftests_secs()
	scn = 0 if r['scn'] == '-' else nscn * (_term(r['scn'], var) + 10)
	return r['fixed'] + scn + _term(r['extra'], var)


def boot_secs(rows, runs, nscn, var):
	"""Seconds a boot of RUNS may take: its start and end, and each run."""
	return BOOT_SECS + sum(run_secs(row(rows, x), nscn, var) for x in runs)


def main(argv):
	if len(argv) < 3:
		sys.exit(USAGE)
	try:
		rows = load(argv[1])
		if argv[2] == 'boot' and len(argv) == 4:
			print(' '.join(r['run'] for r in rows if r['boot'] == argv[3]))
		elif argv[2] == 'lava' and len(argv) == 4 and argv[3] in ('default', 'all'):
			want = ('default',) if argv[3] == 'default' else ('default', 'yes')
			print(' '.join(r['run'] for r in rows if r['lava'] in want))
		elif argv[2] == 'secs' and len(argv) >= 5:
			var = {}
			for kv in argv[5:]:
				k, _, v = kv.partition('=')
				var[k] = float(v)
			print(boot_secs(rows, [x for x in argv[3].split(',') if x], int(argv[4]), var))
		else:
			sys.exit(USAGE)
	except (OSError, RunsError, ValueError) as e:
		print(f'runs.py: {e}', file=sys.stderr)
		sys.exit(2)


if __name__ == '__main__':
	main(sys.argv)
