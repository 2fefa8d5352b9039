// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * contention_peer: loads tests/peer/contention_peer.bpf.c (a second BPF user
 * of lock:contention_begin/end and sched_switch with its own ring buffer and
 * hash map), prints "peer: attached" once its programs are attached, drains
 * the ring buffer until SIGINT/SIGTERM or -d SECS, then prints what it saw.
 *
 * Usage: contention_peer [-d SECS]
 * Exit: 0 ok, 2 usage, 3 load/attach failed.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <bpf/libbpf.h>
#include "contention_peer.skel.h"

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

static int on_event(void *ctx, void *data, size_t len)
{
	(void)data;
	(void)len;
	++*(unsigned long long *)ctx;
	return 0;
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
	struct contention_peer_bpf *skel;
	struct ring_buffer *rb = NULL;
	struct sigaction sa = { .sa_handler = on_signal };
	unsigned long long consumed = 0;
	double limit = 0, t0;
	int opt, err, rc = 3;

	while ((opt = getopt(argc, argv, "d:")) != -1) {
		if (opt != 'd' || (limit = atof(optarg)) <= 0) {
			fprintf(stderr, "usage: %s [-d SECS]\n", argv[0]);
			return 2;
		}
	}
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);

	skel = contention_peer_bpf__open_and_load();
	if (!skel) {
		fprintf(stderr, "peer: load failed: %s\n", strerror(errno));
		return 3;
	}
	err = contention_peer_bpf__attach(skel);
	if (err) {
		fprintf(stderr, "peer: attach failed: %s\n", strerror(-err));
		goto out;
	}
	rb = ring_buffer__new(bpf_map__fd(skel->maps.peer_rb), on_event, &consumed, NULL);
	if (!rb) {
		fprintf(stderr, "peer: ring buffer: %s\n", strerror(errno));
		goto out;
	}
	printf("peer: attached\n");
	fflush(stdout);
	t0 = now_s();
	/* The programs submit without wakeups: poll on a timer. */
	while (!stop && !(limit > 0 && now_s() - t0 >= limit)) {
		ring_buffer__consume(rb);
		usleep(50000);
	}
	ring_buffer__consume(rb);
	printf("peer: events %llu consumed %llu drops %llu nested-skipped %llu hash-fail %llu\n",
	       (unsigned long long)skel->bss->n_events, consumed,
	       (unsigned long long)skel->bss->n_drops,
	       (unsigned long long)skel->bss->n_nested,
	       (unsigned long long)skel->bss->n_hash_fail);
	rc = 0;
out:
	ring_buffer__free(rb);
	contention_peer_bpf__destroy(skel);
	return rc;
}
