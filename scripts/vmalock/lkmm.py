# SPDX-License-Identifier: GPL-2.0
#
# The work of scripts/lkmm.sh once herd7 and the kernel tree are known: read
# the litmus tests in lkmm/, check their headers, run each through herd7
# with the tree's memory model, compare the result with the header's, and
# check that the kernel functions a test models still exist unchanged.
#
# Header lines (in the leading (* ... *) comment of each test):
#   Result: Never|Sometimes     what herd7 must answer
#   Twin-of: NAME               a broken (or mended) twin of test NAME
#   Written-for: Linux X.Y.Z    the tree the Models hashes were taken from
#   Models: PATH FUNCTION HASH  a kernel function or macro the test models;
#                               HASH is sha256 (first 16 hex digits) of its
#                               text with whitespace runs made one space,
#                               as the project's patches (patches/) make
#                               it: the text a test kernel is built from,
#                               whether or not the tree in hand has been
#                               patched yet (patched_source())
# Every test that is not a twin must have a twin: a test that cannot fail
# proves nothing.

import argparse
import hashlib
import os
import re
import shlex
import subprocess
import sys
import tempfile
import time

from vmalock import TOP

LITMUS_DIR = os.path.join(TOP, 'lkmm')
PATCHES_DIR = os.path.join(TOP, 'patches')
RESULTS = ('Always', 'Sometimes', 'Never')
HERD_TIMEOUT = 300

OBS_RE = re.compile(r'^Observation\s+(\S+)\s+(Always|Sometimes|Never)\s+'
		    r'(\d+)\s+(\d+)\s*$', re.M)


def parse_herd(out, name):
	"""Return (result, error) from herd7's output for test name.

	herd7 prints one "Observation NAME Always|Sometimes|Never POS NEG"
	line per test (7.58; the format is old and stable). Anything else, or
	a line for another test, is an error, never a guess."""
	obs = OBS_RE.findall(out)
	if len(obs) != 1:
		return None, ('no Observation line in herd7 output' if not obs
			      else '%d Observation lines in herd7 output' % len(obs))
	test, result, pos, neg = obs[0]
	if test != name:
		return None, 'herd7 answered for test %s, not %s' % (test, name)
	pos, neg = int(pos), int(neg)
	if (result == 'Never') != (pos == 0) or (result == 'Always') != (neg == 0):
		return None, 'herd7 result %s contradicts its counts %d/%d' % (
			result, pos, neg)
	return result, None


def herd_flags(out):
	"""Flags herd7 raised (e.g. data-race), which the tests must not."""
	return re.findall(r'^Flag\s+(\S+)', out, re.M)


def parse_header(text):
	"""The test's name and header fields; raises ValueError if malformed."""
	m = re.match(r'\s*C\s+(\S+)\s*\n\s*\(\*(.*?)\*\)', text, re.S)
	if not m:
		raise ValueError('no "C NAME" line followed by a (* header *)')
	hdr = {'name': m.group(1), 'models': []}
	for line in m.group(2).splitlines():
		f = re.match(r'\s*\*\s+(Result|Twin-of|Written-for|Models):\s*(.*?)\s*$',
			     line)
		if not f:
			continue
		key, val = f.groups()
		if key == 'Models':
			parts = val.split()
			if len(parts) not in (2, 3):
				raise ValueError('bad Models line: %s' % val)
			hdr['models'].append((parts[0], parts[1],
					      parts[2] if len(parts) == 3 else None))
		else:
			hdr[key] = val
	if hdr.get('Result') not in ('Never', 'Sometimes'):
		raise ValueError('Result must be Never or Sometimes')
	if 'Twin-of' not in hdr:
		if not hdr['models']:
			raise ValueError('no Models lines')
		if not re.match(r'Linux \d+\.\d+\S*$', hdr.get('Written-for', '')):
			raise ValueError('no Written-for: Linux X.Y.Z line')
	return hdr


