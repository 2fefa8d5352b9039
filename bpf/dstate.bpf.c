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
#include "syscall.bpf.h"

/* Switched out uninterruptible (not TASK_IDLE, not preempted): a D-state period starts. */
static __always_inline void ds_begin(struct thread_state *ts, __u64 now)
{
	__u32 d = ts->depth;

	ts->ds_ts = now;
	ts->ds_wake_ts = 0;
	ts->ds_waker = 0;
	ts->ds_in_lock = 0;
	ts->ds_cls = CLASS_IO;
	ts->ds_lock = 0;
	if (d > 0 && d <= WAIT_DEPTH) {
		struct wait_frame *w = &ts->w[(d - 1) & (WAIT_DEPTH - 1)];

		ts->ds_in_lock = 1;
		ts->ds_cls = w->cls;
		ts->ds_lock = w->lock;
	}
}

/*
 * Switched in again: the period ends (blocked = out .. wakeup, runnable =
 * wakeup .. in). Returns its class (from the stack if no lock wait said).
 */
static __always_inline __u8 ds_end(void *ctx, struct thread_state *ts, struct task_struct *next,
				   __u32 tid, bool typed, __u64 now)
{
	__u64 wake, blocked, runq;
	struct mm_event *e;
	__s32 stack_id = -1;
	__u8 cls, site;

	wake = ts->ds_wake_ts && ts->ds_wake_ts <= now ? ts->ds_wake_ts : now;
	blocked = wake > ts->ds_ts ? wake - ts->ds_ts : 0;
	runq = now - wake;
	cls = ts->ds_cls;
	site = context_site(ts);
	if (!ts->ds_in_lock && typed && blocked + runq >= stack_min_ns) {
		__u64 *ips = stack_buf(CTX_TASK);
		long n;

		if (ips) {
			n = bpf_get_task_stack(next, ips, MMLOCK_STACK_DEPTH * sizeof(__u64), 0);
			if (n > 0)
				stack_id = classify_scratch(n, CTX_TASK, true, &cls, &site);
			else
				count(CNT_STACK_FAIL);
		}
	}
	hist_add(next, tid, KIND_DSTATE, cls, site, blocked, runq);
	stack_add(tid, stack_id, KIND_DSTATE, cls, site, blocked);
	/* No lock tracepoint saw these: count them as lock waits too. */
	if (!ts->ds_in_lock && ((cls == CLASS_FOLIO && !folio_probed) || cls == CLASS_VMA_WRITE)) {
		hist_add(next, tid, KIND_LOCK, cls, site, blocked + runq, 0);
		ioctl_add_wait(ts, cls, blocked + runq);
	}
	e = event_reserve(blocked);
	if (e) {
		event_init(e, ts->ds_ts, blocked, BPF_CORE_READ(next, tgid), tid, KIND_DSTATE, cls, site);
		e->addr = ts->ds_lock;
		e->aux_ns = runq;
		e->flags = ts->ds_in_lock;
		e->stack_id = stack_id;
		e->other_tid = ts->ds_waker;
		if (ts->ds_waker)
			__builtin_memcpy(e->by_comm, ts->ds_waker_comm, sizeof(e->by_comm));
		BPF_CORE_READ_STR_INTO(&e->comm, next, comm);
		event_submit(e);
	}
	ts->ds_ts = 0;
	return cls;
}

static __always_inline void wakeup(struct task_struct *p, bool typed)
{
	__u32 tid = typed ? p->pid : BPF_CORE_READ(p, pid);
	struct thread_state *ts;

	/* Untraced tasks stop here, before any map lookup (-c is left to the lookup: cheaper than comm). */
	if ((targ_tid && tid != targ_tid) ||
	    (targ_tgid && (typed ? p->tgid : BPF_CORE_READ(p, tgid)) != targ_tgid))
		return;
	ts = tstate(tid, false);
	if (!ts)
		return;
	if (ts->ds_ts && !ts->ds_wake_ts) {
		ts->ds_wake_ts = bpf_ktime_get_boot_ns();
		ts->ds_waker = (__u32)bpf_get_current_pid_tgid();
		/* [chains] the waker by name: it may be outside the recording's filter. */
		bpf_get_current_comm(ts->ds_waker_comm, sizeof(ts->ds_waker_comm));
	}
	/* Asleep inside a uffd ioctl (D-state or not): its blocked part ends here. */
	if (ts->io.off_ts && !ts->io.wake_ts)
		ts->io.wake_ts = ts->ds_ts ? ts->ds_wake_ts : bpf_ktime_get_boot_ns();
}

