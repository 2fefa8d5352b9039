// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* `mmlock record`: its options, and the outputs the recording goes to. */
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include "cmd/cmd.h"
#include "lib/util.h"
#include "model/verify.h"
#include "output/perfetto.h"
#include "output/recording_json.h"
#include "output/report.h"
#include "record/ladder.h"
#include "record/recorder.h"

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
"      --chain-min TIME   stalls >= TIME get a blocker chain: who held the lock or woke\n"
"                         the thread, what it did meanwhile, and its own blocker\n"
"                         (default 1ms; only kept events: below --min-slice, none)\n"
"      --max-events N     events kept in memory for --json (default 100000)\n"
"      --sample-hz N      on-CPU samples per second per CPU of threads inside a uffd\n"
"                         ioctl: where its on-CPU time went (default 99; 0 = off)\n"
"      --check[=TIME]     exit 1 if any thread stalled >= TIME (default 30ms)\n"
"  -s, --stacks           print the top kernel stacks of every thread\n"
"  -q, --quiet            no terminal report\n"
"Fleet (saved in the recording, see docs/fleet.md and 'mmlock export'):\n"
"      --label KEY=VALUE  tag the recording (repeatable, at most 32): KEY is 1 to 63\n"
"                         of A-Z a-z 0-9 _ . - (a letter or _ first), VALUE at most\n"
"                         255 bytes; e.g. --label arm=before --label build=X\n"
"      --device ID        the device's id (default: Android's ro.serialno, else\n"
"                         /etc/machine-id, else the hostname)\n"
"Kernel:\n"
"      --mode MODE        auto (default), fentry, kprobe or tracepoint\n"
"      --uffd-probes WHICH  auto (default): time every uffd ioctl; none: the low-tax\n"
"                         mode, no syscall hooks (where the uffd probes would be\n"
"                         raw_syscalls, every syscall of every process pays for them):\n"
"                         lock waits and D-state only, uffd sites from stacks\n"
"      --btf FILE         kernel BTF, for kernels without /sys/kernel/btf/vmlinux\n"
"  -v, --verbose          say which mechanism each probe got and why (twice: libbpf log)\n"
"\n"
"Examples:\n"
"  mmlock record -p $(pidof app) -d 10\n"
"  mmlock record -c gcsim -d 10 --json out.json\n"
"  mmlock record -i 1\n"
"  mmlock record --uffd-probes none -d 60 -o day.json\n"
"  mmlock record --perfetto gc.pftrace --json gc.json -- ./gcsim --duration 5\n"
"  mmlock record -c app -d 30 -o r.json --label arm=after --label build=$BUILD\n";

enum { O_PERFETTO = 256, O_MIN_SLICE, O_STACK_MIN, O_CHAIN_MIN, O_MODE, O_BTF, O_MAX_EVENTS, O_CHECK,
       O_UFFD_PROBES, O_LABEL, O_DEVICE, O_SAMPLE_HZ };

/* The outputs of one recording: the terminal report, --json, --perfetto, --check. */
struct outputs {
	const struct record_opts *o;
	struct pf_writer *pf;	/* streamed to while recording, NULL if none */
};

static int out_open(void *ctx, const struct recording *meta, char *err, size_t errlen)
{
	struct outputs *out = ctx;

	if (!out->o->perfetto_path)
		return 0;
	out->pf = pf_open(out->o->perfetto_path, meta, err, errlen);
	return out->pf ? 0 : EXIT_USAGE;
}

static void out_event(void *ctx, const struct rec_event *ev, const char *comm)
{
	struct outputs *out = ctx;

	if (out->pf)
		pf_event(out->pf, ev, comm, "");
}

static void out_live(void *ctx, const struct recording *snap)
{
	(void)ctx;
	report_live(stdout, snap);
	fflush(stdout);
}

static int out_finish(void *ctx, const struct recording *rec, char *err, size_t errlen)
{
	struct outputs *out = ctx;
	const struct record_opts *o = out->o;
	int ret = EXIT_OK;

	if (!o->quiet) {
		struct report_opts ro = { .stacks = o->stacks };

		report_print(stdout, rec, &ro);
	}
	if (o->json_path && recording_write_json(rec, o->json_path, err, errlen))
		ret = EXIT_USAGE;
	if (out->pf) {
		struct pf_writer *pf = out->pf;

		out->pf = NULL;
		if (pf_finish(pf, rec, err, errlen) && ret == EXIT_OK)
			ret = EXIT_USAGE;
	}
	if (ret == EXIT_OK && o->check_ns >= 0)
		ret = check_recording(rec, o->check_ns, stdout);
	return ret;
}

/* A trace not finished (an error, a signal): no half-written file stays behind. */
static void out_close(void *ctx)
{
	struct outputs *out = ctx;

	if (out->pf)
		pf_abort(out->pf);
	out->pf = NULL;
}

static int record_with_outputs(const struct record_opts *o)
{
	struct outputs out = { .o = o };
	struct record_sink sink = {
		.ctx = &out, .open = out_open, .event = out_event, .live = out_live,
		.finish = out_finish, .close = out_close,
	};

	return record_main(o, &sink);
}

_Static_assert(REC_MAX_LABELS == 32, "--help and record_label() say 32");