def _decl_start(lines, i):
	"""Back up over the lines of a declaration that precede line i (a
	return type on its own line)."""
	while i > 0:
		prev = lines[i - 1].rstrip()
		if (not prev or prev.endswith((';', '}', '{', '*/', '\\', ','))
		    or prev.lstrip().startswith(('#', '*', '/*', '//'))):
			break
		i -= 1
	return i


def extract(src, func):
	"""The text of the first definition of function or macro func in src
	(None if there is none): a #define with its continuation lines, or a
	function from its declaration to its closing brace."""
	lines = src.splitlines()
	name = re.escape(func)
	define = re.compile(r'^#\s*define\s+%s\(' % name)
	head = re.compile(r'^(?:[A-Za-z_].*[\s*])?%s\(' % name)
	for i, line in enumerate(lines):
		if define.match(line):
			j = i
			while lines[j].rstrip().endswith('\\') and j + 1 < len(lines):
				j += 1
			return '\n'.join(lines[i:j + 1])
		if not head.match(line):
			continue
		# A definition has its { before any ; (a prototype has a ;).
		j = i
		while j < len(lines):
			rest = lines[j] if j > i else line[line.index(func):]
			semi, brace = rest.find(';'), rest.find('{')
			if brace >= 0 and (semi < 0 or brace < semi):
				break
			if semi >= 0:
				j = None
				break
			j += 1
		if j is None or j >= len(lines):
			continue
		# The body ends where its braces balance (comments in these
		# functions hold no braces).
		depth, k = 0, j
		while k < len(lines):
			depth += lines[k].count('{') - lines[k].count('}')
			if depth <= 0 and '{' in ''.join(lines[j:k + 1]):
				break
			k += 1
		if k == len(lines):
			return None
		return '\n'.join(lines[_decl_start(lines, i):k + 1])
	return None


def text_hash(text):
	norm = re.sub(r'\s+', ' ', text).strip()
	return hashlib.sha256(norm.encode()).hexdigest()[:16]


def file_diffs(patch):
	"""{path: its diff} of the files a patch (its text) changes."""
	lines = patch.splitlines(True)
	starts = [i - 1 for i, line in enumerate(lines)
		  if line.startswith('+++ b/') and i and lines[i - 1].startswith('--- ')]
	diffs = {}
	for n, i in enumerate(starts):
		end = starts[n + 1] if n + 1 < len(starts) else len(lines)
		for j in range(i + 2, end):
			if lines[j].startswith('diff ') or lines[j] == '-- \n':
				end = j
				break
		path = lines[i + 1][len('+++ b/'):].split('\t')[0].rstrip('\n')
		diffs[path] = ''.join(lines[i:end])
	return diffs


def _patch(tree, diff, *flags):
	# No fuzz: a hunk whose context differs means the text differs.
	return subprocess.run(['patch', '-d', tree, '-p1', '-s', '-f', '-F0',
			       '--no-backup-if-mismatch', '-r', '-', *flags], input=diff,
			      capture_output=True, text=True).returncode == 0


_patched = {}


def patched_source(kdir, path, patches_dir=PATCHES_DIR):
	"""The text of kdir/path as the project's patches make it, or None if
	the tree has no such file. Each patch's diff of the file, in order, is
	applied to a scratch copy unless the copy has it already (it reverses);
	a diff that does neither means the tree's text differs from the one the
	patches were made for: the text is left as it is there (and its hashes
	will differ)."""
	key = (os.path.abspath(kdir), path, patches_dir)
	if key in _patched:
		return _patched[key]
	try:
		with open(os.path.join(kdir, path), errors='replace') as f:
			src = f.read()
	except OSError:
		return None
	names = sorted(n for n in os.listdir(patches_dir) if n.endswith('.patch')) \
		if os.path.isdir(patches_dir) else []
	with tempfile.TemporaryDirectory() as tmp:
		copy = os.path.join(tmp, path)
		os.makedirs(os.path.dirname(copy), exist_ok=True)
		with open(copy, 'w') as f:
			f.write(src)
		for n in names:
			with open(os.path.join(patches_dir, n)) as f:
				diff = file_diffs(f.read()).get(path)
			if diff is None or _patch(tmp, diff, '-R', '--dry-run'):
				continue
			if not _patch(tmp, diff):
				break
		with open(copy, errors='replace') as f:
			src = f.read()
	_patched[key] = src
	return src