/* Filter a task; typed (tp_btf) pointers are read directly, raw ones through helpers. */
static __always_inline bool want_switch_task(struct task_struct *t, bool typed, __u32 *tid)
{
	__u32 pid = typed ? t->pid : BPF_CORE_READ(t, pid);

	*tid = pid;
	if (!pid)
		return false;
	if (!targ_tgid && !targ_tid && !filter_comm)
		return true;
	if (!typed)
		return want(t, BPF_CORE_READ(t, tgid), pid);
	/* Typed: every test a plain load, no helper call (the untraced switch costs only this). */
	if ((targ_tgid && t->tgid != targ_tgid) || (targ_tid && pid != targ_tid))
		return false;
	return !filter_comm || comm_eq(t->comm) || comm_eq(t->group_leader->comm);
}

/*
 * Is a runnable task that is being switched out still in its ioctl syscall
 * (the return path's reschedule), or already back in user space (preempted
 * by an interrupt there: its user registers then hold the interrupt's frame,
 * whose syscall number is not the ioctl's)? -1: unknown (raw_tp).
 */
static __always_inline int in_ioctl_syscall(struct task_struct *t, bool typed)
{
	struct pt_regs *regs;

	if (!typed)
		return -1;
	regs = (struct pt_regs *)bpf_task_pt_regs(t);
	return regs && (long)SYSCALL_NR(regs) == NR_IOCTL;
}

/* Does a switch of this thread have anything to end or account (an ioctl, a D-state period)? */
static __always_inline bool ts_busy(const struct thread_state *ts)
{
	return ts->io.state != IOCTL_NONE || ts->ds_ts;
}

static __always_inline void on_switch(void *ctx, bool preempt, struct task_struct *prev,
				      struct task_struct *next, unsigned int prev_state, bool typed)
{
	bool dstate = !preempt && (prev_state & TASK_UNINTERRUPTIBLE) && !(prev_state & TASK_NOLOAD);
	bool runnable = preempt || prev_state == 0;
	struct thread_state *ts;
	__u32 ptid, ntid;
	__u64 now = 0;

	if (want_switch_task(prev, typed, &ptid)) {
		ts = tstate(ptid, dstate);
		/* Nothing in flight and not going to sleep: no clock read (slow under a hypervisor). */
		if (ts && (dstate || ts_busy(ts))) {
			now = bpf_ktime_get_boot_ns();
			if (ts->io.state != IOCTL_NONE)
				ioctl_switch_out(prev, next, ptid, ts, runnable, dstate, now,
						 ts->io.state == IOCTL_EXITED && runnable ?
						 in_ioctl_syscall(prev, typed) : -1);
			/* Running, yet a D-state period waits for its switch-in: that was not seen. */
			if (ts->ds_ts) {
				count(CNT_SWITCH_IN_UNSEEN);
				ts->ds_ts = 0;
			}
			if (dstate)
				ds_begin(ts, now);
		}
	}
	if (want_switch_task(next, typed, &ntid)) {
		ts = tstate(ntid, false);
		if (ts && ts_busy(ts)) {
			__u8 ds_cls = CLASS_IO;

			if (!now)
				now = bpf_ktime_get_boot_ns();
			/* First: the ioctl's blocked part takes the class found from the stack. */
			if (ts->ds_ts)
				ds_cls = ds_end(ctx, ts, next, ntid, typed, now);
			if (ts->io.state != IOCTL_NONE)
				ioctl_switch_in(next, ntid, ts, now, ds_cls);
		}
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
	wakeup(p, true);
	return 0;
}

SEC("raw_tp/sched_wakeup")
int BPF_PROG(sched_wakeup_raw, struct task_struct *p)
{
	wakeup(p, false);
	return 0;
}
