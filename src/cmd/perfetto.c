// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* `mmlock perfetto`: convert a saved recording to a Perfetto trace. */
#include <getopt.h>
#include <stdio.h>
#include "cmd/cmd.h"
#include "lib/util.h"
#include "output/perfetto.h"
#include "output/recording_json.h"

static const char usage_perfetto[] =
"Usage: mmlock perfetto RECORDING.json -o OUT.pftrace\n"
"Convert a saved recording (its events, histograms and counters) to a native\n"
"Perfetto trace. Example: mmlock perfetto gc.json -o gc.pftrace\n";

int cmd_perfetto(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "output", required_argument, NULL, 'o' },
		{ "help", no_argument, NULL, 'h' },
		{}
	};
	const char *out = NULL;
	struct recording rec;
	char err[512];
	int c, ret;

	while ((c = getopt_long(argc, argv, "o:h", opts, NULL)) != -1) {
		switch (c) {
		case 'o':
			out = optarg;
			break;
		case 'h':
			fputs(usage_perfetto, stdout);
			return EXIT_OK;
		default:
			return EXIT_USAGE;
		}
	}
	if (optind != argc - 1 || !out)
		return bad_usage("%s", "perfetto takes one recording file and -o OUT.pftrace");
	if (same_file(argv[optind], out))
		return bad_usage("-o %s would overwrite the recording it converts", out);
	if (check_writable(out, err, sizeof(err))) {
		errmsg("%s", err);
		return EXIT_USAGE;
	}
	if (recording_read_json(&rec, argv[optind], err, sizeof(err))) {
		errmsg("%s", err);
		return EXIT_USAGE;
	}
	ret = perfetto_write_recording(&rec, out, err, sizeof(err));
	if (ret)
		errmsg("%s", err);
	recording_free(&rec);
	return ret ? EXIT_USAGE : EXIT_OK;
}

