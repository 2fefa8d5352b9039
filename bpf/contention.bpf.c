// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Lock waits from lock:contention_begin / lock:contention_end (5.19+).
 * These fire only once a lock's fast path and optimistic spinning failed:
 * failed trylocks and successful spins are invisible here.
 *
 * The class comes from the lock address (no stack): the mm's mmap_lock, or
 * the rwsem of a root anon_vma (av->root == av). The site comes from the
 * thread's in-flight uffd ioctl, or from the stack for waits >= stack_min_ns.
 */
#include "uffd.bpf.h"

/* rwsem->owner and mutex->owner keep flags in the low bits. */
#define OWNER_FLAGS_MASK	0x7UL
#define RWSEM_READER_OWNED	0x1UL

static __always_inline __u8 classify_lock(__u64 lock, __u32 flags)
{
	struct task_struct *cur = (struct task_struct *)bpf_get_current_task();
	bool write = flags & LCB_F_WRITE;
	__u64 mmap_lock;

	if (flags & LCB_F_MUTEX)
		return CLASS_MUTEX;
	if (flags & LCB_F_SPIN)
		return CLASS_SPIN;
	if (flags & LCB_F_PERCPU)
		return write ? CLASS_RWSEM_WRITE : CLASS_RWSEM_READ;
	/* mmap_lock: renamed from mmap_sem in 5.8; mmlock needs 5.19+ anyway. */
	mmap_lock = (__u64)BPF_CORE_READ(cur, mm);
	if (mmap_lock) {
		mmap_lock += bpf_core_field_offset(struct mm_struct, mmap_lock);
		if (lock == mmap_lock)
			return write ? CLASS_MMAP_WRITE : CLASS_MMAP_READ;
	}
	if (is_anon_vma_root(lock))
		return write ? CLASS_ANON_VMA_WRITE : CLASS_ANON_VMA_READ;
	return write ? CLASS_RWSEM_WRITE : CLASS_RWSEM_READ;
}

/* tid of the task owning a sleeping lock, 0 if unknown or reader-owned. */
static __always_inline __u32 lock_owner(__u64 lock, __u32 flags)
{
	unsigned long owner;
	struct task_struct *t;

	if (flags & LCB_F_SPIN && !(flags & LCB_F_MUTEX))
		return 0;
	if (flags & LCB_F_MUTEX) {
		owner = BPF_CORE_READ((struct mutex *)lock, owner.counter);
	} else if (!(flags & LCB_F_PERCPU)) {
		owner = BPF_CORE_READ((struct rw_semaphore *)lock, owner.counter);
		if (owner & RWSEM_READER_OWNED)
			return 0;
	} else {
		return 0;
	}
	t = (struct task_struct *)(owner & ~OWNER_FLAGS_MASK);
	return t ? BPF_CORE_READ(t, pid) : 0;
}

#define TOP(d) (((d) - 1) & (WAIT_DEPTH - 1))	/* masked: older verifiers need it */

static __always_inline int on_begin(__u64 lock, __u32 flags)
{
	struct thread_state *ts;
	struct wait_frame *w;
	__u32 d;

	if (!want_current())
		return 0;
	ts = tstate((__u32)bpf_get_current_pid_tgid(), true);
	if (!ts)
		return 0;
	d = ts->depth;
	/* A mutex reports begin twice (spinning, then sleeping): keep the first. */
	if (d > 0 && d <= WAIT_DEPTH && ts->w[TOP(d)].lock == lock) {
		ts->w[TOP(d)].flags = flags;
		return 0;
	}
	if (d >= WAIT_DEPTH) {
		ts->overflow++;
		count(CNT_WAIT_NESTED);
		return 0;
	}
	w = &ts->w[d & (WAIT_DEPTH - 1)];
	w->lock = lock;
	w->flags = flags;
	w->cls = classify_lock(lock, flags);
	w->owner = lock_owner(lock, flags);
	w->ts = bpf_ktime_get_boot_ns();
	ts->depth = d + 1;
	return 0;
}

static __always_inline int on_end(void *ctx, __u64 lock)
{
	struct thread_state *ts;
	struct wait_frame *w;
	struct mm_event *e;
	__u32 tid, d;
	__u8 cls, site;
	__s32 stack_id = -1;
	__u64 dur;

	tid = (__u32)bpf_get_current_pid_tgid();
	ts = tstate(tid, false);
	if (!ts)
		return 0;	/* filtered out at begin, or began before attach */
	if (ts->overflow) {
		ts->overflow--;
		return 0;
	}
	d = ts->depth;
	if (d == 0 || d > WAIT_DEPTH)
		return 0;
	if (ts->w[TOP(d)].lock != lock) {
		/* The inner wait's end was lost: close the outer one if it matches. */
		if (d == 2 && ts->w[0].lock == lock) {
			d = 1;
		} else {
			count(CNT_WAIT_UNMATCHED);
			return 0;
		}
	}
	w = &ts->w[TOP(d)];
	ts->depth = d - 1;
	dur = bpf_ktime_get_boot_ns() - w->ts;
	cls = w->cls;
	site = context_site(ts);
	if (dur >= stack_min_ns)
		stack_id = current_stack(ctx, &cls, &site);
	hist_add((struct task_struct *)bpf_get_current_task(), tid, KIND_LOCK, cls, site, dur, 0);
	stack_add(tid, stack_id, KIND_LOCK, cls, site, dur);
	ioctl_add_wait(ts, cls, dur);

	e = event_reserve(dur);
	if (!e)
		return 0;
	event_init(e, w->ts, dur, bpf_get_current_pid_tgid() >> 32, tid, KIND_LOCK, cls, site);
	e->addr = lock;
	e->flags = w->flags;
	e->stack_id = stack_id;
	e->other_tid = w->owner;
	bpf_get_current_comm(e->comm, sizeof(e->comm));
	event_submit(e);
	return 0;
}

SEC("tp_btf/contention_begin")
int BPF_PROG(contention_begin_btf, void *lock, unsigned int flags)
{
	return on_begin((__u64)lock, flags);
}

SEC("tp_btf/contention_end")
int BPF_PROG(contention_end_btf, void *lock, int ret)
{
	return on_end(ctx, (__u64)lock);
}

SEC("raw_tp/contention_begin")
int BPF_PROG(contention_begin_raw, void *lock, unsigned int flags)
{
	return on_begin((__u64)lock, flags);
}

SEC("raw_tp/contention_end")
int BPF_PROG(contention_end_raw, void *lock, int ret)
{
	return on_end(ctx, (__u64)lock);
}
