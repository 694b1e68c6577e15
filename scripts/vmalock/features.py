# SPDX-License-Identifier: GPL-2.0
#
# The mm features of the booted kernel, from its config (the boot's
# kernel-config), and which tests need each: the user-space stressor's check
# classes (run user) and the kernel's own selftests (run selftests,
# scripts/guest/selftests.table). The judge records the features in each
# run's results-<run>.json and fails a class or selftest that was skipped
# although the kernel has every feature it needs: the skip hid a test the
# kernel could have run (a guest set up wrong, a test that did not build).
#
# usage: features.py KERNEL_CONFIG     prints each feature: yes/no and its
#                                      options

import os
import re
import sys

# One row per feature: its config options (all must be y or m), then the
# user-stressor classes and the selftests that need it (comma-separated, -
# for none). A test needs every feature whose row names it.
TABLE = '''
# feature        options                   user classes                          selftests
per_vma_lock     PER_VMA_LOCK              -                                     proc-maps-race
mmu              MMU                       mlock_whole,mprotect_whole            mlock2-tests,mremap_test,mremap_dontunmap,merge
madvise          ADVISE_SYSCALLS           process_madvise,guard,madvise_whole   process_madv,guard-regions,madv_populate
mseal            64BIT                     mseal                                 mseal_test
thp              TRANSPARENT_HUGEPAGE      collapse                              khugepaged
userfaultfd      USERFAULTFD               uffd_ops                              uffd-unit-tests,uffd-stress,uffd-wp-mremap
numa             NUMA,NUMA_EMU             numa                                  migration
migration        MIGRATION                 numa                                  migration
ksm              KSM                       ksm                                   ksm_functional_tests
memcg            MEMCG                     -                                     -
hugetlbfs        HUGETLBFS                 hugetlb                               hugetlb-mmap,hugetlb-madvise
swap             SWAP                      swap                                  -
zram             ZRAM                      swap                                  -
mmu_notifier     MMU_NOTIFIER,TEST_HMM     mmu_notifier                          hmm-tests
mem_soft_dirty   MEM_SOFT_DIRTY            -                                     soft-dirty
pagemap          PROC_PAGE_MONITOR         clear_refs,pagemap_scan               pagemap_ioctl
anon_vma_name    ANON_VMA_NAME             -                                     -
'''

# The column of each run whose tests the table names.
RUN_COLUMN = {'user': 2, 'selftests': 3}
CONFIG_RE = re.compile(r'^(CONFIG_\w+)=(.*)$')


class FeaturesError(Exception):
	"""The table is malformed."""


def parse(text=TABLE):
	"""[(feature, [CONFIG_ options], {run: [test names]})], in order."""
	rows = []
	for n, line in enumerate(text.splitlines(), 1):
		line = line.strip()
		if not line or line.startswith('#'):
			continue
		cols = line.split()
		if len(cols) != 4:
			raise FeaturesError(f'line {n}: {len(cols)} columns, expected 4: {line!r}')
		name, opts = cols[0], cols[1].split(',')
		if any(not re.fullmatch(r'[A-Z0-9_]+', o) for o in opts):
			raise FeaturesError(f'line {n}: options must be CONFIG_ names without '
					    f'the prefix, got {cols[1]!r}')
		tests = {run: [] if cols[c] == '-' else cols[c].split(',')
			 for run, c in RUN_COLUMN.items()}
		rows.append((name, ['CONFIG_' + o for o in opts], tests))
	return rows


def read_config(path):
	"""{CONFIG_X: value} of the options set in a kernel .config, or None if
	there is no such file."""
	try:
		with open(path, errors='replace') as f:
			text = f.read()
	except FileNotFoundError:
		return None
	out = {}
	for line in text.splitlines():
		m = CONFIG_RE.match(line.strip())
		if m:
			out[m.group(1)] = m.group(2)
	return out


def booted(config, rows=None):
	"""{feature: {'enabled': bool, 'options': {CONFIG_X: value or 'n'}}}."""
	out = {}
	for name, opts, _ in rows or parse():
		vals = {o: config.get(o, 'n') for o in opts}
		out[name] = {'enabled': all(v in ('y', 'm') for v in vals.values()),
			     'options': vals}
	return out


def needs(run, test, rows=None):
	"""The features a test of a run needs, by the table (maybe none)."""
	return [name for name, _, tests in rows or parse() if test in tests.get(run, [])]


def skipped_but_present(run, test, have, rows=None):
	"""Why a skipped test should have run, or None: the kernel has every
	feature the table says it needs (and it needs at least one)."""
	want = needs(run, test, rows)
	if not want or not all(have[f]['enabled'] for f in want):
		return None
	opts = [f'{o}={v}' for f in want for o, v in have[f]['options'].items()]
	return f"skipped although the kernel has {', '.join(want)} ({', '.join(opts)})"


SELFTESTS_TABLE = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'guest',
			       'selftests.table')


def planned_skips(run, path=SELFTESTS_TABLE):
	"""The tests of a run that its table skips on purpose, with a reason
	(the selftests table's skip column): not a feature the guest lacked."""
	if run != 'selftests':
		return set()
	with open(path) as f:
		rows = [line.split() for line in f if not line.startswith('#')]
	return {cols[0] for cols in rows if len(cols) >= 6 and cols[5] != '-'}


def main(argv):
	if len(argv) != 1:
		print('usage: features.py KERNEL_CONFIG', file=sys.stderr)
		return 2
	config = read_config(argv[0])
	if config is None:
		print(f'features: no such file: {argv[0]}', file=sys.stderr)
		return 2
	for name, info in booted(config).items():
		opts = ' '.join(f'{o}={v}' for o, v in info['options'].items())
		print(f"{name:<16} {'yes' if info['enabled'] else 'no':<4} {opts}")
	return 0


if __name__ == '__main__':
	sys.exit(main(sys.argv[1:]))
