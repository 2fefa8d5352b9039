/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The recorded data model: what `mmlock record` collected, independent of how
 * it is printed (output/report.c), saved (output/recording_json.c) or exported
 * (output/perfetto.c).
 */
#ifndef MMLOCK_RECORDING_H
#define MMLOCK_RECORDING_H

#include <stdbool.h>
#include <stddef.h>
#include <linux/types.h>
#include "mmlock.h"

#define REC_FORMAT_VERSION	1

/*
 * The histogram layout, by name: log2 x 4 buckets (include/mmlock.h,
 * hist.c). Fleet engines merge buckets across recordings only when this
 * matches; a new layout gets a new name, never the same one.
 */
#define HIST_LAYOUT_ID		"log2x4-v1"

/* Fleet identity (docs/fleet.md): --label KEY=VALUE and --device ID. */
#define REC_LABEL_KEY_LEN	64	/* 1..63 bytes [A-Za-z0-9_.-], a letter or _ first */
#define REC_LABEL_VALUE_LEN	256	/* 0..255 bytes, no control characters */
#define REC_MAX_LABELS		32
#define REC_DEVICE_LEN		128	/* 1..127 bytes, no control characters */
#define REC_ID_LEN		37	/* a UUID: 36 characters */

struct rec_label {
	char key[REC_LABEL_KEY_LEN];
	char value[REC_LABEL_VALUE_LEN];
};

/* The breakdown's parts (enum mm_part), and the remainder no probe saw. */
#define PART_UNEXPLAINED	NR_PARTS
#define NR_REC_PARTS		(NR_PARTS + 1)

/* One histogram of one thread: kind x class x site (see include/mmlock.h). */
struct rec_hist {
	__u8 kind;		/* enum mm_kind */
	__u8 cls;		/* enum mm_class, or uffd cmd nr for KIND_IOCTL */
	__u8 site;		/* enum mm_site */
	__u64 count;
	__u64 total_ns;
	__u64 max_ns;
	__u64 aux_ns;		/* DSTATE: runnable after wakeup; IOCTL: errors */
	__u32 slots[HIST_SLOTS];
	__u64 parts[NR_REC_PARTS];	/* IOCTL: where the time went, summed (see parts.c) */
};

/* A symbolized kernel stack, innermost frame first ("func+0xoff"). */
struct rec_stack {
	__u8 kind, cls, site;
	__u64 count;
	__u64 total_ns;
	__u64 max_ns;
	int nframes;
	char **frames;
};

struct rec_thread {
	__u32 tid;
	__u32 pid;
	char comm[MMLOCK_COMM_LEN];	/* thread name */
	char pcomm[MMLOCK_COMM_LEN];	/* process name */
	bool exited;			/* gone before the recording ended */
	struct rec_hist *hists;
	size_t nhists, hists_cap;	/* cap: grow_array's (0 if allocated to size) */
	struct rec_stack *stacks;	/* worst first */
	size_t nstacks, stacks_cap;
};

/* One wait / D-state period / ioctl at or above min_slice_ns. */
struct rec_event {
	__u64 ts_ns;		/* start, CLOCK_BOOTTIME */
	__u64 dur_ns;
	__u64 addr;		/* lock address or 0 */
	__u64 aux_ns;		/* DSTATE: runnable after wakeup; IOCTL: len */
	__u32 pid, tid;
	__u32 flags;		/* LOCK: LCB_F_*; IOCTL: ioctl cmd */
	__s32 ret;		/* IOCTL: return value */
	__u8 kind, cls, site;
	/*
	 * [chains] LOCK: a thread outside the recording's filter, kept only as
	 * a blocker (in no histogram, never a stall: chain.c, docs/chains.md).
	 */
	bool outside;
	__u8 blame_cls;		/* IOCTL: lock class waited for longest inside it */
	__u64 blame_ns;		/* IOCTL: time waited for blame_cls */
	__u64 preempt_ns;	/* IOCTL: time preempted while inside it (= its preempted part) */
	/* IOCTL: switched in at its longest preemption (other_tid, by_comm), for by_ns. */
	/* LOCK: lock owner, or for tid 0 (a wait in interrupt context) the
	 * thread it interrupted; DSTATE: waker; 0 unknown (or idle). */
	__u32 other_tid;
	char by_comm[MMLOCK_COMM_LEN];	/* other_tid's name ("" if not known) */
	/* LOCK: how much of the wait the owner's uffd ioctl covered (0: no owner parts). */
	__u64 by_ns;
	/*
	 * IOCTL: where its time went; sums to dur_ns. LOCK with by_ns: what
	 * the owner's ioctl did during the wait ([chains]); sums to by_ns.
	 */
	__u64 parts[NR_REC_PARTS];
	int nframes;		/* symbolized stack, 0 if none */
	char **frames;
};

