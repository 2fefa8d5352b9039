// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* One home for every name mmlock prints or parses. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "model/recording.h"

static const char *const kind_names[NR_KINDS] = {
	[KIND_LOCK] = "lock",
	[KIND_DSTATE] = "dstate",
	[KIND_IOCTL] = "ioctl",
	[KIND_TRYLOCK] = "trylock",
	[KIND_ACQUIRE] = "acquire",
	[KIND_HOLD] = "hold",
	[KIND_RMAP] = "rmap_walk",
};

/* A histogram's label in the trace: "lock wait anon_vma write · uffd_move". */
static const char *const kind_words_[NR_KINDS] = {
	[KIND_LOCK] = "lock wait",
	[KIND_DSTATE] = "D-state",
	[KIND_IOCTL] = "ioctl",
	[KIND_TRYLOCK] = "trylock",
	[KIND_ACQUIRE] = "acquire",
	[KIND_HOLD] = "hold",
	[KIND_RMAP] = "rmap walk",
};

/* The Perfetto slice category of each kind (for filtering in the UI). */
static const char *const kind_categories[NR_KINDS] = {
	[KIND_LOCK] = "mmlock.lock",
	[KIND_DSTATE] = "mmlock.dstate",
	[KIND_IOCTL] = "mmlock.ioctl",
	[KIND_TRYLOCK] = "mmlock.trylock",
	[KIND_ACQUIRE] = "mmlock.acquire",
	[KIND_HOLD] = "mmlock.hold",
	[KIND_RMAP] = "mmlock.rmap",
};

/* The report's heading of each kind's table. */
static const char *const kind_titles[NR_KINDS] = {
	[KIND_LOCK] = "lock waits",
	[KIND_DSTATE] = "D-state (uninterruptible sleep; +runnable after wakeup)",
	[KIND_IOCTL] = "uffd ioctls",
	[KIND_TRYLOCK] = "anon_vma write trylocks (COUNT = attempts; failed ones then waited)",
	[KIND_ACQUIRE] = "anon_vma write acquisitions via down_write (optimistic spinning included)",
	[KIND_HOLD] = "anon_vma write lock hold time",
	[KIND_RMAP] = "rmap walks (rmap_walk_anon)",
};

static const char *const class_names[NR_CLASSES] = {
	[CLASS_OTHER] = "other",
	[CLASS_ANON_VMA_WRITE] = "anon_vma_write",
	[CLASS_ANON_VMA_READ] = "anon_vma_read",
	[CLASS_MMAP_WRITE] = "mmap_lock_write",
	[CLASS_MMAP_READ] = "mmap_lock_read",
	[CLASS_VMA_WRITE] = "vma_lock_write",
	[CLASS_VMA_READ] = "vma_lock_read",
	[CLASS_FOLIO] = "folio_lock",
	[CLASS_SPIN] = "spin",
	[CLASS_RWSEM_WRITE] = "rwsem_write",
	[CLASS_RWSEM_READ] = "rwsem_read",
	[CLASS_MUTEX] = "mutex",
	[CLASS_IO] = "io_other",
};

static const char *const class_labels[NR_CLASSES] = {
	[CLASS_OTHER] = "other",
	[CLASS_ANON_VMA_WRITE] = "anon_vma write",
	[CLASS_ANON_VMA_READ] = "anon_vma read",
	[CLASS_MMAP_WRITE] = "mmap_lock write",
	[CLASS_MMAP_READ] = "mmap_lock read",
	[CLASS_VMA_WRITE] = "vma_lock write",
	[CLASS_VMA_READ] = "vma_lock read",
	[CLASS_FOLIO] = "folio lock",
	[CLASS_SPIN] = "spinlock/ptl",
	[CLASS_RWSEM_WRITE] = "rwsem write",
	[CLASS_RWSEM_READ] = "rwsem read",
	[CLASS_MUTEX] = "mutex",
	[CLASS_IO] = "D-state (no lock)",
};

static const char *const site_names[NR_SITES] = {
	[SITE_OTHER] = "other",
	[SITE_UFFD_MOVE] = "uffd_move",
	[SITE_UFFD_COPY] = "uffd_copy",
	[SITE_UFFD_OTHER] = "uffd_other",
	[SITE_RMAP_WALK] = "rmap_walk",
	[SITE_RECLAIM] = "reclaim",
	[SITE_COMPACTION] = "compaction",
	[SITE_FAULT] = "fault",
	[SITE_MMAP] = "mmap",
	[SITE_SOFTIRQ] = "softirq",
	[SITE_HARDIRQ] = "hardirq",
	[SITE_NMI] = "nmi",
};

