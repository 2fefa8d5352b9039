// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Judging recordings: stalls over a threshold (`check`, `record --check`),
 * the merge of two recordings into rows by thread name (`diff`), and over
 * sets of recordings, per-run values and their verdicts (docs/verify.md).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "model/recording.h"
#include "model/verify.h"
#include "lib/util.h"

int check_count(const struct recording *rec, const struct check_opts *co, FILE *out,
		__u64 *worst_ns)
{
	int failed = 0;

	*worst_ns = 0;
	for (size_t i = 0; i < rec->nthreads; i++) {
		const struct rec_thread *t = &rec->threads[i];

		if (co->comm && strcmp(t->comm, co->comm))
			continue;
		for (size_t j = 0; j < t->nhists; j++) {
			const struct rec_hist *h = &t->hists[j];

			if (h->kind != KIND_LOCK && h->kind != KIND_DSTATE &&
			    !(h->kind == KIND_IOCTL && co->ioctl))
				continue;
			if (h->max_ns > *worst_ns)
				*worst_ns = h->max_ns;
			if (h->max_ns < (__u64)co->threshold_ns)
				continue;
			fprintf(out, "%sSTALL %s (tid %u): %s %s · %s, worst %s >= %s\n",
				co->indent ? co->indent : "", t->comm, t->tid, kind_name(h->kind),
				h->kind == KIND_IOCTL ? uffd_cmd_name(h->cls) : class_label(h->cls),
				site_name(h->site), NS(h->max_ns), NS(co->threshold_ns));
			failed++;
		}
	}
	return failed;
}

int check_stalls(const struct recording *rec, const struct check_opts *co, FILE *out)
{
	__u64 worst;
	int failed = check_count(rec, co, out, &worst);

	if (failed)
		fprintf(out, "check failed: %d stall(s) >= %s\n", failed, NS(co->threshold_ns));
	else
		fprintf(out, "check passed: no stall >= %s\n", NS(co->threshold_ns));
	return failed ? EXIT_CHECK_FAILED : EXIT_OK;
}

int check_recording(const struct recording *rec, long long threshold_ns, FILE *out)
{
	struct check_opts co = { .threshold_ns = threshold_ns };

	return check_stalls(rec, &co, out);
}

static struct diff_row *diff_row(struct diff_row **rows, size_t *n, size_t *cap, const char *comm,
				 const struct rec_hist *h)
{
	struct diff_row *r;

	for (size_t i = 0; i < *n; i++) {
		r = &(*rows)[i];
		if (!strcmp(r->comm, comm) && r->side[0].kind == h->kind &&
		    r->side[0].cls == h->cls && r->side[0].site == h->site)
			return r;
	}
	if (grow_array(rows, cap, *n + 1, sizeof(**rows)))
		return NULL;
	r = &(*rows)[(*n)++];
	memset(r, 0, sizeof(*r));
	snprintf(r->comm, sizeof(r->comm), "%s", comm);
	for (int s = 0; s < 2; s++) {
		r->side[s].kind = h->kind;
		r->side[s].cls = h->cls;
		r->side[s].site = h->site;
	}
	return r;
}

/* Add one recording's hists to the rows, as side 0 (before) or 1 (after). */
void diff_add(struct diff_rows *d, const struct recording *rec, int side, const char *comm)
{
	for (size_t i = 0; i < rec->nthreads; i++) {
		const struct rec_thread *t = &rec->threads[i];

		if (comm && strcmp(t->comm, comm))
			continue;
		for (size_t j = 0; j < t->nhists; j++) {
			struct diff_row *r = diff_row(&d->rows, &d->n, &d->cap, t->comm, &t->hists[j]);

			if (r)
				hist_merge(&r->side[side], &t->hists[j]);
		}
	}
}

const char *diff_change(double before, double after)
{
	if (before <= 0)
		return after > 0 ? "new" : "-";
	if (after <= 0)
		return "vanished";
	if (after > before * (100 + DIFF_SAME_PCT) / 100)
		return "grew";
	if (after < before * (100 - DIFF_SAME_PCT) / 100)
		return "shrank";
	return "same";
}

/* ---- sets of recordings ---- */

static const char *const verdict_names[NR_VERDICTS] = {
	[VERDICT_NO_CHANGE] = "no change",
	[VERDICT_GONE] = "gone",
	[VERDICT_NEW] = "new",
	[VERDICT_BETTER] = "better",
	[VERDICT_WORSE] = "worse",
};

const char *verdict_name(unsigned int v)
{
	return v < NR_VERDICTS ? verdict_names[v] : NULL;
}

static const char *const metric_names[NR_METRICS] = {
	[METRIC_COUNT] = "count",
	[METRIC_MAX] = "max_ns",
	[METRIC_P99] = "p99_ns",
	[METRIC_FAILED] = "failed",
};

const char *metric_name(unsigned int m)
{
	return m < NR_METRICS ? metric_names[m] : NULL;
}

enum set_metric metric_key(unsigned int kind)
{
	switch (kind) {
	case KIND_IOCTL:
		/* One slow ioctl is an outlier; the tail of many is the latency users feel. */
		return METRIC_P99;
	case KIND_TRYLOCK:
		return METRIC_FAILED;
	default:
		/* A wait's worst case is the stall (a dropped frame), whatever its count. */
		return METRIC_MAX;
	}
}

static bool all_zero(const double *v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (v[i])
			return false;
	return true;
}

