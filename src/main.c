// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * mmlock: find and explain lock stalls in the Linux memory manager.
 * main() only dispatches: each command is a file in src/cmd/.
 */
#include <stdio.h>
#include <string.h>
#include "cmd/cmd.h"
#include "lib/util.h"

static const char usage_main[] =
"Usage: mmlock COMMAND [OPTIONS]\n"
"Find and explain lock stalls in the Linux memory manager (anon_vma, folio,\n"
"mmap_lock, per-VMA locks) with per-thread wait histograms, D-state time and\n"
"userfaultfd ioctl latency.\n"
"\n"
"Commands:\n"
"  record     trace a process, thread, command or the whole system\n"
"  report     print a saved recording (JSON) again\n"
"  perfetto   convert a saved recording to a Perfetto trace\n"
"  check      fail (exit 1) if any thread stalled >= a threshold (per run of a set)\n"
"  diff       compare two recordings, or two sets of runs with a verdict per row\n"
"  export     write recordings as flat tables for DuckDB, ClickHouse (--ndjson)\n"
"\n"
"Run 'mmlock COMMAND --help' for a command's options. Exit codes: 0 ok,\n"
"1 check failed, 2 usage or input error, 3 kernel or permission problem,\n"
"128+N record stopped by signal N while starting (nothing written).\n";

int bad_usage(const char *fmt, const char *arg)
{
	fputs("mmlock: ", stderr);
	fprintf(stderr, fmt, arg);
	fputs(" (see --help)\n", stderr);
	return EXIT_USAGE;
}

int main(int argc, char **argv)
{
	const char *cmd = argc > 1 ? argv[1] : NULL;
	static char prog[32];

	if (!cmd)
		return bad_usage("%s", "no command given: record, report, perfetto, check, diff or export");
	if (!strcmp(cmd, "-h") || !strcmp(cmd, "--help") || !strcmp(cmd, "help")) {
		fputs(usage_main, stdout);
		return EXIT_OK;
	}
	if (!strcmp(cmd, "--version") || !strcmp(cmd, "-V")) {
		printf("mmlock %s\n", MMLOCK_VERSION);
		return EXIT_OK;
	}
	argc--;
	argv++;
	/*
	 * getopt names argv[0] in its messages ("record: invalid option"):
	 * make every error line start with "mmlock:" like ours.
	 */
	snprintf(prog, sizeof(prog), "mmlock: %s", cmd);
	argv[0] = prog;
	if (!strcmp(cmd, "record"))
		return cmd_record(argc, argv);
	if (!strcmp(cmd, "report"))
		return cmd_report(argc, argv);
	if (!strcmp(cmd, "perfetto"))
		return cmd_perfetto(argc, argv);
	if (!strcmp(cmd, "check"))
		return cmd_check(argc, argv);
	if (!strcmp(cmd, "diff"))
		return cmd_diff(argc, argv);
	if (!strcmp(cmd, "export"))
		return cmd_export(argc, argv);
	return bad_usage("unknown command '%s'", cmd);
}
