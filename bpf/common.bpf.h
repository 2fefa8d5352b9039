/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Helpers shared by the BPF programs: filters, histograms, stacks, events. */
#ifndef MMLOCK_COMMON_BPF_H
#define MMLOCK_COMMON_BPF_H

#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_tracing.h>
#include "maps.bpf.h"
#include "hist_slot.h"

/*
 * THE LOCK RULE. A BPF program may take a lock (bpf_ringbuf_reserve, a hash
 * map insert or delete, a stack map insert) only where no spinlock can be
 * held on its CPU that the same or another BPF program takes too:
 *  - fine: syscall hooks, sched tracepoints, the mm probes, and the
 *    contention tracepoints for sleeping locks (rwsem, mutex) in task context;
 *  - never: a spinning wait (LCB_F_SPIN without LCB_F_MUTEX) and any wait in
 *    interrupt context. contention_end for a spinlock fires with that lock
 *    held, and the lock may be a BPF ring buffer's or hash bucket's: on
 *    kernels before resilient spinlocks (~6.15; Android GKI <= 6.12) taking it
 *    again deadlocks the CPU, and two BPF users of the tracepoints can
 *    deadlock two CPUs (ABBA). Those waits use per-CPU frames, the lock-free
 *    table lf_hists and the lock-free rings lf_ring (bpf/contention.bpf.c).
 * The only relaxation: where the kernel's BTF shows resilient spinlocks
 * (rodata resilient_locks), a spinning wait's stack joins `stacks` and
 * `stack_aggs`; a failed insert there is a counted drop, never a hang.
 */

/* sched.h task states; TASK_NOLOAD marks TASK_IDLE sleepers (not D-state). */
#define TASK_UNINTERRUPTIBLE	0x0002
#define TASK_NOLOAD		0x0400
#define E2BIG			7
#define EEXIST			17

static __always_inline void count(enum mm_counter c)
{
	__sync_fetch_and_add(&counters[c], 1);
}

/* preempt_count bits (include/linux/preempt.h, unchanged from 5.x to 7.2). */
#define PC_SOFTIRQ_OFFSET	0x00000100U	/* serving a softirq (not just bh-disabled) */
#define PC_HARDIRQ_MASK		0x000f0000U
#define PC_NMI_MASK		0x00f00000U

#if defined(bpf_target_x86)
/*
 * x86 keeps the preempt count per CPU: __preempt_count up to 6.1 and again
 * from 6.15, inside struct pcpu_hot from 6.2 to 6.14. Both are weak: the one
 * this kernel's BTF lacks resolves to NULL and its branch is dead code. The
 * verifier finds their address in kallsyms, which lists per-CPU symbols only
 * with CONFIG_KALLSYMS_ALL (Debian and Android: yes): the ladder loads
 * these programs only where kallsyms has one of them, else the _sp ones.
 */
extern const int __preempt_count __ksym __weak;
struct pcpu_hot___mmlock {
	int preempt_count;
} __attribute__((preserve_access_index));
extern const struct pcpu_hot___mmlock pcpu_hot __ksym __weak;

static __always_inline __u32 preempt_count(void)
{
	if (&__preempt_count)
		return *(int *)bpf_this_cpu_ptr(&__preempt_count);
	if (&pcpu_hot)
		return ((struct pcpu_hot___mmlock *)bpf_this_cpu_ptr(&pcpu_hot))->preempt_count;
	return 0;
}

/* x86_64 interrupt stacks (IRQ_STACK_SIZE == THREAD_SIZE): gives the task stack's size. */
struct irq_stack___mmlock {
	char stack[1];
} __attribute__((preserve_access_index));

/*
 * Without per-CPU symbols: task or interrupt, from the stack the tracepoint
 * was hit on. A raw tracepoint's ctx (the argument array) lies on the stack
 * of the code that hit it (the program's own frame may not: x86 gives BPF
 * programs per-CPU private stacks since 6.13). Hardirqs and softirqs run on
 * the CPU's interrupt stack, NMIs on their own; a task (ksoftirqd and
 * threaded irqs included) on its own. Softirq and hardirq are not told
 * apart: both count as CTX_HARDIRQ.
 */
static __always_inline __u32 exec_ctx_sp(void *ctx)
{
	struct task_struct *t = (struct task_struct *)bpf_get_current_task();
	__u64 base = (__u64)BPF_CORE_READ(t, stack), size = 16384, p, addr = 0;

	if (bpf_core_type_exists(struct irq_stack___mmlock))
		size = bpf_core_type_size(struct irq_stack___mmlock);
	/* ctx's address as a plain number (the verifier would track it as a pointer). */
	p = (__u64)ctx;
	bpf_probe_read_kernel(&addr, sizeof(addr), &p);
	return addr - base < size ? CTX_TASK : CTX_HARDIRQ;
}
#elif defined(bpf_target_arm64)
/* arm64 keeps it in thread_info (the low half of a u64 on little endian). */
static __always_inline __u32 preempt_count(void)
{
	struct task_struct *t = (struct task_struct *)bpf_get_current_task();

	return BPF_CORE_READ(t, thread_info.preempt.count);
}
#else
#error "preempt_count(): unsupported architecture"
#endif

