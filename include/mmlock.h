/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Types and constants shared by the BPF programs (bpf/) and userspace (src/).
 * Only fixed-width __u32/__u64 types: this header is compiled both against
 * vmlinux.h (BPF) and against <linux/types.h> (userspace).
 */
#ifndef MMLOCK_H
#define MMLOCK_H

#ifndef __VMLINUX_H__	/* userspace; BPF gets the types from vmlinux.h */
#include <linux/types.h>
#endif

#define MMLOCK_COMM_LEN		16
#define MMLOCK_STACK_DEPTH	32	/* frames kept per kernel stack */
#define MMLOCK_MAX_MARKERS	64	/* marker functions resolved from kallsyms */

/* What was measured. */
enum mm_kind {
	KIND_LOCK,	/* lock:contention_begin .. contention_end */
	KIND_DSTATE,	/* sched_switch out in D-state .. sched_wakeup */
	KIND_IOCTL,	/* uffd ioctl entry .. exit */
	/* Only where fentry or kprobes exist (bpf/mmprobes.bpf.c): */
	KIND_TRYLOCK,	/* down_write_trylock on an anon_vma: count, aux = failed */
	KIND_ACQUIRE,	/* down_write on an anon_vma: call .. return, spinning included */
	KIND_HOLD,	/* anon_vma write lock taken .. up_write */
	KIND_RMAP,	/* rmap_walk_anon: call .. return */
	NR_KINDS,
};

/* Which lock a wait was for (KIND_LOCK, KIND_DSTATE). */
enum mm_class {
	CLASS_OTHER,		/* not recognized */
	CLASS_ANON_VMA_WRITE,	/* root anon_vma rwsem, write */
	CLASS_ANON_VMA_READ,	/* root anon_vma rwsem, read */
	CLASS_MMAP_WRITE,	/* current->mm->mmap_lock, write */
	CLASS_MMAP_READ,	/* current->mm->mmap_lock, read */
	CLASS_VMA_WRITE,	/* per-VMA lock, writer (__vma_start_write) */
	CLASS_VMA_READ,		/* per-VMA lock, reader */
	CLASS_FOLIO,		/* folio lock bit (__folio_lock, migration entry) */
	CLASS_SPIN,		/* spinlock: page-table lock and others */
	CLASS_RWSEM_WRITE,	/* another rwsem, write */
	CLASS_RWSEM_READ,	/* another rwsem, read */
	CLASS_MUTEX,		/* a mutex */
	CLASS_IO,		/* D-state in I/O or elsewhere, no lock seen */
	NR_CLASSES,
};

/* Where the wait happened (the call site). */
enum mm_site {
	SITE_OTHER,
	SITE_UFFD_MOVE,		/* UFFDIO_MOVE: move_pages / move_pages_pte(s) */
	SITE_UFFD_COPY,		/* UFFDIO_COPY / ZEROPAGE / CONTINUE: mfill_atomic* */
	SITE_UFFD_OTHER,	/* another uffd ioctl (REGISTER, WAKE, ...) */
	SITE_RMAP_WALK,		/* rmap_walk / folio_lock_anon_vma_read and callers */
	SITE_RECLAIM,		/* shrink_folio_list, kswapd, direct reclaim */
	SITE_COMPACTION,	/* compaction, migration */
	SITE_FAULT,		/* page fault handling */
	SITE_MMAP,		/* mmap / munmap / mremap / mprotect / madvise */
	/* Waits in interrupt context: the site is the context (tid 0, never the interrupted thread). */
	SITE_SOFTIRQ,
	SITE_HARDIRQ,
	SITE_NMI,
	NR_SITES,		/* <= 16: four bits in the BPF side's packed results */
};

/*
 * The execution context a BPF program runs in, from the preempt count.
 * Contexts nest in this order on one CPU: a program in context c can be
 * interrupted only by programs in contexts above c.
 */
enum mm_exec_ctx {
	CTX_TASK,
	CTX_SOFTIRQ,
	CTX_HARDIRQ,
	CTX_NMI,
	NR_CTX,
};

/* uffd ioctl commands, by their _IOC_NR (type 0xAA). */
enum uffd_cmd {
	UFFD_CMD_REGISTER = 0x00,
	UFFD_CMD_UNREGISTER = 0x01,
	UFFD_CMD_WAKE = 0x02,
	UFFD_CMD_COPY = 0x03,
	UFFD_CMD_ZEROPAGE = 0x04,
	UFFD_CMD_MOVE = 0x05,
	UFFD_CMD_WRITEPROTECT = 0x06,
	UFFD_CMD_CONTINUE = 0x07,
	UFFD_CMD_POISON = 0x08,
	UFFD_CMD_API = 0x3F,
	NR_UFFD_CMDS = 0x40,
};
#define UFFD_IOCTL_TYPE		0xAA