/* Per-process counters over one sampling interval (for counter tracks). */
struct rec_sample {
	__u64 ts_ns;		/* end of the interval, CLOCK_BOOTTIME */
	__u32 pid;
	__u64 waits[NR_CLASSES];	/* lock waits + D-state folio/vma waits */
	__u64 ioctls;		/* uffd ioctls completed */
};

/* One on-CPU sample (--sample-hz) of a thread with a uffd ioctl in flight. */
struct rec_cpu_sample {
	__u64 ts_ns;		/* when taken, CLOCK_BOOTTIME */
	__u64 ioctl_ts_ns;	/* start of the ioctl it was taken in: with tid, which one */
	__u32 pid, tid;
	__u8 cmd;		/* that ioctl's uffd command nr */
	__u8 wait_cls;		/* lock wait in progress (enum mm_class), SAMPLE_NO_WAIT if none */
	bool spin;		/* that wait was a spin wait */
	int nframes;		/* symbolized kernel stack, innermost first */
	char **frames;
};

/* A function the samples were in: the leaf, and the innermost frame that is no generic helper. */
struct rec_func {
	char *func;
	char *via;		/* "" if every frame was a helper (or the leaf is not one) */
	__u64 samples;
};

/*
 * The samples filed under one thread's ioctls of one command (ioctl_ts_ns 0:
 * all of them, beside its KIND_IOCTL hist), or under one kept ioctl event.
 */
struct rec_oncpu {
	__u32 tid;
	__u8 cmd;
	__u64 ioctl_ts_ns;
	__u64 samples;
	struct rec_func *funcs;	/* most samples first once sorted (oncpu_sort) */
	size_t nfuncs, funcs_cap;
};

/* What the on-CPU sampler did. */
struct rec_sampler {
	__u32 hz;		/* --sample-hz; 0: off */
	__u32 cpus;		/* CPUs it was attached to */
	bool attached;
	char why[256];		/* why not attached ("" if it was) */
	__u64 samples;		/* taken by the BPF side */
	__u64 lost;		/* overwritten in the ring before read, or torn */
	__u64 no_stack;		/* taken without a kernel stack: not filed */
	__u64 filed;		/* read with a stack, filed under their ioctls (oncpu) */
	__u64 not_kept;		/* filed, but not kept in cpu_samples (bounded) */
	__u64 run_ns, runs;	/* the program's bpf_stats (0 unless kernel.bpf_stats_enabled) */
};

/*
 * [chains] One hop of a stall's blocker chain (chain.c, docs/chains.md):
 * the thread a stall waited on, on what evidence, and what that thread did
 * meanwhile. Hop k explains `waiter`: for hop 1 the stall itself (or, for
 * a uffd ioctl, its longest kept wait), for hop k > 1 the previous hop's
 * thread's own wait that overlapped the window.
 */
enum hop_why {
	HOP_OWNER,	/* the lock's owner field as the wait began */
	HOP_WAKER,	/* it woke the sleep the stall ended with (a lock's releaser) */
	HOP_PREEMPTOR,	/* it ran at the ioctl's longest preemption */
	NR_HOP_WHYS,
};

/* Where a hop's parts come from. */
enum hop_source {
	HOP_PARTS_NONE,		/* nothing is known of what it did */
	HOP_PARTS_IOCTL,	/* its uffd ioctl clock, read by BPF at the wait's start and end */
	HOP_PARTS_EVENTS,	/* its own kept waits in the window; the rest unseen */
};

