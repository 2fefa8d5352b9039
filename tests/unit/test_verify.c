// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Verdicts over sets of recordings: the Mann-Whitney test (src/model/stats.c),
 * the exact histogram merge (hist.c), the verdict rules and the per-run rows
 * (verify.c). The test's reference values are textbook ones or come from a
 * brute-force count written here, not from the code under test.
 */
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "check.h"
#include "model/recording.h"
#include "model/stats.h"
#include "model/verify.h"

#define NEAR(a, b, eps) (fabs((a) - (b)) <= (eps))
#define N_OF(a) (sizeof(a) / sizeof((a)[0]))

/* scipy.stats.mannwhitneyu's documented example (males vs females). */
static void test_mwu_textbook(void)
{
	const double males[] = { 19, 22, 16, 29, 24 }, females[] = { 20, 11, 17, 12 };
	const double lo[] = { 1, 2, 3, 4, 5 }, hi[] = { 6, 7, 8, 9, 10 };
	struct mwu r;

	CHECK(!mann_whitney(males, 5, females, 4, &r));
	CHECK(r.exact && r.u == 17);
	CHECK(NEAR(r.p, 14.0 / 126, 1e-12));	/* "pvalue=0.1111111111111111" */
	/* The same with the normal approximation (continuity-corrected): 0.11134688653314041. */
	CHECK(!mann_whitney_n(males, 5, females, 4, 0, &r));
	CHECK(!r.exact && r.u == 17 && NEAR(r.p, 0.11134688653314041, 1e-12));
	CHECK(NEAR(r.z, 1.5921683328090657, 1e-9));
	/* Complete separation, 5 vs 5: only 2 of the C(10, 5) = 252 orderings are as extreme. */
	CHECK(!mann_whitney(lo, 5, hi, 5, &r));
	CHECK(r.u == 0 && NEAR(r.p, 2.0 / 252, 1e-12));
	CHECK(!mann_whitney(hi, 5, lo, 5, &r));
	CHECK(r.u == 25 && NEAR(r.p, 2.0 / 252, 1e-12));
	/* 3 vs 3 completely separated: p = 2/20 = 0.1, never below 0.05. */
	CHECK(!mann_whitney(lo, 3, hi, 3, &r));
	CHECK(NEAR(r.p, 0.1, 1e-12));
	CHECK(NEAR(mwu_min_p(3, 3), 0.1, 1e-12));
	CHECK(NEAR(mwu_min_p(5, 5), 2.0 / 252, 1e-12));
	CHECK(NEAR(mwu_min_p(4, 4), 2.0 / 70, 1e-12));
	CHECK(mwu_min_p(1, 1) == 1 && mwu_min_p(1, 20) > 0.05 && mwu_min_p(0, 5) == 1);
}

/* Above MWU_EXACT_MAX_N a side: the normal approximation, with ties corrected. */
static void test_mwu_normal(void)
{
	double x[11], y[11];
	/* Reference: U, p, z from the formulas in docs/verify.md, computed by hand (Python). */
	const double tx[] = { 1, 2, 2, 3, 3, 3, 4, 5, 5, 6, 7, 7 };
	const double ty[] = { 3, 4, 5, 5, 6, 7, 8, 8, 9, 9, 9, 10, 11 };
	struct mwu r;

	for (int i = 0; i < 11; i++) {
		x[i] = i + 1;
		y[i] = i + 12;
	}
	CHECK(!mann_whitney(x, 11, y, 11, &r));
	CHECK(!r.exact && r.u == 0 && NEAR(r.p, 8.151536127743262e-05, 1e-12));
	CHECK(NEAR(r.z, -3.9399006464433555, 1e-9));
	CHECK(!mann_whitney(tx, N_OF(tx), ty, N_OF(ty), &r));
	CHECK(!r.exact && r.u == 24.5 && NEAR(r.p, 0.0037229945146815967, 1e-12));
}

/*
 * Brute force: every way of choosing which nx of the pooled values are "x",
 * U counted pair by pair (ties 1/2), p = 2 * min(P(U <= u), P(U >= u)).
 * Independent of the rank-sum recursion in stats.c.
 */
