// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * `diff` over sets of recordings: per row (thread name x kind x class x
 * site) the per-run values of each side with their median and range, the
 * Mann-Whitney test and the verdict; under each uffd ioctl row the same for
 * every part of its breakdown. As a table or as JSON (docs/verify.md).
 */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "lib/json.h"
#include "lib/util.h"
#include "output/diff_set.h"

/* A row judged: its per-run values, tests and verdict. */
struct row_eval {
	double *v[2][NR_METRICS];	/* nruns[side] values each */
	struct judgement j;
	enum set_metric key;
	size_t present[2];
	bool regression;
};

/* A part of an ioctl row judged: means per ioctl of the runs that had the ioctl. */
struct part_eval {
	double *v[2];
	size_t n[2];
	struct judgement j;
	bool tested;		/* both sides had runs with the ioctl */
};

/* A trylock has a count and failures, no duration; only trylocks have failures. */
static bool has_metric(const struct set_row *r, unsigned int m)
{
	if (r->kind == KIND_TRYLOCK)
		return m == METRIC_COUNT || m == METRIC_FAILED;
	return m != METRIC_FAILED;
}

static bool metric_is_ns(unsigned int m)
{
	return m == METRIC_MAX || m == METRIC_P99;
}

/* buf holds 2 * NR_METRICS * max(nruns) doubles. */
static int eval_row(const struct set_diff *d, const struct set_row *r,
		    const struct diff_set_opts *o, double *buf, struct row_eval *e)
{
	size_t stride = d->nruns[0] > d->nruns[1] ? d->nruns[0] : d->nruns[1];
	int ret;

	memset(e, 0, sizeof(*e));
	e->key = metric_key(r->kind);
	for (int s = 0; s < 2; s++) {
		for (unsigned int m = 0; m < NR_METRICS; m++) {
			e->v[s][m] = buf + (s * NR_METRICS + m) * stride;
			set_row_values(d, r, s, m, e->v[s][m]);
		}
		e->present[s] = set_row_present(d, r, s);
	}
	ret = judge_runs(e->v[0][METRIC_COUNT], e->v[0][e->key], d->nruns[0],
			 e->v[1][METRIC_COUNT], e->v[1][e->key], d->nruns[1], o->alpha, &e->j);
	if (ret)
		return ret;
	e->regression = judged_regression(r->kind, &e->j,
					  stat_median(e->v[0][METRIC_MAX], d->nruns[0]),
					  stat_median(e->v[1][METRIC_MAX], d->nruns[1]), o->maxreg);
	return 0;
}

static int eval_part(const struct set_diff *d, const struct set_row *r, unsigned int part,
		     const struct diff_set_opts *o, double *buf, struct part_eval *e)
{
	memset(e, 0, sizeof(*e));
	e->v[0] = buf;
	e->v[1] = buf + d->nruns[0];
	for (int s = 0; s < 2; s++)
		e->n[s] = set_row_part_values(d, r, s, part, e->v[s]);
	e->tested = e->n[0] && e->n[1];
	if (!e->tested)
		return 0;
	/* A part's mean per ioctl is both its "count" (gone / new) and its key (more is worse). */
	return judge_runs(e->v[0], e->v[0], e->n[0], e->v[1], e->v[1], e->n[1], o->alpha, &e->j);
}

/* The parts shown under an ioctl row: those not zero on a side, and the remainder always. */
static bool part_shown(const struct set_row *r, unsigned int p)
{
	return r->merged[0].parts[p] || r->merged[1].parts[p] || p == PART_UNEXPLAINED;
}

static const char *row_what(const struct set_row *r)
{
	return r->kind == KIND_IOCTL ? uffd_cmd_name(r->cls) : class_label(r->cls);
}

/* ---- text ---- */

static const char *fmt_val(double x, bool ns, char *buf, size_t len)
{
	if (isnan(x))
		snprintf(buf, len, "?");
	else if (ns)
		fmt_ns((__u64)(x + 0.5), buf, len);
	else if (x == floor(x))
		snprintf(buf, len, "%.0f", x);
	else
		snprintf(buf, len, "%.1f", x);
	return buf;
}

/* "median [min - max]", or the value alone for one run; "-" for none. */
static const char *fmt_spread(const double *v, size_t n, bool ns, char *buf, size_t len)
{
	char a[24], b[24], c[24];

	if (!n)
		snprintf(buf, len, "-");
	else if (n == 1 || (stat_min(v, n) == 0 && stat_max(v, n) == 0))
		fmt_val(v[0], ns, buf, len);
	else
		snprintf(buf, len, "%s [%s - %s]", fmt_val(stat_median(v, n), ns, a, sizeof(a)),
			 fmt_val(stat_min(v, n), ns, b, sizeof(b)),
			 fmt_val(stat_max(v, n), ns, c, sizeof(c)));
	return buf;
}

