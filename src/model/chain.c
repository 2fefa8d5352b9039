// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * [chains] Who held it, and what were they doing (docs/chains.md).
 *
 * A stall's chain is read from the recording alone, hop by hop:
 *  - the blocker: a lock wait's owner (the owner field as the wait began),
 *    else the waker of the last sleep inside the wait (the lock's releaser
 *    wakes its waiter); a D-state period's waker; for a uffd ioctl, the
 *    blocker of its longest kept wait, else who ran at its longest
 *    preemption;
 *  - what the blocker did meanwhile: its uffd ioctl clock read by BPF at
 *    the wait's start and end (exact, cut at its switch points), else the
 *    blocker's own kept waits overlapping the window (the rest unseen);
 *    and its most sampled function there;
 *  - the next hop: the blocker's own kept wait that overlapped the window
 *    most, explained the same way, to CHAIN_MAX_HOPS.
 * Nothing here guesses: a hop with no evidence is not made, and each hop
 * names its evidence and how long it overlapped.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "model/recording.h"
#include "lib/util.h"

static const char *const why_names[NR_HOP_WHYS] = { "owner", "waker", "preemptor" };
static const char *const source_names[] = { "none", "ioctl_clock", "events" };

const char *hop_why_name(unsigned int why)
{
	return why < NR_HOP_WHYS ? why_names[why] : NULL;
}

const char *hop_source_name(unsigned int src)
{
	return src < sizeof(source_names) / sizeof(source_names[0]) ? source_names[src] : NULL;
}

/* The threads' own waits (lock waits of threads, D-state periods) by tid, then start. */
struct waits {
	const struct recording *rec;
	size_t *idx;
	size_t n;
};

static int cmp_wait(const void *a, const void *b, const void *ctx)
{
	const struct recording *rec = ctx;
	const struct rec_event *x = &rec->events[*(const size_t *)a];
	const struct rec_event *y = &rec->events[*(const size_t *)b];

	if (x->tid != y->tid)
		return x->tid < y->tid ? -1 : 1;
	return (x->ts_ns > y->ts_ns) - (x->ts_ns < y->ts_ns);
}

static bool is_wait(const struct rec_event *e)
{
	return (e->kind == KIND_LOCK && e->tid) || e->kind == KIND_DSTATE;
}

static int waits_index(struct waits *w, const struct recording *rec)
{
	w->rec = rec;
	w->n = 0;
	w->idx = malloc((rec->nevents ?: 1) * sizeof(*w->idx));
	if (!w->idx)
		return -ENOMEM;
	for (size_t i = 0; i < rec->nevents; i++)
		if (is_wait(&rec->events[i]))
			w->idx[w->n++] = i;
	sort_array_ctx(w->idx, w->n, sizeof(*w->idx), cmp_wait, rec);
	return 0;
}

struct tid_key {
	const struct waits *w;
	__u32 tid;
};

static bool wait_before(const void *ctx, size_t i)
{
	const struct tid_key *k = ctx;

	return k->w->rec->events[k->w->idx[i]].tid < k->tid;
}

/* [*lo, *hi) of tid's waits in w->idx. */
static void waits_of(const struct waits *w, __u32 tid, size_t *lo, size_t *hi)
{
	struct tid_key k = { w, tid };
	size_t a = first_not_below(w->n, &k, wait_before);

	*lo = a;
	while (a < w->n && w->rec->events[w->idx[a]].tid == tid)
		a++;
	*hi = a;
}

static __u64 end_of(const struct rec_event *e)
{
	return e->ts_ns + e->dur_ns;
}

static __u64 overlap(__u64 a0, __u64 a1, __u64 b0, __u64 b1)
{
	__u64 lo = a0 > b0 ? a0 : b0, hi = a1 < b1 ? a1 : b1;

	return hi > lo ? hi - lo : 0;
}

/* The waker of the last sleep of e's thread inside the wait e (its releaser), or 0. */
static const struct rec_event *last_sleep(const struct waits *w, const struct rec_event *e)
{
	const struct rec_event *best = NULL;
	size_t lo, hi;

	waits_of(w, e->tid, &lo, &hi);
	for (size_t k = lo; k < hi; k++) {
		const struct rec_event *d = &w->rec->events[w->idx[k]];

		if (d->kind != KIND_DSTATE || !d->other_tid || d->ts_ns < e->ts_ns ||
		    d->ts_ns >= end_of(e))
			continue;
		if (!best || d->ts_ns > best->ts_ns)
			best = d;
	}
	return best;
}

