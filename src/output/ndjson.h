/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * `mmlock export --ndjson DIR`: recordings as flat tables, one JSON object a
 * line, for engines that aggregate a fleet (DuckDB, ClickHouse, BigQuery).
 * Columns: docs/fleet.md and docs/schema/.
 */
#ifndef MMLOCK_NDJSON_H
#define MMLOCK_NDJSON_H

#include <stddef.h>
#include "model/recording.h"

struct ndjson_export;

/*
 * Temp files for every table in dir (which must exist); nothing is visible
 * under the final names before ndjson_commit(). NULL with err on failure.
 */
struct ndjson_export *ndjson_open(const char *dir, char *err, size_t errlen);
/* The rows of one recording, under id (export_id()). 0 or -errno with err. */
int ndjson_add(struct ndjson_export *x, const struct recording *rec, const char *id,
	       char *err, size_t errlen);
/* Flush every table, then rename them into place; frees x. 0 or -errno with err. */
int ndjson_commit(struct ndjson_export *x, char *err, size_t errlen);
/* Remove the temp files; frees x (NULL is fine). */
void ndjson_abort(struct ndjson_export *x);
/*
 * The recording's id, or for a recording older than ids one derived from
 * what it recorded ("legacy-" and 16 hex digits): the same file gets the same id.
 */
const char *export_id(const struct recording *rec, char *buf, size_t len);

extern const char *const ndjson_tables[];	/* "recordings", ... NULL-terminated */

#endif
