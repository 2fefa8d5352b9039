// SPDX-License-Identifier: GPL-2.0
/*
 * uffd_churn: a held-out stress for mmlock's truth checks (tools/heldout.sh).
 *
 * It is deliberately unlike gcsim, the workload mmlock was tuned against:
 * no frames, no GC phases, no fixed chunk size. Movers ping-pong pages
 * between the two halves of each one's slice of one anonymous VMA with
 * UFFDIO_MOVE in random lengths (1..64 pages), so they all share one
 * anon_vma. Next to them, the anon_vma's other users the brief names:
 *  - a reclaim walker: MADV_PAGEOUT over the whole area (rmap walks take the
 *    anon_vma read side);
 *  - a splitter: mprotect() of a spare slice at the area's end, back and
 *    forth, splits the VMA and merges it again; both take the anon_vma (the
 *    movers' one: the halves share it) for write. (fork() would too, but it
 *    leaves the pages not anon-exclusive, and MOVE refuses those for good.)
 * Each mover counts every UFFDIO_MOVE it issues, whatever it returns: the
 * ground truth mmlock's per-thread ioctl count must equal.
 *
 * Usage: uffd_churn [--movers N] [--seconds S] [--json FILE]
 * Exit: 0 done, 2 bad usage, 3 the kernel lacks UFFDIO_MOVE or userfaultfd.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <linux/userfaultfd.h>
#include "uffd_compat.h"	/* UFFDIO_MOVE on 6.1 headers (shared with gcsim) */
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#ifndef MADV_PAGEOUT
#define MADV_PAGEOUT 21
#endif

#define SLICE_PAGES 512		/* per mover: two halves of 256 */
#define MAX_CHUNK 64
#define MAX_MOVERS 64

struct mover {
	pthread_t thr;
	int idx;
	pid_t tid;
	char name[16];
	uint64_t moves;		/* UFFDIO_MOVE ioctls issued */
	uint64_t moved_pages;
	uint64_t errors;	/* returned -1 (EAGAIN, EBUSY, EEXIST...) */
};

static int uffd;
static char *area;
static size_t page, area_len;
static atomic_int stop;
static struct mover movers[MAX_MOVERS];
static int nmovers = 2;
static pid_t walker_tid, splitter_tid;
static uint64_t walks, splits;

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* xorshift: each mover its own sequence, no shared state. */
static uint32_t rnd(uint32_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 17;
	*s ^= *s << 5;
	return *s;
}

static void *mover_main(void *arg)
{
	struct mover *m = arg;
	char *lo = area + (size_t)m->idx * SLICE_PAGES * page;
	char *hi = lo + SLICE_PAGES / 2 * page;
	uint32_t seed = 0x9e3779b9u * (m->idx + 1);
	size_t off = 0, half = SLICE_PAGES / 2;
	int dir = 0;	/* 0: lo -> hi, 1: hi -> lo */

	m->tid = syscall(SYS_gettid);
	snprintf(m->name, sizeof(m->name), "churn-mv-%d", m->idx);
	pthread_setname_np(pthread_self(), m->name);
	while (!atomic_load_explicit(&stop, memory_order_relaxed)) {
		size_t n = 1 + rnd(&seed) % MAX_CHUNK;
		struct uffdio_move mv;

		if (off + n > half)
			n = half - off;
		memset(&mv, 0, sizeof(mv));
		mv.src = (uintptr_t)((dir ? hi : lo) + off * page);
		mv.dst = (uintptr_t)((dir ? lo : hi) + off * page);
		mv.len = n * page;
		/* Holes are fine: a page the walker paged out moves as a hole. */
		mv.mode = UFFDIO_MOVE_MODE_ALLOW_SRC_HOLES;
		m->moves++;
		if (ioctl(uffd, UFFDIO_MOVE, &mv))
			m->errors++;
		if (mv.move > 0)
			m->moved_pages += mv.move / page;
		off += n;
		if (off >= half) {
			off = 0;
			dir ^= 1;
		}
	}
	return NULL;
}

static void *walker_main(void *arg)
{
	(void)arg;
	walker_tid = syscall(SYS_gettid);
	pthread_setname_np(pthread_self(), "churn-walk");
	while (!atomic_load_explicit(&stop, memory_order_relaxed)) {
		/* EINVAL on kernels without MADV_PAGEOUT: then it only yields. */
		madvise(area, area_len, MADV_PAGEOUT);
		walks++;
		usleep(1000);
	}
	return NULL;
}

static void *splitter_main(void *arg)
{
	char *spare = area + (size_t)nmovers * SLICE_PAGES * page;

	(void)arg;
	splitter_tid = syscall(SYS_gettid);
	pthread_setname_np(pthread_self(), "churn-split");
	while (!atomic_load_explicit(&stop, memory_order_relaxed)) {
		/* Split off the spare slice, then merge it back. */
		mprotect(spare, SLICE_PAGES * page, PROT_READ);
		mprotect(spare, SLICE_PAGES * page, PROT_READ | PROT_WRITE);
		splits++;
		usleep(500);
	}
	return NULL;
}

