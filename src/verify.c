// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include "recording.h"
#include "util.h"
#include "verify.h"


static const char usage_check[] =
"Usage: mmlock check [OPTIONS] RECORDING.json\n"
"Exit 1 if any thread's worst lock wait or D-state period is >= the threshold.\n"
"  -T, --threshold TIME   default 30ms\n"
"  -c, --comm NAME        only threads named NAME\n"
"      --ioctl            count uffd ioctl latency as a stall too\n"
"Example: mmlock check --threshold 16ms -c ui after.json\n";

static const char usage_diff[] =
"Usage: mmlock diff [OPTIONS] BEFORE.json AFTER.json\n"
"Compare two recordings per thread name, class and site (threads are matched\n"
"by name: tids differ between runs).\n"
"  -c, --comm NAME        only threads named NAME\n"
"      --max-regression PCT  exit 1 if a worst wait grew by more than PCT%\n"
"Example: mmlock diff before.json after.json\n";

struct check_opts {
	long long threshold_ns;
	const char *comm;
	bool ioctl;
};

static int check_rec(const struct recording *rec, const struct check_opts *co, FILE *out)
{
	int failed = 0;

	for (size_t i = 0; i < rec->nthreads; i++) {
		const struct rec_thread *t = &rec->threads[i];

		if (co->comm && strcmp(t->comm, co->comm))
			continue;
		for (size_t j = 0; j < t->nhists; j++) {
			const struct rec_hist *h = &t->hists[j];

			if (h->kind != KIND_LOCK && h->kind != KIND_DSTATE &&
			    !(h->kind == KIND_IOCTL && co->ioctl))
				continue;
			if (h->max_ns < (__u64)co->threshold_ns)
				continue;
			fprintf(out, "STALL %s (tid %u): %s %s · %s, worst %s >= %s\n", t->comm, t->tid,
				kind_name(h->kind),
				h->kind == KIND_IOCTL ? uffd_cmd_name(h->cls) : class_label(h->cls),
				site_name(h->site), NS(h->max_ns), NS(co->threshold_ns));
			failed++;
		}
	}
	if (failed)
		fprintf(out, "check failed: %d stall(s) >= %s\n", failed, NS(co->threshold_ns));
	else
		fprintf(out, "check passed: no stall >= %s\n", NS(co->threshold_ns));
	return failed ? EXIT_CHECK_FAILED : EXIT_OK;
}

int check_recording(const struct recording *rec, long long threshold_ns, FILE *out)
{
	struct check_opts co = { .threshold_ns = threshold_ns };

	return check_rec(rec, &co, out);
}

int cmd_check(int argc, char **argv)
{
	enum { O_IOCTL = 256 };
	static const struct option opts[] = {
		{ "threshold", required_argument, NULL, 'T' },
		{ "comm", required_argument, NULL, 'c' },
		{ "ioctl", no_argument, NULL, O_IOCTL },
		{ "help", no_argument, NULL, 'h' },
		{}
	};
	struct check_opts co = { .threshold_ns = 30000000 };
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
		case 'h':
			fputs(usage_check, stdout);
			return EXIT_OK;
		default:
			return EXIT_USAGE;
		}
	}
	if (optind != argc - 1) {
		errmsg("check takes one recording file (see --help)");
		return EXIT_USAGE;
	}
	if (recording_read_json(&rec, argv[optind], err, sizeof(err))) {
		errmsg("%s", err);
		return EXIT_USAGE;
	}
	ret = check_rec(&rec, &co, stdout);
	recording_free(&rec);
	return ret;
}

/* One row of a diff: all threads of one name, one kind x class x site. */
struct diff_row {
	char comm[MMLOCK_COMM_LEN];
	struct rec_hist side[2];
};

