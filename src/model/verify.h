/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Judging recordings: a stall threshold (check) and before/after rows (diff). */
#ifndef MMLOCK_VERIFY_H
#define MMLOCK_VERIFY_H

#include <stdbool.h>
#include <stdio.h>
#include "model/recording.h"
#include "model/stats.h"

struct check_opts {
	long long threshold_ns;
	const char *comm;	/* only threads of this name, NULL: all */
	bool ioctl;		/* uffd ioctl latency counts as a stall too */
	const char *indent;	/* before each STALL line (sets of runs), NULL: none */
};

/*
 * Print a STALL line per thread x hist whose worst wait >= the threshold
 * (lock waits and D-state, ioctls too if asked), then the verdict.
 * EXIT_OK, or EXIT_CHECK_FAILED if any.
 */
int check_stalls(const struct recording *rec, const struct check_opts *co, FILE *out);
/*
 * The STALL lines alone (for one run of a set); returns how many, and the
 * worst wait the check looked at, stall or not, in *worst_ns.
 */
int check_count(const struct recording *rec, const struct check_opts *co, FILE *out,
		__u64 *worst_ns);
/* `record --check`: check_stalls over every thread, without ioctls. */
int check_recording(const struct recording *rec, long long threshold_ns, FILE *out);

/* One row of a diff: all threads of one name, one kind x class x site. */
struct diff_row {
	char comm[MMLOCK_COMM_LEN];
	struct rec_hist side[2];	/* before, after */
};

struct diff_rows {
	struct diff_row *rows;
	size_t n, cap;
};

/* Merge one recording's hists into the rows as side 0 (before) or 1 (after). */
void diff_add(struct diff_rows *d, const struct recording *rec, int side, const char *comm);

/*
 * How a value changed from before to after, in words: "new", "vanished",
 * "grew" / "shrank" (by more than DIFF_SAME_PCT%), "same", or "-" (zero in
 * both). For the breakdown rows of `diff`.
 */
#define DIFF_SAME_PCT	10
const char *diff_change(double before, double after);

/* ---- diff over sets of recordings (docs/verify.md) ---- */

/* What a row did from the before runs to the after runs. */
enum verdict {
	VERDICT_NO_CHANGE,	/* no significant change (not: proven equal) */
	VERDICT_GONE,		/* zero in every after run, and the count test significant */
	VERDICT_NEW,		/* zero in every before run, and the count test significant */
	VERDICT_BETTER,		/* key metric significantly lower after */
	VERDICT_WORSE,		/* key metric significantly higher after */
	NR_VERDICTS,
};
const char *verdict_name(unsigned int v);	/* "gone", "no change", ... */

#define DIFF_ALPHA	0.05	/* default significance level */

/* The per-run values a row is judged on. */
enum set_metric {
	METRIC_COUNT,	/* waits / ioctls / trylocks in the run */
	METRIC_MAX,	/* the run's worst one */
	METRIC_P99,	/* the run's p99 (slot midpoint, nearest rank) */
	METRIC_FAILED,	/* TRYLOCK: failed trylocks in the run */
	NR_METRICS,
};
const char *metric_name(unsigned int m);	/* "count", "max_ns", "p99_ns", "failed" */
/* The metric better/worse is decided on: MAX for waits, P99 for ioctls, FAILED for trylocks. */
enum set_metric metric_key(unsigned int kind);

struct judgement {
	enum verdict verdict;
	struct mwu count;	/* test on the per-run counts (gone / new) */
	struct mwu key;		/* test on the key metric (better / worse) */
	bool on_count;		/* the verdict came from the count test */
};

/*
 * The verdict rules (docs/verify.md) on per-run values: cb/kb the before
 * runs' counts and key metric (nb runs), ca/ka the after runs'. Returns 0,
 * or -ENOMEM.
 */
int judge_runs(const double *cb, const double *kb, size_t nb, const double *ca,
	       const double *ka, size_t na, double alpha, struct judgement *j);

/*
 * diff --max-regression over sets: a lock or D-state row that got
 * significantly worse (or is new) and whose median worst wait grew by more
 * than maxreg percent.
 */
bool judged_regression(unsigned int kind, const struct judgement *j, double med_before,
		       double med_after, long long maxreg);

/* One row over sets of runs: threads of one name, one kind x class x site. */
struct set_row {
	char comm[MMLOCK_COMM_LEN];
	__u8 kind, cls, site;
	struct rec_hist *run[2];	/* per run of each side; all zero where the run lacks it */
	struct rec_hist merged[2];	/* every run of a side, merged bucket by bucket */
};

struct set_diff {
	struct set_row *rows;
	size_t n, cap;
	size_t nruns[2];	/* before, after */
	/* A part some run of that side could not measure (its probe did not attach): not compared. */
	bool unmeasured[2][NR_REC_PARTS];
};

/* 0, or -EINVAL if a side has no run. */
int set_diff_init(struct set_diff *d, size_t nbefore, size_t nafter);
/*
 * A recording as run `run` of side 0 (before) or 1 (after), threads named
 * comm only if comm. 0, -ENOMEM, or -EOVERFLOW (a merged count would wrap).
 */
int set_diff_add(struct set_diff *d, const struct recording *rec, int side, size_t run,
		 const char *comm);
void set_diff_free(struct set_diff *d);
/* The row's per-run values of one metric on one side, into v[nruns[side]]. */
void set_row_values(const struct set_diff *d, const struct set_row *r, int side,
		    enum set_metric m, double *v);
/*
 * Per-run mean time per ioctl of a breakdown part; runs without the ioctl are
 * left out, and the whole side where a run did not measure the part. Returns how many.
 */
size_t set_row_part_values(const struct set_diff *d, const struct set_row *r, int side,
			   unsigned int part, double *v);
/* Runs of a side in which the row has at least one sample. */
size_t set_row_present(const struct set_diff *d, const struct set_row *r, int side);

#endif
