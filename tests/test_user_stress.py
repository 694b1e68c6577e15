# SPDX-License-Identifier: GPL-2.0
#
# The user-space stressor on the host kernel: a clean run passes; each check
# class, broken on purpose (-s for fork, -X CLASS for the others), is reported
# as a failure naming the class; the maps checker finds a gap, a torn line and
# disorder in maps and smaps texts; bad arguments are refused with status 2.

import os
import re
import shutil
import subprocess
import tempfile
import unittest

TOP = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..')
SRC = os.path.join(TOP, 'user', 'vmalock_user_stress.c')

# Every class whose check -X can break (touch and mprotect check nothing).
CLASSES = ('fault', 'fork', 'mremap', 'dontunmap', 'munmap', 'newmap', 'growsdown',
	   'madvise', 'mlock', 'maps', 'smaps', 'procmap_query')

# The classes of the other write-lock callers: class -> the kinds that run it.
# Those the host kernel lacks (one NUMA node, no swap, no hugetlb pages, no
# soft-dirty) are skipped by name, which the tests accept.
MM_CLASSES = {
	'collapse': 'collapse', 'uffd_ops': 'uffd_ops', 'numa': 'numa', 'ksm': 'ksm',
	'swap': 'swap', 'hugetlb': 'hugetlb', 'mseal': 'mseal', 'guard': 'guard',
	'process_madvise': 'process_madvise', 'clear_refs': 'pagemap',
	'pagemap_scan': 'pagemap', 'mlock_whole': 'mlock_whole',
	'mprotect_whole': 'mprotect_whole', 'madvise_whole': 'madvise_whole',
	'mmu_notifier': 'mmu_notifier',
}

# A maps text as the kernel prints it; 7f0000002000-7f0000003000 is "fixed".
FIXED = '7f0000002000-7f0000003000'
MAPS = (
	'55d000000000-55d000001000 r--p 00000000 08:01 1234   /usr/bin/cat\n'
	'7f0000000000-7f0000002000 rw-p 00000000 00:00 0 \n'
	'7f0000002000-7f0000003000 r--s 00000000 00:01 77     /memfd:vmalock_fixed (deleted)\n'
	'7f0000003000-7f0000005000 rw-p 00000000 00:00 0 \n'
	'7ffd00000000-7ffd00021000 rw-p 00000000 00:00 0      [stack]\n')
SMAPS_FIELDS = 'Size:                  8 kB\nRss:                   4 kB\nVmFlags: rd wr mr mw me ac\n'


def smaps_of(maps):
	return ''.join(line + '\n' + SMAPS_FIELDS for line in maps.splitlines())


