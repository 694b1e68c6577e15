# SPDX-License-Identifier: GPL-2.0
#
# Every host script with every bad input: a bad option or value, and KDIR
# missing, not a kernel, too old, or a tree the patches do not apply to.
# Each must end with exactly one line on stderr that says what is wrong
# (and what is allowed) and exit status 2, having written nothing to the
# cache, the results directory or the kernel tree, and having started
# nothing expensive: stand-ins for apt-get, make, QEMU, gcc, flock and the
# like come first on PATH and record any call.
#
# The cases are the table CASES below: script, arguments, environment, and
# what the one line must say. {name} in any of them is a fake tree or path
# made in setUpClass (see TREES), or {first_patch}/{last_patch}, the first
# and the last of patches/*.patch. No network, no build: the whole file runs
# in seconds.

import hashlib
import os
import re
import shlex
import shutil
import signal
import stat
import subprocess
import tempfile
import unittest

TOP = os.path.realpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), '..'))
SCRIPTS = os.path.join(TOP, 'scripts')
PATCHES = sorted(p for p in os.listdir(os.path.join(TOP, 'patches')) if p.endswith('.patch'))

# Scripts that take --out: every case runs them with --out {out} first (a
# directory that must not appear), so that a refusal that came too late
# cannot write into the repository's results/.
TAKES_OUT = ('vmalock-run.sh', 'test.sh', 'bench.sh', 'lava-job.sh', 'soak.sh')

