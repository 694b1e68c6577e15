# SPDX-License-Identifier: GPL-2.0
#
# Tests of the pipeline scripts that need no kernel build: argument checking,
# the kernel tree check, config checking and patch application.

import glob
import os
import shutil
import subprocess
import tempfile
import unittest

import test_shadow_tree as shadow_tree

TOP = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..')
SCRIPTS = os.path.join(TOP, 'scripts')


def run(*args, **kw):
	return subprocess.run(args, capture_output=True, text=True, **kw)


class RunArguments(unittest.TestCase):
	"""vmalock-run.sh refuses bad arguments before doing any work."""

	def refused(self, *args, says):
		r = run(os.path.join(SCRIPTS, 'vmalock-run.sh'), *args,
			'--out', tempfile.mkdtemp())
		self.assertEqual(r.returncode, 2, r.stderr)
		self.assertIn(says, r.stderr)

	def test_unknown_option(self):
		self.refused('--frobnicate', says="unknown option '--frobnicate'")

	def test_bad_accel(self):
		self.refused('--accel', 'hvf', says='--accel must be auto, tcg or kvm')

	def test_unknown_variant(self):
		self.refused('--variant', 'nope', says="unknown variant 'nope'; allowed: debug kcsan perf")

	def test_base_is_not_a_variant(self):
		self.refused('--variant', 'base', says="unknown variant 'base'")

	def test_unknown_broken(self):
		self.refused('--broken', 'bogus', says="unknown broken variant 'bogus'")

	def test_duration_range(self):
		self.refused('--duration-ms', '5', says='--duration-ms must be 10..600000')

	def test_duration_number(self):
		self.refused('--duration-ms', 'soon', says='--duration-ms needs a number')

	def test_smp_range(self):
		self.refused('--smp', '0', says='--smp must be 1..8')

	def test_params_shape(self):
		self.refused('--params', 'readers=$(reboot)', says="--params takes 'key=value ...'")


class PackageCommands(unittest.TestCase):
	"""scripts/vmalock-py runs a command of scripts/vmalock/ from anywhere,
	with nothing on PYTHONPATH, and refuses a name that is not one."""

	def run_py(self, *args):
		env = {k: v for k, v in os.environ.items() if k != 'PYTHONPATH'}
		return run(os.path.join(SCRIPTS, 'vmalock-py'), *args, env=env, cwd=tempfile.gettempdir())

	def test_command(self):
		r = self.run_py('names', os.path.join(TOP, 'vmalock_names.h'), 'broken')
		self.assertEqual(r.returncode, 0, r.stderr)
		self.assertIn('reader_no_seqcheck', r.stdout.split())

	def test_no_such_command(self):
		for name in ('', 'nosuch', '../vmalock-run', '__init__'):
			r = self.run_py(name)
			self.assertEqual(r.returncode, 2, (name, r.stderr))
			self.assertIn('vmalock-py: no command', r.stderr)

	def test_no_python_outside_the_package(self):
		"""The commands live in the package: no .py left beside it."""
		self.assertEqual(glob.glob(os.path.join(SCRIPTS, '*.py')), [])


class TreeCheck(unittest.TestCase):
	"""check-tree.sh refuses trees without the vm_refcnt per-VMA lock (status 2)."""

	def setUp(self):
		self.tree = tempfile.mkdtemp()
		self.addCleanup(shutil.rmtree, self.tree)
		for d in ('mm', 'include/linux', 'arch/x86'):
			os.makedirs(os.path.join(self.tree, d))
		self.write('Makefile', 'VERSION = 7\nPATCHLEVEL = 3\nkernelversion:\n\t@echo 7.3.0\n')
		self.write('mm/Kconfig', 'config PER_VMA_LOCK\n\tdef_bool y\n')
		self.write('arch/x86/Kconfig', '\tselect ARCH_SUPPORTS_PER_VMA_LOCK\n')
		self.write('include/linux/mm_types.h', '\trefcount_t vm_refcnt;\n'
			   '#define VM_REFCNT_EXCLUDE_READERS_FLAG (1U << 30)\n')
		self.write('mm/mmap_lock.c', 'struct vm_area_struct *lock_vma_under_rcu(void);\n')

	def write(self, name, text):
		with open(os.path.join(self.tree, name), 'w') as f:
			f.write(text)

	def check(self):
		return run(os.path.join(SCRIPTS, 'check-tree.sh'), self.tree)

	def test_good_tree(self):
		r = self.check()
		self.assertEqual(r.returncode, 0, r.stderr)

	def test_pre_refcount_tree(self):
		self.write('include/linux/mm_types.h', '\tstruct vma_lock *vm_lock;\n')
		r = self.check()
		self.assertEqual(r.returncode, 2)
		self.assertIn('no vma->vm_refcnt', r.stderr)

	def test_pre_7_2_names(self):
		self.write('include/linux/mm_types.h', '\trefcount_t vm_refcnt;\n'
			   '#define VMA_LOCK_OFFSET 0x40000000\n')
		r = self.check()
		self.assertEqual(r.returncode, 2)
		self.assertIn('VM_REFCNT_EXCLUDE_READERS_FLAG', r.stderr)

	def test_no_per_vma_lock(self):
		self.write('mm/Kconfig', 'config MMU\n')
		r = self.check()
		self.assertEqual(r.returncode, 2)
		self.assertIn('no CONFIG_PER_VMA_LOCK', r.stderr)

	def test_not_a_tree(self):
		r = run(os.path.join(SCRIPTS, 'check-tree.sh'), '/nonexistent')
		self.assertEqual(r.returncode, 2)
		self.assertIn('not a kernel source tree', r.stderr)