class UserStress(unittest.TestCase):
	@classmethod
	def setUpClass(cls):
		cls.dir = tempfile.mkdtemp()
		cls.bin = os.path.join(cls.dir, 'vmalock_user_stress')
		subprocess.run(['gcc', '-O2', '-Wall', '-Wextra', '-Werror', '-static', '-pthread',
				'-o', cls.bin, SRC], check=True)

	@classmethod
	def tearDownClass(cls):
		shutil.rmtree(cls.dir)

	@staticmethod
	def class_names():
		"""The stressor's classes, from its class_name[] table."""
		with open(SRC) as f:
			src = f.read()
		table = re.search(r'class_name\[NR_CLASSES\] = \{(.*?)\};', src, re.S).group(1)
		return re.findall(r'"(\w+)"', table)

	def run_it(self, *args):
		return subprocess.run([self.bin, *args], capture_output=True, text=True,
				      timeout=60)

	def test_clean_run(self):
		r = self.run_it('-t', '2', '-w', '2', '-p', '64')
		self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
		self.assertIn('failed=none ', r.stdout)
		skipped = re.findall(r'^# skip: (\w+):', r.stdout, re.M)
		# Every class ran at least once, unless skipped by name.
		for cls in CLASSES + ('mprotect', 'touch'):
			if cls not in skipped and 'mremap_' + cls not in skipped:
				self.assertRegex(r.stdout, r' %s=[1-9]' % cls)

	def test_shared_region_is_reported(self):
		r = self.run_it('-t', '1', '-s', '-k', 'writer,fork')
		self.assertEqual(r.returncode, 1, r.stdout)
		self.assertIn('corruption: fork: child', r.stderr)
		self.assertIn('failed=fork ', r.stdout)

	def test_each_check_can_fail(self):
		# All at once: one second each, in parallel.
		runs = {c: subprocess.Popen([self.bin, '-t', '1', '-w', '2', '-p', '32', '-X', c],
					    stdout=subprocess.PIPE, stderr=subprocess.PIPE,
					    text=True) for c in CLASSES}
		for c, p in runs.items():
			out, err = p.communicate(timeout=60)
			with self.subTest(cls=c):
				if re.search(r'^# skip: [a-z_]*%s:' % c, out, re.M):
					self.skipTest('%s: %s' % (c, out))
				self.assertEqual(p.returncode, 1, out + err)
				# Failed by its own check, not by never running.
				self.assertRegex(err, r'corruption: %s: (?!never ran)' % c)
				self.assertRegex(out, r'failed=([a-z_]+,)*%s[ ,]' % c)

	def ktap(self, out, more):
		"""{name: (ok, directive)} of -K MORE's results; the plan counts MORE
		results after them."""
		lines = out.splitlines()
		got = {}
		for n, m in enumerate(re.finditer(r'^(not )?ok (\d+) (\w+)( # .*)?$', out, re.M), 1):
			self.assertEqual(int(m.group(2)), n, out)
			got[m.group(3)] = (not m.group(1), (m.group(4) or '')[3:])
		self.assertEqual(lines[:2], ['KTAP version 1', f'1..{len(got) + more}'], out)
		return got

	def test_ktap(self):
		# The user run's KTAP, as the guest relays it: user_stress, every
		# class (SKIP with the reason), per_vma_faults; 3 more follow.
		r = self.run_it('-t', '2', '-w', '2', '-p', '64', '-K', '3')
		got = self.ktap(r.stdout, 3)
		names = list(got)
		# user_stress, one per class of the usage text's list, per_vma_faults
		self.assertEqual(len(names), 2 + len(self.class_names()))
		self.assertEqual(names[0], 'user_stress')
		self.assertEqual(names[-1], 'per_vma_faults')
		self.assertEqual(got['user_stress'], (r.returncode == 0, ''))
		skipped = self.skipped_classes(r.stdout)
		for cls in names[1:-1]:
			if cls in skipped:
				self.assertTrue(got[cls][0] and got[cls][1].startswith('SKIP '), (cls, got[cls]))
				self.assertGreater(len(got[cls][1]), 5, cls)
			else:
				self.assertEqual(got[cls], (True, ''), cls)

	def test_ktap_names_the_broken_class(self):
		r = self.run_it('-t', '1', '-w', '2', '-p', '32', '-X', 'mlock', '-K', '0')
		got = self.ktap(r.stdout, 0)
		self.assertEqual(r.returncode, 1)
		self.assertEqual(got['user_stress'], (False, ''))
		self.assertEqual(got['mlock'], (False, ''))
		self.assertEqual([c for c, v in got.items() if not v[0]],
				 ['user_stress', 'mlock'] + (['per_vma_faults'] if not got['per_vma_faults'][0] else []))
		self.assertRegex(r.stdout, r'(?m)^# vmalock_user_stress: corruption: mlock: ')

	def test_break_all(self):
		r = self.run_it('-t', '1', '-w', '2', '-p', '32', '-X', 'all')
		self.assertEqual(r.returncode, 1)
		listed = re.search(r'^# broken checks: (\S+)$', r.stdout, re.M).group(1).split(',')
		self.assertEqual(set(listed), set(CLASSES) | set(MM_CLASSES))
		self.assertNotIn('touch', listed)
		self.assertNotIn('mprotect', listed)

	def skipped_classes(self, out):
		return re.search(r' skipped=(\S+)', out).group(1).split(',')

	def test_mm_classes_clean(self):
		kinds = ','.join(sorted(set(MM_CLASSES.values()))) + ',touch'
		r = self.run_it('-t', '2', '-k', kinds)
		self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
		skipped = self.skipped_classes(r.stdout)
		for cls in MM_CLASSES:
			with self.subTest(cls=cls):
				if cls in skipped:
					# Skipped whole: said by a feature named after the class.
					self.assertRegex(r.stdout, re.compile(r'^# skip: [a-z_]*%s: ' % cls, re.M))
				else:
					self.assertRegex(r.stdout, r' %s=[1-9]' % cls)

	def test_each_mm_check_can_fail(self):
		# Each with its own kind and the touchers, all at once.
		runs = {c: subprocess.Popen([self.bin, '-t', '1', '-k', k + ',touch', '-X', c],
					    stdout=subprocess.PIPE, stderr=subprocess.PIPE,
					    text=True) for c, k in MM_CLASSES.items()}
		for c, p in runs.items():
			out, err = p.communicate(timeout=60)
			with self.subTest(cls=c):
				if c in self.skipped_classes(out):
					continue
				self.assertEqual(p.returncode, 1, out + err)
				self.assertRegex(err, r'corruption: %s: (?!never ran)' % c)
				self.assertRegex(out, r'failed=([a-z_]+,)*%s[ ,]' % c)

	def test_never_ran_is_a_failure(self):
		# newmap without its touchers never completes a round.
		r = self.run_it('-t', '1', '-k', 'newmap')
		self.assertEqual(r.returncode, 1, r.stdout)
		self.assertIn('corruption: newmap: never ran in 7 s', r.stderr)
		self.assertIn('failed=newmap ', r.stdout)

	def check_text(self, text, *fixed, smaps=False):
		path = os.path.join(self.dir, 'maps.txt')
		with open(path, 'w') as f:
			f.write(text)
		mode = '--selftest-smaps' if smaps else '--selftest-maps'
		return self.run_it(mode, path, *fixed)

	def test_maps_checker_passes_whole_text(self):
		r = self.check_text(MAPS, FIXED)
		self.assertEqual(r.returncode, 0, r.stderr)
		self.assertIn('0 problems', r.stdout)
		r = self.check_text(smaps_of(MAPS), FIXED, smaps=True)
		self.assertEqual(r.returncode, 0, r.stderr)

	def test_maps_checker_finds_gap(self):
		text = ''.join(l + '\n' for l in MAPS.splitlines() if 'memfd' not in l)
		r = self.check_text(text, FIXED)
		self.assertEqual(r.returncode, 1)
		self.assertIn('gap: fixed %s missing' % FIXED.replace('-', '-'), r.stderr)

	def test_maps_checker_covers_a_range_mapped_all_along(self):
		cover = 'cover:7f0000000000-7f0000005000'
		r = self.check_text(MAPS, FIXED, cover)
		self.assertEqual(r.returncode, 0, r.stderr)
		# Shown old and new (overlapping entries) still covers it.
		text = MAPS.replace('7f0000003000-7f0000005000 rw-p 00000000 00:00 0 \n',
				    '7f0000003000-7f0000004000 rw-p 00000000 00:00 0 \n'
				    '7f0000003000-7f0000005000 rw-p 00000000 00:00 0 \n')
		r = self.check_text(text, FIXED, cover)
		self.assertEqual(r.returncode, 0, r.stderr)
		# A VMA of the range shown by no entry: what a walker that skips
		# a VMA inserted ahead of the one it found would print.
		text = MAPS.replace('7f0000000000-7f0000002000', '7f0000001000-7f0000002000')
		r = self.check_text(text, FIXED, cover)
		self.assertEqual(r.returncode, 1)
		self.assertIn('gap: 7f0000000000-7f0000001000 of the always-mapped '
			      '7f0000000000-7f0000005000 shown by no entry', r.stderr)
		text = ''.join(l + '\n' for l in MAPS.splitlines() if not l.startswith('7f0000003000'))
		r = self.check_text(text, FIXED, cover)
		self.assertEqual(r.returncode, 1)
		self.assertIn('gap: 7f0000003000-7f0000005000 of the always-mapped', r.stderr)

	def test_maps_checker_finds_changed_fixed(self):
		text = MAPS.replace('7f0000002000-7f0000003000', '7f0000002000-7f0000004000')
		r = self.check_text(text, FIXED)
		self.assertEqual(r.returncode, 1)
		self.assertIn('shown as 7f0000002000-7f0000004000', r.stderr)

	def test_maps_checker_finds_torn_lines(self):
		lines = MAPS.splitlines()
		for torn, says in (
				(lines[:2] + ['7f0000002000-7f00000'] + lines[3:], "torn: '7f0000002000-7f00000'"),
				(lines[:2] + [lines[2][:30]] + lines[3:], 'torn'),
				(lines[:2] + ['7f0000002000-7f0000003000 r--s 00000000 00:01 77     /memfd:vmalock_fi'
					      '7f0000003000-7f0000005000 rw-p 00000000 00:00 0'] + lines[3:],
				 'torn: a second entry inside')):
			with self.subTest(torn=torn[2]):
				r = self.check_text('\n'.join(torn) + '\n', FIXED)
				self.assertEqual(r.returncode, 1, r.stdout)
				self.assertIn(says, r.stderr)
		r = self.check_text(MAPS[:-1], FIXED)
		self.assertEqual(r.returncode, 1)
		self.assertIn('torn: text does not end with a newline', r.stderr)

	def test_maps_checker_finds_disorder(self):
		lines = MAPS.splitlines()
		r = self.check_text('\n'.join([lines[0], lines[3], lines[1], lines[2], lines[4]]) + '\n',
				    FIXED)
		self.assertEqual(r.returncode, 1)
		self.assertIn('out of order: 7f0000000000-7f0000002000 after an entry ending at 7f0000005000',
			      r.stderr)
		# A VMA merged between two reads may be shown again, longer: allowed.
		again = lines[:4] + ['7f0000004000-7f0000006000 rw-p 00000000 00:00 0 '] + lines[4:]
		r = self.check_text('\n'.join(again) + '\n', FIXED)
		self.assertEqual(r.returncode, 0, r.stderr)

	def test_smaps_checker_finds_torn_field(self):
		for old, new, says in (
				('4 kB\nVmFlags', '4 kBVmFlags', "torn: 'Rss:                   4 kBVmFlags"),
				('Rss:                   4 kB', 'Rss:    ', "torn: 'Rss:    '"),
				('VmFlags: rd wr', 'VmFlags: rd w', "torn: 'VmFlags: rd w mr")):
			with self.subTest(new=new):
				text = smaps_of(MAPS).replace(old, new, 1)
				r = self.check_text(text, FIXED, smaps=True)
				self.assertEqual(r.returncode, 1, text)
				self.assertIn(says, r.stderr)
		# A maps text is no smaps text without its fields, and the reverse.
		r = self.check_text(smaps_of(MAPS), FIXED)
		self.assertEqual(r.returncode, 1)
		self.assertIn("torn: 'Size:", r.stderr)

	def test_bad_arguments(self):
		for args, says in ((('-w', '0'), '-w takes 1..64'),
				   (('-t', 'x'), '-t takes 1..3600'),
				   (('-q',), 'usage:'),
				   (('-k', 'bogus'), "unknown kind 'bogus'"),
				   (('-X', 'touch'), "no check to break in 'touch'"),
				   (('-X', 'bogus'), "no check to break in 'bogus'"),
				   (('extra',), "unexpected argument 'extra'"),
				   (('--selftest-maps',), 'usage:'),
				   (('--selftest-maps', '/nonexistent'), '/nonexistent: No such file'),
				   (('--selftest-maps', '/dev/null', '7f00-zz'), "bad range '7f00-zz'"),
				   (('--selftest-maps', '/dev/null', '2000-1000'), "bad range '2000-1000'"),
				   (('--selftest-maps', '/dev/null', 'cover:2000-1000'),
				    "bad range 'cover:2000-1000'")):
			with self.subTest(args=args):
				r = self.run_it(*args)
				self.assertEqual(r.returncode, 2, args)
				self.assertIn(says, r.stderr)


if __name__ == '__main__':
	unittest.main()
