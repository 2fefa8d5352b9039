// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * hookfloor [LEVEL]: attach bench/hookfloor.bpf.c at LEVEL (0, 1, 2: the
 * syscall hooks; 3: the sched hooks instead; see there; default 0), say
 * "hookfloor: attached", and hold the hooks until SIGINT or SIGTERM. A
 * benchmark baseline, not a tool.
 */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include "hookfloor.skel.h"

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

int main(int argc, char **argv)
{
	struct sigaction sa = { .sa_handler = on_signal };
	struct hookfloor_bpf *skel;
	char *end = NULL;
	long level = 0;
	int err;

	if (argc > 1)
		level = strtol(argv[1], &end, 10);
	if (argc > 2 || (end && (*end || end == argv[1])) || level < 0 || level > 3) {
		fprintf(stderr, "usage: hookfloor [LEVEL]   LEVEL: 0, 1, 2 or 3\n");
		return 2;
	}
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	skel = hookfloor_bpf__open();
	if (!skel) {
		fprintf(stderr, "hookfloor: open failed: %s\n", strerror(errno));
		return 1;
	}
	skel->rodata->level = level;
	/* Level 3 is the sched pair alone; 0-2 the syscall pair alone. */
	bpf_program__set_autoload(skel->progs.floor_enter, level < 3);
	bpf_program__set_autoload(skel->progs.floor_exit, level < 3);
	bpf_program__set_autoload(skel->progs.floor_switch, level == 3);
	bpf_program__set_autoload(skel->progs.floor_wakeup, level == 3);
	err = hookfloor_bpf__load(skel);
	if (err) {
		fprintf(stderr, "hookfloor: load failed: %s\n", strerror(-err));
		hookfloor_bpf__destroy(skel);
		return 1;
	}
	err = hookfloor_bpf__attach(skel);
	if (err) {
		fprintf(stderr, "hookfloor: attach failed: %s\n", strerror(-err));
		hookfloor_bpf__destroy(skel);
		return 1;
	}
	printf("hookfloor: attached\n");
	fflush(stdout);
	while (!stop)
		pause();
	printf("hookfloor: %llu %s hook runs counted\n", (unsigned long long)skel->bss->hits,
	       level == 3 ? "sched" : "ioctl");
	hookfloor_bpf__destroy(skel);
	return 0;
}
