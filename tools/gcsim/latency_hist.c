// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Log-linear latency histogram with an exact maximum. */
#include <math.h>

#include "latency_hist.h"

static unsigned int bucket_of(uint64_t v)
{
	unsigned int msb;

	if (v < HIST_SUB)
		return (unsigned int)v;
	msb = 63 - (unsigned int)__builtin_clzll(v);
	return (msb - HIST_SUB_BITS + 1) * HIST_SUB +
	       (unsigned int)((v >> (msb - HIST_SUB_BITS)) & (HIST_SUB - 1));
}

/* Largest value that falls into bucket b. */
static uint64_t bucket_top(unsigned int b)
{
	unsigned int msb, shift;
	uint64_t base;

	if (b < HIST_SUB)
		return b;
	msb = b / HIST_SUB + HIST_SUB_BITS - 1;
	shift = msb - HIST_SUB_BITS;
	base = ((uint64_t)1 << msb) | ((uint64_t)(b % HIST_SUB) << shift);
	return base + (((uint64_t)1 << shift) - 1);
}

void hist_add(struct latency_hist *h, uint64_t v)
{
	unsigned int b = bucket_of(v);

	if (b >= HIST_BUCKETS)
		b = HIST_BUCKETS - 1;
	if (h->bucket[b] != UINT32_MAX)
		h->bucket[b]++;
	if (!h->count || v < h->min)
		h->min = v;
	if (v > h->max)
		h->max = v;
	h->count++;
}

uint64_t hist_quantile(const struct latency_hist *h, double q)
{
	uint64_t rank, seen = 0, top;
	unsigned int b;

	if (!h->count)
		return 0;
	rank = (uint64_t)ceil(q * (double)h->count);
	if (rank < 1)
		rank = 1;
	for (b = 0; b < HIST_BUCKETS; b++) {
		seen += h->bucket[b];
		if (seen >= rank)
			break;
	}
	if (b == HIST_BUCKETS)
		return h->max;
	top = bucket_top(b);
	if (top > h->max)
		top = h->max;
	if (top < h->min)
		top = h->min;
	return top;
}
