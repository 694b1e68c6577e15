# SPDX-License-Identifier: GPL-2.0
#
# Tests of Documentation/vmalock-test.rst, the protocol reference that the
# code's "invariant N" and "RN" comments point to: it must be valid
# reStructuredText, hold invariants 1..14 and bugs R1..R12 once each and in
# order, and name every invariant the module reports (VT_INV() in vmalock_names.h) and
# every broken variant (VT_BROKEN() in vmalock_names.h). Each check is also run on a
# damaged copy of the document, where it must find the damage.

import glob
import io
import os
import sys
import re
import unittest

TOP = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..')
DOC = os.path.join(TOP, 'Documentation', 'vmalock-test.rst')

N_INVARIANTS = 14
N_BUGS = 12

try:
	import docutils.core
	import docutils.utils
	HAVE_DOCUTILS = True
except ImportError:
	HAVE_DOCUTILS = False


def top_sources():
	"""The module's C sources and headers at the top of the repository."""
	return sorted(glob.glob(os.path.join(TOP, '*.c')) +
		      glob.glob(os.path.join(TOP, '*.h')))


def defined_names(pattern, name_rx, what):
	"""Names in every definition matching @pattern in the sources.

	While the module is being split into several files, two of them may
	hold a definition for a while: every name in any of them counts."""
	names, files = [], []
	for path in top_sources():
		with open(path, encoding='utf-8') as f:
			for m in re.finditer(pattern, f.read(), re.S):
				files.append(os.path.basename(path))
				names += [n for n in re.findall(name_rx, m.group(1)) if n not in names]
	if not files:
		raise AssertionError('%s: no definition in any *.c or *.h of %s' % (what, TOP))
	if not names:
		raise AssertionError('%s in %s holds no names' % (what, ', '.join(files)))
	return names


def inv_names():
	"""The names under which the module reports invariants."""
	return defined_names(r'(?m)^(VT_INV\([^\n]*)$', r'^VT_INV\(\w+,\s*"([a-z_]+)"\)',
			     'VT_INV() lines')


def broken_names():
	"""The broken variants, from the one list in vmalock_names.h."""
	sys.path.insert(0, os.path.join(TOP, 'scripts'))
	from vmalock import names
	return list(names.load(os.path.join(TOP, 'vmalock_names.h'))[1])


def read_doc():
	with open(DOC, encoding='utf-8') as f:
		return f.read()


# Section checks, on the text -------------------------------------------

ADORNMENT = re.compile(r'^([=\-~^"\'`#*+:.])\1{2,}$')


def bad_underlines(text):
	"""Titles whose underline is shorter than the title (docutils rejects it)."""
	lines = text.split('\n')
	bad = []
	for i in range(1, len(lines)):
		title = lines[i - 1].rstrip()
		if (ADORNMENT.match(lines[i].rstrip()) and title.strip() and
		    not ADORNMENT.match(title) and not title.startswith(' ') and
		    len(lines[i].rstrip()) < len(title)):
			bad.append('line %d: underline shorter than "%s"' % (i + 1, title))
	return bad


def titles(text):
	"""Section titles: a text line followed by an adornment line."""
	lines = text.split('\n')
	return [lines[i - 1].strip() for i in range(1, len(lines))
		if ADORNMENT.match(lines[i].rstrip()) and lines[i - 1].strip() and
		not ADORNMENT.match(lines[i - 1].strip())]


def numbering_problems(text, prefix, count):
	"""Headings "<prefix>N: ..." must be 1..count, once each, in order."""
	rx = re.compile(r'^%s(\d+): \S' % re.escape(prefix))
	seen = [int(m.group(1)) for m in map(rx.match, titles(text)) if m]
	want = list(range(1, count + 1))
	if seen == want:
		return []
	return ['headings "%sN:" are %s, expected %s' % (prefix, seen, want)]


def missing_names(text, names):
	"""Names that do not appear in the text as ``name``."""
	return [n for n in names if '``%s``' % n not in text]


