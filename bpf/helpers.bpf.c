// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Global BPF functions shared by the programs (declared in common.bpf.h):
 * histogram and stack aggregation, and stack classification by marker
 * functions. Verified once each, whatever the number of callers.
 */
#include "helpers.bpf.h"
#include "hist_slot.h"

static __always_inline void atomic_max(__u64 *p, __u64 v)
{
	__u64 old = *p;

	/* Bounded CAS loop: another CPU may update the same key (rare). */
	for (int i = 0; i < 4 && v > old; i++) {
		__u64 seen = __sync_val_compare_and_swap(p, old, v);

		if (seen == old)
			break;
		old = seen;
	}
}

/* The histogram of `key`, created if missing (*created = 1); NULL (counted) if the map is full. */
static __always_inline struct hist *hist_get(const struct hist_key *key, int *created)
{
	static const struct hist zero;
	struct hist *h = bpf_map_lookup_elem(&hists, key);

	if (h)
		return h;
	if (bpf_map_update_elem(&hists, key, &zero, BPF_NOEXIST) != -E2BIG)
		h = bpf_map_lookup_elem(&hists, key);
	if (!h)
		count(CNT_HIST_FULL);
	else
		*created = 1;
	return h;
}

/* One sample into a histogram shared with other CPUs (atomics only: no lock). */
static __always_inline void hist_account(struct hist *h, __u64 dur, __u64 aux)
{
	__u32 slot;

	__sync_fetch_and_add(&h->count, 1);
	__sync_fetch_and_add(&h->total_ns, dur);
	if (aux)
		__sync_fetch_and_add(&h->aux_ns, aux);
	atomic_max(&h->max_ns, dur);
	slot = mm_hist_slot(dur);
	if (slot < HIST_SLOTS)
		__sync_fetch_and_add(&h->slots[slot], 1);
}

/* Returns 1 if the histogram was created (the caller records the thread's names). */
__noinline int mm_hist_add(__u32 tid, __u32 kcs, __u64 dur, __u64 aux)
{
	struct hist_key key = { .tid = tid, .kind = KCS_KIND(kcs), .cls = KCS_CLS(kcs),
				.site = KCS_SITE(kcs) };
	struct hist *h;
	int created = 0;

	h = hist_get(&key, &created);
	if (!h)
		return 0;
	hist_account(h, dur, aux);
	return created;
}

/*
 * One wait into the lock-free table lf_hists (struct lf_hist): linear
 * probing from the key's hash, an empty entry claimed by compare-and-swap.
 * Takes no lock, so it is safe inside a held spinlock and in any context.
 * tid 0: a wait in interrupt context (its site names the context).
 */
__noinline int mm_lf_hist_add(__u32 tid, __u32 kcs, __u64 dur)
{
	__u64 key = (__u64)tid << 32 | (__u64)KCS_KIND(kcs) << 24 | KCS_CLS(kcs) << 16 |
		    KCS_SITE(kcs) << 8 | 1;
	__u32 start = (__u32)((key * 0x9E3779B97F4A7C15ULL) >> 40);

	for (__u32 p = 0; p < LF_HIST_PROBES; p++) {
		__u32 idx = (start + p) & (LF_HIST_ENTRIES - 1);
		struct lf_hist *e = bpf_map_lookup_elem(&lf_hists, &idx);
		__u64 seen;

		if (!e)
			return 0;
		seen = e->key;
		if (!seen) {
			seen = __sync_val_compare_and_swap(&e->key, 0, key);
			if (!seen) {	/* ours: only this writer fills the names */
				struct task_struct *t = (struct task_struct *)bpf_get_current_task();

				seen = key;
				if (tid) {
					e->pid = BPF_CORE_READ(t, tgid);
					BPF_CORE_READ_STR_INTO(&e->comm, t, comm);
				}
			}
		}
		if (seen != key)
			continue;
		hist_account(&e->h, dur, 0);
		return 0;
	}
	count(CNT_SPIN_HIST_FULL);
	return 0;
}

