/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Per-thread entries of the deeper probes (mmprobes.bpf.c) in `calls` and
 * `held`, shared with thread exit (exit.bpf.c), which deletes them.
 */
#ifndef MMLOCK_MMPROBES_BPF_H
#define MMLOCK_MMPROBES_BPF_H

#include "helpers.bpf.h"

enum call_slot { CALL_TRYLOCK, CALL_DOWN_WRITE, CALL_RMAP, CALL_FOLIO, NR_CALL_SLOTS };

static __always_inline __u64 call_key(__u32 tid, enum call_slot slot)
{
	return (__u64)tid << 8 | slot;
}

/*
 * The thread is exiting: a call it never returned from (a missed kretprobe)
 * or a hold it never released (a missed up_write) would stay in the maps
 * until they are full.
 */
static __always_inline void probes_forget(__u32 tid)
{
	for (int s = 0; s < NR_CALL_SLOTS; s++) {
		__u64 key = call_key(tid, s);

		bpf_map_delete_elem(&calls, &key);
	}
	bpf_map_delete_elem(&held, &tid);
}

#endif
