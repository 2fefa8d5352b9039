// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * uffd ioctl latency from the syscall hooks, for ioctl commands of type 0xAA
 * (UFFDIO_*). Where fentry or kprobes work, userfaultfd_ioctl is hooked
 * instead (mmprobes.bpf.c): the ladder prefers that (kprobes first: see
 * src/record/ladder.c).
 *
 * Preferred here: raw_syscalls through tp_btf. A direct call with typed
 * arguments (no helper calls to read them), no perf buffer, and not skipped
 * while another CPU-local BPF user holds bpf_prog_active (the perf-based
 * syscalls:* tracepoints below are, e.g. while mmlock itself reads a map).
 * It runs for every syscall: the syscall number is tested first.
 */
#include "uffd.bpf.h"
#include "syscall.bpf.h"

SEC("tp_btf/sys_enter")
int BPF_PROG(uffd_ioctl_enter_btf, struct pt_regs *regs, long id)
{
	if (id != NR_IOCTL)
		return 0;
	return ioctl_enter(SYSCALL_ARG2(regs), SYSCALL_ARG3(regs));
}

SEC("tp_btf/sys_exit")
int BPF_PROG(uffd_ioctl_exit_btf, struct pt_regs *regs, long ret)
{
	if (SYSCALL_NR(regs) != NR_IOCTL)
		return 0;
	return ioctl_exit(ret, SYSCALL_ARG2(regs));
}

SEC("tracepoint/syscalls/sys_enter_ioctl")
int uffd_ioctl_enter(struct trace_event_raw_sys_enter *ctx)
{
	return ioctl_enter(ctx->args[1], ctx->args[2]);
}

SEC("tracepoint/syscalls/sys_exit_ioctl")
int uffd_ioctl_exit(struct trace_event_raw_sys_exit *ctx)
{
	return ioctl_exit(ctx->ret, 0);	/* no arguments at exit */
}