/* The context the program runs in (enum mm_exec_ctx), from the preempt count. */
static __always_inline __u32 exec_ctx(void *ctx)
{
	__u32 pc = preempt_count();

	if (pc & PC_NMI_MASK)
		return CTX_NMI;
	if (pc & PC_HARDIRQ_MASK)
		return CTX_HARDIRQ;
	if (pc & PC_SOFTIRQ_OFFSET)
		return CTX_SOFTIRQ;
	return CTX_TASK;
}

#if defined(bpf_target_arm64)
#define exec_ctx_sp exec_ctx	/* arm64 needs no symbol: the _sp programs are the same */
#endif

static __always_inline bool comm_eq(const char *a)
{
	for (int i = 0; i < MMLOCK_COMM_LEN; i++) {
		if (a[i] != targ_comm[i])
			return false;
		if (!a[i])
			break;
	}
	return true;
}

/* Thread or its process (group leader) has the filter's comm. */
static __always_inline bool task_comm_match(struct task_struct *t)
{
	char comm[MMLOCK_COMM_LEN];

	BPF_CORE_READ_STR_INTO(&comm, t, comm);
	if (comm_eq(comm))
		return true;
	BPF_CORE_READ_STR_INTO(&comm, t, group_leader, comm);
	return comm_eq(comm);
}

/* In-kernel filter for a task given its tgid/tid (cheap checks first). */
static __always_inline bool want(struct task_struct *t, __u32 tgid, __u32 tid)
{
	if (!tid)	/* idle task */
		return false;
	if (targ_tgid && tgid != targ_tgid)
		return false;
	if (targ_tid && tid != targ_tid)
		return false;
	if (filter_comm)
		return task_comm_match(t);
	return true;
}

static __always_inline bool want_current(void)
{
	__u64 id = bpf_get_current_pid_tgid();

	return want((struct task_struct *)bpf_get_current_task(), id >> 32, (__u32)id);
}

/*
 * The heavy helpers are global BPF functions (bpf/helpers.bpf.c): the
 * verifier checks each once instead of once per inlined call site, which
 * keeps sched_switch under the complexity limit. Their arguments must be
 * scalars: kind/class/site are packed by KCS.
 */
#define KCS(kind, cls, site) ((__u32)(kind) | (__u32)(cls) << 8 | (__u32)(site) << 16)
#define KCS_KIND(v) ((v) & 0xff)
#define KCS_CLS(v) (((v) >> 8) & 0xff)
#define KCS_SITE(v) (((v) >> 16) & 0xff)
/* mm_classify_scratch() only: the context's scratch buffer, and "classify, store nothing". */
#define KCS_CTX(c) ((__u32)((c) & 3) << 24)
#define KCS_GET_CTX(v) (((v) >> 24) & 3)
#define KCS_NOSTORE (1U << 26)
/* mm_classify_scratch() result: stack id in bits 0-22, class 23-26, site 27-30. */
#define CLASSIFIED(id, cls, site) ((int)((id) & 0x7fffff) | (cls) << 23 | (site) << 27)

extern int mm_hist_add(__u32 tid, __u32 kcs, __u64 dur, __u64 aux);
extern int mm_stack_add(__u32 tid, int stack_id, __u32 kcs, __u64 dur);
extern int mm_classify_scratch(long nbytes, __u32 kcs);
extern int mm_ioctl_hist(struct thread_state *ts, __u32 tid, __u32 nr, __u64 dur, __u64 err);
extern int mm_hot_fold(struct thread_state *ts, __u32 tid);
extern int mm_lf_hist_add(__u32 tid, __u32 kcs, __u64 dur);

static __always_inline void note_thread(__u32 tid, struct task_struct *t)
{
	struct mm_thread ti = {};

	ti.pid = BPF_CORE_READ(t, tgid);
	BPF_CORE_READ_STR_INTO(&ti.comm, t, comm);
	BPF_CORE_READ_STR_INTO(&ti.pcomm, t, group_leader, comm);
	/* Overwrite: a later histogram may follow an exec or a rename. */
	if (bpf_map_update_elem(&threads, &tid, &ti, BPF_ANY))
		count(CNT_THREAD_FULL);
}

static __always_inline void hist_add(struct task_struct *t, __u32 tid, __u8 kind, __u8 cls,
				     __u8 site, __u64 dur, __u64 aux)
{
	if (mm_hist_add(tid, KCS(kind, cls, site), dur, aux) > 0)
		note_thread(tid, t);
}

static __always_inline void stack_add(__u32 tid, __s32 stack_id, __u8 kind, __u8 cls,
				      __u8 site, __u64 dur)
{
	if (stack_id >= 0)
		mm_stack_add(tid, stack_id, KCS(kind, cls, site), dur);
}

