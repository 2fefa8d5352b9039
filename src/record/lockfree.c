// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include "record/lockfree.h"

static size_t page_round(size_t n)
{
	size_t pg = (size_t)sysconf(_SC_PAGESIZE);

	return (n + pg - 1) / pg * pg;
}

static void *map_ro(int fd, size_t len)
{
	void *p = mmap(NULL, len, PROT_READ, MAP_SHARED, fd, 0);

	return p == MAP_FAILED ? NULL : p;
}

int lf_open(struct lf_view *v, int hists_fd, int ring_fd, const __u64 *head, __u32 ncpu,
	    __u32 slots)
{
	memset(v, 0, sizeof(*v));
	if (!ncpu || ncpu > LF_MAX_CPUS || !slots || (slots & (slots - 1)))
		return -EINVAL;
	v->hists_len = page_round(LF_HIST_ENTRIES * sizeof(struct lf_hist));
	v->ring_len = page_round((size_t)ncpu * slots * sizeof(struct lf_slot));
	v->head = head;
	v->ncpu = ncpu;
	v->slots = slots;
	v->tail = calloc(ncpu, sizeof(*v->tail));
	if (!v->tail)
		return -ENOMEM;
	v->hists = map_ro(hists_fd, v->hists_len);
	if (v->hists)
		v->ring = map_ro(ring_fd, v->ring_len);
	if (!v->ring) {
		int err = -errno;

		lf_close(v);
		return err;
	}
	return 0;
}

void lf_close(struct lf_view *v)
{
	if (v->hists)
		munmap((void *)v->hists, v->hists_len);
	if (v->ring)
		munmap((void *)v->ring, v->ring_len);
	free(v->tail);
	memset(v, 0, sizeof(*v));
}

void lf_drain(struct lf_view *v, bool final, lf_event_fn fn, void *ctx)
{
	for (__u32 cpu = 0; v->ring && cpu < v->ncpu; cpu++) {
		__u64 head = __atomic_load_n(&v->head[cpu], __ATOMIC_ACQUIRE), t = v->tail[cpu];

		if (head - t > v->slots) {	/* lapped while we slept */
			v->lost += head - t - v->slots;
			t = head - v->slots;
		}
		for (; t < head; t++) {
			const struct lf_slot *sl = &v->ring[(size_t)cpu * v->slots + (t & (v->slots - 1))];
			__u64 seq = __atomic_load_n(&sl->seq, __ATOMIC_ACQUIRE);
			struct lf_slot copy;

			if (seq < t + 1 && !final)
				break;	/* still being written: read it next time */
			if (seq != t + 1) {	/* overwritten, or never published */
				v->lost++;
				continue;
			}
			memcpy(&copy, sl, sizeof(copy));
			__atomic_thread_fence(__ATOMIC_ACQUIRE);
			if (__atomic_load_n(&sl->seq, __ATOMIC_RELAXED) != t + 1) {	/* torn */
				v->lost++;
				continue;
			}
			if (copy.nframes > MMLOCK_STACK_DEPTH)
				copy.nframes = MMLOCK_STACK_DEPTH;
			fn(ctx, &copy.e, copy.ips, copy.nframes);
		}
		v->tail[cpu] = t;
	}
}

int lf_for_each_hist(const struct lf_view *v, lf_hist_fn fn, void *ctx)
{
	for (size_t i = 0; v->hists && i < LF_HIST_ENTRIES; i++) {
		const struct lf_hist *e = &v->hists[i];
		__u64 key = __atomic_load_n(&e->key, __ATOMIC_ACQUIRE);
		struct lf_hist copy;
		int err;

		if (!key)
			continue;
		memcpy(&copy, e, sizeof(copy));
		copy.comm[MMLOCK_COMM_LEN - 1] = 0;
		err = fn(ctx, &copy, key >> 32, key >> 24, key >> 16, key >> 8);
		if (err)
			return err;
	}
	return 0;
}
