// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * GC threads: HeapTaskDaemon (index 0, also ends each cycle) and
 * GCWorker-N. Each claims distinct chunks of the shared compaction order
 * and maps them into the to-space, one ioctl per contiguous run.
 */
#include <sched.h>

#include "gcsim.h"

static void request_stop(void)
{
	atomic_store(&stop_flag, 1);
}

/* HeapTaskDaemon: map whatever nobody mapped yet, then flip or stop. */
static void finish_cycle(struct worker *w)
{
	size_t i;

	if (!worker_enter(w))
		return;
	for (i = 0; i < space.npages; i++) {
		unsigned char s = atomic_load(&space.state[i]);

		if (s == PAGE_MAPPED)
			continue;
		if (s == PAGE_UNPROCESSED)
			map_run(w, i, 1);
		while (atomic_load(&space.state[i]) != PAGE_MAPPED)
			sched_yield();
	}
	worker_leave(w);
	if (atomic_load(&stop_flag))
		return;
	if (opt.cycles && atomic_load(&space.cycles_done) + 1 >= opt.cycles) {
		atomic_fetch_add(&space.cycles_done, 1);
		request_stop();
		return;
	}
	flip_cycle();
}

void *gc_thread_main(void *arg)
{
	struct worker *w = arg;

	worker_started(w);
	while (!atomic_load(&stop_flag)) {
		unsigned int gen;
		size_t first, n;

		if (!worker_enter(w))
			break;
		gen = atomic_load(&space.gen);
		n = claim_chunk(&first);
		if (n)
			map_run(w, first, n);
		worker_leave(w);
		if (move_limit_reached())
			request_stop();
		if (n)
			continue;
		/* This cycle's order is exhausted. */
		if (w->index == 0) {
			finish_cycle(w);
			continue;
		}
		while (atomic_load(&space.gen) == gen && !atomic_load(&stop_flag))
			sleep_ns(100000);
	}
	return NULL;
}
