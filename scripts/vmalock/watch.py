# SPDX-License-Identifier: GPL-2.0
#
# Watch a guest's console while QEMU runs, and stop QEMU as soon as the boot's
# verdict is settled rather than at the boot's time limit: a hang, reported as
# a hang, when the module says a worker is stuck past the scenario's end
# (seconds after it), when the guest says a run is stuck past its bound, or
# when the guest's hung-task detector reports a blocked task (30-60 s after);
# a reboot when a second kernel boots on the same console.
#
# usage: watch.py CONSOLE PID [--grace S]
#
# Polls CONSOLE until process PID (QEMU, or timeout(1) running it) is gone.
# On a hang it waits S seconds (default 5) for the stacks to be printed,
# sends PID SIGTERM and prints one line, the reason, for boot.info's stopped=.

import argparse
import os
import re
import signal
import sys
import time

# A kernel's banner, and the hung-task detector's report (judge.py's too).
BANNER = re.compile(r'^(?:\[[^\]]*\] ?)?Linux version \d')
HUNG_TASK = re.compile(r'INFO: task \S+ blocked for more than \d+ seconds')
SETTLES = [(HUNG_TASK, 'hung-task detector'),
	   (re.compile(r'vmalock_test: hang: '), 'stuck worker'),
	   (re.compile(r'VMALOCK-HANG: '), 'stuck guest run'),
	   (BANNER, 'guest rebooted')]


def alive(pid):
	try:
		os.kill(pid, 0)
		return True
	except ProcessLookupError:
		return False


def settled(line, banners):
	"""The reason line settles the verdict, or None."""
	for rx, why in SETTLES:
		if rx.search(line) and (rx is not BANNER or banners > 1):
			return f'{why}: {line.strip()}' if rx is not BANNER else why
	return None


def watch(console, pid, grace, poll=0.5):
	pos, rest, banners = 0, '', 0
	while alive(pid):
		time.sleep(poll)
		try:
			with open(console, errors='replace') as f:
				f.seek(pos)
				data = f.read()
				pos = f.tell()
		except FileNotFoundError:
			continue
		*lines, rest = (rest + data).split('\n')
		for line in lines:
			banners += bool(BANNER.search(line))
			why = settled(line, banners)
			if why:
				# Let a hung-task report finish; a reboot has nothing more to say.
				time.sleep(0 if why == 'guest rebooted' else grace)
				if alive(pid):
					os.kill(pid, signal.SIGTERM)
				return why
	return None


def main(argv=None):
	ap = argparse.ArgumentParser(description='Stop QEMU once the console settles the verdict.')
	ap.add_argument('console')
	ap.add_argument('pid', type=int)
	ap.add_argument('--grace', type=float, default=5)
	args = ap.parse_args(argv)
	why = watch(args.console, args.pid, args.grace)
	if why:
		print(why)
	return 0


if __name__ == '__main__':
	sys.exit(main())