/* Site implied by a uffd ioctl command (the thread is inside it). */
static inline __u8 mm_uffd_site(__u32 cmd_nr)
{
	switch (cmd_nr) {
	case UFFD_CMD_MOVE:
		return SITE_UFFD_MOVE;
	case UFFD_CMD_COPY:
	case UFFD_CMD_ZEROPAGE:
	case UFFD_CMD_CONTINUE:
	case UFFD_CMD_POISON:
		return SITE_UFFD_COPY;
	default:
		return SITE_UFFD_OTHER;
	}
}

/*
 * [chains] mm_event.flags of a lock wait: the waiting thread is outside the
 * recording's filter (-p/-t/-c), kept only as a possible blocker: in no
 * histogram, never a stall of its own (docs/chains.md). Above every LCB_F_*.
 */
#define MM_EV_OUTSIDE	(1U << 31)

/* lock:contention_begin flags (include/trace/events/lock.h). */
#define LCB_F_SPIN	(1U << 0)
#define LCB_F_READ	(1U << 1)
#define LCB_F_WRITE	(1U << 2)
#define LCB_F_RT	(1U << 3)
#define LCB_F_PERCPU	(1U << 4)
#define LCB_F_MUTEX	(1U << 5)

/*
 * Latency histogram: log2 with 4 linear sub-buckets per power of two, in ns.
 * Values 0..3 get slots 0..3; a value v with top bit m >= 2 goes to slot
 * (m - 1) * 4 + ((v >> (m - 2)) & 3). A slot is at most 25% wide, so a
 * percentile read at the slot's midpoint is off by at most 12.5%.
 */
#define HIST_SUB_BITS	2
#define HIST_SUB	(1 << HIST_SUB_BITS)
#define HIST_MAX_POW	39		/* 2^40 ns ~ 18 min: clamped above */
#define HIST_SLOTS	(HIST_MAX_POW * HIST_SUB)

struct hist_key {
	__u32 tid;
	__u8 kind;	/* enum mm_kind */
	__u8 cls;	/* enum mm_class; for KIND_IOCTL the uffd command nr */
	__u8 site;	/* enum mm_site */
	__u8 pad;
};

/*
 * Where a uffd ioctl's wall time went ([breakdown], docs/breakdown.md). The
 * parts are cut at the thread's switch points, so they do not overlap:
 * slots 0 .. NR_CLASSES - 1 hold blocked time (switched out, not yet woken)
 * by the class of what it waited for (CLASS_IO: D-state with no lock seen),
 * the others the rest. What no probe saw is the remainder (userspace's
 * "unexplained"): dur - the sum of all parts.
 */
enum mm_part {
	PART_SLEEP = NR_CLASSES,	/* blocked in an interruptible sleep */
	PART_ON_CPU,		/* running, outside the parts below */
	PART_LOCK_SPIN,		/* spinning in a task-context spin wait (its interrupts excluded) */
	/*
	 * rwsem_down_write_slowpath entered .. its first lock wait or its return:
	 * a writer's optimistic spin on the owner (rwsem_optimistic_spin is
	 * inlined in every lab kernel), on CPU only, its interrupts excluded.
	 * Needs fentry or kprobes (probe "rwsem_spin"): else it stays in on_cpu.
	 */
	PART_RWSEM_SPIN,
	PART_INTERRUPTED,	/* waits in interrupt context that interrupted it */
	PART_PREEMPTED,		/* switched out runnable .. switched in */
	PART_RUNNABLE,		/* woken .. switched in */
	NR_PARTS,
};

struct hist {
	__u64 count;
	__u64 total_ns;
	__u64 max_ns;
	__u64 aux_ns;	/* KIND_DSTATE: runnable-after-wakeup time; IOCTL: errors */
	__u32 slots[HIST_SLOTS];
	__u64 parts[NR_PARTS];	/* IOCTL: summed over its ioctls (enum mm_part) */
};

/* One thread seen by the BPF side (first event that created a hist key). */
struct mm_thread {
	__u32 pid;	/* tgid */
	__u32 pad;
	char comm[MMLOCK_COMM_LEN];
	char pcomm[MMLOCK_COMM_LEN];	/* group leader's comm */
};

