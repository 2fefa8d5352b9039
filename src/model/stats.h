/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Statistics over sets of runs (diff's verdicts, docs/verify.md): the
 * Mann-Whitney U test on per-run values, and order statistics of them.
 */
#ifndef MMLOCK_STATS_H
#define MMLOCK_STATS_H

#include <stdbool.h>
#include <stddef.h>

/* Up to this many values per side the p-value is exact, above it normal. */
#define MWU_EXACT_MAX_N		10

struct mwu {
	/*
	 * U of the first sample: the pairs (x_i, y_j) with x_i > y_j, ties
	 * counted 1/2. Below nx * ny / 2: the second sample tends to be larger.
	 */
	double u;
	double p;	/* two-sided */
	double z;	/* normal approximation only (0 when exact) */
	bool exact;
};

/*
 * Mann-Whitney U of x[0..nx) against y[0..ny), ties given mid-ranks. Exact
 * (the permutation distribution of the rank sum given the ties) when both
 * nx and ny are at most MWU_EXACT_MAX_N, else the normal approximation with
 * tie and continuity corrections. p = 1 when either side is empty or all
 * values are equal. Returns 0, or -ENOMEM.
 */
int mann_whitney(const double *x, size_t nx, const double *y, size_t ny, struct mwu *r);
/* The same, exact up to exact_max values a side (0: always the normal approximation). */
int mann_whitney_n(const double *x, size_t nx, const double *y, size_t ny, size_t exact_max,
		   struct mwu *r);

/* The smallest two-sided p any test of nx against ny values can give: 2 / C(nx + ny, nx), at most 1. */
double mwu_min_p(size_t nx, size_t ny);

/* Median (mean of the middle two for even n), min and max of v[0..n); 0 for n = 0. */
double stat_median(const double *v, size_t n);
double stat_min(const double *v, size_t n);
double stat_max(const double *v, size_t n);

#endif
