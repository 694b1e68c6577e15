# SPDX-License-Identifier: GPL-2.0
#
# Find kernel splats (WARN, BUG, KASAN, lockdep, stalls, ...) in a saved
# serial console log.
#
# usage: vmalock-py splats console.log [--allow REGEX]... [--section RUN]
#
# Prints "splat: <kind>: <line number>: <line>" per splat, then "splats: N".
# Exit 1 if N > 0, 0 if clean, 2 on usage error or unreadable file.
#
# Matching is on the shape of the kernel's own messages, anchored at the
# start of the message, so harness output that merely mentions "BUG" or
# "WARNING" (KTAP "# ..." diagnostics, "ok"/"not ok" lines, the module's
# pr_fmt-prefixed "vmalock_test: ..." lines) is never counted.

import argparse
import re
import sys

# printk time stamp and optional caller id ("[   12.345678] [    T1] ").
TS_RE = re.compile(r'^\[\s*\d+\.\d+\]\s?(?:\[\s*[TC]\d+\]\s?)?')
# On a serial console the shell's output and printk can share one line;
# split before each embedded time stamp so each message starts a piece.
EMBEDDED_TS_RE = re.compile(r'(?=\[\s*\d+\.\d{6}\])')

# (kind, message shape), first match wins: specific shapes before generic.
PATTERNS = [(kind, re.compile(rx)) for kind, rx in [
	('lockdep', r'^(?:WARNING: )?(?:possible circular locking dependency'
		r'|possible recursive locking|inconsistent lock state'
		r'|bad unlock balance detected|lock held when returning to user space'
		r'|suspicious RCU usage|held lock freed'
		r'|possible irq lock inversion dependency'
		r'|\S+-safe -> \S+-unsafe lock order detected'
		r'|Nested lock was not taken|bad contention detected)'),
	('lockdep', r'^WARNING: \S+ still has locks held!'),
	('lockdep', r'^DEBUG_LOCKS_WARN_ON\('),
	('lockdep', r'^INFO: trying to register non-static key'),
	('kasan', r'^BUG: KASAN: '),
	('kcsan', r'^BUG: KCSAN: '),
	('kfence', r'^BUG: KFENCE: '),
	('soft-lockup', r'^(?:watchdog: )?BUG: soft lockup'),
	('hard-lockup', r'^(?:NMI )?watchdog: Watchdog detected hard LOCKUP'),
	('bug', r'^(?:watchdog: )?BUG: '),
	('bug', r'^kernel BUG at '),
	# SLUB debugging: "BUG kmalloc-64 (Not tainted): Object already free"
	('slub', r'^BUG \S+ \((?:Not tainted|Tainted:[^)]*)\): '),
	('gpf', r'^(?:Oops: )?general protection fault\b'),
	('oops', r'^(?:Internal error: )?Oops: .*\[#\d+\]'),
	('unable-to-handle', r'^Unable to handle kernel '),
	('panic', r'^Kernel panic - not syncing'),
	('refcount', r'^refcount_t: '),
	# Both the older "WARNING: CPU: 0 PID: 1 at ..." and the newer
	# "WARNING: mm/x.c:12 at f+0x1/0x2, CPU#0: comm/1" / "WARNING: at ...".
	('warning', r'^WARNING: (?:CPU: \d+ PID: \d+|\S+:\d+ at |at \S+, CPU#)'),
	('hung-task', r'^INFO: task .+:\d+ blocked.* for more than \d+ seconds'),
	('rcu-stall', r'^(?:rcu: )?INFO: \S+ (?:self-)?detected (?:expedited )?stalls?\b'),
	('ubsan', r'^UBSAN: '),
	('kmemleak', r'^unreferenced object(?: \(\w+\))? 0x[0-9a-f]+ \(size \d+\)'),
	('kmemleak', r'^kmemleak: \d+ new suspected memory leaks'),
]]

