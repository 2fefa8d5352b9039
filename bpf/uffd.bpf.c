// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * uffd ioctl latency: syscalls:sys_enter_ioctl .. sys_exit_ioctl, for ioctl
 * commands of type 0xAA (UFFDIO_*). The in-flight entry also tells the lock
 * and D-state programs which uffd operation the thread is in (their site).
 */
#include "uffd.bpf.h"

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

/*
 * Preferred: raw_syscalls through tp_btf. A direct call, no perf buffer, and
 * not skipped while another CPU-local BPF user holds bpf_prog_active (the
 * perf-based syscall tracepoints below are, e.g. while mmlock itself reads
 * a map). It runs for every syscall: the syscall number is tested first.
 */
#if defined(__TARGET_ARCH_x86)
#define NR_IOCTL 16
#define SYSCALL_NR(regs) BPF_CORE_READ(regs, orig_ax)
#elif defined(__TARGET_ARCH_arm64)
#define NR_IOCTL 29
#define SYSCALL_NR(regs) BPF_CORE_READ(regs, syscallno)
#endif

SEC("tp_btf/sys_enter")
int BPF_PROG(uffd_ioctl_enter_btf, struct pt_regs *regs, long id)
{
	if (id != NR_IOCTL)
		return 0;
	return ioctl_enter(PT_REGS_PARM2_CORE_SYSCALL(regs), PT_REGS_PARM3_CORE_SYSCALL(regs));
}

SEC("tp_btf/sys_exit")
int BPF_PROG(uffd_ioctl_exit_btf, struct pt_regs *regs, long ret)
{
	if (SYSCALL_NR(regs) != NR_IOCTL)
		return 0;
	return ioctl_exit(ret);
}

SEC("tracepoint/syscalls/sys_enter_ioctl")
int uffd_ioctl_enter(struct trace_event_raw_sys_enter *ctx)
{
	return ioctl_enter(ctx->args[1], ctx->args[2]);
}

SEC("tracepoint/syscalls/sys_exit_ioctl")
int uffd_ioctl_exit(struct trace_event_raw_sys_exit *ctx)
{
	return ioctl_exit(ctx->ret);
}
