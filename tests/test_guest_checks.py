# SPDX-License-Identifier: GPL-2.0
#
# The guest's checks on text (scripts/guest/lib.sh, the block between
# VT-CHECKS-BEGIN and VT-CHECKS-END), run with busybox sh as in the guest,
# on fixtures: each check must pass on a good input and fail on the input it
# is there to catch. The leak check's kmemleak parser cannot be shown to fail
# in the guest without a module that leaks on purpose, so it is shown here;
# so are the soak's growth test, the control loops' KTAP and status checks,
# and the bad-input table's errno reading. Also soak.py's summary.

import os
import shutil
import subprocess
import tempfile
import unittest

from vmalock import soak

HERE = os.path.dirname(os.path.abspath(__file__))
INIT = os.path.join(HERE, '..', 'scripts', 'guest', 'lib.sh')

SH = shutil.which('busybox')


def checks_block():
	with open(INIT) as f:
		text = f.read()
	begin = text.index('# VT-CHECKS-BEGIN')
	end = text.index('# VT-CHECKS-END')
	return text[begin:end]


# kmemleak's report (mm/kmemleak.c print_unreferenced) after rmmod: the
# module's frames no longer resolve and are printed as bare addresses.
LEAK_OURS = '''unreferenced object 0xffff888004b3c000 (size 2048):
  comm "insmod", pid 210, jiffies 4294901234
  hex dump (first 32 bytes):
    00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00  ................
  backtrace (crc 5a1e3c2b):
    __kmalloc_cache_noprof+0x2e5/0x4a0
    0xffffffffc0204abc
    do_one_initcall+0xa4/0x380
    do_init_module+0x90/0x260
'''
LEAK_OURS_LOADED = '''unreferenced object 0xffff888004b3d000 (size 64):
  comm "vmalock_ctl", pid 300, jiffies 4294901299
  backtrace (crc 1):
    kmalloc_trace+0x2e5/0x4a0
    vt_controller_fn+0x40/0x900 [vmalock_test]
'''
LEAK_OTHER = '''unreferenced object 0xffff888001234000 (size 32):
  comm "swapper/0", pid 1, jiffies 4294892296
  hex dump (first 32 bytes):
    6b 6b 6b 6b 6b 6b 6b 6b 6b 6b 6b 6b 6b 6b 6b a5  kkkkkkkkkkkkkkk.
  backtrace (crc 0):
    __kmalloc_noprof+0x2e5/0x4a0
    acpi_os_allocate_zeroed+0x1c/0x30
    kernel_init_freeable+0x3c0/0x5a0
'''
OLD_FORMAT_OURS = '''unreferenced object 0xffff888004b3c000 (size 2048):
  comm "insmod", pid 210, jiffies 4294901234
  backtrace:
    [<ffffffff81234567>] __kmalloc+0x2e5/0x4a0
    [<ffffffffc0204abc>] 0xffffffffc0204abc
'''

KTAP = '''KTAP version 1
# vmalock_test: kernel=7.3.4 broken=none
1..2
# mirror: ops=20 successes=20 fallbacks=0 violations=0
# mirror: reads=20 frees_seen=3
ok 1 mirror
# detach_free: ops=100 successes=90 fallbacks=10 violations=2
# detach_free: reads=40 frees_seen=116
not ok 2 detach_free
# sysmon: site kind=write calls=9 caller=__split_vma+0x1/0x2
'''


