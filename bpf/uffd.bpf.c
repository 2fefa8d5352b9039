// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * uffd ioctl latency: syscalls:sys_enter_ioctl .. sys_exit_ioctl, for ioctl
 * commands of type 0xAA (UFFDIO_*). The in-flight entry also tells the lock
 * and D-state programs which uffd operation the thread is in (their site).
 */
#include "common.bpf.h"

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

SEC("tracepoint/syscalls/sys_enter_ioctl")
int uffd_ioctl_enter(struct trace_event_raw_sys_enter *ctx)
{
	__u32 cmd = (__u32)ctx->args[1], tid;
	struct inflight in = {};

	if (((cmd >> 8) & 0xff) != UFFD_IOCTL_TYPE)
		return 0;
	if (!want_current())
		return 0;
	tid = (__u32)bpf_get_current_pid_tgid();
	in.cmd = cmd;
	in.len = uffd_len(cmd & 0xff, ctx->args[2]);
	in.ts = bpf_ktime_get_boot_ns();
	if (bpf_map_update_elem(&ioctls, &tid, &in, BPF_ANY))
		count(CNT_IOCTL_FULL);
	return 0;
}

SEC("tracepoint/syscalls/sys_exit_ioctl")
int uffd_ioctl_exit(struct trace_event_raw_sys_exit *ctx)
{
	__u32 tid = (__u32)bpf_get_current_pid_tgid();
	struct inflight *in;
	struct mm_event *e;
	__u64 dur;
	__u8 nr;
	long ret;

	in = bpf_map_lookup_elem(&ioctls, &tid);
	if (!in)
		return 0;
	dur = bpf_ktime_get_boot_ns() - in->ts;
	ret = ctx->ret;
	nr = in->cmd & 0xff;
	hist_add((struct task_struct *)bpf_get_current_task(), tid, KIND_IOCTL, nr,
		 uffd_site(nr), dur, ret < 0 ? 1 : 0);
	e = event_reserve(dur);
	if (e) {
		e->ts_ns = in->ts;
		e->dur_ns = dur;
		e->addr = 0;
		e->aux_ns = in->len;
		e->pid = bpf_get_current_pid_tgid() >> 32;
		e->tid = tid;
		e->flags = in->cmd;
		e->stack_id = -1;
		e->ret = ret;
		e->other_tid = 0;
		e->kind = KIND_IOCTL;
		e->cls = nr;
		e->site = uffd_site(nr);
		e->pad = 0;
		bpf_get_current_comm(e->comm, sizeof(e->comm));
		event_submit(e);
	}
	bpf_map_delete_elem(&ioctls, &tid);
	return 0;
}
