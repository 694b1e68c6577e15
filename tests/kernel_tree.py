# SPDX-License-Identifier: GPL-2.0
#
# The kernel tree the host tests that need one read (kunit.py, the lkmm
# drift check). scripts/test.sh fetches the tree before the host tests and
# names it in VMALOCK_TREE: then those tests run, and fail if the tree lacks
# what they need, rather than skip. Without VMALOCK_TREE: the newest tree in
# the cache ($CACHE or ~/.cache/vmalock-test, as get-kernel.sh), or none
# (the tests skip).

import glob
import os

GIVEN = os.environ.get('VMALOCK_TREE', '')


def trees(needs):
	"""Trees that hold the file needs (a path in the tree), oldest first;
	with VMALOCK_TREE, that tree whether or not it holds it."""
	if GIVEN:
		return [GIVEN]
	cache = os.environ.get('CACHE') or os.path.expanduser('~/.cache/vmalock-test')
	return sorted(t for t in glob.glob(os.path.join(cache, 'src', 'linux-*', ''))
		      if os.path.isfile(os.path.join(t, needs)))