static const char *const counter_names[NR_COUNTERS] = {
	[CNT_RINGBUF_DROP] = "ringbuf_drop",
	[CNT_HIST_FULL] = "hist_map_full",
	[CNT_STACK_FULL] = "stack_map_full",
	[CNT_STACK_FAIL] = "stack_capture_failed",
	[CNT_TSTATE_FULL] = "thread_state_map_full",
	[CNT_WAIT_NESTED] = "wait_nested_too_deep",
	[CNT_WAIT_UNMATCHED] = "wait_end_unmatched",
	[CNT_THREAD_FULL] = "thread_map_full",
	[CNT_STACK_COLLISION] = "stack_id_collision",
	[CNT_PROG_MISSES] = "bpf_prog_misses",
	[CNT_SPIN_HIST_FULL] = "spin_hist_full",
	[CNT_SPIN_EVENT_LOST] = "spin_event_lost",
	[CNT_WAIT_END_SKIPPED] = "wait_end_skipped",
	[CNT_WAIT_BEGIN_SKIPPED] = "wait_begin_skipped",
	[CNT_SPIN_END_LOST] = "spin_end_lost",
	[CNT_SPIN_STALE] = "spin_frame_stale",
	[CNT_RT_WAIT_SKIPPED] = "rt_wait_skipped",
	[CNT_CTX_MISMATCH] = "exec_ctx_mismatch",
	[CNT_SWITCH_IN_UNSEEN] = "switch_in_unseen",
	[CNT_IOCTL_EXIT_UNSEEN] = "ioctl_exit_unseen",
	[CNT_IOCTL_ENTRY_UNSEEN] = "ioctl_entry_unseen",
	[CNT_CALL_FULL] = "call_map_full",
	[CNT_HELD_FULL] = "held_map_full",
	[CNT_RWSPIN_UNCLOSED] = "rwsem_spin_unclosed",
};

/* What a non-zero counter means for the numbers a report shows. */
static const char *const counter_meanings[NR_COUNTERS] = {
	[CNT_RINGBUF_DROP] = "single waits/ioctls lost from the events (worst ioctl, JSON events, Perfetto); histograms complete",
	[CNT_HIST_FULL] = "samples lost from the histograms: counts and totals too low",
	[CNT_STACK_FULL] = "waits kept without a stack; counts unaffected",
	[CNT_STACK_FAIL] = "waits kept without a stack; counts unaffected",
	[CNT_TSTATE_FULL] = "threads not followed: their waits, D-state and ioctls are missing",
	[CNT_WAIT_NESTED] = "nested lock waits not timed: lock-wait counts too low",
	[CNT_WAIT_UNMATCHED] = "lock-wait ends with no begin: those waits are not counted",
	[CNT_THREAD_FULL] = "threads shown without a name",
	[CNT_STACK_COLLISION] = "waits kept without a stack; counts unaffected",
	[CNT_PROG_MISSES] = "runs of mmlock's programs the kernel skipped (one already ran on that CPU): each may be a wait, switch or ioctl not seen",
	[CNT_SWITCH_IN_UNSEEN] = "threads ran again with no sched_switch showing it: rescheduled ioctls end at their switch-out (return-path wait not counted), open D-state periods dropped",
	[CNT_IOCTL_EXIT_UNSEEN] = "uffd ioctls whose return was not seen: not in the ioctl counts",
	[CNT_IOCTL_ENTRY_UNSEEN] = "uffd ioctls whose entry was not seen: not in the ioctl counts",
	[CNT_CALL_FULL] = "probe-timed calls (down_write, rmap walks, folio lock) lost: those counts too low",
	[CNT_HELD_FULL] = "anon_vma write holds not timed: hold counts too low",
	[CNT_RWSPIN_UNCLOSED] = "rwsem write slow paths whose return was not seen: their spin left in on_cpu",
	[CNT_SPIN_HIST_FULL] = "spinlock or interrupt waits not counted: the lock-free table was full",
	[CNT_SPIN_EVENT_LOST] = "spinlock or interrupt waits lost from the events (ring overrun); histograms complete",
	[CNT_WAIT_END_SKIPPED] = "waits in interrupt context not recorded: their end would be skipped (nested in a contention program)",
	[CNT_WAIT_BEGIN_SKIPPED] = "waits in interrupt context not recorded: their begin was skipped (nested in a contention program)",
	[CNT_SPIN_END_LOST] = "spin waits whose end never came: not counted",
	[CNT_SPIN_STALE] = "spin wait frames dropped (another task, or a switch since the begin): not counted, never mis-paired",
	[CNT_RT_WAIT_SKIPPED] = "PREEMPT_RT lock waits not recorded",
	[CNT_CTX_MISMATCH] = ("waits the preempt count and the stack filed in different contexts (task vs "
			      "interrupt): this kernel's preempt-count layout may not be the one mmlock knows "
			      "(docs/safety.md)"),
};