/* Aggregated kernel stacks: key -> struct stack_val. */
struct stack_key {
	__u32 tid;
	__s32 stack_id;
	__u8 kind;
	__u8 cls;
	__u8 site;
	__u8 pad;
};

struct stack_val {
	__u64 count;
	__u64 total_ns;
	__u64 max_ns;
};

/* Ring-buffer record for one wait / D-state period / ioctl >= min_slice. */
struct mm_event {
	__u64 ts_ns;		/* start, CLOCK_BOOTTIME */
	__u64 dur_ns;
	__u64 addr;		/* lock address, 0 if none */
	__u64 aux_ns;		/* DSTATE: runnable-after-wakeup; IOCTL: len */
	__u32 pid;
	__u32 tid;
	__u32 flags;		/* LOCK: LCB_F_*; IOCTL: full cmd */
	__s32 stack_id;		/* -1: none */
	__s32 ret;		/* IOCTL: return value */
	__u32 other_tid;	/* LOCK: owner if known; DSTATE: waker; IOCTL: see by_ns */
	__u8 kind;
	__u8 cls;
	__u8 site;
	__u8 blame_cls;		/* IOCTL: the lock class it waited for longest */
	char comm[MMLOCK_COMM_LEN];
	__u64 blame_ns;		/* IOCTL: time waited for blame_cls */
	/*
	 * IOCTL: the task switched in at its longest preemption, and that
	 * preemption. LOCK: the owner's name, and how long of the wait its uffd
	 * ioctl covered (0: no parts). DSTATE: the waker's name.
	 */
	__u64 by_ns;
	char by_comm[MMLOCK_COMM_LEN];
	/*
	 * IOCTL: where its time went (enum mm_part). LOCK with by_ns: what the
	 * owner's ioctl did during the wait, raw (spin and interrupts not yet
	 * cut out of on-CPU time: parts_carve).
	 */
	__u64 parts[NR_PARTS];
};

/*
 * A uffd ioctl in progress. It ends when the thread is back in user space,
 * not at sys_exit: a thread rescheduled on its way out (exit_to_user_mode)
 * waits there too, and an application's own timing sees that wait.
 */
enum inflight_state {
	IOCTL_NONE,		/* no uffd ioctl */
	IOCTL_IN_KERNEL,	/* between entry and exit */
	IOCTL_EXITED,		/* past exit: done unless rescheduled right away */
	IOCTL_RESCHEDULED,	/* switched out on the return path: done at switch-in */
};

#define WAIT_CLASSES 16		/* >= NR_CLASSES, a power of two: indexes are masked */

struct inflight {
	__u64 ts;
	__u64 arg;		/* user pointer to the ioctl's struct */
	__u64 len;		/* read at exit, only for ioctls >= min_slice */
	__u64 exit_ts;
	__s64 ret;
	__u32 cmd;
	__u32 state;		/* enum inflight_state */
	__u64 preempt_ts;	/* switched out while runnable, 0 if not */
	__u32 waited;		/* bit c set: wait_ns[c] is not zero */
	__u32 pad;
	__u64 wait_ns[WAIT_CLASSES];	/* lock waits inside this ioctl, by class */
	/* The breakdown (enum mm_part), cut at the thread's switch points. */
	__u64 on_ts;		/* running in it since, 0 if off CPU or unknown */
	__u64 off_ts;		/* switched out asleep (not preempted), 0 if not */
	__u64 wake_ts;		/* that sleep's wakeup, 0 until woken */
	__u32 off_slot;		/* that sleep's part: a class, or PART_SLEEP */
	__u32 by_tid;		/* switched in at the current preemption */
	__u32 top_by_tid;	/* ... at the longest one so far */
	__u32 pad2;
	__u64 top_by_ns;
	char by_comm[MMLOCK_COMM_LEN];
	char top_by_comm[MMLOCK_COMM_LEN];
	__u64 parts[NR_PARTS];
	/*
	 * [chains] The parts of the thread's earlier uffd ioctls, summed (added
	 * at the next one's entry): with parts, a clock of what the thread did
	 * inside uffd ioctls that never goes back. A lock's owner typically
	 * ends its ioctl and begins more before its waiter's wait ends; the
	 * difference of two readings spans them all.
	 */
	__u64 done_parts[NR_PARTS];
	/*
	 * [rwspin] An rwsem write slow path in progress inside this ioctl,
	 * before its first lock wait: PART_RWSEM_SPIN when it ends.
	 */
	__u64 rws_ts;		/* on CPU in it since, 0 if off CPU or none open */
	__u64 rws_ns;		/* its on-CPU time before rws_ts */
	__u64 rws_irq;		/* parts[PART_INTERRUPTED] when it began */
	__u32 rws_open;
	__u32 pad3;
};

