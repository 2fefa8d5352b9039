// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Lock waits from lock:contention_begin / lock:contention_end (5.19+).
 * These fire only once a lock's fast path and optimistic spinning failed:
 * failed trylocks and successful spins are invisible here.
 *
 * The class comes from the lock address (no stack): the mm's mmap_lock, or
 * the rwsem of a root anon_vma (av->root == av). The site comes from the
 * thread's in-flight uffd ioctl, or from the stack for waits >= stack_min_ns.
 *
 * Two paths, by THE LOCK RULE (common.bpf.h):
 *  - sleeping locks in task context: a per-thread frame stack in the
 *    thread's state (the wait may sleep and resume on another CPU), and the
 *    usual maps and ring buffer;
 *  - spinning waits and every wait in interrupt context: one frame per CPU
 *    and execution context, the lock-free table lf_hists, the lock-free
 *    rings lf_ring. A wait in interrupt context is filed under tid 0 with the
 *    context as its site: it is never charged to the thread it interrupted.
 *
 * Pairing is exact. The kernel runs a program at most once per CPU at a time
 * (__bpf_trace_run, prog->active), so an interrupt that arrives while a
 * contention program runs loses that program's run of its own wait. Each
 * program marks itself active per context (cpu_state.active): a nested
 * begin that sees the end program active below it knows its end will be
 * skipped and records nothing; a nested end that sees the begin program
 * active below it knows its begin was skipped and pairs nothing.
 */
#include "exec_ctx.bpf.h"
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

/* The task owning a sleeping lock, NULL if unknown or reader-owned. */
static __always_inline struct task_struct *lock_owner(__u64 lock, __u32 flags)
{
	unsigned long owner;

	if (flags & LCB_F_SPIN && !(flags & LCB_F_MUTEX))
		return NULL;
	/* PREEMPT_RT's mutex and rwsem have no owner field (rt_mutex, rwbase_rt): none read there. */
	if (flags & LCB_F_MUTEX) {
		if (!bpf_core_field_exists(((struct mutex *)0)->owner))
			return NULL;
		owner = BPF_CORE_READ((struct mutex *)lock, owner.counter);
	} else if (!(flags & LCB_F_PERCPU)) {
		if (!bpf_core_field_exists(((struct rw_semaphore *)0)->owner))
			return NULL;
		owner = BPF_CORE_READ((struct rw_semaphore *)lock, owner.counter);
		if (owner & RWSEM_READER_OWNED)
			return NULL;
	} else {
		return NULL;
	}
	return (struct task_struct *)(owner & ~OWNER_FLAGS_MASK);
}

/*
 * [chains] The outer wait's owner: its name, and if mmlock follows it and
 * it is inside a uffd ioctl, its ioctl clock now (struct owner_snap).
 * Sleeping path only: a hash lookup, no insert.
 */
static __always_inline void owner_snapshot(struct thread_state *ts, struct task_struct *o,
					   __u32 owner, __u64 now)
{
	struct thread_state *ots;

	ts->os.ts = 0;
	BPF_CORE_READ_STR_INTO(&ts->os.comm, o, comm);
	ots = owner ? tstate(owner, false) : NULL;
	if (!ots || ots->io.state != IOCTL_IN_KERNEL)
		return;
	ioctl_clock(&ots->io, now, ts->os.parts);
	ts->os.ts = now;
}

/*
 * What the owner did inside uffd ioctls during the wait (owner_snapshot's
 * clock, read again): into e->parts, the wait's length into e->by_ns. The
 * rest of the wait it spent outside them (it released the lock by then).
 */
static __always_inline void owner_window(struct thread_state *ts, __u32 owner, __u64 now,
					 struct mm_event *e)
{
	struct thread_state *ots = tstate(owner, false);

	if (!ots || now <= ts->os.ts)
		return;
	ioctl_clock(&ots->io, now, e->parts);
	for (int k = 0; k < NR_PARTS; k++)
		e->parts[k] = e->parts[k] > ts->os.parts[k] ? e->parts[k] - ts->os.parts[k] : 0;
	e->by_ns = now - ts->os.ts;
}

#define TOP(d) (((d) - 1) & (WAIT_DEPTH - 1))	/* masked: older verifiers need it */

