// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Perfetto writer: the recording's blocker chains (model/chain.c) as flows,
 * one per hop, from the blocker's slice to the slice of the wait it explains
 * (rec->events[hop.waiter]), so the UI draws who blocked whom.
 *
 * The blocker's slice is, in this order:
 *  - its own wait that the next hop explains (the chain goes on from there);
 *  - else its kept event that covers the hop's window, the innermost one
 *    (e.g. the uffd ioctl it was in while holding the lock);
 *  - else a "blocking" slice of the window on a child track of the blocker's
 *    thread track ("mmlock · blocking"), named "blocking <waiter>: <evidence>"
 *    with the hop's parts as args. It is not put on the thread track itself:
 *    it would cut (clamp) the thread's real slices that it overlaps without
 *    nesting, and the child track is still the thread's (same utid).
 * A blocker mmlock did not follow (hop pid 0) has no known process; it gets
 * a thread track in a process of its own, pid = tid: right for the kernel
 * threads (kworker, kswapd, kcompactd) that are the usual such blockers,
 * and for a process's main thread (docs/perfetto.md).
 *
 * Trace processor binds a flow id to a slice when it parses the event that
 * carries it, in timestamp order, and ends a flow only if it has begun: the
 * blocker's side (flow_ids) is always on its slice's BEGIN, the waiter's
 * (terminating_flow_ids) on the waiter's BEGIN if the blocker's slice began
 * before it in the stream, else on the waiter's END (every blocker slice
 * begins before the waiter's wait ends: they overlap).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "output/perfetto_int.h"

static void copy_comm(char *dst, const char *src)
{
	size_t n = strnlen(src, MMLOCK_COMM_LEN - 1);

	memcpy(dst, src, n);
	dst[n] = '\0';
}

int flows_threads(struct pf_writer *w, const struct recording *rec)
{
	for (size_t c = 0; c < rec->nchains; c++) {
		for (int k = 0; k < rec->chains[c].nhops; k++) {
			const struct rec_hop *h = &rec->chains[c].hops[k];
			struct pf_thread *t = thr_find(w, h->tid);

			if (t)
				continue;
			t = thr_get(w, h->tid, h->pid ?: h->tid);
			if (!t)
				return -ENOMEM;
			t->unfollowed = !h->pid;
			copy_comm(t->comm, h->comm);
		}
	}
	return 0;
}

/* The slice of event ev in the sorted spool: its index, or -1. */
static long find_rec(const struct pf_rec *recs, size_t n, const struct rec_event *ev)
{
	size_t lo = 0, hi = n;

	while (lo < hi) {
		size_t m = lo + (hi - lo) / 2;

		if (recs[m].ts < ev->ts_ns)
			lo = m + 1;
		else
			hi = m;
	}
	for (; lo < n && recs[lo].ts == ev->ts_ns; lo++)
		if (recs[lo].tid == ev->tid && recs[lo].kind == ev->kind &&
		    recs[lo].dur == ev->dur_ns && recs[lo].cls == ev->cls)
			return (long)lo;
	return -1;
}

/* The spool's slices by thread, then start: for a blocker's covering slice. */
struct by_tid {
	const struct pf_rec *recs;
	size_t *idx;		/* positions in recs */
	__u64 *max_end;		/* the latest end among the thread's slices up to here */
	size_t n;
};

static int cmp_by_tid(const void *a, const void *b, const void *ctx)
{
	size_t i = *(const size_t *)a, j = *(const size_t *)b;
	const struct pf_rec *x = (const struct pf_rec *)ctx + i, *y = (const struct pf_rec *)ctx + j;

	if (x->tid != y->tid)
		return x->tid < y->tid ? -1 : 1;
	return (i > j) - (i < j);	/* recs are in time order */
}

static __u64 rec_end(const struct pf_rec *r)
{
	return r->ts + r->dur < r->ts ? UINT64_MAX : r->ts + r->dur;
}

static int by_tid_build(struct by_tid *bt, const struct pf_rec *recs, size_t n)
{
	bt->recs = recs;
	bt->n = n;
	bt->idx = malloc((n ?: 1) * sizeof(*bt->idx));
	bt->max_end = malloc((n ?: 1) * sizeof(*bt->max_end));
	if (!bt->idx || !bt->max_end)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++)
		bt->idx[i] = i;
	sort_array_ctx(bt->idx, n, sizeof(*bt->idx), cmp_by_tid, recs);
	for (size_t i = 0; i < n; i++) {
		__u64 e = rec_end(&recs[bt->idx[i]]);

		if (i && recs[bt->idx[i - 1]].tid == recs[bt->idx[i]].tid &&
		    bt->max_end[i - 1] > e)
			e = bt->max_end[i - 1];
		bt->max_end[i] = e;
	}
	return 0;
}

