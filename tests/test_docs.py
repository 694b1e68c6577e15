# SPDX-License-Identifier: GPL-2.0
#
# Tests of the documentation. Documentation/vmalock-test/protocol.rst, the
# protocol reference that the code's "invariant N" and "RN" comments point
# to, must hold invariants 1..14 and bugs R1..R12 once each and in order, and
# name every invariant the module reports (VT_INV() in vmalock_names.h) and every broken
# variant (VT_BROKEN() in vmalock_names.h). Every page of
# Documentation/vmalock-test/ must be valid reStructuredText with the SPDX
# header, be listed in index.rst's toctree, and name only pages that exist;
# scenarios.rst must name every scenario. The README must stay short, keep
# the two commands .ci/run and the lead rely on, point to pages that exist,
# and name only options the scripts take. Each check is also run on a
# damaged copy, where it must find the damage.

import glob
import io
import os
import re
import unittest

from vmalock import names

TOP = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..')
DOC_DIR = os.path.join(TOP, 'Documentation', 'vmalock-test')
DOC = os.path.join(DOC_DIR, 'protocol.rst')
README = os.path.join(TOP, 'README')

# The pages issue 19 asks for; more may be added (index.rst must list them).
PAGES = ('index', 'protocol', 'scenarios', 'running-by-hand', 'checks', 'lava', 'bench')
README_MAX_LINES = 200
# The two commands, as .ci/run and the lead read them.
README_COMMANDS = (
	'    scripts/vmalock-run.sh      # the main job: build, boot, run every scenario',
	'    scripts/test.sh             # the project\'s tests; ends "N passed, N failed"',
)
SPDX = '.. SPDX-License-Identifier: GPL-2.0'
# Documents outside the repository, which a reader of it cannot open.
OUTSIDE = re.compile(r'\bseed 0\d\d\b|\bshared/|PROTOCOL\.md|(?<![\w.])\.\./', re.I)

N_INVARIANTS = 14
N_BUGS = 12

try:
	import docutils.core
	import docutils.utils
	from docutils.parsers.rst import Directive, directives
	HAVE_DOCUTILS = True
except ImportError:
	HAVE_DOCUTILS = False


if HAVE_DOCUTILS:
	class TocTree(Directive):
		"""Sphinx's toctree, which plain docutils lacks: entries only."""
		has_content = True
		option_spec = {'maxdepth': directives.positive_int}

		def run(self):
			return []

	directives.register_directive('toctree', TocTree)


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
	return list(names.load(os.path.join(TOP, 'vmalock_names.h'))[1])


def scenario_names():
	"""The scenarios, from the one list in vmalock_names.h."""
	return [n for n, _ in names.load(os.path.join(TOP, 'vmalock_names.h'))[0]]


def read_doc():
	with open(DOC, encoding='utf-8') as f:
		return f.read()


def read(path):
	with open(path, encoding='utf-8') as f:
		return f.read()


def pages():
	"""{name: text} of every page in Documentation/vmalock-test/."""
	return {os.path.basename(p)[:-len('.rst')]: read(p)
		for p in sorted(glob.glob(os.path.join(DOC_DIR, '*.rst')))}


def usage(script):
	"""The usage text a script prints for --help (its Usage..Exit comment)."""
	text = read(os.path.join(TOP, 'scripts', script))
	m = re.search(r'^# Usage.*?^# Exit', text, re.S | re.M)
	if not m:
		raise AssertionError('%s: no "# Usage ... # Exit" comment' % script)
	return m.group(0)


# Checks across pages and the README ---------------------------------------

def toctree_entries(text):
	"""The entries of the toctree directives in @text."""
	out = []
	for m in re.finditer(r'^\.\. toctree::\n((?:[ \t]+.*\n|[ \t]*\n)*)', text, re.M):
		out += [l.strip() for l in m.group(1).splitlines()
			if l.strip() and not l.strip().startswith(':')]
	return out


