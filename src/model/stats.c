// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The Mann-Whitney U test and order statistics over per-run values (the
 * verdicts of `diff` over sets of recordings; formulas in docs/verify.md).
 *
 * Why this test: a run's worst wait or count is far from normal (a few
 * runs hit a 30 ms stall, most do not), runs are few, and whole rows are
 * often exactly 0 in every run of one side. A rank test assumes no shape,
 * and the exact permutation distribution is cheap for the run counts a
 * person records by hand (C(20, 10) = 184756 arrangements at most).
 */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include "lib/util.h"
#include "model/stats.h"

struct tagged {
	double v;
	int side;	/* 0: x, 1: y */
};

static int cmp_tagged(const void *a, const void *b)
{
	double x = ((const struct tagged *)a)->v, y = ((const struct tagged *)b)->v;

	return x < y ? -1 : x > y;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

double mwu_min_p(size_t nx, size_t ny)
{
	double c = 1;

	if (!nx || !ny)
		return 1;
	/* C(nx + ny, nx), built up as a product of ratios (exact for small n). */
	for (size_t i = 1; i <= nx; i++)
		c = c * (double)(ny + i) / (double)i;
	return 2 / c < 1 ? 2 / c : 1;
}

/*
 * Exact two-sided p of the rank sum t2 (doubled ranks, so that mid-ranks
 * are whole) of nx values drawn from the N scores s2[]: every one of the
 * C(N, nx) subsets is equally likely under "no difference". dp[k][s] counts
 * the subsets of k of the scores seen so far whose sum is s.
 */
static int exact_p(const long *s2, size_t n, size_t nx, long t2, double *p)
{
	long maxsum = 0;
	double *dp, lo = 0, hi = 0, total = 0;

	for (size_t i = 0; i < n; i++)
		maxsum += s2[i];
	dp = calloc((nx + 1) * (maxsum + 1), sizeof(*dp));
	if (!dp)
		return -ENOMEM;
#define DP(k, s) dp[(k) * (maxsum + 1) + (s)]
	DP(0, 0) = 1;
	for (size_t i = 0; i < n; i++)
		for (size_t k = (i + 1 < nx ? i + 1 : nx); k >= 1; k--)
			for (long s = maxsum - s2[i]; s >= 0; s--)
				if (DP(k - 1, s))
					DP(k, s + s2[i]) += DP(k - 1, s);
	for (long s = 0; s <= maxsum; s++) {
		total += DP(nx, s);
		if (s <= t2)
			lo += DP(nx, s);
		if (s >= t2)
			hi += DP(nx, s);
	}
#undef DP
	free(dp);
	*p = 2 * (lo < hi ? lo : hi) / total;
	if (*p > 1)
		*p = 1;
	return 0;
}

int mann_whitney(const double *x, size_t nx, const double *y, size_t ny, struct mwu *r)
{
	return mann_whitney_n(x, nx, y, ny, MWU_EXACT_MAX_N, r);
}

int mann_whitney_n(const double *x, size_t nx, const double *y, size_t ny, size_t exact_max,
		   struct mwu *r)
{
	size_t n = nx + ny;
	struct tagged *all;
	long *s2, t2 = 0;
	double ties = 0, mu, var;
	int ret = 0;

	*r = (struct mwu){ .p = 1, .exact = true };
	if (!nx || !ny)
		return 0;
	all = calloc(n, sizeof(*all));
	s2 = calloc(n, sizeof(*s2));
	if (!all || !s2) {
		free(all);
		free(s2);
		return -ENOMEM;
	}
	for (size_t i = 0; i < n; i++)
		all[i] = (struct tagged){ i < nx ? x[i] : y[i - nx], i >= nx };
	sort_array(all, n, sizeof(*all), cmp_tagged);
	/* Doubled mid-ranks: a tie group at 1-based ranks i..j gets (i + j) / 2 each. */
	for (size_t i = 0, j; i < n; i = j) {
		for (j = i + 1; j < n && all[j].v == all[i].v; j++)
			;
		for (size_t k = i; k < j; k++) {
			s2[k] = (long)(i + 1 + j);
			if (!all[k].side)
				t2 += s2[k];
		}
		ties += (double)(j - i) * (j - i) * (j - i) - (double)(j - i);
	}
	/* U = R_x - nx (nx + 1) / 2, R_x the rank sum of x. */
	r->u = t2 / 2.0 - (double)nx * (nx + 1) / 2;
	mu = (double)nx * ny / 2;
	if (nx <= exact_max && ny <= exact_max) {
		ret = exact_p(s2, n, nx, t2, &r->p);
	} else {
		double d = fabs(r->u - mu);

		r->exact = false;
		/* Var(U) with ties: nx ny / 12 * ((n + 1) - sum(t^3 - t) / (n (n - 1))). */
		var = (double)nx * ny / 12 * ((n + 1) - ties / ((double)n * (n - 1)));
		if (var > 0) {
			/* Continuity: U moves in steps of 1/2 with ties, 1 without; 0.5 is the usual. */
			d = d > 0.5 ? d - 0.5 : 0;
			r->z = (r->u > mu ? d : -d) / sqrt(var);
			r->p = erfc(fabs(r->z) / sqrt(2));
			if (r->p > 1)
				r->p = 1;
		}
	}
	free(all);
	free(s2);
	return ret;
}

static double *sorted_copy(const double *v, size_t n)
{
	double *c = malloc(n * sizeof(*c));

	if (!c)
		return NULL;
	for (size_t i = 0; i < n; i++)
		c[i] = v[i];
	sort_array(c, n, sizeof(*c), cmp_double);
	return c;
}

double stat_median(const double *v, size_t n)
{
	double *c, m;

	if (!n)
		return 0;
	c = sorted_copy(v, n);
	if (!c)	/* out of memory: no order statistic without a copy; say "no value" */
		return NAN;
	m = n % 2 ? c[n / 2] : (c[n / 2 - 1] + c[n / 2]) / 2;
	free(c);
	return m;
}

double stat_min(const double *v, size_t n)
{
	double m = n ? v[0] : 0;

	for (size_t i = 1; i < n; i++)
		if (v[i] < m)
			m = v[i];
	return m;
}

double stat_max(const double *v, size_t n)
{
	double m = n ? v[0] : 0;

	for (size_t i = 1; i < n; i++)
		if (v[i] > m)
			m = v[i];
	return m;
}
