// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* `mmlock check`: fail (exit 1) if a saved recording has a stall >= a threshold. */
#include <getopt.h>
#include <stdio.h>
#include "cmd/cmd.h"
#include "lib/util.h"
#include "model/verify.h"
#include "output/recording_json.h"

static const char usage_check[] =
"Usage: mmlock check [OPTIONS] RECORDING.json\n"
"Exit 1 if any thread's worst lock wait or D-state period is >= the threshold.\n"
"  -T, --threshold TIME   default 30ms\n"
"  -c, --comm NAME        only threads named NAME\n"
"      --ioctl            count uffd ioctl latency as a stall too\n"
"Example: mmlock check --threshold 16ms -c ui after.json\n";

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
	ret = check_stalls(&rec, &co, stdout);
	recording_free(&rec);
	return ret;
}

