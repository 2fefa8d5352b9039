/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* `mmlock record`: the BPF session from open to destroy. */
#ifndef MMLOCK_RECORDER_H
#define MMLOCK_RECORDER_H

#include <stdbool.h>
#include <linux/types.h>
#include "recording.h"

struct record_opts {
	__u32 pid, tid;
	char comm[MMLOCK_COMM_LEN];
	__u64 duration_ns;		/* 0: until Ctrl-C (or the command exits) */
	__u64 interval_ns;		/* live summary period, 0: none */
	__u64 min_slice_ns;
	__u64 stack_min_ns;
	__u64 max_events;		/* events kept in memory for --json */
	long long check_ns;		/* --check threshold; < 0: no check */
	int family;			/* enum mech_family (--mode) */
	const char *btf_path;
	const char *json_path;
	const char *perfetto_path;
	bool stacks;			/* print top stacks */
	bool quiet;			/* no terminal report */
	char **cmd;			/* command to start and trace, or NULL */
};

/* Runs a recording; returns an exit code (util.h). */
int record_main(const struct record_opts *o);

#endif
