# SPDX-License-Identifier: GPL-2.0
#
# Read the scenarios and broken variants out of vmalock_names.h, the one list
# the module builds its tables from (see parse() for the line shapes).
#
# usage: names.py HEADER broken               the broken variants' names
#        names.py HEADER runs SCENARIOS [VARIANT]
#                                            how many scenarios a run of
#                                            SCENARIOS (all or a,b,c) runs,
#                                            with the broken VARIANT if given
#        names.py HEADER uncaught INV,INV    the broken variants that only
#                                            those invariants catch
# Exit 2 with a one-line error on an unknown name or an unreadable header.

import re
import sys

from vmalock import refuse

LINE_RE = re.compile(r'^VT_(SCENARIO|BROKEN)\((\w+)\)\s*$')
CATCHES_RE = re.compile(r'^VT_CATCHES\((\w+),\s*(\w+),\s*(\w+)\)\s*$')


class NamesError(Exception):
	"""The header or a name given is not what it should be."""


def parse(text):
	"""Return (scenarios, broken) from the header's text.

	scenarios: [(name, in_all)] in order; broken: {name: [target scenario
	names]} in order. Lines: VT_SCENARIO(ID), VT_BROKEN(ID) and
	VT_CATCHES(BROKEN_ID, SCENARIO_ID, INVARIANT); a name is its ID in lower
	case. The invariants are in catches().
	The header does not say which scenarios run only when named (the
	module's table does): every scenario counts as in "all", which only
	makes time limits longer.
	"""
	scenarios, broken = [], {}
	for line in text.splitlines():
		m = LINE_RE.match(line)
		if m and m.group(1) == 'SCENARIO':
			scenarios.append((m.group(2).lower(), True))
		elif m:
			broken[m.group(2).lower()] = []
		m = CATCHES_RE.match(line)
		if m:
			b, s = m.group(1).lower(), m.group(2).lower()
			if b not in broken or s not in [n for n, _ in scenarios]:
				raise NamesError(f'VT_CATCHES({m.group(1)}, {m.group(2)}, ...): '
						 'unknown broken variant or scenario')
			if s not in broken[b]:
				broken[b].append(s)
		elif line.startswith('VT_CATCHES('):
			raise NamesError(f'malformed line {line!r}; expected '
					 'VT_CATCHES(BROKEN_ID, SCENARIO_ID, INVARIANT)')
	if not scenarios or not broken:
		raise NamesError('no scenario or broken variant entries')
	lost = [b for b, t in broken.items() if not t]
	if lost:
		raise NamesError(f'no VT_CATCHES() for {", ".join(lost)}')
	return scenarios, broken


def load(path):
	with open(path) as f:
		return parse(f.read())


def catches(text):
	"""{broken: {scenario: [invariants]}}: what each target must report."""
	out = {}
	for line in text.splitlines():
		m = CATCHES_RE.match(line)
		if m:
			b, s, inv = (g.lower() for g in m.groups())
			out.setdefault(b, {}).setdefault(s, []).append(inv)
	return out


def load_catches(path):
	with open(path) as f:
		return catches(f.read())


def without(caught, invariants):
	"""caught ({broken: {scenario: [invariants]}}) with the invariants given
	(not checked in this run) taken out; a scenario may be left with none."""
	gone = set(invariants)
	return {b: {s: [i for i in invs if i not in gone] for s, invs in targets.items()}
		for b, targets in caught.items()}


def uncaught(caught, invariants):
	"""The broken variants that, without the invariants given, no scenario
	they must be reported in can report any more (in caught's order): a
	boot of theirs would show nothing."""
	return [b for b, targets in without(caught, invariants).items()
		if not any(targets.values())]


def scenario_runs(scenarios, broken, spec, variant=None):
	"""Scenarios a run of spec ('all' or 'a,b,c') runs, as the module picks them."""
	known = [n for n, _ in scenarios]
	targets = broken[variant] if variant else None
	if spec == 'all':
		return list(targets) if targets else [n for n, in_all in scenarios if in_all]
	picked = [s for s in spec.split(',') if s]
	for s in picked:
		if s not in known:
			raise NamesError(f"unknown scenario '{s}'; allowed: all {' '.join(known)}")
	return [s for s in picked if targets is None or s in targets]


def main(argv):
	try:
		if len(argv) < 2:
			raise NamesError('usage: names.py HEADER broken | runs SCENARIOS [VARIANT] | '
					 'uncaught INV,INV')
		scenarios, broken = load(argv[0])
		if argv[1:] == ['broken']:
			print(' '.join(broken))
		elif argv[1] == 'runs' and len(argv) in (3, 4):
			variant = argv[3] if len(argv) == 4 else None
			if variant and variant not in broken:
				raise NamesError(f"unknown broken variant '{variant}'")
			print(len(scenario_runs(scenarios, broken, argv[2], variant)))
		elif argv[1] == 'uncaught' and len(argv) == 3:
			print(' '.join(uncaught(load_catches(argv[0]), filter(None, argv[2].split(',')))))
		else:
			raise NamesError(f'unknown command {" ".join(argv[1:])!r}')
	except (OSError, NamesError) as e:
		return refuse('names', e)
	return 0


if __name__ == '__main__':
	sys.exit(main(sys.argv[1:]))
