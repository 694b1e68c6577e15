# SPDX-License-Identifier: GPL-2.0
"""Host side of vmalock-test: KTAP parsing, verdicts, and the names list.

Each command is a module run as "python3 -m vmalock.NAME" with scripts/ on
PYTHONPATH; scripts/vmalock-py NAME [ARGS] does that from anywhere. A
module's "usage: NAME.py ..." line is "scripts/vmalock-py NAME ..." to type.
"""

import os
import sys

# The repository's top directory (this file is scripts/vmalock/__init__.py).
TOP = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def refuse(prog, e):
	"""Say on stderr why command prog cannot go on: "PROG: cannot read FILE:
	why" for an OSError, else "PROG: e". Return 2, its exit status."""
	why = f'cannot read {e.filename}: {e.strerror}' if isinstance(e, OSError) else e
	print(f'{prog}: {why}', file=sys.stderr)
	return 2
