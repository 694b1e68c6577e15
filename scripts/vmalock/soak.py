# SPDX-License-Identifier: GPL-2.0
#
# What a soak ran and what it found, from the soak boot's saved results (the
# run "soak" of scripts/guest/init): its totals line, the memory samples of
# each loop and the failed checks. The verdicts themselves are judge.py's.
#
# usage: soak.py BOOTDIR     (results/<timestamp>/soak)
# Prints a few lines; exit 0, or 2 if BOOTDIR holds no soak results.

import os
import re
import sys

from vmalock import ktap

TOTALS = re.compile(r'^# soak: secs=')
SAMPLE = re.compile(r'^# soak: sample loop=(\d+) (.*)')
GROWTH = re.compile(r'^# soak: growth (.*)')
# Findings that are not the module's: mm_structs the KUnit re-runs left,
# and which KUnit cases failed how often.
OTHER = re.compile(r'^# soak: (kunit_mm_structs_left=\d+|kunit failures:.*)')


def kv(text):
	return dict(p.split('=', 1) for p in text.split() if '=' in p)


def summary(block):
	"""(totals, samples [{k: v}], growth lines, failed checks, other findings)."""
	totals, samples, growth, failed, other = {}, [], [], [], []
	for line in block:
		if TOTALS.match(line):
			totals = kv(line[len('# soak: '):])
		elif m := SAMPLE.match(line):
			samples.append(dict(kv(m.group(2)), loop=m.group(1)))
		elif m := GROWTH.match(line):
			growth.append(m.group(1))
		elif m := OTHER.match(line):
			other.append(m.group(1))
		elif line.startswith('not ok '):
			failed.append(line.split(None, 3)[3] if line.count(' ') >= 3 else line)
	return totals, samples, growth, failed, other


def text(block):
	totals, samples, growth, failed, other = summary(block)
	if not totals:
		return 'soak: no totals line: the soak did not finish (see the soak boot\'s verdict)'
	t = totals
	out = [f"soak: {int(t.get('secs', 0)) // 60} min {int(t.get('secs', 0)) % 60} s, "
	       f"{t.get('loops')} loops: {t.get('scenario_runs')} scenario runs, "
	       f"{t.get('ops')} lock operations, {t.get('violations')} violations, "
	       f"{t.get('frees_checked')} VMA frees checked",
	       f"soak: faults: {t.get('per_vma_faults')} through the per-VMA lock "
	       f"({t.get('module_faults')} by the module's faulters, {t.get('user_faults')} "
	       f"during {t.get('user_runs')} user-space stressor runs), {t.get('pgfaults')} "
	       f"page faults in all; KUnit: {t.get('kunit_suite_runs')} suite runs, "
	       f"{t.get('kunit_cases')} cases"]
	if samples:
		first, last = samples[0], samples[-1]
		keys = [k for k in first if k != 'loop']
		out.append('soak: memory, loop 1 -> ' + last['loop'] + ': ' +
			   ', '.join(f'{k} {first[k]} -> {last.get(k)}' for k in keys))
	out += [f'soak: growth {g}' for g in growth]
	out += [f'soak: {o}' for o in other]
	out.append('soak: found: ' + ('nothing' if not failed else ', '.join(failed)))
	return '\n'.join(out)


def main(argv=None):
	argv = sys.argv[1:] if argv is None else argv
	if len(argv) != 1:
		print('usage: soak.py BOOTDIR', file=sys.stderr)
		return 2
	raw = os.path.join(argv[0], 'results.raw')
	try:
		with open(raw, errors='replace') as f:
			lines = f.read().splitlines()
		block, _ = ktap.extract_block(lines, 'soak')
	except (OSError, ktap.ResultsError) as e:
		print(f'soak: no results in {argv[0]}: {e}')
		return 2
	print(text(block))
	return 0


if __name__ == '__main__':
	sys.exit(main())