def toc_problems(docs):
	"""index's toctree must list every other page, and only pages that exist."""
	if 'index' not in docs:
		return ['no index.rst']
	entries = toctree_entries(docs['index'])
	bad = ['toctree entry %s: no %s.rst' % (e, e) for e in entries if e not in docs]
	bad += ['%s.rst not in index.rst\'s toctree' % n for n in docs
		if n != 'index' and n not in entries]
	return bad


def header_problems(docs):
	"""Pages whose first line is not the SPDX header."""
	return ['%s.rst: first line is not "%s"' % (n, SPDX) for n, text in docs.items()
		if text.split('\n', 1)[0] != SPDX]


def page_refs(text):
	"""Page names cited as NAME.rst (kernel paths such as process_addrs.rst aside)."""
	return set(re.findall(r'(?<![\w/.-])([a-z][a-z-]*)\.rst\b', text))


def dangling_refs(text, docs):
	"""NAME.rst cited in @text with no such page."""
	return sorted(r for r in page_refs(text) if r not in docs)


def outside_refs(text):
	"""Lines citing a document outside the repository."""
	return [l.strip() for l in text.splitlines() if OUTSIDE.search(l)]


def readme_problems(text):
	"""The README's length and its two commands."""
	bad = []
	n = len(text.splitlines())
	if n > README_MAX_LINES:
		bad.append('README has %d lines, more than %d' % (n, README_MAX_LINES))
	lines = text.splitlines()
	bad += ['README lacks the line %r' % c for c in README_COMMANDS if c not in lines]
	return bad


def unknown_options(text, script, allowed):
	"""--options on lines that run @script which its usage does not name."""
	bad = []
	rx = re.compile(r'(?<![\w.-])%s\b' % re.escape(script))
	for line in text.splitlines():
		m = rx.search(line)
		if not m:
			continue
		rest = line[m.end():]
		other = re.search(r'[\w-]+\.(?:sh|py)\b', rest)	# another command's options
		for opt in re.findall(r'(?<![\w-])(--[a-z][a-z-]*)', rest[:other.start()] if other else rest):
			if opt not in allowed and opt not in bad:
				bad.append(opt)
	return bad


def allowed_options(script):
	return set(re.findall(r'(?<![\w-])(--[a-z][a-z-]*)', usage(script))) | {'--help'}


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


def rst_problems(text, path=DOC):
	"""docutils' warnings and errors on @text (level WARNING and up)."""
	stream = io.StringIO()
	docutils.core.publish_doctree(text, source_path=path, settings_overrides={
		'report_level': docutils.utils.Reporter.WARNING_LEVEL,
		'halt_level': docutils.utils.Reporter.SEVERE_LEVEL + 1,
		'warning_stream': stream,
		'file_insertion_enabled': False,
		'raw_enabled': False,
	})
	return [l for l in stream.getvalue().splitlines() if l.strip()]


# The tests ---------------------------------------------------------------

