# SPDX-License-Identifier: GPL-2.0
"""Host side of vmalock-test: KTAP parsing, verdicts, and the names list.

Each command is a module run as "python3 -m vmalock.NAME" with scripts/ on
PYTHONPATH; scripts/vmalock-py NAME [ARGS] does that from anywhere.
"""

import os

# The repository's top directory (this file is scripts/vmalock/__init__.py).
TOP = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
