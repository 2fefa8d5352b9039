/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Judging recordings: a stall threshold (check) and before/after rows (diff). */
#ifndef MMLOCK_VERIFY_H
#define MMLOCK_VERIFY_H

#include <stdbool.h>
#include <stdio.h>
#include "model/recording.h"

struct check_opts {
	long long threshold_ns;
	const char *comm;	/* only threads of this name, NULL: all */
	bool ioctl;		/* uffd ioctl latency counts as a stall too */
};

/*
 * Print a STALL line per thread x hist whose worst wait >= the threshold
 * (lock waits and D-state, ioctls too if asked), then the verdict.
 * EXIT_OK, or EXIT_CHECK_FAILED if any.
 */
int check_stalls(const struct recording *rec, const struct check_opts *co, FILE *out);
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

#endif
