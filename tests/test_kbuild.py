# SPDX-License-Identifier: GPL-2.0
#
# Kbuild's tests of what a tree has (vmalock_compat.h): each VT_HAVE_* is 1
# or 0 by what the tree's headers and Module.symvers hold, never by its
# version, and VT_WITHOUT forces one to 0 and says so. Run on small fake
# trees with make alone: no kernel, no compiler.

import os
import subprocess
import tempfile
import unittest

TOP = os.path.realpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), '..'))

# The declarations as 7.2 and 7.3 write them (include/linux/mmap_lock.h).
NEW_H = '''static inline bool __is_vma_write_locked(struct vm_area_struct *vma)
static inline __must_check
int vma_start_write_killable(struct vm_area_struct *vma)
struct vm_area_struct *lock_next_vma(struct mm_struct *mm,
				     struct vma_iterator *iter,
				     unsigned long address);
'''
# An older tree: mm_lock_seq handed back, neither of the two functions yet.
OLD_H = '''static inline bool __is_vma_write_locked(struct vm_area_struct *vma, unsigned int *mm_lock_seq)
'''
SHOW_MK = 'include $(KBUILD_FILE)\nshow:\n\t@echo $(ccflags-y)\n'
ALL = ('VMA_LOCK_TRACE', 'DETACH_EXPORT', 'WRITE_KILLABLE', 'LOCK_NEXT_VMA',
       'IS_WRITE_LOCKED_VMA_ONLY')


class KbuildFeatures(unittest.TestCase):
	def setUp(self):
		self.tmp = tempfile.TemporaryDirectory()
		self.addCleanup(self.tmp.cleanup)
		with open(os.path.join(self.tmp.name, 'show.mk'), 'w') as f:
			f.write(SHOW_MK)

	def tree(self, name, header, trace=False, export=False):
		d = os.path.join(self.tmp.name, name)
		os.makedirs(os.path.join(d, 'include', 'linux'))
		with open(os.path.join(d, 'include', 'linux', 'mmap_lock.h'), 'w') as f:
			f.write(header)
		if trace:
			os.makedirs(os.path.join(d, 'include', 'trace', 'events'))
			open(os.path.join(d, 'include', 'trace', 'events', 'vma_lock.h'), 'w').close()
		with open(os.path.join(d, 'Module.symvers'), 'w') as f:
			f.write('0x00000000\tvma_start_read\tvmlinux\tEXPORT_SYMBOL\t\n')
			if export:
				f.write('0x00000000\t__vma_exclude_readers_for_detach\tvmlinux\t'
					'EXPORT_SYMBOL_FOR_MODULES\t\n')
		return d

	def flags(self, tree, without=None):
		args = ['make', '-s', '-f', os.path.join(self.tmp.name, 'show.mk'), 'show',
			f"KBUILD_FILE={os.path.join(TOP, 'Kbuild')}", f'srctree={tree}',
			f'objtree={tree}', 'CONFIG_PER_VMA_LOCK=y']
		if without is not None:
			args.append(f'VT_WITHOUT={without}')
		p = subprocess.run(args, capture_output=True, text=True, check=True)
		return dict(f[len('-D'):].split('=', 1) for f in p.stdout.split()
			    if f.startswith('-DVT_'))

	def test_patched_7x_tree(self):
		got = self.flags(self.tree('new', NEW_H, trace=True, export=True))
		self.assertEqual(got, {f'VT_HAVE_{n}': '1' for n in ALL})

	def test_unpatched_tree(self):
		# The same API, without patches 0001 and 0003.
		got = self.flags(self.tree('new', NEW_H))
		self.assertEqual(got['VT_HAVE_VMA_LOCK_TRACE'], '0')
		self.assertEqual(got['VT_HAVE_DETACH_EXPORT'], '0')
		self.assertEqual(got['VT_HAVE_WRITE_KILLABLE'], '1')
		self.assertEqual(got['VT_HAVE_IS_WRITE_LOCKED_VMA_ONLY'], '1')

	def test_older_api(self):
		got = self.flags(self.tree('old', OLD_H, trace=True, export=True))
		self.assertEqual(got['VT_HAVE_WRITE_KILLABLE'], '0')
		self.assertEqual(got['VT_HAVE_LOCK_NEXT_VMA'], '0')
		self.assertEqual(got['VT_HAVE_IS_WRITE_LOCKED_VMA_ONLY'], '0')
		self.assertEqual(got['VT_HAVE_DETACH_EXPORT'], '1')

	def test_without(self):
		tree = self.tree('new', NEW_H, trace=True, export=True)
		got = self.flags(tree, 'detach_export vma_lock_trace')
		self.assertEqual(got['VT_HAVE_DETACH_EXPORT'], '0')
		self.assertEqual(got['VT_WITHOUT_DETACH_EXPORT'], '1')
		self.assertEqual(got['VT_HAVE_VMA_LOCK_TRACE'], '0')
		self.assertEqual(got['VT_WITHOUT_VMA_LOCK_TRACE'], '1')
		self.assertEqual(got['VT_HAVE_WRITE_KILLABLE'], '1')
		self.assertNotIn('VT_WITHOUT_WRITE_KILLABLE', got)
		self.assertEqual(self.flags(tree, ''), self.flags(tree))

	def test_without_unknown(self):
		tree = self.tree('new', NEW_H)
		with self.assertRaises(subprocess.CalledProcessError) as e:
			self.flags(tree, 'detach_export tracepoints')
		self.assertIn("VT_WITHOUT: unknown 'tracepoints'; allowed: detach_export", e.exception.stderr)


if __name__ == '__main__':
	unittest.main()
