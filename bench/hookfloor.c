// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * hookfloor: attach bench/hookfloor.bpf.c, say "hookfloor: attached", and
 * hold the hooks until SIGINT or SIGTERM. A benchmark baseline, not a tool.
 */
#include <errno.h>
#include <signal.h>
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

int main(void)
{
	struct sigaction sa = { .sa_handler = on_signal };
	struct hookfloor_bpf *skel;
	int err;

	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	skel = hookfloor_bpf__open_and_load();
	if (!skel) {
		fprintf(stderr, "hookfloor: load failed: %s\n", strerror(errno));
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
	printf("hookfloor: %llu ioctl entries and exits\n", (unsigned long long)skel->bss->hits);
	hookfloor_bpf__destroy(skel);
	return 0;
}