/*
 * A finished uffd ioctl of thread `tid`: counted in the thread's hot
 * histogram if it is of the hot command (the first page-moving command the
 * thread issued) and in its range, else in `hists`; its parts (the
 * breakdown, ts->io.parts) are summed there too.
 * Returns 1 if the thread's names should be recorded (first count).
 */
__noinline int mm_ioctl_hist(struct thread_state *ts, __u32 tid, __u32 nr, __u64 dur, __u64 err)
{
	struct hist_key key = { .tid = tid, .kind = KIND_IOCTL, .cls = nr & 0xff,
				.site = mm_uffd_site(nr) };
	struct hot_ioctls *h;
	struct hist *hh;
	__u32 slot;
	int bound, created = 0;

	if (!ts)
		return 0;
	h = &ts->hot;
	slot = mm_hist_slot(dur) - HOT_SLOT0;	/* wraps above HOT_SLOTS if below the range */
	/* Only page-moving commands (not API/REGISTER...) can be hot. */
	if (slot >= HOT_SLOTS || (h->cmd ? h->cmd != nr + 1 : mm_uffd_site(nr) == SITE_UFFD_OTHER)) {
		hh = hist_get(&key, &created);
		if (!hh)
			return 0;
		hist_account(hh, dur, err);
		for (int i = 0; i < NR_PARTS; i++)
			if (ts->io.parts[i])
				__sync_fetch_and_add(&hh->parts[i], ts->io.parts[i]);
		return created;
	}
	bound = !h->cmd;
	h->cmd = nr + 1;
	h->count++;
	h->total_ns += dur;
	h->errors += err;
	if (dur > h->max_ns)
		h->max_ns = dur;
	h->slots[slot]++;
	for (int i = 0; i < NR_PARTS; i++)
		h->parts[i] += ts->io.parts[i];
	return bound;
}

/* Fold the thread's hot histogram into `hists` (the thread is exiting). */
__noinline int mm_hot_fold(struct thread_state *ts, __u32 tid)
{
	struct hist_key key = { .tid = tid, .kind = KIND_IOCTL };
	struct hot_ioctls *hot;
	struct hist *h;
	int created = 0;

	if (!ts || !ts->hot.cmd || !ts->hot.count)
		return 0;
	hot = &ts->hot;
	key.cls = (hot->cmd - 1) & 0xff;
	key.site = mm_uffd_site(key.cls);
	h = hist_get(&key, &created);	/* the names were recorded when hot was bound */
	if (!h)
		return 0;
	__sync_fetch_and_add(&h->count, hot->count);
	__sync_fetch_and_add(&h->total_ns, hot->total_ns);
	__sync_fetch_and_add(&h->aux_ns, hot->errors);
	atomic_max(&h->max_ns, hot->max_ns);
	for (int i = 0; i < HOT_SLOTS; i++)
		if (hot->slots[i])
			__sync_fetch_and_add(&h->slots[HOT_SLOT0 + i], hot->slots[i]);
	for (int i = 0; i < NR_PARTS; i++)
		if (hot->parts[i])
			__sync_fetch_and_add(&h->parts[i], hot->parts[i]);
	return 0;
}

__noinline int mm_stack_add(__u32 tid, int stack_id, __u32 kcs, __u64 dur)
{
	struct stack_key key = { .tid = tid, .stack_id = stack_id, .kind = KCS_KIND(kcs),
				 .cls = KCS_CLS(kcs), .site = KCS_SITE(kcs) };
	static const struct stack_val zero;
	struct stack_val *v;

	v = bpf_map_lookup_elem(&stack_aggs, &key);
	if (!v) {
		if (bpf_map_update_elem(&stack_aggs, &key, &zero, BPF_NOEXIST) == -E2BIG) {
			count(CNT_STACK_FULL);
			return 0;
		}
		v = bpf_map_lookup_elem(&stack_aggs, &key);
		if (!v)
			return 0;
	}
	__sync_fetch_and_add(&v->count, 1);
	__sync_fetch_and_add(&v->total_ns, dur);
	atomic_max(&v->max_ns, dur);
	return 0;
}

