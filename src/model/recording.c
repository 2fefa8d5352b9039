// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* The recording model: lookups, ordering and freeing. */
#include <stdlib.h>
#include <string.h>
#include "model/recording.h"
#include "lib/util.h"

void frames_free(char **frames, int n)
{
	for (int i = 0; i < n; i++)
		free(frames[i]);
	free(frames);
}

void recording_free(struct recording *rec)
{
	size_t i, j;

	for (i = 0; i < rec->nthreads; i++) {
		struct rec_thread *t = &rec->threads[i];

		for (j = 0; j < t->nstacks; j++)
			frames_free(t->stacks[j].frames, t->stacks[j].nframes);
		free(t->stacks);
		free(t->hists);
	}
	for (i = 0; i < rec->nevents; i++)
		frames_free(rec->events[i].frames, rec->events[i].nframes);
	for (i = 0; i < rec->ncpu_samples; i++)
		cpu_sample_free(&rec->cpu_samples[i]);
	for (i = 0; i < rec->noncpu; i++) {
		for (j = 0; j < rec->oncpu[i].nfuncs; j++) {
			free(rec->oncpu[i].funcs[j].func);
			free(rec->oncpu[i].funcs[j].via);
		}
		free(rec->oncpu[i].funcs);
	}
	free(rec->cpu_samples);
	free(rec->oncpu);
	free(rec->chains);
	free(rec->threads);
	free(rec->events);
	free(rec->samples);
	free(rec->probes);
	free(rec->labels);
	memset(rec, 0, sizeof(*rec));
}


const struct rec_thread *recording_find_thread(const struct recording *rec, __u32 tid)
{
	for (size_t i = 0; i < rec->nthreads; i++)
		if (rec->threads[i].tid == tid)
			return &rec->threads[i];
	return NULL;
}

struct rec_thread *recording_thread(struct recording *rec, __u32 tid)
{
	struct rec_thread *t = (struct rec_thread *)recording_find_thread(rec, tid);

	if (t)
		return t;
	if (grow_array(&rec->threads, &rec->threads_cap, rec->nthreads + 1, sizeof(*t)))
		return NULL;
	t = &rec->threads[rec->nthreads++];
	memset(t, 0, sizeof(*t));
	t->tid = tid;
	return t;
}

struct rec_hist *thread_hist(struct rec_thread *t, __u8 kind, __u8 cls, __u8 site)
{
	struct rec_hist *h;

	for (size_t i = 0; i < t->nhists; i++) {
		h = &t->hists[i];
		if (h->kind == kind && h->cls == cls && h->site == site)
			return h;
	}
	if (grow_array(&t->hists, &t->hists_cap, t->nhists + 1, sizeof(*h)))
		return NULL;
	h = &t->hists[t->nhists++];
	memset(h, 0, sizeof(*h));
	h->kind = kind;
	h->cls = cls;
	h->site = site;
	return h;
}

/* Stalls are lock waits and D-state periods (not hold times or ioctls). */
__u64 thread_worst_ns(const struct rec_thread *t)
{
	__u64 worst = 0;

	for (size_t i = 0; i < t->nhists; i++)
		if ((t->hists[i].kind == KIND_LOCK || t->hists[i].kind == KIND_DSTATE) &&
		    t->hists[i].max_ns > worst)
			worst = t->hists[i].max_ns;
	return worst;
}

static int cmp_u64_desc(__u64 a, __u64 b)
{
	return a < b ? 1 : a > b ? -1 : 0;
}

static int cmp_hist(const void *a, const void *b)
{
	const struct rec_hist *x = a, *y = b;

	if (x->kind != y->kind)
		return x->kind - y->kind;
	return cmp_u64_desc(x->max_ns, y->max_ns) ?: cmp_u64_desc(x->total_ns, y->total_ns);
}

static int cmp_stack(const void *a, const void *b)
{
	const struct rec_stack *x = a, *y = b;

	return cmp_u64_desc(x->total_ns, y->total_ns) ?: cmp_u64_desc(x->max_ns, y->max_ns);
}

static int cmp_thread(const void *a, const void *b)
{
	const struct rec_thread *x = a, *y = b;
	int c = cmp_u64_desc(thread_worst_ns(x), thread_worst_ns(y));

	return c ?: (x->tid > y->tid) - (x->tid < y->tid);
}

static int cmp_cpu_sample(const void *a, const void *b)
{
	const struct rec_cpu_sample *x = a, *y = b;

	return (x->ts_ns > y->ts_ns) - (x->ts_ns < y->ts_ns);
}

/*
 * A total order (start, then thread, kind, length): sorting a sorted array
 * again moves nothing, so the chains' event indexes (chain.c) and a saved
 * file's order survive every recording_sort.
 */
static int cmp_event(const void *a, const void *b)
{
	const struct rec_event *x = a, *y = b;

	if (x->ts_ns != y->ts_ns)
		return x->ts_ns < y->ts_ns ? -1 : 1;
	if (x->tid != y->tid)
		return x->tid < y->tid ? -1 : 1;
	if (x->kind != y->kind)
		return x->kind < y->kind ? -1 : 1;
	return (x->dur_ns < y->dur_ns) - (x->dur_ns > y->dur_ns);
}

void recording_sort(struct recording *rec)
{
	for (size_t i = 0; i < rec->nthreads; i++) {
		struct rec_thread *t = &rec->threads[i];

		sort_array(t->hists, t->nhists, sizeof(*t->hists), cmp_hist);
		sort_array(t->stacks, t->nstacks, sizeof(*t->stacks), cmp_stack);
	}
	sort_array(rec->threads, rec->nthreads, sizeof(*rec->threads), cmp_thread);
	sort_array(rec->events, rec->nevents, sizeof(*rec->events), cmp_event);
	sort_array(rec->cpu_samples, rec->ncpu_samples, sizeof(*rec->cpu_samples), cmp_cpu_sample);
	oncpu_sort(rec);
}
