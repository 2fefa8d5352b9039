// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The floor of any syscall-hook design, and two steps above it: the same two
 * raw_syscalls tp_btf hooks mmlock's uffd latency uses.
 *   level 0  test the syscall number and nothing else. While the hooks are
 *            attached every syscall of every task takes the tracing slow path
 *            (SYSCALL_WORK_SYSCALL_TRACEPOINT) and a BPF dispatch.
 *   level 1  and, for ioctls, find the thread's state in a hash map shaped
 *            like mmlock's `tstates` (same key and value size), made on entry.
 *   level 2  and read the clock on entry and exit: the least a per-ioctl
 *            latency tracer can do.
 *   level 3  none of the above: instead, empty tp_btf programs on sched_switch
 *            and sched_wakeup, as mmlock's D-state/ioctl programs
 *            (bpf/dstate.bpf.c) attach. Two BPF dispatches per context
 *            switch: the floor of any design that sees switches and wakeups
 *            with BPF, against which mmlock's sched programs are measured.
 * bench/run.sh runs them as hook-floor, hook-state, hook-clock and
 * sched-floor, so a tracer's cost can be split into the floor, these steps
 * and its own work.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include "mmlock.h"
#include "syscall.bpf.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

const volatile __u32 level;
__u64 hits;

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 8192);
	__type(key, __u32);
	__type(value, struct thread_state);
} states SEC(".maps");

static __always_inline struct thread_state *state(bool create)
{
	static const struct thread_state zero;
	__u32 tid = (__u32)bpf_get_current_pid_tgid();
	struct thread_state *ts = bpf_map_lookup_elem(&states, &tid);

	if (ts || !create)
		return ts;
	bpf_map_update_elem(&states, &tid, &zero, BPF_NOEXIST);
	return bpf_map_lookup_elem(&states, &tid);
}

SEC("tp_btf/sys_enter")
int BPF_PROG(floor_enter, struct pt_regs *regs, long id)
{
	struct thread_state *ts;

	if (id != NR_IOCTL)
		return 0;
	if (level == 0) {
		hits++;
		return 0;
	}
	ts = state(true);
	if (!ts)
		return 0;
	ts->io.state = 1;
	if (level >= 2)
		ts->io.ts = bpf_ktime_get_boot_ns();
	return 0;
}

SEC("tp_btf/sys_exit")
int BPF_PROG(floor_exit, struct pt_regs *regs, long ret)
{
	struct thread_state *ts;

	if (SYSCALL_NR(regs) != NR_IOCTL)
		return 0;
	if (level == 0) {
		hits++;
		return 0;
	}
	ts = state(false);
	if (!ts || ts->io.state != 1)
		return 0;
	ts->io.state = 0;
	hits++;
	if (level >= 2)
		ts->hot.total_ns += bpf_ktime_get_boot_ns() - ts->io.ts;
	return 0;
}

/* Level 3 (hookfloor.c loads these alone): count, so the run shows they fired. */
SEC("tp_btf/sched_switch")
int BPF_PROG(floor_switch, bool preempt, struct task_struct *prev, struct task_struct *next)
{
	hits++;
	return 0;
}

SEC("tp_btf/sched_wakeup")
int BPF_PROG(floor_wakeup, struct task_struct *p)
{
	hits++;
	return 0;
}
