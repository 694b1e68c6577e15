# SPDX-License-Identifier: GPL-2.0
#
# Tests of scripts/vmalock/splats.py against the console logs in fixtures/.

import os
import subprocess
import sys
import unittest

from vmalock import splats as scan_splats

HERE = os.path.dirname(os.path.abspath(__file__))
FIX = os.path.join(HERE, 'fixtures')


# One entry per report in fixtures/splats.log, in order. Trailers
# ("WARNING:" after "refcount_t:", "Oops:" after "kernel BUG at") fold
# into the report they belong to.
SPLATS_LOG_KINDS = [
	'warning', 'warning', 'refcount',
	'lockdep', 'lockdep', 'lockdep', 'lockdep',
	'kasan', 'kcsan', 'kfence', 'slub', 'bug', 'bug',
	'soft-lockup', 'hard-lockup', 'bug', 'hung-task',
	'rcu-stall', 'rcu-stall', 'ubsan', 'kmemleak', 'kmemleak',
	'bug', 'bug', 'gpf', 'oops', 'unable-to-handle', 'panic',
]


def lines_of(name):
	with open(os.path.join(FIX, name)) as f:
		return f.read().splitlines()


def run(*args):
	return subprocess.run([sys.executable, '-m', 'vmalock.splats', *args],
			      capture_output=True, text=True)


class ScanSplatsTest(unittest.TestCase):
	def test_every_kind_detected(self):
		splats, allowed = scan_splats.scan(lines_of('splats.log'))
		self.assertEqual([k for k, _, _ in splats], SPLATS_LOG_KINDS)
		self.assertEqual(allowed, [])
		# The fixture exercises every kind the scanner knows.
		self.assertEqual(set(SPLATS_LOG_KINDS),
				 {k for k, _ in scan_splats.PATTERNS})

	def test_reported_line_numbers_and_text(self):
		lines = lines_of('splats.log')
		for kind, n, msg in scan_splats.scan(lines)[0]:
			self.assertTrue(lines[n - 1].endswith(msg), (kind, n, msg))
			self.assertFalse(msg.startswith('['), msg)

	def test_clean_logs(self):
		for name in ('pass.log', 'malformed-plan.log'):
			self.assertEqual(scan_splats.scan(lines_of(name)), ([], []), name)
		p = run(os.path.join(FIX, 'pass.log'))
		self.assertEqual(p.returncode, 0, p.stderr)
		self.assertEqual(p.stdout, 'splats: 0\n')

	def test_harness_lines_not_counted(self):
		harness = [
			'# rw_exclusion: first violation: [reader_at_free] BUG: reader got vma after free',
			'[   14.103001] # detach_free: first violation: [reader_at_free] WARNING: CPU: 0 PID: 1 at x',
			'# detach_free: Kernel panic - not syncing would follow',
			'not ok 2 detach_free # BUG: KASAN: in description',
			'ok 1 rw_exclusion # WARNING: possible circular locking dependency detected',
			'[   16.2] vmalock_test: BUG: KASAN: would be reported above',
			'vmalock_test: INFO: task writer/0:232 blocked for more than 1 seconds.',
			'[    0.531208] Spectre V2 : WARNING: Unprivileged eBPF is enabled',
			'[    1.9] Warning: unable to open an initial console.',
			'[    0.9] rcu: 	RCU CPU stall warnings timeout set to 100',
			'#PF: supervisor read access in kernel mode',
		]
		for line in harness:
			self.assertIsNone(scan_splats.classify(scan_splats.strip_ts(line)), line)
		# broken.log has such lines around its two real splats.
		splats, _ = scan_splats.scan(lines_of('broken.log'))
		self.assertEqual([k for k, _, _ in splats], ['kasan', 'hung-task'])

	def test_timestamp_forms(self):
		for line in ['[   12.345678] BUG: KASAN: slab-use-after-free in f+0x1/0x2',
			     '[   12.345678] [    T233] BUG: KASAN: slab-use-after-free in f+0x1/0x2',
			     'BUG: KASAN: slab-use-after-free in f+0x1/0x2\r',
			     # shell output and printk sharing one serial line
			     'ok 1 rw_excl[   12.345678] BUG: KASAN: slab-use-after-free in f+0x1/0x2']:
			splats, _ = scan_splats.scan([line])
			self.assertEqual(splats, [('kasan', 1, 'BUG: KASAN: slab-use-after-free in f+0x1/0x2')],
					 line)

	def test_section(self):
		broken = os.path.join(FIX, 'broken.log')
		p = run(broken, '--section', 'real')
		self.assertEqual((p.returncode, p.stdout), (0, 'splats: 0\n'))
		p = run(broken, '--section', 'broken-detach')
		self.assertEqual((p.returncode, p.stdout.splitlines()), (1, [
			'splat: kasan: 25: BUG: KASAN: slab-use-after-free in lock_vma_under_rcu+0x2d4/0x3a0',
			'splats: 1']))
		p = run(broken, '--section', 'broken-nowait')
		self.assertEqual((p.returncode, p.stdout.splitlines()[-1]), (1, 'splats: 1'))
		self.assertIn('splat: hung-task: 54: INFO: task detacher/0:240 blocked', p.stdout)
		# A section without its END marker runs to the end of the log.
		splats, _ = scan_splats.scan(lines_of('truncated.log'), section='real')
		self.assertEqual([k for k, _, _ in splats], ['bug', 'panic'])
		# A missing section is an error, not a clean result.
		p = run(broken, '--section', 'broken-nosuch')
		self.assertEqual(p.returncode, 2)
		self.assertIn('no VMALOCK-RUN-BEGIN run=broken-nosuch', p.stderr)

	def test_cli_output_and_exit(self):
		p = run(os.path.join(FIX, 'splats.log'))
		self.assertEqual(p.returncode, 1)
		out = p.stdout.splitlines()
		self.assertEqual(out[-1], f'splats: {len(SPLATS_LOG_KINDS)}')
		self.assertEqual(len(out), len(SPLATS_LOG_KINDS) + 1)
		self.assertEqual(out[0], 'splat: warning: 8: WARNING: mm/mmap_lock.c:142 at '
				 'vma_mark_detached+0x9c/0xb0, CPU#1: detacher/0/231')

	def test_allow(self):
		log = os.path.join(FIX, 'splats.log')
		# Allowing a WARN message also allows the WARNING line it folded.
		p = run(log, '--allow', r'^refcount_t: underflow', '--allow', 'KASAN: slab-use')
		self.assertEqual(p.returncode, 1)
		self.assertIn(f'splats: {len(SPLATS_LOG_KINDS) - 2}', p.stdout)
		self.assertIn('allowed: refcount: 33: refcount_t: underflow', p.stdout)
		self.assertNotIn('splat: refcount', p.stdout)
		p = run(os.path.join(FIX, 'truncated.log'), '--allow', '.')
		self.assertEqual((p.returncode, p.stdout.splitlines()[-1]), (0, 'splats: 0'))

	def test_bad_arguments(self):
		p = run(os.path.join(FIX, 'no-such.log'))
		self.assertEqual(p.returncode, 2)
		self.assertIn('cannot read', p.stderr)
		self.assertEqual(run().returncode, 2)
		p = run(os.path.join(FIX, 'pass.log'), '--allow', '(')
		self.assertEqual(p.returncode, 2)
		self.assertIn('bad --allow regex', p.stderr)


if __name__ == '__main__':
	unittest.main()
