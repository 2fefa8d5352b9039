// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Perfetto writer: per thread, one group "mmlock · comm tid" of a few tracks:
 *   - "histograms (whole recording)": one slice per histogram, spanning the
 *     recording, named by its summary, all buckets in its args;
 *   - per series (kind x class, the PF_MAX_SERIES longest), three counters
 *     per PF_INTERVAL_NS: waits, worst, p99 (values: perfetto_counters.c).
 * Perfetto has no histogram track; a counter track per bucket (one value
 * each) made a thousand tracks of a 5 s recording that said nothing in time.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "output/perfetto_int.h"

/* Counts the slice r in its thread's series (while spooling). */
int series_add(struct pf_thread *t, const struct pf_rec *r)
{
	struct pf_series *s;
	size_t i;

	for (i = 0; i < t->nser; i++)
		if (t->ser[i].kind == r->kind && t->ser[i].cls == r->cls)
			break;
	if (i == t->nser) {
		if (grow_array(&t->ser, &t->capser, t->nser + 1, sizeof(*t->ser)))
			return -ENOMEM;
		t->ser[t->nser++] = (struct pf_series){ .kind = r->kind, .cls = r->cls };
	}
	s = &t->ser[i];
	s->n++;
	s->total_ns += r->dur;
	return 0;
}

static int cmp_series(const void *a, const void *b)
{
	const struct pf_series *x = a, *y = b;

	if (x->total_ns != y->total_ns)
		return x->total_ns > y->total_ns ? -1 : 1;
	if (x->kind != y->kind)
		return x->kind - y->kind;
	return x->cls - y->cls;
}

/* "anon_vma write", "D: folio lock", "D-state (no lock)", "UFFDIO_MOVE". */
static void series_label(char *buf, size_t n, const struct pf_series *s)
{
	char cb[32];
	const char *c = label_or(class_label(s->cls), cb, sizeof(cb), "class", s->cls);

	if (s->kind == KIND_IOCTL)
		snprintf(buf, n, "%s", uffd_cmd_name(s->cls));
	else if (s->kind == KIND_DSTATE && s->cls != CLASS_IO)
		snprintf(buf, n, "D: %s", c);
	else
		snprintf(buf, n, "%s", c);
}

static void hist_label(char *buf, size_t n, const struct rec_hist *h)
{
	char cb[32], sb[32];
	const char *k = kind_words(h->kind) ?: "kind?";

	if (h->kind == KIND_IOCTL)
		snprintf(buf, n, "%s %s", k, uffd_cmd_name(h->cls));
	else if (h->kind == KIND_DSTATE && h->cls == CLASS_IO)
		snprintf(buf, n, "%s \u00b7 %s", class_label(h->cls),
			 label_or(site_name(h->site), sb, sizeof(sb), "site", h->site));
	else
		snprintf(buf, n, "%s %s \u00b7 %s", k,
			 label_or(class_label(h->cls), cb, sizeof(cb), "class", h->cls),
			 label_or(site_name(h->site), sb, sizeof(sb), "site", h->site));
}

static const char hist_desc[] =
	"mmlock latency histograms of this thread (whole recording, every wait, "
	"not only the slices kept): one slice each, named by its summary. Its args "
	"hold the percentiles and all non-empty buckets "
	"(debug.buckets[i].lo_ns/hi_ns/count); docs/sql/ turns them into rows.";

static const char series_desc[] =
	"per " PF_INTERVAL_NAME " interval, over this thread's slices of this kind and class "
	"(the slices kept: >= the recording's min_slice): how many, the worst "
	"and the p99 (read from log2 buckets, like the histograms)";

/* A whole histogram: one slice on the thread's histogram track, from start to end. */
static void write_hist_begin(struct pf_writer *w, const struct pf_thread *t,
			     const struct rec_hist *h)
{
	struct pb *b = &w->pb;
	char label[96], name[192], cb[32];

	hist_label(label, sizeof(label), h);
	snprintf(name, sizeof(name), "%s: n=%llu p50=%s p99=%s max=%s", label,
		 (unsigned long long)h->count, NS(hist_percentile(h, 50)),
		 NS(hist_percentile(h, 99)), NS(h->max_ns));
	pkt_begin(w, S_META, w->t_meta);
	pb_begin(b, TP_TRACK_EVENT);
	pb_uint(b, TE_TYPE, TYPE_SLICE_BEGIN);
	pb_uint(b, TE_TRACK_UUID, PF_UUID(PF_TRACK_HIST, t->tid));
	pb_string(b, TE_CATEGORY, "mmlock.hist");
	pb_string(b, TE_NAME, name);
	ann_int(b, "tid", t->tid);
	ann_str(b, "kind", h->kind < NR_KINDS ? kind_name(h->kind) : "?");
	if (h->kind == KIND_IOCTL) {
		ann_str(b, "cmd", uffd_cmd_name(h->cls));
	} else {
		ann_str(b, "class", label_or(class_name(h->cls), cb, sizeof(cb), "class", h->cls));
		ann_str(b, "site", label_or(site_name(h->site), cb, sizeof(cb), "site", h->site));
	}
	ann_uint(b, "count", h->count);
	ann_uint(b, "total_ns", h->total_ns);
	ann_uint(b, "max_ns", h->max_ns);
	ann_uint(b, "mean_ns", h->count ? h->total_ns / h->count : 0);
	ann_uint(b, "p50_ns", hist_percentile(h, 50));
	ann_uint(b, "p90_ns", hist_percentile(h, 90));
	ann_uint(b, "p99_ns", hist_percentile(h, 99));
	if (h->kind == KIND_DSTATE)
		ann_uint(b, "runnable_after_wakeup_ns", h->aux_ns);
	else if (h->kind == KIND_IOCTL)
		ann_uint(b, "errors", h->aux_ns);
	ann_begin(b, "buckets");
	for (unsigned int s = 0; s < HIST_SLOTS; s++) {
		if (!h->slots[s])
			continue;
		pb_begin(b, DA_ARRAY);
		entry_uint(b, "lo_ns", hist_slot_lo(s));
		entry_uint(b, "hi_ns", hist_slot_hi(s));
		entry_uint(b, "count", h->slots[s]);
		pb_end(b);
	}
	pb_end(b);
	pb_end(b);
	pkt_end(w);
}