static const char *fmt_p(double p, char *buf, size_t len)
{
	if (p < 0.0001)
		snprintf(buf, len, "<0.0001");
	else
		snprintf(buf, len, "%.4f", p);
	return buf;
}

static void text_side(FILE *f, const char *name, const struct diff_side *s)
{
	fprintf(f, "%-7s %zu run%s (Linux ", name, s->nfiles, s->nfiles == 1 ? "" : "s");
	for (size_t i = 0; i < s->nkernels; i++)
		fprintf(f, "%s%s", i ? ", " : "", s->kernels[i][0] ? s->kernels[i] : "?");
	fputs("):", f);
	for (size_t i = 0; i < s->nfiles; i++)
		fprintf(f, " %s", s->files[i]);
	fputc('\n', f);
}

/* The fewest runs a side for which some outcome can reach p < alpha. */
static size_t runs_needed(double alpha)
{
	size_t k = 1;

	while (k < 1000 && mwu_min_p(k, k) >= alpha)
		k++;
	return k;
}

static void text_head(FILE *f, const struct set_diff *d, const struct diff_side side[2],
		      const struct diff_set_opts *o)
{
	double minp = mwu_min_p(d->nruns[0], d->nruns[1]);

	text_side(f, "before:", &side[0]);
	text_side(f, "after:", &side[1]);
	fprintf(f, "test:   Mann-Whitney U on per-run values, two-sided, %s, alpha %g\n",
		d->nruns[0] <= MWU_EXACT_MAX_N && d->nruns[1] <= MWU_EXACT_MAX_N ? "exact p" :
		"normal approximation", o->alpha);
	fputs("values: median [min - max] over the runs; a run without the row counts 0\n", f);
	if (minp >= o->alpha)
		fprintf(f, "note:   with %zu run%s before and %zu after no row can be significant (the "
			"smallest p possible is %.3g >= %g): record at least %zu runs a side\n",
			d->nruns[0], d->nruns[0] == 1 ? "" : "s", d->nruns[1], minp, o->alpha,
			runs_needed(o->alpha));
	fputc('\n', f);
	fprintf(f, "%-16s %-7s %-16s %-10s %-14s %-9s %s\n", "THREAD", "KIND", "CLASS", "SITE",
		"RUNS B -> A", "VERDICT", "P (ON)");
}

static void text_line(FILE *f, const char *label, const double *b, size_t nb, const double *a,
		      size_t na, bool ns, const struct mwu *t, const char *verdict)
{
	char s1[80], s2[80], p[16], line[256];
	int n;

	n = snprintf(line, sizeof(line), "    %-36s %-30s -> %-30s", label,
		     fmt_spread(b, nb, ns, s1, sizeof(s1)), fmt_spread(a, na, ns, s2, sizeof(s2)));
	if (t)
		n += snprintf(line + n, sizeof(line) - n, " p=%s", fmt_p(t->p, p, sizeof(p)));
	if (verdict)
		snprintf(line + n, sizeof(line) - n, " %s", verdict);
	/* No trailing blanks where a line has no test. */
	for (n = strlen(line); n > 0 && line[n - 1] == ' '; n--)
		line[n - 1] = 0;
	fprintf(f, "%s\n", line);
}

static void text_row(FILE *f, const struct set_diff *d, const struct set_row *r,
		     const struct row_eval *e)
{
	const struct mwu *t = e->j.on_count ? &e->j.count : &e->j.key;
	char runs[32], p[16];

	snprintf(runs, sizeof(runs), "%zu/%zu -> %zu/%zu", e->present[0], d->nruns[0],
		 e->present[1], d->nruns[1]);
	fprintf(f, "%-16s %-7s %-16s %-10s %-14s %-9s %s (%s)%s\n", r->comm, kind_name(r->kind),
		row_what(r), site_name(r->site), runs, verdict_name(e->j.verdict),
		fmt_p(t->p, p, sizeof(p)), e->j.on_count ? "count" : metric_name(e->key),
		e->regression ? "  REGRESSION" : "");
	for (unsigned int m = 0; m < NR_METRICS; m++) {
		if (!has_metric(r, m))
			continue;
		text_line(f, metric_name(m), e->v[0][m], d->nruns[0], e->v[1][m], d->nruns[1],
			  metric_is_ns(m), m == METRIC_COUNT ? &e->j.count :
			  m == e->key ? &e->j.key : NULL, NULL);
	}
}

static void text_part(FILE *f, unsigned int part, const struct part_eval *e)
{
	char label[64];

	snprintf(label, sizeof(label), "per ioctl: %s", part_label(part));
	text_line(f, label, e->v[0], e->n[0], e->v[1], e->n[1], true, e->tested ? &e->j.key : NULL,
		  e->tested ? verdict_name(e->j.verdict) : "(not in both)");
}