@unittest.skipUnless(SH, 'busybox not installed')
class GuestChecks(unittest.TestCase):
	def setUp(self):
		self.tmp = tempfile.mkdtemp()
		self.addCleanup(shutil.rmtree, self.tmp)
		self.lib = os.path.join(self.tmp, 'checks.sh')
		with open(self.lib, 'w') as f:
			f.write(checks_block())

	def file(self, name, text):
		path = os.path.join(self.tmp, name)
		with open(path, 'w') as f:
			f.write(text)
		return path

	def sh(self, cmd, *args):
		"""(status, stdout) of CMD run after sourcing the checks."""
		r = subprocess.run([SH, 'sh', '-c', f'. {self.lib}; {cmd}', 'sh', *args],
				   capture_output=True, text=True, timeout=30)
		return r.returncode, r.stdout

	# kmemleak_ours
	def test_kmemleak_module_frame_unloaded(self):
		_, out = self.sh('kmemleak_ours "$1"', self.file('k', LEAK_OTHER + LEAK_OURS))
		self.assertEqual(out.splitlines()[0], 'suspects=2 ours=1')
		self.assertIn('# unreferenced object 0xffff888004b3c000 (size 2048):', out)
		self.assertIn('0xffffffffc0204abc', out)

	def test_kmemleak_module_named(self):
		_, out = self.sh('kmemleak_ours "$1"', self.file('k', LEAK_OURS_LOADED + LEAK_OTHER))
		self.assertEqual(out.splitlines()[0], 'suspects=2 ours=1')
		self.assertIn('vmalock_ctl', out)

	def test_kmemleak_old_format(self):
		_, out = self.sh('kmemleak_ours "$1"', self.file('k', OLD_FORMAT_OURS))
		self.assertEqual(out.splitlines()[0], 'suspects=1 ours=1')

	def test_kmemleak_others_only(self):
		_, out = self.sh('kmemleak_ours "$1"', self.file('k', LEAK_OTHER + LEAK_OTHER))
		self.assertEqual(out, 'suspects=2 ours=0\n')

	def test_kmemleak_empty(self):
		_, out = self.sh('kmemleak_ours "$1"', self.file('k', ''))
		self.assertEqual(out, 'suspects=0 ours=0\n')

	# vt_threads
	def test_threads_left(self):
		proc = os.path.join(self.tmp, 'proc')
		for pid, comm in [(1, 'init'), (57, 'vmalock_ctl'), (58, 'vmalock_rd/0'), (60, 'sh')]:
			os.makedirs(os.path.join(proc, str(pid)))
			self.file(f'proc/{pid}/comm', comm + '\n')
		_, out = self.sh('vt_threads "$1"', proc)
		self.assertEqual(sorted(out.split()), ['vmalock_ctl', 'vmalock_rd/0'])
		os.unlink(os.path.join(proc, '57', 'comm'))
		os.unlink(os.path.join(proc, '58', 'comm'))
		rc, out = self.sh('vt_threads "$1"', proc)
		self.assertEqual((rc, out), (1, ''))

	# errno_of
	def test_errno_of(self):
		for text, want in [('', 'ok'),
				   ("dd: error writing '/sys/kernel/debug/vmalock_test/params': Invalid argument", 'EINVAL'),
				   ('sh: write error: Device or resource busy', 'EBUSY'),
				   ("insmod: can't insert '/vmalock_test.ko': invalid parameter", 'EINVAL'),
				   ("insmod: can't insert 'x.ko': No space left on device", 'ENOSPC'),
				   ("insmod: can't insert 'x.ko': Numerical result out of range", 'ERANGE'),
				   ('dd: error writing: Bad address', 'other: dd: error writing: Bad address')]:
			_, out = self.sh('errno_of "$1"', self.file('e', text + ('\n' if text else '')))
			self.assertEqual(out.strip(), want, text)

	# expand_data
	def test_expand_data(self):
		r = subprocess.run([SH, 'sh', '-c', f'. {self.lib}; expand_data "$1"', 'sh',
				    'a<3*x>b<2* >\\t\\0z\\n'], capture_output=True, timeout=30)
		self.assertEqual(r.stdout, b'axxxb  \t\0z\n')
		r = subprocess.run([SH, 'sh', '-c', f'. {self.lib}; expand_data "$1" | wc -c', 'sh',
				    'readers=<5000*1>'], capture_output=True, text=True, timeout=30)
		self.assertEqual(r.stdout.strip(), '5008')

	# whole_ktap
	def test_whole_ktap_good(self):
		for text in [KTAP, '# a run is in progress\n', '# no run yet\n',
			     'KTAP version 1\n1..1\nok 1 mirror # SKIP stopped\n']:
			rc, out = self.sh('whole_ktap "$1"', self.file('r', text))
			self.assertEqual(rc, 0, (text, out))

	def test_whole_ktap_bad(self):
		cases = [('', 'empty'),
			 (KTAP.replace('not ok 2 detach_free\n', ''), 'plan 1..2 but 1 results'),
			 (KTAP.replace('KTAP version 1\n', ''), 'first line'),
			 (KTAP.replace('ok 1 mirror', 'ok 3 mirror'), 'result 1 numbered 3'),
			 (KTAP.replace('1..2\n', ''), 'plans'),
			 (KTAP + '1..2\n', '2 plans'),
			 (KTAP[:KTAP.index('# detach_free: re')] + 'detach_free: reads=40 fr', 'stray line'),
			 ('# a run is in progress\nKTAP version 1\n', 'first line')]
		for text, why in cases:
			rc, out = self.sh('whole_ktap "$1"', self.file('r', text))
			self.assertEqual(rc, 1, text)
			self.assertIn(why, out)

	# status_ok
	def test_status(self):
		good = ['idle\n', 'done\n', 'running\nscenario=rw_exclusion broken=none seed=42\nreads=1\n',
			'running\nscenario= broken=none seed=42\n']
		bad = ['', 'busy\n', 'running\n', 'done\nscenario=x broken=none seed=1\n', 'Idle\n',
		       'running\nscenario=mirror seed=1\n']
		for text in good:
			self.assertEqual(self.sh('status_ok "$1"', self.file('s', text))[0], 0, text)
		for text in bad:
			self.assertEqual(self.sh('status_ok "$1"', self.file('s', text))[0], 1, text)

	# growth
	def samples(self, values):
		return self.file('m', ''.join(f'loop={i + 1} x={v} y=1\n' for i, v in enumerate(values)))

	def test_growth_flagged(self):
		rc, out = self.sh('growth "$1" x 10', self.samples([100, 200, 210, 220, 230, 240]))
		self.assertEqual(rc, 1, out)
		self.assertIn('x: 200 -> 240 over 5 loops after the warm-up (growth 40, tolerance 10, '
			      'rose in 4 of 4 steps)', out)

	def test_growth_not_flagged(self):
		for values, why in [([100, 200, 205, 200, 206, 203], 'within tolerance, noisy'),
				    ([100, 200, 260, 200, 260, 200, 260, 240], 'not rising steadily'),
				    ([500, 200, 202, 204, 206, 208], 'the warm-up is left out'),
				    ([100, 200], 'too few')]:
			rc, out = self.sh('growth "$1" x 10', self.samples(values))
			self.assertEqual(rc, 0, (why, out))
		self.assertIn('too few to judge', self.sh('growth "$1" x 10', self.samples([1, 2]))[1])

	def test_growth_two_loops_after_warmup(self):
		rc, _ = self.sh('growth "$1" x 10', self.samples([100, 200, 250]))
		self.assertEqual(rc, 1)

	# ktap_sum
	def test_ktap_sum(self):
		path = self.file('r', KTAP)
		for key, want in [('ops', '120'), ('frees_seen', '119'), ('violations', '2'),
				  ('calls', '0'), ('missing', '0')]:
			self.assertEqual(self.sh('ktap_sum "$1" ' + key, path)[1].strip(), want, key)

	# bounded
	def test_bounded_in_time(self):
		hang = os.path.join(self.tmp, 'console')
		for cmd, rc in [('true', 0), ('false', 1), ('exit 3', 3)]:
			status, _ = self.sh(f'HANG_TO={hang}; bounded 5 sh -c "{cmd}"')
			self.assertEqual(status, rc, cmd)
		self.assertFalse(os.path.exists(hang))

	def test_bounded_stuck(self):
		hang = os.path.join(self.tmp, 'console')
		status, out = self.sh(f'HANG_TO={hang}; bounded 1 sleep 3 > {self.tmp}/out; echo $?')
		self.assertEqual(out.strip(), '0')
		with open(hang) as f:
			text = f.read()
		self.assertTrue(text.startswith('VMALOCK-HANG: sleep has not ended 1 s after it began\n'),
				text)
		self.assertIn('/task/', text)


