// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Threads that use the heap while it is being compacted: mutator-N touch
 * random pages; "ui" renders frames (moves its share of pages, then does
 * memory work) and records frame times against the frame budget.
 */
#include <time.h>

#include "gcsim.h"

/*
 * Read every cache line of n to-space pages from first (wrapping), and
 * write one word per page if asked. An access to a page that is not mapped
 * yet faults: SIGBUS (the thread maps the page itself) or a MISSING fault
 * served by uffd-handler. Time spent in such accesses is fault time.
 * Returns a checksum so the reads are not optimised away.
 */
uint64_t touch_pages(struct worker *w, size_t first, size_t n, bool write)
{
	size_t words = space.page_size / sizeof(uint64_t);
	uint64_t sum = 0;

	for (size_t k = 0; k < n; k++) {
		size_t idx = (first + k) % space.npages;
		volatile uint64_t *p = (volatile uint64_t *)to_page(idx);
		bool missing = atomic_load(&space.state[idx]) != PAGE_MAPPED;
		uint64_t t0 = missing ? now_ns() : 0;

		sum += p[0];
		for (size_t i = 8; i < words; i += 8)
			sum += p[i];
		if (write)
			p[1] = p[1] + 1;
		if (missing) {
			uint64_t d = now_ns() - t0;

			w->fault_blocked_ns += d;
			if (d > w->fault_max_ns)
				w->fault_max_ns = d;
		}
	}
	return sum;
}

void *mutator_main(void *arg)
{
	struct worker *w = arg;
	uint64_t sink = 0;

	worker_started(w);
	while (!atomic_load(&stop_flag)) {
		if (!worker_enter(w))
			break;
		for (int k = 0; k < 16; k++)
			sink += touch_pages(w, rng_next(&w->rng) % space.npages, 1, true);
		worker_leave(w);
		if (opt.mutator_pause_us)
			sleep_ns(opt.mutator_pause_us * 1000ull);
	}
	return (void *)(uintptr_t)(sink & 1);
}

static void sleep_until(uint64_t t)
{
	struct timespec ts = {
		.tv_sec = (time_t)(t / 1000000000ull),
		.tv_nsec = (long)(t % 1000000000ull),
	};

	while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL))
		if (atomic_load(&stop_flag))
			break;
}

void *ui_main(void *arg)
{
	struct worker *w = arg;
	uint64_t budget = 1000000000ull / opt.frame_hz, next, sink = 0;
	size_t work_pages = (opt.frame_work_kb * 1024 + space.page_size - 1) / space.page_size;

	worker_started(w);
	next = now_ns();
	while (!atomic_load(&stop_flag)) {
		uint64_t t0 = now_ns(), t1, ft;
		unsigned int moved = 0;

		if (!worker_enter(w))
			break;
		/* The ui thread's own share of compaction work. */
		while (moved < opt.ui_moves) {
			size_t first, n = claim_chunk(&first);

			if (!n)
				break;
			map_run(w, first, n);
			moved += n;
		}
		if (work_pages)
			sink += touch_pages(w, rng_next(&w->rng) % space.npages,
					    work_pages, true);
		worker_leave(w);
		t1 = now_ns();
		ft = t1 - t0;
		w->frames++;
		hist_add(&w->frame_hist, ft);
		if (ft > budget)
			w->janky++;
		if (ft >= 30000000ull)
			w->stalled_30ms++;
		if (ft > w->worst_frame_ns)
			w->worst_frame_ns = ft;
		if (move_limit_reached())
			atomic_store(&stop_flag, 1);
		next += budget;
		if (next < t1)		/* missed vsyncs: wait for the next one */
			next += ((t1 - next) / budget + 1) * budget;
		sleep_until(next);
	}
	return (void *)(uintptr_t)(sink & 1);
}