/* Binary search of the sorted marker table; NULL if ip is in no marker. */
static __always_inline struct marker *marker_of(__u64 ip)
{
	__u32 lo = 0, hi = nr_markers;

	for (int i = 0; i < 7 && lo < hi; i++) {	/* 2^7 > MMLOCK_MAX_MARKERS */
		__u32 mid = (lo + hi) / 2;
		struct marker *m = bpf_map_lookup_elem(&markers, &mid);

		if (!m)
			return NULL;
		if (ip < m->start)
			hi = mid;
		else if (ip >= m->end)
			lo = mid + 1;
		else
			return m;
	}
	return NULL;
}

/* Ids tried for one stack: its hash, then the next ones (taken by other frames). */
#define STACK_ID_PROBES 4

/* Same frames? The kernel zeroes a stack buffer past the frames it wrote. */
static __always_inline bool same_frames(const __u64 *a, const __u64 *b)
{
	for (int i = 0; i < MMLOCK_STACK_DEPTH; i++)
		if (a[i] != b[i])
			return false;
	return true;
}

/*
 * Classify the stack in the context's per-CPU scratch buffer: the innermost
 * marker with a site names the site, the innermost marker with a class
 * refines a generic class. Unless KCS_NOSTORE, the stack is stored under our
 * own id: a hash of the frames, or the next free id if other frames hold it
 * (23-bit ids collide). Returns CLASSIFIED(id, cls, site) (id 0 if not
 * stored), or -1.
 */
__noinline int mm_classify_scratch(long nbytes, __u32 kcs)
{
	__u32 n = nbytes > 0 ? (__u64)nbytes / 8 : 0, hash = 2166136261u, id, mask;
	__u32 ectx = KCS_GET_CTX(kcs);
	__u8 cls = KCS_CLS(kcs), site = KCS_SITE(kcs);
	bool site_set = site != SITE_OTHER, cls_set;
	__u64 *ips;

	ips = bpf_map_lookup_elem(&stack_scratch, &ectx);
	if (!ips || !n)
		return -1;
	cls_set = cls != CLASS_OTHER && cls != CLASS_IO && cls != CLASS_RWSEM_WRITE &&
		  cls != CLASS_RWSEM_READ;
	for (__u32 i = 0; i < MMLOCK_STACK_DEPTH; i++) {
		struct marker *m;

		if (i >= n)
			break;
		hash = (hash ^ (__u32)ips[i]) * 16777619u;
		hash = (hash ^ (__u32)(ips[i] >> 32)) * 16777619u;
		if (site_set && cls_set)
			continue;
		m = marker_of(ips[i]);
		if (!m)
			continue;
		if (!site_set && m->site != SITE_OTHER) {
			site = m->site;
			site_set = true;
		}
		if (!cls_set && m->cls != CLASS_OTHER) {
			cls = m->cls;
			cls_set = true;
		}
	}
	if (kcs & KCS_NOSTORE)
		return CLASSIFIED(0, cls & 0xf, site & 0xf);
	mask = stack_id_mask & 0x7fffff;	/* ids fit in CLASSIFIED()'s 23 bits */
	id = hash & mask;
	for (int probe = 0; probe < STACK_ID_PROBES; probe++, id = (id + 1) & mask) {
		long err = bpf_map_update_elem(&stacks, &id, ips, BPF_NOEXIST);
		__u64 *seen;

		if (!err)
			return CLASSIFIED(id, cls & 0xf, site & 0xf);
		if (err != -EEXIST) {	/* full (-E2BIG), or the map busy on this CPU */
			count(err == -E2BIG ? CNT_STACK_FULL : CNT_STACK_FAIL);
			return -1;
		}
		seen = bpf_map_lookup_elem(&stacks, &id);
		if (seen && same_frames(seen, ips))
			return CLASSIFIED(id, cls & 0xf, site & 0xf);
	}
	count(CNT_STACK_COLLISION);
	return -1;
}