int judge_runs(const double *cb, const double *kb, size_t nb, const double *ca,
	       const double *ka, size_t na, double alpha, struct judgement *j)
{
	int ret;

	memset(j, 0, sizeof(*j));
	ret = mann_whitney(cb, nb, ca, na, &j->count);
	if (!ret)
		ret = mann_whitney(kb, nb, ka, na, &j->key);
	if (ret)
		return ret;
	/* gone / new: absent from every run of one side, and that is no accident of few runs. */
	if (j->count.p < alpha && all_zero(ca, na) && !all_zero(cb, nb)) {
		j->verdict = VERDICT_GONE;
		j->on_count = true;
	} else if (j->count.p < alpha && all_zero(cb, nb) && !all_zero(ca, na)) {
		j->verdict = VERDICT_NEW;
		j->on_count = true;
	} else if (j->key.p < alpha) {
		/* U of the before runs below its mean: the after runs rank higher. */
		j->verdict = j->key.u < (double)nb * na / 2 ? VERDICT_WORSE : VERDICT_BETTER;
	}
	return 0;
}

bool judged_regression(unsigned int kind, const struct judgement *j, double med_before,
		       double med_after, long long maxreg)
{
	if (maxreg < 0 || (kind != KIND_LOCK && kind != KIND_DSTATE))
		return false;
	if (j->verdict != VERDICT_WORSE && j->verdict != VERDICT_NEW)
		return false;
	return med_after > med_before * (100 + maxreg) / 100;
}

int set_diff_init(struct set_diff *d, size_t nbefore, size_t nafter)
{
	memset(d, 0, sizeof(*d));
	if (!nbefore || !nafter)
		return -EINVAL;
	d->nruns[0] = nbefore;
	d->nruns[1] = nafter;
	return 0;
}

void set_diff_free(struct set_diff *d)
{
	for (size_t i = 0; i < d->n; i++) {
		free(d->rows[i].run[0]);
		free(d->rows[i].run[1]);
	}
	free(d->rows);
	memset(d, 0, sizeof(*d));
}

static struct set_row *set_row(struct set_diff *d, const char *comm, const struct rec_hist *h)
{
	struct set_row *r;

	for (size_t i = 0; i < d->n; i++) {
		r = &d->rows[i];
		if (!strcmp(r->comm, comm) && r->kind == h->kind && r->cls == h->cls &&
		    r->site == h->site)
			return r;
	}
	if (grow_array(&d->rows, &d->cap, d->n + 1, sizeof(*d->rows)))
		return NULL;
	r = &d->rows[d->n];
	memset(r, 0, sizeof(*r));
	for (int s = 0; s < 2; s++) {
		r->run[s] = calloc(d->nruns[s], sizeof(*r->run[s]));
		if (!r->run[s]) {
			free(r->run[0]);
			return NULL;
		}
		for (size_t i = 0; i < d->nruns[s]; i++) {
			r->run[s][i].kind = h->kind;
			r->run[s][i].cls = h->cls;
			r->run[s][i].site = h->site;
		}
		r->merged[s].kind = h->kind;
		r->merged[s].cls = h->cls;
		r->merged[s].site = h->site;
	}
	snprintf(r->comm, sizeof(r->comm), "%s", comm);
	r->kind = h->kind;
	r->cls = h->cls;
	r->site = h->site;
	d->n++;
	return r;
}

int set_diff_add(struct set_diff *d, const struct recording *rec, int side, size_t run,
		 const char *comm)
{
	if (side < 0 || side > 1 || run >= d->nruns[side])
		return -EINVAL;
	for (unsigned int p = 0; p < NR_REC_PARTS; p++)
		if (!part_measured(rec, p, NULL))
			d->unmeasured[side][p] = true;
	for (size_t i = 0; i < rec->nthreads; i++) {
		const struct rec_thread *t = &rec->threads[i];

		if (comm && strcmp(t->comm, comm))
			continue;
		for (size_t j = 0; j < t->nhists; j++) {
			struct set_row *r = set_row(d, t->comm, &t->hists[j]);

			if (!r)
				return -ENOMEM;
			/* Threads of one name in one run are one row, as in the two-file diff. */
			if (hist_merge_exact(&r->run[side][run], &t->hists[j]) ||
			    hist_merge_exact(&r->merged[side], &t->hists[j]))
				return -EOVERFLOW;
		}
	}
	return 0;
}

void set_row_values(const struct set_diff *d, const struct set_row *r, int side,
		    enum set_metric m, double *v)
{
	for (size_t i = 0; i < d->nruns[side]; i++) {
		const struct rec_hist *h = &r->run[side][i];

		switch (m) {
		case METRIC_COUNT:
			v[i] = h->count;
			break;
		case METRIC_MAX:
			v[i] = h->max_ns;
			break;
		case METRIC_P99:
			v[i] = hist_percentile(h, 99);
			break;
		default:
			v[i] = h->kind == KIND_TRYLOCK ? h->aux_ns : 0;
			break;
		}
	}
}

size_t set_row_part_values(const struct set_diff *d, const struct set_row *r, int side,
			   unsigned int part, double *v)
{
	size_t n = 0;

	if (part < NR_REC_PARTS && d->unmeasured[side][part])
		return 0;	/* its time is in on_cpu there: no mean to compare */
	for (size_t i = 0; i < d->nruns[side]; i++) {
		const struct rec_hist *h = &r->run[side][i];

		/* No ioctl in a run: no mean per ioctl (not a mean of 0). */
		if (h->count && part < NR_REC_PARTS)
			v[n++] = (double)h->parts[part] / h->count;
	}
	return n;
}

size_t set_row_present(const struct set_diff *d, const struct set_row *r, int side)
{
	size_t n = 0;

	for (size_t i = 0; i < d->nruns[side]; i++)
		n += r->run[side][i].count > 0;
	return n;
}