/* tid's innermost slice covering [t0, t1) (the latest to begin), or -1. */
static long covering(const struct by_tid *bt, __u32 tid, __u64 t0, __u64 t1)
{
	size_t lo = 0, hi = bt->n;

	/* The first slice of tid that begins after t0. */
	while (lo < hi) {
		size_t m = lo + (hi - lo) / 2;
		const struct pf_rec *r = &bt->recs[bt->idx[m]];

		if (r->tid < tid || (r->tid == tid && r->ts <= t0))
			lo = m + 1;
		else
			hi = m;
	}
	/* Back through those that began by t0, while one of them still ends late enough. */
	while (lo-- > 0) {
		const struct pf_rec *r = &bt->recs[bt->idx[lo]];

		if (r->tid != tid || bt->max_end[lo] < t1)
			break;
		if (rec_end(r) >= t1)
			return (long)bt->idx[lo];
	}
	return -1;
}

static int add_mark(struct pf_flows *fl, size_t *cap, struct pf_mark m)
{
	if (grow_array(&fl->marks, cap, fl->nmarks + 1, sizeof(*fl->marks)))
		return -ENOMEM;
	fl->marks[fl->nmarks++] = m;
	return 0;
}

static int cmp_mark(const void *a, const void *b)
{
	const struct pf_mark *x = a, *y = b;

	if (x->pos != y->pos)
		return x->pos < y->pos ? -1 : 1;
	if (x->type != y->type)
		return x->type - y->type;
	return (x->id > y->id) - (x->id < y->id);
}

/* The "blocking" slices made so far, by blocker and window: one slice for hops that are the same. */
struct blk_hash {
	size_t *slot;		/* block index + 1, 0 = empty */
	size_t cap;		/* a power of 2, over twice the hops */
};

static size_t blk_slot(__u32 tid, __u64 t0, __u64 t1, size_t cap)
{
	__u64 h = (t0 * 0x9E3779B97F4A7C15ULL) ^ (t1 * 0xC2B2AE3D27D4EB4FULL) ^ tid;

	return (size_t)(h ^ (h >> 29)) & (cap - 1);
}

/*
 * The "blocking" slice of [t0, t1) for hop k of chain c, on the blocker's
 * track: its record. A hop of several chains (the same wait, blocker,
 * evidence and window: several stalls waited behind one owner) shares one.
 */
static const struct pf_rec *add_block(struct pf_writer *w, struct blk_hash *bh, size_t *cap,
				      size_t *bcap, size_t c, int k, __u64 t0, __u64 t1)
{
	struct pf_flows *fl = &w->fl;
	const struct rec_hop *h = &fl->rec->chains[c].hops[k];
	struct pf_thread *t = thr_find(w, h->tid);
	size_t s = blk_slot(h->tid, t0, t1, bh->cap);
	struct pf_rec *r;

	for (; bh->slot[s]; s = (s + 1) & (bh->cap - 1)) {
		const struct pf_rec *o = &fl->blk[bh->slot[s] - 1];
		const struct pf_block *ob = &fl->blocks[bh->slot[s] - 1];
		const struct rec_hop *g = &fl->rec->chains[ob->chain].hops[ob->hop];

		if (o->tid == h->tid && o->ts == t0 && o->dur == t1 - t0 &&
		    g->waiter == h->waiter && g->why == h->why)
			return o;
	}
	if (!t || grow_array(&fl->blk, cap, fl->nblk + 1, sizeof(*fl->blk)) ||
	    grow_array(&fl->blocks, bcap, fl->nblk + 1, sizeof(*fl->blocks)))
		return NULL;
	t->blocking = true;
	fl->blocks[fl->nblk] = (struct pf_block){ .chain = c, .hop = (size_t)k };
	r = &fl->blk[fl->nblk];
	memset(r, 0, sizeof(*r));
	r->ts = t0;
	r->dur = t1 - t0;
	r->tid = h->tid;
	r->pid = t->pid;
	r->kind = PF_KIND_BLOCKING;
	r->aux = fl->nblk;
	/* Unique, after every real slice's: the slice's position (open_slice.pos). */
	r->seq = w->nrec + fl->nblk;
	bh->slot[s] = ++fl->nblk;
	return r;
}

