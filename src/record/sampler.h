/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The on-CPU sampler (bpf/sampler.bpf.c): its cpu-clock perf events, one per
 * online CPU, and the reading of its lock-free rings into the recording.
 */
#ifndef MMLOCK_SAMPLER_H
#define MMLOCK_SAMPLER_H

#include "record/ksyms.h"
#include "record/ladder.h"
#include "record/lockfree.h"

#define ONCPU_PROG "oncpu_sample"

struct oncpu {
	struct bpf_link **links;	/* one per online CPU, NULL if not attached */
	__u32 nlinks;
	struct lf_ring ring;
	const struct ksyms *ks;
	struct recording *rec;		/* of the drain in progress */
};

/* Samples per CPU in the ring: 100 ms at hz, a power of two, at least 64. */
__u32 oncpu_ring_slots(__u32 hz);
/*
 * Map the ring and attach at hz (0: off). A failure to attach is no error:
 * rec->sampler says why, and one line on stderr (unless quiet). 0, or an
 * exit code if the ring cannot be mapped.
 */
int oncpu_start(struct oncpu *oc, const struct ladder *l, __u32 hz, const struct ksyms *ks,
		struct recording *rec, bool quiet, char *err, size_t errlen);
/* Read the samples published since the last call into rec (final: after detach). */
void oncpu_drain(struct oncpu *oc, struct recording *rec, bool final);
void oncpu_detach(struct oncpu *oc);
/* The BPF side's counts and the program's run time into rec->sampler. */
void oncpu_stats(struct oncpu *oc, const struct ladder *l, struct recording *rec);
void oncpu_free(struct oncpu *oc);

#endif
