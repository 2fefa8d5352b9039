// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The moving space: a from-space and a to-space (two anonymous VMAs of the
 * same size, both registered with userfaultfd MODE_MISSING), the per-page
 * ownership states, page claiming, timed mapping ioctls and cycle flips.
 */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "gcsim.h"
#include "uffd_compat.h"

struct space space;

char *to_page(size_t idx)
{
	return space.half[space.to] + idx * space.page_size;
}

char *from_page(size_t idx)
{
	return space.half[!space.to] + idx * space.page_size;
}

bool space_in_to(const void *addr, size_t *idx)
{
	const char *p = addr, *base = space.half[space.to];

	if (p < base || p >= base + space.bytes)
		return false;
	*idx = (size_t)(p - base) / space.page_size;
	return true;
}

static int uffd_open(void)
{
	int fd = (int)syscall(SYS_userfaultfd, O_CLOEXEC | O_NONBLOCK | UFFD_USER_MODE_ONLY);

	if (fd < 0 && errno == EINVAL)	/* kernels before 5.11 */
		fd = (int)syscall(SYS_userfaultfd, O_CLOEXEC | O_NONBLOCK);
	return fd;
}

/* Features the kernel offers; UFFDIO_API can be called once per fd. */
static int uffd_probe_features(uint64_t *features)
{
	struct uffdio_api api = { .api = UFFD_API, .features = 0 };
	int fd = uffd_open();

	if (fd < 0)
		return -1;
	if (ioctl(fd, UFFDIO_API, &api)) {
		close(fd);
		return -1;
	}
	close(fd);
	*features = api.features;
	return 0;
}

static void fill_page(char *p, size_t idx)
{
	uint64_t *w = (uint64_t *)p;
	size_t i, n = space.page_size / sizeof(*w);

	/* A live "object" header (never 0) and some payload. */
	w[0] = 0x6763000000000000ull | idx;
	for (i = 1; i < n; i += 64)
		w[i] = idx * 31 + i;
}

/* Chunk order for a cycle: chunks of space.batch consecutive pages. */
static void build_order(unsigned int gen)
{
	uint64_t rng = opt.seed * 0x100000001b3ull + gen;
	size_t i, n = space.nchunks;

	for (i = 0; i < n; i++) {
		switch (opt.order) {
		case ORDER_FORWARD:
			space.order[i] = (uint32_t)i;
			break;
		default:
			space.order[i] = (uint32_t)(n - 1 - i);
			break;
		}
	}
	if (opt.order != ORDER_SHUFFLE)
		return;
	for (i = n - 1; i > 0; i--) {
		size_t j = (size_t)(rng_next(&rng) % (i + 1));
		uint32_t t = space.order[i];

		space.order[i] = space.order[j];
		space.order[j] = t;
	}
}

