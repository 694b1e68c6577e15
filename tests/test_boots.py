# SPDX-License-Identifier: GPL-2.0
#
# vmalock-run.sh end to end with a fake qemu-system-x86_64 first on PATH and
# --images (no kernel build): every way a boot can go wrong gives a FAIL and
# a non-zero exit, never a pass, and --recheck re-judges the saved boots.

import os
import shutil
import subprocess
import tempfile
import time
import unittest

from vmalock import names

HERE = os.path.dirname(os.path.abspath(__file__))
RUN = os.path.join(HERE, '..', 'scripts', 'vmalock-run.sh')
HEADER = os.path.join(HERE, '..', 'vmalock_names.h')

# The fake writes DIR/<vt.runs>.console and .results (or DIR/console and
# DIR/results) to the two serial files, then exits, hangs, reboots
# for ever or crashes as FAKE_MODE says.
FAKE_QEMU = r'''#!/bin/bash
files=() runs=""
for a; do
	case $a in
	file:*) files+=("${a#file:}") ;;
	*vt.runs=*) runs=${a#*vt.runs=}; runs=${runs%% *} ;;
	esac
done
for i in 0 1; do
	ext=$([ $i = 0 ] && echo console || echo results)
	src=$FAKE/$runs.$ext
	[ -f "$src" ] || src=$FAKE/$ext
	[ ! -f "$src" ] || cp "$src" "${files[$i]}"
done
case ${FAKE_MODE:-exit} in
hang) exec sleep 600 ;;
loop) while sleep 0.2; do echo "[    0.000000] Linux version 7.3.4" >> "${files[0]}"; done ;;
crash) kill -SEGV $$ ;;
esac
exit 0
'''

BANNER = '[    0.000000] Linux version 7.3.4 (fake) #1 SMP\n'
DONE = 'VMALOCK-RUN-BEGIN run=real\nVMALOCK-RUN-END run=real\nVMALOCK-GUEST-DONE\n'
REAL = '''VMALOCK-RESULTS-BEGIN run=real
KTAP version 1
# vmalock_test: kernel=7.3.4 broken=none duration_ms=10
1..2
# rw_exclusion: ops=10 violations=0 time_ms=10 ops_per_s=1000
ok 1 rw_exclusion
# detach_free: ops=10 violations=0 time_ms=10 ops_per_s=1000
ok 2 detach_free
VMALOCK-RESULTS-END run=real
'''
BROKEN = '''VMALOCK-RESULTS-BEGIN run=broken-detach_no_wait
KTAP version 1
1..1
# detach_free: ops=10 violations=2 time_ms=10 ops_per_s=1000 detected_ms=3
# detach_free: invariant detach_refcount violated 2 times
# detach_free: first violation: [detach_refcount] detacher/0: VMA 5 refcnt=1
not ok 1 detach_free
VMALOCK-RESULTS-END run=broken-detach_no_wait
'''


