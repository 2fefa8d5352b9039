// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Perfetto writer: slices on thread tracks in time order, and the summary. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "output/perfetto_int.h"

struct slice_ctx {
	struct pf_writer *w;
	const char *frames;
	__u64 frames_len;
	struct open_slice *heap;
	size_t nheap, capheap;
};

static bool heap_before(const struct open_slice *a, const struct open_slice *b)
{
	if (a->end != b->end)
		return a->end < b->end;
	if (a->depth != b->depth)
		return a->depth > b->depth;	/* inner slices close first */
	return a->seq < b->seq;
}

static int heap_push(struct slice_ctx *c, struct open_slice s)
{
	size_t i;

	if (grow_array(&c->heap, &c->capheap, c->nheap + 1, sizeof(*c->heap)))
		return -ENOMEM;
	i = c->nheap++;
	while (i && heap_before(&s, &c->heap[(i - 1) / 2])) {
		c->heap[i] = c->heap[(i - 1) / 2];
		i = (i - 1) / 2;
	}
	c->heap[i] = s;
	return 0;
}

static struct open_slice heap_pop(struct slice_ctx *c)
{
	struct open_slice top = c->heap[0], last = c->heap[--c->nheap];
	size_t i = 0, k;

	while ((k = 2 * i + 1) < c->nheap) {
		if (k + 1 < c->nheap && heap_before(&c->heap[k + 1], &c->heap[k]))
			k++;
		if (!heap_before(&c->heap[k], &last))
			break;
		c->heap[i] = c->heap[k];
		i = k;
	}
	if (c->nheap)
		c->heap[i] = last;
	return top;
}

static void emit_end(struct slice_ctx *c, const struct open_slice *s)
{
	struct pf_writer *w = c->w;
	struct pf_thread *t = &w->thr[s->thr];
	size_t *n = s->blocking ? &t->nbstk : &t->nstk;

	if (*n)
		--*n;
	pkt_begin(w, S_SLICES, s->end);
	pb_begin(&w->pb, TP_TRACK_EVENT);
	pb_uint(&w->pb, TE_TYPE, TYPE_SLICE_END);
	pb_uint(&w->pb, TE_TRACK_UUID, PF_UUID(s->blocking ? PF_TRACK_BLOCKING : PF_TRACK_THREAD,
					       t->tid));
	flows_emit(w, s->pos, true);
	pb_end(&w->pb);
	pkt_end(w);
}

static void close_until(struct slice_ctx *c, __u64 ts)
{
	while (c->nheap && c->heap[0].end <= ts) {
		struct open_slice s = heap_pop(c);

		emit_end(c, &s);
	}
}

