// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Judging recordings: stalls over a threshold (`check`, `record --check`) and
 * the merge of two recordings into rows by thread name (`diff`).
 */
#include <stdlib.h>
#include <string.h>
#include "model/recording.h"
#include "model/verify.h"
#include "lib/util.h"

int check_stalls(const struct recording *rec, const struct check_opts *co, FILE *out)
{
	int failed = 0;

	for (size_t i = 0; i < rec->nthreads; i++) {
		const struct rec_thread *t = &rec->threads[i];

		if (co->comm && strcmp(t->comm, co->comm))
			continue;
		for (size_t j = 0; j < t->nhists; j++) {
			const struct rec_hist *h = &t->hists[j];

			if (h->kind != KIND_LOCK && h->kind != KIND_DSTATE &&
			    !(h->kind == KIND_IOCTL && co->ioctl))
				continue;
			if (h->max_ns < (__u64)co->threshold_ns)
				continue;
			fprintf(out, "STALL %s (tid %u): %s %s · %s, worst %s >= %s\n", t->comm, t->tid,
				kind_name(h->kind),
				h->kind == KIND_IOCTL ? uffd_cmd_name(h->cls) : class_label(h->cls),
				site_name(h->site), NS(h->max_ns), NS(co->threshold_ns));
			failed++;
		}
	}
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
