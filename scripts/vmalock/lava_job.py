# SPDX-License-Identifier: GPL-2.0
#
# LAVA job definitions for vmalock-test, and their validation with LAVA's
# own job-submission schema (lava_common.schemas, Debian's lava-common: the
# check a LAVA server applies when a job is submitted).
#
# usage: vmalock-py lava_job generate --kernel-url URL --initramfs-url URL --out FILE
#                                    [--runs LIST] [--broken LIST] [--scenarios LIST]
#                                    [--params "K=V ..."] [--duration-ms N] [--smp N]
#                                    [--kvm] [--job-name TEXT] [--kernel-version V]
#        vmalock-py lava_job check [the options of generate; none required]
#        vmalock-py lava_job validate FILE...
#        vmalock-py lava_job splat-ere          (vmalock.splats' shapes as EREs)
#
# generate writes the job (validated first) and exits 0; bad options exit 2.
# check only checks the options as generate would (one line and exit 2 if
# one is bad), without lava_common and without writing anything.
# validate prints "valid: FILE" or "invalid: FILE: why" per file and a
# final "N passed, N failed"; exits 1 if any is invalid, 2 if lava_common
# is missing.
#
# The job: deploy (to tmpfs) the kernel and an initramfs that carries
# /init (scripts/guest/init), /vmalock-lava-test (scripts/guest/lava-test),
# the modules and the user-space stressor; LAVA adds its test overlay to the
# initramfs (overlays: lava). Boot it in QEMU with vt.lava=1, so /init gives
# LAVA a shell, and run one inline test definition per run: real,
# lifecycle, kunit, user, then splats (the kernel log of that boot). Each
# broken variant gets a boot and a test definition of its own, as in
# scripts/vmalock-run.sh. Results: test suites vmalock-<run>, one test case
# per scenario, check or KUnit case.

import argparse
import copy
import os
import re
import sys

from vmalock import TOP
from vmalock import names  # the one reader of vmalock_names.h
from vmalock import runs as runs_table  # scripts/runs.table
from vmalock import splats
# The runs a job may ask for, in the order a job runs them; the default set
# (scripts/runs.table, column lava). control and soak run with the guest's
# defaults: 20 s of control loops; a soak of 60 s, at least one loop.
RUN_ROWS = runs_table.load()
RUNS = tuple(r['run'] for r in RUN_ROWS if r['lava'] in ('default', 'yes'))
DEFAULT_RUNS = tuple(r['run'] for r in RUN_ROWS if r['lava'] == 'default' and r['boot'] != 'lava')
GUEST_VARS = {'control_secs': 20, 'user_secs': 15, 'soak_secs': 60, 'soak_s': 3}
URL_RE = re.compile(r'(file|https?|scp)://\S+$')
PROMPT = '/ # '


class UsageError(Exception):
	pass


def broken_variants(top=TOP):
	"""The broken variants, from vmalock_names.h (the module's own list)."""
	try:
		return list(names.load(os.path.join(top, 'vmalock_names.h'))[1])
	except (OSError, names.NamesError) as e:
		raise UsageError(f'vmalock_names.h: {e}')


def splat_ere():
	"""vmalock.splats' message shapes as POSIX extended regexps (one a
	line) for busybox grep -E in the guest."""
	out = []
	for _, rx in splats.PATTERNS:
		s = rx.pattern
		for a, b in (('(?:', '('), (r'\S', '[^[:space:]]'), (r'\s', '[[:space:]]'),
			     (r'\d', '[0-9]'), (r'\w', '[[:alnum:]_]'),
			     (r'\b', '([^[:alnum:]_]|$)')):
			s = s.replace(a, b)
		if '(?' in s or '\\' in s.replace('\\(', '').replace('\\)', '').replace('\\[', '').replace('\\]', '').replace('\\.', ''):
			raise ValueError(f'scan-splats pattern not convertible: {rx.pattern}')
		out.append(s)
	return out


