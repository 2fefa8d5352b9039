/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The global BPF functions of helpers.bpf.c (histograms, stacks, stack
 * classification) and the inline wrappers the programs call them through.
 */
#ifndef MMLOCK_HELPERS_BPF_H
#define MMLOCK_HELPERS_BPF_H

#include "common.bpf.h"

/*
 * The heavy helpers are global BPF functions (bpf/helpers.bpf.c): the
 * verifier checks each once instead of once per inlined call site, which
 * keeps sched_switch under the complexity limit. Their arguments must be
 * scalars: kind/class/site are packed by KCS.
 */
#define KCS(kind, cls, site) ((__u32)(kind) | (__u32)(cls) << 8 | (__u32)(site) << 16)
#define KCS_KIND(v) ((v) & 0xff)
#define KCS_CLS(v) (((v) >> 8) & 0xff)
#define KCS_SITE(v) (((v) >> 16) & 0xff)
/* mm_classify_scratch() only: the context's scratch buffer, and "classify, store nothing". */
#define KCS_CTX(c) ((__u32)((c) & 3) << 24)
#define KCS_GET_CTX(v) (((v) >> 24) & 3)
#define KCS_NOSTORE (1U << 26)
/* mm_classify_scratch() result: stack id in bits 0-22, class 23-26, site 27-30. */
#define CLASSIFIED(id, cls, site) ((int)((id) & 0x7fffff) | (cls) << 23 | (site) << 27)

extern int mm_hist_add(__u32 tid, __u32 kcs, __u64 dur, __u64 aux);
extern int mm_stack_add(__u32 tid, int stack_id, __u32 kcs, __u64 dur);
extern int mm_classify_scratch(long nbytes, __u32 kcs);
extern int mm_ioctl_hist(struct thread_state *ts, __u32 tid, __u32 nr, __u64 dur, __u64 err);
extern int mm_hot_fold(struct thread_state *ts, __u32 tid);
extern int mm_lf_hist_add(__u32 tid, __u32 kcs, __u64 dur);

static __always_inline void note_thread(__u32 tid, struct task_struct *t)
{
	struct mm_thread ti = {};

	ti.pid = BPF_CORE_READ(t, tgid);
	BPF_CORE_READ_STR_INTO(&ti.comm, t, comm);
	BPF_CORE_READ_STR_INTO(&ti.pcomm, t, group_leader, comm);
	/* Overwrite: a later histogram may follow an exec or a rename. */
	if (bpf_map_update_elem(&threads, &tid, &ti, BPF_ANY))
		count(CNT_THREAD_FULL);
}

static __always_inline void hist_add(struct task_struct *t, __u32 tid, __u8 kind, __u8 cls,
				     __u8 site, __u64 dur, __u64 aux)
{
	if (mm_hist_add(tid, KCS(kind, cls, site), dur, aux) > 0)
		note_thread(tid, t);
}

static __always_inline void stack_add(__u32 tid, __s32 stack_id, __u8 kind, __u8 cls,
				      __u8 site, __u64 dur)
{
	if (stack_id >= 0)
		mm_stack_add(tid, stack_id, KCS(kind, cls, site), dur);
}

/* The scratch stack buffer of this CPU and execution context. */
static __always_inline __u64 *stack_buf(__u32 ectx)
{
	__u32 i = ectx & (NR_CTX - 1);

	return bpf_map_lookup_elem(&stack_scratch, &i);
}

/*
 * Classify the stack in the context's scratch buffer; refines *cls / *site.
 * Returns its stack id, or -1; with `store` false the stack is classified
 * but not stored (no map insert: see THE LOCK RULE) and 0 means success.
 */
static __always_inline __s32 classify_scratch(long nbytes, __u32 ectx, bool store, __u8 *cls,
					      __u8 *site)
{
	int r = mm_classify_scratch(nbytes, KCS(0, *cls, *site) | KCS_CTX(ectx) |
					    (store ? 0 : KCS_NOSTORE));

	if (r < 0)
		return -1;
	*cls = (r >> 23) & 0xf;
	*site = (r >> 27) & 0xf;
	return r & 0x7fffff;
}

/* Stack of the current task (the waiter, still inside the wait) into the scratch buffer. */
static __always_inline long current_stack_raw(void *ctx, __u32 ectx)
{
	__u64 *ips = stack_buf(ectx);
	long n;

	if (!ips)
		return -1;
	n = bpf_get_stack(ctx, ips, MMLOCK_STACK_DEPTH * sizeof(__u64), 0);
	if (n <= 0)
		count(CNT_STACK_FAIL);
	return n;
}

/* Stack of the current task in task context, classified and stored: its id or -1. */
static __always_inline __s32 current_stack(void *ctx, __u8 *cls, __u8 *site)
{
	long n = current_stack_raw(ctx, CTX_TASK);

	return n > 0 ? classify_scratch(n, CTX_TASK, true, cls, site) : -1;
}

#endif /* MMLOCK_HELPERS_BPF_H */
