// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * `mmlock diff`: compare two recordings per thread name, class and site, or
 * two sets of recordings with per-run statistics and verdicts.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "cmd/cmd.h"
#include "lib/util.h"
#include "model/verify.h"
#include "output/diff_set.h"
#include "output/recording_json.h"

static const char usage_diff[] =
"Usage: mmlock diff [OPTIONS] BEFORE.json AFTER.json\n"
"       mmlock diff [OPTIONS] BEFORE... -- AFTER...\n"
"       mmlock diff [OPTIONS] --before PATH... --after PATH...\n"
"Compare two recordings per thread name, class and site (threads are matched\n"
"by name: tids differ between runs). Under each uffd ioctl row: where one\n"
"ioctl's time went on average, part by part (on CPU, lock spin, lock sleep per\n"
"class, runnable, preempted, ...), and whether each part grew, shrank, vanished\n"
"or is new (more than 10% either way).\n"
"\n"
"Sets of recordings (several runs a side; a PATH may be a directory: its\n"
"*.json files): each side's histograms are merged bucket by bucket, and each\n"
"row gets its per-run count, max and p99 with their median and range, a\n"
"Mann-Whitney U test on the per-run values and a verdict: gone, new, better,\n"
"worse or no change (docs/verify.md). Two files with --json, or a directory,\n"
"are a set of one run a side (never significant).\n"
"  -c, --comm NAME        only threads named NAME\n"
"      --max-regression PCT  exit 1 if a worst wait grew by more than PCT%\n"
"                         (sets: a lock or D-state row significantly worse or\n"
"                         new, its median worst wait more than PCT% higher)\n"
"      --before PATH      a recording or directory of the before set (repeatable)\n"
"      --after PATH       the same for the after set\n"
"      --alpha P          significance level of the sets' test (default 0.05)\n"
"      --json             the sets' verdicts as JSON on stdout\n"
"Examples: mmlock diff before.json after.json\n"
"          mmlock diff move/ -- copy/\n"
"          mmlock diff --json --before 6.17/ --after 7.2/ > verdict.json\n";

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
static void print_parts(const struct rec_hist *b, const struct rec_hist *a,
			const struct recording *rb, const struct recording *ra)
{
	bool head = false;

	for (unsigned int p = 0; p < NR_REC_PARTS; p++) {
		double mb = b->count ? (double)b->parts[p] / b->count : 0;
		double ma = a->count ? (double)a->parts[p] / a->count : 0;
		bool nb = !part_measured(rb, p, NULL), na = !part_measured(ra, p, NULL);
		char s1[16], s2[16];

		if (!mb && !ma && p != PART_UNEXPLAINED)
			continue;
		/* Measured on one side only: its time is in on CPU on the other, no change to judge. */
		if (nb || na) {
			printf("%-16s %-7s %-27s %10s %6s %10s %6s  %s\n", "", "", part_label(p),
			       nb ? "-" : NS((__u64)mb), "", na ? "-" : NS((__u64)ma), "",
			       nb ? "not measured before" : "not measured after");
			continue;
		}
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
static int print_rows(const struct diff_rows *d, long long maxreg, const struct recording *rec)
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
			print_parts(b, a, &rec[0], &rec[1]);
		/* A wait that is new in AFTER is a regression too. */
		if (maxreg >= 0 && (b->kind == KIND_LOCK || b->kind == KIND_DSTATE) && a->max_ns &&
		    a->max_ns > b->max_ns * (100 + maxreg) / 100)
			regressions++;
	}
	return regressions;
}

