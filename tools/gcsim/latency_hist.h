/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Bounded latency histogram: log2 buckets with 16 linear sub-buckets each
 * (relative error <= 6.25%), plus an exact maximum.
 */
#ifndef GCSIM_LATENCY_HIST_H
#define GCSIM_LATENCY_HIST_H

#include <stdint.h>

#define HIST_SUB_BITS	4
#define HIST_SUB	(1u << HIST_SUB_BITS)
#define HIST_BUCKETS	((64 - HIST_SUB_BITS + 1) * HIST_SUB)

struct latency_hist {
	uint64_t count;
	uint64_t max;
	uint64_t min;
	uint32_t bucket[HIST_BUCKETS];
};

void hist_add(struct latency_hist *h, uint64_t v);
/* Value at quantile q (0 < q <= 1), never above the exact maximum. */
uint64_t hist_quantile(const struct latency_hist *h, double q);

#endif /* GCSIM_LATENCY_HIST_H */