class ConfigCheck(unittest.TestCase):
	"""check-config.sh names every requested option that did not survive."""

	def files(self, config, *frags):
		d = tempfile.mkdtemp()
		self.addCleanup(shutil.rmtree, d)
		paths = []
		for i, text in enumerate((config,) + frags):
			p = os.path.join(d, f'f{i}')
			with open(p, 'w') as f:
				f.write(text)
			paths.append(p)
		return run(os.path.join(SCRIPTS, 'check-config.sh'), *paths)

	def test_all_present(self):
		r = self.files('CONFIG_A=y\nCONFIG_B=8\n', 'CONFIG_A=y\n# CONFIG_C is not set\n',
			       'CONFIG_B=8\n')
		self.assertEqual(r.returncode, 0, r.stderr)

	def test_dropped_option(self):
		r = self.files('CONFIG_A=y\n', 'CONFIG_A=y\nCONFIG_KASAN=y\n')
		self.assertEqual(r.returncode, 1)
		self.assertIn('CONFIG_KASAN requested y, got n', r.stderr)

	def test_later_fragment_wins(self):
		r = self.files('CONFIG_KASAN=y\n', 'CONFIG_KASAN=y\n', 'CONFIG_KASAN=n\n')
		self.assertEqual(r.returncode, 1)
		self.assertIn('CONFIG_KASAN requested n, got y', r.stderr)


class PatchKernel(unittest.TestCase):
	"""patch-kernel.sh applies once, then skips; a mismatch names the file."""

	def setUp(self):
		self.tree = tempfile.mkdtemp()
		self.addCleanup(shutil.rmtree, self.tree)
		os.makedirs(os.path.join(self.tree, 'mm'))

	def patch(self):
		return run(os.path.join(SCRIPTS, 'patch-kernel.sh'), self.tree)

	def pre_images(self):
		"""Write each patched file as the patches expect to find it
		(test_shadow_tree.pre_images(): every hunk's pre-image, in patch
		order, so that a later patch's hunks are found even where they
		overlap an earlier one's)."""
		shadow_tree.pre_images(self.tree)

	def test_idempotent(self):
		self.pre_images()
		r = self.patch()
		self.assertEqual(r.returncode, 0, r.stderr)
		self.assertIn('applied', r.stdout)
		r = self.patch()
		self.assertEqual(r.returncode, 0, r.stderr)
		self.assertNotIn('patch-kernel: applied', r.stdout)
		self.assertIn('already applied', r.stdout)

	def test_links_kunit_suite(self):
		self.pre_images()
		self.assertEqual(self.patch().returncode, 0)
		link = os.path.join(self.tree, 'mm', 'tests', 'vmalock_kunit.c')
		self.assertEqual(os.path.realpath(link),
				 os.path.realpath(os.path.join(TOP, 'kunit', 'vmalock_kunit.c')))
		self.assertTrue(os.path.exists(os.path.join(self.tree, 'mm', 'tests',
							    'vmalock_monitor.h')))

	def test_changed_patch_replaces_applied_one(self):
		"""A patch edited since it was applied is reversed, the new one applied."""
		self.pre_images()
		top = tempfile.mkdtemp()
		self.addCleanup(shutil.rmtree, top)
		for d in ('scripts', 'patches', 'kunit'):
			shutil.copytree(os.path.join(TOP, d), os.path.join(top, d))
		shutil.copy(os.path.join(TOP, 'vmalock_monitor.h'), top)
		script = os.path.join(top, 'scripts', 'patch-kernel.sh')
		self.assertEqual(run(script, self.tree).returncode, 0)
		name = sorted(glob.glob('*.patch', root_dir=os.path.join(top, 'patches')))[-1]
		path = os.path.join(top, 'patches', name)
		with open(path) as f:
			text = f.read()
		added = [l for l in text.split('\n') if l.startswith('+') and not l.startswith('+++')]
		with open(path, 'w') as f:
			f.write(text.replace(added[0], added[0] + ' /* edited */', 1))
		r = run(script, self.tree)
		self.assertEqual(r.returncode, 0, r.stderr)
		self.assertIn('reversed ' + name, r.stdout)
		self.assertIn('applied ' + name, r.stdout)
		r = run(script, self.tree)
		self.assertIn(name + ' already applied', r.stdout)

	def test_mismatch_names_file(self):
		with open(os.path.join(self.tree, 'mm', 'mmap_lock.c'), 'w') as f:
			f.write('nothing like the kernel\n')
		r = self.patch()
		self.assertEqual(r.returncode, 2)
		self.assertIn('does not apply', r.stderr)
		self.assertIn('mm/mmap_lock.c', r.stderr)


if __name__ == '__main__':
	unittest.main()
