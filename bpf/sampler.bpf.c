// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * On-CPU sampling ([breakdown], docs/breakdown.md): a perf_event program on
 * a cpu-clock event per online CPU, at --sample-hz. The breakdown's on_cpu
 * part says how long a uffd ioctl ran; these samples say where: the kernel
 * stack of a traced thread caught with an ioctl in flight, filed by
 * userspace under that ioctl (tid + its start time) and its thread x command.
 *
 * It runs in hardirq context (the hrtimer of the cpu-clock event) and may
 * interrupt code holding a BPF ring buffer or hash bucket lock: THE LOCK RULE
 * (common.bpf.h) allows it lookups only. The thread's state is looked up (no
 * lock), the stack goes straight into this CPU's slot of sample_ring
 * (bpf_get_stack, not a stack map: bpf_get_stackid takes a bucket lock).
 * Untraced threads, and traced ones with no ioctl in flight, cost one array
 * load (tstate_bits) and write nothing.
 */
#include "common.bpf.h"

SEC("perf_event")
int oncpu_sample(struct bpf_perf_event_data *ctx)
{
	__u64 id = bpf_get_current_pid_tgid(), idx, now;
	__u32 tid = (__u32)id, cpu, key, d;
	struct thread_state *ts;
	struct cpu_state *cs;
	struct cpu_sample *sl;
	long n;

	if (!tid || !maybe_current())
		return 0;
	ts = tstate(tid, false);	/* lookup only: never an insert here */
	if (!ts || ts->io.state != IOCTL_IN_KERNEL)
		return 0;
	/*
	 * Interrupting the exit program after it took the ioctl's end but before
	 * it changed the state: the ioctl is over (its end is before now).
	 */
	if (ts->io.exit_ts > ts->io.ts)
		return 0;
	now = bpf_ktime_get_boot_ns();
	cpu = bpf_get_smp_processor_id() & (LF_MAX_CPUS - 1);
	idx = __sync_fetch_and_add(&sample_head[cpu], 1);
	key = cpu * sample_ring_slots + ((__u32)idx & (sample_ring_slots - 1));
	sl = bpf_map_lookup_elem(&sample_ring, &key);
	if (!sl)
		return 0;	/* the index is taken: userspace sees the gap and counts it lost */
	sl->ts = now;
	sl->io_ts = ts->io.ts;
	sl->pid = id >> 32;
	sl->tid = tid;
	sl->cmd = ts->io.cmd;
	sl->wait_cls = SAMPLE_NO_WAIT;
	sl->spin = 0;
	/* A spin wait of this thread on this CPU, else the sleeping lock it waits for (on CPU). */
	cs = cpu_state();
	if (cs && cs->f[CTX_TASK].lock && cs->f[CTX_TASK].task == bpf_get_current_task()) {
		sl->wait_cls = cs->f[CTX_TASK].cls;
		sl->spin = 1;
	} else {
		d = ts->depth;
		if (d > 0 && d <= WAIT_DEPTH)
			sl->wait_cls = ts->w[(d - 1) & (WAIT_DEPTH - 1)].cls;
	}
	/* The interrupted kernel stack (the regs of the sample), innermost first. */
	n = bpf_get_stack(ctx, sl->ips, sizeof(sl->ips), 0);
	sl->nbytes = n;
	__sync_fetch_and_add(&sampler_stats[SAMPLER_TAKEN], 1);
	if (n <= 0)
		__sync_fetch_and_add(&sampler_stats[SAMPLER_NO_STACK], 1);
	__sync_lock_test_and_set(&sl->seq, idx + 1);	/* publish: after the payload */
	return 0;
}
