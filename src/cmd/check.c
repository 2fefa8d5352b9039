// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * `mmlock check`: fail (exit 1) if a saved recording has a stall >= a
 * threshold; over a set of recordings, if more runs than allowed have one.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include "cmd/cmd.h"
#include "lib/util.h"
#include "model/stats.h"
#include "model/verify.h"
#include "output/recording_json.h"

static const char usage_check[] =
"Usage: mmlock check [OPTIONS] RECORDING.json\n"
"       mmlock check [OPTIONS] RECORDING.json|DIR...\n"
"Exit 1 if any thread's worst lock wait or D-state period is >= the threshold.\n"
"Several recordings (or a directory: its *.json files) are runs of one load:\n"
"the threshold applies to each run; it prints each run's stalls, the worst\n"
"stall per run (median and range) and how many runs failed, and exits 1 if\n"
"more than --max-failed-runs did.\n"
"  -T, --threshold TIME   default 30ms\n"
"  -c, --comm NAME        only threads named NAME\n"
"      --ioctl            count uffd ioctl latency as a stall too\n"
"      --max-failed-runs N  runs of a set allowed to fail (default 0)\n"
"Examples: mmlock check --threshold 16ms -c ui after.json\n"
"          mmlock check -T 16ms -c ui --max-failed-runs 1 runs/\n";

/* Each run of a set checked on its own; 1 if more than max_failed runs failed. */
static int check_set(const struct path_list *files, struct check_opts *co, long long max_failed)
{
	double *worst = calloc(files->n, sizeof(*worst));
	char **lines = calloc(files->n, sizeof(*lines));
	int *stalls = calloc(files->n, sizeof(*stalls));
	size_t failed = 0, done = 0;
	int ret = EXIT_USAGE;
	char err[512];

	if (!worst || !lines || !stalls) {
		errmsg("out of memory");
		goto out;
	}
	/*
	 * A run's STALL lines are kept as text, its recording freed at once
	 * (memory stays that of one recording), and printed only once every
	 * file has been read: a bad one is one line and nothing else.
	 */
	co->indent = "    ";
	for (; done < files->n; done++) {
		struct recording rec;
		size_t len;
		FILE *f;
		__u64 w;

		if (recording_read_json(&rec, files->paths[done], err, sizeof(err))) {
			errmsg("%s", err);
			goto out;
		}
		f = open_memstream(&lines[done], &len);
		if (!f) {
			recording_free(&rec);
			errmsg("out of memory");
			goto out;
		}
		stalls[done] = check_count(&rec, co, f, &w);
		worst[done] = w;
		recording_free(&rec);
		if (fclose(f)) {
			errmsg("out of memory");
			done++;
			goto out;
		}
	}
	for (size_t i = 0; i < files->n; i++) {
		printf("run %zu of %zu: %s\n%s", i + 1, files->n, files->paths[i], lines[i]);
		printf("    %s: %d stall(s) >= %s, worst %s\n", stalls[i] ? "failed" : "passed",
		       stalls[i], NS(co->threshold_ns), NS((__u64)worst[i]));
		failed += stalls[i] > 0;
	}
	printf("worst per run: median %s [%s - %s] over %zu runs\n",
	       NS((__u64)stat_median(worst, files->n)), NS((__u64)stat_min(worst, files->n)),
	       NS((__u64)stat_max(worst, files->n)), files->n);
	ret = failed > (size_t)max_failed ? EXIT_CHECK_FAILED : EXIT_OK;
	printf("check %s: %zu of %zu runs had a stall >= %s (%lld allowed)\n",
	       ret ? "failed" : "passed", failed, files->n, NS(co->threshold_ns), max_failed);
out:
	for (size_t i = 0; lines && i < done; i++)
		free(lines[i]);
	free(lines);
	free(stalls);
	free(worst);
	return ret;
}

int cmd_check(int argc, char **argv)
{
	enum { O_IOCTL = 256, O_MAXFAILED };
	static const struct option opts[] = {
		{ "threshold", required_argument, NULL, 'T' },
		{ "comm", required_argument, NULL, 'c' },
		{ "ioctl", no_argument, NULL, O_IOCTL },
		{ "max-failed-runs", required_argument, NULL, O_MAXFAILED },
		{ "help", no_argument, NULL, 'h' },
		{}
	};
	struct check_opts co = { .threshold_ns = 30000000 };
	struct path_list files = {};
	long long max_failed = 0;
	struct recording rec;
	char err[512];
	int c, ret;

	while ((c = getopt_long(argc, argv, "T:c:h", opts, NULL)) != -1) {
		switch (c) {
		case 'T':
			co.threshold_ns = parse_duration_ns(optarg, "ms");
			if (co.threshold_ns <= 0) {
				errmsg("bad threshold '%s' (see --help)", optarg);
				return EXIT_USAGE;
			}
			break;
		case 'c':
			co.comm = optarg;
			break;
		case O_IOCTL:
			co.ioctl = true;
			break;
		case O_MAXFAILED:
			if ((max_failed = parse_uint(optarg, 0, 1000000)) < 0) {
				errmsg("bad --max-failed-runs '%s' (a number of runs)", optarg);
				return EXIT_USAGE;
			}
			break;
		case 'h':
			fputs(usage_check, stdout);
			return EXIT_OK;
		default:
			return EXIT_USAGE;
		}
	}
	if (optind >= argc) {
		errmsg("check takes a recording file, or several, or a directory (see --help)");
		return EXIT_USAGE;
	}
	if (optind < argc - 1 || is_dir(argv[optind])) {
		for (int i = optind; i < argc; i++)
			if (path_list_add(&files, argv[i], ".json", err, sizeof(err))) {
				errmsg("%s", err);
				path_list_free(&files);
				return EXIT_USAGE;
			}
		ret = check_set(&files, &co, max_failed);
		path_list_free(&files);
		return ret;
	}
	if (recording_read_json(&rec, argv[optind], err, sizeof(err))) {
		errmsg("%s", err);
		return EXIT_USAGE;
	}
	ret = check_stalls(&rec, &co, stdout);
	recording_free(&rec);
	return ret;
}

