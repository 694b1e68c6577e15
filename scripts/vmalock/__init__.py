# SPDX-License-Identifier: GPL-2.0
"""Host side of vmalock-test: KTAP parsing, verdicts, and the names list."""