/* Today's two-file table: one run a side, no statistics. */
static int diff_two(const char *before, const char *after, const char *comm, long long maxreg)
{
	struct recording rec[2] = {};
	struct diff_rows d = {};
	const char *path[2] = { before, after };
	int ret = EXIT_OK, regressions;
	char err[512];

	for (int s = 0; s < 2; s++) {
		if (recording_read_json(&rec[s], path[s], err, sizeof(err))) {
			errmsg("%s", err);
			recording_free(&rec[0]);
			free(d.rows);
			return EXIT_USAGE;
		}
		diff_add(&d, &rec[s], s, comm);
	}
	printf("before: %s (Linux %s)\nafter:  %s (Linux %s)\n\n", before, rec[0].kernel,
	       after, rec[1].kernel);
	regressions = print_rows(&d, maxreg, rec);
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

static void free_side(struct diff_side *s)
{
	for (size_t i = 0; i < s->nkernels; i++)
		free(s->kernels[i]);
	free(s->kernels);
}

/* Remember a run's kernel once per side (the header lists them). */
static int add_kernel(struct diff_side *s, const char *kernel)
{
	char *k;

	for (size_t i = 0; i < s->nkernels; i++)
		if (!strcmp(s->kernels[i], kernel))
			return 0;
	k = strdup(kernel);
	if (!k)
		return -ENOMEM;
	/* At most one per run: room for all of them was made by the caller. */
	s->kernels[s->nkernels++] = k;
	return 0;
}

/*
 * Read both sets, every run into d. The first file that is not a recording
 * (or does not fit: another bucket layout, counts that overflow) stops it
 * with one line; nothing has been printed by then.
 */
static int diff_sets(struct path_list files[2], const char *comm, long long maxreg, double alpha,
		     bool json)
{
	struct diff_side side[2] = {};
	struct diff_set_opts o = { .alpha = alpha, .maxreg = maxreg, .json = json, .comm = comm };
	struct set_diff d;
	int ret = EXIT_USAGE, r;
	char err[512];

	if (set_diff_init(&d, files[0].n, files[1].n))
		return EXIT_USAGE;
	/* A run counted twice would make a difference look more certain than it is. */
	for (int s = 0; s < 2; s++)
		for (size_t i = 0; i < files[s].n; i++)
			for (int t = s; t < 2; t++)
				for (size_t k = t == s ? i + 1 : 0; k < files[t].n; k++)
					if (same_file(files[s].paths[i], files[t].paths[k])) {
						errmsg("%s and %s are the same recording: each run may "
						       "count once", files[s].paths[i], files[t].paths[k]);
						return EXIT_USAGE;
					}
	for (int s = 0; s < 2; s++) {
		side[s].files = files[s].paths;
		side[s].nfiles = files[s].n;
		side[s].kernels = calloc(files[s].n, sizeof(*side[s].kernels));
		if (!side[s].kernels) {
			errmsg("out of memory");
			goto out;
		}
	}
	for (int s = 0; s < 2; s++) {
		for (size_t i = 0; i < files[s].n; i++) {
			struct recording rec;

			if (recording_read_json(&rec, files[s].paths[i], err, sizeof(err))) {
				errmsg("%s", err);
				goto out;
			}
			r = set_diff_add(&d, &rec, s, i, comm);
			if (!r)
				r = add_kernel(&side[s], rec.kernel);
			recording_free(&rec);
			if (r) {
				errmsg("%s: %s", files[s].paths[i], r == -EOVERFLOW ?
				       "a merged histogram count would overflow" : strerror(-r));
				goto out;
			}
		}
	}
	r = diff_set_print(stdout, &d, side, &o);
	if (r < 0) {
		errmsg("diff: %s", strerror(-r));
		goto out;
	}
	ret = maxreg >= 0 && r > 0 ? EXIT_CHECK_FAILED : EXIT_OK;
out:
	set_diff_free(&d);
	free_side(&side[0]);
	free_side(&side[1]);
	return ret;
}

int cmd_diff(int argc, char **argv)
{
	enum { O_MAXREG = 256, O_BEFORE, O_AFTER, O_ALPHA, O_JSON };
	static const struct option opts[] = {
		{ "comm", required_argument, NULL, 'c' },
		{ "max-regression", required_argument, NULL, O_MAXREG },
		{ "before", required_argument, NULL, O_BEFORE },
		{ "after", required_argument, NULL, O_AFTER },
		{ "alpha", required_argument, NULL, O_ALPHA },
		{ "json", no_argument, NULL, O_JSON },
		{ "help", no_argument, NULL, 'h' },
		{}
	};
	struct path_list files[2] = {};
	const char *comm = NULL;
	char **given[2], err[512];
	size_t ngiven[2] = { 0, 0 };
	long long maxreg = -1;
	double alpha = DIFF_ALPHA;
	bool json = false;
	int c, ret = EXIT_USAGE, sep, nopt;

	/*
	 * "--" splits the sets: getopt would swallow it (and move the operands
	 * around it together), so options are parsed only in front of it.
	 */
	for (sep = 1; sep < argc && strcmp(argv[sep], "--"); sep++)
		;
	nopt = sep;
	given[0] = calloc(argc, sizeof(char *));
	given[1] = calloc(argc, sizeof(char *));
	if (!given[0] || !given[1]) {
		errmsg("out of memory");
		goto out;
	}
	while ((c = getopt_long(nopt, argv, "c:h", opts, NULL)) != -1) {
		char *end;

		switch (c) {
		case 'c':
			comm = optarg;
			break;
		case O_MAXREG:
			if ((maxreg = parse_uint(optarg, 0, 1000000)) < 0) {
				errmsg("bad --max-regression '%s' (a percentage)", optarg);
				goto out;
			}
			break;
		case O_BEFORE:
		case O_AFTER:
			given[c == O_AFTER][ngiven[c == O_AFTER]++] = optarg;
			break;
		case O_ALPHA:
			alpha = strtod(optarg, &end);
			if (end == optarg || *end || !(alpha > 0 && alpha < 1)) {
				errmsg("bad --alpha '%s' (a probability between 0 and 1)", optarg);
				goto out;
			}
			break;
		case O_JSON:
			json = true;
			break;
		case 'h':
			fputs(usage_diff, stdout);
			ret = EXIT_OK;
			goto out;
		default:
			goto out;
		}
	}
	if (sep < argc || ngiven[0] || ngiven[1]) {
		if (sep < argc && (ngiven[0] || ngiven[1])) {
			errmsg("give the sets as BEFORE... -- AFTER... or with --before/--after, not both");
			goto out;
		}
		if (sep < argc) {
			for (int i = optind; i < nopt; i++)
				given[0][ngiven[0]++] = argv[i];
			for (int i = sep + 1; i < argc; i++)
				given[1][ngiven[1]++] = argv[i];
		} else if (optind < argc) {
			errmsg("'%s': with --before/--after, name every recording with them", argv[optind]);
			goto out;
		}
		if (!ngiven[0] || !ngiven[1]) {
			errmsg("diff needs at least one recording on each side (see --help)");
			goto out;
		}
	} else {
		if (optind != argc - 2) {
			errmsg("diff takes two recording files, or sets: BEFORE... -- AFTER... (see --help)");
			goto out;
		}
		if (!json && !is_dir(argv[optind]) && !is_dir(argv[optind + 1])) {
			ret = diff_two(argv[optind], argv[optind + 1], comm, maxreg);
			goto out;
		}
		given[0][ngiven[0]++] = argv[optind];
		given[1][ngiven[1]++] = argv[optind + 1];
	}
	for (int s = 0; s < 2; s++)
		for (size_t i = 0; i < ngiven[s]; i++)
			if (path_list_add(&files[s], given[s][i], ".json", err, sizeof(err))) {
				errmsg("%s", err);
				goto out;
			}
	ret = diff_sets(files, comm, maxreg, alpha, json);
out:
	path_list_free(&files[0]);
	path_list_free(&files[1]);
	free(given[0]);
	free(given[1]);
	return ret;
}
