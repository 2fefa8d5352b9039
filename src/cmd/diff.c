// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* `mmlock diff`: compare two recordings per thread name, class and site. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include "cmd/cmd.h"
#include "lib/util.h"
#include "model/verify.h"
#include "output/recording_json.h"

static const char usage_diff[] =
"Usage: mmlock diff [OPTIONS] BEFORE.json AFTER.json\n"
"Compare two recordings per thread name, class and site (threads are matched\n"
"by name: tids differ between runs). Under each uffd ioctl row: where one\n"
"ioctl's time went on average, part by part (on CPU, lock spin, lock sleep per\n"
"class, runnable, preempted, ...), and whether each part grew, shrank, vanished\n"
"or is new (more than 10% either way).\n"
"  -c, --comm NAME        only threads named NAME\n"
"      --max-regression PCT  exit 1 if a worst wait grew by more than PCT%\n"
"Example: mmlock diff before.json after.json\n";

static const char *pct(__u64 before, __u64 after, char *buf, size_t len)
{
	if (!before)
		snprintf(buf, len, after ? "new" : "-");
	else
		snprintf(buf, len, "%+.0f%%", 100.0 * ((double)after - before) / before);
	return buf;
}

/*
 * Under an ioctl row: where one ioctl's time went on average, part by part,
 * before and after (a recording's length and ioctl count differ between
 * runs: means and shares compare, totals do not).
 */
static void print_parts(const struct rec_hist *b, const struct rec_hist *a)
{
	bool head = false;

	for (unsigned int p = 0; p < NR_REC_PARTS; p++) {
		double mb = b->count ? (double)b->parts[p] / b->count : 0;
		double ma = a->count ? (double)a->parts[p] / a->count : 0;
		char s1[16], s2[16];

		if (!mb && !ma && p != PART_UNEXPLAINED)
			continue;
		if (!head) {
			printf("%-16s %-7s %-27s %10s %6s %10s %6s  %s\n", "", "", "per ioctl: PART",
			       "BEFORE", "SHARE", "AFTER", "SHARE", "CHANGE");
			head = true;
		}
		snprintf(s1, sizeof(s1), "%.1f%%", b->total_ns ? 100.0 * b->parts[p] / b->total_ns : 0);
		snprintf(s2, sizeof(s2), "%.1f%%", a->total_ns ? 100.0 * a->parts[p] / a->total_ns : 0);
		printf("%-16s %-7s %-27s %10s %6s %10s %6s  %s\n", "", "", part_label(p),
		       b->count ? NS((__u64)mb) : "-", b->count ? s1 : "-",
		       a->count ? NS((__u64)ma) : "-", a->count ? s2 : "-", diff_change(mb, ma));
	}
}

/* The table; returns how many rows regressed by more than maxreg% (< 0: not asked). */
static int print_rows(const struct diff_rows *d, long long maxreg)
{
	int regressions = 0;

	printf("%-16s %-7s %-16s %-10s %9s %9s %10s %10s %6s %10s %10s %6s\n", "THREAD", "KIND",
	       "CLASS", "SITE", "N BEFORE", "N AFTER", "MAX BEFORE", "MAX AFTER", "", "P99 BEFORE",
	       "P99 AFTER", "");
	for (size_t i = 0; i < d->n; i++) {
		const struct rec_hist *b = &d->rows[i].side[0], *a = &d->rows[i].side[1];
		char p1[16], p2[16];

		printf("%-16s %-7s %-16s %-10s %9llu %9llu %10s %10s %6s %10s %10s %6s\n",
		       d->rows[i].comm, kind_name(b->kind),
		       b->kind == KIND_IOCTL ? uffd_cmd_name(b->cls) : class_label(b->cls),
		       site_name(b->site), (unsigned long long)b->count, (unsigned long long)a->count,
		       NS(b->max_ns), NS(a->max_ns), pct(b->max_ns, a->max_ns, p1, sizeof(p1)),
		       NS(hist_percentile(b, 99)), NS(hist_percentile(a, 99)),
		       pct(hist_percentile(b, 99), hist_percentile(a, 99), p2, sizeof(p2)));
		if (b->kind == KIND_TRYLOCK)
			printf("%-16s %-7s %-16s %-10s   failed %llu of %llu -> %llu of %llu\n", "", "", "", "",
			       (unsigned long long)b->aux_ns, (unsigned long long)b->count,
			       (unsigned long long)a->aux_ns, (unsigned long long)a->count);
		if (b->kind == KIND_IOCTL)
			print_parts(b, a);
		/* A wait that is new in AFTER is a regression too. */
		if (maxreg >= 0 && (b->kind == KIND_LOCK || b->kind == KIND_DSTATE) && a->max_ns &&
		    a->max_ns > b->max_ns * (100 + maxreg) / 100)
			regressions++;
	}
	return regressions;
}

int cmd_diff(int argc, char **argv)
{
	enum { O_MAXREG = 256 };
	static const struct option opts[] = {
		{ "comm", required_argument, NULL, 'c' },
		{ "max-regression", required_argument, NULL, O_MAXREG },
		{ "help", no_argument, NULL, 'h' },
		{}
	};
	struct recording rec[2] = {};
	struct diff_rows d = {};
	const char *comm = NULL;
	long long maxreg = -1;
	int c, ret = EXIT_OK, regressions;
	char err[512];

	while ((c = getopt_long(argc, argv, "c:h", opts, NULL)) != -1) {
		switch (c) {
		case 'c':
			comm = optarg;
			break;
		case O_MAXREG:
			if ((maxreg = parse_uint(optarg, 0, 1000000)) < 0) {
				errmsg("bad --max-regression '%s' (a percentage)", optarg);
				return EXIT_USAGE;
			}
			break;
		case 'h':
			fputs(usage_diff, stdout);
			return EXIT_OK;
		default:
			return EXIT_USAGE;
		}
	}
	if (optind != argc - 2) {
		errmsg("diff takes two recording files (see --help)");
		return EXIT_USAGE;
	}
	for (int s = 0; s < 2; s++) {
		if (recording_read_json(&rec[s], argv[optind + s], err, sizeof(err))) {
			errmsg("%s", err);
			recording_free(&rec[0]);
			free(d.rows);
			return EXIT_USAGE;
		}
		diff_add(&d, &rec[s], s, comm);
	}
	printf("before: %s (Linux %s)\nafter:  %s (Linux %s)\n\n", argv[optind], rec[0].kernel,
	       argv[optind + 1], rec[1].kernel);
	regressions = print_rows(&d, maxreg);
	if (maxreg >= 0) {
		printf("\n%d row(s) with a worst wait more than %lld%% above before\n", regressions, maxreg);
		if (regressions)
			ret = EXIT_CHECK_FAILED;
	}
	free(d.rows);
	recording_free(&rec[0]);
	recording_free(&rec[1]);
	return ret;
}