/* ---- JSON ---- */

static void json_values(struct json_writer *w, const char *key, const double *b, size_t nb,
			const double *a, size_t na, bool whole)
{
	const double *v[2] = { b, a };
	const size_t n[2] = { nb, na };
	static const char *const sides[2] = { "before", "after" };

	jw_obj_begin(w, key);
	for (int s = 0; s < 2; s++) {
		jw_arr_begin(w, sides[s]);
		for (size_t i = 0; i < n[s]; i++) {
			if (whole)
				jw_u64(w, NULL, (__u64)v[s][i]);
			else
				jw_double(w, NULL, v[s][i]);
		}
		jw_arr_end(w);
	}
	jw_arr_begin(w, "median");
	for (int s = 0; s < 2; s++)
		n[s] ? jw_double(w, NULL, stat_median(v[s], n[s])) : jw_null(w, NULL);
	jw_arr_end(w);
	jw_arr_begin(w, "range");
	for (int s = 0; s < 2; s++) {
		jw_arr_begin(w, NULL);
		if (n[s]) {
			jw_double(w, NULL, stat_min(v[s], n[s]));
			jw_double(w, NULL, stat_max(v[s], n[s]));
		}
		jw_arr_end(w);
	}
	jw_arr_end(w);
	jw_obj_end(w);
}

static void json_test(struct json_writer *w, const char *key, const struct mwu *t)
{
	jw_obj_begin(w, key);
	jw_double(w, "u", t->u);
	jw_double(w, "p", t->p);
	jw_bool(w, "exact", t->exact);
	if (!t->exact)
		jw_double(w, "z", t->z);
	jw_obj_end(w);
}

static void json_merged(struct json_writer *w, const char *key, const struct rec_hist *h)
{
	jw_obj_begin(w, key);
	jw_u64(w, "count", h->count);
	jw_u64(w, "total_ns", h->total_ns);
	jw_u64(w, "max_ns", h->max_ns);
	jw_u64(w, "p50_ns", hist_percentile(h, 50));
	jw_u64(w, "p99_ns", hist_percentile(h, 99));
	if (h->kind == KIND_TRYLOCK)
		jw_u64(w, "failed", h->aux_ns);
	jw_obj_end(w);
}

/* Opens the row's object: diff_set_print() adds its parts and closes it. */
static void json_row(struct json_writer *w, const struct set_diff *d, const struct set_row *r,
		     const struct row_eval *e, const struct diff_set_opts *o)
{
	const struct mwu *t = e->j.on_count ? &e->j.count : &e->j.key;

	jw_obj_begin(w, NULL);
	jw_str(w, "thread", r->comm);
	jw_str(w, "kind", kind_name(r->kind));
	if (r->kind == KIND_IOCTL)
		jw_str(w, "command", uffd_cmd_name(r->cls));
	else
		jw_str(w, "class", class_name(r->cls));
	jw_str(w, "site", site_name(r->site));
	jw_str(w, "verdict", verdict_name(e->j.verdict));
	jw_bool(w, "significant", t->p < o->alpha);
	jw_str(w, "decided_on", e->j.on_count ? "count" : metric_name(e->key));
	jw_str(w, "statistic", "mann_whitney_u");
	jw_double(w, "u", t->u);
	jw_double(w, "p", t->p);
	jw_bool(w, "regression", e->regression);
	jw_obj_begin(w, "runs_with_row");
	jw_u64(w, "before", e->present[0]);
	jw_u64(w, "after", e->present[1]);
	jw_obj_end(w);
	jw_obj_begin(w, "tests");
	json_test(w, "count", &e->j.count);
	if (e->key != METRIC_COUNT)
		json_test(w, metric_name(e->key), &e->j.key);
	jw_obj_end(w);
	jw_obj_begin(w, "per_run");
	for (unsigned int m = 0; m < NR_METRICS; m++)
		if (has_metric(r, m))
			json_values(w, metric_name(m), e->v[0][m], d->nruns[0], e->v[1][m],
				    d->nruns[1], true);
	jw_obj_end(w);
	jw_obj_begin(w, "merged");
	json_merged(w, "before", &r->merged[0]);
	json_merged(w, "after", &r->merged[1]);
	jw_obj_end(w);
}

static void json_part(struct json_writer *w, unsigned int part, const struct part_eval *e)
{
	jw_obj_begin(w, NULL);
	jw_str(w, "part", part_name(part));
	json_values(w, "mean_ns_per_ioctl", e->v[0], e->n[0], e->v[1], e->n[1], false);
	if (e->tested) {
		jw_str(w, "verdict", verdict_name(e->j.verdict));
		jw_double(w, "u", e->j.key.u);
		jw_double(w, "p", e->j.key.p);
	} else {
		jw_null(w, "verdict");
	}
	jw_obj_end(w);
}