/* Has tid kept waits from outside the filter? Its pid from them. */
static bool has_outside(const struct waits *w, __u32 tid, __u32 *pid)
{
	size_t lo, hi;

	waits_of(w, tid, &lo, &hi);
	for (size_t k = lo; k < hi; k++)
		if (w->rec->events[w->idx[k]].outside) {
			*pid = w->rec->events[w->idx[k]].pid;
			return true;
		}
	return false;
}

/* What tid's own kept waits covered of [t0, t1): into parts (the rest unexplained). */
static void parts_from_waits(const struct waits *w, __u32 tid, __u64 t0, __u64 t1, __u64 *parts)
{
	size_t lo, hi;

	memset(parts, 0, NR_REC_PARTS * sizeof(*parts));
	waits_of(w, tid, &lo, &hi);
	for (size_t k = lo; k < hi; k++) {
		const struct rec_event *f = &w->rec->events[w->idx[k]];
		__u64 o = overlap(f->ts_ns, end_of(f), t0, t1);

		if (!o || f->cls >= NR_CLASSES)
			continue;
		/* A sleep inside a lock wait: that wait (kept too, and longer) counts it. */
		if (f->kind == KIND_DSTATE && f->flags)
			continue;
		parts[f->kind == KIND_LOCK && f->cls == CLASS_SPIN ? PART_LOCK_SPIN : f->cls] += o;
	}
	parts_settle(parts, t1 - t0);
}

struct sample_key {
	const struct recording *rec;
	__u64 ts;
};

static bool sample_before(const void *ctx, size_t i)
{
	const struct sample_key *k = ctx;

	return k->rec->cpu_samples[i].ts_ns < k->ts;
}

/* tid's samples in [t0, t1): its most sampled function into h. */
static void samples_in(const struct recording *rec, __u32 tid, __u64 t0, __u64 t1,
		       struct rec_hop *h)
{
	char best[sizeof(h->on_cpu_in)] = "", func[sizeof(h->on_cpu_in)];
	struct sample_key k = { rec, t0 };
	__u32 nbest = 0;
	size_t lo = first_not_below(rec->ncpu_samples, &k, sample_before);

	h->samples = 0;
	for (size_t i = lo; i < rec->ncpu_samples && rec->cpu_samples[i].ts_ns < t1; i++) {
		const struct rec_cpu_sample *s = &rec->cpu_samples[i];
		__u32 n = 0;

		if (s->tid != tid || !s->nframes)
			continue;
		h->samples++;
		frame_func(s->frames[0], func, sizeof(func));
		if (!strcmp(func, best))
			continue;	/* counted below, once per distinct leaf */
		/* Few samples fall in one window: counting each leaf afresh is cheap. */
		for (size_t j = lo; j < rec->ncpu_samples && rec->cpu_samples[j].ts_ns < t1; j++) {
			const struct rec_cpu_sample *q = &rec->cpu_samples[j];
			char f2[sizeof(func)];

			if (q->tid == tid && q->nframes &&
			    !strcmp(frame_func(q->frames[0], f2, sizeof(f2)), func))
				n++;
		}
		if (n > nbest) {
			nbest = n;
			snprintf(best, sizeof(best), "%s", func);
		}
	}
	snprintf(h->on_cpu_in, sizeof(h->on_cpu_in), "%s", best);
	h->on_cpu_samples = nbest;
}

/*
 * The hop that explains wait e (index ei), inside the window [w0, w1) of
 * the hop before: 0, or -1 if there is no evidence of a blocker.
 */
