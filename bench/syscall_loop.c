// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * syscall_loop MODE SECONDS: what a tracer costs a process it does not trace.
 *   getppid  a plain syscall in a loop: every syscall of every task pays for
 *            a raw_syscalls hook while one is attached, traced or not
 *   fionread an ioctl on a pipe (not a uffd), like binder's ioctls on Android:
 *            pays for ioctl hooks too
 *   pipe     ping-pong of one byte between two processes over two pipes;
 *            pinned to one CPU (bench/run.sh runs this under taskset -c), each
 *            round trip is two context switches and two wakeups
 * Runs for about SECONDS and prints one line:
 *   MODE ops N wall_ns W cpu_ns C p10_ns P p50_ns Q
 * ops are calls (getppid, fionread) or context switches (pipe, 2 per round
 * trip). cpu_ns is the CPU time of the process and its child: on a shared
 * machine it leaves out the time other tasks held the CPU, which wall time
 * does not. p10_ns and p50_ns are per operation, from the 10th percentile and
 * the median of the batches' wall times (1000 calls, 100 round trips): on a
 * shared machine most batches that another task interrupted (or whose caches
 * it emptied) are slower than the 10th percentile, so it is the steadiest
 * figure. A benchmark helper, not a tool.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define BATCH 1000
#define PIPE_BATCH 100	/* round trips: ~1 ms, a few hundred batches per run */

static long long ns(clockid_t c)
{
	struct timespec ts;

	clock_gettime(c, &ts);
	return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static void die(const char *what)
{
	fprintf(stderr, "syscall_loop: %s: %s\n", what, strerror(errno));
	exit(1);
}

/* One batch of MODE's operation; returns the number of operations done. */
static long batch(int mode, int fd[2], int back[2])
{
	int len = mode == 2 ? PIPE_BATCH : BATCH;
	char c = 'x';
	int n;

	for (int i = 0; i < len; i++) {
		switch (mode) {
		case 0:
			/* syscall(): glibc may not call the kernel for getppid every time */
			syscall(SYS_getppid);
			break;
		case 1:
			if (ioctl(fd[0], FIONREAD, &n))
				die("ioctl FIONREAD");
			break;
		default:
			if (write(fd[1], &c, 1) != 1 || read(back[0], &c, 1) != 1)
				die("pipe ping-pong");
		}
	}
	return mode == 2 ? 2 * len : len;
}

static int cmp_ll(const void *a, const void *b)
{
	long long x = *(const long long *)a, y = *(const long long *)b;

	return (x > y) - (x < y);
}

int main(int argc, char **argv)
{
	static const char *const modes[] = { "getppid", "fionread", "pipe" };
	int mode = -1, fd[2], back[2];
	long long ops = 0, w0, c0, limit, wall, cpu, t, *bt = NULL;
	long nb = 0, cap = 0, per = 0;
	double secs = argc == 3 ? strtod(argv[2], NULL) : 0;
	pid_t child = 0;

	for (int i = 0; argc == 3 && i < 3; i++)
		if (!strcmp(argv[1], modes[i]))
			mode = i;
	if (mode < 0 || secs <= 0 || secs > 3600) {
		fprintf(stderr, "usage: syscall_loop getppid|fionread|pipe SECONDS\n");
		return 2;
	}
	if (pipe(fd) || pipe(back))
		die("pipe");
	if (mode == 2) {
		child = fork();
		if (child < 0)
			die("fork");
		if (!child) {	/* echo each byte back until the parent closes its end */
			char c;

			close(fd[1]);
			close(back[0]);
			while (read(fd[0], &c, 1) == 1)
				if (write(back[1], &c, 1) != 1)
					_exit(1);
			_exit(0);
		}
		close(fd[0]);
		close(back[1]);
	}
	/* Warm up (page faults, caches) outside the measured window. */
	batch(mode, fd, back);
	limit = (long long)(secs * 1e9);
	w0 = ns(CLOCK_MONOTONIC);
	c0 = ns(CLOCK_PROCESS_CPUTIME_ID);
	t = w0;
	do {
		long long t1;

		per = batch(mode, fd, back);
		ops += per;
		t1 = ns(CLOCK_MONOTONIC);
		if (nb == cap) {
			cap = cap ? 2 * cap : 4096;
			bt = realloc(bt, cap * sizeof(*bt));
			if (!bt)
				die("realloc");
		}
		bt[nb++] = t1 - t;
		t = t1;
	} while (t - w0 < limit);
	wall = t - w0;
	cpu = ns(CLOCK_PROCESS_CPUTIME_ID) - c0;
	if (child) {
		struct rusage ru;
		int st;

		close(fd[1]);
		if (wait4(child, &st, 0, &ru) != child || !WIFEXITED(st) || WEXITSTATUS(st))
			die("child");
		/* The child's warm-up batch is in this too: 1 of many thousands. */
		cpu += (ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1000000000LL +
		       (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) * 1000LL;
	}
	qsort(bt, nb, sizeof(*bt), cmp_ll);
	printf("%s ops %lld wall_ns %lld cpu_ns %lld p10_ns %.1f p50_ns %.1f\n", modes[mode], ops,
	       wall, cpu, (double)bt[nb / 10] / per, (double)bt[nb / 2] / per);
	free(bt);
	return 0;
}