CASES = [
	# script, arguments, environment, what the line says
	('vmalock-run.sh', '--frob', {}, "unknown option '--frob'; allowed: --variant --scenarios"),
	('vmalock-run.sh', '-x', {}, "unknown option '-x'"),
	('vmalock-run.sh', '--variant', {}, '--variant needs a value'),
	('vmalock-run.sh', '--variant nope', {}, "unknown variant 'nope'; allowed: debug kcsan perf"),
	('vmalock-run.sh', '--variant base', {}, "unknown variant 'base'"),
	('vmalock-run.sh', '--scenarios nope', {}, "unknown scenario 'nope'; allowed: all "),
	('vmalock-run.sh', "--scenarios 'reuse;reboot'", {}, '--scenarios takes all or a comma-separated'),
	('vmalock-run.sh', '--broken nope', {}, "unknown broken variant 'nope'; allowed: all none "),
	('vmalock-run.sh', "--broken ''", {}, '--broken needs a value'),
	('vmalock-run.sh', '--smp x', {}, "--smp needs a number, got 'x' (allowed: 1..8)"),
	('vmalock-run.sh', '--smp -1', {}, "--smp needs a number, got '-1'"),
	('vmalock-run.sh', '--smp 0', {}, '--smp must be 1..8, got 0'),
	('vmalock-run.sh', '--smp 9', {}, '--smp must be 1..8, got 9'),
	('vmalock-run.sh', '--smp 1.5', {}, "--smp needs a number, got '1.5'"),
	('vmalock-run.sh', '--smp 99999999999999999999', {}, '--smp must be 1..8'),
	('vmalock-run.sh', '--smp --no-user', {}, '--smp needs a value'),
	('vmalock-run.sh', "--duration-ms ''", {}, '--duration-ms needs a value'),
	('vmalock-run.sh', '--duration-ms soon', {}, '--duration-ms needs a number'),
	('vmalock-run.sh', '--duration-ms 0', {}, '--duration-ms must be 10..600000, got 0'),
	('vmalock-run.sh', '--duration-ms 9', {}, '--duration-ms must be 10..600000'),
	('vmalock-run.sh', '--duration-ms 600001', {}, '--duration-ms must be 10..600000'),
	('vmalock-run.sh', '--duration-ms 1e3', {}, '--duration-ms needs a number'),
	('vmalock-run.sh', '--duration-ms 18446744073709551617', {}, '--duration-ms must be 10..600000'),
	('vmalock-run.sh', '--boot-timeout 0', {}, '--boot-timeout must be 1..86400'),
	('vmalock-run.sh', '--boot-timeout -30', {}, '--boot-timeout needs a number'),
	('vmalock-run.sh', '--boot-timeout 86401', {}, '--boot-timeout must be 1..86400'),
	('vmalock-run.sh', '--boot-timeout', {}, '--boot-timeout needs a value'),
	('vmalock-run.sh', '--accel hvf', {}, '--accel must be auto, tcg or kvm'),
	('vmalock-run.sh', "--params 'readers=$(reboot)'", {}, "--params takes 'key=value ...'"),
	('vmalock-run.sh', '--params', {}, '--params needs a value'),
	('vmalock-run.sh', '--bench repeats=0', {}, '--bench repeats must be 1..100'),
	('vmalock-run.sh', '--bench repeats=x', {}, '--bench repeats needs a number'),
	('vmalock-run.sh', '--bench ms=5', {}, '--bench ms must be 10..60000'),
	('vmalock-run.sh', '--bench items=7', {}, '--bench items must be all or'),
	('vmalock-run.sh', '--bench foo=1', {}, "--bench: unknown key 'foo'; allowed: repeats ms"),
	('vmalock-run.sh', "--bench 'repeats=1;ms=20'", {}, '--bench takes key=value,...'),
	('vmalock-run.sh', '--images {missing}', {}, 'no bzImage and initramfs.cpio there'),
	('vmalock-run.sh', '--recheck {missing}', {}, '--recheck {missing}: not a directory'),
	('vmalock-run.sh', '--recheck', {}, '--recheck needs a value'),
	('vmalock-run.sh', '--out {file}', {}, '--out {file}: exists and is not a directory'),
	('vmalock-run.sh', '--no-real --no-kunit --no-user', {}, 'nothing to run'),
	('vmalock-run.sh', '--soak', {}, '--soak needs a value'),
	('vmalock-run.sh', '--soak 1d', {}, "--soak takes a duration: N, Ns, Nm or Nh (10s..24h), got '1d'"),
	('vmalock-run.sh', '--soak 9', {}, "--soak must be 10s..24h, got '9'"),
	('vmalock-run.sh', '--soak 25h', {}, "--soak must be 10s..24h, got '25h'"),
	('vmalock-run.sh', '--soak -5m', {}, "--soak takes a duration: N, Ns, Nm or Nh (10s..24h), got '-5m'"),
	('vmalock-run.sh', '--soak-ms 9', {}, '--soak-ms must be 10..600000, got 9'),
	('vmalock-run.sh', '--control-secs 0', {}, '--control-secs must be 1..3600, got 0'),
	('vmalock-run.sh', '--control-secs x', {}, "--control-secs needs a number, got 'x'"),
	('vmalock-run.sh', '--leak-cycles 10001', {}, '--leak-cycles must be 1..10000'),
	('soak.sh', '--frob', {}, "unknown option '--frob'; allowed: --duration --variant --smp"),
	('soak.sh', '--duration', {}, '--duration needs a value'),
	('soak.sh', '--duration 3d', {}, "--duration takes N, Ns, Nm or Nh (10s..24h), got '3d'"),
	('soak.sh', '--duration 5s', {}, "--duration must be 10s..24h, got '5s'"),
	('soak.sh', '--smp 0', {}, '--smp must be 1..8, got 0'),
	('soak.sh', '--variant base', {}, "unknown variant 'base'"),
	('vmalock-run.sh', '', {'KDIR': '{missing}'}, 'not a kernel source tree (no such directory)'),
	('vmalock-run.sh', '', {'KDIR': '{notkernel}'}, 'not a kernel source tree (no Makefile'),
	('vmalock-run.sh', '', {'KDIR': '{old}'}, 'no vma->vm_refcnt'),
	('vmalock-run.sh', '', {'KDIR': '{names71}'}, 'no VM_REFCNT_EXCLUDE_READERS_FLAG'),
	('vmalock-run.sh', '', {'KDIR': '{noperlock}'}, 'no CONFIG_PER_VMA_LOCK'),
	('vmalock-run.sh', '', {'KDIR': '{nopatch}'}, '{first_patch} does not apply to {nopatch}: '
	 '{first_file} hunk #1 FAILED'),
	('vmalock-run.sh', '', {'KDIR': '{late}'}, '{last_patch} does not apply'),
	('vmalock-run.sh', '', {'KBUILD': '{good}'}, 'is not a build directory of build-kernel.sh'),

	('test.sh', '--frob', {}, "unknown option '--frob'"),
	('test.sh', '--smp 0', {}, '--smp must be 1..8'),
	('test.sh', '--broken nope', {}, "unknown broken variant 'nope'"),
	('test.sh', '', {'KDIR': '{missing}'}, 'not a kernel source tree'),
	('test.sh', '', {'KDIR': '{old}'}, 'no vma->vm_refcnt'),
	('test.sh', '', {'KDIR': '{nopatch}'}, '{first_patch} does not apply'),
	('test.sh', '--generations', {'KVER': '7.3'}, '--generations picks each kernel by KVER'),
	('test.sh', '--generations --smp 0', {}, '--smp must be 1..8'),

	('build-kernel.sh', '', {}, 'usage: build-kernel.sh VARIANT (one of: debug kcsan perf)'),
	('build-kernel.sh', 'debug perf', {}, 'usage: build-kernel.sh VARIANT'),
	('build-kernel.sh', 'nope', {}, "unknown variant 'nope'; allowed: debug kcsan perf"),
	('build-kernel.sh', 'base', {}, "unknown variant 'base'"),
	('build-kernel.sh', "''", {}, "unknown variant ''"),
	('build-kernel.sh', 'debug', {'JOBS': 'x'}, "JOBS needs a number, got 'x'"),
	('build-kernel.sh', 'debug', {'JOBS': '0'}, 'JOBS must be 1..1024'),
	('build-kernel.sh', 'debug', {'JOBS': '99999999999999999999'}, 'JOBS must be 1..1024'),
	('build-kernel.sh', 'debug', {'KDIR': '{missing}'}, 'not a kernel source tree (no such directory)'),
	('build-kernel.sh', 'debug', {'KDIR': '{notkernel}'}, 'not a kernel source tree'),
	('build-kernel.sh', 'debug', {'KDIR': '{old}'}, 'no vma->vm_refcnt'),
	('build-kernel.sh', 'debug', {'KDIR': '{names71}'}, 'no VM_REFCNT_EXCLUDE_READERS_FLAG'),
	('build-kernel.sh', 'debug', {'KDIR': '{nopatch}'}, '{first_patch} does not apply to {nopatch}: '
	 '{first_file} hunk #1 FAILED'),
	('build-kernel.sh', 'debug', {'KDIR': '{late}'}, '{last_patch} does not apply'),

	('patch-kernel.sh', '', {}, 'usage: patch-kernel.sh [--check] [--skip-optional] KDIR'),
	('patch-kernel.sh', '--frob {good}', {}, 'usage: patch-kernel.sh [--check] [--skip-optional] KDIR'),
	('patch-kernel.sh', '--check', {}, 'usage: patch-kernel.sh [--check] [--skip-optional] KDIR'),
	('patch-kernel.sh', '{missing}', {}, '{missing}: not a kernel source tree (no such directory)'),
	('patch-kernel.sh', '{notkernel}', {}, '{notkernel}: not a kernel source tree (no mm/)'),
	('patch-kernel.sh', '{nopatch}', {}, '{first_patch} does not apply to {nopatch}: '
	 '{first_file} hunk #1 FAILED at '),
	('patch-kernel.sh', '--check {nopatch}', {}, '{first_patch} does not apply'),
	# The first patch applies, a later one does not: the first is not applied either.
	('patch-kernel.sh', '{late}', {}, '{last_patch} does not apply to {late}: {late_file} hunk #'),

	('check-tree.sh', '', {}, 'usage: check-tree.sh KDIR'),
	('check-tree.sh', '{good} {good}', {}, 'usage: check-tree.sh KDIR'),
	('check-tree.sh', '{missing}', {}, 'not a kernel source tree (no such directory)'),
	('check-tree.sh', '{notkernel}', {}, 'not a kernel source tree (no Makefile'),
	('check-tree.sh', '{old}', {}, 'no vma->vm_refcnt: this tree predates'),
	('check-tree.sh', '{names71}', {}, 'no VM_REFCNT_EXCLUDE_READERS_FLAG'),
	('check-tree.sh', '{noperlock}', {}, 'no CONFIG_PER_VMA_LOCK'),

	('get-kernel.sh', '--frob', {}, "takes no arguments, got '--frob'"),
	('get-kernel.sh', '', {'KVER': 'abc'}, "KVER must be X.Y, 6.15 or later"),
	('get-kernel.sh', '', {'KVER': '6.1'}, "KVER must be X.Y, 6.15 or later (the vm_refcnt design), got '6.1'"),
	('get-kernel.sh', '', {'KVER': '7.3.4'}, 'KVER must be X.Y'),
	('get-kernel.sh', '', {'KVER': '99999999999999999999.1'}, 'KVER must be X.Y'),

	('bench.sh', '--frob', {}, "unknown option '--frob'; allowed: --compare --ab"),
	('bench.sh', '--repeats', {}, '--repeats needs a value'),
	('bench.sh', '--repeats x', {}, '--repeats needs a number'),
	('bench.sh', '--repeats 0', {}, '--repeats must be 1..100'),
	('bench.sh', '--repeats 101', {}, '--repeats must be 1..100'),
	('bench.sh', '--repeats 99999999999999999999', {}, '--repeats must be 1..100'),
	('bench.sh', '--ms 9', {}, '--ms must be 10..60000'),
	('bench.sh', '--readers 65', {}, '--readers must be 0..64'),
	('bench.sh', '--readers -1', {}, '--readers needs a number'),
	('bench.sh', '--rounds 0', {}, '--rounds must be 1..20'),
	('bench.sh', '--smp 9', {}, '--smp must be 1..8'),
	('bench.sh', '--items 7', {}, '--items must be all or a list of 1..6'),
	('bench.sh', '--accel xen', {}, '--accel must be auto, tcg or kvm'),
	('bench.sh', '--variant base', {}, "unknown variant 'base'"),
	('bench.sh', '--compare only-one', {}, '--compare needs A.json B.json'),
	('bench.sh', '--compare {missing} {missing}', {}, "--compare: cannot read '{missing}'"),
	('bench.sh', '--ab {missing} {good}', {}, 'not a kernel source tree'),
	('bench.sh', '--ab {good} {old}', {}, 'no vma->vm_refcnt'),
	('bench.sh', '--ab {good} {nopatch}', {}, '{first_patch} does not apply'),
	('bench.sh', '--ab-builds {good} {good}', {}, 'is not a build directory of build-kernel.sh'),
	('bench.sh', '--out {file}', {}, 'exists and is not a directory'),
	('bench.sh', '', {'KDIR': '{old}'}, 'no vma->vm_refcnt'),
	('bench.sh', '', {'KDIR': '{nopatch}'}, '{first_patch} does not apply'),

	('lkmm.sh', '--frob', {}, "unknown option '--frob' (allowed: --record, --help)"),
	# Without KDIR: refused before the kernel tree or herd7 is fetched.
	('lkmm.sh', 'no-such-test', {}, "no test 'no-such-test' in lkmm/; allowed: "),
	('lkmm.sh', '', {'KDIR': '{missing}'}, 'is not a kernel tree'),
	('lkmm.sh', '', {'KDIR': '{notkernel}'}, 'is not a kernel tree'),
	('lkmm.sh', '', {'KDIR': '{old}'}, 'no vma->vm_refcnt'),
	('lkmm.sh', '', {'KDIR': '{good}', 'HERD7': '{missing}/herd7'}, 'herd7: no such command'),

	('lava-job.sh', '--frob', {}, "unknown option '--frob'; allowed: --out --kbuild"),
	('lava-job.sh', '--variant nope', {}, "unknown variant 'nope'"),
	('lava-job.sh', '--smp two', {}, '--smp needs a number'),
	('lava-job.sh', '--smp 0', {}, '--smp must be 1..8'),
	('lava-job.sh', '--duration-ms 5', {}, '--duration-ms must be 10..600000'),
	('lava-job.sh', '--duration-ms 99999999999999999999', {}, '--duration-ms must be 10..600000'),
	('lava-job.sh', '--runs bogus', {}, "unknown run 'bogus'; allowed: real lifecycle control kunit user soak"),
	('lava-job.sh', '--runs none', {}, 'nothing to run'),
	('lava-job.sh', '--broken nope', {}, "unknown broken variant 'nope'"),
	('lava-job.sh', '--scenarios nope', {}, "unknown scenario 'nope'"),
	('lava-job.sh', '--params x', {}, "--params takes 'key=value ...'"),
	('lava-job.sh', '--url-base ftp://host/x', {}, '--url-base must be a file://'),
	('lava-job.sh', '--kernel-url x', {}, "--kernel-url must be a file://, http(s):// or scp:// URL"),
	('lava-job.sh', '--initramfs-url x', {}, '--initramfs-url must be a file://'),
	('lava-job.sh', '--kbuild {missing}', {}, 'no arch/x86/boot/bzImage there'),
	('lava-job.sh', '--validate-only {missing}', {}, "--validate-only: cannot read job file"),
	('lava-job.sh', '--compare {file}', {}, '--compare needs --run'),
	('lava-job.sh', '--run --compare {missing}', {}, "cannot read --compare file"),
	('lava-job.sh', '--out', {}, '--out needs a value'),
	('lava-job.sh', '', {'KDIR': '{missing}'}, 'not a kernel source tree'),
	('lava-job.sh', '', {'KDIR': '{old}'}, 'no vma->vm_refcnt'),
	('lava-job.sh', '', {'KDIR': '{nopatch}'}, '{first_patch} does not apply'),

	('mutants.sh', '--frob', {}, "unknown option '--frob'; allowed: --repeat N, --list, --help, or mutant names: "),
	('mutants.sh', '--repeat 0 no_mm_check', {}, '--repeat must be 1..10, got 0'),
	('mutants.sh', '--repeat', {}, '--repeat needs a value'),
	('mutants.sh', 'no_mm_check --repeat 2', {}, '--repeat comes first, before the names'),
	('mutants.sh', 'no_such_mutant', {}, "unknown mutant 'no_such_mutant'; allowed: "),
	('mutants.sh', '--list no_mm_check', {}, '--list takes no names'),
	('mutants.sh', '', {'KDIR': '{old}'}, 'no vma->vm_refcnt'),
	('mutants.sh', 'no_mm_check', {'KDIR': '{nopatch}'}, '{first_patch} does not apply'),

	('kunit.sh', '', {'VARIANT': 'nope'}, "unknown variant 'nope'"),
	('kunit.sh', '', {'VARIANT': 'base'}, "unknown variant 'base'"),
	('kunit.sh', '', {'KDIR': '{missing}'}, 'not a kernel source tree'),
	('kunit.sh', '', {'KDIR': '{old}'}, 'no vma->vm_refcnt'),
	('kunit.sh', '', {'KDIR': '{nopatch}'}, '{first_patch} does not apply'),
	('kunit.sh', '--frob', {'KDIR': '{good}'}, 'unrecognized arguments: --frob'),
	('kunit.sh', '--timeout abc', {'KDIR': '{good}'}, '--timeout needs a number'),
	('kunit.sh', '--timeout=0', {'KDIR': '{good}'}, '--timeout must be 1..86400'),

	('deps.sh', '--frob', {}, "unknown option '--frob'; allowed: --lava --lava-dispatcher"),
	('deps.sh', '--lava=yes', {}, "unknown option '--lava=yes'"),

	('get-sparse.sh', '--frob', {}, "takes no arguments, got '--frob'"),

	('build-selftests.sh', '', {}, 'usage: build-selftests.sh KSRC OUTDIR'),
	('build-selftests.sh', '{good}', {}, 'usage: build-selftests.sh KSRC OUTDIR'),
	('build-selftests.sh', '{missing} {missing}/out', {}, 'no tools/testing/selftests/lib.mk: not a kernel source tree'),
	('build-selftests.sh', '{notkernel} {missing}/out', {}, 'no tools/testing/selftests/lib.mk'),
]