static double brute_p(const double *x, size_t nx, const double *y, size_t ny)
{
	double all[20], u_obs = 0, lo = 0, hi = 0, total = 0;
	size_t n = nx + ny;

	for (size_t i = 0; i < nx; i++)
		for (size_t j = 0; j < ny; j++)
			u_obs += x[i] > y[j] ? 1 : x[i] == y[j] ? 0.5 : 0;
	memcpy(all, x, nx * sizeof(*x));
	memcpy(all + nx, y, ny * sizeof(*y));
	for (unsigned long m = 0; m < 1UL << n; m++) {
		double u = 0;

		if ((size_t)__builtin_popcountl(m) != nx)
			continue;
		for (size_t i = 0; i < n; i++)
			for (size_t j = 0; j < n; j++)
				if ((m >> i & 1) && !(m >> j & 1))
					u += all[i] > all[j] ? 1 : all[i] == all[j] ? 0.5 : 0;
		total++;
		lo += u <= u_obs + 1e-9;
		hi += u >= u_obs - 1e-9;
	}
	return fmin(1, 2 * fmin(lo, hi) / total);
}

/* Ties: the exact p given the ties equals the brute-force count, on many tie-heavy samples. */
static void test_mwu_ties(void)
{
	const double zeros[] = { 0, 0, 0, 0, 0 }, some[] = { 1234, 1500, 1001, 1300, 1100 };
	const double same[] = { 3, 3, 3 };
	int bad = 0;
	struct mwu r;

	srand(22);
	for (int t = 0; t < 300; t++) {
		size_t nx = 1 + rand() % 7, ny = 1 + rand() % 7;
		double x[7], y[7], want;

		/* Few distinct values: most samples have ties, many across the two sides. */
		for (size_t i = 0; i < nx; i++)
			x[i] = rand() % 4;
		for (size_t i = 0; i < ny; i++)
			y[i] = rand() % 4 + (t % 3 == 0);
		want = brute_p(x, nx, y, ny);
		if (mann_whitney(x, nx, y, ny, &r) || !NEAR(r.p, want, 1e-9)) {
			if (bad++ < 3)
				printf("  nx %zu ny %zu: p %g, brute force %g\n", nx, ny, r.p, want);
		}
	}
	CHECK(bad == 0);
	/* A row gone in every after run: five tied zeros against five counts. */
	CHECK(!mann_whitney(some, 5, zeros, 5, &r));
	CHECK(r.u == 25 && NEAR(r.p, 2.0 / 252, 1e-12));
	/* All values equal: nothing to tell apart. */
	CHECK(!mann_whitney(same, 3, same, 3, &r) && r.p == 1 && r.u == 4.5);
	CHECK(!mann_whitney_n(same, 3, same, 3, 0, &r) && r.p == 1);
}

/* One run a side can never be significant, whatever the values. */
static void test_mwu_n1(void)
{
	const double a[] = { 5 }, b[] = { 1e9 };
	struct mwu r;

	CHECK(!mann_whitney(a, 1, b, 1, &r));
	CHECK(r.p == 1 && r.u == 0);
	CHECK(!mann_whitney(a, 1, a, 0, &r) && r.p == 1);
}

static void test_order_stats(void)
{
	const double v[] = { 5, 1, 4, 2 }, w[] = { 3, 9, 1 };

	CHECK(stat_median(v, 4) == 3 && stat_median(w, 3) == 3 && stat_median(v, 0) == 0);
	CHECK(stat_min(v, 4) == 1 && stat_max(v, 4) == 5 && stat_max(w, 3) == 9);
}

static void fill(struct rec_hist *h, const __u64 *v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		hist_add_sample(h, v[i], 0);
}

/* Merging two runs' histograms equals the histogram of all their samples: same buckets. */
static void test_merge_exact(void)
{
	static const __u64 a[] = { 1, 3, 700, 1500, 1536, 40000, 31000000 };
	static const __u64 b[] = { 2, 700, 1537, 99999, 4000000, 1ULL << 41 };
	struct rec_hist ha = { .kind = KIND_LOCK }, hb = { .kind = KIND_LOCK };
	struct rec_hist all = { .kind = KIND_LOCK }, m, before;

	fill(&ha, a, N_OF(a));
	fill(&hb, b, N_OF(b));
	fill(&all, a, N_OF(a));
	fill(&all, b, N_OF(b));
	m = ha;
	CHECK(!hist_merge_exact(&m, &hb));
	CHECK(!memcmp(m.slots, all.slots, sizeof(m.slots)));
	CHECK(m.count == all.count && m.total_ns == all.total_ns && m.max_ns == all.max_ns);
	for (int p = 1; p <= 100; p++)
		CHECK(hist_percentile(&m, p) == hist_percentile(&all, p));
	/* A bucket that would wrap: refused, and nothing changed. */
	ha.slots[hist_slot(700)] = UINT32_MAX;
	before = ha;
	CHECK(hist_merge_exact(&ha, &hb) == -EOVERFLOW);
	CHECK(!memcmp(&ha, &before, sizeof(ha)));
}