#define CHAIN_MAX_HOPS		4	/* hops per chain: deeper ones are rarely one story */
#define CHAIN_MAX		20000	/* chains built per recording (the worst first); more are counted */
#define CHAIN_MIN_DEFAULT_NS	1000000ULL	/* --chain-min */

struct rec_hop {
	size_t waiter;		/* index in rec->events of the wait this hop explains */
	__u32 tid, pid;		/* the blocker; pid 0 if mmlock did not follow it */
	char comm[MMLOCK_COMM_LEN];	/* "" if not known */
	__u8 why;		/* enum hop_why */
	__u8 source;		/* enum hop_source */
	/*
	 * HOP_OWNER: the waker of the waiter's last sleep in the wait, if not
	 * the owner (the lock changed hands meanwhile: this one released it
	 * last); 0 if none or the same.
	 */
	__u32 released_by;
	char released_comm[MMLOCK_COMM_LEN];
	__u64 overlap_ns;	/* the waiter's wait inside the window of the hop before (hop 1: all) */
	__u64 window_ns;	/* what parts cover: they sum to it */
	__u64 parts[NR_REC_PARTS];	/* IOCTL source: PART_UNEXPLAINED is "outside uffd ioctls" */
	char on_cpu_in[128];	/* its most sampled function in the window ("" if no sample) */
	__u32 on_cpu_samples, samples;	/* of on_cpu_in, and all of its samples there */
};

struct rec_chain {
	size_t event;		/* the stall: index in rec->events */
	int nhops;
	struct rec_hop hops[CHAIN_MAX_HOPS];
};

/* Which mechanism a probe got, and why the better ones were refused. */
struct rec_probe {
	char name[48];
	char mechanism[16];	/* "tp_btf", "raw_tp", "tracepoint", "fentry", ... or "none" */
	char refused[256];	/* "fentry: load EPERM; kprobe: attach ENOENT" */
	__u32 prog_id;		/* kernel id of its (first) program: bpftool prog show id N */
};

struct recording {
	/* Empty in recordings made before the fleet fields (they read as such). */
	char id[REC_ID_LEN];		/* random UUID of this recording */
	char device[REC_DEVICE_LEN];	/* --device, or the machine's id (lib/ident.c) */
	struct rec_label *labels;	/* --label, sorted by key, keys unique */
	size_t nlabels, labels_cap;	/* cap: grow_array's */
	char tool_version[16];
	char kernel[128];	/* uname -r */
	char arch[32];		/* uname -m */
	__u64 start_ns, end_ns;	/* CLOCK_BOOTTIME */
	/* Clock snapshot taken together at start: for Perfetto's ClockSnapshot. */
	__u64 clk_boottime_ns, clk_monotonic_ns, clk_realtime_ns;
	/* Filter as given; 0 / "" = not set. */
	__u32 filter_pid, filter_tid;
	char filter_comm[MMLOCK_COMM_LEN];
	/* -c: 1 a thread of that name ran, -1 none was seen, 0 not known (a saved file). */
	int filter_comm_seen;
	__u64 min_slice_ns;	/* events >= this were kept */
	__u64 stack_min_ns;	/* stacks taken for waits >= this */
	bool plain_locks;	/* the kernel's BPF locks are not resilient: see THE LOCK RULE */
	bool no_uffd_probes;	/* --uffd-probes none: no uffd ioctl probes (low tax) */
	__u64 counters[NR_COUNTERS];	/* drops and map-full events, see mm_counter */
	__u64 live_states;	/* per-thread BPF states left at the end (live threads) */
	__u64 events_dropped;	/* events not kept in memory (max_events) */
	__u64 samples_dropped;	/* counter samples not kept (a bounded number) */
	struct rec_probe *probes;
	size_t nprobes;
	struct rec_thread *threads;
	size_t nthreads, threads_cap;	/* cap: grow_array's (0 if allocated to size) */
	struct rec_event *events;	/* in ts order */
	size_t nevents, events_cap;
	struct rec_sample *samples;
	size_t nsamples, samples_cap;
	struct rec_sampler sampler;
	struct rec_cpu_sample *cpu_samples;	/* in ts order once sorted, at most max_cpu_samples */
	size_t ncpu_samples, cpu_samples_cap, max_cpu_samples;
	struct rec_oncpu *oncpu;	/* per thread x command and per kept ioctl event */
	size_t noncpu, oncpu_cap;
	/* [chains]: of the kept stalls >= chain_min_ns, derived (chain.c), worst first. */
	__u64 chain_min_ns;
	struct rec_chain *chains;
	size_t nchains, chains_cap;
	__u64 chains_not_built;	/* stalls past CHAIN_MAX */
};