def func_hash(kdir, path, func):
	"""(hash, error) of function func in kdir/path, as patched."""
	src = patched_source(kdir, path)
	if src is None:
		return None, '%s is not in the tree' % path
	text = extract(src, func)
	if text is None:
		return None, '%s %s() is not in the tree' % (path, func)
	return text_hash(text), None


def kernel_version(kdir):
	v = {}
	try:
		with open(os.path.join(kdir, 'Makefile')) as f:
			for line in f:
				m = re.match(r'(VERSION|PATCHLEVEL|SUBLEVEL)\s*=\s*(\d+)', line)
				if m:
					v[m.group(1)] = m.group(2)
				if len(v) == 3:
					break
	except OSError:
		pass
	if len(v) < 2:
		return 'unknown'
	return '.'.join([v['VERSION'], v['PATCHLEVEL']] +
			([v['SUBLEVEL']] if 'SUBLEVEL' in v else []))


def load_tests(names, litmus_dir=LITMUS_DIR):
	"""[(path, text, header or None, error or None)] for the tests asked
	for (all in lkmm/ if none)."""
	if names:
		paths = []
		for n in names:
			n = os.path.basename(n)
			if not n.endswith('.litmus'):
				n += '.litmus'
			paths.append(os.path.join(litmus_dir, n))
	else:
		paths = [os.path.join(litmus_dir, f)
			 for f in os.listdir(litmus_dir) if f.endswith('.litmus')]
	tests = []
	for p in paths:
		try:
			with open(p) as f:
				text = f.read()
		except OSError as e:
			tests.append((p, None, None, 'cannot read: %s' % e.strerror))
			continue
		try:
			hdr = parse_header(text)
		except ValueError as e:
			tests.append((p, text, None, 'bad header: %s' % e))
			continue
		stem = os.path.basename(p)[:-len('.litmus')]
		if hdr['name'] != stem:
			tests.append((p, text, None, 'test name %s differs from its file name'
				      % hdr['name']))
			continue
		tests.append((p, text, hdr, None))
	if not names:
		# Each test, then its twins.
		tests.sort(key=lambda t: (t[2]['Twin-of'], t[0]) if t[2] and
			   'Twin-of' in t[2] else (t[2]['name'] if t[2] else t[0], ''))
	return tests


def record(kdir, names, litmus_dir=LITMUS_DIR):
	"""Rewrite each test's Models hashes and Written-for from the tree."""
	ver = kernel_version(kdir)
	bad = 0
	for path, text, hdr, err in load_tests(names, litmus_dir):
		if err or 'Twin-of' in hdr:
			if err:
				print('lkmm: %s: %s' % (os.path.basename(path), err))
				bad += 1
			continue

		def sub(m):
			nonlocal bad
			h, e = func_hash(kdir, m.group(2), m.group(3))
			if e:
				print('lkmm: %s: %s' % (hdr['name'], e))
				bad += 1
				return m.group(0)
			return '%s%s %s %s' % (m.group(1), m.group(2), m.group(3), h)
		text = re.sub(r'^( \* Models: )(\S+) (\S+)(?: \S+)?$', sub, text,
			      flags=re.M)
		text = re.sub(r'^( \* Written-for: ).*$', r'\g<1>Linux ' + ver, text,
			      count=1, flags=re.M)
		with open(path, 'w') as f:
			f.write(text)
		print('lkmm: %s: recorded %d functions of Linux %s' %
		      (hdr['name'], len(hdr['models']), ver))
	return 1 if bad else 0


