#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
#
# The module's layers, derived from its sources: which file includes which,
# and which .c file uses a function or variable another .c file defines.
# There must be no circle, and nothing may include vmalock_test.c's header or
# use what vmalock_test.c defines: it is the top (see vmalock_core.h).

import glob
import os
import re
import unittest

TOP = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..')
TOP_FILE = 'vmalock_test'

COMMENT = re.compile(r'//[^\n]*|/\*.*?\*/', re.S)
STRING = re.compile(r'"(?:\\.|[^"\\\n])*"|\'(?:\\.|[^\'\\\n])*\'')
INCLUDE = re.compile(r'^\s*#\s*include\s+"([^"]+)"', re.M)
IDENT = re.compile(r'\b[A-Za-z_]\w*\b')
# A function definition's head: a type, then the name and its parameters.
FUNC = re.compile(r'[\w\*\s]\s*\b([A-Za-z_]\w*)\s*\([^;]*\)\s*$', re.S)
# A variable's definition: a type, then the name, perhaps [N], perhaps = ...
VAR = re.compile(r'^[\w\s\*]*?[\w\*]\s+\**\s*([A-Za-z_]\w*)\s*(?:\[[^\]]*\]\s*)*(?:=|$)', re.S)
SKIP = ('static', 'extern', 'typedef')


def strip(text):
	"""The C text without comments, strings and preprocessor lines."""
	text = COMMENT.sub(' ', text)
	text = STRING.sub('""', text)
	text = re.sub(r'^\s*#(?:[^\n]*\\\n)*[^\n]*', '', text, flags=re.M)
	return text


def top_level(text):
	"""The declarations at file scope, each up to its ';' or its body's '{'."""
	out, depth, cur = [], 0, []
	for ch in text:
		if depth == 0 and ch in ';{':
			out.append((''.join(cur).strip(), ch))
			cur = []
		elif depth == 0:
			cur.append(ch)
		if ch == '{':
			depth += 1
		elif ch == '}':
			depth -= 1
			if depth == 0:
				cur = []
	return out


def definitions(text):
	"""The functions and variables a .c file defines for the others."""
	names = set()
	for decl, end in top_level(strip(text)):
		decl = re.sub(r'^\s*(?:\}\s*)*', '', decl)
		decl = re.sub(r'^(?:__\w+\([^)]*\)\s*)+', '', decl)	# __printf(1, 2)
		if not decl or decl.split()[0] in SKIP or '(' in decl.split()[0]:
			continue
		if re.fullmatch(r'(?:struct|union|enum)\s+\w+', decl):
			continue	# a declaration of the type alone
		if end == '{' and '=' not in decl:
			m = FUNC.search(decl)	# else a struct, union or enum body
			if m:
				names.add(m.group(1))
			continue
		m = VAR.match(decl.split('=')[0].strip() + ' ')
		if m and m.group(1) not in ('struct', 'union', 'enum'):
			names.add(m.group(1))
	return names


def layer_graph(files):
	"""{node: {node it uses}} for @files ({file name: text}): .c and .h
	files of one name are one node; a node uses another if it includes its
	header or (from a .c file) names what the other's .c file defines."""
	node = lambda name: os.path.splitext(name)[0]
	defs = {node(f): definitions(t) for f, t in files.items() if f.endswith('.c')}
	graph = {node(f): set() for f in files}
	for f, text in files.items():
		me = node(f)
		for inc in INCLUDE.findall(text):
			if node(inc) in graph and node(inc) != me:
				graph[me].add(node(inc))
		if not f.endswith('.c'):
			continue
		used = set(IDENT.findall(strip(text)))
		for other, names in defs.items():
			if other != me and used & names:
				graph[me].add(other)
	return graph


def circle(graph):
	"""A circle of @graph as a list of nodes (first == last), or None."""
	state, path = {}, []

	def visit(n):
		state[n] = 'open'
		path.append(n)
		for m in sorted(graph.get(n, ())):
			if state.get(m) == 'open':
				return path[path.index(m):] + [m]
			if m not in state:
				found = visit(m)
				if found:
					return found
		path.pop()
		state[n] = 'done'
		return None

	for n in sorted(graph):
		if n not in state:
			found = visit(n)
			if found:
				return found
	return None