class Pages(unittest.TestCase):
	"""Documentation/vmalock-test/ is whole, valid, and hangs together."""

	@classmethod
	def setUpClass(cls):
		cls.docs = pages()
		cls.readme = read(README)

	def test_pages_present(self):
		self.assertEqual([p for p in PAGES if p not in self.docs], [])

	def test_spdx_headers(self):
		self.assertEqual(header_problems(self.docs), [])

	def test_toctree(self):
		self.assertEqual(toc_problems(self.docs), [])

	def test_underlines(self):
		self.assertEqual([(n, bad_underlines(t)) for n, t in self.docs.items()
				  if bad_underlines(t)], [])

	def test_refs_resolve(self):
		bad = {n: dangling_refs(t, self.docs) for n, t in self.docs.items()}
		bad['README'] = dangling_refs(self.readme, self.docs)
		self.assertEqual({n: r for n, r in bad.items() if r}, {})

	def test_no_outside_documents(self):
		bad = {n: outside_refs(t) for n, t in self.docs.items()}
		bad['README'] = outside_refs(self.readme)
		self.assertEqual({n: r for n, r in bad.items() if r}, {})

	def test_every_scenario_described(self):
		names = scenario_names()
		self.assertIn('detach_free', names)
		self.assertEqual(missing_names(self.docs['scenarios'], names), [])

	def test_options_exist(self):
		"""Options the docs give vmalock-run.sh, test.sh and bench.sh are theirs."""
		run = allowed_options('vmalock-run.sh')
		self.assertIn('--recheck', run)
		for script, allowed in (('vmalock-run.sh', run), ('test.sh', run | {'--generations'}),
					('bench.sh', allowed_options('bench.sh'))):
			for name, text in list(self.docs.items()) + [('README', self.readme)]:
				self.assertEqual(unknown_options(text, script, allowed), [],
						 '%s: options %s does not take' % (name, script))

	@unittest.skipUnless(HAVE_DOCUTILS, 'docutils not installed (Debian: python3-docutils)')
	def test_valid_rst(self):
		bad = {n: rst_problems(t, os.path.join(DOC_DIR, n + '.rst'))
		       for n, t in self.docs.items()}
		self.assertEqual({n: p for n, p in bad.items() if p}, {})


class Readme(unittest.TestCase):
	"""The README: short, with the two commands, pointing on."""

	@classmethod
	def setUpClass(cls):
		cls.text = read(README)

	def test_short_with_commands(self):
		self.assertEqual(readme_problems(self.text), [])

	def test_points_to_the_pages(self):
		self.assertIn('Documentation/vmalock-test/', self.text)
		self.assertEqual(sorted(set(PAGES) - page_refs(self.text)), [],
				 'pages the README does not name')


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

	def test_missing_page_found(self):
		docs = pages()
		del docs['lava']
		self.assertEqual(dangling_refs(read(README), docs), ['lava'])
		self.assertEqual(toc_problems(docs), ['toctree entry lava: no lava.rst'])

	def test_page_outside_toctree_found(self):
		docs = pages()
		docs['extra'] = SPDX + '\n\nExtra\n=====\n'
		self.assertEqual(toc_problems(docs), ["extra.rst not in index.rst's toctree"])

	def test_missing_header_found(self):
		docs = pages()
		docs['bench'] = docs['bench'].replace(SPDX + '\n', '', 1)
		self.assertEqual(header_problems(docs),
				 ['bench.rst: first line is not "%s"' % SPDX])

	def test_outside_document_found(self):
		self.assertEqual(outside_refs('ok\nsplits (seed 001, R10)\nsee ../shared/PROTOCOL.md\n'),
				 ['splits (seed 001, R10)', 'see ../shared/PROTOCOL.md'])

	def test_missing_scenario_found(self):
		broken = pages()['scenarios'].replace('``reuse``', 'reuse')
		self.assertEqual(missing_names(broken, scenario_names()), ['reuse'])

	def test_long_readme_found(self):
		text = read(README)
		self.assertEqual(readme_problems(text), [])
		self.assertEqual(len(readme_problems(text + '\n' * README_MAX_LINES)), 1)

	def test_changed_command_found(self):
		text = read(README).replace('# the main job: build,', '# the main job, build,', 1)
		self.assertEqual(len(readme_problems(text)), 1)

	def test_unknown_option_found(self):
		allowed = allowed_options('vmalock-run.sh')
		self.assertEqual(unknown_options('  scripts/vmalock-run.sh --no-kunit --no-such\n',
						 'vmalock-run.sh', allowed), ['--no-such'])

	@unittest.skipUnless(HAVE_DOCUTILS, 'docutils not installed (Debian: python3-docutils)')
	def test_invalid_rst_found(self):
		broken = self.text.replace('.. list-table:: vm_refcnt values (Linux 7.3)',
					   '.. list-tabel:: vm_refcnt values (Linux 7.3)', 1)
		self.assertNotEqual(broken, self.text)
		self.assertNotEqual(rst_problems(broken), [])


if __name__ == '__main__':
	unittest.main()
