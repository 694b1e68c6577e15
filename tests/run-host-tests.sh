#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Run the host-side tests (tests/test_*.py) and end with one line
# "N passed, N failed", counting individual test cases from unittest's
# verbose output. Exits non-zero if any failed or unittest itself did.
# The tests import the package scripts/vmalock/ and tests/' own helpers
# (kernel_tree) from PYTHONPATH, set here once; to run one module by hand:
#   PYTHONPATH=scripts:tests python3 -m unittest tests.test_results
set -uo pipefail

cd "$(dirname "$0")/.." || exit 1
export PYTHONPATH=$PWD/scripts:$PWD/tests${PYTHONPATH:+:$PYTHONPATH}
log=$(mktemp)
trap 'rm -f "$log"' EXIT

# -b keeps the tests' own output out of the verbose result lines.
python3 -m unittest discover -s tests -p 'test_*.py' -v -b >"$log" 2>&1
rc=$?
cat "$log"
passed=$(grep -cE ' \.\.\. (ok|expected failure)$' "$log")
failed=$(grep -cE ' \.\.\. (FAIL|ERROR|unexpected success)$' "$log")
skipped=$(grep -cE ' \.\.\. skipped ' "$log")
[ "$skipped" -gt 0 ] && echo "($skipped skipped)"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ] && [ "$rc" -eq 0 ] && [ "$passed" -gt 0 ]
