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
RODATA(bool, want_events, true);	/* ring buffer consumer present */
RODATA(__u32, stack_id_mask, 0x7fffff);	/* own stack ids: hash bits kept (narrowed by a test aid) */

/* Entries of `markers` in use: set by userspace after load (kallsyms is read meanwhile). */
GLOBAL __u32 nr_markers;

/* Drop and map-full counters, read by userspace (enum mm_counter). */
GLOBAL __u64 counters[NR_COUNTERS];

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

/* Per-CPU scratch for stack capture (too large for the 512-byte BPF stack). */
GLOBAL struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64[MMLOCK_STACK_DEPTH]);
} stack_scratch SEC(".maps");

/* Events >= min_slice_ns, consumed by polling (no wakeups: see measurements). */
GLOBAL struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 1 << 20);	/* resized by userspace: --min-slice 0 needs more */
} events SEC(".maps");

/* Per-thread state (struct thread_state); deleted at thread exit (exit.bpf.c). */
GLOBAL struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 8192);
	__type(key, __u32);
	__type(value, struct thread_state);
} tstates SEC(".maps");

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