def minutes(secs):
	return {'minutes': max(1, -(-int(secs) // 60))}


def testdef(run, steps, description):
	name = f'vmalock-{run}'
	return {
		'from': 'inline',
		'name': name,
		'path': f'inline/{name}.yaml',
		'repository': {
			'metadata': {
				'format': 'Lava-Test Test Definition 1.0',
				'name': name,
				'description': description,
				'os': ['oe'],
				'scope': ['functional'],
			},
			'run': {'steps': steps},
		},
	}


def make_job(kernel_url, initramfs_url, runs=DEFAULT_RUNS, broken=(), scenarios='all',
	     params='', duration_ms=3000, smp=2, kvm=False, job_name=None,
	     kernel_version=None, all_broken=None):
	for what, url in (('--kernel-url', kernel_url), ('--initramfs-url', initramfs_url)):
		if not URL_RE.match(url or ''):
			raise UsageError(f"{what} must be a file://, http(s):// or scp:// URL, got '{url}'")
	for r in runs:
		if r not in RUNS:
			raise UsageError(f"unknown run '{r}'; allowed: {' '.join(RUNS)}")
	all_broken = broken_variants() if all_broken is None else all_broken
	for b in broken:
		if b not in all_broken:
			raise UsageError(f"unknown broken variant '{b}'; allowed: all {' '.join(all_broken)}")
	if not runs and not broken:
		raise UsageError('nothing to run: no runs and no broken variants')
	if not re.fullmatch(r'all|[a-z_]+(,[a-z_]+)*', scenarios):
		raise UsageError('--scenarios takes all or a comma-separated list of names')
	if not re.fullmatch(r'([a-z_]+=[0-9]+( [a-z_]+=[0-9]+)*)?', params):
		raise UsageError("--params takes 'key=value ...' with numeric values")
	if not 10 <= duration_ms <= 600000:
		raise UsageError('--duration-ms must be 10..600000')
	if not 1 <= smp <= 8:
		raise UsageError('--smp must be 1..8')
	vt_params = ','.join([f'duration_ms={duration_ms}'] + params.split())
	scns, _ = names.load(os.path.join(TOP, 'vmalock_names.h'))
	try:
		names.scenario_runs(scns, {}, scenarios)
	except names.NamesError as e:
		raise UsageError(str(e))
	nscn = len(scns) if scenarios == 'all' else len(scenarios.split(','))
	# Bounds as in vmalock-run.sh (scripts/runs.table): TCG with KASAN is slow.
	var = dict(GUEST_VARS, duration_s=duration_ms / 1000)

	def secs_of(run):
		return runs_table.run_secs(runs_table.row(RUN_ROWS, run), nscn, var)
	boot_s = 300
	# loglevel 6 as in vmalock-run.sh; LAVA waits for the kernel's
	# "Linux version" (KERN_NOTICE) before the prompt.
	append = 'console=ttyS0 panic=-1 loglevel=6 vt.lava=1'
	if 'kunit' in runs:
		append += ' kunit.enable=1'
	# -no-reboot: with panic=-1 a kernel panic ends QEMU, and with it the
	# boot, at once (as in vmalock-run.sh), instead of rebooting into a
	# shell that waits out the test action's timeout.
	context = {'arch': 'x86_64', 'memory': 2048,
		   'extra_options': [f'-smp {smp}', '-no-reboot']}
	if kvm:
		context['extra_options'].append('-accel kvm')
	else:
		context['no_kvm'] = True
		context['extra_options'].append('-accel tcg,thread=multi')
	deploy = {'deploy': {
		'to': 'tmpfs',
		'timeout': {'minutes': 5},
		'images': {
			'kernel': {
				'url': kernel_url,
				'image_arg': f'-kernel {{kernel}} -append "{append}"',
			},
			'ramdisk': {
				'url': initramfs_url,
				'compression': 'gz',
				'format': 'cpio.newc',
				'overlays': {'lava': True},
				'image_arg': '-initrd {ramdisk}',
			},
		},
	}}
	boot = {'boot': {
		'method': 'qemu',
		'media': 'tmpfs',
		'timeout': minutes(boot_s),
		'prompts': [PROMPT],
	}}
	actions = [deploy]
	total = 300
	if runs:
		defs, secs = [], 0
		for r in runs:
			defs.append(testdef(r, [f'/vmalock-lava-test {r} {vt_params} {scenarios}'],
					    runs_table.row(RUN_ROWS, r)['what']))
			secs += secs_of(r)
		defs.append(testdef('splats', ['/vmalock-lava-test splats'],
				    runs_table.row(RUN_ROWS, 'splats')['what']))
		secs += secs_of('splats')
		actions += [copy.deepcopy(boot), {'test': {'timeout': minutes(secs), 'definitions': defs}}]
		total += boot_s + secs
	if broken and 'kunit' in runs:
		# The broken variants' boots run no KUnit suites, as in
		# vmalock-run.sh: the same images, without kunit.enable=1.
		actions.append(copy.deepcopy(deploy))
		img = actions[-1]['deploy']['images']['kernel']
		img['image_arg'] = img['image_arg'].replace(' kunit.enable=1', '')
		total += 300
	for b in broken:
		secs = secs_of(f'broken-{b}') + 60
		actions += [copy.deepcopy(boot), {'test': {'timeout': minutes(secs), 'definitions': [
			testdef(f'broken-{b}', [f'/vmalock-lava-test broken-{b} {vt_params} {scenarios}'],
				f'broken variant {b}: every scenario it targets must catch it')]}}]
		total += boot_s + secs
	name = job_name or 'vmalock-test' + (f' {kernel_version}' if kernel_version else '')
	metadata = {'vmalock.runs': ','.join(runs) or 'none',
		    'vmalock.broken': ','.join(broken) or 'none',
		    'vmalock.scenarios': scenarios, 'vmalock.params': vt_params}
	if kernel_version:
		metadata['kernel.version'] = kernel_version
	return {
		'device_type': 'qemu',
		'job_name': name[:200],
		'timeouts': {
			'job': minutes(total),
			'action': {'minutes': 10},
			'connection': {'minutes': 2},
			# The device type's default (10 s) is shorter than a
			# quiet scenario run.
			'connections': {'lava-test-shell': {'minutes': 10}},
		},
		'priority': 'medium',
		'visibility': 'public',
		'context': context,
		'metadata': metadata,
		'actions': actions,
	}


def validate_job(job):
	"""Raise ValueError with LAVA's message if the job is refused."""
	from lava_common.schemas import validate	# noqa: deferred: optional
	from voluptuous import Invalid
	try:
		validate(job, strict=True)
	except Invalid as e:
		raise ValueError(f'{e.msg} at {"/".join(str(p) for p in e.path)}') from None


def load_yaml(path):
	import yaml
	with open(path) as f:
		return yaml.safe_load(f)


def dump_yaml(job, path):
	import yaml
	text = yaml.safe_dump(job, sort_keys=False, default_flow_style=False, width=1000)
	with open(path, 'w') as f:
		f.write('# LAVA job written by vmalock-test scripts/lava-job.sh\n' + text)


def have_lava_common():
	try:
		import lava_common.schemas  # noqa: F401
		import yaml  # noqa: F401
		return True
	except ImportError:
		print('lava-job: lava_common is missing: run scripts/deps.sh --lava '
		      '(Debian package lava-common)', file=sys.stderr)
		return False


def csv(text):
	return [x for x in text.split(',') if x] if text not in ('', 'none') else []


def main(argv=None):
	ap = argparse.ArgumentParser(description='LAVA jobs for vmalock-test.')
	sub = ap.add_subparsers(dest='cmd', required=True)
	for cmd in ('generate', 'check'):
		g = sub.add_parser(cmd)
		need = cmd == 'generate'
		g.add_argument('--kernel-url', required=need, default='file:///check/bzImage')
		g.add_argument('--initramfs-url', required=need,
			       default='file:///check/initramfs.cpio.gz')
		g.add_argument('--out', required=need)
		g.add_argument('--runs', default=','.join(DEFAULT_RUNS))
		g.add_argument('--broken', default='none')
		g.add_argument('--scenarios', default='all')
		g.add_argument('--params', default='')
		g.add_argument('--duration-ms', type=int, default=3000)
		g.add_argument('--smp', type=int, default=2)
		g.add_argument('--kvm', action='store_true')
		g.add_argument('--job-name')
		g.add_argument('--kernel-version')
	v = sub.add_parser('validate')
	v.add_argument('files', nargs='+')
	sub.add_parser('splat-ere')
	sub.add_parser('broken-variants')
	args = ap.parse_args(argv)	# exits 2 on usage error

	if args.cmd == 'splat-ere':
		print('\n'.join(splat_ere()))
		return 0
	if args.cmd == 'broken-variants':
		print(' '.join(broken_variants()))
		return 0
	if args.cmd in ('generate', 'check'):
		try:
			all_broken = broken_variants()
			broken = all_broken if args.broken == 'all' else csv(args.broken)
			job = make_job(args.kernel_url, args.initramfs_url, csv(args.runs), broken,
				       args.scenarios, args.params, args.duration_ms, args.smp,
				       args.kvm, args.job_name, args.kernel_version, all_broken)
		except UsageError as e:
			print(f'lava-job: {e}', file=sys.stderr)
			return 2
		if args.cmd == 'check':
			return 0
	if not have_lava_common():
		return 2
	if args.cmd == 'generate':
		try:
			validate_job(job)
		except ValueError as e:
			print(f'lava-job: generated job refused by LAVA\'s schema: {e}', file=sys.stderr)
			return 1
		dump_yaml(job, args.out)
		return 0
	passed = failed = 0
	for path in args.files:
		try:
			validate_job(load_yaml(path))
			print(f'valid: {path}')
			passed += 1
		except Exception as e:	# unreadable, not YAML, refused: all invalid
			print(f'invalid: {path}: {e}')
			failed += 1
	print(f'{passed} passed, {failed} failed')
	return 1 if failed else 0


if __name__ == '__main__':
	sys.exit(main())