/* The verdict rules of docs/verify.md. */
static void test_verdicts(void)
{
	const double zero[] = { 0, 0, 0, 0, 0 }, cnt[] = { 1234, 1500, 1001, 1300, 1100 };
	const double lo[] = { 1, 2, 3, 4, 5 }, hi[] = { 6, 7, 8, 9, 10 };
	const double one_run[] = { 0, 0, 0, 0, 3 }, c5[] = { 5, 5, 5, 5, 5 };
	struct judgement j;

	/* gone: every after run zero, the count test significant (5 of 5 runs before). */
	CHECK(!judge_runs(cnt, hi, 5, zero, zero, 5, DIFF_ALPHA, &j));
	CHECK(j.verdict == VERDICT_GONE && j.on_count && NEAR(j.count.p, 2.0 / 252, 1e-12));
	/* new: the mirror image. */
	CHECK(!judge_runs(zero, zero, 5, cnt, hi, 5, DIFF_ALPHA, &j));
	CHECK(j.verdict == VERDICT_NEW && j.on_count);
	/* Zero after, but present in only one run of five before: not significant. */
	CHECK(!judge_runs(one_run, one_run, 5, zero, zero, 5, DIFF_ALPHA, &j));
	CHECK(j.verdict == VERDICT_NO_CHANGE && j.count.p >= DIFF_ALPHA);
	/* One run a side: never gone, however clear the values look. */
	CHECK(!judge_runs(cnt, hi, 1, zero, zero, 1, DIFF_ALPHA, &j));
	CHECK(j.verdict == VERDICT_NO_CHANGE && j.count.p == 1);
	/* worse / better: the key metric, present on both sides. */
	CHECK(!judge_runs(c5, lo, 5, c5, hi, 5, DIFF_ALPHA, &j));
	CHECK(j.verdict == VERDICT_WORSE && !j.on_count && NEAR(j.key.p, 2.0 / 252, 1e-12));
	CHECK(!judge_runs(c5, hi, 5, c5, lo, 5, DIFF_ALPHA, &j));
	CHECK(j.verdict == VERDICT_BETTER);
	/* The same values at a stricter level: no change. */
	CHECK(!judge_runs(c5, hi, 5, c5, lo, 5, 0.005, &j));
	CHECK(j.verdict == VERDICT_NO_CHANGE);
	/* Identical runs: no change, p = 1. */
	CHECK(!judge_runs(c5, lo, 5, c5, lo, 5, DIFF_ALPHA, &j));
	CHECK(j.verdict == VERDICT_NO_CHANGE && j.key.p == 1);

	/* --max-regression: only significant lock / D-state rows whose median max grew past it. */
	j.verdict = VERDICT_WORSE;
	CHECK(judged_regression(KIND_LOCK, &j, 10, 12, 10));
	CHECK(!judged_regression(KIND_LOCK, &j, 10, 11, 10));
	CHECK(!judged_regression(KIND_LOCK, &j, 10, 12, -1));
	CHECK(!judged_regression(KIND_IOCTL, &j, 10, 100, 0));
	CHECK(judged_regression(KIND_DSTATE, &j, 10, 10.5, 0));
	j.verdict = VERDICT_NEW;
	CHECK(judged_regression(KIND_LOCK, &j, 0, 1, 1000));
	j.verdict = VERDICT_NO_CHANGE;
	CHECK(!judged_regression(KIND_LOCK, &j, 10, 1000, 0));
	CHECK(!strcmp(verdict_name(VERDICT_GONE), "gone") && !strcmp(verdict_name(VERDICT_NO_CHANGE), "no change"));
	CHECK(verdict_name(NR_VERDICTS) == NULL);
	CHECK(metric_key(KIND_LOCK) == METRIC_MAX && metric_key(KIND_IOCTL) == METRIC_P99 &&
	      metric_key(KIND_TRYLOCK) == METRIC_FAILED);
}

/* A recording with threads named comm[i], one lock hist each with the given waits. */
static void make_rec(struct recording *rec, const char *const *comm, const __u64 *waits, size_t n)
{
	memset(rec, 0, sizeof(*rec));
	for (size_t i = 0; i < n; i++) {
		struct rec_thread *t = recording_thread(rec, 100 + i);
		struct rec_hist *h;

		snprintf(t->comm, sizeof(t->comm), "%s", comm[i]);
		h = thread_hist(t, KIND_LOCK, CLASS_ANON_VMA_WRITE, SITE_UFFD_MOVE);
		hist_add_sample(h, waits[i], 0);
	}
}