static void lock_flags_str(char *buf, size_t n, __u32 f)
{
	static const char *const names[] = { "spin", "read", "write", "rt", "percpu", "mutex" };
	size_t len = 0;

	buf[0] = '\0';
	for (unsigned int i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (f & (1U << i))
			len += snprintf(buf + len, len < n ? n - len : 0, "%s%s",
					len ? "|" : "", names[i]);
}

/* An ioctl's breakdown (parts.c): the named parts that are not zero, and the remainder always. */
static void ann_parts(struct pb *b, const struct pf_rec *r, const char *frames, size_t len)
{
	__u64 parts[NR_REC_PARTS];

	if (!r->has_parts || !frames || r->frames_off + sizeof(parts) > len)
		return;
	memcpy(parts, frames + r->frames_off, sizeof(parts));
	ann_begin(b, "parts");
	for (unsigned int i = 0; i < NR_REC_PARTS; i++)
		if (parts[i] || i == PART_UNEXPLAINED)
			entry_uint(b, part_name(i), parts[i]);
	pb_end(b);
}

static void ann_ioctl(struct pb *b, const struct pf_rec *r)
{
	char buf[48];

	snprintf(buf, sizeof(buf), "0x%08x", r->flags);
	ann_str(b, "cmd", buf);
	ann_uint(b, "dur_ns", r->dur);
	ann_uint(b, "len", r->aux);
	ann_int(b, "ret", r->ret);
	if (r->blame_ns) {
		ann_str(b, "waited_most_for",
			label_or(class_name(r->blame_cls), buf, sizeof(buf), "class", r->blame_cls));
		ann_uint(b, "waited_most_ns", r->blame_ns);
	}
	if (r->preempt_ns)
		ann_uint(b, "preempted_ns", r->preempt_ns);
}

static void ann_wait(struct pb *b, const struct pf_rec *r)
{
	char buf[48];

	ann_str(b, "class", label_or(class_name(r->cls), buf, sizeof(buf), "class", r->cls));
	ann_str(b, "site", label_or(site_name(r->site), buf, sizeof(buf), "site", r->site));
	ann_uint(b, "wait_ns", r->dur);
	if (r->addr) {
		ann_begin(b, "lock_addr");
		pb_uint(b, DA_POINTER, r->addr);
		pb_end(b);
	}
	if (r->kind == KIND_LOCK) {
		lock_flags_str(buf, sizeof(buf), r->flags);
		if (buf[0])
			ann_str(b, "lock_flags", buf);
		if (r->other_tid)
			ann_int(b, r->tid ? "holder_tid" : "interrupted_tid", r->other_tid);
	} else {
		if (r->other_tid)
			ann_int(b, "waker_tid", r->other_tid);
		ann_uint(b, "runnable_after_wakeup_ns", r->aux);
	}
}

/* The event's stack: its frames, NUL-separated in the frames spool. */
static void ann_stack(struct pb *b, const struct pf_rec *r, const char *frames, size_t len)
{
	const char *p = frames + r->frames_off, *lim = frames + len;

	if (r->has_parts)
		p += NR_REC_PARTS * sizeof(__u64);

	ann_begin(b, "stack");
	for (__u32 i = 0; i < r->nframes && p < lim; i++) {
		size_t n = strnlen(p, lim - p);

		pb_begin(b, DA_ARRAY);
		pb_tag(b, DA_STRING, PB_WT_LEN);
		pb_put_varint(b, n);
		pb_raw(b, p, n);
		pb_end(b);
		p += n + 1;
	}
	pb_end(b);
}

static void emit_begin(struct slice_ctx *c, const struct pf_rec *r, __u64 end,
		       bool clamped, __u64 pos)
{
	struct pf_writer *w = c->w;
	struct pb *b = &w->pb;
	bool blocking = r->kind == PF_KIND_BLOCKING;
	char name[96];

	pkt_begin(w, S_SLICES, r->ts);
	pb_begin(b, TP_TRACK_EVENT);
	pb_uint(b, TE_TYPE, TYPE_SLICE_BEGIN);
	pb_uint(b, TE_TRACK_UUID, PF_UUID(blocking ? PF_TRACK_BLOCKING : PF_TRACK_THREAD, r->tid));
	if (blocking) {
		ann_blocking(w, r);	/* name, category, the hop as args */
	} else {
		pb_string(b, TE_CATEGORY, kind_category(r->kind) ?: "mmlock");
		event_name(name, sizeof(name), r->kind, r->cls, r->site);
		pb_string(b, TE_NAME, name);
		if (r->kind == KIND_IOCTL) {
			ann_ioctl(b, r);
			ann_parts(b, r, c->frames, c->frames_len);
		} else {
			ann_wait(b, r);
		}
	}
	if (clamped) {
		ann_begin(b, "clamped_to_parent");
		pb_bool(b, DA_BOOL, true);
		pb_end(b);
		ann_uint(b, "shown_dur_ns", end - r->ts);
	}
	if (r->nframes && c->frames && r->frames_off < c->frames_len)
		ann_stack(b, r, c->frames, c->frames_len);
	flows_emit(w, pos, false);
	pb_end(b);
	pkt_end(w);
}

static int kind_rank(unsigned int kind)
{
	/* At equal start and length: ioctl outside lock wait outside D-state; blocking last. */
	return kind == KIND_IOCTL ? 0 : kind == KIND_LOCK ? 1 : kind == PF_KIND_BLOCKING ? 3 : 2;
}

int cmp_rec(const void *a, const void *b)
{
	const struct pf_rec *x = a, *y = b;

	if (x->ts != y->ts)
		return x->ts < y->ts ? -1 : 1;
	if (x->dur != y->dur)
		return x->dur > y->dur ? -1 : 1;
	if (kind_rank(x->kind) != kind_rank(y->kind))
		return kind_rank(x->kind) - kind_rank(y->kind);
	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

/*
 * In-place heapsort of the mapped spool: no scratch memory (glibc's qsort
 * may malloc a copy of the whole array), so a long recording costs page
 * cache, not anonymous memory. The order is total (seq is unique).
 */
static void sift_down(struct pf_rec *a, size_t i, size_t n)
{
	struct pf_rec tmp;
	size_t k;

	while ((k = 2 * i + 1) < n) {
		if (k + 1 < n && cmp_rec(&a[k], &a[k + 1]) < 0)
			k++;
		if (cmp_rec(&a[i], &a[k]) >= 0)
			return;
		tmp = a[i];
		a[i] = a[k];
		a[k] = tmp;
		i = k;
	}
}

void sort_recs(struct pf_rec *a, size_t n)
{
	struct pf_rec tmp;

	for (size_t i = n / 2; i-- > 0;)
		sift_down(a, i, n);
	while (n > 1) {
		n--;
		tmp = a[0];
		a[0] = a[n];
		a[n] = tmp;
		sift_down(a, 0, n);
	}
}

int write_slices(struct pf_writer *w, struct pf_rec *recs, const char *frames)
{
	struct slice_ctx c = { .w = w, .frames = frames, .frames_len = w->frames_len };
	const struct pf_rec *blk = w->fl.blk;
	size_t i = 0, j = 0, nblk = w->fl.nblk;
	int ret = 0;

	/* recs are sorted (flows_plan); the blocking slices merge in, in the same order. */
	for (__u64 k = 0; (i < w->nrec || j < nblk) && !w->err; k++) {
		bool blocking = j < nblk && (i == w->nrec || cmp_rec(&blk[j], &recs[i]) < 0);
		const struct pf_rec *r = blocking ? &blk[j++] : &recs[i++];
		__u64 pos = blocking ? r->seq : i - 1;
		struct pf_thread *t;
		__u64 end = r->ts + r->dur < r->ts ? UINT64_MAX : r->ts + r->dur;
		__u64 **stk;
		size_t *n, *cap;
		bool clamped = false;

		close_until(&c, r->ts);
		t = thr_find(w, r->tid);
		if (!t) {
			ret = -EINVAL;
			break;
		}
		stk = blocking ? &t->bstk : &t->stk;
		n = blocking ? &t->nbstk : &t->nstk;
		cap = blocking ? &t->capbstk : &t->capstk;
		if (*n && end > (*stk)[*n - 1]) {
			end = (*stk)[*n - 1];
			clamped = true;
			if (blocking)
				w->fl.clamped++;
			else
				w->clamped++;
		}
		if (grow_array(stk, cap, *n + 1, sizeof(**stk))) {
			ret = -ENOMEM;
			break;
		}
		(*stk)[(*n)++] = end;
		emit_begin(&c, r, end, clamped, pos);
		ret = heap_push(&c, (struct open_slice){
			.end = end, .seq = k, .pos = pos, .depth = *n - 1,
			.thr = (__u32)(t - w->thr), .blocking = blocking });
		if (ret)
			break;
	}
	if (!ret)
		close_until(&c, UINT64_MAX);
	free(c.heap);
	return ret ? ret : w->err;
}

void write_summary(struct pf_writer *w, const struct recording *rec)
{
	struct pb *b = &w->pb;
	__u64 ts = w->last_ts[S_SLICES], lost;
	char name[96];

	if (rec->end_ns > ts)
		ts = rec->end_ns;
	if (w->t_meta > ts)
		ts = w->t_meta;
	lost = rec->counters[CNT_RINGBUF_DROP] + rec->events_dropped;
	if (lost)
		snprintf(name, sizeof(name), "mmlock recording: %llu events lost",
			 (unsigned long long)lost);
	else
		snprintf(name, sizeof(name), "mmlock recording");

	pkt_begin(w, S_SLICES, ts);
	pb_begin(b, TP_TRACK_EVENT);
	pb_uint(b, TE_TYPE, TYPE_INSTANT);
	pb_uint(b, TE_TRACK_UUID, PF_UUID(PF_TRACK_SUMMARY, 0));
	pb_string(b, TE_CATEGORY, "mmlock.meta");
	pb_string(b, TE_NAME, name);
	ann_str(b, "tool_version", rec->tool_version);
	ann_str(b, "kernel", rec->kernel);
	ann_str(b, "arch", rec->arch);
	ann_uint(b, "start_ns", rec->start_ns);
	ann_uint(b, "end_ns", rec->end_ns);
	ann_uint(b, "min_slice_ns", rec->min_slice_ns);
	ann_uint(b, "stack_min_ns", rec->stack_min_ns);
	if (rec->filter_pid)
		ann_uint(b, "filter_pid", rec->filter_pid);
	if (rec->filter_tid)
		ann_uint(b, "filter_tid", rec->filter_tid);
	if (rec->filter_comm[0])
		ann_str(b, "filter_comm", rec->filter_comm);
	ann_uint(b, "slices", w->nrec);
	ann_uint(b, "slices_clamped", w->clamped);
	ann_uint(b, "chains", rec->nchains);
	ann_uint(b, "chain_flows", w->fl.flows);
	ann_uint(b, "chain_flows_not_drawn", w->fl.not_drawn);
	ann_uint(b, "blocking_slices", w->fl.nblk);
	ann_uint(b, "blocking_slices_clamped", w->fl.clamped);
	ann_uint(b, "events_dropped", rec->events_dropped);
	ann_begin(b, "counters");
	for (unsigned int i = 0; i < NR_COUNTERS; i++)
		entry_uint(b, counter_name(i), rec->counters[i]);
	pb_end(b);
	if (rec->nprobes) {
		ann_begin(b, "probes");
		for (size_t i = 0; i < rec->nprobes; i++) {
			pb_begin(b, DA_ARRAY);
			entry_str(b, "name", rec->probes[i].name);
			entry_str(b, "mechanism", rec->probes[i].mechanism);
			if (rec->probes[i].refused[0])
				entry_str(b, "refused", rec->probes[i].refused);
			pb_end(b);
		}
		pb_end(b);
	}
	pb_end(b);
	pkt_end(w);
}