static int explain(const struct waits *w, size_t ei, __u64 w0, __u64 w1, struct rec_hop *h)
{
	const struct recording *rec = w->rec;
	const struct rec_event *e = &rec->events[ei];
	const struct rec_thread *bt;
	__u64 t0 = e->ts_ns > w0 ? e->ts_ns : w0, t1 = end_of(e) < w1 ? end_of(e) : w1;

	memset(h, 0, sizeof(*h));
	h->waiter = ei;
	if (e->kind == KIND_LOCK && e->tid && e->other_tid) {
		const struct rec_event *d = last_sleep(w, e);

		h->tid = e->other_tid;
		h->why = HOP_OWNER;
		memcpy(h->comm, e->by_comm, sizeof(h->comm));
		/* The lock changed hands: the task whose release woke the waiter. */
		if (d && d->other_tid != h->tid) {
			h->released_by = d->other_tid;
			memcpy(h->released_comm, d->by_comm, sizeof(h->released_comm));
		}
		if (e->by_ns) {
			h->source = HOP_PARTS_IOCTL;
			h->window_ns = e->by_ns;
			memcpy(h->parts, e->parts, sizeof(h->parts));
			t0 = e->ts_ns;
			t1 = e->ts_ns + e->by_ns;
		}
	} else if (e->kind == KIND_LOCK && e->tid) {
		const struct rec_event *d = last_sleep(w, e);

		if (!d)
			return -1;
		h->tid = d->other_tid;
		h->why = HOP_WAKER;
		memcpy(h->comm, d->by_comm, sizeof(h->comm));
	} else if (e->kind == KIND_DSTATE && e->other_tid) {
		h->tid = e->other_tid;
		h->why = HOP_WAKER;
		memcpy(h->comm, e->by_comm, sizeof(h->comm));
	} else {
		return -1;
	}
	if (h->tid == e->tid || t1 <= t0)
		return -1;
	h->overlap_ns = overlap(e->ts_ns, end_of(e), w0, w1);
	bt = recording_find_thread(rec, h->tid);
	if (!bt && has_outside(w, h->tid, &h->pid)) {
		/* Outside the filter, but its long sleeping-lock waits were kept. */
		h->source = h->source ?: HOP_PARTS_EVENTS;
	}
	if (bt) {
		h->pid = bt->pid;
		if (!h->comm[0])
			memcpy(h->comm, bt->comm, sizeof(h->comm));
	}
	if (h->source == HOP_PARTS_NONE && bt)
		h->source = HOP_PARTS_EVENTS;	/* followed: its own waits would have been kept */
	if (h->source == HOP_PARTS_EVENTS) {
		h->window_ns = t1 - t0;
		parts_from_waits(w, h->tid, t0, t1, h->parts);
	}
	samples_in(rec, h->tid, t0, t1, h);
	return 0;
}

/* The blocker's own wait that overlapped [t0, t1) most (a lock wait on a tie), or -1. */
static long next_waiter(const struct waits *w, __u32 tid, __u64 t0, __u64 t1)
{
	long best = -1;
	__u64 most = 0;
	size_t lo, hi;

	waits_of(w, tid, &lo, &hi);
	for (size_t k = lo; k < hi; k++) {
		const struct rec_event *f = &w->rec->events[w->idx[k]];
		__u64 o = overlap(f->ts_ns, end_of(f), t0, t1);

		if (o > most || (o && o == most && f->kind == KIND_LOCK)) {
			most = o;
			best = (long)w->idx[k];
		}
	}
	return best;
}

/* The longest kept wait of an ioctl's thread inside it, or -1. */
static long inner_wait(const struct waits *w, const struct rec_event *io)
{
	long best = -1;
	__u64 longest = 0;
	size_t lo, hi;

	waits_of(w, io->tid, &lo, &hi);
	for (size_t k = lo; k < hi; k++) {
		const struct rec_event *f = &w->rec->events[w->idx[k]];

		if (f->ts_ns >= io->ts_ns && end_of(f) <= end_of(io) && f->dur_ns > longest) {
			longest = f->dur_ns;
			best = (long)w->idx[k];
		}
	}
	return best;
}

static bool in_chain(const struct rec_chain *c, __u32 tid, __u32 root_tid)
{
	if (tid == root_tid)
		return true;
	for (int i = 0; i < c->nhops; i++)
		if (c->hops[i].tid == tid)
			return true;
	return false;
}

