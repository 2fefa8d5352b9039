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
	__u32 depth;
	__u32 thr;
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

/* perfetto_hist.c */
int series_add(struct pf_thread *t, const struct pf_rec *r);
void write_histograms(struct pf_writer *w, const struct recording *rec);

/* perfetto_slices.c */
int write_slices(struct pf_writer *w, struct pf_rec *recs, const char *frames);
void write_summary(struct pf_writer *w, const struct recording *rec);

/* perfetto_samples.c: the recording's on-CPU samples as callstack samples. 0 or -errno. */
int write_cpu_samples(struct pf_writer *w, const struct recording *rec);

/* perfetto_counters.c */
int cmp_proc(const void *a, const void *b);
struct pf_proc *proc_of(struct pf_proc *procs, size_t n, __u32 pid);
void write_counter_tracks(struct pf_writer *w, const struct pf_proc *p);
__u64 series_uuid(__u32 tid, size_t si, unsigned int metric);
int write_counters(struct pf_writer *w, const struct recording *rec,
		   struct pf_proc *procs, size_t nprocs, const struct pf_rec *recs);

#endif
