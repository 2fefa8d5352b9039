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
 * The pid and tid filters only: for programs that end what a begin started,
 * where a map lookup finds nothing for an untraced thread anyway and costs
 * less than reading comm for -c.
 */
static __always_inline bool maybe_current(void)
{
	__u64 id = bpf_get_current_pid_tgid();

	return (!targ_tgid || id >> 32 == targ_tgid) && (!targ_tid || (__u32)id == targ_tid);
}

/* Test aids: stay in the program for ns, so that interrupts land in it. */
static __always_inline void busy_wait(__u64 ns)
{
	__u64 t0 = bpf_ktime_get_ns();

	for (int i = 0; i < 2048 && bpf_ktime_get_ns() - t0 < ns; i++)
		;
}

/* MMLOCK_TEST_PROG_DELAY_NS: the contention programs, in task context. */
static __always_inline void test_delay(__u32 ectx)
{
	if (test_prog_delay_ns && ectx == CTX_TASK)
		busy_wait(test_prog_delay_ns);
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
	/* parts are read only where by_ns says so (an IOCTL, a LOCK with its owner's window). */
	e->by_ns = 0;
	__builtin_memset(e->by_comm, 0, sizeof(e->by_comm));
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

/* The thread's word in tstate_bits, NULL if its tid is beyond the bitmap. */
static __always_inline __u64 *tstate_word(__u32 tid)
{
	__u32 k = tid / 64;

	return bpf_map_lookup_elem(&tstate_bits, &k);
}

/* The thread's state; created (zeroed) if `create`. NULL if absent or map full. */
static __always_inline struct thread_state *tstate(__u32 tid, bool create)
{
	static const struct thread_state zero;
	__u64 *w = tstate_word(tid), bit = 1ULL << (tid & 63);
	struct thread_state *ts;

	/* Bit clear: no state (an array load instead of a hash lookup). Set before the insert. */
	if (w && !(*w & bit)) {
		if (!create)
			return NULL;
		__sync_fetch_and_or(w, bit);
	}
	ts = bpf_map_lookup_elem(&tstates, &tid);
	if (ts || !create)
		return ts;
	bpf_map_update_elem(&tstates, &tid, &zero, BPF_NOEXIST);
	ts = bpf_map_lookup_elem(&tstates, &tid);
	if (!ts)
		count(CNT_TSTATE_FULL);
	return ts;
}

static __always_inline struct cpu_state *cpu_state(void)
{
	__u32 zero = 0;

	return bpf_map_lookup_elem(&cpu_states, &zero);
}

/* The thread runs on this CPU with a uffd ioctl in flight (see cpu_state.io_tid). */
static __always_inline void note_io_cpu(__u32 tid)
{
	struct cpu_state *cs = cpu_state();

	if (cs)
		cs->io_tid = tid;
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