SOAK = '''VMALOCK-RESULTS-BEGIN run=soak
KTAP version 1
1..3
# soak: secs=600 loops=20 scenario_runs=200 ops=12345678 violations=0 frees_checked=4567 module_faults=890 user_runs=20 user_faults=4321 per_vma_faults=9999 pgfaults=88888 kunit_suite_runs=60 kunit_cases=1500
# soak: kunit_mm_structs_left=38 (by the KUnit suites' re-runs, not the module)
# soak: sample loop=1 mm_struct=12 vm_area_struct=300 SUnreclaim_kb=40000
# soak: sample loop=20 mm_struct=12 vm_area_struct=301 SUnreclaim_kb=40100
ok 1 soak_real_runs
# soak: growth mm_struct: 12 -> 12 over 19 loops after the warm-up (growth 0, tolerance 4, rose in 0 of 18 steps)
ok 2 soak_no_growth_mm_struct
# soak: kunit failures: reused_vma_of_other_mm_test=2
not ok 3 soak_kunit
VMALOCK-RESULTS-END run=soak
'''


class SoakSummary(unittest.TestCase):
	def test_summary(self):
		tmp = tempfile.mkdtemp()
		self.addCleanup(shutil.rmtree, tmp)
		with open(os.path.join(tmp, 'results.raw'), 'w') as f:
			f.write(SOAK)
		lines = soak.text(soak.ktap.extract_block(SOAK.splitlines(), 'soak')[0]).splitlines()
		self.assertEqual(lines[0], 'soak: 10 min 0 s, 20 loops: 200 scenario runs, 12345678 lock '
			'operations, 0 violations, 4567 VMA frees checked')
		self.assertIn('9999 through the per-VMA lock', lines[1])
		self.assertIn('60 suite runs, 1500 cases', lines[1])
		self.assertEqual(lines[2], 'soak: memory, loop 1 -> 20: mm_struct 12 -> 12, '
			'vm_area_struct 300 -> 301, SUnreclaim_kb 40000 -> 40100')
		self.assertTrue(lines[3].startswith('soak: growth mm_struct: 12 -> 12'))
		self.assertIn('soak: kunit_mm_structs_left=38', lines)
		self.assertIn('soak: kunit failures: reused_vma_of_other_mm_test=2', lines)
		self.assertEqual(lines[-1], 'soak: found: soak_kunit')
		self.assertEqual(soak.main([tmp]), 0)

	def test_unfinished(self):
		block = ['KTAP version 1', '1..1', 'ok 1 soak_real_runs']
		self.assertIn('did not finish', soak.text(block))
		self.assertEqual(soak.main(['/nonexistent']), 2)


