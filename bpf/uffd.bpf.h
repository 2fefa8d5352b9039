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

static __always_inline void ioctl_finish(struct task_struct *t, __u32 tid, struct thread_state *ts,
					 __u64 end)
{
	struct inflight *in = &ts->io;
	__u64 dur = end - in->ts, blame_ns = 0;
	__u8 nr = in->cmd & 0xff, blame = CLASS_OTHER;
	struct mm_event *e;

	in->state = IOCTL_NONE;
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
	e->preempt_ns = in->preempt_ns;
	BPF_CORE_READ_STR_INTO(&e->comm, t, comm);
	event_submit(e);
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
static __always_inline void ioctl_switch_out(struct task_struct *prev, __u32 tid,
					     struct thread_state *ts, bool runnable, __u64 now,
					     int syscall_path)
{
	struct inflight *in = &ts->io;

	switch (in->state) {
	case IOCTL_IN_KERNEL:
		/* Still set: its switch-in was not seen, and that preemption's length is unknown. */
		if (in->preempt_ts)
			count(CNT_SWITCH_IN_UNSEEN);
		in->preempt_ts = runnable ? now : 0;
		break;
	case IOCTL_EXITED:
		if (runnable && now - in->exit_ts < RETURN_PATH_NS && syscall_path) {
			in->state = IOCTL_RESCHEDULED;
			in->preempt_ts = now;
		}
		else
			ioctl_finish(prev, tid, ts, in->exit_ts);
		break;
	case IOCTL_RESCHEDULED:
		ioctl_resumed_unseen(prev, tid, ts);
		break;
	}
}

/* sched_switch, next side: a rescheduled return path ends at switch-in. */
static __always_inline void ioctl_switch_in(struct task_struct *next, __u32 tid,
					    struct thread_state *ts, __u64 now)
{
	struct inflight *in = &ts->io;

	if (in->preempt_ts) {
		in->preempt_ns += now - in->preempt_ts;
		in->preempt_ts = 0;
	}
	if (in->state == IOCTL_RESCHEDULED)
		ioctl_finish(next, tid, ts, now);
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
	in->preempt_ts = in->preempt_ns = 0;
	in->len = 0;
	in->ret = 0;
	in->arg = arg;
	in->cmd = cmd;
	in->ts = bpf_ktime_get_boot_ns();
	in->state = IOCTL_IN_KERNEL;
	return 0;
}

/* cmd: the ioctl's command where the probe knows it, else 0. */
static __always_inline int ioctl_exit(long ret, __u32 cmd)
{
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
	in->exit_ts = bpf_ktime_get_boot_ns();
	in->ret = ret;
	/* The ioctl's struct is still valid here; read it only for an event. */
	if (want_events && in->exit_ts - in->ts >= min_slice_ns)
		in->len = uffd_len(in->cmd & 0xff, in->arg);
	/* Ended by the next switch-out, the next uffd ioctl, or userspace at the end. */
	in->state = IOCTL_EXITED;
	return 0;
}

#endif
