// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * uffd ioctl latency: syscalls:sys_enter_ioctl .. sys_exit_ioctl, for ioctl
 * commands of type 0xAA (UFFDIO_*). The in-flight entry also tells the lock
 * and D-state programs which uffd operation the thread is in (their site).
 */
#include "uffd.bpf.h"

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