if __name__ == '__main__':
	unittest.main()


class JudgeOtherBoots(unittest.TestCase):
	"""The splat scan covers every boot but the broken ones; in the leak
	boot kmemleak's own count line is not a splat (its run judges)."""

	def boot(self, out, name, console):
		d = os.path.join(out, name)
		os.makedirs(d)
		with open(os.path.join(d, 'console.log'), 'w') as f:
			f.write('[    0.000000] Linux version 7.3.4\n' + console + 'VMALOCK-GUEST-DONE\n')
		with open(os.path.join(d, 'boot.info'), 'w') as f:
			f.write('runs=\nstatus=0\n')
		return d

	def test_leak_and_soak_boots(self):
		from vmalock import judge
		out = tempfile.mkdtemp()
		self.addCleanup(shutil.rmtree, out)
		leak = '[   90.1] kmemleak: 3 new suspected memory leaks (see /sys/kernel/debug/kmemleak)\n'
		warn = '[   12.5] WARNING: CPU: 1 PID: 77 at mm/mmap_lock.c:99 vma_start_read+0x1/0x2\n'
		checks = judge.judge_boot(self.boot(out, 'leak', leak))
		self.assertIn(('PASS', 'no-kernel-splat-leak', ''), checks)
		checks = judge.judge_boot(self.boot(out, 'soak', leak + warn))
		self.assertEqual([c[:2] for c in checks if 'splat' in c[1]],
				 [('FAIL', 'no-kernel-splat-soak')])
		checks = judge.judge_boot(self.boot(out, 'broken-detach_no_wait', warn))
		self.assertFalse([c for c in checks if 'splat' in c[1]])