/* Per-run rows: threads of one name are one row; a run without the row counts 0. */
static void test_set_rows(void)
{
	const char *const two_ui[] = { "ui", "ui" }, *const gc[] = { "gc" };
	const __u64 w1[] = { 1000, 5000 }, w2[] = { 7000 };
	struct recording r1, r2;
	struct set_diff d;
	double v[2];

	CHECK(set_diff_init(&d, 0, 1) == -EINVAL);
	CHECK(!set_diff_init(&d, 2, 1));
	make_rec(&r1, two_ui, w1, 2);
	make_rec(&r2, gc, w2, 1);
	CHECK(!set_diff_add(&d, &r1, 0, 0, NULL));
	CHECK(!set_diff_add(&d, &r2, 0, 1, NULL));
	CHECK(!set_diff_add(&d, &r1, 1, 0, NULL));
	CHECK(set_diff_add(&d, &r1, 1, 1, NULL) == -EINVAL);	/* the after side has one run */
	CHECK(d.n == 2);
	if (d.n == 2) {
		const struct set_row *ui = &d.rows[0], *g = &d.rows[1];

		CHECK(!strcmp(ui->comm, "ui") && !strcmp(g->comm, "gc"));
		set_row_values(&d, ui, 0, METRIC_COUNT, v);
		CHECK(v[0] == 2 && v[1] == 0);
		set_row_values(&d, ui, 0, METRIC_MAX, v);
		CHECK(v[0] == 5000 && v[1] == 0);
		CHECK(set_row_present(&d, ui, 0) == 1 && set_row_present(&d, g, 1) == 0);
		CHECK(ui->merged[0].count == 2 && ui->merged[1].count == 2 && g->merged[0].max_ns == 7000);
		/* The ioctl breakdown's mean leaves out runs without the ioctl. */
		CHECK(set_row_part_values(&d, g, 0, PART_ON_CPU, v) == 1);
	}
	set_diff_free(&d);
	/* -c: only that name. */
	CHECK(!set_diff_init(&d, 1, 1));
	CHECK(!set_diff_add(&d, &r1, 0, 0, "gc") && d.n == 0);
	set_diff_free(&d);
	recording_free(&r1);
	recording_free(&r2);
}

/* A part its probe did not measure in some run of a side is not compared (its time is in on_cpu there). */
static void test_set_unmeasured(void)
{
	const char *const gc[] = { "gc" };
	const __u64 w[] = { 1000 };
	struct rec_probe fentry = { .name = "rwsem_spin", .mechanism = "fentry" };
	struct recording before, after;
	struct set_diff d;
	double v[1];

	make_rec(&before, gc, w, 1);	/* no probes listed: a host without fentry/kprobes, or older */
	make_rec(&after, gc, w, 1);
	after.probes = &fentry;
	after.nprobes = 1;
	CHECK(!set_diff_init(&d, 1, 1));
	CHECK(!set_diff_add(&d, &before, 0, 0, NULL) && !set_diff_add(&d, &after, 1, 0, NULL));
	CHECK(d.n == 1 && d.unmeasured[0][PART_RWSEM_SPIN] && !d.unmeasured[1][PART_RWSEM_SPIN]);
	if (d.n == 1) {
		CHECK(set_row_part_values(&d, &d.rows[0], 0, PART_RWSEM_SPIN, v) == 0);
		CHECK(set_row_part_values(&d, &d.rows[0], 1, PART_RWSEM_SPIN, v) == 1);
		CHECK(set_row_part_values(&d, &d.rows[0], 0, PART_ON_CPU, v) == 1);
	}
	set_diff_free(&d);
	after.probes = NULL;
	after.nprobes = 0;
	recording_free(&before);
	recording_free(&after);
}

int main(void)
{
	RUN_TEST(test_mwu_textbook);
	RUN_TEST(test_mwu_normal);
	RUN_TEST(test_mwu_ties);
	RUN_TEST(test_mwu_n1);
	RUN_TEST(test_order_stats);
	RUN_TEST(test_merge_exact);
	RUN_TEST(test_verdicts);
	RUN_TEST(test_set_rows);
	RUN_TEST(test_set_unmeasured);
	TEST_EXIT();
}
