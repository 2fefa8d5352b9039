// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* mmlock: find and explain lock stalls in the Linux memory manager. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "ladder.h"
#include "perfetto.h"
#include "recorder.h"
#include "report.h"
#include "util.h"
#include "verify.h"

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
"  check      fail (exit 1) if any thread stalled >= a threshold\n"
"  diff       compare two recordings (before / after)\n"
"\n"
"Run 'mmlock COMMAND --help' for a command's options. Exit codes: 0 ok,\n"
"1 check failed, 2 usage or input error, 3 kernel or permission problem,\n"
"128+N record stopped by signal N while starting (nothing written).\n";

static const char usage_record[] =
"Usage: mmlock record [OPTIONS] [-- COMMAND [ARGS...]]\n"
"Record mm lock waits, D-state periods and uffd ioctl latency.\n"
"\n"
"Target (default: the whole system):\n"
"  -p, --pid PID          only this process (all its threads); stops when it exits\n"
"  -t, --tid TID          only this thread\n"
"  -c, --comm NAME        only threads named NAME, or threads of a process named NAME;\n"
"                         NAME need not run yet: it is traced from when it does\n"
"  -- COMMAND ARGS        start COMMAND and trace its process from its first instruction\n"
"                         (not processes it forks); SIGTERM to it when -d ends\n"
"Duration and output:\n"
"  -d, --duration TIME    stop after TIME (10, 10s, 500ms; default: Ctrl-C or COMMAND's exit)\n"
"  -i, --interval TIME    print a live summary every TIME\n"
"  -o, --json FILE        save the recording as JSON (for report/perfetto/check/diff)\n"
"      --perfetto FILE    write a Perfetto trace (opens in ui.perfetto.dev)\n"
"      --min-slice TIME   keep single waits/ioctls >= TIME as events (default 1ms; 0 = all)\n"
"      --stack-min TIME   take a kernel stack for waits >= TIME (default 10us)\n"
"      --max-events N     events kept in memory for --json (default 100000)\n"
"      --check[=TIME]     exit 1 if any thread stalled >= TIME (default 30ms)\n"
"  -s, --stacks           print the top kernel stacks of every thread\n"
"  -q, --quiet            no terminal report\n"
"Kernel:\n"
"      --mode MODE        auto (default), fentry, kprobe or tracepoint\n"
"      --btf FILE         kernel BTF, for kernels without /sys/kernel/btf/vmlinux\n"
"  -v, --verbose          say which mechanism each probe got and why (twice: libbpf log)\n"
"\n"
"Examples:\n"
"  mmlock record -p $(pidof app) -d 10\n"
"  mmlock record -c gcsim -d 10 --json out.json\n"
"  mmlock record -i 1\n"
"  mmlock record --perfetto gc.pftrace --json gc.json -- ./gcsim --duration 5\n";

static const char usage_report[] =
"Usage: mmlock report [OPTIONS] RECORDING.json\n"
"  -s, --stacks           print the top kernel stacks of every thread\n"
"  -H, --all-hists        print a histogram for every class and site\n"
"  -n, --threads N        detail at most N threads (default: all)\n"
"Example: mmlock report out.json\n";

static const char usage_perfetto[] =
"Usage: mmlock perfetto RECORDING.json -o OUT.pftrace\n"
"Convert a saved recording (its events, histograms and counters) to a native\n"
"Perfetto trace. Example: mmlock perfetto gc.json -o gc.pftrace\n";

static int bad_usage(const char *fmt, const char *arg)
{
	fputs("mmlock: ", stderr);
	fprintf(stderr, fmt, arg);
	fputs(" (see --help)\n", stderr);
	return EXIT_USAGE;
}