static void build_one(const struct waits *w, size_t ei, struct rec_chain *c)
{
	const struct rec_event *e = &w->rec->events[ei];
	__u64 w0 = e->ts_ns, w1 = end_of(e);
	long wi = (long)ei;

	c->event = ei;
	c->nhops = 0;
	if (e->kind == KIND_IOCTL) {
		wi = inner_wait(w, e);
		if (wi < 0) {
			struct rec_hop *h = &c->hops[0];
			const struct rec_thread *bt;

			/* No wait kept inside it: the longest preemption is the one lead. */
			if (!e->other_tid || e->other_tid == e->tid || !e->by_ns)
				return;

			memset(h, 0, sizeof(*h));
			h->waiter = ei;
			h->tid = e->other_tid;
			h->why = HOP_PREEMPTOR;
			memcpy(h->comm, e->by_comm, sizeof(h->comm));
			h->overlap_ns = e->by_ns;
			/* pid 0 says "not followed": a followed preemptor has its own. */
			bt = recording_find_thread(w->rec, h->tid);
			if (bt) {
				h->pid = bt->pid;
				if (!h->comm[0])
					memcpy(h->comm, bt->comm, sizeof(h->comm));
			}
			c->nhops = 1;
			return;
		}
	}
	while (c->nhops < CHAIN_MAX_HOPS && wi >= 0) {
		struct rec_hop *h = &c->hops[c->nhops];
		__u64 t0, t1;

		if (explain(w, (size_t)wi, w0, w1, h) || in_chain(c, h->tid, e->tid))
			break;
		c->nhops++;
		t0 = w->rec->events[wi].ts_ns > w0 ? w->rec->events[wi].ts_ns : w0;
		t1 = end_of(&w->rec->events[wi]) < w1 ? end_of(&w->rec->events[wi]) : w1;
		w0 = t0;
		w1 = t1;
		wi = next_waiter(w, h->tid, w0, w1);
	}
}

static bool is_stall(const struct recording *rec, const struct rec_event *e)
{
	return e->dur_ns >= rec->chain_min_ns && !e->outside &&
	       ((e->kind == KIND_LOCK && e->tid) || e->kind == KIND_DSTATE || e->kind == KIND_IOCTL);
}

static int cmp_dur_desc(const void *a, const void *b, const void *ctx)
{
	const struct recording *rec = ctx;
	const struct rec_event *x = &rec->events[*(const size_t *)a];
	const struct rec_event *y = &rec->events[*(const size_t *)b];

	return (x->dur_ns < y->dur_ns) - (x->dur_ns > y->dur_ns);
}

static int cmp_size(const void *a, const void *b)
{
	size_t x = *(const size_t *)a, y = *(const size_t *)b;

	return (x > y) - (x < y);
}

int chains_build(struct recording *rec)
{
	struct waits w;
	size_t *stalls, n = 0;

	free(rec->chains);
	rec->chains = NULL;
	rec->nchains = rec->chains_cap = 0;
	rec->chains_not_built = 0;
	if (!rec->chain_min_ns)
		rec->chain_min_ns = CHAIN_MIN_DEFAULT_NS;
	stalls = malloc((rec->nevents ?: 1) * sizeof(*stalls));
	if (!stalls || waits_index(&w, rec)) {
		free(stalls);
		return -ENOMEM;
	}
	for (size_t i = 0; i < rec->nevents; i++)
		if (is_stall(rec, &rec->events[i]))
			stalls[n++] = i;
	if (n > CHAIN_MAX) {
		/* The worst CHAIN_MAX, then back in event order (chain_of's search). */
		sort_array_ctx(stalls, n, sizeof(*stalls), cmp_dur_desc, rec);
		rec->chains_not_built = n - CHAIN_MAX;
		n = CHAIN_MAX;
		sort_array(stalls, n, sizeof(*stalls), cmp_size);
	}
	if (n && grow_array(&rec->chains, &rec->chains_cap, n, sizeof(*rec->chains))) {
		free(stalls);
		free(w.idx);
		return -ENOMEM;
	}
	for (size_t i = 0; i < n; i++) {
		struct rec_chain *c = &rec->chains[rec->nchains];

		build_one(&w, stalls[i], c);
		if (c->nhops)
			rec->nchains++;
	}
	free(stalls);
	free(w.idx);
	return 0;
}

struct chain_key {
	const struct recording *rec;
	size_t event;
};

static bool chain_before(const void *ctx, size_t i)
{
	const struct chain_key *k = ctx;

	return k->rec->chains[i].event < k->event;
}

const struct rec_chain *chain_of(const struct recording *rec, size_t i)
{
	struct chain_key k = { rec, i };
	size_t at = first_not_below(rec->nchains, &k, chain_before);

	return at < rec->nchains && rec->chains[at].event == i ? &rec->chains[at] : NULL;
}
