# SPDX-License-Identifier: GPL-2.0
#
# The verdicts of results directories side by side, per group of checks:
# passed/failed/skipped of each run (real, kunit, user, ...), of the broken
# variants together ("broken") and of the checks of no run ("boot":
# no-kernel-splat, boot-<name>, ...), from each directory's summary.txt
# (judge.py). For test.sh --generations, one column per kernel generation.
#
# usage: groups.py LABEL=DIR...
# Exit 0, or 2 on bad usage.

import os
import sys


def group(name):
	"""The group of a check named in summary.txt."""
	if '/' not in name:
		return 'boot'
	run = name.split('/', 1)[0]
	return 'broken' if run.startswith('broken-') else run


def counts(path):
	"""{group: {'PASS': n, 'FAIL': n, 'SKIP': n}} of a summary.txt, or None."""
	try:
		with open(path) as f:
			lines = f.read().splitlines()
	except OSError:
		return None
	out = {}
	for line in lines:
		verdict, _, rest = line.partition(' ')
		if verdict not in ('PASS', 'FAIL', 'SKIP'):
			continue
		c = out.setdefault(group(rest.split(' (', 1)[0]), {'PASS': 0, 'FAIL': 0, 'SKIP': 0})
		c[verdict] += 1
	return out


def table(columns):
	"""Lines of the table: [(label, counts or None)] as columns."""
	groups = sorted({g for _, c in columns for g in c or {}},
			key=lambda g: (g == 'boot', g != 'real', g))
	width = max([len('group'), len('total')] + [len(g) for g in groups])
	cells = [max(len(label), len('pass/fail/skip')) for label, _ in columns]
	lines = ['  '.join([f"{'group':<{width}}"] + [f'{label:<{w}}' for (label, _), w in
						      zip(columns, cells)]).rstrip()]
	for g in groups + ['total']:
		row = [f'{g:<{width}}']
		for (_, c), w in zip(columns, cells):
			if c is None:
				cell = 'no summary'
			elif g == 'total':
				cell = '/'.join(str(sum(x[v] for x in c.values()))
						for v in ('PASS', 'FAIL', 'SKIP'))
			elif g in c:
				cell = '/'.join(str(c[g][v]) for v in ('PASS', 'FAIL', 'SKIP'))
			else:
				cell = '-'
			row.append(f'{cell:<{w}}')
		lines.append('  '.join(row).rstrip())
	lines.append(f"{'':<{width}}  (passed/failed/skipped)")
	return lines


def main(argv):
	if not argv or any('=' not in a or a.startswith('=') for a in argv):
		print('groups: usage: groups.py LABEL=DIR...', file=sys.stderr)
		return 2
	columns = []
	for a in argv:
		label, _, d = a.partition('=')
		columns.append((label, counts(os.path.join(d, 'summary.txt'))))
	print('\n'.join(table(columns)))
	return 0


if __name__ == '__main__':
	sys.exit(main(sys.argv[1:]))
