/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* The BPF session of `mmlock record`, from open to destroy. */
#ifndef MMLOCK_RECORDER_H
#define MMLOCK_RECORDER_H

#include <stdbool.h>
#include <linux/types.h>
#include "model/recording.h"

struct record_opts {
	__u32 pid, tid;
	char comm[MMLOCK_COMM_LEN];
	__u64 duration_ns;		/* 0: until Ctrl-C (or the command exits) */
	__u64 interval_ns;		/* live summary period, 0: none */
	__u64 min_slice_ns;
	__u64 stack_min_ns;
	__u64 chain_min_ns;		/* --chain-min: stalls that get a blocker chain */
	__u64 max_events;		/* events kept in memory for --json */
	__u32 sample_hz;		/* on-CPU samples per second per CPU, 0: off */
	long long check_ns;		/* --check threshold; < 0: no check */
	int family;			/* enum mech_family (--mode) */
	bool no_uffd_probes;		/* --uffd-probes none: the low-tax mode */
	const char *btf_path;
	const char *json_path;
	const char *perfetto_path;
	bool stacks;			/* print top stacks */
	bool quiet;			/* no terminal report */
	char **cmd;			/* command to start and trace, or NULL */
	const char *device;		/* --device, or NULL: the machine's id */
	struct rec_label labels[REC_MAX_LABELS];	/* --label, keys unique */
	size_t nlabels;
};

/*
 * Where the recording goes: the outputs are the caller's (cmd/record.c), so
 * record/ depends on no output format. Any hook may be NULL.
 */
struct record_sink {
	void *ctx;
	/* Metadata filled, probes not yet attached: open the outputs. 0 or an exit code. */
	int (*open)(void *ctx, const struct recording *meta, char *err, size_t errlen);
	/* Each event as it arrives, in no particular order; comm is the thread's. */
	void (*event)(void *ctx, const struct rec_event *ev, const char *comm);
	/* Every -i interval: a sorted snapshot of the maps so far. */
	void (*live)(void *ctx, const struct recording *snap);
	/* The final, sorted recording: write the outputs. An exit code. */
	int (*finish)(void *ctx, const struct recording *rec, char *err, size_t errlen);
	/* Always, once, at the end: drop whatever open made and finish did not write. */
	void (*close)(void *ctx);
};

/* Runs a recording; returns an exit code (util.h). */
int record_main(const struct record_opts *o, const struct record_sink *sink);

#endif
