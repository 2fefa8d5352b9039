// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Exec (sched:sched_process_exec, after the new name is set): a thread that
 * already has a name in `threads` gets its new one. A command started by
 * `mmlock record -- CMD` is first mmlock's own fork: whatever it waited for
 * before and during exec would otherwise stay under the name "mmlock".
 */
#include "helpers.bpf.h"

static __always_inline void thread_exec(struct task_struct *t, __u32 tid)
{
	if (bpf_map_lookup_elem(&threads, &tid))
		note_thread(tid, t);
}

TASK_TRACEPOINT_PROGS(sched_process_exec, thread_exec, thread_exec)
