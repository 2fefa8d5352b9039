/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* A recording saved as JSON (`record --json`) and read back (report, perfetto, check, diff). */
#ifndef MMLOCK_RECORDING_JSON_H
#define MMLOCK_RECORDING_JSON_H

#include <stddef.h>
#include "lib/json.h"
#include "model/recording.h"

/* Both return 0 or -errno with a message in err. */
int recording_write_json(const struct recording *rec, const char *path, char *err, size_t errlen);
int recording_read_json(struct recording *rec, const char *path, char *err, size_t errlen);
/* The same from memory (the fuzz target); name stands for the file in messages. */
int recording_parse_json(struct recording *rec, const char *text, size_t len, const char *name,
			 char *err, size_t errlen);

/*
 * A histogram's count, total, max and p50/p90/p99, under the recording's key
 * names: every writer of a histogram (the recording, the fleet tables) names
 * them alike, so one reader's queries work on all.
 */
void jw_hist_summary(struct json_writer *w, const struct rec_hist *h);

#endif