int flows_plan(struct pf_writer *w, const struct recording *rec, struct pf_rec *recs)
{
	struct pf_flows *fl = &w->fl;
	struct by_tid bt = { 0 };
	struct blk_hash bh = { .cap = 16 };
	size_t cap = 0, bcap = 0, mcap = 0;
	int ret = 0;

	sort_recs(recs, w->nrec);
	fl->rec = rec;
	fl->recs = recs;
	if (!rec->nchains)
		return 0;
	while (bh.cap < 2 * CHAIN_MAX_HOPS * rec->nchains)
		bh.cap *= 2;
	bh.slot = calloc(bh.cap, sizeof(*bh.slot));
	ret = bh.slot ? by_tid_build(&bt, recs, w->nrec) : -ENOMEM;
	for (size_t c = 0; c < rec->nchains && !ret; c++) {
		const struct rec_chain *ch = &rec->chains[c];
		const struct rec_event *st = &rec->events[ch->event];
		__u64 w0 = st->ts_ns, w1 = st->ts_ns + st->dur_ns;

		for (int k = 0; k < ch->nhops && !ret; k++) {
			const struct rec_hop *h = &ch->hops[k];
			const struct rec_event *ev = &rec->events[h->waiter];
			const struct pf_rec *br = NULL, *wr;
			__u64 t0 = ev->ts_ns > w0 ? ev->ts_ns : w0;
			__u64 t1 = ev->ts_ns + ev->dur_ns < w1 ? ev->ts_ns + ev->dur_ns : w1;
			long wi = find_rec(recs, w->nrec, ev), bi = -1;
			__u64 bpos, id;

			/* The window of this hop is the next one's bound (chain.c's build_one). */
			w0 = t0;
			w1 = t1 > t0 ? t1 : t0;
			if (wi < 0) {
				fl->not_drawn++;	/* the waiter has no slice: the spool failed */
				continue;
			}
			wr = &recs[wi];
			if (k + 1 < ch->nhops)
				bi = find_rec(recs, w->nrec, &rec->events[ch->hops[k + 1].waiter]);
			if (bi < 0)
				bi = covering(&bt, h->tid, t0, w1);
			if (bi >= 0) {
				br = &recs[bi];
				bpos = (__u64)bi;
			} else {
				br = add_block(w, &bh, &cap, &bcap, c, k, t0, w1);
				if (!br) {
					ret = -ENOMEM;
					break;
				}
				bpos = br->seq;
			}
			id = PF_UUID(PF_FLOW, ++fl->flows);
			ret = add_mark(fl, &mcap, (struct pf_mark){
				.pos = bpos, .type = PF_MARK_OUT, .id = id, .chain = c, .hop = k });
			if (!ret)
				ret = add_mark(fl, &mcap, (struct pf_mark){
					.pos = (__u64)wi, .id = id, .chain = c, .hop = k,
					.type = cmp_rec(br, wr) < 0 ? PF_MARK_IN_BEGIN : PF_MARK_IN_END });
		}
	}
	free(bt.idx);
	free(bt.max_end);
	free(bh.slot);
	if (ret)
		return ret;
	sort_array(fl->marks, fl->nmarks, sizeof(*fl->marks), cmp_mark);
	/* In time order for the merge with the spool; blocks[] stays put (aux). */
	sort_recs(fl->blk, fl->nblk);
	return 0;
}

void flows_free(struct pf_flows *fl)
{
	free(fl->blk);
	free(fl->blocks);
	free(fl->marks);
	memset(fl, 0, sizeof(*fl));
}

void write_blocking_tracks(struct pf_writer *w)
{
	for (size_t i = 0; i < w->nthr; i++) {
		const struct pf_thread *t = &w->thr[i];

		if (t->blocking)
			write_slice_track(w, PF_UUID(PF_TRACK_BLOCKING, t->tid),
					  PF_UUID(PF_TRACK_THREAD, t->tid),
					  t->unfollowed ? "mmlock \u00b7 blocking (pid unknown)" :
					  "mmlock \u00b7 blocking", -1,
					  "what this thread did while it blocked another (blocker chains)");
	}
}

struct pos_key {
	const struct pf_flows *fl;
	__u64 pos;
};

static bool mark_before(const void *ctx, size_t i)
{
	const struct pos_key *k = ctx;

	return k->fl->marks[i].pos < k->pos;
}

const struct pf_mark *flows_at(const struct pf_flows *fl, __u64 pos, size_t *n)
{
	struct pos_key k = { fl, pos };
	size_t lo = first_not_below(fl->nmarks, &k, mark_before), e;

	for (e = lo; e < fl->nmarks && fl->marks[e].pos == pos; e++)
		;
	*n = e - lo;
	return fl->marks + lo;
}

/*
 * A hop's details: as the slice's own args (top) or as entries of a dict
 * (a blocked_by[] element), named like the JSON's chain hops.
 */