/* A lock wait in progress: contention_begin .. contention_end (nested 2 deep). */
#define WAIT_DEPTH 2		/* a power of two: indexes are masked */
struct wait_frame {
	__u64 lock;
	__u64 ts;
	__u32 flags;
	__u32 owner;
	__u8 cls;
	__u8 pad[7];
};

/*
 * The thread's hot uffd command (the first page-moving one it issues: COPY,
 * MOVE, ZEROPAGE, CONTINUE, POISON): those of its
 * ioctls that took [2^HOT_MIN_POW, 2^HOT_MAX_POW) ns are counted here, in the
 * thread's own state, without a map lookup or atomics (only the thread's own
 * context writes it). Userspace folds it into the thread's KIND_IOCTL hist at
 * collection; BPF folds it into `hists` when the thread exits. Slot i here is
 * slot HOT_SLOT0 + i of struct hist.
 */
#define HOT_MIN_POW	8		/* 256 ns */
#define HOT_MAX_POW	18		/* 262 us: slower ioctls go to `hists` */
#define HOT_SLOT0	((HOT_MIN_POW - 1) * HIST_SUB)
#define HOT_SLOTS	((HOT_MAX_POW - HOT_MIN_POW) * HIST_SUB)

struct hot_ioctls {
	__u32 cmd;		/* command nr + 1; 0 until the first uffd ioctl */
	__u32 errors;
	__u64 count;
	__u64 total_ns;
	__u64 max_ns;
	__u32 slots[HOT_SLOTS];
	__u64 parts[NR_PARTS];
};

/*
 * Everything mmlock tracks about one thread, in one map entry, so that each
 * event costs one lookup: its lock wait, its D-state period, its uffd ioctl.
 * Deleted when the thread exits (after its hot histogram is folded).
 */
/*
 * [chains] The owner of the thread's outer sleeping-lock wait, as that wait
 * began: its uffd ioctl clock at that moment, so that the wait's end can
 * tell what the owner did meanwhile (the difference). Only for an owner
 * mmlock follows that is inside a uffd ioctl: no other thread has parts.
 */
struct owner_snap {
	__u64 ts;		/* when taken (the wait's start); 0: no snapshot */
	__u64 parts[NR_PARTS];	/* the owner's uffd ioctl clock then (ioctl_clock) */
	char comm[MMLOCK_COMM_LEN];	/* the owner's name (kept for any owner) */
};

struct thread_state {
	struct wait_frame w[WAIT_DEPTH];
	struct owner_snap os;	/* of w[0] */
	__u32 depth;
	__u32 overflow;		/* begins beyond WAIT_DEPTH still unmatched */
	/* D-state period: switched out uninterruptible .. switched in. */
	__u64 ds_ts;		/* switch-out, 0 if none in progress */
	__u64 ds_wake_ts;	/* sched_wakeup, 0 until woken */
	__u64 ds_lock;
	__u32 ds_waker;
	char ds_waker_comm[MMLOCK_COMM_LEN];
	__u8 ds_in_lock;	/* was inside a contention wait: class known */
	__u8 ds_cls;
	__u8 pad[2];
	struct inflight io;
	struct hot_ioctls hot;
};

/*
 * Waits that may run inside a held spinlock or in interrupt context are
 * recorded lock-free (bpf/contention.bpf.c): no ring buffer, no hash insert.
 *
 * lf_hists: an open-addressing table in an mmap-able array. An entry is
 * claimed by a compare-and-swap of `key` from 0 and never freed while
 * recording. key = tid << 32 | kind << 24 | cls << 16 | site << 8 | 1.
 */
#define LF_HIST_ENTRIES	1024	/* a power of two */
#define LF_HIST_PROBES	8

struct lf_hist {
	__u64 key;
	__u32 pid;		/* tgid of the thread when claimed */
	__u32 pad;
	char comm[MMLOCK_COMM_LEN];
	struct hist h;
};

/*
 * lf_ring: per-CPU event rings in an mmap-able array (CPU c owns slots
 * [c * n, (c + 1) * n)). A writer takes index i with an atomic add on the
 * CPU's head (lf_head[] in .bss: nested contexts on one CPU get distinct
 * slots), fills the slot, then publishes seq = i + 1 with an atomic
 * exchange (ordered after the payload on every architecture). A reader
 * that finds seq above i + 1 was lapped: those events are counted lost.
 */
#define LF_MAX_CPUS	1024	/* a power of two */

