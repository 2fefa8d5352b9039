// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Perfetto writer: per-process counters from the recording's samples. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "output/perfetto_int.h"

struct cpoint {
	__u64 ts, uuid, seq;
	double v;
	bool dbl;
};

static int cmp_cpoint(const void *a, const void *b)
{
	const struct cpoint *x = a, *y = b;

	if (x->ts != y->ts)
		return x->ts < y->ts ? -1 : 1;
	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

int cmp_proc(const void *a, const void *b)
{
	const struct pf_proc *x = a, *y = b;

	return (x->pid > y->pid) - (x->pid < y->pid);
}

struct pf_proc *proc_of(struct pf_proc *procs, size_t n, __u32 pid)
{
	struct pf_proc key = { .pid = pid };

	return bsearch(&key, procs, n, sizeof(*procs), cmp_proc);
}

#define IOCTL_COUNTER_ID	0xff

void write_counter_tracks(struct pf_writer *w, const struct pf_proc *p)
{
	char name[96];

	for (unsigned int c = 0; c < NR_CLASSES; c++) {
		if (!(p->class_mask & (1U << c)))
			continue;
		snprintf(name, sizeof(name), "mmlock waits/interval: %s", class_label(c));
		write_counter_track(w, PF_UUID(PF_TRACK_PCOUNTER, (__u64)p->pid << 8 | c),
				    PF_UUID(PF_TRACK_PROCESS, p->pid), name, NULL,
				    "mmlock.waits", -1, NULL);
	}
	if (p->ioctls)
		write_counter_track(w, PF_UUID(PF_TRACK_PCOUNTER,
					       (__u64)p->pid << 8 | IOCTL_COUNTER_ID),
				    PF_UUID(PF_TRACK_PROCESS, p->pid),
				    "mmlock uffd ioctls/s", "/s", NULL, -1, NULL);
}

static void write_cpoint(struct pf_writer *w, const struct cpoint *pt)
{
	struct pb *b = &w->pb;

	pkt_begin(w, S_COUNTERS, pt->ts);
	pb_begin(b, TP_TRACK_EVENT);
	pb_uint(b, TE_TYPE, TYPE_COUNTER);
	pb_uint(b, TE_TRACK_UUID, pt->uuid);
	if (pt->dbl)
		pb_double(b, TE_DOUBLE_COUNTER_VALUE, pt->v);
	else
		pb_int(b, TE_COUNTER_VALUE, (__s64)pt->v);
	pb_end(b);
	pkt_end(w);
}

/*
 * Per-process counter values from the samples, each drawn from its interval's
 * start, and a closing zero per track; all sorted by time (one sequence).
 */
int write_counters(struct pf_writer *w, const struct recording *rec,
		   struct pf_proc *procs, size_t nprocs)
{
	struct cpoint *pts;
	size_t n = 0, cap, i;
	__u64 seq = 0;

	cap = rec->nsamples * (NR_CLASSES + 1) + nprocs * (NR_CLASSES + 1) + 1;
	pts = malloc(cap * sizeof(*pts));
	if (!pts)
		return -ENOMEM;
#define ADD(t, u, val, d) (pts[n++] = (struct cpoint){ .ts = (t), .uuid = (u), \
				.seq = seq++, .v = (val), .dbl = (d) })
	for (i = 0; i < rec->nsamples; i++) {
		const struct rec_sample *s = &rec->samples[i];
		struct pf_proc *p = proc_of(procs, nprocs, s->pid);
		__u64 from;

		if (!p)
			continue;
		/* Each value holds for its interval [previous sample, this one). */
		from = p->prev_ts ? p->prev_ts :
		       rec->start_ns && rec->start_ns < s->ts_ns ? rec->start_ns : s->ts_ns;
		if (from > s->ts_ns)
			from = s->ts_ns;
		for (unsigned int c = 0; c < NR_CLASSES; c++)
			if (p->class_mask & (1U << c))
				ADD(from, PF_UUID(PF_TRACK_PCOUNTER, (__u64)p->pid << 8 | c),
				    (double)s->waits[c], false);
		if (p->ioctls) {
			__u64 iv = s->ts_ns - from;

			ADD(from, PF_UUID(PF_TRACK_PCOUNTER, (__u64)p->pid << 8 | IOCTL_COUNTER_ID),
			    iv ? (double)s->ioctls * 1e9 / (double)iv : 0.0, true);
		}
		p->prev_ts = s->ts_ns;
	}
	for (i = 0; i < nprocs; i++) {
		const struct pf_proc *p = &procs[i];

		if (!p->prev_ts)
			continue;
		for (unsigned int c = 0; c < NR_CLASSES; c++)
			if (p->class_mask & (1U << c))
				ADD(p->prev_ts, PF_UUID(PF_TRACK_PCOUNTER, (__u64)p->pid << 8 | c),
				    0.0, false);
		if (p->ioctls)
			ADD(p->prev_ts, PF_UUID(PF_TRACK_PCOUNTER,
						(__u64)p->pid << 8 | IOCTL_COUNTER_ID), 0.0, true);
	}
#undef ADD
	qsort(pts, n, sizeof(*pts), cmp_cpoint);
	for (i = 0; i < n && !w->err; i++)
		write_cpoint(w, &pts[i]);
	free(pts);
	return w->err;
}
