/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Userspace side of the BPF programs' lock-free structures (struct lf_hist,
 * struct lf_slot, struct cpu_sample in include/mmlock.h): mmap-able arrays,
 * read here through their mappings. No map syscall, so reading them never
 * makes the kernel skip a BPF program on this CPU (a map syscall holds
 * bpf_prog_active while it runs).
 */
#ifndef MMLOCK_LOCKFREE_H
#define MMLOCK_LOCKFREE_H

#include <stdbool.h>
#include <stddef.h>
#include "mmlock.h"

/*
 * Per-CPU rings of fixed-size slots, each starting with its __u64 seq (the
 * publishing protocol of struct lf_slot): lf_ring and sample_ring.
 */
struct lf_ring {
	const char *base;		/* ncpu x slots slots */
	const __u64 *head;		/* per-CPU write index, in the skeleton's .bss */
	size_t slot_size, len;		/* len: mapped bytes */
	__u32 ncpu, slots;
	__u64 *tail;			/* per CPU: next index to read */
	void *copy;			/* one slot, read out of the mapping */
	__u64 lost;			/* slots overwritten or never published */
};

/* Map a ring (fd of the loaded map). 0 or -errno. */
int lf_ring_open(struct lf_ring *r, int fd, size_t slot_size, const __u64 *head, __u32 ncpu,
		 __u32 slots);
void lf_ring_close(struct lf_ring *r);
/*
 * Each slot published since the last call, copied out and checked untorn.
 * `final`: the programs are detached, so a slot not yet published never
 * will be (counted lost).
 */
void lf_ring_drain(struct lf_ring *r, bool final, void (*fn)(void *ctx, const void *slot),
		   void *ctx);

struct lf_view {
	const struct lf_hist *hists;	/* LF_HIST_ENTRIES */
	size_t hists_len;		/* mapped bytes */
	struct lf_ring events;		/* lf_ring: struct lf_slot */
	void (*fn)(void *ctx, const struct mm_event *e, const __u64 *ips, __u32 nframes);
	void *ctx;			/* of the drain in progress */
};

/* Map both arrays (fds from the loaded skeleton). 0 or -errno. */
int lf_open(struct lf_view *v, int hists_fd, int ring_fd, const __u64 *head, __u32 ncpu,
	    __u32 slots);
void lf_close(struct lf_view *v);

/* An event read from a ring: the event and its kernel stack (may be empty). */
typedef void (*lf_event_fn)(void *ctx, const struct mm_event *e, const __u64 *ips, __u32 nframes);

/* Read every published event since the last call (see lf_ring_drain). */
void lf_drain(struct lf_view *v, bool final, lf_event_fn fn, void *ctx);

/* Each claimed histogram entry: its key's fields and a copy of its histogram. */
typedef int (*lf_hist_fn)(void *ctx, const struct lf_hist *e, __u32 tid, __u8 kind, __u8 cls,
			  __u8 site);
int lf_for_each_hist(const struct lf_view *v, lf_hist_fn fn, void *ctx);

#endif