def rst_problems(text):
	"""docutils' warnings and errors on @text (level WARNING and up)."""
	stream = io.StringIO()
	docutils.core.publish_doctree(text, source_path=DOC, settings_overrides={
		'report_level': docutils.utils.Reporter.WARNING_LEVEL,
		'halt_level': docutils.utils.Reporter.SEVERE_LEVEL + 1,
		'warning_stream': stream,
		'file_insertion_enabled': False,
		'raw_enabled': False,
	})
	return [l for l in stream.getvalue().splitlines() if l.strip()]


# The tests ---------------------------------------------------------------

class ProtocolDocument(unittest.TestCase):
	"""Documentation/vmalock-test.rst is whole and in step with the code."""

	@classmethod
	def setUpClass(cls):
		cls.text = read_doc()

	def test_underlines(self):
		self.assertEqual(bad_underlines(self.text), [])

	def test_invariants_numbered(self):
		self.assertEqual(numbering_problems(self.text, 'Invariant ', N_INVARIANTS), [])

	def test_bugs_numbered(self):
		self.assertEqual(numbering_problems(self.text, 'R', N_BUGS), [])

	def test_every_reported_invariant_named(self):
		names = inv_names()
		self.assertIn('rw_exclusion', names)	# the parser found the real list
		self.assertEqual(missing_names(self.text, names), [],
				 'invariant names the module reports but the document does not explain')

	def test_every_broken_variant_named(self):
		names = broken_names()
		self.assertIn('detach_no_wait', names)
		self.assertEqual(missing_names(self.text, names), [],
				 'broken variants the document does not place under a bug')

	def test_catches_name_reported_invariants(self):
		"""VT_CATCHES()' invariants are names the module can report."""
		sys.path.insert(0, os.path.join(TOP, 'scripts'))
		from vmalock import names
		want = names.load_catches(os.path.join(TOP, 'vmalock_names.h'))
		used = {i for per in want.values() for invs in per.values() for i in invs}
		self.assertIn('lock_order', used)
		self.assertEqual(sorted(used - set(inv_names())), [],
				 'VT_CATCHES() names invariants VT_INV() does not have')

	@unittest.skipUnless(HAVE_DOCUTILS, 'docutils not installed (Debian: python3-docutils)')
	def test_valid_rst(self):
		self.assertEqual(rst_problems(self.text), [])


class ChecksCanFail(unittest.TestCase):
	"""Each check above finds the damage in a broken copy of the document."""

	@classmethod
	def setUpClass(cls):
		cls.text = read_doc()

	def test_short_underline_found(self):
		broken = self.text.replace('Invariant 3: readers and writers exclude each other\n'
					   '---------------------------------------------------',
					   'Invariant 3: readers and writers exclude each other\n'
					   '-----------', 1)
		self.assertNotEqual(broken, self.text)
		self.assertNotEqual(bad_underlines(broken), [])

	def test_missing_invariant_found(self):
		broken = self.text.replace('Invariant 7: readers never wait',
					   'Readers never wait', 1)
		self.assertNotEqual(broken, self.text)
		self.assertNotEqual(numbering_problems(broken, 'Invariant ', N_INVARIANTS), [])

	def test_renumbered_bug_found(self):
		broken = self.text.replace('R11: mmap_lock taken', 'R13: mmap_lock taken', 1)
		self.assertNotEqual(broken, self.text)
		self.assertNotEqual(numbering_problems(broken, 'R', N_BUGS), [])

	def test_missing_name_found(self):
		broken = self.text.replace('``refcount_state``', 'refcount_state')
		self.assertEqual(missing_names(broken, inv_names()), ['refcount_state'])

	def test_missing_variant_found(self):
		broken = self.text.replace('``reader_no_mm_check``', 'reader_no_mm_check')
		self.assertEqual(missing_names(broken, broken_names()), ['reader_no_mm_check'])

	@unittest.skipUnless(HAVE_DOCUTILS, 'docutils not installed (Debian: python3-docutils)')
	def test_invalid_rst_found(self):
		broken = self.text.replace('.. list-table:: vm_refcnt values (Linux 7.3)',
					   '.. list-tabel:: vm_refcnt values (Linux 7.3)', 1)
		self.assertNotEqual(broken, self.text)
		self.assertNotEqual(rst_problems(broken), [])


if __name__ == '__main__':
	unittest.main()
