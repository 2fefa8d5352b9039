// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The on-CPU samples (--sample-hz, rec->cpu_samples) as Perfetto callstack
 * samples: one PerfSample per sample (pid, tid, kernel mode) on its own
 * sequence, its stack interned in the same packet the first time it is
 * used: function names, one frame per function (offsets dropped, so that the
 * flame graph merges a function's samples), callstacks. Selecting a thread's
 * time range in the UI opens their flame graph. The trace processor files
 * them in its perf_sample table.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "output/perfetto_int.h"

#define KERNEL_MAPPING	1	/* the one mapping iid: every frame is the kernel's */

/* An interning table: key (a string, or frame iids) -> iid, open addressing. */
struct intern {
	struct ikey {
		void *key;
		size_t len;
		__u64 iid;
	} *e;
	size_t cap, n;
};

static __u64 hash_bytes(const void *p, size_t n)
{
	const unsigned char *b = p;
	__u64 h = 1469598103934665603ULL;

	while (n--)
		h = (h ^ *b++) * 1099511628211ULL;
	return h;
}

static int intern_grow(struct intern *t)
{
	size_t cap = t->cap ? t->cap * 2 : 1024;
	struct ikey *e = calloc(cap, sizeof(*e));

	if (!e)
		return -ENOMEM;
	for (size_t i = 0; i < t->cap; i++) {
		size_t j;

		if (!t->e[i].key)
			continue;
		for (j = hash_bytes(t->e[i].key, t->e[i].len) & (cap - 1); e[j].key; j = (j + 1) & (cap - 1))
			;
		e[j] = t->e[i];
	}
	free(t->e);
	t->e = e;
	t->cap = cap;
	return 0;
}

/* The key's iid; *fresh set if it was just added (then it is to be emitted). 0 if out of memory. */
static __u64 intern(struct intern *t, const void *key, size_t len, bool *fresh)
{
	size_t j;

	*fresh = false;
	if ((t->n + 1) * 2 > t->cap && intern_grow(t))
		return 0;
	for (j = hash_bytes(key, len) & (t->cap - 1); t->e[j].key; j = (j + 1) & (t->cap - 1))
		if (t->e[j].len == len && !memcmp(t->e[j].key, key, len))
			return t->e[j].iid;
	t->e[j].key = malloc(len ? len : 1);
	if (!t->e[j].key)
		return 0;
	memcpy(t->e[j].key, key, len);
	t->e[j].len = len;
	t->e[j].iid = ++t->n;
	*fresh = true;
	return t->e[j].iid;
}

static void intern_free(struct intern *t)
{
	for (size_t i = 0; i < t->cap; i++)
		free(t->e[i].key);
	free(t->e);
}

/* First packet: the sequence's state cleared, and the kernel's one mapping. */
static void write_mapping(struct pf_writer *w, __u64 ts)
{
	struct pb *b = &w->pb;

	pkt_begin(w, S_SAMPLES, ts);
	pb_begin(b, TP_INTERNED_DATA);
	pb_begin(b, ID_MAPPING_PATHS);
	pb_uint(b, IS_IID, 1);
	pb_string(b, IS_STR, "[kernel.kallsyms]");
	pb_end(b);
	pb_begin(b, ID_MAPPINGS);
	pb_uint(b, MAP_IID, KERNEL_MAPPING);
	pb_uint(b, MAP_PATH_STRING_IDS, 1);
	pb_end(b);
	pb_end(b);
	pkt_end(w);
}

static int write_sample(struct pf_writer *w, const struct rec_cpu_sample *s, struct intern *funcs,
			struct intern *stacks)
{
	__u64 ids[MMLOCK_STACK_DEPTH], cs;
	struct pb *b = &w->pb;
	bool fresh, open = false;
	int n = s->nframes < MMLOCK_STACK_DEPTH ? s->nframes : MMLOCK_STACK_DEPTH;
	char name[256];

	if (!n)
		return 0;
	pkt_begin(w, S_SAMPLES, s->ts_ns);
	pb_uint(b, TP_SEQ_FLAGS, SEQ_NEEDS_INCREMENTAL_STATE);
	/* Callstack frames root first: ours are innermost first. */
	for (int i = 0; i < n; i++) {
		frame_func(s->frames[n - 1 - i], name, sizeof(name));
		ids[i] = intern(funcs, name, strlen(name), &fresh);
		if (!ids[i])
			return -ENOMEM;
		if (!fresh)
			continue;
		if (!open) {
			pb_begin(b, TP_INTERNED_DATA);
			open = true;
		}
		pb_begin(b, ID_FUNCTION_NAMES);
		pb_uint(b, IS_IID, ids[i]);
		pb_string(b, IS_STR, name);
		pb_end(b);
		pb_begin(b, ID_FRAMES);	/* frame iid = its function's iid */
		pb_uint(b, FRAME_IID, ids[i]);
		pb_uint(b, FRAME_FUNCTION_NAME_ID, ids[i]);
		pb_uint(b, FRAME_MAPPING_ID, KERNEL_MAPPING);
		pb_uint(b, FRAME_REL_PC, 0);
		pb_end(b);
	}
	cs = intern(stacks, ids, n * sizeof(ids[0]), &fresh);
	if (!cs)
		return -ENOMEM;
	if (fresh) {
		if (!open) {
			pb_begin(b, TP_INTERNED_DATA);
			open = true;
		}
		pb_begin(b, ID_CALLSTACKS);
		pb_uint(b, CALLSTACK_IID, cs);
		for (int i = 0; i < n; i++)
			pb_uint(b, CALLSTACK_FRAME_IDS, ids[i]);
		pb_end(b);
	}
	if (open)
		pb_end(b);
	pb_begin(b, TP_PERF_SAMPLE);
	pb_uint(b, PS_PID, s->pid);
	pb_uint(b, PS_TID, s->tid);
	pb_uint(b, PS_CALLSTACK_IID, cs);
	pb_uint(b, PS_CPU_MODE, MODE_KERNEL);
	pb_end(b);
	pkt_end(w);
	return w->err;
}

int write_cpu_samples(struct pf_writer *w, const struct recording *rec)
{
	struct intern funcs = {}, stacks = {};
	int ret = 0;

	if (!rec->ncpu_samples)
		return 0;
	write_mapping(w, rec->cpu_samples[0].ts_ns);
	/* rec->cpu_samples is in time order (recording_sort): timestamps never go back here. */
	for (size_t i = 0; i < rec->ncpu_samples && !ret; i++)
		ret = write_sample(w, &rec->cpu_samples[i], &funcs, &stacks);
	intern_free(&funcs);
	intern_free(&stacks);
	return ret ? ret : w->err;
}