/* May run inside a held spinlock: a spinning wait (a mutex's spinning phase sleeps-capable). */
static __always_inline bool spinning_wait(__u32 flags)
{
	return (flags & LCB_F_SPIN) && !(flags & LCB_F_MUTEX);
}

/* Is program `role` running on this CPU in a context below `ectx` (so the kernel skips it now)? */
static __always_inline bool active_below(struct cpu_state *cs, int role, __u32 ectx)
{
	for (__u32 c = 0; c < NR_CTX - 1; c++)
		if (c < ectx && cs->active[role][c])
			return true;
	return false;
}

static __always_inline __u64 task_switches(struct task_struct *t)
{
	return BPF_CORE_READ(t, nvcsw) + BPF_CORE_READ(t, nivcsw);
}

/*
 * ---- [chains] sleeping waits of threads outside the filter ----
 * Under -p/-t/-c a stall's blocker is often another process or a kernel
 * thread (kcompactd, kswapd in anon_vma read waits). Their sleeping-lock
 * waits >= outside_min_ns (--chain-min) are kept as blocker events
 * (MM_EV_OUTSIDE): no histogram, no thread state. Task context and sleeping
 * locks only, as for the threads traced (THE LOCK RULE): an LRU hash insert
 * at the begin; at the end a lookup, and a delete only for a wait found.
 */
static __always_inline void outside_begin(__u64 lock, __u32 flags)
{
	__u32 tid = (__u32)bpf_get_current_pid_tgid();
	struct outside_wait w = {}, *old;
	struct task_struct *o;

	if (!tid)
		return;
	old = bpf_map_lookup_elem(&outside_waits, &tid);
	if (old && old->w.lock == lock)
		return;	/* a mutex's second begin (spinning, then sleeping) */
	w.w.lock = lock;
	w.w.flags = flags;
	w.w.cls = classify_lock(lock, flags);
	o = lock_owner(lock, flags);
	if (o) {
		w.w.owner = BPF_CORE_READ(o, pid);
		BPF_CORE_READ_STR_INTO(&w.owner_comm, o, comm);
	}
	w.w.ts = bpf_ktime_get_boot_ns();
	bpf_map_update_elem(&outside_waits, &tid, &w, BPF_ANY);
}

static __always_inline void outside_end(void *ctx, __u64 lock)
{
	__u32 tid = (__u32)bpf_get_current_pid_tgid();
	struct outside_wait *w = bpf_map_lookup_elem(&outside_waits, &tid);
	__u64 ts, dur, owner_comm[2];
	__u32 flags, owner;
	__s32 stack_id = -1;
	struct mm_event *e;
	__u8 cls, site = SITE_OTHER;

	if (!w || w->w.lock != lock)
		return;
	ts = w->w.ts;
	flags = w->w.flags;
	owner = w->w.owner;
	cls = w->w.cls;
	__builtin_memcpy(owner_comm, w->owner_comm, sizeof(owner_comm));
	bpf_map_delete_elem(&outside_waits, &tid);
	dur = bpf_ktime_get_boot_ns() - ts;
	if (dur < outside_min_ns)
		return;
	/* Where it waited (compaction, reclaim, rmap walk): the stack says. */
	if (dur >= stack_min_ns)
		stack_id = current_stack(ctx, &cls, &site);
	e = event_reserve(dur);
	if (!e)
		return;
	event_init(e, ts, dur, bpf_get_current_pid_tgid() >> 32, tid, KIND_LOCK, cls, site);
	e->addr = lock;
	e->flags = flags | MM_EV_OUTSIDE;
	e->stack_id = stack_id;
	e->other_tid = owner;
	__builtin_memcpy(e->by_comm, owner_comm, sizeof(e->by_comm));
	bpf_get_current_comm(e->comm, sizeof(e->comm));
	event_submit(e);
}

/* ---- sleeping locks, task context: the thread's own frames ---- */

