/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The one list of scenarios and broken variants, shared by vmalock_test.ko
 * (which builds its enums and tables from these macros) and by scripts/
 * (scripts/vmalock/names.py reads this file). One entry per line.
 *
 * VT_SCENARIOS(S): S(ID, name, in_all); in_all is false for scenarios that
 * run only when named.
 * VT_BROKEN_VARIANTS(B): B(ID, name, targets); targets are the scenarios
 * that must catch the variant, as VT_T(ID) | VT_T(ID) ...
 */
#ifndef _VMALOCK_NAMES_H
#define _VMALOCK_NAMES_H

#define VT_SCENARIOS(S)							\
	S(RW_EXCLUSION,		rw_exclusion,		true)		\
	S(DETACH_FREE,		detach_free,		true)		\
	S(BULK_RELEASE,		bulk_release,		true)		\
	S(DOWNGRADE,		downgrade,		true)		\
	S(SPECULATE,		speculate,		true)		\
	S(REFCOUNT_LIMIT,	refcount_limit,		true)		\
	S(KILLABLE_WRITER,	killable_writer,	true)		\
	S(FAULT_PATH,		fault_path,		true)		\
	S(REUSE,		reuse,			true)		\
	S(WATCH,		watch,			false)

#define VT_BROKEN_VARIANTS(B)						\
	B(READER_NO_SEQCHECK,	reader_no_seqcheck,	VT_T(RW_EXCLUSION) | VT_T(BULK_RELEASE) | VT_T(FAULT_PATH)) \
	B(WRITER_NO_WAIT,	writer_no_wait,		VT_T(RW_EXCLUSION) | VT_T(DETACH_FREE)) \
	B(DETACH_NO_WAIT,	detach_no_wait,		VT_T(DETACH_FREE))	\
	B(UNLOCK_NO_SEQ,	unlock_no_seq,		VT_T(BULK_RELEASE) | VT_T(DOWNGRADE)) \
	B(READER_NO_REFCOUNT,	reader_no_refcount,	VT_T(DETACH_FREE))	\
	B(READER_LATE_WAKE,	reader_late_wake,	VT_T(RW_EXCLUSION))	\
	B(READER_NO_LIMIT,	reader_no_limit,	VT_T(REFCOUNT_LIMIT))	\
	B(SPECULATE_NO_RETRY,	speculate_no_retry,	VT_T(SPECULATE))	\
	B(SPECULATE_NO_ODD,	speculate_no_odd,	VT_T(SPECULATE))	\
	B(KILLABLE_LEAK,	killable_leak,		VT_T(KILLABLE_WRITER))	\
	B(READER_NO_MM_CHECK,	reader_no_mm_check,	VT_T(REUSE))		\
	B(WRITER_NO_VMA_LOCK,	writer_no_vma_lock,	VT_T(FAULT_PATH))

#endif /* _VMALOCK_NAMES_H */