# What a fake kernel tree holds: just what check-tree.sh looks at, the
# files the patches touch (as the patches expect to find them), the memory
# model's config, and a kunit.py that parses its options and stops.
CHECKED = {
	'Makefile': 'VERSION = 7\nPATCHLEVEL = 3\nkernelversion:\n\t@echo 7.3.0\n',
	'mm/Kconfig': 'config PER_VMA_LOCK\n\tdef_bool y\n',
	'arch/x86/Kconfig': '\tselect ARCH_SUPPORTS_PER_VMA_LOCK\n',
	'include/linux/mm_types.h': '\trefcount_t vm_refcnt;\n'
				    '#define VM_REFCNT_EXCLUDE_READERS_FLAG (1U << 30)\n',
	'mm/mmap_lock.c': 'struct vm_area_struct *lock_vma_under_rcu(void);\n',
	'tools/memory-model/linux-kernel.cfg': '',
	'tools/testing/kunit/kunit.py': '''import argparse
import sys
ap = argparse.ArgumentParser(prog='kunit.py')
run = ap.add_subparsers(dest='cmd').add_parser('run')
for o in ('--arch', '--build_dir', '--kunitconfig', '--qemu_args', '--filter'):
	run.add_argument(o)
for o in ('--jobs', '--timeout'):
	run.add_argument(o, type=int)
run.add_argument('--list-opts', action='store_true')
run.add_argument('filter_glob', nargs='?')
a = ap.parse_args()
sys.exit(0 if a.list_opts else 1)
''',
}

