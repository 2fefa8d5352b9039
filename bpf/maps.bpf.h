/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Maps and global variables shared by every BPF program file. They are defined
 * once, in globals.bpf.c (MMLOCK_DEFINE_GLOBALS), and declared extern in the
 * other files; `bpftool gen object` links them into one skeleton.
 * Every map is bounded; a failed insert bumps a counter in `counters`.
 */
#ifndef MMLOCK_MAPS_BPF_H
#define MMLOCK_MAPS_BPF_H

#include "mmlock.h"

#ifdef MMLOCK_DEFINE_GLOBALS
#define GLOBAL
#define RODATA(type, name, init) const volatile type name = init
#else
#define GLOBAL extern
#define RODATA(type, name, init) extern const volatile type name
#endif

/* Filters, set before load (in-kernel filtering: nothing is sent to be discarded). */
RODATA(__u32, targ_tgid, 0);
RODATA(__u32, targ_tid, 0);
RODATA(bool, filter_comm, false);
GLOBAL const volatile char targ_comm[MMLOCK_COMM_LEN];
/* Thresholds. */
RODATA(__u64, min_slice_ns, 1000000);	/* events >= this go to the ring buffer */
RODATA(__u64, stack_min_ns, 10000);	/* waits >= this get a stack */
/* [chains] under a filter: sleeping-lock waits >= this of other threads become blocker events; 0 off. */
RODATA(__u64, outside_min_ns, 0);
RODATA(bool, want_events, true);	/* ring buffer consumer present */
RODATA(__u32, stack_id_mask, 0x7fffff);	/* own stack ids: hash bits kept (narrowed by a test aid) */
/* The kernel's BPF ring buffer and hash map use resilient spinlocks (6.15+). */
RODATA(bool, resilient_locks, false);
RODATA(__u32, lf_ring_slots, 256);	/* events per CPU in lf_ring, a power of two */
RODATA(__u32, sample_ring_slots, 256);	/* samples per CPU in sample_ring, a power of two */
/* Test aid: contention programs in task context busy-wait this long (widens the nesting window). */
RODATA(__u64, test_prog_delay_ns, 0);
/* Test aid: the uffd ioctl exit busy-waits this long after taking the ioctl's end. */
RODATA(__u64, test_exit_delay_ns, 0);

/* Entries of `markers` in use: set by userspace after load (kallsyms is read meanwhile). */
GLOBAL __u32 nr_markers;

/* Drop and map-full counters, read by userspace (enum mm_counter). */
GLOBAL __u64 counters[NR_COUNTERS];

/* lf_ring's per-CPU write index (see struct lf_slot). */
GLOBAL __u64 lf_head[LF_MAX_CPUS];
/* sample_ring's (struct cpu_sample), and the sampler's counts (enum sampler_stat). */
GLOBAL __u64 sample_head[LF_MAX_CPUS];
GLOBAL __u64 sampler_stats[NR_SAMPLER_STATS];

/* Per-thread histograms: kind x class x site. Never deleted: exited threads keep data. */
GLOBAL struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 8192);
	__type(key, struct hist_key);
	__type(value, struct hist);
} hists SEC(".maps");

/* tid -> names, recorded when the thread's first histogram is created. */
GLOBAL struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 8192);
	__type(key, __u32);
	__type(value, struct mm_thread);
} threads SEC(".maps");

/* Own stack ids (hash of the frames) -> frames. */
GLOBAL struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 4096);
	__type(key, __u32);
	__type(value, __u64[MMLOCK_STACK_DEPTH]);
} stacks SEC(".maps");

/* Aggregated time per stack, per thread and classification. */
GLOBAL struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 8192);
	__type(key, struct stack_key);
	__type(value, struct stack_val);
} stack_aggs SEC(".maps");

/* Marker functions, sorted by start address (filled by userspace before attach). */
GLOBAL struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, MMLOCK_MAX_MARKERS);
	__type(key, __u32);
	__type(value, struct marker);
} markers SEC(".maps");

/*
 * Per-CPU scratch for stack capture (too large for the 512-byte BPF stack),
 * one per execution context: an interrupt must not overwrite the buffer of
 * the program it interrupted.
 */
GLOBAL struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, NR_CTX);
	__type(key, __u32);
	__type(value, __u64[MMLOCK_STACK_DEPTH]);
} stack_scratch SEC(".maps");

/* Events >= min_slice_ns, consumed by polling (no wakeups: see measurements). */
GLOBAL struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 1 << 20);	/* resized by userspace: --min-slice 0 needs more */
} events SEC(".maps");