/* --label KEY=VALUE into o: -1 to go on, else the exit code. */
static int record_label(struct record_opts *o, const char *kv)
{
	struct rec_label l;
	char err[384];

	if (label_parse(kv, &l, err, sizeof(err)))
		return bad_usage("%s", err);
	for (size_t i = 0; i < o->nlabels; i++)
		if (!strcmp(o->labels[i].key, l.key))
			return bad_usage("label '%s' given twice", l.key);
	if (o->nlabels >= REC_MAX_LABELS)
		return bad_usage("more than %s labels", "32");
	o->labels[o->nlabels++] = l;
	return -1;
}

/* One option into o (a flat table of cases): -1 to go on, else the exit code. */
static int record_option(int c, struct record_opts *o, long long *check_ns)
{
	long long v;

	switch (c) {
	case 'p':
		if ((v = parse_uint(optarg, 1, 0x7fffffff)) < 0)
			return bad_usage("bad pid '%s'", optarg);
		o->pid = v;
		break;
	case 't':
		if ((v = parse_uint(optarg, 1, 0x7fffffff)) < 0)
			return bad_usage("bad tid '%s'", optarg);
		o->tid = v;
		break;
	case 'c':
		if (!*optarg || strlen(optarg) >= MMLOCK_COMM_LEN)
			return bad_usage("bad comm '%s' (1 to 15 characters)", optarg);
		snprintf(o->comm, sizeof(o->comm), "%s", optarg);
		break;
	case 'd':
		if ((v = parse_duration_ns(optarg, "s")) <= 0)
			return bad_usage("bad duration '%s'", optarg);
		o->duration_ns = v;
		break;
	case 'i':
		if ((v = parse_duration_ns(optarg, "s")) < 1000000)
			return bad_usage("bad interval '%s' (at least 1ms)", optarg);
		o->interval_ns = v;
		break;
	case 'o':
		o->json_path = optarg;
		break;
	case O_PERFETTO:
		o->perfetto_path = optarg;
		break;
	case O_MIN_SLICE:
		if ((v = parse_duration_ns(optarg, "ms")) < 0)
			return bad_usage("bad --min-slice '%s'", optarg);
		o->min_slice_ns = v;
		break;
	case O_CHAIN_MIN:
		if ((v = parse_duration_ns(optarg, "ms")) < 0 || !v)
			return bad_usage("bad --chain-min '%s' (a time above 0)", optarg);
		o->chain_min_ns = v;
		break;
	case O_STACK_MIN:
		if ((v = parse_duration_ns(optarg, "us")) < 0)
			return bad_usage("bad --stack-min '%s'", optarg);
		o->stack_min_ns = v;
		break;
	case O_MAX_EVENTS:
		if ((v = parse_uint(optarg, 0, 100000000)) < 0)
			return bad_usage("bad --max-events '%s'", optarg);
		o->max_events = v;
		break;
	case O_SAMPLE_HZ:
		if ((v = parse_uint(optarg, 0, 10000)) < 0)
			return bad_usage("bad --sample-hz '%s' (0 to 10000 samples a second per CPU)", optarg);
		o->sample_hz = v;
		break;
	case O_CHECK:
		*check_ns = optarg ? parse_duration_ns(optarg, "ms") : 30000000;
		if (*check_ns <= 0)
			return bad_usage("bad --check threshold '%s'", optarg);
		break;
	case 's':
		o->stacks = true;
		break;
	case 'q':
		o->quiet = true;
		break;
	case O_MODE:
		if ((o->family = parse_family(optarg)) < 0)
			return bad_usage("bad --mode '%s' (auto, fentry, kprobe, tracepoint)", optarg);
		break;
	case O_UFFD_PROBES:
		if (strcmp(optarg, "auto") && strcmp(optarg, "none"))
			return bad_usage("bad --uffd-probes '%s' (auto, none)", optarg);
		o->no_uffd_probes = !strcmp(optarg, "none");
		break;
	case O_BTF:
		o->btf_path = optarg;
		break;
	case O_LABEL:
		return record_label(o, optarg);
	case O_DEVICE:
		if (device_bad(optarg))
			return bad_usage("bad --device '%s' (1 to 127 bytes, no control characters)",
					 optarg);
		o->device = optarg;
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
	return -1;
}

int cmd_record(int argc, char **argv)
{
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
		{ "chain-min", required_argument, NULL, O_CHAIN_MIN },
		{ "max-events", required_argument, NULL, O_MAX_EVENTS },
		{ "sample-hz", required_argument, NULL, O_SAMPLE_HZ },
		{ "check", optional_argument, NULL, O_CHECK },
		{ "stacks", no_argument, NULL, 's' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "mode", required_argument, NULL, O_MODE },
		{ "uffd-probes", required_argument, NULL, O_UFFD_PROBES },
		{ "btf", required_argument, NULL, O_BTF },
		{ "label", required_argument, NULL, O_LABEL },
		{ "device", required_argument, NULL, O_DEVICE },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{}
	};
	struct record_opts o = {
		.min_slice_ns = 1000000, .stack_min_ns = 10000, .max_events = 100000,
		.chain_min_ns = CHAIN_MIN_DEFAULT_NS,
		/* 99, not 100: not in lockstep with the 250 Hz tick or other 100 Hz timers. */
		.sample_hz = 99,
	};
	long long check_ns = -1;
	int c, ret;

	while ((c = getopt_long(argc, argv, "+p:t:c:d:i:o:sqvh", opts, NULL)) != -1)
		if ((ret = record_option(c, &o, &check_ns)) >= 0)
			return ret;
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
	return record_with_outputs(&o);
}