def run_herd(herd, mm_dir, path):
	"""(output, error) of herd7 on one test."""
	cmd = shlex.split(herd) + ['-conf', 'linux-kernel.cfg', path]
	try:
		p = subprocess.run(cmd, cwd=mm_dir, capture_output=True, text=True,
				   timeout=HERD_TIMEOUT)
	except subprocess.TimeoutExpired:
		return None, 'herd7 took more than %d s' % HERD_TIMEOUT
	except OSError as e:
		return None, 'cannot run herd7: %s' % e.strerror
	if p.returncode != 0:
		msg = (p.stderr.strip() or p.stdout.strip()).splitlines()
		return None, 'herd7 exited %d: %s' % (p.returncode,
						      msg[0] if msg else '')
	return p.stdout, None


def herd_version(herd):
	try:
		p = subprocess.run(shlex.split(herd) + ['-version'],
				   capture_output=True, text=True, timeout=60)
		return (p.stdout.split() or ['?'])[0].rstrip(',')
	except (OSError, subprocess.SubprocessError):
		return '?'


def run(kdir, herd, names, litmus_dir=LITMUS_DIR):
	mm_dir = os.path.join(kdir, 'tools', 'memory-model')
	print('lkmm: herd7 %s, memory model of %s (Linux %s)' %
	      (herd_version(herd), kdir, kernel_version(kdir)))
	tests = load_tests(names, litmus_dir)
	known = {h['name'] for _, _, h, _ in tests if h}
	twins = {h['Twin-of'] for _, _, h, _ in tests if h and 'Twin-of' in h}
	passed = failed = 0
	for path, _, hdr, err in tests:
		name = hdr['name'] if hdr else os.path.basename(path)
		notes = []
		if not err and hdr:
			if 'Twin-of' in hdr:
				if not names and hdr['Twin-of'] not in known:
					err = 'twin of %s, which is not in lkmm/' % hdr['Twin-of']
			elif not names and name not in twins:
				err = 'has no twin (a test that cannot fail proves nothing)'
			for fpath, func, want in hdr['models']:
				h, e = func_hash(kdir, fpath, func)
				if e:
					err = err or 'models %s' % e
				elif want is None:
					err = err or ('no hash recorded for %s %s() '
						      '(run lkmm.sh --record)' % (fpath, func))
				elif h != want:
					print('lkmm: warning: %s: %s %s() changed since %s '
					      '(the model needs another look)' %
					      (name, fpath, func, hdr['Written-for']))
		t0 = time.monotonic()
		result = None
		if not err:
			out, err = run_herd(herd, mm_dir, path)
			if out is not None:
				result, err = parse_herd(out, name)
				notes = herd_flags(out)
		dt = time.monotonic() - t0
		if not err and result != hdr['Result']:
			err = '%s, expected %s' % (result, hdr['Result'])
		if not err and notes:
			err = 'herd7 flags %s' % ', '.join(notes)
		if err:
			failed += 1
			print('lkmm: FAIL %-30s %s (%.2fs)' % (name, err, dt))
		else:
			passed += 1
			print('lkmm: PASS %-30s %s as expected%s (%.2fs)' % (
				name, result,
				', twin of ' + hdr['Twin-of'] if 'Twin-of' in hdr else '',
				dt))
	print('lkmm: %d passed, %d failed' % (passed, failed))
	return 1 if failed or not passed else 0


def main():
	ap = argparse.ArgumentParser(description=__doc__)
	ap.add_argument('--kdir', required=True)
	ap.add_argument('--herd')
	ap.add_argument('--record', action='store_true')
	ap.add_argument('--dir', default=LITMUS_DIR, help='the litmus tests')
	ap.add_argument('tests', nargs='*')
	a = ap.parse_args()
	for n in a.tests:
		n = os.path.basename(n)
		n = n if n.endswith('.litmus') else n + '.litmus'
		if not os.path.isfile(os.path.join(a.dir, n)):
			print("lkmm: no test '%s' in %s" % (n[:-len('.litmus')], a.dir),
			      file=sys.stderr)
			return 2
	if a.record:
		return record(a.kdir, a.tests, a.dir)
	if not a.herd:
		ap.error('--herd is required to run the tests')
	return run(a.kdir, a.herd, a.tests, a.dir)


if __name__ == '__main__':
	sys.exit(main())
