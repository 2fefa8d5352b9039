// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Histogram bucket math (include/hist_slot.h, src/model/hist.c). */
#include <stdlib.h>
#include <string.h>
#include "check.h"
#include "model/recording.h"

static void test_slot_bounds(void)
{
	/* Every slot's [lo, hi) maps back to itself, and slots tile the line. */
	for (unsigned int s = 0; s < HIST_SLOTS - 1; s++) {
		CHECK(hist_slot(hist_slot_lo(s)) == s);
		CHECK(hist_slot(hist_slot_hi(s) - 1) == s);
		CHECK(hist_slot_hi(s) == hist_slot_lo(s + 1));
	}
	CHECK(hist_slot(0) == 0);
	CHECK(hist_slot(3) == 3);
	CHECK(hist_slot(4) == 4);
	CHECK(hist_slot(7) == 7);
	CHECK(hist_slot(8) == 8);
	CHECK(hist_slot(~0ULL) == HIST_SLOTS - 1);
}

static void test_slot_width(void)
{
	/* At most 25% wide above 4 ns: the "2 sub-buckets per power of two" goal. */
	for (unsigned int s = HIST_SUB; s < HIST_SLOTS - 1; s++) {
		__u64 lo = hist_slot_lo(s), hi = hist_slot_hi(s);

		CHECK((hi - lo) * 4 <= lo);
	}
}

static void test_percentiles(void)
{
	struct rec_hist h = {};
	__u64 max = 0;

	srand(7);
	/* 1000 samples uniform in 1..10 ms: p50 ~ 5.5 ms, p99 ~ 9.9 ms. */
	for (int i = 0; i < 1000; i++) {
		__u64 v = 1000000 + (__u64)rand() % 9000000;

		h.slots[hist_slot(v)]++;
		h.count++;
		if (v > max)
			max = v;
	}
	h.max_ns = max;
	CHECK(hist_percentile(&h, 50) > 5500000 * 0.85 && hist_percentile(&h, 50) < 5500000 * 1.15);
	CHECK(hist_percentile(&h, 99) > 9900000 * 0.85 && hist_percentile(&h, 99) <= max);
	CHECK(hist_percentile(&h, 100) <= max);
	memset(&h, 0, sizeof(h));
	CHECK(hist_percentile(&h, 99) == 0);
}

static void test_merge(void)
{
	struct rec_hist a = { .count = 2, .total_ns = 30, .max_ns = 20 }, b = { .count = 1, .total_ns = 50, .max_ns = 50 };

	a.slots[hist_slot(10)]++;
	a.slots[hist_slot(20)]++;
	b.slots[hist_slot(50)]++;
	hist_merge(&a, &b);
	CHECK(a.count == 3 && a.total_ns == 80 && a.max_ns == 50);
	CHECK(a.slots[hist_slot(50)] == 1);
}

int main(void)
{
	RUN_TEST(test_slot_bounds);
	RUN_TEST(test_slot_width);
	RUN_TEST(test_percentiles);
	RUN_TEST(test_merge);
	TEST_EXIT();
}
