// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * contention_peer: a second, independent BPF user of the lock contention
 * tracepoints, for the VM lab's safety runs (tools/vm/guest-stress.sh).
 * Like many tools in the field (perf lock contention, klockstat-style
 * scripts), it takes locks of its own in these programs: a hash insert at
 * contention_begin, a lookup/delete and a ring buffer reserve at
 * contention_end, and a reserve at every sched_switch. On kernels whose ring
 * buffer and hash map use plain spinlocks (before rqspinlock, ~6.15) such a
 * program, next to another one that does the same on a lock the first holds,
 * closes a lock-order loop across two CPUs: mmlock must never be the other
 * half of that loop.
 *
 * The peer is careful about itself only: a per-CPU flag keeps it from
 * re-entering its own programs on one CPU (a contention_end of its own ring
 * buffer lock, fired while its sched_switch program holds it, would otherwise
 * spin on that lock forever on any pre-6.15 kernel, with nothing else loaded).
 * Those skipped calls are counted, never hidden.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

char LICENSE[] SEC("license") = "Dual BSD/GPL";

struct peer_event {
	__u64 lock;
	__u64 ts;
	__u32 cpu;
	__u32 kind;	/* 0 begin, 1 end, 2 sched_switch */
};

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 256 * 1024);
} peer_rb SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 4096);
	__type(key, __u64);	/* lock address ^ cpu, see begin */
	__type(value, __u64);	/* begin timestamp */
} peer_start SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u32);
} peer_busy SEC(".maps");

/* Read by userspace. */
__u64 n_events, n_drops, n_nested, n_hash_fail;

static __always_inline __u32 *enter(void)
{
	__u32 zero = 0, *busy = bpf_map_lookup_elem(&peer_busy, &zero);

	if (!busy)
		return NULL;
	if (*busy) {
		__sync_fetch_and_add(&n_nested, 1);
		return NULL;
	}
	*busy = 1;
	return busy;
}

static __always_inline void emit(__u64 lock, __u32 kind)
{
	struct peer_event *e = bpf_ringbuf_reserve(&peer_rb, sizeof(*e), 0);

	if (!e) {
		__sync_fetch_and_add(&n_drops, 1);
		return;
	}
	e->lock = lock;
	e->ts = bpf_ktime_get_ns();
	e->cpu = bpf_get_smp_processor_id();
	e->kind = kind;
	bpf_ringbuf_submit(e, BPF_RB_NO_WAKEUP);
	__sync_fetch_and_add(&n_events, 1);
}

SEC("tp_btf/contention_begin")
int BPF_PROG(peer_begin, void *lock, unsigned int flags)
{
	__u64 key = (__u64)lock ^ bpf_get_smp_processor_id(), ts = bpf_ktime_get_ns();
	__u32 *busy = enter();

	if (!busy)
		return 0;
	if (bpf_map_update_elem(&peer_start, &key, &ts, BPF_ANY))
		__sync_fetch_and_add(&n_hash_fail, 1);
	emit((__u64)lock, 0);
	*busy = 0;
	return 0;
}

SEC("tp_btf/contention_end")
int BPF_PROG(peer_end, void *lock, int ret)
{
	__u64 key = (__u64)lock ^ bpf_get_smp_processor_id();
	__u32 *busy = enter();

	if (!busy)
		return 0;
	if (bpf_map_lookup_elem(&peer_start, &key))
		bpf_map_delete_elem(&peer_start, &key);
	emit((__u64)lock, 1);
	*busy = 0;
	return 0;
}

SEC("tp_btf/sched_switch")
int BPF_PROG(peer_switch)
{
	__u32 *busy = enter();

	if (!busy)
		return 0;
	emit(0, 2);
	*busy = 0;
	return 0;
}
