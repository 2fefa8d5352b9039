// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Perfetto writer: histograms: one INSTANT with all buckets and a counter track per bucket. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "output/perfetto_int.h"

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
	"mmlock latency histogram (whole recording). Each child counter track is "
	"one non-empty bucket [lo, hi) with its count in the name and as its "
	"value; the INSTANT event on this track has all buckets in its args "
	"(debug.buckets[i].lo_ns/hi_ns/count).";

/* The queryable form: one INSTANT with everything as args. */
static void write_hist_instant(struct pf_writer *w, const struct pf_thread *t,
			       const struct rec_hist *h, __u64 huuid, const char *label)
{
	struct pb *b = &w->pb;
	char name[192], cb[32];

	pkt_begin(w, S_META, w->t_meta);
	pb_begin(b, TP_TRACK_EVENT);
	pb_uint(b, TE_TYPE, TYPE_INSTANT);
	pb_uint(b, TE_TRACK_UUID, huuid);
	pb_string(b, TE_CATEGORY, "mmlock.hist");
	snprintf(name, sizeof(name), "histogram: %s", label);
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

/*
 * One histogram: a group track named by its summary, a counter track per
 * non-empty bucket (the visible form: one value each) and the INSTANT.
 */
static void write_hist(struct pf_writer *w, const struct pf_thread *t,
		       const struct rec_hist *h, __u64 group, int rank)
{
	struct pb *b = &w->pb;
	char label[96], name[192], p50[16], p99[16], mx[16], lo[16], hi[16], share[32];
	__u64 huuid = PF_UUID(PF_TRACK_HIST, ++w->nhist_tracks);
	__u64 first_bucket = w->nbucket_tracks + 1;
	unsigned int s;

	hist_label(label, sizeof(label), h);
	fmt_ns(hist_percentile(h, 50), p50, sizeof(p50));
	fmt_ns(hist_percentile(h, 99), p99, sizeof(p99));
	fmt_ns(h->max_ns, mx, sizeof(mx));
	snprintf(name, sizeof(name), "%s: n=%llu p50=%s p99=%s max=%s", label,
		 (unsigned long long)h->count, p50, p99, mx);
	write_group_track(w, huuid, group, name, rank, hist_desc);

	snprintf(share, sizeof(share), "mmlock.hist.%llu",
		 (unsigned long long)w->nhist_tracks);
	for (s = 0; s < HIST_SLOTS; s++) {
		if (!h->slots[s])
			continue;
		fmt_ns(hist_slot_lo(s), lo, sizeof(lo));
		fmt_ns(hist_slot_hi(s), hi, sizeof(hi));
		snprintf(name, sizeof(name), "[%s, %s): %u", lo, hi, h->slots[s]);
		write_counter_track(w, PF_UUID(PF_TRACK_BUCKET, ++w->nbucket_tracks),
				    huuid, name, NULL, share, (int)s, NULL);
	}
	write_hist_instant(w, t, h, huuid, label);
	for (s = 0; s < HIST_SLOTS; s++) {
		if (!h->slots[s])
			continue;
		pkt_begin(w, S_META, w->t_meta);
		pb_begin(b, TP_TRACK_EVENT);
		pb_uint(b, TE_TYPE, TYPE_COUNTER);
		pb_uint(b, TE_TRACK_UUID, PF_UUID(PF_TRACK_BUCKET, first_bucket++));
		pb_int(b, TE_COUNTER_VALUE, h->slots[s]);
		pb_end(b);
		pkt_end(w);
	}
}

static const struct rec_thread *rec_thread_of(const struct recording *rec, __u32 tid)
{
	for (size_t i = 0; i < rec->nthreads; i++)
		if (rec->threads[i].tid == tid)
			return &rec->threads[i];
	return NULL;
}

void write_histograms(struct pf_writer *w, const struct recording *rec)
{
	char name[96];

	for (size_t i = 0; i < w->nthr; i++) {
		const struct pf_thread *t = &w->thr[i];
		const struct rec_thread *rt = rec_thread_of(rec, t->tid);
		__u64 group = PF_UUID(PF_TRACK_HIST_GROUP, t->tid);
		int rank = 0;

		if (!rt || !rt->nhists)
			continue;
		snprintf(name, sizeof(name), "mmlock histograms \u00b7 %s %u",
			 t->comm[0] ? t->comm : "?", t->tid);
		write_group_track(w, group, PF_UUID(PF_TRACK_PROCESS, t->pid), name,
				  -1, NULL);
		for (size_t j = 0; j < rt->nhists; j++) {
			if (!rt->hists[j].count)
				continue;
			write_hist(w, t, &rt->hists[j], group, rank++);
		}
	}
}