static void json_side(struct json_writer *w, const char *key, const struct diff_side *s)
{
	jw_obj_begin(w, key);
	jw_u64(w, "runs", s->nfiles);
	jw_arr_begin(w, "files");
	for (size_t i = 0; i < s->nfiles; i++)
		jw_str(w, NULL, s->files[i]);
	jw_arr_end(w);
	jw_arr_begin(w, "kernels");
	for (size_t i = 0; i < s->nkernels; i++)
		jw_str(w, NULL, s->kernels[i]);
	jw_arr_end(w);
	jw_obj_end(w);
}

/* ---- both ---- */

int diff_set_print(FILE *f, const struct set_diff *d, const struct diff_side side[2],
		   const struct diff_set_opts *o)
{
	size_t stride = d->nruns[0] > d->nruns[1] ? d->nruns[0] : d->nruns[1];
	double minp = mwu_min_p(d->nruns[0], d->nruns[1]);
	double *buf = calloc(2 * NR_METRICS * stride, sizeof(*buf));
	double *pbuf = calloc(d->nruns[0] + d->nruns[1], sizeof(*pbuf));
	int regressions = 0, significant = 0, ret = 0;
	struct json_writer w;

	if (!buf || !pbuf) {
		ret = -ENOMEM;
		goto out;
	}
	jw_init(&w, f, true);
	if (o->json) {
		jw_obj_begin(&w, NULL);
		jw_u64(&w, "mmlock_diff", 1);
		jw_str(&w, "test", "Mann-Whitney U on per-run values, two-sided (docs/verify.md)");
		jw_str(&w, "p_method", d->nruns[0] <= MWU_EXACT_MAX_N && d->nruns[1] <= MWU_EXACT_MAX_N ?
		       "exact" : "normal");
		jw_double(&w, "alpha", o->alpha);
		jw_double(&w, "min_p", minp);
		jw_bool(&w, "can_be_significant", minp < o->alpha);
		jw_obj_begin(&w, "filter");
		jw_str(&w, "comm", o->comm);
		jw_obj_end(&w);
		json_side(&w, "before", &side[0]);
		json_side(&w, "after", &side[1]);
		jw_arr_begin(&w, "rows");
	} else {
		text_head(f, d, side, o);
	}
	for (size_t i = 0; i < d->n; i++) {
		const struct set_row *r = &d->rows[i];
		struct row_eval e;

		ret = eval_row(d, r, o, buf, &e);
		if (ret)
			goto out;
		regressions += e.regression;
		significant += e.j.verdict != VERDICT_NO_CHANGE;
		if (o->json)
			json_row(&w, d, r, &e, o);
		else
			text_row(f, d, r, &e);
		if (o->json && r->kind == KIND_IOCTL)
			jw_arr_begin(&w, "parts");
		for (unsigned int p = 0; r->kind == KIND_IOCTL && p < NR_REC_PARTS; p++) {
			struct part_eval pe;

			if (!part_shown(r, p))
				continue;
			ret = eval_part(d, r, p, o, pbuf, &pe);
			if (ret)
				goto out;
			if (o->json)
				json_part(&w, p, &pe);
			else
				text_part(f, p, &pe);
		}
		if (o->json) {
			if (r->kind == KIND_IOCTL)
				jw_arr_end(&w);
			jw_obj_end(&w);
		}
	}
	if (o->json) {
		jw_arr_end(&w);
		jw_obj_begin(&w, "result");
		o->maxreg >= 0 ? jw_s64(&w, "max_regression_pct", o->maxreg) :
				 jw_null(&w, "max_regression_pct");
		jw_u64(&w, "rows", d->n);
		jw_u64(&w, "significant_rows", significant);
		jw_u64(&w, "regressions", regressions);
		jw_u64(&w, "exit", o->maxreg >= 0 && regressions ? EXIT_CHECK_FAILED : EXIT_OK);
		jw_obj_end(&w);
		jw_obj_end(&w);
		ret = jw_finish(&w);
	} else {
		fprintf(f, "\n%zu row(s), %d with a significant change (p < %g)\n", d->n, significant,
			o->alpha);
		if (o->maxreg >= 0)
			fprintf(f, "%d row(s) significantly worse or new, the median worst wait more than "
				"%lld%% above before\n", regressions, o->maxreg);
		ret = fflush(f) || ferror(f) ? -EIO : 0;
	}
out:
	free(buf);
	free(pbuf);
	return ret ? ret : regressions;
}
