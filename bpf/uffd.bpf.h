/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The uffd ioctl state machine (struct inflight in the thread's state),
 * shared by the syscall hooks (uffd.bpf.c), the userfaultfd_ioctl probes
 * (mmprobes.bpf.c) and sched_switch (dstate.bpf.c).
 */
#ifndef MMLOCK_UFFD_BPF_H
#define MMLOCK_UFFD_BPF_H

#include "helpers.bpf.h"

/* A switch-out this soon after the exit is the return path's reschedule. */
#define RETURN_PATH_NS 50000

/*
 * Spinning and interrupts happened while it ran: cut them out of its on-CPU
 * time. Never more than that time (a switch-in not seen shortens it): what
 * does not fit is left to the remainder, never counted twice.
 */
static __always_inline void ioctl_carve(struct inflight *in)
{
	__u64 on = in->parts[PART_ON_CPU], spin = in->parts[PART_LOCK_SPIN];
	__u64 irq = in->parts[PART_INTERRUPTED], rws = in->parts[PART_RWSEM_SPIN];

	if (spin > on)
		spin = on;
	if (irq > on - spin)
		irq = on - spin;
	if (rws > on - spin - irq)
		rws = on - spin - irq;
	in->parts[PART_LOCK_SPIN] = spin;
	in->parts[PART_INTERRUPTED] = irq;
	in->parts[PART_RWSEM_SPIN] = rws;
	in->parts[PART_ON_CPU] = on - spin - irq - rws;
}

/*
 * [rwspin] A writer entered rwsem_down_write_slowpath inside the ioctl
 * (probe "rwsem_spin"). Until its first lock wait (contention_begin: the
 * rwsem's own, or the wait_lock's) or its return, it spins optimistically
 * on the owner (rwsem_optimistic_spin, inlined there; no tracepoint). Only
 * its on-CPU stretches count (a preemption before preempt_disable is
 * `preempted`), and interrupts' lock waits in it stay `interrupted`.
 * Task context, the thread's own state: no lock taken (THE LOCK RULE).
 */
static __always_inline void rwspin_begin(void)
{
	__u32 tid = (__u32)bpf_get_current_pid_tgid();
	struct thread_state *ts = tstate(tid, false);
	struct cpu_state *cs;
	struct inflight *in;

	if (!ts || ts->io.state != IOCTL_IN_KERNEL)
		return;
	in = &ts->io;
	in->rws_open = 1;
	in->rws_ns = 0;
	in->rws_irq = in->parts[PART_INTERRUPTED];
	in->rws_ts = bpf_ktime_get_boot_ns();
	cs = cpu_state();
	if (cs)
		cs->rws_tid = tid;
}

static __always_inline void rwspin_close(struct inflight *in)
{
	in->rws_open = 0;
	in->rws_ts = 0;
	in->rws_ns = 0;
}

static __always_inline void rwspin_end(struct inflight *in, __u64 now)
{
	__u64 ns = in->rws_ns, irq;

	if (!in->rws_open)
		return;
	if (in->rws_ts && now > in->rws_ts)
		ns += now - in->rws_ts;
	irq = in->parts[PART_INTERRUPTED] - in->rws_irq;
	in->parts[PART_RWSEM_SPIN] += ns > irq ? ns - irq : 0;
	rwspin_close(in);
}

/* The slow path returned (its spin took the lock, or it was woken with it). */
static __always_inline void rwspin_return(void)
{
	struct thread_state *ts = tstate((__u32)bpf_get_current_pid_tgid(), false);

	if (ts && ts->io.rws_open)
		rwspin_end(&ts->io, bpf_ktime_get_boot_ns());
}

/* A task-context lock wait begins on this CPU: the spin before it ends. */
static __always_inline void rwspin_wait_begins(struct cpu_state *cs)
{
	__u32 tid = (__u32)bpf_get_current_pid_tgid();
	struct thread_state *ts;

	if (cs->rws_tid != tid)
		return;
	cs->rws_tid = 0;
	ts = tstate(tid, false);	/* lookup only: this may be a spin wait's begin */
	if (ts && ts->io.rws_open)
		rwspin_end(&ts->io, bpf_ktime_get_boot_ns());
}

/* Open at the ioctl's exit or next entry: its return was not seen. Dropped (stays on_cpu). */
static __always_inline void rwspin_drop(struct inflight *in)
{
	if (!in->rws_open)
		return;
	count(CNT_RWSPIN_UNCLOSED);
	rwspin_close(in);
}

static __always_inline void ioctl_finish(struct task_struct *t, __u32 tid, struct thread_state *ts,
					 __u64 end)
{
	struct inflight *in = &ts->io;
	__u64 dur = end - in->ts, blame_ns = 0;
	__u8 nr = in->cmd & 0xff, blame = CLASS_OTHER;
	struct mm_event *e;

	in->state = IOCTL_NONE;
	/* Running until its end: that stretch was on CPU. */
	if (in->on_ts && end > in->on_ts)
		in->parts[PART_ON_CPU] += end - in->on_ts;
	in->on_ts = 0;
	ioctl_carve(in);
	if (mm_ioctl_hist(ts, tid, nr, dur, in->ret < 0 ? 1 : 0) > 0)
		note_thread(tid, t);
	e = event_reserve(dur);
	if (!e)
		return;
	for (int c = 0; c < NR_CLASSES; c++)
		if (in->wait_ns[c] > blame_ns) {
			blame_ns = in->wait_ns[c];
			blame = c;
		}
	event_init(e, in->ts, dur, BPF_CORE_READ(t, tgid), tid, KIND_IOCTL, nr, mm_uffd_site(nr));
	e->aux_ns = in->len;
	e->flags = in->cmd;
	e->ret = in->ret;
	e->blame_cls = blame;
	e->blame_ns = blame_ns;
	e->other_tid = in->top_by_tid;
	e->by_ns = in->top_by_ns;
	__builtin_memcpy(e->by_comm, in->top_by_comm, sizeof(e->by_comm));
	for (int i = 0; i < NR_PARTS; i++)
		e->parts[i] = in->parts[i];
	BPF_CORE_READ_STR_INTO(&e->comm, t, comm);
	event_submit(e);
}

/*
 * Switched out inside the ioctl (or on its return path): its on-CPU stretch
 * ends. Preempted: remember who was switched in (the first to run instead).
 * Asleep: the part its blocked time goes to, from the lock wait it sleeps in
 * (D-state with none: CLASS_IO, refined from the stack at switch-in).
 */
static __always_inline void ioctl_off(struct thread_state *ts, struct task_struct *next,
				      bool runnable, bool dstate, __u64 now)
{
	struct inflight *in = &ts->io;
	__u32 d = ts->depth;

	if (in->on_ts && now > in->on_ts)
		in->parts[PART_ON_CPU] += now - in->on_ts;
	in->on_ts = 0;
	if (in->rws_ts && now > in->rws_ts)
		in->rws_ns += now - in->rws_ts;
	in->rws_ts = 0;
	in->off_ts = 0;
	in->preempt_ts = 0;
	if (runnable) {
		in->preempt_ts = now;
		in->by_tid = BPF_CORE_READ(next, pid);
		BPF_CORE_READ_STR_INTO(&in->by_comm, next, comm);
		return;
	}
	in->off_ts = now;
	in->wake_ts = 0;
	if (d > 0 && d <= WAIT_DEPTH)
		in->off_slot = ts->w[(d - 1) & (WAIT_DEPTH - 1)].cls;
	else
		in->off_slot = dstate ? CLASS_IO : PART_SLEEP;
}

/*
 * The thread runs (it is switching out, entering an ioctl, exiting) while its
 * ioctl waits for the switch-in that ends the return path: that switch-in was
 * not seen. The kernel does not trace every switch (on some hosts the switch
 * out of some tasks is hidden; elsewhere a program run is skipped), so the
 * ioctl is ended at its switch-out: never lost, and never longer than it was.
 */
static __always_inline void ioctl_resumed_unseen(struct task_struct *t, __u32 tid,
						 struct thread_state *ts)
{
	count(CNT_SWITCH_IN_UNSEEN);
	ioctl_finish(t, tid, ts, ts->io.preempt_ts);
}

/*
 * sched_switch, prev side: preempted inside the ioctl, or on its way out.
 * syscall_path: 1 if the thread is still in the ioctl syscall (its user
 * registers say so), 0 if not (preempted in user space after returning, or
 * in another syscall), -1 if unknown (raw_tp: no typed task).
 */
static __always_inline void ioctl_switch_out(struct task_struct *prev, struct task_struct *next,
					     __u32 tid, struct thread_state *ts, bool runnable,
					     bool dstate, __u64 now, int syscall_path)
{
	struct inflight *in = &ts->io;

	switch (in->state) {
	case IOCTL_IN_KERNEL:
		/* Still set: its switch-in was not seen, and that preemption's length is unknown. */
		if (in->preempt_ts)
			count(CNT_SWITCH_IN_UNSEEN);
		ioctl_off(ts, next, runnable, dstate, now);
		break;
	case IOCTL_EXITED:
		if (runnable && now - in->exit_ts < RETURN_PATH_NS && syscall_path) {
			in->state = IOCTL_RESCHEDULED;
			ioctl_off(ts, next, true, false, now);
		}
		else
			ioctl_finish(prev, tid, ts, in->exit_ts);
		break;
	case IOCTL_RESCHEDULED:
		ioctl_resumed_unseen(prev, tid, ts);
		break;
	}
}

/*
 * A sleep of the ioctl's, switched out at `off`, woken at `wake` (0: not
 * yet), ended or read at `now`: blocked time to its slot (a lock class or
 * PART_SLEEP), woken .. now to PART_RUNNABLE. One rule for the switch-in
 * that closes it and for the owner clock that reads it open (ioctl_clock).
 */
static __always_inline void off_stretch(__u64 *parts, __u64 off, __u64 wake, __u64 slot, __u64 now)
{
	if (!wake || wake < off || wake > now)
		wake = now;
	/* The mask in asm (see ioctl_add_wait): every slot that can be set is below 16. */
	asm volatile("%0 &= %1" : "+r"(slot) : "i"(WAIT_CLASSES - 1));
	parts[slot] += wake - off;
	parts[PART_RUNNABLE] += now - wake;
}

/*
 * sched_switch, next side: the time off CPU goes to its part, and a
 * rescheduled return path ends here. ds_cls: the D-state period's class
 * from its stack (CLASS_IO if none was ending).
 */
static __always_inline void ioctl_switch_in(struct task_struct *next, __u32 tid,
					    struct thread_state *ts, __u64 now, __u8 ds_cls)
{
	struct inflight *in = &ts->io;

	if (in->preempt_ts) {
		__u64 d = now - in->preempt_ts;

		in->parts[PART_PREEMPTED] += d;
		if (d > in->top_by_ns) {
			in->top_by_ns = d;
			in->top_by_tid = in->by_tid;
			__builtin_memcpy(in->top_by_comm, in->by_comm, sizeof(in->top_by_comm));
		}
		in->preempt_ts = 0;
	}
	if (in->off_ts) {
		off_stretch(in->parts, in->off_ts, in->wake_ts,
			    in->off_slot == CLASS_IO ? ds_cls : in->off_slot, now);
		in->off_ts = 0;
	}
	in->on_ts = now;
	if (in->state == IOCTL_IN_KERNEL)
		note_io_cpu(tid);
	if (in->rws_open) {
		struct cpu_state *cs = cpu_state();

		in->rws_ts = now;
		if (cs)
			cs->rws_tid = tid;
	}
	if (in->state == IOCTL_RESCHEDULED)
		ioctl_finish(next, tid, ts, now);
}

/*
 * [chains] Another thread's uffd ioctl clock as of `now` into out[NR_PARTS]:
 * the parts of all its ioctls so far, the stretch in progress included
 * (running, preempted, or asleep) if it is inside one. Read while that
 * thread's own CPU may be updating them: a stretch ending at this very
 * moment can be missed or seen twice; the caller clamps a part that went
 * down, and userspace trims parts above the window (parts_settle).
 */
static __always_inline void ioctl_clock(const struct inflight *in, __u64 now, __u64 *out)
{
	__u64 on = in->on_ts, pre = in->preempt_ts, off = in->off_ts;

	for (int k = 0; k < NR_PARTS; k++)
		out[k] = in->done_parts[k] + in->parts[k];
	if (in->state == IOCTL_NONE)
		return;	/* ended: its stretches are closed (ioctl_finish) */
	if (on && now > on)
		out[PART_ON_CPU] += now - on;
	if (pre && now > pre)
		out[PART_PREEMPTED] += now - pre;
	if (off && now > off)
		off_stretch(out, off, in->wake_ts, in->off_slot, now);
}

/* A lock wait (or a D-state wait no lock event saw) inside a uffd ioctl. */
static __always_inline void ioctl_add_wait(struct thread_state *ts, __u8 cls, __u64 dur)
{
	__u64 i = cls;

	/* The mask in asm: clang may drop a C mask, and 6.1's verifier then loses the bound. */
	asm volatile("%0 &= %1" : "+r"(i) : "i"(WAIT_CLASSES - 1));
	if (ts->io.state == IOCTL_IN_KERNEL) {
		ts->io.wait_ns[i] += dur;
		ts->io.waited |= 1U << i;
	}
}

/* A task-context spin wait inside the ioctl; own_ns: without interrupts nested in it. */
static __always_inline void ioctl_add_spin(struct thread_state *ts, __u64 own_ns)
{
	if (ts->io.state == IOCTL_IN_KERNEL)
		ts->io.parts[PART_LOCK_SPIN] += own_ns;
}

/* Pages asked for: uffdio_copy/move {dst, src, len, ...}; others {{start, len}, ...}. */
static __always_inline __u64 uffd_len(__u32 nr, unsigned long arg)
{
	__u64 len = 0;

	switch (nr) {
	case UFFD_CMD_COPY:
	case UFFD_CMD_MOVE:
		bpf_probe_read_user(&len, sizeof(len), (void *)(arg + 16));
		break;
	case UFFD_CMD_ZEROPAGE:
	case UFFD_CMD_CONTINUE:
	case UFFD_CMD_POISON:
	case UFFD_CMD_WAKE:
	case UFFD_CMD_WRITEPROTECT:
	case UFFD_CMD_REGISTER:
	case UFFD_CMD_UNREGISTER:
		bpf_probe_read_user(&len, sizeof(len), (void *)(arg + 8));
		break;
	}
	return len;
}

static __always_inline int ioctl_enter(__u32 cmd, unsigned long arg)
{
	struct thread_state *ts;
	struct inflight *in;
	__u32 tid;

	if (((cmd >> 8) & 0xff) != UFFD_IOCTL_TYPE || !want_current())
		return 0;
	tid = (__u32)bpf_get_current_pid_tgid();
	ts = tstate(tid, true);
	if (!ts)
		return 0;
	in = &ts->io;
	switch (in->state) {
	case IOCTL_EXITED:	/* the previous one returned to user space without a switch */
		ioctl_finish((struct task_struct *)bpf_get_current_task(), tid, ts, in->exit_ts);
		break;
	case IOCTL_RESCHEDULED:
		ioctl_resumed_unseen((struct task_struct *)bpf_get_current_task(), tid, ts);
		break;
	case IOCTL_IN_KERNEL:	/* its end is unknown: not counted, but said */
		count(CNT_IOCTL_EXIT_UNSEEN);
		break;
	}
	if (in->waited) {
		for (int c = 0; c < WAIT_CLASSES; c++)
			in->wait_ns[c] = 0;
		in->waited = 0;
	}
	in->preempt_ts = in->off_ts = 0;
	rwspin_drop(in);
	/* Into the thread's clock (ioctl_clock); zero when this is its first. */
	for (int i = 0; i < NR_PARTS; i++) {
		in->done_parts[i] += in->parts[i];
		in->parts[i] = 0;
	}
	in->top_by_ns = 0;
	in->top_by_tid = 0;
	__builtin_memset(in->top_by_comm, 0, sizeof(in->top_by_comm));
	in->len = 0;
	in->ret = 0;
	in->arg = arg;
	in->cmd = cmd;
	in->ts = bpf_ktime_get_boot_ns();
	in->on_ts = in->ts;
	in->state = IOCTL_IN_KERNEL;
	note_io_cpu(tid);
	return 0;
}

/* cmd: the ioctl's command where the probe knows it, else 0. */
static __always_inline int ioctl_exit(long ret, __u32 cmd)
{
	__u64 now;
	__u32 tid = (__u32)bpf_get_current_pid_tgid();
	struct thread_state *ts = tstate(tid, false);
	struct inflight *in;

	if (!ts || ts->io.state != IOCTL_IN_KERNEL) {
		/* A uffd ioctl of a thread we follow whose entry was not seen. */
		if (((cmd >> 8) & 0xff) == UFFD_IOCTL_TYPE && want_current())
			count(CNT_IOCTL_ENTRY_UNSEEN);
		return 0;
	}
	in = &ts->io;
	/* Preempted in the ioctl and running again, but that switch-in was not seen. */
	if (in->preempt_ts) {
		count(CNT_SWITCH_IN_UNSEEN);
		in->preempt_ts = 0;
	}
	/*
	 * The sampler (an interrupt on this CPU) files a sample under the ioctl
	 * only while exit_ts is older than its start. Mark the exit before the
	 * clock is read: a sample between the read and the store would else be
	 * filed under an ioctl that ended before it (seen under host load).
	 */
	*(volatile __u64 *)&in->exit_ts = ~0ULL;
	now = bpf_ktime_get_boot_ns();
	/* Test aid (MMLOCK_TEST_EXIT_DELAY_NS): the sampler interrupts this program after the end was taken. */
	if (test_exit_delay_ns)
		busy_wait(test_exit_delay_ns);
	in->exit_ts = now;
	rwspin_drop(in);
	/* Running, but since when is unknown if its switch-in was not seen: left unexplained. */
	in->off_ts = 0;
	if (!in->on_ts)
		in->on_ts = in->exit_ts;
	in->ret = ret;
	/* The ioctl's struct is still valid here; read it only for an event. */
	if (want_events && in->exit_ts - in->ts >= min_slice_ns)
		in->len = uffd_len(in->cmd & 0xff, in->arg);
	/* Ended by the next switch-out, the next uffd ioctl, or userspace at the end. */
	in->state = IOCTL_EXITED;
	return 0;
}

#endif
