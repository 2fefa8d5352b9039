/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* `diff` over sets of recordings: the verdict table and its JSON (docs/verify.md). */
#ifndef MMLOCK_DIFF_SET_H
#define MMLOCK_DIFF_SET_H

#include <stdbool.h>
#include <stdio.h>
#include "model/verify.h"

/* What the header says about one side. */
struct diff_side {
	char **files;
	size_t nfiles;
	char **kernels;		/* distinct uname -r of its runs */
	size_t nkernels;
};

struct diff_set_opts {
	double alpha;
	long long maxreg;	/* --max-regression PCT, < 0: not asked */
	bool json;
	const char *comm;	/* -c, for the JSON; NULL: all threads */
};

/*
 * Judge every row and print the table (or the JSON) to f. Returns the
 * number of regressions (judged_regression()), or -ENOMEM / -EIO (a failed
 * write) before or after printing.
 */
int diff_set_print(FILE *f, const struct set_diff *d, const struct diff_side side[2],
		   const struct diff_set_opts *o);

#endif
