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
				    PF_UUID(PF_TRACK_PROCESS, p->pid), name, UNIT_COUNT, NULL,
				    "mmlock.waits", -1, NULL);
	}
	if (p->ioctls)
		write_counter_track(w, PF_UUID(PF_TRACK_PCOUNTER,
					       (__u64)p->pid << 8 | IOCTL_COUNTER_ID),
				    PF_UUID(PF_TRACK_PROCESS, p->pid),
				    "mmlock uffd ioctls/s", 0, "/s", NULL, -1, NULL);
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

struct cpoints {
	struct cpoint *p;
	size_t n, cap;
	__u64 seq;
};

static int add_point(struct cpoints *c, __u64 ts, __u64 uuid, double v, bool dbl)
{
	if (grow_array(&c->p, &c->cap, c->n + 1, sizeof(*c->p)))
		return -ENOMEM;
	c->p[c->n++] = (struct cpoint){ .ts = ts, .uuid = uuid, .seq = c->seq++,
					.v = v, .dbl = dbl };
	return 0;
}

/*
 * Per-process counter values from the samples, each drawn from its interval's
 * start, and a closing zero per track.
 */
static int process_points(struct cpoints *c, const struct recording *rec,
			  struct pf_proc *procs, size_t nprocs)
{
	int ret = 0;
	size_t i;

	for (i = 0; i < rec->nsamples && !ret; i++) {
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
		for (unsigned int k = 0; k < NR_CLASSES && !ret; k++)
			if (p->class_mask & (1U << k))
				ret = add_point(c, from, PF_UUID(PF_TRACK_PCOUNTER, (__u64)p->pid << 8 | k),
						(double)s->waits[k], false);
		if (p->ioctls && !ret) {
			__u64 iv = s->ts_ns - from;

			ret = add_point(c, from, PF_UUID(PF_TRACK_PCOUNTER,
							 (__u64)p->pid << 8 | IOCTL_COUNTER_ID),
					iv ? (double)s->ioctls * 1e9 / (double)iv : 0.0, true);
		}
		p->prev_ts = s->ts_ns;
	}
	for (i = 0; i < nprocs && !ret; i++) {
		const struct pf_proc *p = &procs[i];

		if (!p->prev_ts)
			continue;
		for (unsigned int k = 0; k < NR_CLASSES && !ret; k++)
			if (p->class_mask & (1U << k))
				ret = add_point(c, p->prev_ts,
						PF_UUID(PF_TRACK_PCOUNTER, (__u64)p->pid << 8 | k),
						0.0, false);
		if (p->ioctls && !ret)
			ret = add_point(c, p->prev_ts, PF_UUID(PF_TRACK_PCOUNTER,
						(__u64)p->pid << 8 | IOCTL_COUNTER_ID), 0.0, true);
	}
	return ret;
}

enum { M_WAITS, M_WORST, M_P99, NR_METRICS };

__u64 series_uuid(__u32 tid, size_t si, unsigned int metric)
{
	return PF_UUID(PF_TRACK_SERIES, (__u64)tid << 8 | si << 2 | metric);
}

/* One shown series of one thread, while its slices are counted per interval. */
struct series_acc {
	struct rec_hist h;	/* the open interval's slices */
	__u64 idx, last;	/* open interval; the last one drawn */
	__u32 tid, si;
	bool open, drawn, up;	/* drawn: has points; up: the last is not zero */
};

static int series_zero(struct cpoints *c, const struct series_acc *a, __u64 ts)
{
	int ret = 0;

	for (unsigned int m = 0; m < NR_METRICS && !ret; m++)
		ret = add_point(c, ts, series_uuid(a->tid, a->si, m), 0.0, false);
	return ret;
}

