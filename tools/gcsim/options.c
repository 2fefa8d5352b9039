// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Command line parsing (getopt_long). Bad input: one line on stderr, exit 2. */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gcsim.h"

struct options opt = {
	.space_mb = 64,
	.gc_threads = 4,
	.mutators = 1,
	.ui = true,
	.ui_moves = 8,
	.ui_nice = -10,
	.frame_hz = 60,
	.frame_work_kb = 256,
	.ioctl_mode = IOCTL_MOVE,
	.batch_pages = 1,
	.sigbus = -1,
	.duration_s = 5.0,
	.seed = 1,
	.order = ORDER_SHUFFLE,
	.pressure = PRESSURE_NONE,
	.swap_mb = 256,
	.mutator_pause_us = 500,
	.ready_fd = -1,
	.go_fd = -1,
};

enum {
	OPT_SPACE_MB = 256, OPT_GC_THREADS, OPT_MUTATORS, OPT_NO_UI, OPT_UI_MOVES,
	OPT_NO_UI_MOVES, OPT_FRAME_HZ, OPT_FRAME_WORK_KB, OPT_IOCTL,
	OPT_BATCH_PAGES, OPT_SIGBUS, OPT_NO_SIGBUS, OPT_DURATION, OPT_CYCLES,
	OPT_MOVES, OPT_SEED, OPT_ORDER, OPT_PRESSURE, OPT_SWAP_MB, OPT_JSON,
	OPT_READY_FD, OPT_GO_FD, OPT_START_DELAY, OPT_FORCE_FALLBACK,
	OPT_INJECT_EEXIST, OPT_MUTATOR_PAUSE, OPT_VERSION, OPT_CLEANUP, OPT_UI_NICE, OPT_GC_NICE,
	OPT_GC_CPUS, OPT_APP_CPUS,
};

static const struct option long_opts[] = {
	{ "space-mb",		required_argument, NULL, OPT_SPACE_MB },
	{ "gc-threads",		required_argument, NULL, OPT_GC_THREADS },
	{ "mutators",		required_argument, NULL, OPT_MUTATORS },
	{ "no-ui",		no_argument,	   NULL, OPT_NO_UI },
	{ "ui-moves",		optional_argument, NULL, OPT_UI_MOVES },
	{ "no-ui-moves",	no_argument,	   NULL, OPT_NO_UI_MOVES },
	{ "frame-hz",		required_argument, NULL, OPT_FRAME_HZ },
	{ "frame-work-kb",	required_argument, NULL, OPT_FRAME_WORK_KB },
	{ "ioctl",		required_argument, NULL, OPT_IOCTL },
	{ "batch-pages",	required_argument, NULL, OPT_BATCH_PAGES },
	{ "sigbus",		no_argument,	   NULL, OPT_SIGBUS },
	{ "no-sigbus",		no_argument,	   NULL, OPT_NO_SIGBUS },
	{ "duration",		required_argument, NULL, OPT_DURATION },
	{ "cycles",		required_argument, NULL, OPT_CYCLES },
	{ "moves",		required_argument, NULL, OPT_MOVES },
	{ "seed",		required_argument, NULL, OPT_SEED },
	{ "order",		required_argument, NULL, OPT_ORDER },
	{ "pressure",		required_argument, NULL, OPT_PRESSURE },
	{ "swap-mb",		required_argument, NULL, OPT_SWAP_MB },
	{ "json",		required_argument, NULL, OPT_JSON },
	{ "ready-fd",		required_argument, NULL, OPT_READY_FD },
	{ "go-fd",		required_argument, NULL, OPT_GO_FD },
	{ "start-delay-ms",	required_argument, NULL, OPT_START_DELAY },
	{ "mutator-pause-us",	required_argument, NULL, OPT_MUTATOR_PAUSE },
	{ "ui-nice",		required_argument, NULL, OPT_UI_NICE },
	{ "gc-nice",		required_argument, NULL, OPT_GC_NICE },
	{ "gc-cpus",		required_argument, NULL, OPT_GC_CPUS },
	{ "app-cpus",		required_argument, NULL, OPT_APP_CPUS },
	{ "force-fallback",	no_argument,	   NULL, OPT_FORCE_FALLBACK },
	{ "inject-eexist",	required_argument, NULL, OPT_INJECT_EEXIST },
	{ "cleanup",		no_argument,	   NULL, OPT_CLEANUP },
	{ "version",		no_argument,	   NULL, OPT_VERSION },
	{ "help",		no_argument,	   NULL, 'h' },
	{ NULL, 0, NULL, 0 },
};

