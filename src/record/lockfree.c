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

int lf_ring_open(struct lf_ring *r, int fd, size_t slot_size, const __u64 *head, __u32 ncpu,
		 __u32 slots)
{
	memset(r, 0, sizeof(*r));
	if (!ncpu || ncpu > LF_MAX_CPUS || !slots || (slots & (slots - 1)) ||
	    slot_size < sizeof(__u64))
		return -EINVAL;
	r->len = page_round((size_t)ncpu * slots * slot_size);
	r->head = head;
	r->slot_size = slot_size;
	r->ncpu = ncpu;
	r->slots = slots;
	r->tail = calloc(ncpu, sizeof(*r->tail));
	r->copy = malloc(slot_size);
	if (r->tail && r->copy)
		r->base = map_ro(fd, r->len);
	if (!r->base) {
		int err = r->tail && r->copy ? -errno : -ENOMEM;

		lf_ring_close(r);
		return err;
	}
	return 0;
}

void lf_ring_close(struct lf_ring *r)
{
	if (r->base)
		munmap((void *)r->base, r->len);
	free(r->tail);
	free(r->copy);
	memset(r, 0, sizeof(*r));
}

void lf_ring_drain(struct lf_ring *r, bool final, void (*fn)(void *ctx, const void *slot),
		   void *ctx)
{
	for (__u32 cpu = 0; r->base && cpu < r->ncpu; cpu++) {
		__u64 head = __atomic_load_n(&r->head[cpu], __ATOMIC_ACQUIRE), t = r->tail[cpu];

		if (head - t > r->slots) {	/* lapped while we slept */
			r->lost += head - t - r->slots;
			t = head - r->slots;
		}
		for (; t < head; t++) {
			const char *sl = r->base + ((size_t)cpu * r->slots + (t & (r->slots - 1))) *
						   r->slot_size;
			__u64 seq = __atomic_load_n((const __u64 *)sl, __ATOMIC_ACQUIRE);

			if (seq < t + 1 && !final)
				break;	/* still being written: read it next time */
			if (seq != t + 1) {	/* overwritten, or never published */
				r->lost++;
				continue;
			}
			memcpy(r->copy, sl, r->slot_size);
			__atomic_thread_fence(__ATOMIC_ACQUIRE);
			if (__atomic_load_n((const __u64 *)sl, __ATOMIC_RELAXED) != t + 1) {	/* torn */
				r->lost++;
				continue;
			}
			fn(ctx, r->copy);
		}
		r->tail[cpu] = t;
	}
}

int lf_open(struct lf_view *v, int hists_fd, int ring_fd, const __u64 *head, __u32 ncpu,
	    __u32 slots)
{
	int err;

	memset(v, 0, sizeof(*v));
	err = lf_ring_open(&v->events, ring_fd, sizeof(struct lf_slot), head, ncpu, slots);
	if (err)
		return err;
	v->hists_len = page_round(LF_HIST_ENTRIES * sizeof(struct lf_hist));
	v->hists = map_ro(hists_fd, v->hists_len);
	if (!v->hists) {
		err = -errno;
		lf_close(v);
		return err;
	}
	return 0;
}

void lf_close(struct lf_view *v)
{
	if (v->hists)
		munmap((void *)v->hists, v->hists_len);
	lf_ring_close(&v->events);
	memset(v, 0, sizeof(*v));
}

static void lf_slot_event(void *ctx, const void *slot)
{
	const struct lf_view *v = ctx;
	const struct lf_slot *sl = slot;

	v->fn(v->ctx, &sl->e, sl->ips, sl->nframes > MMLOCK_STACK_DEPTH ? MMLOCK_STACK_DEPTH :
									  sl->nframes);
}

void lf_drain(struct lf_view *v, bool final, lf_event_fn fn, void *ctx)
{
	v->fn = fn;
	v->ctx = ctx;
	lf_ring_drain(&v->events, final, lf_slot_event, v);
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