static void hop_args(struct pb *b, const struct rec_hop *h, int k, bool top)
{
	void (*u)(struct pb *, const char *, __u64) = top ? ann_uint : entry_uint;
	void (*s)(struct pb *, const char *, const char *) = top ? ann_str : entry_str;
	char buf[32];

	u(b, "hop", (__u64)k + 1);
	s(b, "evidence", label_or(hop_why_name(h->why), buf, sizeof(buf), "why", h->why));
	u(b, "overlap_ns", h->overlap_ns);
	if (h->source != HOP_PARTS_NONE) {
		s(b, "source", label_or(hop_source_name(h->source), buf, sizeof(buf),
					"source", h->source));
		u(b, "window_ns", h->window_ns);
		if (top) {
			ann_begin(b, "parts");
		} else {
			pb_begin(b, DA_DICT);
			pb_string(b, DA_NAME, "parts");
		}
		for (unsigned int i = 0; i < NR_REC_PARTS; i++)
			if (h->parts[i] || i == PART_UNEXPLAINED)
				entry_uint(b, part_name(i), h->parts[i]);
		pb_end(b);
	}
	if (h->samples) {
		s(b, "on_cpu_in", h->on_cpu_in);
		u(b, "on_cpu_samples", h->on_cpu_samples);
		u(b, "samples", h->samples);
	}
}

/* The waiter's side: one blocked_by[] entry per hop it is the waiter of (the same hop once). */
static void ann_blocked_by(struct pf_writer *w, const struct pf_mark *m, size_t n)
{
	const struct recording *rec = w->fl.rec;
	struct pb *b = &w->pb;
	bool any = false;

	for (size_t i = 0; i < n; i++) {
		const struct rec_hop *h;
		bool seen = false;

		if (m[i].type == PF_MARK_OUT)
			continue;
		h = &rec->chains[m[i].chain].hops[m[i].hop];
		/* A stall's wait is also hop 1 of the ioctl it is in: one entry. */
		for (size_t j = 0; j < i && !seen; j++) {
			const struct rec_hop *g = &rec->chains[m[j].chain].hops[m[j].hop];

			seen = m[j].type != PF_MARK_OUT && m[j].hop == m[i].hop &&
			       g->tid == h->tid && g->why == h->why && g->overlap_ns == h->overlap_ns;
		}
		if (seen)
			continue;
		if (!any)
			ann_begin(b, "blocked_by");
		any = true;
		pb_begin(b, DA_ARRAY);
		entry_uint(b, "tid", h->tid);
		entry_uint(b, "pid", h->pid);
		if (h->comm[0])
			entry_str(b, "comm", h->comm);
		hop_args(b, h, (int)m[i].hop, false);
		pb_end(b);
	}
	if (any)
		pb_end(b);
}

void flows_emit(struct pf_writer *w, __u64 pos, bool end)
{
	size_t n;
	const struct pf_mark *m = flows_at(&w->fl, pos, &n);

	for (size_t i = 0; i < n; i++) {
		if (!end && m[i].type == PF_MARK_OUT)
			pb_fixed64(&w->pb, TE_FLOW_IDS, m[i].id);
		else if ((!end && m[i].type == PF_MARK_IN_BEGIN) ||
			 (end && m[i].type == PF_MARK_IN_END))
			pb_fixed64(&w->pb, TE_TERMINATING_FLOW_IDS, m[i].id);
	}
	if (!end && n)
		ann_blocked_by(w, m, n);
}

/* A "blocking" slice's name and args: the hop, and whom it blocked. */
void ann_blocking(struct pf_writer *w, const struct pf_rec *r)
{
	const struct recording *rec = w->fl.rec;
	const struct pf_block *blk = &w->fl.blocks[r->aux];
	const struct rec_hop *h = &rec->chains[blk->chain].hops[blk->hop];
	const struct rec_event *ev = &rec->events[h->waiter];
	const struct pf_thread *wt = thr_find(w, ev->tid);
	struct pb *b = &w->pb;
	char name[96], buf[32], who[32];

	if (wt && wt->comm[0])
		snprintf(who, sizeof(who), "%s", wt->comm);
	else
		snprintf(who, sizeof(who), "%u", ev->tid);
	snprintf(name, sizeof(name), "blocking %s: %s", who,
		 label_or(hop_why_name(h->why), buf, sizeof(buf), "why", h->why));
	pb_string(b, TE_CATEGORY, "mmlock.chain");
	pb_string(b, TE_NAME, name);
	ann_uint(b, "waiter_tid", ev->tid);
	ann_str(b, "waiter", who);
	hop_args(b, h, (int)blk->hop, true);
	if (h->why == HOP_PREEMPTOR)
		/* Which part of the ioctl the preemption took is not recorded. */
		ann_str(b, "note", "the longest preemption (overlap_ns) lies somewhere in this slice");
}