static const char usage_text[] =
"Usage: gcsim [OPTION]...\n"
"ART-style concurrent compaction with userfaultfd (UFFDIO_MOVE or COPY).\n"
"\n"
"  --space-mb N          moving space size in MiB (default 64)\n"
"  --gc-threads N        GC threads: HeapTaskDaemon, GCWorker-1.. (default 4)\n"
"  --mutators N          mutator threads mutator-1.. (default 1)\n"
"  --no-ui               no \"ui\" thread\n"
"  --ui-moves[=N]        ui moves N pages per frame itself (default 8)\n"
"  --no-ui-moves         same as --ui-moves=0\n"
"  --frame-hz HZ         ui frame rate (default 60)\n"
"  --frame-work-kb KB    memory touched per frame (default 256)\n"
"  --ioctl move|copy     map with UFFDIO_MOVE (default) or COPY/ZEROPAGE\n"
"  --batch-pages K       pages per GC ioctl (default 1)\n"
"  --sigbus, --no-sigbus faults as SIGBUS (default if available) or to uffd-handler\n"
"  --duration SEC        run time (default 5; 0 = none; unset with --cycles/--moves)\n"
"  --cycles N            stop after N compaction cycles\n"
"  --moves N             stop after N pages mapped in total\n"
"  --seed S              seed for page order shuffling (default 1)\n"
"  --order shuffle|reverse|forward  compaction order (default shuffle)\n"
"  --pressure none|pageout|compact|all  rmap-walking background load\n"
"  --swap-mb N           swapfile size for --pressure pageout (default 256)\n"
"  --json FILE           write the ground-truth JSON report (atomically)\n"
"  --ready-fd N          write \"ready PID\\n\" to fd N once threads are named\n"
"  --go-fd N             then wait for a byte (or EOF) on fd N\n"
"  --start-delay-ms D    then wait D ms before compaction starts (default 0)\n"
"  --mutator-pause-us U  mutator pause between touch batches (default 500)\n"
"  --ui-nice N           ui thread nice value (default -10: Android runs a top\n"
"                        app's UI and render threads at -10, above the GC)\n"
"  --gc-nice N           GC threads' nice value (default 0)\n"
"  --gc-cpus LIST        run the GC threads only on these CPUs (0-1,3; default: any)\n"
"  --app-cpus LIST       run the ui and mutator threads only on these CPUs\n"
"  --force-fallback      test aid: act as if UFFDIO_API lacked MOVE\n"
"  --inject-eexist N     test aid: pre-map every Nth page (real -EEXIST)\n"
"  --cleanup            only remove a swapfile left by a killed run, then exit\n"
"  --version, -h --help\n";

static void bad(const char *fmt, const char *a, const char *b)
{
	fprintf(stderr, "gcsim: ");
	fprintf(stderr, fmt, a, b);
	fprintf(stderr, " (see --help)\n");
	exit(2);
}

