// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Bucket math of the log2 x 4 latency histogram (layout: include/mmlock.h). */
#include <errno.h>
#include <stdint.h>
#include "hist_slot.h"
#include "model/recording.h"

unsigned int hist_slot(__u64 v)
{
	return mm_hist_slot(v);
}

__u64 hist_slot_lo(unsigned int slot)
{
	unsigned int m = slot / HIST_SUB + 1, sub = slot % HIST_SUB;

	if (slot < HIST_SUB)
		return slot;
	return (1ULL << m) + ((__u64)sub << (m - HIST_SUB_BITS));
}

__u64 hist_slot_hi(unsigned int slot)
{
	unsigned int m = slot / HIST_SUB + 1;

	if (slot < HIST_SUB)
		return slot + 1;
	return hist_slot_lo(slot) + (1ULL << (m - HIST_SUB_BITS));
}

__u64 hist_percentile(const struct rec_hist *h, double pct)
{
	__u64 seen = 0, want, total = 0, mid;
	unsigned int i;

	for (i = 0; i < HIST_SLOTS; i++)
		total += h->slots[i];
	if (!total)
		return 0;
	/* Rank of the sample at pct, 1-based, rounded up (nearest-rank method). */
	want = (__u64)(pct / 100.0 * total + 0.999999);
	if (want < 1)
		want = 1;
	for (i = 0; i < HIST_SLOTS; i++) {
		seen += h->slots[i];
		if (seen >= want)
			break;
	}
	if (i == HIST_SLOTS)
		i = HIST_SLOTS - 1;
	mid = (hist_slot_lo(i) + hist_slot_hi(i)) / 2;
	return h->max_ns && mid > h->max_ns ? h->max_ns : mid;
}

void hist_add_sample(struct rec_hist *h, __u64 v, __u64 aux)
{
	h->count++;
	h->total_ns += v;
	h->aux_ns += aux;
	if (v > h->max_ns)
		h->max_ns = v;
	h->slots[hist_slot(v)]++;
	/* An ioctl's parts sum to its time: with no breakdown given, all of it is unexplained. */
	if (h->kind == KIND_IOCTL)
		h->parts[PART_UNEXPLAINED] += v;
}

void hist_merge(struct rec_hist *dst, const struct rec_hist *src)
{
	dst->count += src->count;
	dst->total_ns += src->total_ns;
	dst->aux_ns += src->aux_ns;
	if (src->max_ns > dst->max_ns)
		dst->max_ns = src->max_ns;
	for (unsigned int i = 0; i < HIST_SLOTS; i++)
		dst->slots[i] += src->slots[i];
	for (unsigned int i = 0; i < NR_REC_PARTS; i++)
		dst->parts[i] += src->parts[i];
}

int hist_merge_exact(struct rec_hist *dst, const struct rec_hist *src)
{
	/* Check everything first: a refused merge leaves dst as it was. */
	if (dst->count > UINT64_MAX - src->count || dst->total_ns > UINT64_MAX - src->total_ns ||
	    dst->aux_ns > UINT64_MAX - src->aux_ns)
		return -EOVERFLOW;
	for (unsigned int i = 0; i < HIST_SLOTS; i++)
		if (dst->slots[i] > UINT32_MAX - src->slots[i])
			return -EOVERFLOW;
	for (unsigned int i = 0; i < NR_REC_PARTS; i++)
		if (dst->parts[i] > UINT64_MAX - src->parts[i])
			return -EOVERFLOW;
	hist_merge(dst, src);
	return 0;
}