static void write_hist_end(struct pf_writer *w, const struct pf_thread *t, __u64 end)
{
	pkt_begin(w, S_META, end);
	pb_begin(&w->pb, TP_TRACK_EVENT);
	pb_uint(&w->pb, TE_TYPE, TYPE_SLICE_END);
	pb_uint(&w->pb, TE_TRACK_UUID, PF_UUID(PF_TRACK_HIST, t->tid));
	pb_end(&w->pb);
	pkt_end(w);
}

static size_t nonempty_hists(const struct rec_thread *rt)
{
	size_t n = 0;

	for (size_t j = 0; rt && j < rt->nhists; j++)
		n += rt->hists[j].count != 0;
	return n;
}

/* The series' three counter tracks. */
static void write_series_tracks(struct pf_writer *w, const struct pf_thread *t,
				__u64 group, const struct recording *rec, int *rank)
{
	static const char *const metric[] = { "waits", "worst", "p99" };
	char label[64], name[160], share[48], per[48];

	if (rec->min_slice_ns)
		snprintf(per, sizeof(per), " \u2265 %s", NS(rec->min_slice_ns));
	else
		per[0] = '\0';
	for (size_t si = 0; si < t->nshown; si++) {
		const struct pf_series *s = &t->ser[si];

		series_label(label, sizeof(label), s);
		/* worst and p99 of one series on one scale: p99 reads against worst. */
		snprintf(share, sizeof(share), "mmlock.series.%u.%zu", t->tid, si);
		for (unsigned int m = 0; m < 3; m++) {
			if (m == 0)
				snprintf(name, sizeof(name), "%s: %s%s /" PF_INTERVAL_NAME, label,
					 s->kind == KIND_IOCTL ? "ioctls" : "waits", per);
			else
				snprintf(name, sizeof(name), "%s: %s /" PF_INTERVAL_NAME, label,
					 metric[m]);
			write_counter_track(w, series_uuid(t->tid, si, m), group, name,
					    m ? UNIT_TIME_NS : UNIT_COUNT, NULL,
					    m ? share : NULL, (*rank)++, series_desc);
		}
	}
}

void write_histograms(struct pf_writer *w, const struct recording *rec)
{
	__u64 end = rec->end_ns > w->t_meta ? rec->end_ns : w->t_meta + 1;
	char name[96];
	size_t i;

	/* Descriptors first: the sequence's time must not go back. */
	for (i = 0; i < w->nthr; i++) {
		struct pf_thread *t = &w->thr[i];
		const struct rec_thread *rt = recording_find_thread(rec, t->tid);
		__u64 group = PF_UUID(PF_TRACK_HIST_GROUP, t->tid);
		int rank = 0;

		sort_array(t->ser, t->nser, sizeof(*t->ser), cmp_series);
		t->nshown = t->nser < PF_MAX_SERIES ? t->nser : PF_MAX_SERIES;
		if (!nonempty_hists(rt) && !t->nshown)
			continue;
		snprintf(name, sizeof(name), "mmlock \u00b7 %s %u",
			 t->comm[0] ? t->comm : "?", t->tid);
		write_group_track(w, group, PF_UUID(PF_TRACK_PROCESS, t->pid), name,
				  -1, NULL);
		if (nonempty_hists(rt))
			write_group_track(w, PF_UUID(PF_TRACK_HIST, t->tid), group,
					  "histograms (whole recording)", rank++, hist_desc);
		write_series_tracks(w, t, group, rec, &rank);
	}
	for (i = 0; i < w->nthr; i++) {
		const struct rec_thread *rt = recording_find_thread(rec, w->thr[i].tid);

		for (size_t j = 0; rt && j < rt->nhists; j++)
			if (rt->hists[j].count)
				write_hist_begin(w, &w->thr[i], &rt->hists[j]);
	}
	for (i = 0; i < w->nthr; i++)
		for (size_t j = nonempty_hists(recording_find_thread(rec, w->thr[i].tid)); j; j--)
			write_hist_end(w, &w->thr[i], end);
}