/* A CPU list as taskset -c takes it: "1", "0-3", "0,2-3". */
static void parse_cpus(const char *name, const char *arg, cpu_set_t *set)
{
	const char *p = arg;

	CPU_ZERO(set);
	while (*p) {
		char *end;
		unsigned long lo = strtoul(p, &end, 10), hi = lo;

		if (end == p || *p == '-')
			bad("bad %s list '%s' (like 0-1,3)", name, arg);
		p = end;
		if (*p == '-') {
			hi = strtoul(p + 1, &end, 10);
			if (end == p + 1)
				bad("bad %s list '%s' (like 0-1,3)", name, arg);
			p = end;
		}
		if (hi < lo || hi >= CPU_SETSIZE)
			bad("bad %s list '%s' (like 0-1,3)", name, arg);
		for (unsigned long c = lo; c <= hi; c++)
			CPU_SET(c, set);
		if (*p == ',' && p[1])
			p++;
		else if (*p)
			bad("bad %s list '%s' (like 0-1,3)", name, arg);
	}
	if (!CPU_COUNT(set))
		bad("bad %s list '%s' (like 0-1,3)", name, arg);
}

static unsigned long long parse_ull(const char *name, const char *s,
				    unsigned long long lo, unsigned long long hi)
{
	unsigned long long v;
	char *end;

	errno = 0;
	if (!s || !*s || *s == '-')
		bad("--%s: '%s' is not a non-negative integer", name, s ? s : "");
	v = strtoull(s, &end, 0);
	if (errno || *end)
		bad("--%s: '%s' is not a non-negative integer", name, s);
	if (v < lo || v > hi)
		bad("--%s: %s is out of range", name, s);
	return v;
}

const char *pressure_name(enum pressure_kind p)
{
	switch (p) {
	case PRESSURE_PAGEOUT: return "pageout";
	case PRESSURE_COMPACT: return "compact";
	case PRESSURE_ALL: return "all";
	default: return "none";
	}
}