/* names.c: one home for every printed name. NULL for out-of-range values. */
const char *kind_name(unsigned int kind);
const char *kind_words(unsigned int kind);	/* "lock wait" */
const char *kind_category(unsigned int kind);	/* "mmlock.lock" */
const char *kind_title(unsigned int kind);	/* "lock waits" */
/* What an event's other_tid is: "owner_tid", "interrupted_tid", "waker_tid". */
const char *other_tid_name(unsigned int kind, __u32 tid);
const char *other_comm_name(unsigned int kind, __u32 tid);	/* "owner_comm", ... */
const char *class_name(unsigned int cls);	/* "anon_vma_write" */
const char *class_label(unsigned int cls);	/* "anon_vma write" */
const char *site_name(unsigned int site);	/* "uffd_move" */
/* "UFFDIO_MOVE"; never NULL: a command not in the table is "UFFDIO_0x50". */
const char *uffd_cmd_name(__u8 nr);

/*
 * A begin/end pairing rule of the attach ladder (names.c): `what` is lost
 * without the pair (the report's "not measured:" line), NULL if optional.
 */
struct probe_pair {
	const char *begin, *end, *what;
};
extern const struct probe_pair probe_pairs[];
extern const size_t nr_probe_pairs;
const char *counter_name(unsigned int cnt);	/* "ringbuf_drop" */
const char *counter_meaning(unsigned int cnt);	/* what it means for the numbers shown */
int class_from_name(const char *s);		/* -1 if unknown */
int site_from_name(const char *s);
int kind_from_name(const char *s);
int uffd_cmd_from_name(const char *s);

/*
 * parts.c: the breakdown of uffd ioctls. Names are "on_cpu", "lock_spin",
 * "rwsem_spin", "lock_sleep_<class>", "dstate_other", "sleep", "runnable",
 * "preempted", "interrupted", "unexplained"; NULL / -1 out of range or unknown.
 */
const char *part_name(unsigned int part);
const char *part_label(unsigned int part);	/* "lock sleep anon_vma write" */
int part_from_name(const char *s);
/*
 * Which probes' cuts make the part, with the mechanism each got in rec:
 * "sched_switch=tp_btf sched_wakeup=tp_btf" ("?" for a probe the recording
 * does not list), "the remainder" for unexplained. Into buf; returns buf.
 */
const char *part_source(const struct recording *rec, unsigned int part, char *buf, size_t len);
/*
 * Was the part measured at all? Not where the probe it needs did not attach
 * (rwsem_spin without fentry/kprobes: that time is in on_cpu); why then.
 */
bool part_measured(const struct recording *rec, unsigned int part, const char **why);
/* Spin and interrupt time cut out of on-CPU time, as the BPF side does at the ioctl's end. */
void parts_carve(__u64 *parts);
/*
 * Set parts[PART_UNEXPLAINED] so that all parts sum to total. Named parts
 * above total (impossible from the BPF side) are trimmed, on-CPU first;
 * returns 1 then, else 0.
 */
int parts_settle(__u64 *parts, __u64 total);
__u64 parts_sum(const __u64 *parts);		/* all NR_REC_PARTS */

/*
 * oncpu.c: the on-CPU samples, filed and summed. oncpu_add() takes the
 * sample (and its frames): into the thread x command sums, and kept in
 * rec->cpu_samples while there is room (else counted not kept, freed).
 * 0, or -ENOMEM (the sample is freed).
 */
int oncpu_add(struct recording *rec, struct rec_cpu_sample *s);
/* "func" of a frame "func+0x1c" into buf ("0xffff..." stays as it is). */
const char *frame_func(const char *frame, char *buf, size_t len);
/* The innermost frame that is no locking, IPI, interrupt or scheduler helper. */
int oncpu_via(char **frames, int n);	/* its index, or -1 */
/*
 * File the kept samples under the kept ioctl events they were taken in
 * (same tid, ioctl start = event start): an rec_oncpu per such event.
 * Then sort every rec_oncpu's functions. Events and samples sorted first.
 */
