/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* The readable terminal report of a recording. */
#ifndef MMLOCK_REPORT_H
#define MMLOCK_REPORT_H

#include <stdbool.h>
#include <stdio.h>
#include "model/recording.h"

struct report_opts {
	bool stacks;		/* all top stacks, not only the worst D-state one */
	bool all_hists;		/* a histogram for every class x site */
	size_t max_threads;	/* 0: all */
	size_t chains;		/* worst stalls shown with their chains; 0: the default */
};

#define REPORT_CHAINS_DEFAULT	5

void report_print(FILE *f, const struct recording *rec, const struct report_opts *ro);
/* The worst `worst` stalls with their blocker chains (report_chains.c). */
void report_chains(FILE *f, const struct recording *rec, size_t worst);
/* One compact block for `record -i`: the worst threads so far. */
void report_live(FILE *f, const struct recording *rec);
/* Print one histogram as log2 rows with bars. */
void report_hist(FILE *f, const struct rec_hist *h, const char *indent);

#endif
