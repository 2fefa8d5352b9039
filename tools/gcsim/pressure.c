// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Background pressure that walks rmaps and so takes the anon_vma lock for
 * read while the compaction ioctls take it for write:
 *  pageout: MADV_PAGEOUT of from-space windows; needs swap for anonymous
 *           pages, so a swapfile is created, swapped on, and always
 *           swapped off and removed at exit (stale ones are cleaned at
 *           start, see SWAP_PATH / SWAP_PID_PATH);
 *  compact: writes 1 to /proc/sys/vm/compact_memory (a trigger; nothing
 *           to restore).
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/swap.h>
#include <unistd.h>

#include "gcsim.h"

#ifndef MADV_PAGEOUT
#define MADV_PAGEOUT 21
#endif

#define SWAP_PATH	"/var/tmp/gcsim.swap"
#define SWAP_PID_PATH	"/var/tmp/gcsim.swap.pid"

atomic_ulong pressure_ops;
static pthread_t pressure_thread;
static bool pressure_running;
static bool swap_owned;

static bool swap_listed(const char *path)
{
	char line[512];
	bool found = false;
	FILE *f = fopen("/proc/swaps", "r");

	if (!f)
		return false;
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, path, strlen(path)) &&
		    (line[strlen(path)] == ' ' || line[strlen(path)] == '\t'))
			found = true;
	fclose(f);
	return found;
}

static bool any_swap_active(void)
{
	char line[512];
	int n = 0;
	FILE *f = fopen("/proc/swaps", "r");

	if (!f)
		return false;
	while (fgets(line, sizeof(line), f))
		n++;
	fclose(f);
	return n > 1;
}

/* Is pid a live gcsim? (Its comm, not its command line: works static.) */
static bool gcsim_alive(pid_t pid)
{
	char path[64], comm[32] = "";
	FILE *f;

	if (pid <= 0 || (kill(pid, 0) && errno == ESRCH))
		return false;
	snprintf(path, sizeof(path), "/proc/%d/comm", (int)pid);
	f = fopen(path, "r");
	if (!f)
		return false;
	if (!fgets(comm, sizeof(comm), f))
		comm[0] = 0;
	fclose(f);
	return !strncmp(comm, "gcsim", 5);
}

static void swap_remove(void)
{
	if (swap_listed(SWAP_PATH) && swapoff(SWAP_PATH)) {
		/* Keep the file: unlinked, it could never be swapped off. */
		fprintf(stderr, "gcsim: swapoff %s: %s\n", SWAP_PATH, strerror(errno));
		return;
	}
	unlink(SWAP_PATH);
	unlink(SWAP_PID_PATH);
}

/* A swapfile left by a SIGKILLed run: swap it off and delete it. */
void pressure_cleanup_stale(void)
{
	long pid = 0;
	FILE *f;

	if (access(SWAP_PATH, F_OK) && access(SWAP_PID_PATH, F_OK))
		return;
	f = fopen(SWAP_PID_PATH, "r");
	if (f) {
		if (fscanf(f, "%ld", &pid) != 1)
			pid = 0;
		fclose(f);
	}
	if (pid && pid != getpid() && gcsim_alive((pid_t)pid))
		return;	/* in use by a running gcsim */
	fprintf(stderr, "gcsim: removing stale %s (left by pid %ld)\n", SWAP_PATH, pid);
	swap_remove();
}

static void swap_cleanup_atexit(void)
{
	if (swap_owned) {
		swap_owned = false;
		swap_remove();
	}
}

static int write_swap_header(int fd, size_t bytes)
{
	size_t ps = space.page_size;
	unsigned char *hdr = calloc(1, ps);
	uint32_t *info;
	int ret = -1;

	if (!hdr)
		return -1;
	/* union swap_header: info at 1024 (version, last_page, nr_badpages) */
	info = (uint32_t *)(hdr + 1024);
	info[0] = 1;
	info[1] = (uint32_t)(bytes / ps - 1);
	info[2] = 0;
	memcpy(hdr + ps - 10, "SWAPSPACE2", 10);
	if (pwrite(fd, hdr, ps, 0) == (ssize_t)ps && !fsync(fd))
		ret = 0;
	free(hdr);
	return ret;
}

static int swap_create(void)
{
	size_t bytes = opt.swap_mb << 20;
	char buf[32];
	int fd, pfd, len;

	if (any_swap_active()) {
		fprintf(stderr, "gcsim: note: swap already active, not adding %s\n", SWAP_PATH);
		return 0;
	}
	pfd = open(SWAP_PID_PATH, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (pfd < 0)
		goto fail;
	len = snprintf(buf, sizeof(buf), "%d\n", (int)getpid());
	if (write(pfd, buf, (size_t)len) != len) {
		close(pfd);
		goto fail;
	}
	close(pfd);
	swap_owned = true;
	atexit(swap_cleanup_atexit);
	fd = open(SWAP_PATH, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0)
		goto fail;
	if (posix_fallocate(fd, 0, (off_t)bytes) || write_swap_header(fd, bytes)) {
		close(fd);
		goto fail;
	}
	close(fd);
	if (swapon(SWAP_PATH, 0))
		goto fail;
	fprintf(stderr, "gcsim: swapon %s (%lu MiB) for --pressure pageout\n",
		SWAP_PATH, opt.swap_mb);
	return 0;
fail:
	fprintf(stderr, "gcsim: note: no swapfile (%s); MADV_PAGEOUT of anonymous "
		"memory does nothing without swap\n", strerror(errno));
	swap_cleanup_atexit();
	return -1;
}

static void compact_memory(void)
{
	int fd = open("/proc/sys/vm/compact_memory", O_WRONLY | O_CLOEXEC);

	if (fd < 0)
		return;
	if (write(fd, "1", 1) == 1)
		atomic_fetch_add(&pressure_ops, 1);
	close(fd);
}

static void *pressure_main(void *arg)
{
	size_t win = 1u << 20, off = 0;
	unsigned int tick = 0;

	(void)arg;
	pthread_setname_np(pthread_self(), "gc-pressure");
	while (!atomic_load(&stop_flag)) {
		if (opt.pressure & PRESSURE_PAGEOUT) {
			char *from = space.half[!space.to];

			if (win > space.bytes)
				win = space.bytes;
			if (off + win > space.bytes)
				off = 0;
			if (!madvise(from + off, win, MADV_PAGEOUT))
				atomic_fetch_add(&pressure_ops, 1);
			off += win;
		}
		if ((opt.pressure & PRESSURE_COMPACT) && tick % 10 == 0)
			compact_memory();
		tick++;
		sleep_ns(10000000);
	}
	return NULL;
}

int pressure_start(void)
{
	if (opt.pressure == PRESSURE_NONE)
		return 0;
	if (opt.pressure & PRESSURE_PAGEOUT)
		swap_create();
	if (pthread_create(&pressure_thread, NULL, pressure_main, NULL))
		return -1;
	pressure_running = true;
	return 0;
}

void pressure_stop(void)
{
	if (pressure_running)
		pthread_join(pressure_thread, NULL);
	pressure_running = false;
	swap_cleanup_atexit();
}