class FakeBoots(unittest.TestCase):
	def setUp(self):
		self.tmp = tempfile.mkdtemp()
		self.addCleanup(shutil.rmtree, self.tmp)
		self.fake = self.mkdir('fake')
		self.images = self.mkdir('images')
		for f, text in [('bzImage', 'x'), ('initramfs.cpio', 'x'),
				('kernel-config', 'CONFIG_PER_VMA_LOCK=y\n'), ('kernel-version', '7.3.4\n')]:
			self.write(os.path.join(self.images, f), text)
		self.bin = self.mkdir('bin')
		self.write(os.path.join(self.bin, 'qemu-system-x86_64'), FAKE_QEMU)
		os.chmod(os.path.join(self.bin, 'qemu-system-x86_64'), 0o755)
		self.out = os.path.join(self.tmp, 'out')
		self.path = f"{self.bin}:{os.environ['PATH']}"

	def mkdir(self, name):
		d = os.path.join(self.tmp, name)
		os.makedirs(d)
		return d

	def write(self, path, text):
		with open(path, 'w') as f:
			f.write(text)

	def guest(self, console, results='', runs=''):
		self.write(os.path.join(self.fake, f'{runs}console' if not runs else f'{runs}.console'),
			   console)
		self.write(os.path.join(self.fake, 'results' if not runs else f'{runs}.results'), results)

	def run_harness(self, *args, mode='exit'):
		env = dict(os.environ, PATH=self.path, FAKE=self.fake, FAKE_MODE=mode)
		return subprocess.run([RUN, '--images', self.images, '--accel', 'tcg', '--no-kunit',
				       '--no-user', '--duration-ms', '10', '--out', self.out, *args],
				      capture_output=True, text=True, env=env, timeout=120)

	def summary(self):
		with open(os.path.join(self.out, 'summary.txt')) as f:
			return f.read().splitlines()

	def failed(self, r, *lines):
		self.assertEqual(r.returncode, 1, r.stdout + r.stderr)
		self.assertRegex(r.stdout.splitlines()[-1], r'^vmalock: \d+ passed, [1-9]\d* failed')
		s = self.summary()
		for line in lines:
			self.assertTrue(any(x.startswith(line) for x in s), f'{line!r} not in {s}')

	def test_pass_and_recheck(self):
		self.guest(BANNER + DONE, REAL)
		r = self.run_harness()
		self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
		self.assertEqual(r.stdout.splitlines()[-1], 'vmalock: 3 passed, 0 failed')
		self.assertEqual(self.summary(), ['PASS no-kernel-splat', 'PASS real/rw_exclusion',
						  'PASS real/detach_free'])
		main = os.path.join(self.out, 'main')
		for f in ('console.log', 'results.raw', 'qemu-cmd', 'qemu.log', 'kernel-config',
			  'kernel-version', 'boot.info', 'verdict.txt', 'results-real.ktap', 'junit-real.xml'):
			self.assertTrue(os.path.isfile(os.path.join(main, f)), f)
		with open(os.path.join(main, 'qemu-cmd')) as f:
			self.assertIn('vt.runs=real', f.read())
		for f in ('console.log', 'results.ktap', 'results.json', 'junit.xml'):
			self.assertTrue(os.path.isfile(os.path.join(self.out, f)), f)
		# The saved boots alone give the same verdicts.
		before = self.summary()
		for f in ('summary.txt', 'junit.xml', 'main/results-real.ktap', 'main/verdict.txt'):
			os.unlink(os.path.join(self.out, f))
		rc = subprocess.run([RUN, '--recheck', self.out], capture_output=True, text=True)
		self.assertEqual(rc.returncode, 0, rc.stderr)
		self.assertEqual(rc.stdout.splitlines()[-1], 'vmalock: 3 passed, 0 failed')
		self.assertEqual(self.summary(), before)
		self.assertTrue(os.path.isfile(os.path.join(self.out, 'junit.xml')))
		# A fix to the judging shows on recheck: here, a result turned bad.
		with open(os.path.join(main, 'results.raw'), 'w') as f:
			f.write(REAL.replace('ok 2 detach_free', 'not ok 2 detach_free'))
		rc = subprocess.run([RUN, '--recheck', self.out], capture_output=True, text=True)
		self.assertEqual(rc.returncode, 1)
		self.assertIn('FAIL real/detach_free', self.summary())

	def test_recheck_bad_dir(self):
		r = subprocess.run([RUN, '--recheck', self.tmp], capture_output=True, text=True)
		self.assertEqual(r.returncode, 2)
		self.assertIn('no boot directory', r.stderr)

	def test_kernel_panic(self):
		self.guest(BANNER + '[    3.0] Kernel panic - not syncing: Fatal exception\n',
			   REAL[:REAL.index('ok 2')])
		self.failed(self.run_harness(), 'FAIL boot-main (kernel panic: Fatal exception)',
			    'FAIL no-kernel-splat', 'FAIL real (results missing or malformed: no '
			    'VMALOCK-RESULTS-END')

	def test_no_results(self):
		self.guest(BANNER + 'VMALOCK-RUN-BEGIN run=real\n')
		self.failed(self.run_harness(),
			    'FAIL boot-main (guest ended without finishing (qemu status 0))',
			    'FAIL real (results missing or malformed: no VMALOCK-RESULTS-BEGIN')

	def test_results_cut_in_half(self):
		self.guest(BANNER + DONE, REAL[:len(REAL) // 2])
		self.failed(self.run_harness(), 'FAIL real (results missing or malformed')

	def test_no_test_ran(self):
		empty = 'VMALOCK-RESULTS-BEGIN run=real\nKTAP version 1\n1..0\nVMALOCK-RESULTS-END\n'
		self.guest(BANNER + DONE, empty)
		self.failed(self.run_harness(), 'FAIL real (no test ran)')

	def test_hang(self):
		self.guest(BANNER, REAL)
		self.failed(self.run_harness('--boot-timeout', '2', mode='hang'),
			    'FAIL boot-main (hung: killed after 2s)')

	def test_reboot_loop(self):
		# The console watch stops QEMU at the second boot, long before the limit.
		self.guest(BANNER, '')
		t0 = time.monotonic()
		self.failed(self.run_harness('--boot-timeout', '100', mode='loop'),
			    'FAIL boot-main (guest rebooted: ')
		self.assertLess(time.monotonic() - t0, 30)

	def test_hung_task_stops_boot(self):
		self.guest(BANNER + 'VMALOCK-RUN-BEGIN run=real\n[   60.0] vmalock_test: violation in '
			   'rw_exclusion: [reader_excluded] x\n[  100.0] INFO: task writer/0:77 blocked '
			   'for more than 30 seconds.\n', '')
		t0 = time.monotonic()
		self.failed(self.run_harness('--boot-timeout', '100', mode='hang'),
			    'FAIL boot-main (hung: hung-task detector: [  100.0] INFO: task writer/0:77',
			    'FAIL real (results missing or malformed')
		self.assertLess(time.monotonic() - t0, 30)
		with open(os.path.join(self.out, 'main', 'boot.info')) as f:
			self.assertIn('stopped=hung-task detector', f.read())

	def test_stuck_worker_stops_boot(self):
		# The module's own report of a stuck worker, and the guest's of a
		# stuck run, end the boot as the hung-task detector's does.
		for line, why in [('[   9.0] vmalock_test: hang: rw_exclusion: worker writer/0 (pid 80) '
				   'still in its loop 12000 ms after the scenario ended, in step 7',
				   'stuck worker'),
				  ('VMALOCK-HANG: /vmalock_user_stress has not ended 18 s after it began',
				   'stuck guest run')]:
			self.guest(BANNER + 'VMALOCK-RUN-BEGIN run=real\n[   8.0] vmalock_test: violation in '
				   'rw_exclusion: [reader_excluded] x\n' + line + '\n', '')
			t0 = time.monotonic()
			self.failed(self.run_harness('--boot-timeout', '100', mode='hang'),
				    f'FAIL boot-main (hung: {why}: {line}',
				    'FAIL real (results missing or malformed')
			self.assertLess(time.monotonic() - t0, 30)
			self.assertIn('first violation on the console: [reader_excluded] x',
				      self.summary()[0])

	def test_qemu_crash(self):
		self.guest(BANNER, REAL)
		self.failed(self.run_harness(mode='crash'),
			    'FAIL boot-main (qemu crashed: killed by signal 11)')

	def test_qemu_missing(self):
		# A PATH with every tool but QEMU.
		nobin = self.mkdir('noqemu')
		for d in ('/usr/bin', '/usr/sbin'):
			for f in os.listdir(d):
				if not f.startswith('qemu-system') and not os.path.exists(os.path.join(nobin, f)):
					os.symlink(os.path.join(d, f), os.path.join(nobin, f))
		self.path = nobin
		self.guest(BANNER + DONE, REAL)
		self.failed(self.run_harness(), 'FAIL boot-main (qemu did not start: ')

	def test_broken_caught_and_missed(self):
		self.guest(BANNER + DONE, BROKEN, runs='broken-detach_no_wait')
		r = self.run_harness('--no-real', '--broken', 'detach_no_wait')
		self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
		self.assertEqual(self.summary(), ['PASS broken-detach_no_wait/detach_free'])
		with open(os.path.join(self.out, 'broken-detach_no_wait', 'qemu-cmd')) as f:
			# 120 s, and 10 s per scenario of the variant at --duration-ms 10
			n = len(names.scenario_runs(*names.load(HEADER), 'all', 'detach_no_wait'))
			self.assertIn(f'killed after {120 + 10 * n}s', f.read())
		# Caught, but by another invariant than VT_CATCHES() names: not caught.
		self.guest(BANNER + DONE, BROKEN.replace('detach_refcount', 'rw_exclusion'),
			   runs='broken-detach_no_wait')
		self.failed(self.run_harness('--no-real', '--broken', 'detach_no_wait'),
			    'FAIL broken-detach_no_wait/detach_free (caught, but not as '
			    'detach_refcount (reported: rw_exclusion))')
		self.guest(BANNER + DONE, BROKEN.replace('not ok 1 detach_free',
							 'ok 1 detach_free # SKIP no'),
			   runs='broken-detach_no_wait')
		self.failed(self.run_harness('--no-real', '--broken', 'detach_no_wait'),
			    'SKIP broken-detach_no_wait/detach_free',
			    'FAIL broken-detach_no_wait (broken variant no scenario ran)')

	def test_unknown_scenario(self):
		r = self.run_harness('--scenarios', 'rw_exclusion,bogus')
		self.assertEqual(r.returncode, 2)
		self.assertRegex(r.stderr, r"unknown scenario 'bogus'; allowed: all .*\brw_exclusion\b")


if __name__ == '__main__':
	unittest.main()
