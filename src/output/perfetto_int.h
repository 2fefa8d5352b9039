/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Inside the Perfetto writer (perfetto.h is the outside): the spooled record,
 * the writer's state, and what its files give each other:
 *   perfetto.c:            open, spool each event, finish (sort, then every section in order)
 *   perfetto_threads.c:    the thread table: an open-addressing hash on tid
 *   perfetto_tracks.c:     packets, debug annotations, event names and track descriptors
 *   perfetto_hist.c:       per thread: a group of whole histograms (one slice each) and series tracks
 *   perfetto_slices.c:     slices on thread tracks in time order, and the summary
 *   perfetto_counters.c:   per-process counters from the samples, per-thread series from the slices
 *   perfetto_samples.c:    on-CPU samples (--sample-hz) as PerfSample callstacks
 *   perfetto_flows.c:      blocker chains as flows, blocker to waiter, and "blocking" slices
 */
#ifndef MMLOCK_PERFETTO_INT_H
#define MMLOCK_PERFETTO_INT_H

#include <stdbool.h>
#include <stddef.h>
#include "lib/util.h"
#include "output/pb.h"
#include "output/perfetto.h"
#include "output/perfetto_fields.h"

enum { S_META, S_SLICES, S_COUNTERS, S_SAMPLES, NR_SEQS };

/* One spooled event: fixed size, sorted in place at finish. */
struct pf_rec {
	__u64 ts, dur, addr, aux;
	__u64 blame_ns, preempt_ns;	/* IOCTL: see struct rec_event */
	__u64 frames_off;	/* into the frames spool: [parts] then frames */
	__u64 seq;		/* arrival number: last sort key */
	__u32 pid, tid, flags, other_tid, nframes;
	__s32 ret;
	__u8 kind, cls, site, blame_cls;
	__u8 has_parts;		/* IOCTL: __u64 parts[NR_REC_PARTS] lead at frames_off */
	/* kind PF_KIND_BLOCKING: a "blocking" slice (perfetto_flows.c), aux = its pf_block */
	__u8 pad[3];
};

/*
 * One series of a thread: its slices of one kind x class (ioctls: command),
 * drawn as per-interval counters when among the thread's PF_MAX_SERIES
 * longest (by total time): a bounded number of tracks per thread.
 */
struct pf_series {
	__u8 kind, cls;
	__u64 n, total_ns;
};

/* Per thread: at most this many series get counter tracks (3 each). */
#define PF_MAX_SERIES		5
/* Their interval: fine enough to see when latency rose in a few seconds. */
#define PF_INTERVAL_NS		100000000ULL
#define PF_INTERVAL_NAME	"100ms"		/* in the track names: keep in step */

struct pf_thread {
	__u32 tid, pid;
	struct pf_series *ser;	/* after write_histograms: the shown ones first */
	size_t nser, capser, nshown;
	char comm[MMLOCK_COMM_LEN];
	char pcomm[MMLOCK_COMM_LEN];
	__u64 *stk;		/* ends of open slices, innermost last */
	size_t nstk, capstk;
	__u64 *bstk;		/* the same on its "blocking" track (perfetto_flows.c) */
	size_t nbstk, capbstk;
	bool blocking;		/* has that track */
	bool unfollowed;	/* a blocker mmlock did not follow: pid unknown, pid = tid */
};

struct pf_proc {
	__u32 pid;
	const char *name;
	__u32 class_mask;	/* classes with waits in some sample */
	bool ioctls;		/* some sample has uffd ioctls */
	bool sampled;
	__u64 prev_ts;
};

struct open_slice {
	__u64 end;
	__u64 seq;
	__u64 pos;	/* slice position (pf_flows): real i, blocking nrec + j */
	__u32 depth;
	__u32 thr;
	bool blocking;	/* on the thread's "blocking" track */
};

/* A slice kind of the writer's own beside enum mm_kind: a blocker's "blocking" slice. */
#define PF_KIND_BLOCKING	0xfe

/* A blocker's slice that no kept event of it provides: the hop's window on its "blocking" track. */
struct pf_block {
	size_t chain, hop;
};

/* A flow's end on one slice: which slice, begin or end event, out or in, which hop. */
enum pf_mark_type {
	PF_MARK_OUT,		/* flow_ids on the slice's BEGIN: the blocker's side */
	PF_MARK_IN_BEGIN,	/* terminating_flow_ids on the waiter's BEGIN */
	PF_MARK_IN_END,		/* ... on its END (the blocker's slice began later) */
};

struct pf_mark {
	__u64 pos;	/* the slice (open_slice.pos) */
	__u8 type;	/* enum pf_mark_type */
	__u64 id;	/* flow id */
	size_t chain, hop;
};