/* The scratch stack buffer of this CPU and execution context. */
static __always_inline __u64 *stack_buf(__u32 ectx)
{
	__u32 i = ectx & (NR_CTX - 1);

	return bpf_map_lookup_elem(&stack_scratch, &i);
}

/*
 * Classify the stack in the context's scratch buffer; refines *cls / *site.
 * Returns its stack id, or -1; with `store` false the stack is classified
 * but not stored (no map insert: see THE LOCK RULE) and 0 means success.
 */
static __always_inline __s32 classify_scratch(long nbytes, __u32 ectx, bool store, __u8 *cls,
					      __u8 *site)
{
	int r = mm_classify_scratch(nbytes, KCS(0, *cls, *site) | KCS_CTX(ectx) |
					    (store ? 0 : KCS_NOSTORE));

	if (r < 0)
		return -1;
	*cls = (r >> 23) & 0xf;
	*site = (r >> 27) & 0xf;
	return r & 0x7fffff;
}

/* Stack of the current task (the waiter, still inside the wait) into the scratch buffer. */
static __always_inline long current_stack_raw(void *ctx, __u32 ectx)
{
	__u64 *ips = stack_buf(ectx);
	long n;

	if (!ips)
		return -1;
	n = bpf_get_stack(ctx, ips, MMLOCK_STACK_DEPTH * sizeof(__u64), 0);
	if (n <= 0)
		count(CNT_STACK_FAIL);
	return n;
}

/* Stack of the current task in task context, classified and stored: its id or -1. */
static __always_inline __s32 current_stack(void *ctx, __u8 *cls, __u8 *site)
{
	long n = current_stack_raw(ctx, CTX_TASK);

	return n > 0 ? classify_scratch(n, CTX_TASK, true, cls, site) : -1;
}

/* Reserve an event for the ring buffer if this one is long enough; NULL if not. */
static __always_inline struct mm_event *event_reserve(__u64 dur)
{
	struct mm_event *e;

	if (!want_events || dur < min_slice_ns)
		return NULL;
	e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
	if (!e) {
		count(CNT_RINGBUF_DROP);
		return NULL;
	}
	return e;
}

/* The fields every event has; the caller then sets the kind's own ones. */
static __always_inline void event_init(struct mm_event *e, __u64 ts, __u64 dur, __u32 pid,
				       __u32 tid, __u8 kind, __u8 cls, __u8 site)
{
	e->ts_ns = ts;
	e->dur_ns = dur;
	e->addr = 0;
	e->aux_ns = 0;
	e->pid = pid;
	e->tid = tid;
	e->flags = 0;
	e->stack_id = -1;
	e->ret = 0;
	e->other_tid = 0;
	e->kind = kind;
	e->cls = cls;
	e->site = site;
	e->blame_cls = 0;
	e->blame_ns = 0;
	e->preempt_ns = 0;
}

/* Submit without waking the consumer: it polls (a wakeup per event perturbs). */
static __always_inline void event_submit(struct mm_event *e)
{
	bpf_ringbuf_submit(e, BPF_RB_NO_WAKEUP);
}

/* anon_vma_lock_write/read lock anon_vma->root->rwsem: a root points at itself. */
static __always_inline bool is_anon_vma_root(__u64 sem)
{
	struct anon_vma *av = (struct anon_vma *)(sem - bpf_core_field_offset(struct anon_vma, rwsem));

	return (__u64)BPF_CORE_READ(av, root) == (__u64)av;
}

/* The thread's state; created (zeroed) if `create`. NULL if absent or map full. */
static __always_inline struct thread_state *tstate(__u32 tid, bool create)
{
	static const struct thread_state zero;
	struct thread_state *ts = bpf_map_lookup_elem(&tstates, &tid);

	if (ts || !create)
		return ts;
	bpf_map_update_elem(&tstates, &tid, &zero, BPF_NOEXIST);
	ts = bpf_map_lookup_elem(&tstates, &tid);
	if (!ts)
		count(CNT_TSTATE_FULL);
	return ts;
}

/* Site implied by the thread's in-flight uffd ioctl (no stack needed). */
static __always_inline __u8 context_site(struct thread_state *ts)
{
	return ts && ts->io.state == IOCTL_IN_KERNEL ? mm_uffd_site(ts->io.cmd & 0xff) : SITE_OTHER;
}

/*
 * A sched tracepoint whose first argument is the task (sched_process_exit,
 * sched_process_exec): NAME_btf (tp_btf, typed read) and NAME_raw (raw_tp,
 * CO-RE read), both calling fn(task, tid). The ladder tries them in that order.
 */
#define TASK_TRACEPOINT_PROGS(tp, name, fn)				\
SEC("tp_btf/" #tp)							\
int BPF_PROG(name##_btf, struct task_struct *p)			\
{									\
	fn(p, p->pid);							\
	return 0;							\
}									\
SEC("raw_tp/" #tp)							\
int BPF_PROG(name##_raw, struct task_struct *p)			\
{									\
	fn(p, BPF_CORE_READ(p, pid));					\
	return 0;							\
}

#endif /* MMLOCK_COMMON_BPF_H */