static int setup(void)
{
	struct uffdio_api api = { .api = UFFD_API, .features = 0 };
	struct uffdio_register reg;

	uffd = syscall(SYS_userfaultfd, O_CLOEXEC | UFFD_USER_MODE_ONLY);
	if (uffd < 0)
		uffd = syscall(SYS_userfaultfd, O_CLOEXEC);
	if (uffd < 0) {
		fprintf(stderr, "uffd_churn: userfaultfd: %s\n", strerror(errno));
		return 3;
	}
	if (ioctl(uffd, UFFDIO_API, &api)) {
		fprintf(stderr, "uffd_churn: UFFDIO_API: %s\n", strerror(errno));
		return 3;
	}
	if (!(api.features & UFFD_FEATURE_MOVE)) {
		fprintf(stderr, "uffd_churn: this kernel has no UFFDIO_MOVE\n");
		return 3;
	}
	page = sysconf(_SC_PAGESIZE);
	area_len = (size_t)(nmovers + 1) * SLICE_PAGES * page;	/* + the spare slice */
	area = mmap(NULL, area_len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (area == MAP_FAILED) {
		fprintf(stderr, "uffd_churn: mmap: %s\n", strerror(errno));
		return 3;
	}
	/* No THP: MOVE of a huge page splits or refuses; keep it per page. */
	madvise(area, area_len, MADV_NOHUGEPAGE);
	/* Each slice's pages start in its low half. Touched before the
	 * registration: afterwards a missing page would wait for a handler. */
	for (int m = 0; m < nmovers; m++)
		for (size_t i = 0; i < SLICE_PAGES / 2; i++)
			area[((size_t)m * SLICE_PAGES + i) * page] = (char)i;
	memset(&reg, 0, sizeof(reg));
	reg.range.start = (uintptr_t)area;
	reg.range.len = area_len;
	reg.mode = UFFDIO_REGISTER_MODE_MISSING;
	if (ioctl(uffd, UFFDIO_REGISTER, &reg)) {
		fprintf(stderr, "uffd_churn: UFFDIO_REGISTER: %s\n", strerror(errno));
		return 3;
	}
	return 0;
}

static int write_json(const char *path, uint64_t dur_ns)
{
	FILE *f = fopen(path, "w");

	if (!f) {
		fprintf(stderr, "uffd_churn: %s: %s\n", path, strerror(errno));
		return 2;
	}
	fprintf(f, "{\"pid\": %d, \"duration_ns\": %llu, \"walks\": %llu, \"splits\": %llu,\n"
		" \"walker_tid\": %d, \"splitter_tid\": %d,\n \"threads\": [",
		getpid(), (unsigned long long)dur_ns, (unsigned long long)walks,
		(unsigned long long)splits, walker_tid, splitter_tid);
	for (int i = 0; i < nmovers; i++)
		fprintf(f, "%s\n  {\"tid\": %d, \"name\": \"%s\", \"move\": %llu, \"errors\": %llu, \"pages\": %llu}",
			i ? "," : "", movers[i].tid, movers[i].name,
			(unsigned long long)movers[i].moves, (unsigned long long)movers[i].errors,
			(unsigned long long)movers[i].moved_pages);
	fprintf(f, "\n]}\n");
	return fclose(f) ? 2 : 0;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "movers", required_argument, NULL, 'm' },
		{ "seconds", required_argument, NULL, 's' },
		{ "json", required_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{}
	};
	double secs = 3;
	const char *json = NULL;
	pthread_t walker, splitter;
	uint64_t t0;
	int c, rc;

	while ((c = getopt_long(argc, argv, "m:s:j:h", opts, NULL)) != -1) {
		switch (c) {
		case 'm':
			nmovers = atoi(optarg);
			break;
		case 's':
			secs = atof(optarg);
			break;
		case 'j':
			json = optarg;
			break;
		default:
			fprintf(stderr, "usage: uffd_churn [--movers 1..%d] [--seconds S] [--json FILE]\n",
				MAX_MOVERS);
			return c == 'h' ? 0 : 2;
		}
	}
	if (nmovers < 1 || nmovers > MAX_MOVERS || !(secs > 0)) {
		fprintf(stderr, "uffd_churn: --movers must be 1..%d and --seconds > 0\n", MAX_MOVERS);
		return 2;
	}
	rc = setup();
	if (rc)
		return rc;
	t0 = now_ns();
	for (int i = 0; i < nmovers; i++) {
		movers[i].idx = i;
		pthread_create(&movers[i].thr, NULL, mover_main, &movers[i]);
	}
	pthread_create(&walker, NULL, walker_main, NULL);
	pthread_create(&splitter, NULL, splitter_main, NULL);
	usleep((useconds_t)(secs * 1e6));
	atomic_store(&stop, 1);
	for (int i = 0; i < nmovers; i++)
		pthread_join(movers[i].thr, NULL);
	pthread_join(walker, NULL);
	pthread_join(splitter, NULL);
	for (int i = 0; i < nmovers; i++)
		printf("%s tid %d: %llu UFFDIO_MOVE (%llu failed), %llu pages\n", movers[i].name,
		       movers[i].tid, (unsigned long long)movers[i].moves,
		       (unsigned long long)movers[i].errors, (unsigned long long)movers[i].moved_pages);
	printf("walker: %llu MADV_PAGEOUT passes; splitter: %llu splits\n",
	       (unsigned long long)walks, (unsigned long long)splits);
	return json ? write_json(json, now_ns() - t0) : 0;
}