int oncpu_file_events(struct recording *rec);
void oncpu_sort(struct recording *rec);
/* The sums of thread tid's `cmd` ioctls (ioctl_ts 0), or of one event; NULL if none. */
const struct rec_oncpu *oncpu_find(const struct recording *rec, __u32 tid, __u8 cmd,
				   __u64 ioctl_ts);
struct rec_oncpu *oncpu_get(struct recording *rec, __u32 tid, __u8 cmd, __u64 ioctl_ts);
/* Count n samples of (func, via) into o. 0 or -ENOMEM. */
int oncpu_count(struct rec_oncpu *o, const char *func, const char *via, __u64 n);
void cpu_sample_free(struct rec_cpu_sample *s);

/*
 * chain.c: the blocker chain of every kept stall >= rec->chain_min_ns (lock
 * waits and D-state periods of threads, uffd ioctls), from the events and
 * samples alone; built again (and the old ones freed) on each call. Events
 * must be in ts order (recording_sort). 0 or -ENOMEM.
 */
int chains_build(struct recording *rec);
/* The chain of event index i, NULL if none was built. */
const struct rec_chain *chain_of(const struct recording *rec, size_t i);
const char *hop_why_name(unsigned int why);	/* "owner", "waker", "preemptor" */
const char *hop_source_name(unsigned int src);	/* "none", "ioctl_clock", "events" */

/* hist.c: bucket math shared by the report, JSON and Perfetto writers. */
unsigned int hist_slot(__u64 v);
__u64 hist_slot_lo(unsigned int slot);		/* inclusive */
__u64 hist_slot_hi(unsigned int slot);		/* exclusive */
/* Percentile (0..100) read at the slot midpoint, clamped to max_ns. */
__u64 hist_percentile(const struct rec_hist *h, double pct);
void hist_merge(struct rec_hist *dst, const struct rec_hist *src);
/*
 * The same, for sets of recordings: slot by slot (one bucket layout, so the
 * merged percentiles are those of all samples together), or -EOVERFLOW with
 * dst unchanged if a count would wrap.
 */
int hist_merge_exact(struct rec_hist *dst, const struct rec_hist *src);
void hist_add_sample(struct rec_hist *h, __u64 v, __u64 aux);	/* one value */

/*
 * labels.c: "KEY=VALUE" into l (0, or -1 with the reason in err); the checks
 * of a key, a value and a device id (NULL if fine, else why not).
 */
int label_parse(const char *kv, struct rec_label *l, char *err, size_t errlen);
const char *label_key_bad(const char *key);
const char *label_value_bad(const char *value);
const char *device_bad(const char *device);
/* Add a label, kept sorted by key; -EEXIST for a key given twice, -E2BIG past REC_MAX_LABELS. */
int recording_add_label(struct recording *rec, const struct rec_label *l);
/*
 * Who made this recording: a new random id, device (NULL: the machine's
 * own, lib/ident.c) and a copy of labels. 0 or -errno.
 */
int recording_identify(struct recording *rec, const char *device,
		       const struct rec_label *labels, size_t nlabels);
/* A "KEY=VALUE" label string of l into buf (the export's flat form). */
const char *label_str(const struct rec_label *l, char *buf, size_t len);

/* recording.c */
void recording_free(struct recording *rec);
void frames_free(char **frames, int n);	/* a symbolized stack (strings + array) */
struct rec_thread *recording_thread(struct recording *rec, __u32 tid);	/* find or add */
const struct rec_thread *recording_find_thread(const struct recording *rec, __u32 tid); /* or NULL */
struct rec_hist *thread_hist(struct rec_thread *t, __u8 kind, __u8 cls, __u8 site); /* find or add */
/* Worst single wait of a thread over lock + D-state kinds, 0 if none. */
__u64 thread_worst_ns(const struct rec_thread *t);
void recording_sort(struct recording *rec);	/* threads worst first, hists worst first */

#endif /* MMLOCK_RECORDING_H */
