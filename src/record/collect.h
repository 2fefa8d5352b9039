/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Reading the BPF maps into the recording model, and symbolizing stacks. */
#ifndef MMLOCK_COLLECT_H
#define MMLOCK_COLLECT_H

#include "record/ksyms.h"
#include "record/lockfree.h"
#include "model/recording.h"

struct mmlock_bpf;

/* stack id -> symbolized frames, filled on first use. */
struct stack_cache {
	struct stack_entry {
		__s32 id;
		int nframes;
		char **frames;
	} *e;
	size_t n, cap;
	int stacks_fd;
	const struct ksyms *ks;
};

void stack_cache_init(struct stack_cache *sc, int stacks_fd, const struct ksyms *ks);
void stack_cache_free(struct stack_cache *sc);
/* Frames of a stack id (NULL / 0 if unknown); owned by the cache. */
int stack_cache_get(struct stack_cache *sc, __s32 id, char ***frames);
/* Frames of a stack read inline (lock-free rings): cached by content. */
int stack_cache_ips(struct stack_cache *sc, const __u64 *ips, __u32 n, char ***frames);
/* Deep copy of frames for the recording (which owns its own). */
char **frames_dup(char **frames, int n);

/*
 * Fill rec->threads (hists, names, stacks) and rec->counters from the maps
 * and the lock-free table.
 */
int collect_maps(struct mmlock_bpf *skel, const struct lf_view *lf, struct recording *rec,
		 struct stack_cache *sc, size_t stacks_per_thread);
/* Per-process totals, sorted by pid (collect.c). */
struct proc_set {
	struct proc_total *p;
	size_t n, cap;
};

/* What collect_sample() keeps from one call to the next; zeroed to start. */
struct sampler {
	struct proc_set totals;	/* as of the previous sample */
	__u64 prev_ts;		/* when that was, 0 before the first */
};

/* Per-process sums since the previous call, appended to rec->samples. */
int collect_sample(struct mmlock_bpf *skel, const struct lf_view *lf, struct recording *rec,
		   struct sampler *sm, __u64 ts_ns);
void sampler_free(struct sampler *sm);

#endif