static __always_inline void sleep_begin(__u64 lock, __u32 flags)
{
	struct task_struct *o;
	struct thread_state *ts;
	struct wait_frame *w;
	__u32 d;

	ts = tstate((__u32)bpf_get_current_pid_tgid(), true);
	if (!ts)
		return;
	d = ts->depth;
	/* A mutex reports begin twice (spinning, then sleeping): keep the first. */
	if (d > 0 && d <= WAIT_DEPTH && ts->w[TOP(d)].lock == lock) {
		ts->w[TOP(d)].flags = flags;
		return;
	}
	if (d >= WAIT_DEPTH) {
		ts->overflow++;
		count(CNT_WAIT_NESTED);
		return;
	}
	w = &ts->w[d & (WAIT_DEPTH - 1)];
	w->lock = lock;
	w->flags = flags;
	w->cls = classify_lock(lock, flags);
	o = lock_owner(lock, flags);
	w->owner = o ? BPF_CORE_READ(o, pid) : 0;
	w->ts = bpf_ktime_get_boot_ns();
	if (d == 0 && w->owner)
		owner_snapshot(ts, o, w->owner, w->ts);
	ts->depth = d + 1;
}

static __always_inline void sleep_end(void *ctx, __u64 lock)
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
	if (!ts) {
		/* Filtered out at begin (-c: outside it), or began before attach. */
		if (outside_min_ns)
			outside_end(ctx, lock);
		return;
	}
	if (ts->overflow) {
		ts->overflow--;
		return;
	}
	d = ts->depth;
	if (d == 0 || d > WAIT_DEPTH)
		return;	/* began before attach */
	if (ts->w[TOP(d)].lock != lock) {
		/* The inner wait's end was lost: close the outer one if it matches. */
		if (d == 2 && ts->w[0].lock == lock) {
			d = 1;
		} else {
			count(CNT_WAIT_UNMATCHED);
			return;
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
		return;
	event_init(e, w->ts, dur, bpf_get_current_pid_tgid() >> 32, tid, KIND_LOCK, cls, site);
	e->addr = lock;
	e->flags = w->flags;
	e->stack_id = stack_id;
	e->other_tid = w->owner;
	if (w->owner && w == &ts->w[0]) {
		__builtin_memcpy(e->by_comm, ts->os.comm, sizeof(e->by_comm));
		if (ts->os.ts == w->ts)
			owner_window(ts, w->owner, w->ts + dur, e);
	}
	bpf_get_current_comm(e->comm, sizeof(e->comm));
	event_submit(e);
}

/* ---- spinning waits and interrupt context: per-CPU frames, no locks ---- */

static __always_inline void spin_begin(struct cpu_state *cs, __u32 ectx, __u64 lock, __u32 flags)
{
	struct task_struct *t = (struct task_struct *)bpf_get_current_task();
	struct spin_frame *f = &cs->f[ectx & (NR_CTX - 1)];

	/* A frame still here lost its end (a begin in this context means the last wait ended). */
	if (f->lock) {
		f->lock = 0;
		count(CNT_SPIN_END_LOST);
	}
	if (active_below(cs, ROLE_END, ectx)) {
		count(CNT_WAIT_END_SKIPPED);
		return;
	}
	f->flags = flags;
	f->cls = classify_lock(lock, flags);
	f->task = (__u64)t;
	f->switches = task_switches(t);
	f->nested_ns = 0;
	f->ts = bpf_ktime_get_boot_ns();
	f->lock = lock;
}

/* Publish a wait to this CPU's lock-free ring (struct lf_slot); frames from the scratch buffer. */
static __always_inline void lf_event(struct spin_frame *f, __u32 ectx, __u64 lock, __u64 dur,
				     __u32 tid, __u8 cls, __u8 site, long nbytes)
{
	__u32 cpu = bpf_get_smp_processor_id() & (LF_MAX_CPUS - 1), key;
	__u64 idx = __sync_fetch_and_add(&lf_head[cpu], 1), *ips;
	struct lf_slot *sl;
	__u32 n = 0;

	key = cpu * lf_ring_slots + ((__u32)idx & (lf_ring_slots - 1));
	sl = bpf_map_lookup_elem(&lf_ring, &key);
	if (!sl)
		return;	/* the slot index is counted: userspace sees a gap and counts it lost */
	event_init(&sl->e, f->ts, dur, tid ? bpf_get_current_pid_tgid() >> 32 : 0, tid, KIND_LOCK,
		   cls, site);
	sl->e.addr = lock;
	sl->e.flags = f->flags;
	/* An interrupt's wait: which thread it interrupted (0: idle). Kept in
	 * the event only, never charged to that thread (see the top). */
	if (!tid)
		sl->e.other_tid = (__u32)bpf_get_current_pid_tgid();
	if (tid)
		bpf_get_current_comm(sl->e.comm, sizeof(sl->e.comm));
	else
		__builtin_memset(sl->e.comm, 0, sizeof(sl->e.comm));
	ips = nbytes > 0 ? stack_buf(ectx) : NULL;
	if (ips) {
		n = (__u64)nbytes / 8;
		for (__u32 i = 0; i < MMLOCK_STACK_DEPTH; i++)
			sl->ips[i] = i < n ? ips[i] : 0;
	}
	sl->nframes = n > MMLOCK_STACK_DEPTH ? MMLOCK_STACK_DEPTH : n;
	__sync_lock_test_and_set(&sl->seq, idx + 1);	/* publish: after the payload */
}

static __always_inline void spin_end(void *ctx, struct cpu_state *cs, __u32 ectx, __u64 lock)
{
	struct spin_frame *f = &cs->f[ectx & (NR_CTX - 1)];
	struct task_struct *t = (struct task_struct *)bpf_get_current_task();
	__u32 tid = ectx == CTX_TASK ? (__u32)bpf_get_current_pid_tgid() : 0;
	struct thread_state *ts = NULL;
	__u8 cls, site;
	long nbytes = 0;
	__s32 stack_id = -1;
	__u64 dur, own;

	if (active_below(cs, ROLE_BEGIN, ectx)) {	/* this wait's begin was skipped */
		if (f->lock)
			count(CNT_SPIN_STALE);
		f->lock = 0;
		count(CNT_WAIT_BEGIN_SKIPPED);
		return;
	}
	if (f->lock != lock) {	/* none: began before attach, or filtered out at begin */
		if (f->lock)
			count(CNT_WAIT_UNMATCHED);
		f->lock = 0;
		return;
	}
	f->lock = 0;
	/* Spinning, a CPU neither sleeps nor switches: a frame that saw either is stale. */
	if (f->task != (__u64)t || f->switches != task_switches(t)) {
		count(CNT_SPIN_STALE);
		return;
	}
	dur = bpf_ktime_get_boot_ns() - f->ts;
	own = dur - (f->nested_ns < dur ? f->nested_ns : dur);
	cls = f->cls;
	if (ectx == CTX_TASK) {
		ts = tstate(tid, false);	/* lookup only: never an insert here */
		site = context_site(ts);
	} else {
		__u32 cur = (__u32)bpf_get_current_pid_tgid();

		site = ectx == CTX_SOFTIRQ ? SITE_SOFTIRQ : ectx == CTX_HARDIRQ ? SITE_HARDIRQ : SITE_NMI;
		/* The wait this interrupt nested in (on this CPU, below it) does not own this time. */
		for (__u32 c = NR_CTX - 1; c > 0; c--)
			if (c <= ectx && cs->f[(c - 1) & (NR_CTX - 1)].lock) {
				cs->f[(c - 1) & (NR_CTX - 1)].nested_ns += dur;
				break;
			}
		/*
		 * The interrupted thread's ioctl lost this time to the interrupt.
		 * Only a thread that runs here with an ioctl in flight is looked up.
		 */
		if (cur && cs->io_tid == cur)
			ts = tstate(cur, false);
		if (ts && ts->io.state == IOCTL_IN_KERNEL)
			__sync_fetch_and_add(&ts->io.parts[PART_INTERRUPTED], own);
	}
	if (dur >= stack_min_ns) {
		nbytes = current_stack_raw(ctx, ectx);
		if (nbytes > 0) {
			/* Interrupt context: keep the context as the site, refine the class only. */
			__u8 s2 = site;

			/* Stored (an id) only where BPF locks are resilient (THE LOCK RULE). */
			stack_id = classify_scratch(nbytes, ectx, resilient_locks, &cls, &s2);
			if (ectx == CTX_TASK)
				site = s2;
		}
	}
	mm_lf_hist_add(tid, KCS(KIND_LOCK, cls, site), dur);
	if (resilient_locks && stack_id >= 0)
		stack_add(tid, stack_id, KIND_LOCK, cls, site, dur);
	if (ts && ectx == CTX_TASK) {
		ioctl_add_wait(ts, cls, dur);
		ioctl_add_spin(ts, own);
	}
	if (want_events && dur >= min_slice_ns)
		lf_event(f, ectx, lock, dur, tid, cls, site, nbytes);
}

/* ---- the programs ---- */

static __always_inline void begin(struct cpu_state *cs, __u32 ectx, __u64 lock, __u32 flags)
{
	if (flags & LCB_F_RT) {	/* PREEMPT_RT sleeping spinlocks: neither path fits */
		count(CNT_RT_WAIT_SKIPPED);
		return;
	}
	if (ectx == CTX_TASK)
		rwspin_wait_begins(cs);
	if (ectx == CTX_TASK && !spinning_wait(flags))
		sleep_begin(lock, flags);
	else
		spin_begin(cs, ectx, lock, flags);
}

static __always_inline void end(void *ctx, struct cpu_state *cs, __u32 ectx, __u64 lock)
{
	/* Task context: the spin frame of this CPU, else the thread's sleeping-lock frames. */
	if (ectx == CTX_TASK && cs->f[CTX_TASK].lock != lock)
		sleep_end(ctx, lock);
	else
		spin_end(ctx, cs, ectx, lock);
}

/*
 * Marked active first and unmarked last, whatever the path: the kernel skips
 * a nested run of the same program from its very start. (A nested wait that
 * arrives in the few instructions before the mark can still go unseen: its
 * frame is then replaced by the context's next begin, counted.)
 */
static __always_inline int on_begin(void *ctx, __u32 ectx, __u64 lock, __u32 flags, bool check_ctx)
{
	struct cpu_state *cs;

	/*
	 * Untraced first, before any map lookup: a wait nested in this program
	 * interrupts the same current task, so it would be filtered out too and
	 * needs no active mark.
	 */
	if (!want_current()) {
		if (outside_min_ns && ectx == CTX_TASK && !spinning_wait(flags) && !(flags & LCB_F_RT))
			outside_begin(lock, flags);
		return 0;
	}
	cs = cpu_state();
	if (!cs)
		return 0;
	ectx &= NR_CTX - 1;
	/* Preempt-count programs only (the _sp ones told it by the stack). */
	if (check_ctx && (ectx != CTX_TASK || spinning_wait(flags)) && exec_ctx_disagrees(ctx, ectx))
		count(CNT_CTX_MISMATCH);
	cs->active[ROLE_BEGIN][ectx] = 1;
	begin(cs, ectx, lock, flags);
	test_delay(ectx);
	cs->active[ROLE_BEGIN][ectx] = 0;
	return 0;
}

static __always_inline int on_end(void *ctx, __u32 ectx, __u64 lock)
{
	struct cpu_state *cs;

	if (!maybe_current()) {	/* as in on_begin; -c is left to the frames */
		/* Lookup only, no lock: this may be a spinlock's end, that lock held. */
		if (outside_min_ns && ectx == CTX_TASK)
			outside_end(ctx, lock);
		return 0;
	}
	cs = cpu_state();
	if (!cs)
		return 0;
	ectx &= NR_CTX - 1;
	cs->active[ROLE_END][ectx] = 1;
	end(ctx, cs, ectx, lock);
	test_delay(ectx);
	cs->active[ROLE_END][ectx] = 0;
	return 0;
}

/*
 * Four programs per way of telling the context: tp_btf and raw_tp, each
 * with the preempt count (NAME) or the stack position (NAME_sp, x86 kernels
 * whose kallsyms lacks per-CPU symbols). The ladder picks one of each pair.
 */
#define CONTENTION_PROGS(sfx, ctxfn, check_ctx)						\
SEC("tp_btf/contention_begin")							\
int BPF_PROG(contention_begin_btf##sfx, void *lock, unsigned int flags)		\
{										\
	return on_begin(ctx, ctxfn(ctx), (__u64)lock, flags, check_ctx);				\
}										\
SEC("tp_btf/contention_end")							\
int BPF_PROG(contention_end_btf##sfx, void *lock, int ret)			\
{										\
	return on_end(ctx, ctxfn(ctx), (__u64)lock);				\
}										\
SEC("raw_tp/contention_begin")							\
int BPF_PROG(contention_begin_raw##sfx, void *lock, unsigned int flags)		\
{										\
	return on_begin(ctx, ctxfn(ctx), (__u64)lock, flags, check_ctx);				\
}										\
SEC("raw_tp/contention_end")							\
int BPF_PROG(contention_end_raw##sfx, void *lock, int ret)			\
{										\
	return on_end(ctx, ctxfn(ctx), (__u64)lock);				\
}

CONTENTION_PROGS(, exec_ctx, true)
CONTENTION_PROGS(_sp, exec_ctx_sp, false)
