/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Helpers shared by the BPF programs: filters, histograms, stacks, events. */
#ifndef MMLOCK_COMMON_BPF_H
#define MMLOCK_COMMON_BPF_H

#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_tracing.h>
#include "maps.bpf.h"
#include "hist_slot.h"

/* sched.h task states; TASK_NOLOAD marks TASK_IDLE sleepers (not D-state). */
#define TASK_UNINTERRUPTIBLE	0x0002
#define TASK_NOLOAD		0x0400
#define E2BIG			7

static __always_inline void count(enum mm_counter c)
{
	__sync_fetch_and_add(&counters[c], 1);
}

static __always_inline bool comm_eq(const char *a)
{
	for (int i = 0; i < MMLOCK_COMM_LEN; i++) {
		if (a[i] != targ_comm[i])
			return false;
		if (!a[i])
			break;
	}
	return true;
}

/* Thread or its process (group leader) has the filter's comm. */
static __always_inline bool task_comm_match(struct task_struct *t)
{
	char comm[MMLOCK_COMM_LEN];

	BPF_CORE_READ_STR_INTO(&comm, t, comm);
	if (comm_eq(comm))
		return true;
	BPF_CORE_READ_STR_INTO(&comm, t, group_leader, comm);
	return comm_eq(comm);
}

/* In-kernel filter for a task given its tgid/tid (cheap checks first). */
static __always_inline bool want(struct task_struct *t, __u32 tgid, __u32 tid)
{
	if (!tid)	/* idle task */
		return false;
	if (targ_tgid && tgid != targ_tgid)
		return false;
	if (targ_tid && tid != targ_tid)
		return false;
	if (filter_comm)
		return task_comm_match(t);
	return true;
}

static __always_inline bool want_current(void)
{
	__u64 id = bpf_get_current_pid_tgid();

	return want((struct task_struct *)bpf_get_current_task(), id >> 32, (__u32)id);
}

static __always_inline bool want_task(struct task_struct *t, __u32 *tid)
{
	__u32 pid = BPF_CORE_READ(t, pid);

	*tid = pid;
	if (!pid)
		return false;
	if (!targ_tgid && !targ_tid && !filter_comm)
		return true;
	return want(t, BPF_CORE_READ(t, tgid), pid);
}

static __always_inline void note_thread(__u32 tid, struct task_struct *t)
{
	struct mm_thread ti = {};

	ti.pid = BPF_CORE_READ(t, tgid);
	BPF_CORE_READ_STR_INTO(&ti.comm, t, comm);
	BPF_CORE_READ_STR_INTO(&ti.pcomm, t, group_leader, comm);
	if (bpf_map_update_elem(&threads, &tid, &ti, BPF_NOEXIST) && !bpf_map_lookup_elem(&threads, &tid))
		count(CNT_THREAD_FULL);
}

static __always_inline void atomic_max(__u64 *p, __u64 v)
{
	__u64 old = *p;

	/* Bounded CAS loop: another CPU may update the same key (rare). */
	for (int i = 0; i < 4 && v > old; i++) {
		__u64 seen = __sync_val_compare_and_swap(p, old, v);

		if (seen == old)
			break;
		old = seen;
	}
}

static __always_inline void hist_add(struct task_struct *t, __u32 tid, __u8 kind, __u8 cls,
				     __u8 site, __u64 dur, __u64 aux)
{
	struct hist_key key = { .tid = tid, .kind = kind, .cls = cls, .site = site };
	static const struct hist zero;
	struct hist *h;
	__u32 slot;

	h = bpf_map_lookup_elem(&hists, &key);
	if (!h) {
		if (bpf_map_update_elem(&hists, &key, &zero, BPF_NOEXIST) == -E2BIG) {
			count(CNT_HIST_FULL);
			return;
		}
		h = bpf_map_lookup_elem(&hists, &key);
		if (!h) {
			count(CNT_HIST_FULL);
			return;
		}
		note_thread(tid, t);
	}
	__sync_fetch_and_add(&h->count, 1);
	__sync_fetch_and_add(&h->total_ns, dur);
	if (aux)
		__sync_fetch_and_add(&h->aux_ns, aux);
	atomic_max(&h->max_ns, dur);
	slot = mm_hist_slot(dur);
	if (slot < HIST_SLOTS)
		__sync_fetch_and_add(&h->slots[slot], 1);
}

/* Binary search of the sorted marker table; NULL if ip is in no marker. */
static __always_inline struct marker *marker_of(__u64 ip)
{
	__u32 lo = 0, hi = nr_markers;

	for (int i = 0; i < 7 && lo < hi; i++) {	/* 2^7 > MMLOCK_MAX_MARKERS */
		__u32 mid = (lo + hi) / 2;
		struct marker *m = bpf_map_lookup_elem(&markers, &mid);

		if (!m)
			return NULL;
		if (ip < m->start)
			hi = mid;
		else if (ip >= m->end)
			lo = mid + 1;
		else
			return m;
	}
	return NULL;
}

