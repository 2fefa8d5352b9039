// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The floor of any syscall-hook design: the same two raw_syscalls tp_btf
 * hooks mmlock's uffd latency uses, each testing the syscall number and
 * nothing else. While they are attached every syscall of every task takes
 * the tracing slow path (SYSCALL_WORK_SYSCALL_TRACEPOINT) and a BPF dispatch.
 * bench/run.sh runs it as the "hook-floor" configuration, so mmlock's and
 * bpftrace's costs can be split into that floor and their own work.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include "syscall.bpf.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

__u64 hits;

SEC("tp_btf/sys_enter")
int BPF_PROG(floor_enter, struct pt_regs *regs, long id)
{
	if (id == NR_IOCTL)
		hits++;
	return 0;
}

SEC("tp_btf/sys_exit")
int BPF_PROG(floor_exit, struct pt_regs *regs, long ret)
{
	if (SYSCALL_NR(regs) == NR_IOCTL)
		hits++;
	return 0;
}