# The guard: a stand-in for each command a refusal must come before.
GUARDED = ('apt-get', 'apt-cache', 'dpkg-deb', 'qemu-system-x86_64', 'gcc', 'flock',
	   'lava-run', 'cpio', 'busybox', 'tar', 'herd7', 'unshare')
STAND_IN = '#!/bin/sh\necho "$(basename "$0") $*" >> "$GUARD_LOG"\nexit 1\n'
# make: check-tree.sh asks the tree for its version, nothing more.
MAKE = '''#!/bin/sh
case " $* " in *" kernelversion "*) exec /usr/bin/make "$@" ;; esac
echo "make $*" >> "$GUARD_LOG"
exit 1
'''


def patch_parts():
	"""(patch name, file, [hunks' before-lines]) for every file each patch
	changes, in order; files the patches create are left out."""
	parts = []
	for name in PATCHES:
		with open(os.path.join(TOP, 'patches', name)) as f:
			text = f.read()
		for part in text.split('\n--- a/')[1:]:
			path = part.split('\n', 1)[0].split('\t')[0].strip()
			body = part[part.index('\n@@'):].split('\n')[1:]
			before = [l[1:] for l in body if l.startswith((' ', '-'))]
			parts.append((name, path, before))
	return parts


def write(path, text, mode=0o644):
	os.makedirs(os.path.dirname(path), exist_ok=True)
	with open(path, 'w') as f:
		f.write(text)
	os.chmod(path, mode)