/*
 * Classify a captured stack: the innermost marker with a site names the
 * site, the innermost marker with a class refines a generic class. Returns
 * our own stack id (a hash of the frames, stored in `stacks`), or -1.
 */
static __always_inline __s32 classify_stack(__u64 *ips, long nbytes, __u8 *cls, __u8 *site)
{
	__u32 n = nbytes > 0 ? nbytes / 8 : 0, hash = 2166136261u;
	bool site_set = *site != SITE_OTHER, cls_set = false;
	__s32 id;

	if (!n)
		return -1;
	if (*cls != CLASS_OTHER && *cls != CLASS_IO && *cls != CLASS_RWSEM_WRITE &&
	    *cls != CLASS_RWSEM_READ)
		cls_set = true;
	for (__u32 i = 0; i < MMLOCK_STACK_DEPTH; i++) {
		struct marker *m;

		if (i >= n)
			break;
		hash = (hash ^ (__u32)ips[i]) * 16777619u;
		hash = (hash ^ (__u32)(ips[i] >> 32)) * 16777619u;
		if (site_set && cls_set)
			continue;
		m = marker_of(ips[i]);
		if (!m)
			continue;
		if (!site_set && m->site != SITE_OTHER) {
			*site = m->site;
			site_set = true;
		}
		if (!cls_set && m->cls != CLASS_OTHER) {
			*cls = m->cls;
			cls_set = true;
		}
	}
	id = hash & 0x7fffffff;
	if (bpf_map_update_elem(&stacks, &id, ips, BPF_NOEXIST) == -E2BIG &&
	    !bpf_map_lookup_elem(&stacks, &id)) {
		count(CNT_STACK_FULL);
		return -1;
	}
	return id;
}

static __always_inline __u64 *stack_buf(void)
{
	__u32 zero = 0;

	return bpf_map_lookup_elem(&stack_scratch, &zero);
}

/* Stack of the current task (the waiter, still inside the wait). */
static __always_inline __s32 current_stack(void *ctx, __u8 *cls, __u8 *site)
{
	__u64 *ips = stack_buf();
	long n;

	if (!ips)
		return -1;
	n = bpf_get_stack(ctx, ips, MMLOCK_STACK_DEPTH * sizeof(__u64), 0);
	if (n <= 0) {
		count(CNT_STACK_FAIL);
		return -1;
	}
	return classify_stack(ips, n, cls, site);
}

static __always_inline void stack_add(__u32 tid, __s32 stack_id, __u8 kind, __u8 cls,
				      __u8 site, __u64 dur)
{
	struct stack_key key = { .tid = tid, .stack_id = stack_id, .kind = kind,
				 .cls = cls, .site = site };
	static const struct stack_val zero;
	struct stack_val *v;

	if (stack_id < 0)
		return;
	v = bpf_map_lookup_elem(&stack_aggs, &key);
	if (!v) {
		if (bpf_map_update_elem(&stack_aggs, &key, &zero, BPF_NOEXIST) == -E2BIG) {
			count(CNT_STACK_FULL);
			return;
		}
		v = bpf_map_lookup_elem(&stack_aggs, &key);
		if (!v)
			return;
	}
	__sync_fetch_and_add(&v->count, 1);
	__sync_fetch_and_add(&v->total_ns, dur);
	atomic_max(&v->max_ns, dur);
}

/* Reserve an event for the ring buffer if this one is long enough; NULL if not. */
static __always_inline struct mm_event *event_reserve(__u64 dur)
{
	struct mm_event *e;

	if (!want_events || dur < min_slice_ns)
		return NULL;
	e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
	if (!e) {
		count(CNT_RINGBUF_DROP);
		return NULL;
	}
	return e;
}

/* Submit without waking the consumer: it polls (a wakeup per event perturbs). */
static __always_inline void event_submit(struct mm_event *e)
{
	bpf_ringbuf_submit(e, BPF_RB_NO_WAKEUP);
}

/* Site implied by an in-flight uffd ioctl of this thread (no stack needed). */
static __always_inline __u8 uffd_site(__u32 cmd_nr)
{
	switch (cmd_nr) {
	case UFFD_CMD_MOVE:
		return SITE_UFFD_MOVE;
	case UFFD_CMD_COPY:
	case UFFD_CMD_ZEROPAGE:
	case UFFD_CMD_CONTINUE:
	case UFFD_CMD_POISON:
		return SITE_UFFD_COPY;
	default:
		return SITE_UFFD_OTHER;
	}
}

static __always_inline __u8 context_site(__u32 tid)
{
	struct inflight *in = bpf_map_lookup_elem(&ioctls, &tid);

	return in ? uffd_site(in->cmd & 0xff) : SITE_OTHER;
}

#endif /* MMLOCK_COMMON_BPF_H */
