// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * D-state (uninterruptible sleep) periods from sched_switch + sched_wakeup.
 *
 * A period starts when a task is switched out in TASK_UNINTERRUPTIBLE (not
 * TASK_IDLE, not preempted), is woken at sched_wakeup and ends when it is
 * switched in again. The histogram counts the blocked part (out .. wakeup);
 * the runnable-after-wakeup part (wakeup .. in) is kept beside it (aux).
 *
 * Waits that no lock tracepoint reports — the folio lock (__folio_lock), a
 * migration entry, a per-VMA write lock — are recognized from the sleeper's
 * stack at switch-in (tp_btf only: bpf_get_task_stack needs a typed task)
 * and are also counted as lock waits of that class, out .. in.
 */
#include "uffd.bpf.h"

static __always_inline void switch_out(struct task_struct *prev, __u32 tid,
				       unsigned int prev_state, bool preempt, __u64 now)
{
	struct wait_state *ws;
	struct dstate ds = {};

	if (preempt || !(prev_state & TASK_UNINTERRUPTIBLE) || (prev_state & TASK_NOLOAD))
		return;
	ds.ts = now;
	ds.cls = CLASS_IO;
	ws = bpf_map_lookup_elem(&waits, &tid);
	if (ws && ws->depth > 0 && ws->depth <= WAIT_DEPTH) {
		ds.in_lock = 1;
		ds.cls = ws->w[ws->depth - 1].cls;
		ds.lock = ws->w[ws->depth - 1].lock;
	}
	if (bpf_map_update_elem(&dstates, &tid, &ds, BPF_ANY))
		count(CNT_DSTATE_FULL);
}

static __always_inline void switch_in(void *ctx, struct task_struct *next, __u32 tid,
				      bool typed, __u64 now)
{
	struct dstate *ds;
	struct mm_event *e;
	__u64 wake, blocked, runq;
	__s32 stack_id = -1;
	__u8 cls, site;
	__u32 pid;

	ds = bpf_map_lookup_elem(&dstates, &tid);
	if (!ds)
		return;
	wake = ds->wake_ts && ds->wake_ts <= now ? ds->wake_ts : now;
	blocked = wake > ds->ts ? wake - ds->ts : 0;
	runq = now - wake;
	cls = ds->cls;
	site = context_site(tid);
	if (!ds->in_lock && typed && blocked + runq >= stack_min_ns) {
		__u64 *ips = stack_buf();
		long n;

		if (ips) {
			n = bpf_get_task_stack(next, ips, MMLOCK_STACK_DEPTH * sizeof(__u64), 0);
			if (n > 0)
				stack_id = classify_scratch(n, &cls, &site);
			else
				count(CNT_STACK_FAIL);
		}
	}
	hist_add(next, tid, KIND_DSTATE, cls, site, blocked, runq);
	stack_add(tid, stack_id, KIND_DSTATE, cls, site, blocked);
	/* No lock tracepoint saw these: count them as lock waits too. */
	if (!ds->in_lock && ((cls == CLASS_FOLIO && !folio_probed) || cls == CLASS_VMA_WRITE)) {
		hist_add(next, tid, KIND_LOCK, cls, site, blocked + runq, 0);
		ioctl_add_wait(tid, cls, blocked + runq);
	}

	e = event_reserve(blocked);
	if (e) {
		pid = BPF_CORE_READ(next, tgid);
		e->ts_ns = ds->ts;
		e->dur_ns = blocked;
		e->addr = ds->lock;
		e->aux_ns = runq;
		e->pid = pid;
		e->tid = tid;
		e->flags = ds->in_lock;
		e->stack_id = stack_id;
		e->ret = 0;
		e->other_tid = ds->waker;
		e->kind = KIND_DSTATE;
		e->cls = cls;
		e->site = site;
		e->blame_cls = 0;
		e->blame_ns = e->preempt_ns = 0;
		BPF_CORE_READ_STR_INTO(&e->comm, next, comm);
		event_submit(e);
	}
	bpf_map_delete_elem(&dstates, &tid);
}

static __always_inline void wakeup(struct task_struct *p)
{
	struct dstate *ds;
	__u32 tid = BPF_CORE_READ(p, pid);

	ds = bpf_map_lookup_elem(&dstates, &tid);
	if (ds && !ds->wake_ts) {
		ds->wake_ts = bpf_ktime_get_boot_ns();
		ds->waker = (__u32)bpf_get_current_pid_tgid();
	}
}

static __always_inline void on_switch(void *ctx, bool preempt, struct task_struct *prev,
				      struct task_struct *next, unsigned int prev_state, bool typed)
{
	__u32 ptid, ntid;
	__u64 now;

	if (want_task(prev, &ptid)) {
		now = bpf_ktime_get_boot_ns();
		ioctl_switch_out(prev, ptid, preempt ? 0 : prev_state, now);
		switch_out(prev, ptid, prev_state, preempt, now);
	}
	if (want_task(next, &ntid)) {
		now = bpf_ktime_get_boot_ns();
		ioctl_switch_in(next, ntid, now);
		switch_in(ctx, next, ntid, typed, now);
	}
}

SEC("tp_btf/sched_switch")
int BPF_PROG(sched_switch_btf, bool preempt, struct task_struct *prev,
	     struct task_struct *next, unsigned int prev_state)
{
	on_switch(ctx, preempt, prev, next, prev_state, true);
	return 0;
}

SEC("raw_tp/sched_switch")
int BPF_PROG(sched_switch_raw, bool preempt, struct task_struct *prev,
	     struct task_struct *next, unsigned int prev_state)
{
	on_switch(ctx, preempt, prev, next, prev_state, false);
	return 0;
}

SEC("tp_btf/sched_wakeup")
int BPF_PROG(sched_wakeup_btf, struct task_struct *p)
{
	wakeup(p);
	return 0;
}

SEC("raw_tp/sched_wakeup")
int BPF_PROG(sched_wakeup_raw, struct task_struct *p)
{
	wakeup(p);
	return 0;
}