@unittest.skipUnless(SH, 'busybox not installed')
class GuestBoot(unittest.TestCase):
	"""/init's dispatch (run as a command, as under LAVA: no mounts, no
	power-off) and lib.sh's one writer of a run's KTAP document, with the
	files scripts/guest/pack puts in an initramfs. Only runs that touch
	nothing on the host are started."""

	def setUp(self):
		self.dir = tempfile.mkdtemp()
		self.addCleanup(shutil.rmtree, self.dir)
		self.root = os.path.join(self.dir, 'root')
		subprocess.run([os.path.join(HERE, '..', 'scripts', 'guest', 'pack'), self.root],
			       check=True)
		self.out = os.path.join(self.dir, 'out')

	def init(self, runs):
		r = subprocess.run([SH, 'sh', os.path.join(self.root, 'init')], capture_output=True,
				   text=True, env={'PATH': os.environ['PATH'], 'VT_RUNS': runs,
						   'VT_OUT': self.out})
		self.assertEqual(r.returncode, 0, r.stderr)
		return r.stdout

	def test_packed(self):
		for f in ('init', 'lib.sh', 'runs.table', 'bad-input', 'bad-input.table',
			  'runs/real', 'runs/broken', 'runs/user', 'kselftest/table'):
			self.assertTrue(os.path.isfile(os.path.join(self.root, f)), f)

	def test_dispatch(self):
		out = self.init('probe,frob,broken,broken-,probe-x')
		self.assertIn('VMALOCK-RUN-BEGIN run=probe\nVMALOCK-RUN-END run=probe\n', out)
		for r in ('frob', 'broken', 'broken-', 'probe-x'):
			self.assertIn(f'VMALOCK-RUN-BEGIN run={r}\nvmalock-guest: unknown run {r}\n', out)
		self.assertFalse(os.path.exists(self.out))

	def test_unknown_to_the_table(self):
		# A script without a row is not started.
		with open(os.path.join(self.root, 'runs', 'extra'), 'w') as f:
			f.write('echo started\n')
		self.assertIn('unknown run extra', self.init('extra'))

	def test_ktap_doc(self):
		script = os.path.join(self.dir, 'run')
		with open(script, 'w') as f:
			f.write('. "$G/lib.sh"\ncheck good true\nnote "# why: it failed"\n'
				'check bad false\nktap_doc\n')
		subprocess.run([SH, 'sh', script], check=True,
			       env={'PATH': os.environ['PATH'], 'G': self.root + '/', 'OUT': self.out,
				    'RUN': 'x'})
		with open(self.out) as f:
			self.assertEqual(f.read(), 'VMALOCK-RESULTS-BEGIN run=x\nKTAP version 1\n1..2\n'
					 'ok 1 good\n# why: it failed\nnot ok 2 bad\nVMALOCK-RESULTS-END run=x\n')