static int cmd_record(int argc, char **argv)
{
	enum { O_PERFETTO = 256, O_MIN_SLICE, O_STACK_MIN, O_MODE, O_BTF, O_MAX_EVENTS, O_CHECK };
	static const struct option opts[] = {
		{ "pid", required_argument, NULL, 'p' },
		{ "tid", required_argument, NULL, 't' },
		{ "comm", required_argument, NULL, 'c' },
		{ "duration", required_argument, NULL, 'd' },
		{ "interval", required_argument, NULL, 'i' },
		{ "json", required_argument, NULL, 'o' },
		{ "perfetto", required_argument, NULL, O_PERFETTO },
		{ "min-slice", required_argument, NULL, O_MIN_SLICE },
		{ "stack-min", required_argument, NULL, O_STACK_MIN },
		{ "max-events", required_argument, NULL, O_MAX_EVENTS },
		{ "check", optional_argument, NULL, O_CHECK },
		{ "stacks", no_argument, NULL, 's' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "mode", required_argument, NULL, O_MODE },
		{ "btf", required_argument, NULL, O_BTF },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{}
	};
	struct record_opts o = {
		.min_slice_ns = 1000000, .stack_min_ns = 10000, .max_events = 100000,
	};
	long long v, check_ns = -1;
	int c;

	while ((c = getopt_long(argc, argv, "+p:t:c:d:i:o:sqvh", opts, NULL)) != -1) {
		switch (c) {
		case 'p':
			if ((v = parse_uint(optarg, 1, 0x7fffffff)) < 0)
				return bad_usage("bad pid '%s'", optarg);
			o.pid = v;
			break;
		case 't':
			if ((v = parse_uint(optarg, 1, 0x7fffffff)) < 0)
				return bad_usage("bad tid '%s'", optarg);
			o.tid = v;
			break;
		case 'c':
			if (!*optarg || strlen(optarg) >= MMLOCK_COMM_LEN)
				return bad_usage("bad comm '%s' (1 to 15 characters)", optarg);
			snprintf(o.comm, sizeof(o.comm), "%s", optarg);
			break;
		case 'd':
			if ((v = parse_duration_ns(optarg, "s")) <= 0)
				return bad_usage("bad duration '%s'", optarg);
			o.duration_ns = v;
			break;
		case 'i':
			if ((v = parse_duration_ns(optarg, "s")) < 1000000)
				return bad_usage("bad interval '%s' (at least 1ms)", optarg);
			o.interval_ns = v;
			break;
		case 'o':
			o.json_path = optarg;
			break;
		case O_PERFETTO:
			o.perfetto_path = optarg;
			break;
		case O_MIN_SLICE:
			if ((v = parse_duration_ns(optarg, "ms")) < 0)
				return bad_usage("bad --min-slice '%s'", optarg);
			o.min_slice_ns = v;
			break;
		case O_STACK_MIN:
			if ((v = parse_duration_ns(optarg, "us")) < 0)
				return bad_usage("bad --stack-min '%s'", optarg);
			o.stack_min_ns = v;
			break;
		case O_MAX_EVENTS:
			if ((v = parse_uint(optarg, 0, 100000000)) < 0)
				return bad_usage("bad --max-events '%s'", optarg);
			o.max_events = v;
			break;
		case O_CHECK:
			check_ns = optarg ? parse_duration_ns(optarg, "ms") : 30000000;
			if (check_ns <= 0)
				return bad_usage("bad --check threshold '%s'", optarg);
			break;
		case 's':
			o.stacks = true;
			break;
		case 'q':
			o.quiet = true;
			break;
		case O_MODE:
			if ((o.family = parse_family(optarg)) < 0)
				return bad_usage("bad --mode '%s' (auto, fentry, kprobe, tracepoint)", optarg);
			break;
		case O_BTF:
			o.btf_path = optarg;
			break;
		case 'v':
			verbose++;
			break;
		case 'h':
			fputs(usage_record, stdout);
			return EXIT_OK;
		default:
			return EXIT_USAGE;
		}
	}
	if (optind < argc) {
		if (strcmp(argv[optind - 1], "--"))
			return bad_usage("unexpected argument '%s' (put a command after --)", argv[optind]);
		if (o.pid || o.tid)
			return bad_usage("%s", "-p/-t and a command exclude each other");
		o.cmd = &argv[optind];
	}
	if (o.pid && o.tid)
		return bad_usage("%s", "give -p or -t, not both");
	/* Two writers renaming onto one path: one output would be lost. */
	if (o.json_path && o.perfetto_path && same_file(o.json_path, o.perfetto_path))
		return bad_usage("--json and --perfetto name the same file '%s'", o.json_path);
	o.check_ns = check_ns;
	return record_main(&o);
}

static int cmd_report(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "stacks", no_argument, NULL, 's' },
		{ "all-hists", no_argument, NULL, 'H' },
		{ "threads", required_argument, NULL, 'n' },
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
	recording_sort(&rec);
	report_print(stdout, &rec, &ro);
	recording_free(&rec);
	return EXIT_OK;
}

static int cmd_perfetto(int argc, char **argv)
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
	recording_sort(&rec);
	ret = perfetto_write_recording(&rec, out, err, sizeof(err));
	if (ret)
		errmsg("%s", err);
	recording_free(&rec);
	return ret ? EXIT_USAGE : EXIT_OK;
}

int main(int argc, char **argv)
{
	const char *cmd = argc > 1 ? argv[1] : NULL;
	static char prog[32];

	if (!cmd)
		return bad_usage("%s", "no command given: record, report, perfetto, check or diff");
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
	return bad_usage("unknown command '%s'", cmd);
}
