/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Userspace side of the BPF programs' lock-free structures (struct lf_hist,
 * struct lf_slot in include/mmlock.h): both maps are mmap-able arrays, read
 * here through their mappings. No map syscall, so reading them never makes
 * the kernel skip a BPF program on this CPU (a map syscall holds
 * bpf_prog_active while it runs).
 */
#ifndef MMLOCK_LOCKFREE_H
#define MMLOCK_LOCKFREE_H

#include <stdbool.h>
#include <stddef.h>
#include "mmlock.h"

struct lf_view {
	const struct lf_hist *hists;	/* LF_HIST_ENTRIES */
	const struct lf_slot *ring;	/* ncpu x slots */
	const __u64 *head;		/* lf_head[] in the skeleton's .bss */
	size_t hists_len, ring_len;	/* mapped bytes */
	__u32 ncpu, slots;
	__u64 *tail;			/* per CPU: next index to read */
	__u64 lost;			/* events overwritten or never published */
};

/* Map both arrays (fds from the loaded skeleton). 0 or -errno. */
int lf_open(struct lf_view *v, int hists_fd, int ring_fd, const __u64 *head, __u32 ncpu,
	    __u32 slots);
void lf_close(struct lf_view *v);

/* An event read from a ring: the event and its kernel stack (may be empty). */
typedef void (*lf_event_fn)(void *ctx, const struct mm_event *e, const __u64 *ips, __u32 nframes);

/*
 * Read every published event since the last call. `final`: the programs are
 * detached, so a slot not yet published never will be (counted lost).
 */
void lf_drain(struct lf_view *v, bool final, lf_event_fn fn, void *ctx);

/* Each claimed histogram entry: its key's fields and a copy of its histogram. */
typedef int (*lf_hist_fn)(void *ctx, const struct lf_hist *e, __u32 tid, __u8 kind, __u8 cls,
			  __u8 site);
int lf_for_each_hist(const struct lf_view *v, lf_hist_fn fn, void *ctx);

#endif
