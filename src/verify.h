/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Verifying a change: `mmlock check` (a stall threshold) and `mmlock diff` (before/after). */
#ifndef MMLOCK_VERIFY_H
#define MMLOCK_VERIFY_H

#include <stdio.h>

/* EXIT_OK, EXIT_CHECK_FAILED if a thread's worst wait >= threshold_ns, EXIT_USAGE on bad input. */
int check_file(const char *path, long long threshold_ns, FILE *out);
int cmd_check(int argc, char **argv);
int cmd_diff(int argc, char **argv);

#endif