def up_into_top(graph, top=TOP_FILE):
	"""The nodes that use the top: a layer below it that reaches up."""
	return sorted(n for n, uses in graph.items() if top in uses and n != top)


def module_files():
	out = {}
	for path in sorted(glob.glob(os.path.join(TOP, 'vmalock_*.[ch]'))):
		if path.endswith('.mod.c'):	# made by the build
			continue
		with open(path, encoding='utf-8') as f:
			out[os.path.basename(path)] = f.read()
	return out


class TestModuleLayers(unittest.TestCase):
	def setUp(self):
		self.files = module_files()
		self.graph = layer_graph(self.files)

	def test_top_exists(self):
		self.assertIn(TOP_FILE + '.c', self.files)

	def test_no_circle(self):
		self.assertIsNone(circle(self.graph), 'the module\'s files use each other in a circle')

	def test_nothing_reaches_up_into_the_top(self):
		self.assertEqual(up_into_top(self.graph), [])

	def test_core_uses_no_other_part(self):
		parts = {os.path.splitext(f)[0] for f in self.files if f.endswith('.c')}
		self.assertEqual(sorted(self.graph['vmalock_core'] & parts), [])

	def test_top_uses_the_others(self):
		# The derivation sees real uses: the top calls down into each part.
		self.assertTrue({'vmalock_core', 'vmalock_ops', 'vmalock_scenarios',
				 'vmalock_sysmon', 'vmalock_bench'} <= self.graph[TOP_FILE])


class TestDerivation(unittest.TestCase):
	"""The checks above can fail: on sources built to break them."""

	def test_definitions(self):
		text = ('#define X(a) \\\n\tint a;\nstatic int hidden(void)\n{\n\treturn 0;\n}\n'
			'int shown(struct s *p, int n)\n{\n\treturn n;\n}\n'
			'const char * const names[2] = { "a", "b" };\nint counter;\n'
			'extern int elsewhere;\nstruct vt_cxt vt_cxt;\nMODULE_LICENSE("GPL");\n'
			'static const struct t table[] = {\n\t{ 1 },\n};\n'
			'__printf(1, 2) void say(const char *fmt, ...)\n{\n}\n'
			'struct kind {\n\tint a;\n};\nenum e { E1, E2 };\nstruct ahead;\n')
		self.assertEqual(definitions(text), {'shown', 'names', 'counter', 'vt_cxt', 'say'})

	def test_circle_through_calls(self):
		files = {'a.c': 'int fa(void)\n{\n\treturn fb();\n}\n',
			 'b.c': 'int fb(void)\n{\n\treturn fa();\n}\n'}
		self.assertEqual(circle(layer_graph(files)), ['a', 'b', 'a'])

	def test_circle_through_a_variable_and_an_include(self):
		files = {'a.c': '#include "b.h"\nint knob = 3;\n',
			 'b.h': 'extern int knob;\n',
			 'b.c': 'int fb(void)\n{\n\treturn knob;\n}\n'}
		self.assertEqual(circle(layer_graph(files)), ['a', 'b', 'a'])

	def test_reaching_up(self):
		files = {'vmalock_test.c': 'int readers = 2;\n',
			 'vmalock_ops.c': 'void f(void)\n{\n\tg(readers);\n}\n'}
		self.assertEqual(up_into_top(layer_graph(files)), ['vmalock_ops'])

	def test_including_the_top(self):
		files = {'vmalock_test.c': '', 'vmalock_test.h': '',
			 'vmalock_bench.c': '#include "vmalock_test.h"\n'}
		self.assertEqual(up_into_top(layer_graph(files)), ['vmalock_bench'])

	def test_comments_and_strings_are_no_use(self):
		files = {'vmalock_test.c': 'int readers = 2;\n',
			 'vmalock_ops.c': '/* readers */\nconst char *s = "readers";\n'}
		self.assertEqual(up_into_top(layer_graph(files)), [])


if __name__ == '__main__':
	unittest.main()
