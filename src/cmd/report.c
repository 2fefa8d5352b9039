// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* `mmlock report`: print a saved recording again. */
#include <getopt.h>
#include <stdio.h>
#include "cmd/cmd.h"
#include "lib/util.h"
#include "output/recording_json.h"
#include "output/report.h"

static const char usage_report[] =
"Usage: mmlock report [OPTIONS] RECORDING.json\n"
"  -s, --stacks           print the top kernel stacks of every thread\n"
"  -H, --all-hists        print a histogram for every class and site\n"
"  -n, --threads N        detail at most N threads (default: all)\n"
"      --chains N         show the N worst stalls with their blocker chains (default 5)\n"
"Example: mmlock report out.json\n";

int cmd_report(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "stacks", no_argument, NULL, 's' },
		{ "all-hists", no_argument, NULL, 'H' },
		{ "threads", required_argument, NULL, 'n' },
		{ "chains", required_argument, NULL, 'C' },
		{ "help", no_argument, NULL, 'h' },
		{}
	};
	struct report_opts ro = {};
	struct recording rec;
	char err[512];
	long long v;
	int c;

	while ((c = getopt_long(argc, argv, "sHn:h", opts, NULL)) != -1) {
		switch (c) {
		case 's':
			ro.stacks = true;
			break;
		case 'H':
			ro.all_hists = true;
			break;
		case 'C':
			if ((v = parse_uint(optarg, 1, 1000000)) < 0)
				return bad_usage("bad --chains '%s'", optarg);
			ro.chains = v;
			break;
		case 'n':
			if ((v = parse_uint(optarg, 1, 1000000)) < 0)
				return bad_usage("bad thread count '%s'", optarg);
			ro.max_threads = v;
			break;
		case 'h':
			fputs(usage_report, stdout);
			return EXIT_OK;
		default:
			return EXIT_USAGE;
		}
	}
	if (optind != argc - 1)
		return bad_usage("%s", "report takes one recording file");
	if (recording_read_json(&rec, argv[optind], err, sizeof(err))) {
		errmsg("%s", err);
		return EXIT_USAGE;
	}
	report_print(stdout, &rec, &ro);
	recording_free(&rec);
	return EXIT_OK;
}

