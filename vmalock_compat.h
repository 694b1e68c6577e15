/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What the per-VMA lock API of the tree built against has, tested on the
 * tree itself rather than on its version number: a stable backport or an
 * mm-unstable tree has what it has. A macro is looked for here; a function
 * cannot be seen by the preprocessor, so Kbuild greps the tree for it and
 * defines VT_HAVE_* as 1 or 0 (see Kbuild; make VT_WITHOUT=name builds as if
 * the tree lacked a feature, and defines VT_WITHOUT_* to say so). What a
 * missing feature gates is in vt_features[] (vmalock_test.c): a scenario
 * that needs it is skipped by name, never run on a stand-in.
 */
#ifndef _VMALOCK_COMPAT_H
#define _VMALOCK_COMPAT_H

#include <linux/mm.h>
#include <linux/mm_types.h>
#include <linux/mmap_lock.h>

/* Trees from before the rename name the writer's flag and the ceiling so. */
#ifndef VM_REFCNT_EXCLUDE_READERS_FLAG
#define VM_REFCNT_EXCLUDE_READERS_FLAG	VMA_LOCK_OFFSET
#define VM_REFCNT_LIMIT			VMA_REF_LIMIT
#endif

#ifdef CONFIG_PER_VMA_LOCK
/* Older trees also hand back mm_lock_seq, through a second argument. */
static inline bool vt_is_vma_write_locked(struct vm_area_struct *vma)
{
#if VT_HAVE_IS_WRITE_LOCKED_VMA_ONLY
	return __is_vma_write_locked(vma);
#else
	unsigned int mm_lock_seq;

	return __is_vma_write_locked(vma, &mm_lock_seq);
#endif
}
#endif

/* Kernel features a scenario, a broken variant or the run may need. */
enum vt_feature {
	VT_FEAT_DETACH_EXPORT,	/* patch 0001: vma_mark_detached() from a module */
	VT_FEAT_WRITE_KILLABLE,	/* vma_start_write_killable(), 6.19 */
	VT_FEAT_VMA_LOCK_TRACE,	/* patch 0003: the vma_lock tracepoints (sysmon) */
	VT_FEAT_LOCK_NEXT_VMA,	/* lock_next_vma(), 6.17: /proc maps per-VMA */
	NR_VT_FEATURES
};

#endif /* _VMALOCK_COMPAT_H */
