// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* `mmlock export`: recordings as flat tables for fleet engines (docs/fleet.md). */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include "cmd/cmd.h"
#include "lib/util.h"
#include "output/ndjson.h"
#include "output/recording_json.h"

static const char usage_export[] =
"Usage: mmlock export --ndjson DIR RECORDING.json...\n"
"Write recordings as flat tables, one JSON object a line, for DuckDB,\n"
"ClickHouse or BigQuery (columns: docs/fleet.md, schemas: docs/schema/):\n"
"  DIR/recordings.ndjson  one row per recording (id, device, labels, kernel, ...)\n"
"  DIR/hists.ndjson       one row per histogram (thread x kind x class x site)\n"
"  DIR/buckets.ndjson     one row per non-empty histogram bucket (lo_ns, hi_ns, count)\n"
"  DIR/events.ndjson      one row per kept single wait/ioctl (addresses as hex strings)\n"
"DIR is created if missing; the tables replace any there, all at once and only\n"
"if every recording was read: a bad one writes nothing (exit 2).\n"
"      --ndjson DIR       the output directory (required)\n"
"Example: mmlock export --ndjson fleet/ recordings/*.json\n";

/* A signal while the tables are written: no temp file stays behind. */
static void on_signal(int sig)
{
	atomic_unlink_all();
	_exit(128 + sig);
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The same recording twice would count twice in every aggregate. */
static int check_unique(char **ids, char **files, size_t n)
{
	char **sorted = malloc(n * sizeof(*sorted));
	int ret = EXIT_OK;

	if (!sorted) {
		errmsg("out of memory");
		return EXIT_USAGE;
	}
	memcpy(sorted, ids, n * sizeof(*sorted));
	sort_array(sorted, n, sizeof(*sorted), cmp_str);
	for (size_t i = 1; i < n && ret == EXIT_OK; i++) {
		if (strcmp(sorted[i - 1], sorted[i]))
			continue;
		for (size_t a = 0; a < n; a++)
			for (size_t b = a + 1; b < n && ret == EXIT_OK; b++)
				if (!strcmp(ids[a], sorted[i]) && !strcmp(ids[b], sorted[i])) {
					errmsg("%s and %s are the same recording (id %s)",
					       files[a], files[b], ids[a]);
					ret = EXIT_USAGE;
				}
	}
	free(sorted);
	return ret;
}

static int export_all(const char *dir, char **files, size_t n)
{
	struct sigaction sa = { .sa_handler = on_signal };
	struct ndjson_export *x;
	char err[512], id[64], **ids;
	struct recording rec;
	int ret = EXIT_OK;
	size_t i;

	ids = calloc(n, sizeof(*ids));
	if (!ids) {
		errmsg("out of memory");
		return EXIT_USAGE;
	}
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	x = ndjson_open(dir, err, sizeof(err));
	if (!x) {
		errmsg("%s", err);
		free(ids);
		return EXIT_USAGE;
	}
	for (i = 0; i < n && ret == EXIT_OK; i++) {
		if (recording_read_json(&rec, files[i], err, sizeof(err))) {
			errmsg("%s", err);
			ret = EXIT_USAGE;
			break;
		}
		ids[i] = strdup(export_id(&rec, id, sizeof(id)));
		if (!ids[i] || ndjson_add(x, &rec, ids[i], err, sizeof(err))) {
			errmsg("%s", ids[i] ? err : "out of memory");
			ret = EXIT_USAGE;
		}
		recording_free(&rec);
	}
	if (ret == EXIT_OK)
		ret = check_unique(ids, files, n);
	if (ret == EXIT_OK && ndjson_commit(x, err, sizeof(err))) {
		errmsg("%s", err);
		ret = EXIT_USAGE;
	} else if (ret != EXIT_OK) {
		ndjson_abort(x);
	}
	for (i = 0; i < n; i++)
		free(ids[i]);
	free(ids);
	return ret;
}

int cmd_export(int argc, char **argv)
{
	enum { O_NDJSON = 256 };
	static const struct option opts[] = {
		{ "ndjson", required_argument, NULL, O_NDJSON },
		{ "help", no_argument, NULL, 'h' },
		{}
	};
	const char *dir = NULL;
	struct stat st;
	int c;

	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case O_NDJSON:
			dir = optarg;
			break;
		case 'h':
			fputs(usage_export, stdout);
			return EXIT_OK;
		default:
			return EXIT_USAGE;
		}
	}
	if (!dir)
		return bad_usage("%s", "export needs --ndjson DIR");
	if (optind >= argc)
		return bad_usage("%s", "export takes one or more recording files");
	if (mkdir(dir, 0755) && errno != EEXIST) {
		errmsg("cannot create %s: %s", dir, strerror(errno));
		return EXIT_USAGE;
	}
	if (stat(dir, &st) || !S_ISDIR(st.st_mode)) {
		errmsg("%s is not a directory", dir);
		return EXIT_USAGE;
	}
	return export_all(dir, &argv[optind], argc - optind);
}