int space_init(void)
{
	struct uffdio_register reg;
	struct uffdio_api api;
	struct utsname uts;
	uint64_t avail = 0, want;
	char *area;
	size_t i;
	int h;

	space.page_size = (size_t)sysconf(_SC_PAGESIZE);
	space.bytes = opt.space_mb << 20;
	space.npages = space.bytes / space.page_size;
	space.batch = opt.batch_pages;
	space.nchunks = (space.npages + space.batch - 1) / space.batch;
	space.mode = opt.ioctl_mode;
	space.inject_eexist = opt.inject_eexist;
	uname(&uts);

	if (uffd_probe_features(&avail)) {
		fprintf(stderr, "gcsim: userfaultfd unavailable: %s\n", strerror(errno));
		return -1;
	}
	if (opt.force_fallback)
		avail &= ~(uint64_t)UFFD_FEATURE_MOVE;
	if (space.mode == IOCTL_MOVE && !(avail & UFFD_FEATURE_MOVE)) {
		fprintf(stderr, "gcsim: note: UFFDIO_API does not offer UFFD_FEATURE_MOVE "
			"(kernel %s%s); falling back to UFFDIO_COPY/UFFDIO_ZEROPAGE\n",
			uts.release, opt.force_fallback ? ", --force-fallback" : "");
		space.mode = IOCTL_COPY;
		space.fallback = true;
	}
	if (opt.sigbus == 1 && !(avail & UFFD_FEATURE_SIGBUS)) {
		fprintf(stderr, "gcsim: --sigbus: UFFD_FEATURE_SIGBUS not available\n");
		return -1;
	}
	space.sigbus = opt.sigbus != 0 && (avail & UFFD_FEATURE_SIGBUS);

	want = 0;
	if (space.mode == IOCTL_MOVE)
		want |= UFFD_FEATURE_MOVE;
	if (space.sigbus)
		want |= UFFD_FEATURE_SIGBUS;
	else
		want |= avail & UFFD_FEATURE_THREAD_ID;

	space.uffd = uffd_open();
	if (space.uffd < 0) {
		fprintf(stderr, "gcsim: userfaultfd: %s\n", strerror(errno));
		return -1;
	}
	memset(&api, 0, sizeof(api));
	api.api = UFFD_API;
	api.features = want;
	if (ioctl(space.uffd, UFFDIO_API, &api)) {
		fprintf(stderr, "gcsim: UFFDIO_API(features 0x%llx): %s\n",
			(unsigned long long)want, strerror(errno));
		return -1;
	}
	space.features = want;

	/* from | guard | to: the guard keeps the halves separate VMAs. */
	area = mmap(NULL, 2 * space.bytes + space.page_size, PROT_READ | PROT_WRITE,
		    MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (area == MAP_FAILED) {
		fprintf(stderr, "gcsim: mmap %lu MiB: %s\n", opt.space_mb * 2, strerror(errno));
		return -1;
	}
	mprotect(area + space.bytes, space.page_size, PROT_NONE);
	space.half[0] = area;
	space.half[1] = area + space.bytes + space.page_size;
	space.to = 1;
	for (h = 0; h < 2; h++) {
		/* One folio per page, as in ART's moving space. */
		madvise(space.half[h], space.bytes, MADV_NOHUGEPAGE);
		memset(&reg, 0, sizeof(reg));
		reg.range.start = (uintptr_t)space.half[h];
		reg.range.len = space.bytes;
		reg.mode = UFFDIO_REGISTER_MODE_MISSING;
		if (ioctl(space.uffd, UFFDIO_REGISTER, &reg)) {
			fprintf(stderr, "gcsim: UFFDIO_REGISTER: %s\n", strerror(errno));
			return -1;
		}
	}

	space.state = calloc(space.npages, 1);
	space.order = calloc(space.nchunks, sizeof(*space.order));
	if (!space.state || !space.order) {
		fprintf(stderr, "gcsim: out of memory\n");
		return -1;
	}

	/*
	 * Populate the from-space. Registered MISSING faults would go to
	 * uffd, so pages are put in place with UFFDIO_COPY (untimed setup).
	 * In copy mode every 16th page is left dead (all zero) and gets
	 * mapped with UFFDIO_ZEROPAGE during compaction.
	 */
	{
		char *buf = aligned_alloc(space.page_size, space.page_size);
		struct uffdio_copy cp;

		if (!buf)
			return -1;
		for (i = 0; i < space.npages; i++) {
			memset(buf, 0, space.page_size);
			if (space.mode == IOCTL_MOVE || i % 16 != 15)
				fill_page(buf, i);
			cp.dst = (uintptr_t)from_page(i);
			cp.src = (uintptr_t)buf;
			cp.len = space.page_size;
			cp.mode = UFFDIO_COPY_MODE_DONTWAKE;
			cp.copy = 0;
			if (ioctl(space.uffd, UFFDIO_COPY, &cp)) {
				fprintf(stderr, "gcsim: populating from-space: %s\n",
					strerror(errno));
				free(buf);
				return -1;
			}
		}
		free(buf);
	}
	build_order(0);
	atomic_store(&space.cursor, 0);
	return 0;
}

void space_destroy(void)
{
	if (space.half[0])
		munmap(space.half[0], 2 * space.bytes + space.page_size);
	if (space.uffd >= 0)
		close(space.uffd);
}

/* Dekker-style handshake with flip_cycle(): seq_cst store, then load. */
bool worker_enter(struct worker *w)
{
	for (;;) {
		atomic_store(&w->busy, 1);
		if (atomic_load(&space.phase) == PHASE_RUNNING)
			return true;
		atomic_store(&w->busy, 0);
		while (atomic_load(&space.phase) != PHASE_RUNNING) {
			if (atomic_load(&stop_flag))
				return false;
			sched_yield();
		}
	}
}

void worker_leave(struct worker *w)
{
	atomic_store(&w->busy, 0);
}

/* Next chunk of this cycle's order; returns its page count (0: none left). */
size_t claim_chunk(size_t *first)
{
	size_t i = atomic_fetch_add(&space.cursor, 1), n;

	if (i >= space.nchunks)
		return 0;
	*first = (size_t)space.order[i] * space.batch;
	n = space.npages - *first;
	return n < space.batch ? n : space.batch;
}

/* Keeps st->slowest sorted, slowest first; after warm-up almost every call
 * returns at the first comparison. */
static void note_slow_call(struct ioctl_stats *st, uint64_t at, uint64_t dur)
{
	unsigned int i = st->nslowest;

	if (i == SLOWEST_N) {
		if (dur <= st->slowest[SLOWEST_N - 1].dur_ns)
			return;
		i--;
	} else {
		st->nslowest++;
	}
	for (; i > 0 && st->slowest[i - 1].dur_ns < dur; i--)
		st->slowest[i] = st->slowest[i - 1];
	st->slowest[i].at_ns = at;
	st->slowest[i].dur_ns = dur;
}

int uffd_ioctl_timed(struct worker *w, enum uffd_ioc which,
		     unsigned long req, void *arg)
{
	struct ioctl_stats *st = &w->ioc[which];
	uint64_t t0, t1;
	int ret, err;

	t0 = now_ns();
	ret = ioctl(space.uffd, req, arg);
	err = errno;
	t1 = now_ns();
	st->count++;
	st->total_ns += t1 - t0;
	if (!st->hist.count || t1 - t0 > st->hist.max)
		st->max_at_ns = t0;
	hist_add(&st->hist, t1 - t0);
	note_slow_call(st, t0, t1 - t0);
	if (ret) {
		if (err == EEXIST)
			st->eexist++;
		else if (err != EAGAIN)
			st->errors++;
	}
	errno = err;
	return ret;
}

static bool page_resident(const void *p)
{
	unsigned char v = 0;

	if (mincore((void *)((uintptr_t)p & ~(uintptr_t)(space.page_size - 1)),
		    space.page_size, &v))
		return false;
	return v & 1;
}

static void wake_range(struct worker *w, size_t first, size_t n)
{
	struct uffdio_range r = {
		.start = (uintptr_t)to_page(first),
		.len = n * space.page_size,
	};

	if (!space.sigbus)
		uffd_ioctl_timed(w, IOC_WAKE, UFFDIO_WAKE, &r);
}

static int zeropage_one(struct worker *w, size_t idx)
{
	struct uffdio_zeropage zp = {
		.range = { .start = (uintptr_t)to_page(idx), .len = space.page_size },
	};

	if (uffd_ioctl_timed(w, IOC_ZEROPAGE, UFFDIO_ZEROPAGE, &zp) == 0)
		return 0;
	return errno == EEXIST ? 0 : -1;
}

static bool page_is_dead(size_t idx)
{
	return *(volatile uint64_t *)from_page(idx) == 0;
}

/*
 * Map n pages starting at to-space page first; returns pages done (>= 1).
 * Handles partial results, EAGAIN (retry), and EEXIST (verified with
 * mincore: the kernel may report it for a page it did move).
 */
static size_t map_some(struct worker *w, size_t first, size_t n)
{
	char *dst = to_page(first), *src = from_page(first);
	size_t len = n * space.page_size;
	int tries;

	for (tries = 0; tries < 8; tries++) {
		int64_t done;
		int ret;

		if (space.mode == IOCTL_MOVE) {
			struct uffdio_move mv = {
				.dst = (uintptr_t)dst, .src = (uintptr_t)src, .len = len,
			};

			ret = uffd_ioctl_timed(w, IOC_MOVE, UFFDIO_MOVE, &mv);
			done = mv.move;
		} else if (n == 1 && page_is_dead(first)) {
			struct uffdio_zeropage zp = {
				.range = { .start = (uintptr_t)dst, .len = len },
			};

			ret = uffd_ioctl_timed(w, IOC_ZEROPAGE, UFFDIO_ZEROPAGE, &zp);
			done = zp.zeropage;
		} else {
			struct uffdio_copy cp = {
				.dst = (uintptr_t)dst, .src = (uintptr_t)src, .len = len,
			};

			ret = uffd_ioctl_timed(w, IOC_COPY, UFFDIO_COPY, &cp);
			done = cp.copy;
		}
		if (ret == 0)
			return n;
		if (done > 0)	/* partial: the caller continues after it */
			return (size_t)done / space.page_size;
		switch (errno) {
		case EAGAIN:
		case EINTR:
			continue;
		case EEXIST:
			/* Moved anyway, or someone else mapped it: it is there. */
			if (page_resident(dst)) {
				wake_range(w, first, 1);
				return 1;
			}
			continue;
		case ENOENT:
			/* MOVE of a hole in the from-space: map zeroes. */
			if (zeropage_one(w, first) == 0)
				return 1;
			break;
		default:
			break;
		}
		/* Anything else (EBUSY on a pinned page, ...): copy the page. */
		if (space.mode == IOCTL_MOVE && n == 1) {
			struct uffdio_copy cp = {
				.dst = (uintptr_t)dst, .src = (uintptr_t)src,
				.len = space.page_size,
			};

			if (uffd_ioctl_timed(w, IOC_COPY, UFFDIO_COPY, &cp) == 0 ||
			    errno == EEXIST)
				return 1;
		}
		if (n > 1)
			return map_some(w, first, 1);
	}
	/* Give up on this page: make it readable so nobody faults forever. */
	zeropage_one(w, first);
	return 1;
}

/* Test aid: put a page at the destination first so MOVE/COPY sees EEXIST. */
static void maybe_inject_eexist(struct worker *w, size_t idx)
{
	if (!space.inject_eexist)
		return;
	if ((atomic_fetch_add(&space.inject_ctr, 1) + 1) % space.inject_eexist)
		return;
	zeropage_one(w, idx);
}

/* Map the run [first, first+n) whose pages this thread has claimed. */
static void map_claimed_run(struct worker *w, size_t first, size_t n)
{
	while (n) {
		size_t done;

		maybe_inject_eexist(w, first);
		done = map_some(w, first, n);
		if (done > n)
			done = n;
		for (size_t i = 0; i < done; i++)
			atomic_store(&space.state[first + i], PAGE_MAPPED);
		w->pages_mapped += done;
		atomic_fetch_add(&space.total_mapped, done);
		first += done;
		n -= done;
	}
}

/*
 * Claim what is still unprocessed in [first, first+n) and map it, in
 * contiguous runs. Pages claimed by other threads are left to them.
 */
void map_run(struct worker *w, size_t first, size_t n)
{
	size_t i = 0;

	while (i < n) {
		size_t run = 0;

		while (i + run < n) {
			unsigned char exp = PAGE_UNPROCESSED;

			if (!atomic_compare_exchange_strong(&space.state[first + i + run],
							    &exp, PAGE_CLAIMED))
				break;
			run++;
		}
		if (run) {
			map_claimed_run(w, first + i, run);
			i += run;
		} else {
			i++;
		}
	}
}

/* Mutator-assisted compaction of one page, or back off until it is mapped. */
void map_claimed_or_wait(struct worker *w, size_t idx)
{
	unsigned char exp = PAGE_UNPROCESSED;

	if (atomic_compare_exchange_strong(&space.state[idx], &exp, PAGE_CLAIMED)) {
		map_claimed_run(w, idx, 1);
		return;
	}
	while (atomic_load(&space.state[idx]) != PAGE_MAPPED)
		sched_yield();
	/* Marked mapped but still missing (should not happen): fill it. */
	if (!page_resident(to_page(idx)))
		zeropage_one(w, idx);
}

bool move_limit_reached(void)
{
	return opt.moves && atomic_load(&space.total_mapped) >= opt.moves;
}

/*
 * End of a cycle (called by HeapTaskDaemon once every page of the to-space
 * is mapped): stop the world of this process briefly, swap the roles of
 * the halves, release the old from-space and start the next cycle.
 */
void flip_cycle(void)
{
	unsigned int i, gen;
	size_t off;
	char *old_from;

	atomic_store(&space.phase, PHASE_FLIPPING);
	for (i = 0; i < nworkers; i++) {
		if (&workers[i] == self)
			continue;
		while (atomic_load(&workers[i].busy))
			sched_yield();
	}
	old_from = space.half[!space.to];
	space.to = !space.to;
	/*
	 * The new to-space (old from-space) must be empty: with MOVE it
	 * already is, except pages left there by EEXIST; with COPY release
	 * it the way ART does, in 8 MiB MADV_DONTNEED chunks.
	 */
	for (off = 0; off < space.bytes; off += 8u << 20) {
		size_t len = space.bytes - off < (8u << 20) ? space.bytes - off : 8u << 20;

		madvise(old_from + off, len, MADV_DONTNEED);
	}
	memset((void *)space.state, PAGE_UNPROCESSED, space.npages);
	gen = atomic_load(&space.gen) + 1;
	build_order(gen);
	atomic_store(&space.cursor, 0);
	atomic_fetch_add(&space.cycles_done, 1);
	atomic_store(&space.gen, gen);
	atomic_store(&space.phase, PHASE_RUNNING);
}
