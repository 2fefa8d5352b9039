/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Verifying a change: `mmlock check` (a stall threshold) and `mmlock diff` (before/after). */
#ifndef MMLOCK_VERIFY_H
#define MMLOCK_VERIFY_H

#include <stdio.h>
#include "recording.h"

/*
 * `record --check`: the recording just made (lock waits and D-state only).
 * EXIT_OK, or EXIT_CHECK_FAILED if a thread's worst wait >= threshold_ns.
 */
int check_recording(const struct recording *rec, long long threshold_ns, FILE *out);
int cmd_check(int argc, char **argv);
int cmd_diff(int argc, char **argv);

#endif
