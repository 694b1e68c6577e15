# SPDX-License-Identifier: GPL-2.0
#
# Extract one run's KTAP results from a serial console log, validate them,
# write OUTDIR/results-<run>.{ktap,json} and OUTDIR/junit-<run>.xml, print a
# table and a verdict. The work is done by vmalock.ktap.
#
# usage: vmalock-py results console.log OUTDIR [--run NAME] [--expect pass|fail]
#                                  [--kunit-py PATH] [--title TEXT]
#
# Expecting "fail" of a run broken-NAME, NAME a broken variant, each of its
# scenarios must report the invariants vmalock_names.h names for it.
#
# Exit 0 when the expectation is met, 1 when it is not, 2 when results are
# missing or malformed (or on bad usage).

import argparse
import re
import sys

from vmalock import judge
from vmalock.ktap import ResultsError, clear_run, load, report, write_run


def main(argv=None):
	ap = argparse.ArgumentParser(description='Extract, check and report vmalock_test results.')
	ap.add_argument('log')
	ap.add_argument('outdir')
	ap.add_argument('--run', default='real', help='run name (default: real)')
	ap.add_argument('--expect', choices=('pass', 'fail'), default='pass')
	ap.add_argument('--kunit-py', metavar='PATH',
			help="kernel's tools/testing/kunit/kunit.py, to write the JSON")
	ap.add_argument('--title', help='title of the table and JUnit suite')
	args = ap.parse_args(argv)
	if not re.fullmatch(r'[\w.+-]+', args.run):
		ap.error(f'bad run name {args.run!r}')
	title = args.title or f'vmalock_test.{args.run}'
	try:
		clear_run(args.outdir, args.run)
		res, block = load(args.log, args.run)
	except OSError as e:
		print(f'results: cannot access {e.filename}: {e.strerror}', file=sys.stderr)
		return 2
	except ResultsError as e:
		print(f'results: {args.log}: results missing or malformed: {e}', file=sys.stderr)
		return 2
	try:
		write_run(res, block, args.outdir, args.run, title, args.kunit_py)
	except OSError as e:
		print(f'results: cannot write to {args.outdir}: {e}', file=sys.stderr)
		return 2
	# A broken variant's run must report the invariants it is caught by
	# (vmalock_names.h), as judge.py requires.
	want = judge.expected_invariants(args.run) if args.expect == 'fail' else None
	return 0 if report(res, args.run, title, args.expect, want=want) else 1


if __name__ == '__main__':
	sys.exit(main())