# One report can hit two shapes: WARN() prints its message ("refcount_t:
# ...", "DEBUG_LOCKS_WARN_ON(...)") before "WARNING: ...", and a BUG or bad
# page fault is followed by "Oops: ...". Such a trailer, within FOLD_LINES
# of a lone header of a kind that produces it, is folded into that splat.
TRAILERS = {'warning': ('refcount', 'lockdep'), 'oops': ('bug', 'unable-to-handle')}
FOLD_LINES = 20


def strip_ts(line):
	return TS_RE.sub('', line.rstrip('\r\n'), count=1).rstrip()


def classify(msg):
	"""Kind of splat a timestamp-stripped message starts, or None."""
	if msg.startswith(('#', 'ok ', 'not ok ', 'vmalock_test:')):
		return None
	for kind, rx in PATTERNS:
		if rx.search(msg):
			return kind
	return None


def section_lines(lines, run):
	"""Yield (lineno, line) of the VMALOCK-RUN-BEGIN/END section(s) of run."""
	begin = re.compile(r'VMALOCK-RUN-BEGIN run=%s(?:\s|$)' % re.escape(run))
	end = re.compile(r'VMALOCK-RUN-END run=%s(?:\s|$)' % re.escape(run))
	inside = False
	for n, line in enumerate(lines, 1):
		if not inside and begin.search(line):
			inside = True
		if inside:
			yield n, line
			if end.search(line):
				inside = False


def scan(lines, allow=(), section=None):
	"""Return (splats, allowed): lists of (kind, lineno, message).

	lines: iterable of console lines. allow: regexes (strings or compiled);
	a splat any of whose matched lines matches one is returned in allowed.
	section: only scan that run's VMALOCK-RUN-BEGIN/END section(s).
	"""
	allow = [re.compile(a) if isinstance(a, str) else a for a in allow]
	numbered = section_lines(lines, section) if section else enumerate(lines, 1)
	groups = []		# [kind, lineno, msg, [all matched msgs]]
	for n, raw in numbered:
		for piece in EMBEDDED_TS_RE.split(raw.rstrip('\r\n')):
			msg = strip_ts(piece)
			kind = classify(msg)
			if not kind:
				continue
			last = groups[-1] if groups else None
			if (last and last[0] in TRAILERS.get(kind, ()) and
			    len(last[3]) == 1 and n - last[1] <= FOLD_LINES):
				last[3].append(msg)
			else:
				groups.append([kind, n, msg, [msg]])
	splats, allowed = [], []
	for kind, n, msg, msgs in groups:
		hit = any(a.search(m) for a in allow for m in msgs)
		(allowed if hit else splats).append((kind, n, msg))
	return splats, allowed


def has_section(lines, run):
	return next(section_lines(lines, run), None) is not None


def main(argv=None):
	ap = argparse.ArgumentParser(description='Find kernel splats in a console log.')
	ap.add_argument('log')
	ap.add_argument('--allow', action='append', default=[], metavar='REGEX',
			help='ignore splats with a line matching REGEX (repeatable)')
	ap.add_argument('--section', metavar='RUN',
			help='scan only the VMALOCK-RUN-BEGIN/END run=RUN section')
	args = ap.parse_args(argv)	# exits 2 on usage error
	try:
		allow = [re.compile(a) for a in args.allow]
	except re.error as e:
		print(f'scan-splats: bad --allow regex: {e}', file=sys.stderr)
		return 2
	try:
		with open(args.log, errors='replace') as f:
			lines = f.read().splitlines()
	except OSError as e:
		print(f'scan-splats: cannot read {args.log}: {e.strerror}', file=sys.stderr)
		return 2
	# A missing section must not read as "clean".
	if args.section and not has_section(lines, args.section):
		print(f'scan-splats: no VMALOCK-RUN-BEGIN run={args.section} in {args.log}',
		      file=sys.stderr)
		return 2
	splats, allowed = scan(lines, allow, args.section)
	for kind, n, msg in allowed:
		print(f'allowed: {kind}: {n}: {msg}')
	for kind, n, msg in splats:
		print(f'splat: {kind}: {n}: {msg}')
	print(f'splats: {len(splats)}')
	return 1 if splats else 0


if __name__ == '__main__':
	sys.exit(main())