static struct diff_row *diff_row(struct diff_row **rows, size_t *n, const char *comm,
				 const struct rec_hist *h)
{
	struct diff_row *r;

	for (size_t i = 0; i < *n; i++) {
		r = &(*rows)[i];
		if (!strcmp(r->comm, comm) && r->side[0].kind == h->kind &&
		    r->side[0].cls == h->cls && r->side[0].site == h->site)
			return r;
	}
	r = realloc(*rows, (*n + 1) * sizeof(**rows));
	if (!r)
		return NULL;
	*rows = r;
	r = &(*rows)[(*n)++];
	memset(r, 0, sizeof(*r));
	snprintf(r->comm, sizeof(r->comm), "%s", comm);
	for (int s = 0; s < 2; s++) {
		r->side[s].kind = h->kind;
		r->side[s].cls = h->cls;
		r->side[s].site = h->site;
	}
	return r;
}

static const char *pct(__u64 before, __u64 after, char *buf, size_t len)
{
	if (!before)
		snprintf(buf, len, after ? "new" : "-");
	else
		snprintf(buf, len, "%+.0f%%", 100.0 * ((double)after - before) / before);
	return buf;
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
	struct diff_row *rows = NULL;
	const char *comm = NULL;
	long long maxreg = -1;
	size_t nrows = 0;
	int c, ret = EXIT_OK, regressions = 0;
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
			free(rows);
			return EXIT_USAGE;
		}
		for (size_t i = 0; i < rec[s].nthreads; i++) {
			const struct rec_thread *t = &rec[s].threads[i];

			if (comm && strcmp(t->comm, comm))
				continue;
			for (size_t j = 0; j < t->nhists; j++) {
				struct diff_row *r = diff_row(&rows, &nrows, t->comm, &t->hists[j]);

				if (r)
					hist_merge(&r->side[s], &t->hists[j]);
			}
		}
	}
	printf("before: %s (Linux %s)\nafter:  %s (Linux %s)\n\n", argv[optind], rec[0].kernel,
	       argv[optind + 1], rec[1].kernel);
	printf("%-16s %-7s %-16s %-10s %9s %9s %10s %10s %6s %10s %10s %6s\n", "THREAD", "KIND",
	       "CLASS", "SITE", "N BEFORE", "N AFTER", "MAX BEFORE", "MAX AFTER", "", "P99 BEFORE",
	       "P99 AFTER", "");
	for (size_t i = 0; i < nrows; i++) {
		struct rec_hist *b = &rows[i].side[0], *a = &rows[i].side[1];
		char p1[16], p2[16];

		printf("%-16s %-7s %-16s %-10s %9llu %9llu %10s %10s %6s %10s %10s %6s\n",
		       rows[i].comm, kind_name(b->kind),
		       b->kind == KIND_IOCTL ? uffd_cmd_name(b->cls) : class_label(b->cls),
		       site_name(b->site), (unsigned long long)b->count, (unsigned long long)a->count,
		       NS(b->max_ns), NS(a->max_ns), pct(b->max_ns, a->max_ns, p1, sizeof(p1)),
		       NS(hist_percentile(b, 99)), NS(hist_percentile(a, 99)),
		       pct(hist_percentile(b, 99), hist_percentile(a, 99), p2, sizeof(p2)));
		if (b->kind == KIND_TRYLOCK)
			printf("%-16s %-7s %-16s %-10s   failed %llu of %llu -> %llu of %llu\n", "", "", "", "",
			       (unsigned long long)b->aux_ns, (unsigned long long)b->count,
			       (unsigned long long)a->aux_ns, (unsigned long long)a->count);
		/* A wait that is new in AFTER is a regression too. */
		if (maxreg >= 0 && (b->kind == KIND_LOCK || b->kind == KIND_DSTATE) && a->max_ns &&
		    a->max_ns > b->max_ns * (100 + maxreg) / 100)
			regressions++;
	}
	if (maxreg >= 0) {
		printf("\n%d row(s) with a worst wait more than %lld%% above before\n", regressions, maxreg);
		if (regressions)
			ret = EXIT_CHECK_FAILED;
	}
	free(rows);
	recording_free(&rec[0]);
	recording_free(&rec[1]);
	return ret;
}