struct lf_slot {
	__u64 seq;
	struct mm_event e;
	__u32 nframes;
	__u32 pad;
	__u64 ips[MMLOCK_STACK_DEPTH];
};

/*
 * The on-CPU sampler (bpf/sampler.bpf.c): a perf_event program (cpu-clock,
 * --sample-hz per CPU) that samples a traced thread with a uffd ioctl in
 * flight. It runs in interrupt context, so by THE LOCK RULE it writes only
 * to sample_ring: per-CPU rings like lf_ring (same publishing protocol, its
 * own head array sample_head[] in .bss), the kernel stack inline.
 */
#define SAMPLE_NO_WAIT	0xff	/* cpu_sample.wait_cls: no lock wait in progress */

struct cpu_sample {
	__u64 seq;		/* published index + 1 (see struct lf_slot) */
	__u64 ts;		/* when taken, CLOCK_BOOTTIME */
	__u64 io_ts;		/* start of the ioctl in flight: with tid, which ioctl */
	__u32 pid, tid;
	__u32 cmd;		/* that ioctl's full cmd */
	__u8 wait_cls;		/* enum mm_class of the lock wait in progress, or SAMPLE_NO_WAIT */
	__u8 spin;		/* that wait is this CPU's spin wait (else a sleeping lock's) */
	__u8 pad[2];
	__s32 nbytes;		/* bpf_get_stack's result: bytes of ips[], < 0 on error */
	__u32 pad2;
	__u64 ips[MMLOCK_STACK_DEPTH];	/* kernel stack, innermost first */
};

/* Counts of the sampler's runs, in .bss (sampler_stats[]). */
enum sampler_stat {
	SAMPLER_TAKEN,		/* samples written to sample_ring */
	SAMPLER_NO_STACK,	/* of which bpf_get_stack gave nothing */
	NR_SAMPLER_STATS,
};

/* A marker function [start, end) resolved from kallsyms, sorted by start. */
struct marker {
	__u64 start;
	__u64 end;
	__u8 site;	/* enum mm_site it implies, SITE_OTHER if none */
	__u8 cls;	/* enum mm_class it implies, CLASS_OTHER if none */
	__u8 pad[6];
};

/* Counters in the BPF program's .bss, read by userspace and reported. */
enum mm_counter {
	CNT_RINGBUF_DROP,	/* bpf_ringbuf_reserve failed */
	CNT_HIST_FULL,		/* hist map full: sample lost */
	CNT_STACK_FULL,		/* stack aggregation map full */
	CNT_STACK_FAIL,		/* bpf_get_stackid failed */
	CNT_TSTATE_FULL,	/* per-thread state not created: map full */
	CNT_WAIT_NESTED,	/* contention nested deeper than tracked */
	CNT_WAIT_UNMATCHED,	/* contention_end without begin */
	CNT_THREAD_FULL,	/* thread map full */
	CNT_STACK_COLLISION,	/* stack id taken by other frames, no free id near it */
	CNT_PROG_MISSES,	/* runs the kernel skipped (recursion), from prog info */
	CNT_SPIN_HIST_FULL,	/* lock-free wait table full: a spin/interrupt wait not counted */
	CNT_SPIN_EVENT_LOST,	/* lock-free event ring overrun before userspace read it */
	CNT_WAIT_END_SKIPPED,	/* nested wait whose end the kernel would skip: not recorded */
	CNT_WAIT_BEGIN_SKIPPED,	/* nested wait whose begin the kernel skipped: end ignored */
	CNT_SPIN_END_LOST,	/* spin frame replaced by a new begin: its end never came */
	CNT_SPIN_STALE,		/* spin frame of another task or after a switch: dropped */
	CNT_RT_WAIT_SKIPPED,	/* PREEMPT_RT lock wait (LCB_F_RT): not recorded */
	CNT_SWITCH_IN_UNSEEN,	/* a thread ran again with no sched_switch showing it */
	CNT_IOCTL_EXIT_UNSEEN,	/* uffd ioctl entered again before its exit was seen */
	CNT_IOCTL_ENTRY_UNSEEN,	/* uffd ioctl exit whose entry was not seen */
	CNT_CALL_FULL,		/* mmprobes: `calls` map full, a timed call lost */
	CNT_HELD_FULL,		/* mmprobes: `held` map full, a hold time lost */
	CNT_CTX_MISMATCH,	/* preempt count and stack disagree on task vs interrupt */
	CNT_RWSPIN_UNCLOSED,	/* rwsem write slow path whose return was not seen: not timed */
	NR_COUNTERS,
};

#endif /* MMLOCK_H */
