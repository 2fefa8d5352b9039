// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Thread exit (sched:sched_process_exit, in the exiting thread): end its
 * uffd ioctl if one returned but was not yet ended, fold its hot ioctl
 * histogram into `hists`, and delete its entries in every per-thread map
 * (`tstates`, and the deeper probes' `calls` and `held`), so they hold live
 * threads only and a full map is a counted event, never a silent eviction.
 */
#include "uffd.bpf.h"
#include "mmprobes.bpf.h"

/* Set by the ladder when a deeper probe (bpf/mmprobes.bpf.c) attached. */
__u32 deep_probed = 0;

static __always_inline void thread_exit(struct task_struct *t, __u32 tid)
{
	struct thread_state *ts = tstate(tid, false);
	__u64 *w;

	/* Only where the deeper probes are attached can these maps hold anything. */
	if (deep_probed)
		probes_forget(tid);
	if (ts) {
		if (ts->io.state == IOCTL_EXITED)
			ioctl_finish(t, tid, ts, ts->io.exit_ts);
		else if (ts->io.state == IOCTL_RESCHEDULED)	/* running, so back from it */
			ioctl_resumed_unseen(t, tid, ts);
		mm_hot_fold(ts, tid);
		bpf_map_delete_elem(&tstates, &tid);
	}
	/* After the delete: a set bit only costs a lookup, a clear one would hide a state. */
	w = tstate_word(tid);
	if (w && (*w & (1ULL << (tid & 63))))
		__sync_fetch_and_and(w, ~(1ULL << (tid & 63)));
}

TASK_TRACEPOINT_PROGS(sched_process_exit, thread_exit, thread_exit)