/* The chains of the recording as flows (perfetto_flows.c). */
struct pf_flows {
	const struct recording *rec;
	struct pf_rec *recs;		/* the sorted spool, nrec of them */
	struct pf_rec *blk;		/* "blocking" slices, sorted like recs */
	struct pf_block *blocks;	/* blk[j].aux indexes this */
	size_t nblk;
	struct pf_mark *marks;		/* sorted by pos, type, id */
	size_t nmarks;
	__u64 flows, not_drawn;		/* hops drawn, hops whose waiter has no slice */
	__u64 clamped;			/* blocking slices cut at the one they began in */
};

struct pf_writer {
	struct atomic_file af;	/* the trace: a temp file renamed on success */
	char *path;		/* where it goes; af is opened only by pf_finish */
	FILE *spool, *frames;
	__u64 nrec, frames_len;
	struct pf_thread *thr;
	size_t nthr, capthr;
	__u32 *hash;		/* thread index + 1, 0 = empty */
	size_t hcap;
	__u64 clk_boot, clk_mono, clk_real;
	__u64 t_meta;
	struct pb pb;
	bool started[NR_SEQS];
	__u64 last_ts[NR_SEQS];
	__u64 clamped;
	struct pf_flows fl;	/* the chains' flows (perfetto_flows.c) */
	int err;		/* sticky -errno of output writes */
};

/* perfetto_threads.c */
int rehash(struct pf_writer *w, size_t cap);
struct pf_thread *thr_find(const struct pf_writer *w, __u32 tid);
struct pf_thread *thr_get(struct pf_writer *w, __u32 tid, __u32 pid);

/* perfetto_tracks.c */
void pkt_begin(struct pf_writer *w, int seq, __u64 ts);
void pkt_end(struct pf_writer *w);
void ann_begin(struct pb *b, const char *name);
void ann_uint(struct pb *b, const char *name, __u64 v);
void ann_int(struct pb *b, const char *name, __s64 v);
void ann_str(struct pb *b, const char *name, const char *v);
void entry_uint(struct pb *b, const char *name, __u64 v);
void entry_str(struct pb *b, const char *name, const char *v);
const char *label_or(const char *s, char *buf, size_t n, const char *what,
		     unsigned int v);
void event_name(char *buf, size_t n, unsigned int kind, unsigned int cls,
		unsigned int site);
void write_clock_snapshot(struct pf_writer *w);
void write_process(struct pf_writer *w, const struct pf_proc *p);
void write_thread(struct pf_writer *w, const struct pf_thread *t);
void write_counter_track(struct pf_writer *w, __u64 uuid, __u64 parent,
			 const char *name, int unit, const char *unit_name,
			 const char *share_key, int rank, const char *desc);
void write_group_track(struct pf_writer *w, __u64 uuid, __u64 parent,
		       const char *name, int rank, const char *desc);
void write_slice_track(struct pf_writer *w, __u64 uuid, __u64 parent,
		       const char *name, int rank, const char *desc);

/* perfetto_hist.c */
int series_add(struct pf_thread *t, const struct pf_rec *r);
void write_histograms(struct pf_writer *w, const struct recording *rec);

/* perfetto_slices.c */
int cmp_rec(const void *a, const void *b);
void sort_recs(struct pf_rec *a, size_t n);
/* Slices of the spool (sorted) and the flows' "blocking" slices, merged in time order. */
int write_slices(struct pf_writer *w, struct pf_rec *recs, const char *frames);
void write_summary(struct pf_writer *w, const struct recording *rec);

/* perfetto_samples.c: the recording's on-CPU samples as callstack samples. 0 or -errno. */
int write_cpu_samples(struct pf_writer *w, const struct recording *rec);

/* perfetto_flows.c */
/* The unfollowed blockers' threads, before the thread table is sorted: 0 or -ENOMEM. */
int flows_threads(struct pf_writer *w, const struct recording *rec);
/* Sorts recs, then plans every hop's flow and "blocking" slice: 0 or -ENOMEM. */
int flows_plan(struct pf_writer *w, const struct recording *rec, struct pf_rec *recs);
void flows_free(struct pf_flows *fl);
void write_blocking_tracks(struct pf_writer *w);
/* The marks of slice pos; *n of them. */
const struct pf_mark *flows_at(const struct pf_flows *fl, __u64 pos, size_t *n);
/* Its flow ids (BEGIN: out and in-at-begin; END: in-at-end), hop args on BEGIN. */
void flows_emit(struct pf_writer *w, __u64 pos, bool end);
void ann_blocking(struct pf_writer *w, const struct pf_rec *r);

/* perfetto_counters.c */
int cmp_proc(const void *a, const void *b);
struct pf_proc *proc_of(struct pf_proc *procs, size_t n, __u32 pid);
void write_counter_tracks(struct pf_writer *w, const struct pf_proc *p);
__u64 series_uuid(__u32 tid, size_t si, unsigned int metric);
int write_counters(struct pf_writer *w, const struct recording *rec,
		   struct pf_proc *procs, size_t nprocs, const struct pf_rec *recs);

#endif
