/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The module's integer parameters, one line each:
 *
 *   VT_PARAM(name, default, min, max, doc)
 *
 * From this list come the module parameters and their descriptions, the
 * range checks at load and on writes to debugfs params, the error message
 * that lists the names allowed, the params file and struct vt_params, the
 * run's copy of the values. A user defines VT_PARAM() and includes this
 * file, which undefines it; hence no include guard.
 */
#ifdef CONFIG_HOTPLUG_CPU
#define VT_ONOFF_MAX	60000
#else
#define VT_ONOFF_MAX	0	/* onoff_ms is refused without CPU hotplug */
#endif

VT_PARAM(readers, 2, 1, 64, "reader kthreads per scenario")
VT_PARAM(writers, 1, 1, 16, "writer kthreads per scenario")
VT_PARAM(detachers, 1, 1, 16, "detacher kthreads in detach_free")
VT_PARAM(vmas, 16, 1, 1024, "VMAs in the test mm")
VT_PARAM(duration_ms, 2000, 10, 600000, "duration of each scenario in ms")
VT_PARAM(hold_us, 5, 0, 1000, "time a lock is held, in us")
VT_PARAM(writer_timeout_ms, 1000, 10, 60000, "writer progress bound in ms")
VT_PARAM(release_timeout_ms, 1000, 10, 60000, "bulk release liveness bound in ms")
VT_PARAM(verbose, 0, 0, 2, "0: results only, 1: every violation, 2: progress")
VT_PARAM(onoff_ms, 0, 0, VT_ONOFF_MAX,
	 "take a CPU offline and back every onoff_ms of a scenario (0: never)")
VT_PARAM(sysmon, 1, 0, 1,
	 "1: the system-wide monitor (vma_lock tracepoints) watches every task")
VT_PARAM(delay_rate, 0, 0, 1000000,
	 "sysmon pauses the harness's and stressor's tasks at 1 lock step in delay_rate")
VT_PARAM(delay_max_us, 1000, 1, 1000,
	 "each pause a random 1..delay_max_us us, log-uniform, busy")
VT_PARAM(sit_us, 0, 0, 5000,
	 "sysmon holds read locks of tasks vmalock_sit* sit_us/2..sit_us us, or until a writer waits")

#undef VT_PARAM