/*
 * Per CPU: the spin wait in progress in each execution context (a spinning
 * CPU neither sleeps nor switches, so a spin wait begins and ends on one CPU
 * in one context), and which contention program runs in which context
 * (the kernel skips a program already running on the CPU: a nested wait
 * then loses its begin or its end, and these flags tell which).
 */
struct spin_frame {
	__u64 lock;
	__u64 ts;
	__u64 task;		/* current at begin */
	__u64 switches;		/* its nvcsw + nivcsw at begin */
	__u64 nested_ns;	/* waits of interrupts nested in it (not its own spinning) */
	__u32 flags;
	__u8 cls;
	__u8 pad[3];
};

enum { ROLE_BEGIN, ROLE_END, NR_ROLES };

struct cpu_state {
	struct spin_frame f[NR_CTX];
	__u8 active[NR_ROLES][NR_CTX];
	/*
	 * The last thread that ran here with a uffd ioctl in flight (set at its
	 * entry and switch-in; stale once it leaves): an interrupt's wait looks
	 * up the interrupted thread's state only if it is that one.
	 */
	__u32 io_tid;
	/* The thread in an rwsem write slow path here (struct inflight rws_*): its lock wait ends it. */
	__u32 rws_tid;
};

GLOBAL struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct cpu_state);
} cpu_states SEC(".maps");

/* Lock-free wait histograms and event rings (struct lf_hist, struct lf_slot). */
GLOBAL struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(map_flags, BPF_F_MMAPABLE);
	__uint(max_entries, LF_HIST_ENTRIES);
	__type(key, __u32);
	__type(value, struct lf_hist);
} lf_hists SEC(".maps");

GLOBAL struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(map_flags, BPF_F_MMAPABLE);
	__uint(max_entries, 256);	/* resized by userspace: CPUs x lf_ring_slots */
	__type(key, __u32);
	__type(value, struct lf_slot);
} lf_ring SEC(".maps");

/* The on-CPU sampler's rings (struct cpu_sample, bpf/sampler.bpf.c). */
GLOBAL struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(map_flags, BPF_F_MMAPABLE);
	__uint(max_entries, 256);	/* resized by userspace: CPUs x sample_ring_slots */
	__type(key, __u32);
	__type(value, struct cpu_sample);
} sample_ring SEC(".maps");

/*
 * [chains] The sleeping-lock wait in progress of a thread outside the
 * filter (bpf/contention.bpf.c): LRU, so that threads that never end a wait
 * while recording (or exit) cannot fill it; an entry lost so costs one
 * blocker event, counted nowhere (the thread is not traced).
 */
struct outside_wait {
	struct wait_frame w;
	char owner_comm[MMLOCK_COMM_LEN];
};

GLOBAL struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 1024);
	__type(key, __u32);
	__type(value, struct outside_wait);
} outside_waits SEC(".maps");

/* Per-thread state (struct thread_state); deleted at thread exit (exit.bpf.c). */
GLOBAL struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 8192);
	__type(key, __u32);
	__type(value, struct thread_state);
} tstates SEC(".maps");

/*
 * One bit per tid: set before the thread's state is created, cleared after
 * it is deleted at thread exit. A clear bit means "no state": sched_switch
 * (twice per switch) and sched_wakeup then skip the hash lookup, which is
 * most of their cost system-wide (a miss ~30 ns here, measured with
 * bpf_stats). Sized by userspace to pid_max bits; a tid beyond (pid_max
 * raised while recording) has no bit and is looked up as before.
 */
GLOBAL struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 65536);	/* PID_MAX_LIMIT (4M) bits: resized by userspace */
	__type(key, __u32);
	__type(value, __u64);
} tstate_bits SEC(".maps");

/*
 * Deeper probes (mmprobes.bpf.c). Per thread: the argument of a kprobe'd
 * call until its kretprobe, a down_write in progress, and the anon_vma write
 * lock it holds.
 */
struct call_state {
	__u64 arg;	/* kprobe entry: the function's first argument */
	__u64 ts;	/* entry time */
};

GLOBAL struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 4096);
	__type(key, __u64);	/* tid << 8 | which call (enum call_slot) */
	__type(value, struct call_state);
} calls SEC(".maps");

GLOBAL struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 4096);
	__type(key, __u32);
	__type(value, struct call_state);	/* arg: the rwsem, ts: taken at */
} held SEC(".maps");

/* Set by userspace once a probe that times __folio_lock is attached: the
 * D-state path then stops counting folio waits as lock waits (no double count). */
GLOBAL __u32 folio_probed;

#endif /* MMLOCK_MAPS_BPF_H */