static const struct {
	unsigned int nr;
	const char *name;
} uffd_cmds[] = {
	{ UFFD_CMD_REGISTER, "UFFDIO_REGISTER" },
	{ UFFD_CMD_UNREGISTER, "UFFDIO_UNREGISTER" },
	{ UFFD_CMD_WAKE, "UFFDIO_WAKE" },
	{ UFFD_CMD_COPY, "UFFDIO_COPY" },
	{ UFFD_CMD_ZEROPAGE, "UFFDIO_ZEROPAGE" },
	{ UFFD_CMD_MOVE, "UFFDIO_MOVE" },
	{ UFFD_CMD_WRITEPROTECT, "UFFDIO_WRITEPROTECT" },
	{ UFFD_CMD_CONTINUE, "UFFDIO_CONTINUE" },
	{ UFFD_CMD_POISON, "UFFDIO_POISON" },
	{ UFFD_CMD_API, "UFFDIO_API" },
};

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

static const char *lookup(const char *const *tab, unsigned int n, unsigned int i)
{
	return i < n ? tab[i] : NULL;
}

static int rlookup(const char *const *tab, unsigned int n, const char *s)
{
	for (unsigned int i = 0; s && i < n; i++)
		if (tab[i] && !strcmp(tab[i], s))
			return i;
	return -1;
}

const char *kind_name(unsigned int k) { return lookup(kind_names, NR_KINDS, k); }
const char *kind_words(unsigned int k) { return lookup(kind_words_, NR_KINDS, k); }
const char *kind_category(unsigned int k) { return lookup(kind_categories, NR_KINDS, k); }
const char *kind_title(unsigned int k) { return lookup(kind_titles, NR_KINDS, k); }

const char *other_tid_name(unsigned int kind, __u32 tid)
{
	if (kind != KIND_LOCK)
		return "waker_tid";
	/* tid 0 holds the waits taken in interrupt context (bpf/contention.bpf.c). */
	return tid ? "owner_tid" : "interrupted_tid";
}
const char *other_comm_name(unsigned int kind, __u32 tid)
{
	if (kind != KIND_LOCK)
		return "waker_comm";
	return tid ? "owner_comm" : "interrupted_comm";
}
const char *class_name(unsigned int c) { return lookup(class_names, NR_CLASSES, c); }
const char *class_label(unsigned int c) { return lookup(class_labels, NR_CLASSES, c); }
const char *site_name(unsigned int s) { return lookup(site_names, NR_SITES, s); }
const char *counter_name(unsigned int c) { return lookup(counter_names, NR_COUNTERS, c); }
const char *counter_meaning(unsigned int c) { return lookup(counter_meanings, NR_COUNTERS, c); }
int kind_from_name(const char *s) { return rlookup(kind_names, NR_KINDS, s); }
int class_from_name(const char *s) { return rlookup(class_names, NR_CLASSES, s); }
int site_from_name(const char *s) { return rlookup(site_names, NR_SITES, s); }

const char *uffd_cmd_name(__u8 nr)
{
	/*
	 * The one name of an unknown command: it keeps its number, "UFFDIO_0x50".
	 * Every _IOC_NR (8 bits) has a name, so a recording always reads back.
	 */
	static char unknown[256][12];

	for (unsigned int i = 0; i < ARRAY_SIZE(uffd_cmds); i++)
		if (uffd_cmds[i].nr == nr)
			return uffd_cmds[i].name;
	snprintf(unknown[nr], sizeof(unknown[nr]), "UFFDIO_0x%02x", nr);
	return unknown[nr];
}

int uffd_cmd_from_name(const char *s)
{
	unsigned long nr;
	char *end;

	for (unsigned int i = 0; s && i < ARRAY_SIZE(uffd_cmds); i++)
		if (!strcmp(uffd_cmds[i].name, s))
			return uffd_cmds[i].nr;
	/* Only the form uffd_cmd_name() writes: two or more hex digits, nothing else. */
	if (!s || strncmp(s, "UFFDIO_0x", 9) || strlen(s + 9) < 2 || !isxdigit((unsigned char)s[9]))
		return -1;
	nr = strtoul(s + 9, &end, 16);
	return *end || nr >= 256 ? -1 : (int)nr;
}

/*
 * The pairing rules: probes that only mean something together, {begin, end}.
 * A begin without its end would leave every wait, ioctl or hold open, and the
 * open state would mislabel the thread's later waits (or fill the map). So
 * the end is tried first (it comes first in probe_table), a begin whose end
 * got nothing is not attached, and an end none of whose begins got anything
 * is detached again (an end alone does nothing). `what` names what is lost
 * without the pair, for the report's "not measured:" line; NULL for the
 * deeper probes, which most kernels (this project's CI host too) never have.
 */
const struct probe_pair probe_pairs[] = {
	{ "contention_begin", "contention_end", "lock waits" },
	{ "uffd_ioctl_enter", "uffd_ioctl_exit", "uffd ioctl latency" },
	/* Both take the anon_vma write lock: the hold ends at up_write. */
	{ "anon_vma_trylock", "anon_vma_up_write", NULL },
	{ "anon_vma_down_write", "anon_vma_up_write", NULL },
};
const size_t nr_probe_pairs = sizeof(probe_pairs) / sizeof(probe_pairs[0]);
