// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Perfetto writer: the thread table: an open-addressing hash on tid. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "output/perfetto_int.h"

static size_t tid_slot(__u32 tid, size_t cap)
{
	return (size_t)(tid * 2654435761u) & (cap - 1);
}

int rehash(struct pf_writer *w, size_t cap)
{
	__u32 *h = calloc(cap, sizeof(*h));

	if (!h)
		return -ENOMEM;
	for (size_t i = 0; i < w->nthr; i++) {
		size_t s = tid_slot(w->thr[i].tid, cap);

		while (h[s])
			s = (s + 1) & (cap - 1);
		h[s] = i + 1;
	}
	free(w->hash);
	w->hash = h;
	w->hcap = cap;
	return 0;
}

struct pf_thread *thr_find(const struct pf_writer *w, __u32 tid)
{
	size_t s;

	if (!w->hcap)
		return NULL;
	for (s = tid_slot(tid, w->hcap); w->hash[s]; s = (s + 1) & (w->hcap - 1))
		if (w->thr[w->hash[s] - 1].tid == tid)
			return &w->thr[w->hash[s] - 1];
	return NULL;
}

struct pf_thread *thr_get(struct pf_writer *w, __u32 tid, __u32 pid)
{
	struct pf_thread *t = thr_find(w, tid);
	size_t s;

	if (t) {
		if (!t->pid)
			t->pid = pid;
		return t;
	}
	if (grow_array(&w->thr, &w->capthr, w->nthr + 1, sizeof(*w->thr)))
		return NULL;
	if ((w->nthr + 1) * 2 > w->hcap && rehash(w, w->hcap ? w->hcap * 2 : 128))
		return NULL;
	t = &w->thr[w->nthr++];
	memset(t, 0, sizeof(*t));
	t->tid = tid;
	t->pid = pid;
	for (s = tid_slot(tid, w->hcap); w->hash[s]; s = (s + 1) & (w->hcap - 1))
		;
	w->hash[s] = w->nthr;
	return t;
}
