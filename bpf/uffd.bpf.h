/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Ending a uffd ioctl: shared by uffd.bpf.c (sys_exit) and dstate.bpf.c (sched_switch). */
#ifndef MMLOCK_UFFD_BPF_H
#define MMLOCK_UFFD_BPF_H

#include "common.bpf.h"

/* A switch-out this soon after sys_exit is the return path's reschedule. */
#define RETURN_PATH_NS 50000

static __always_inline void ioctl_finish(struct task_struct *t, __u32 tid, struct inflight *in,
					 __u64 end)
{
	__u64 dur = end - in->ts, blame_ns = 0;
	__u8 nr = in->cmd & 0xff, blame = CLASS_OTHER;
	struct mm_event *e;

	for (int c = 0; c < NR_CLASSES; c++)
		if (in->wait_ns[c] > blame_ns) {
			blame_ns = in->wait_ns[c];
			blame = c;
		}
	hist_add(t, tid, KIND_IOCTL, nr, mm_uffd_site(nr), dur, in->ret < 0 ? 1 : 0);
	e = event_reserve(dur);
	if (e) {
		e->ts_ns = in->ts;
		e->dur_ns = dur;
		e->addr = 0;
		e->aux_ns = in->len;
		e->pid = BPF_CORE_READ(t, tgid);
		e->tid = tid;
		e->flags = in->cmd;
		e->stack_id = -1;
		e->ret = in->ret;
		e->other_tid = 0;
		e->kind = KIND_IOCTL;
		e->cls = nr;
		e->site = mm_uffd_site(nr);
		e->blame_cls = blame;
		e->blame_ns = blame_ns;
		e->preempt_ns = in->preempt_ns;
		BPF_CORE_READ_STR_INTO(&e->comm, t, comm);
		event_submit(e);
	}
	bpf_map_delete_elem(&ioctls, &tid);
}

/* sched_switch, prev side: the exited ioctl of `prev` ends now or at its switch-in. */
static __always_inline void ioctl_switch_out(struct task_struct *prev, __u32 tid,
					     unsigned int prev_state, __u64 now)
{
	struct inflight *in = bpf_map_lookup_elem(&ioctls, &tid);

	if (!in)
		return;
	if (in->state == IOCTL_IN_KERNEL) {
		if (prev_state == 0)	/* preempted inside the ioctl */
			in->preempt_ts = now;
		return;
	}
	if (in->state != IOCTL_EXITED)
		return;
	if (prev_state == 0 && now - in->exit_ts < RETURN_PATH_NS)
		in->state = IOCTL_RESCHEDULED;
	else
		ioctl_finish(prev, tid, in, in->exit_ts);
}

/* sched_switch, next side: a rescheduled return path ends at switch-in. */
static __always_inline void ioctl_switch_in(struct task_struct *next, __u32 tid, __u64 now)
{
	struct inflight *in = bpf_map_lookup_elem(&ioctls, &tid);

	if (!in)
		return;
	if (in->preempt_ts) {
		in->preempt_ns += now - in->preempt_ts;
		in->preempt_ts = 0;
	}
	if (in->state == IOCTL_RESCHEDULED)
		ioctl_finish(next, tid, in, now);
}

/* A lock wait (or a D-state wait no lock event saw) inside a uffd ioctl. */
static __always_inline void ioctl_add_wait(__u32 tid, __u8 cls, __u64 dur)
{
	struct inflight *in = bpf_map_lookup_elem(&ioctls, &tid);

	if (in && in->state == IOCTL_IN_KERNEL && cls < NR_CLASSES)
		in->wait_ns[cls] += dur;
}

static __always_inline __u64 uffd_len(__u32 nr, unsigned long arg)
{
	__u64 len = 0;

	/* uffdio_copy / uffdio_move: {dst, src, len, ...}; zeropage/continue: {{start, len}, ...} */
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
	static const struct inflight zero;
	struct inflight *prev;
	__u32 tid;

	if (((cmd >> 8) & 0xff) != UFFD_IOCTL_TYPE)
		return 0;
	if (!want_current())
		return 0;
	tid = (__u32)bpf_get_current_pid_tgid();
	/* The previous ioctl returned to user space without a switch. */
	prev = bpf_map_lookup_elem(&ioctls, &tid);
	if (prev && prev->state == IOCTL_EXITED)
		ioctl_finish((struct task_struct *)bpf_get_current_task(), tid, prev, prev->exit_ts);
	if (bpf_map_update_elem(&ioctls, &tid, &zero, BPF_ANY)) {
		count(CNT_IOCTL_FULL);
		return 0;
	}
	/* Filled in place: the entry is too large for the BPF stack. */
	prev = bpf_map_lookup_elem(&ioctls, &tid);
	if (!prev)
		return 0;
	prev->cmd = cmd;
	prev->len = uffd_len(cmd & 0xff, arg);
	prev->state = IOCTL_IN_KERNEL;
	prev->ts = bpf_ktime_get_boot_ns();
	return 0;
}

static __always_inline int ioctl_exit(long ret)
{
	__u32 tid = (__u32)bpf_get_current_pid_tgid();
	struct inflight *in;

	in = bpf_map_lookup_elem(&ioctls, &tid);
	if (!in || in->state != IOCTL_IN_KERNEL)
		return 0;
	/* Ended by the next switch-out, the next uffd ioctl, or userspace at the end. */
	in->exit_ts = bpf_ktime_get_boot_ns();
	in->ret = ret;
	in->state = IOCTL_EXITED;
	return 0;
}

#endif