int parse_options(int argc, char **argv)
{
	bool limit_set = false;
	char *end;
	int c;

	opterr = 0;
	while ((c = getopt_long(argc, argv, ":h", long_opts, NULL)) != -1) {
		const char *name = "";
		int i;

		for (i = 0; long_opts[i].name; i++)
			if (long_opts[i].val == c)
				name = long_opts[i].name;
		switch (c) {
		case OPT_SPACE_MB:
			opt.space_mb = parse_ull(name, optarg, 1, 1 << 20);
			break;
		case OPT_GC_THREADS:
			opt.gc_threads = parse_ull(name, optarg, 1, GCSIM_MAX_GC_THREADS);
			break;
		case OPT_MUTATORS:
			opt.mutators = parse_ull(name, optarg, 0, GCSIM_MAX_MUTATORS);
			break;
		case OPT_NO_UI:
			opt.ui = false;
			break;
		case OPT_UI_MOVES:
			opt.ui_moves = optarg ? parse_ull(name, optarg, 0, 1 << 20) : 8;
			break;
		case OPT_NO_UI_MOVES:
			opt.ui_moves = 0;
			break;
		case OPT_FRAME_HZ:
			opt.frame_hz = parse_ull(name, optarg, 1, 1000);
			break;
		case OPT_FRAME_WORK_KB:
			opt.frame_work_kb = parse_ull(name, optarg, 0, 1 << 20);
			break;
		case OPT_IOCTL:
			if (!strcmp(optarg, "move"))
				opt.ioctl_mode = IOCTL_MOVE;
			else if (!strcmp(optarg, "copy"))
				opt.ioctl_mode = IOCTL_COPY;
			else
				bad("--ioctl: '%s' is not move or copy%s", optarg, "");
			break;
		case OPT_BATCH_PAGES:
			opt.batch_pages = parse_ull(name, optarg, 1, 512);
			break;
		case OPT_SIGBUS:
			opt.sigbus = 1;
			break;
		case OPT_NO_SIGBUS:
			opt.sigbus = 0;
			break;
		case OPT_DURATION:
			errno = 0;
			opt.duration_s = strtod(optarg, &end);
			if (errno || end == optarg || *end || !(opt.duration_s >= 0) ||
			    opt.duration_s > 1e6)
				bad("--duration: '%s' is not a number of seconds%s", optarg, "");
			opt.duration_set = true;
			break;
		case OPT_CYCLES:
			opt.cycles = parse_ull(name, optarg, 1, ULONG_MAX);
			limit_set = true;
			break;
		case OPT_MOVES:
			opt.moves = parse_ull(name, optarg, 1, ULLONG_MAX);
			limit_set = true;
			break;
		case OPT_SEED:
			opt.seed = parse_ull(name, optarg, 0, ULLONG_MAX);
			break;
		case OPT_ORDER:
			if (!strcmp(optarg, "shuffle"))
				opt.order = ORDER_SHUFFLE;
			else if (!strcmp(optarg, "reverse"))
				opt.order = ORDER_REVERSE;
			else if (!strcmp(optarg, "forward"))
				opt.order = ORDER_FORWARD;
			else
				bad("--order: '%s' is not shuffle, reverse or forward%s", optarg, "");
			break;
		case OPT_PRESSURE:
			if (!strcmp(optarg, "none"))
				opt.pressure = PRESSURE_NONE;
			else if (!strcmp(optarg, "pageout"))
				opt.pressure = PRESSURE_PAGEOUT;
			else if (!strcmp(optarg, "compact"))
				opt.pressure = PRESSURE_COMPACT;
			else if (!strcmp(optarg, "all"))
				opt.pressure = PRESSURE_ALL;
			else
				bad("--pressure: '%s' is not none, pageout, compact or all%s", optarg, "");
			break;
		case OPT_SWAP_MB:
			opt.swap_mb = parse_ull(name, optarg, 16, 1 << 20);
			break;
		case OPT_JSON:
			if (!*optarg)
				bad("--json: empty file name%s%s", "", "");
			opt.json_path = optarg;
			break;
		case OPT_READY_FD:
			opt.ready_fd = parse_ull(name, optarg, 0, INT_MAX);
			break;
		case OPT_GO_FD:
			opt.go_fd = parse_ull(name, optarg, 0, INT_MAX);
			break;
		case OPT_START_DELAY:
			opt.start_delay_ms = parse_ull(name, optarg, 0, 3600000);
			break;
		case OPT_UI_NICE:
		case OPT_GC_NICE: {
			char *end;
			long v = strtol(optarg, &end, 10);

			if (!*optarg || *end || v < -20 || v > 19)
				bad("bad %s value '%s' (-20 to 19)", name, optarg);
			if (c == OPT_UI_NICE)
				opt.ui_nice = v;
			else
				opt.gc_nice = v;
			break;
		}
		case OPT_GC_CPUS:
			parse_cpus(name, optarg, &opt.gc_cpus);
			opt.gc_pinned = true;
			break;
		case OPT_APP_CPUS:
			parse_cpus(name, optarg, &opt.app_cpus);
			opt.app_pinned = true;
			break;
		case OPT_MUTATOR_PAUSE:
			opt.mutator_pause_us = parse_ull(name, optarg, 0, 1000000);
			break;
		case OPT_FORCE_FALLBACK:
			opt.force_fallback = true;
			break;
		case OPT_INJECT_EEXIST:
			opt.inject_eexist = parse_ull(name, optarg, 1, ULONG_MAX);
			break;
		case OPT_CLEANUP:
			opt.cleanup_only = true;
			break;
		case OPT_VERSION:
			printf("gcsim 1\n");
			exit(0);
		case 'h':
			fputs(usage_text, stdout);
			exit(0);
		case ':':
			bad("option '%s' needs an argument%s", argv[optind - 1], "");
			break;
		default:
			if (optopt && optopt < 256)
				bad("unknown option '-%s'%s", (char[]){ (char)optopt, 0 }, "");
			bad("unknown or malformed option '%s'%s", argv[optind - 1], "");
		}
	}
	if (optind < argc)
		bad("unexpected argument '%s'%s", argv[optind], "");
	if (limit_set && !opt.duration_set)
		opt.duration_s = 0;
	return 0;
}