/* Draws the open interval: zeros first where the series was quiet. */
static int series_flush(struct cpoints *c, struct series_acc *a, __u64 base)
{
	__u64 ts = base + a->idx * PF_INTERVAL_NS;
	int ret = 0;

	if (!a->drawn && a->idx)
		ret = series_zero(c, a, base);
	else if (a->drawn && a->up && a->last + 1 < a->idx)
		ret = series_zero(c, a, base + (a->last + 1) * PF_INTERVAL_NS);
	if (!ret)
		ret = add_point(c, ts, series_uuid(a->tid, a->si, M_WAITS), (double)a->h.count, false);
	if (!ret)
		ret = add_point(c, ts, series_uuid(a->tid, a->si, M_WORST), (double)a->h.max_ns, false);
	if (!ret)
		ret = add_point(c, ts, series_uuid(a->tid, a->si, M_P99),
				(double)hist_percentile(&a->h, 99), false);
	a->drawn = a->up = true;
	a->last = a->idx;
	a->open = false;
	return ret;
}

/*
 * Per-thread series from the slices (recs sorted by start): per interval of
 * PF_INTERVAL_NS from the recording's start, the number of slices that
 * started in it, the longest and the p99; zero where there were none.
 */
static int series_points(struct pf_writer *w, struct cpoints *c, const struct pf_rec *recs)
{
	struct series_acc *acc;
	size_t *first, total = 0, i;
	__u64 base = w->t_meta;
	int ret = 0;

	if (!w->nrec)
		return 0;
	if (recs[0].ts < base)
		base = recs[0].ts;
	first = calloc(w->nthr + 1, sizeof(*first));
	if (!first)
		return -ENOMEM;
	for (i = 0; i < w->nthr; i++) {
		first[i] = total;
		total += w->thr[i].nshown;
	}
	acc = calloc(total + 1, sizeof(*acc));
	if (!acc) {
		free(first);
		return -ENOMEM;
	}
	for (i = 0; i < w->nthr; i++)
		for (size_t si = 0; si < w->thr[i].nshown; si++)
			acc[first[i] + si] = (struct series_acc){ .tid = w->thr[i].tid, .si = si };
	for (__u64 n = 0; n < w->nrec && !ret; n++) {
		const struct pf_rec *r = &recs[n];
		const struct pf_thread *t = thr_find(w, r->tid);
		struct series_acc *a;
		__u64 idx = (r->ts - base) / PF_INTERVAL_NS;
		size_t si;

		if (!t)
			continue;
		for (si = 0; si < t->nshown; si++)
			if (t->ser[si].kind == r->kind && t->ser[si].cls == r->cls)
				break;
		if (si == t->nshown)
			continue;
		a = &acc[first[t - w->thr] + si];
		if (a->open && a->idx != idx)
			ret = series_flush(c, a, base);
		if (!a->open) {
			memset(&a->h, 0, sizeof(a->h));
			a->idx = idx;
			a->open = true;
		}
		hist_add_sample(&a->h, r->dur, 0);
	}
	for (i = 0; i < total && !ret; i++) {
		if (acc[i].open)
			ret = series_flush(c, &acc[i], base);
		/* Back to zero after the last interval with slices. */
		if (!ret && acc[i].up)
			ret = series_zero(c, &acc[i], base + (acc[i].last + 1) * PF_INTERVAL_NS);
	}
	free(acc);
	free(first);
	return ret;
}

/* All counter values, sorted by time: one sequence. */
int write_counters(struct pf_writer *w, const struct recording *rec,
		   struct pf_proc *procs, size_t nprocs, const struct pf_rec *recs)
{
	struct cpoints c = { 0 };
	int ret;

	ret = process_points(&c, rec, procs, nprocs);
	if (!ret)
		ret = series_points(w, &c, recs);
	if (!ret) {
		sort_array(c.p, c.n, sizeof(*c.p), cmp_cpoint);
		for (size_t i = 0; i < c.n && !w->err; i++)
			write_cpoint(w, &c.p[i]);
		ret = w->err;
	}
	free(c.p);
	return ret;
}