def good_tree(root):
	"""A tree check-tree.sh accepts and the patches apply to: each file a
	patch changes holds every patch's expected text, one after the other,
	then what check-tree.sh looks for."""
	files = {}
	for _, path, before in patch_parts():
		files[path] = files.get(path, '') + '\n'.join(before) + '\n/* -- */\n'
	for path, text in CHECKED.items():
		files[path] = files.get(path, '') + text
	for path, text in files.items():
		write(os.path.join(root, path), text)


def snapshot(root):
	"""Everything under root: path -> (kind, content hash or link target)."""
	if not os.path.lexists(root):
		return None
	seen = {}
	for d, dirs, files in os.walk(root):
		for n in dirs + files:
			p = os.path.join(d, n)
			st = os.lstat(p)
			if stat.S_ISLNK(st.st_mode):
				seen[os.path.relpath(p, root)] = ('link', os.readlink(p))
			elif stat.S_ISDIR(st.st_mode):
				seen[os.path.relpath(p, root)] = ('dir', None)
			else:
				with open(p, 'rb') as f:
					seen[os.path.relpath(p, root)] = (
						'file', stat.S_IMODE(st.st_mode), hashlib.sha1(f.read()).hexdigest())
	return seen


class BadInput(unittest.TestCase):
	"""One test per row of CASES (the methods are made from the table)."""

	@classmethod
	def setUpClass(cls):
		cls.tmp = tempfile.mkdtemp()
		t = cls.tmp
		cls.paths = {
			'missing': os.path.join(t, 'missing'),
			'file': os.path.join(t, 'a-file'),
			'out': os.path.join(t, 'out'),
			'notkernel': os.path.join(t, 'notkernel'),
			'good': os.path.join(t, 'good'),
			'old': os.path.join(t, 'old'),
			'names71': os.path.join(t, 'names71'),
			'noperlock': os.path.join(t, 'noperlock'),
			'nopatch': os.path.join(t, 'nopatch'),
			'late': os.path.join(t, 'late'),
			'first_patch': PATCHES[0],
			'last_patch': PATCHES[-1],
		}
		p = cls.paths
		write(p['file'], 'not a directory\n')
		write(os.path.join(p['notkernel'], 'README'), 'a tree, but not a kernel\n')
		for name in ('good', 'old', 'names71', 'noperlock', 'nopatch', 'late'):
			good_tree(p[name])
		with open(os.path.join(p['old'], 'include/linux/mm_types.h'), 'w') as f:
			f.write('\tstruct vma_lock *vm_lock;\n')
		with open(os.path.join(p['names71'], 'include/linux/mm_types.h'), 'w') as f:
			f.write('\trefcount_t vm_refcnt;\n#define VMA_LOCK_OFFSET 0x40000000\n')
		kconfig = os.path.join(p['noperlock'], 'mm/Kconfig')
		with open(kconfig) as f:
			text = f.read().replace(CHECKED['mm/Kconfig'], 'config MMU\n\tdef_bool y\n')
		with open(kconfig, 'w') as f:
			f.write(text)
		# nopatch: the first file of the first patch is not what it expects.
		parts = patch_parts()
		p['first_file'] = parts[0][1]
		with open(os.path.join(p['nopatch'], p['first_file']), 'w') as f:
			f.write('nothing like the kernel\n' + CHECKED.get(p['first_file'], ''))
		# late: the last patch's own file (one no earlier patch touches) is not.
		earlier = {path for name, path, _ in parts if name != PATCHES[-1]}
		late = [path for name, path, _ in parts if name == PATCHES[-1] and path not in earlier]
		cls.late_ok = len(PATCHES) > 1 and bool(late)
		p['late_file'] = late[-1] if late else ''
		if cls.late_ok:
			with open(os.path.join(p['late'], p['late_file']), 'w') as f:
				f.write('nothing like the kernel\n' + CHECKED.get(p['late_file'], ''))
		cls.trees = {n: snapshot(p[n]) for n in
			     ('notkernel', 'good', 'old', 'names71', 'noperlock', 'nopatch', 'late')}
		# The guard on PATH.
		cls.guard = os.path.join(t, 'guard')
		for cmd in GUARDED:
			write(os.path.join(cls.guard, cmd), STAND_IN, 0o755)
		write(os.path.join(cls.guard, 'make'), MAKE, 0o755)
		cls.results = os.path.join(TOP, 'results')

	@classmethod
	def tearDownClass(cls):
		shutil.rmtree(cls.tmp)

	def fill(self, text):
		return text.format(**self.paths)

	def run_case(self, script, args, env, says):
		# A case that failed may have left --out behind: not the next one's doing.
		if os.path.lexists(self.paths['out']):
			shutil.rmtree(self.paths['out'], ignore_errors=True)
		cache = tempfile.mkdtemp(dir=self.tmp)
		shutil.rmtree(cache)		# made by whoever writes to it
		log = os.path.join(self.tmp, 'guard.log')
		if os.path.exists(log):
			os.remove(log)
		argv = [os.path.join(SCRIPTS, script)]
		if script in TAKES_OUT:
			argv += ['--out', self.paths['out']]
		argv += shlex.split(self.fill(args))
		e = dict(os.environ)
		for k in ('KDIR', 'KBUILD', 'KVER', 'JOBS', 'VARIANT', 'HERD7'):
			e.pop(k, None)
		e.update({k: self.fill(v) for k, v in env.items()})
		e.update(CACHE=cache, GUARD_LOG=log, PATH=self.guard + os.pathsep + e['PATH'])
		results = set(os.listdir(self.results)) if os.path.isdir(self.results) else set()
		p = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
				     stdin=subprocess.DEVNULL, text=True, env=e,
				     cwd=self.tmp, start_new_session=True)
		try:
			out, err = p.communicate(timeout=30)
		except subprocess.TimeoutExpired:
			os.killpg(p.pid, signal.SIGKILL)
			out, err = p.communicate()
			self.fail(f'{script} {args}: still running after 30 s: {err[-500:]}')
		what = f'{script} {self.fill(args)} {env}: stdout {out!r} stderr {err!r}'
		self.assertEqual(p.returncode, 2, what)
		self.assertEqual(len(err.splitlines()), 1, what)
		self.assertIn(self.fill(says), err, what)
		self.assertRegex(err, r'^[a-z-]+: ', what)	# the script's (or its helper's) name
		# Nothing expensive started, nothing written.
		if os.path.exists(log):
			with open(log) as f:
				self.fail(f'{what}: ran {f.read()!r}')
		self.assertFalse(os.path.lexists(cache), f'{what}: wrote {snapshot(cache)}')
		self.assertFalse(os.path.lexists(self.paths['out']), f'{what}: made --out')
		now = set(os.listdir(self.results)) if os.path.isdir(self.results) else set()
		self.assertEqual(now - results, set(), f'{what}: wrote results/')
		for name, before in self.trees.items():
			self.assertEqual(snapshot(self.paths[name]), before, f'{what}: changed tree {name}')

	def test_trees_are_what_they_say(self):
		"""The fake trees fail for the reason their cases say, and only that."""
		def rc(*argv):
			return subprocess.run(argv, capture_output=True, text=True).returncode
		p = self.paths
		check_tree = os.path.join(SCRIPTS, 'check-tree.sh')
		patch_kernel = os.path.join(SCRIPTS, 'patch-kernel.sh')
		for name in ('good', 'nopatch', 'late'):
			self.assertEqual(rc(check_tree, p[name]), 0, name)
		for name in ('good', 'old', 'names71', 'noperlock'):
			self.assertEqual(rc(patch_kernel, '--check', p[name]), 0, name)
		if self.late_ok:
			first = os.path.join(TOP, 'patches', PATCHES[0])
			self.assertEqual(rc('patch', '-d', p['late'], '-p1', '--dry-run', '-s',
					    '-i', first), 0)
		else:
			self.skipTest('one patch, or the last touches no file of its own')

	def test_patch_applies_to_a_copy_of_good(self):
		"""The patches really apply to the good tree (so nopatch and late
		fail where they say), once, and a second run changes nothing."""
		tree = os.path.join(self.tmp, 'copy')
		shutil.copytree(self.paths['good'], tree)
		self.addCleanup(shutil.rmtree, tree)
		script = os.path.join(SCRIPTS, 'patch-kernel.sh')
		r = subprocess.run([script, tree], capture_output=True, text=True)
		self.assertEqual(r.returncode, 0, r.stderr)
		self.assertEqual(r.stdout.count('applied '), len(PATCHES), r.stdout)
		once = snapshot(tree)
		r = subprocess.run([script, tree], capture_output=True, text=True)
		self.assertEqual(r.returncode, 0, r.stderr)
		self.assertEqual(snapshot(tree), once)


def _slug(text):
	return re.sub(r'[^a-z0-9]+', '_', text.lower()).strip('_')[:40] or 'none'


def _make(case):
	def test(self):
		if '{late}' in (case[1] + ''.join(case[2].values())) and not self.late_ok:
			self.skipTest('needs two patches, the last touching a file of its own')
		self.run_case(*case)
	test.__doc__ = f'{case[0]} {case[1]} {case[2] or ""}'.strip()
	return test


for _i, _case in enumerate(CASES):
	_name = 'test_%03d_%s_%s' % (_i, _slug(_case[0].replace('.sh', '')),
				     _slug(_case[1] + ' ' + ' '.join(f'{k}={v}' for k, v in _case[2].items())))
	setattr(BadInput, _name, _make(_case))


if __name__ == '__main__':
	unittest.main()
