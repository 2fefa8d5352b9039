/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Slot of a value in the log2 x 4 latency histogram (layout: mmlock.h).
 * One definition for the BPF programs and userspace: plain C, no builtins
 * (BPF has no count-leading-zeros instruction).
 */
#ifndef MMLOCK_HIST_SLOT_H
#define MMLOCK_HIST_SLOT_H

#include "mmlock.h"

static inline __u32 mm_hist_slot(__u64 v)
{
	__u32 m = 0, slot;
	__u64 x = v;

	if (v < HIST_SUB)
		return v;
	if (x >> 32) { m += 32; x >>= 32; }
	if (x >> 16) { m += 16; x >>= 16; }
	if (x >> 8) { m += 8; x >>= 8; }
	if (x >> 4) { m += 4; x >>= 4; }
	if (x >> 2) { m += 2; x >>= 2; }
	if (x >> 1) { m += 1; }
	slot = (m - 1) * HIST_SUB + ((v >> (m - HIST_SUB_BITS)) & (HIST_SUB - 1));
	return slot < HIST_SLOTS ? slot : HIST_SLOTS - 1;
}

#endif
