// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * A recording as JSON: written by `record --json`, read back by `report`,
 * `perfetto`, `check` and `diff`. Histograms are sparse [lo_ns, hi_ns, count]
 * triples, so the file is readable without knowing the bucket layout; the
 * reader maps each triple back to its slot and checks that it fits.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "json.h"
#include "recording.h"
#include "util.h"

static void write_frames(struct json_writer *w, const char *key, char **frames, int n)
{
	jw_arr_begin(w, key);
	for (int i = 0; i < n; i++)
		jw_str(w, NULL, frames[i]);
	jw_arr_end(w);
}

static void write_hist(struct json_writer *w, const struct rec_hist *h)
{
	jw_obj_begin(w, NULL);
	jw_str(w, "kind", kind_name(h->kind));
	if (h->kind == KIND_IOCTL)
		jw_str(w, "command", uffd_cmd_name(h->cls) ?: "UFFDIO_UNKNOWN");
	else
		jw_str(w, "class", class_name(h->cls));
	jw_str(w, "site", site_name(h->site));
	jw_u64(w, "count", h->count);
	jw_u64(w, "total_ns", h->total_ns);
	jw_u64(w, "max_ns", h->max_ns);
	jw_u64(w, "p50_ns", hist_percentile(h, 50));
	jw_u64(w, "p90_ns", hist_percentile(h, 90));
	jw_u64(w, "p99_ns", hist_percentile(h, 99));
	if (h->kind == KIND_DSTATE)
		jw_u64(w, "runnable_ns", h->aux_ns);
	if (h->kind == KIND_IOCTL)
		jw_u64(w, "errors", h->aux_ns);
	if (h->kind == KIND_TRYLOCK)
		jw_u64(w, "failed", h->aux_ns);
	jw_arr_begin(w, "hist");
	for (unsigned int i = 0; i < HIST_SLOTS; i++) {
		if (!h->slots[i])
			continue;
		jw_arr_begin(w, NULL);
		jw_u64(w, NULL, hist_slot_lo(i));
		jw_u64(w, NULL, hist_slot_hi(i));
		jw_u64(w, NULL, h->slots[i]);
		jw_arr_end(w);
	}
	jw_arr_end(w);
	jw_obj_end(w);
}

static void write_thread(struct json_writer *w, const struct rec_thread *t)
{
	jw_obj_begin(w, NULL);
	jw_u64(w, "tid", t->tid);
	jw_u64(w, "pid", t->pid);
	jw_str(w, "comm", t->comm);
	jw_str(w, "process", t->pcomm);
	jw_bool(w, "exited", t->exited);
	jw_u64(w, "worst_ns", thread_worst_ns(t));
	jw_arr_begin(w, "hists");
	for (size_t i = 0; i < t->nhists; i++)
		write_hist(w, &t->hists[i]);
	jw_arr_end(w);
	jw_arr_begin(w, "stacks");
	for (size_t i = 0; i < t->nstacks; i++) {
		const struct rec_stack *s = &t->stacks[i];

		jw_obj_begin(w, NULL);
		jw_str(w, "kind", kind_name(s->kind));
		jw_str(w, "class", class_name(s->cls));
		jw_str(w, "site", site_name(s->site));
		jw_u64(w, "count", s->count);
		jw_u64(w, "total_ns", s->total_ns);
		jw_u64(w, "max_ns", s->max_ns);
		write_frames(w, "frames", s->frames, s->nframes);
		jw_obj_end(w);
	}
	jw_arr_end(w);
	jw_obj_end(w);
}

static void write_event(struct json_writer *w, const struct rec_event *e)
{
	jw_obj_begin(w, NULL);
	jw_u64(w, "ts_ns", e->ts_ns);
	jw_u64(w, "dur_ns", e->dur_ns);
	jw_u64(w, "pid", e->pid);
	jw_u64(w, "tid", e->tid);
	jw_str(w, "kind", kind_name(e->kind));
	if (e->kind == KIND_IOCTL) {
		jw_str(w, "command", uffd_cmd_name(e->cls) ?: "UFFDIO_UNKNOWN");
		jw_u64(w, "cmd", e->flags);
		jw_u64(w, "len", e->aux_ns);
		jw_s64(w, "ret", e->ret);
		jw_str(w, "blame_class", class_name(e->blame_cls));
		jw_u64(w, "blame_ns", e->blame_ns);
		jw_u64(w, "preempted_ns", e->preempt_ns);
	} else {
		jw_str(w, "class", class_name(e->cls));
		jw_u64(w, "flags", e->flags);
		jw_u64(w, "addr", e->addr);
		jw_u64(w, e->kind == KIND_LOCK ? "owner_tid" : "waker_tid", e->other_tid);
		if (e->kind == KIND_DSTATE)
			jw_u64(w, "runnable_ns", e->aux_ns);
	}
	jw_str(w, "site", site_name(e->site));
	if (e->nframes)
		write_frames(w, "stack", e->frames, e->nframes);
	jw_obj_end(w);
}

int recording_write_json(const struct recording *rec, const char *path, char *err, size_t errlen)
{
	struct atomic_file af;
	struct json_writer w;
	int ret;

	ret = atomic_open(&af, path, err, errlen);
	if (ret)
		return ret;
	jw_init(&w, af.f, true);
	jw_obj_begin(&w, NULL);
	jw_str(&w, "tool", "mmlock");
	jw_u64(&w, "format", REC_FORMAT_VERSION);
	jw_str(&w, "version", rec->tool_version);
	jw_str(&w, "kernel", rec->kernel);
	jw_str(&w, "arch", rec->arch);
	jw_u64(&w, "start_ns", rec->start_ns);
	jw_u64(&w, "end_ns", rec->end_ns);
	jw_u64(&w, "duration_ns", rec->end_ns - rec->start_ns);
	jw_obj_begin(&w, "clock");
	jw_u64(&w, "boottime_ns", rec->clk_boottime_ns);
	jw_u64(&w, "monotonic_ns", rec->clk_monotonic_ns);
	jw_u64(&w, "realtime_ns", rec->clk_realtime_ns);
	jw_obj_end(&w);
	jw_obj_begin(&w, "filter");
	jw_u64(&w, "pid", rec->filter_pid);
	jw_u64(&w, "tid", rec->filter_tid);
	jw_str(&w, "comm", rec->filter_comm);
	jw_obj_end(&w);
	jw_u64(&w, "min_slice_ns", rec->min_slice_ns);
	jw_u64(&w, "thread_states_at_end", rec->live_states);
	jw_u64(&w, "stack_min_ns", rec->stack_min_ns);
	jw_str(&w, "bpf_locks", rec->plain_locks ? "plain" : "resilient");
	jw_obj_begin(&w, "counters");
	for (int i = 0; i < NR_COUNTERS; i++)
		jw_u64(&w, counter_name(i), rec->counters[i]);
	jw_u64(&w, "events_not_kept", rec->events_dropped);
	jw_obj_end(&w);
	jw_arr_begin(&w, "probes");
	for (size_t i = 0; i < rec->nprobes; i++) {
		jw_obj_begin(&w, NULL);
		jw_str(&w, "name", rec->probes[i].name);
		jw_str(&w, "mechanism", rec->probes[i].mechanism);
		jw_str(&w, "refused", rec->probes[i].refused);
		jw_u64(&w, "prog_id", rec->probes[i].prog_id);
		jw_obj_end(&w);
	}
	jw_arr_end(&w);
	jw_arr_begin(&w, "threads");
	for (size_t i = 0; i < rec->nthreads; i++)
		write_thread(&w, &rec->threads[i]);
	jw_arr_end(&w);
	jw_arr_begin(&w, "samples");
	for (size_t i = 0; i < rec->nsamples; i++) {
		const struct rec_sample *s = &rec->samples[i];

		jw_obj_begin(&w, NULL);
		jw_u64(&w, "ts_ns", s->ts_ns);
		jw_u64(&w, "pid", s->pid);
		jw_u64(&w, "ioctls", s->ioctls);
		jw_obj_begin(&w, "waits");
		for (int c = 0; c < NR_CLASSES; c++)
			if (s->waits[c])
				jw_u64(&w, class_name(c), s->waits[c]);
		jw_obj_end(&w);
		jw_obj_end(&w);
	}
	jw_arr_end(&w);
	jw_arr_begin(&w, "events");
	for (size_t i = 0; i < rec->nevents; i++)
		write_event(&w, &rec->events[i]);
	jw_arr_end(&w);
	jw_obj_end(&w);
	if (jw_finish(&w)) {
		snprintf(err, errlen, "cannot write %s: I/O error", path);
		atomic_abort(&af);
		return -EIO;
	}
	return atomic_close(&af, err, errlen);
}

/* ---- reading ---- */

static int read_frames(const struct json_value *arr, char ***frames)
{
	int n = json_len(arr);

	*frames = NULL;
	if (!n)
		return 0;
	*frames = calloc(n, sizeof(char *));
	if (!*frames)
		return 0;
	for (int i = 0; i < n; i++)
		(*frames)[i] = strdup(json_str(json_at(arr, i), "?"));
	return n;
}

/* Name -> enum value, with a message naming the bad value. */
static int lookup_name(int v, const char *what, const char *name, char *err, size_t errlen)
{
	if (v < 0)
		snprintf(err, errlen, "unknown %s '%s'", what, name ? name : "(missing)");
	return v;
}

static int read_hist(const struct json_value *o, struct rec_thread *t, char *err, size_t errlen)
{
	const char *kn = json_get_str(o, "kind", NULL), *sn = json_get_str(o, "site", NULL);
	const struct json_value *buckets = json_get(o, "hist");
	int kind, cls, site;
	struct rec_hist *h;

	kind = lookup_name(kind_from_name(kn), "kind", kn, err, errlen);
	site = lookup_name(site_from_name(sn), "site", sn, err, errlen);
	if (kind < 0 || site < 0)
		return -EINVAL;
	if (kind == KIND_IOCTL) {
		const char *cn = json_get_str(o, "command", NULL);

		cls = lookup_name(uffd_cmd_from_name(cn), "uffd command", cn, err, errlen);
	} else {
		const char *cn = json_get_str(o, "class", NULL);

		cls = lookup_name(class_from_name(cn), "class", cn, err, errlen);
	}
	if (cls < 0)
		return -EINVAL;
	h = thread_hist(t, kind, cls, site);
	if (!h)
		return -ENOMEM;
	h->count = json_get_u64(o, "count", 0);
	h->total_ns = json_get_u64(o, "total_ns", 0);
	h->max_ns = json_get_u64(o, "max_ns", 0);
	h->aux_ns = json_get_u64(o, kind == KIND_IOCTL ? "errors" :
				 kind == KIND_TRYLOCK ? "failed" : "runnable_ns", 0);
	for (size_t i = 0; i < json_len(buckets); i++) {
		const struct json_value *b = json_at(buckets, i);
		__u64 lo = json_u64(json_at(b, 0), 0);
		unsigned int slot = hist_slot(lo);

		if (json_len(b) != 3 || hist_slot_lo(slot) != lo) {
			snprintf(err, errlen, "histogram bucket %zu of tid %u is not [lo, hi, count]", i, t->tid);
			return -EINVAL;
		}
		h->slots[slot] += json_u64(json_at(b, 2), 0);
	}
	return 0;
}

static int read_thread(const struct json_value *o, struct recording *rec, char *err, size_t errlen)
{
	const struct json_value *hists = json_get(o, "hists"), *stacks = json_get(o, "stacks");
	struct rec_thread *t = recording_thread(rec, json_get_u64(o, "tid", 0));
	int ret;

	if (!t)
		return -ENOMEM;
	t->pid = json_get_u64(o, "pid", 0);
	snprintf(t->comm, sizeof(t->comm), "%s", json_get_str(o, "comm", ""));
	snprintf(t->pcomm, sizeof(t->pcomm), "%s", json_get_str(o, "process", ""));
	t->exited = json_bool(json_get(o, "exited"), false);
	for (size_t i = 0; i < json_len(hists); i++)
		if ((ret = read_hist(json_at(hists, i), t, err, errlen)))
			return ret;
	if (json_len(stacks)) {
		t->stacks = calloc(json_len(stacks), sizeof(*t->stacks));
		if (!t->stacks)
			return -ENOMEM;
	}
	for (size_t i = 0; i < json_len(stacks); i++) {
		const struct json_value *s = json_at(stacks, i);
		struct rec_stack *r = &t->stacks[t->nstacks++];

		r->kind = kind_from_name(json_get_str(s, "kind", "")) & 0xff;
		r->cls = class_from_name(json_get_str(s, "class", "")) & 0xff;
		r->site = site_from_name(json_get_str(s, "site", "")) & 0xff;
		r->count = json_get_u64(s, "count", 0);
		r->total_ns = json_get_u64(s, "total_ns", 0);
		r->max_ns = json_get_u64(s, "max_ns", 0);
		r->nframes = read_frames(json_get(s, "frames"), &r->frames);
	}
	return 0;
}

static void read_event(const struct json_value *o, struct rec_event *e)
{
	const char *kn = json_get_str(o, "kind", "");

	e->ts_ns = json_get_u64(o, "ts_ns", 0);
	e->dur_ns = json_get_u64(o, "dur_ns", 0);
	e->pid = json_get_u64(o, "pid", 0);
	e->tid = json_get_u64(o, "tid", 0);
	e->kind = kind_from_name(kn) & 0xff;
	e->site = site_from_name(json_get_str(o, "site", "")) & 0xff;
	if (e->kind == KIND_IOCTL) {
		int c = uffd_cmd_from_name(json_get_str(o, "command", ""));

		e->cls = c < 0 ? 0xff : c;
		e->flags = json_get_u64(o, "cmd", 0);
		e->aux_ns = json_get_u64(o, "len", 0);
		e->ret = json_s64(json_get(o, "ret"), 0);
		c = class_from_name(json_get_str(o, "blame_class", ""));
		e->blame_cls = c < 0 ? CLASS_OTHER : c;
		e->blame_ns = json_get_u64(o, "blame_ns", 0);
		e->preempt_ns = json_get_u64(o, "preempted_ns", 0);
	} else {
		int c = class_from_name(json_get_str(o, "class", ""));

		e->cls = c < 0 ? CLASS_OTHER : c;
		e->flags = json_get_u64(o, "flags", 0);
		e->addr = json_get_u64(o, "addr", 0);
		e->other_tid = json_get_u64(o, e->kind == KIND_LOCK ? "owner_tid" : "waker_tid", 0);
		e->aux_ns = json_get_u64(o, "runnable_ns", 0);
	}
	e->nframes = read_frames(json_get(o, "stack"), &e->frames);
}

int recording_read_json(struct recording *rec, const char *path, char *err, size_t errlen)
{
	const struct json_value *threads, *events, *probes, *samples, *v;
	struct json_value *root;
	char e2[256] = "";
	int ret = 0;

	memset(rec, 0, sizeof(*rec));
	root = json_parse_file(path, err, errlen);
	if (!root)
		return -EINVAL;
	if (strcmp(json_get_str(root, "tool", ""), "mmlock") ||
	    json_get_u64(root, "format", 0) != REC_FORMAT_VERSION) {
		snprintf(err, errlen, "%s: not an mmlock recording (format %d)", path, REC_FORMAT_VERSION);
		json_free(root);
		return -EINVAL;
	}
	snprintf(rec->tool_version, sizeof(rec->tool_version), "%s", json_get_str(root, "version", ""));
	snprintf(rec->kernel, sizeof(rec->kernel), "%s", json_get_str(root, "kernel", ""));
	snprintf(rec->arch, sizeof(rec->arch), "%s", json_get_str(root, "arch", ""));
	rec->start_ns = json_get_u64(root, "start_ns", 0);
	rec->end_ns = json_get_u64(root, "end_ns", 0);
	v = json_get(root, "clock");
	rec->clk_boottime_ns = json_get_u64(v, "boottime_ns", 0);
	rec->clk_monotonic_ns = json_get_u64(v, "monotonic_ns", 0);
	rec->clk_realtime_ns = json_get_u64(v, "realtime_ns", 0);
	v = json_get(root, "filter");
	rec->filter_pid = json_get_u64(v, "pid", 0);
	rec->filter_tid = json_get_u64(v, "tid", 0);
	snprintf(rec->filter_comm, sizeof(rec->filter_comm), "%s", json_get_str(v, "comm", ""));
	rec->min_slice_ns = json_get_u64(root, "min_slice_ns", 0);
	rec->live_states = json_get_u64(root, "thread_states_at_end", 0);
	rec->stack_min_ns = json_get_u64(root, "stack_min_ns", 0);
	rec->plain_locks = !strcmp(json_get_str(root, "bpf_locks", "resilient"), "plain");
	v = json_get(root, "counters");
	for (int i = 0; i < NR_COUNTERS; i++)
		rec->counters[i] = json_get_u64(v, counter_name(i), 0);
	rec->events_dropped = json_get_u64(v, "events_not_kept", 0);

	probes = json_get(root, "probes");
	rec->probes = calloc(json_len(probes) + 1, sizeof(*rec->probes));
	for (size_t i = 0; rec->probes && i < json_len(probes); i++) {
		struct rec_probe *p = &rec->probes[rec->nprobes++];

		v = json_at(probes, i);
		snprintf(p->name, sizeof(p->name), "%s", json_get_str(v, "name", ""));
		snprintf(p->mechanism, sizeof(p->mechanism), "%s", json_get_str(v, "mechanism", ""));
		snprintf(p->refused, sizeof(p->refused), "%s", json_get_str(v, "refused", ""));
		p->prog_id = json_get_u64(v, "prog_id", 0);
	}
	threads = json_get(root, "threads");
	if (json_type(threads) != JSON_ARRAY) {
		snprintf(e2, sizeof(e2), "no \"threads\" array");
		ret = -EINVAL;
	}
	for (size_t i = 0; !ret && i < json_len(threads); i++)
		ret = read_thread(json_at(threads, i), rec, e2, sizeof(e2));
	samples = json_get(root, "samples");
	if (!ret && json_len(samples)) {
		rec->samples = calloc(json_len(samples), sizeof(*rec->samples));
		for (size_t i = 0; rec->samples && i < json_len(samples); i++) {
			struct rec_sample *s = &rec->samples[rec->nsamples++];
			const struct json_value *w;

			v = json_at(samples, i);
			s->ts_ns = json_get_u64(v, "ts_ns", 0);
			s->pid = json_get_u64(v, "pid", 0);
			s->ioctls = json_get_u64(v, "ioctls", 0);
			w = json_get(v, "waits");
			for (int c = 0; c < NR_CLASSES; c++)
				s->waits[c] = json_get_u64(w, class_name(c), 0);
		}
	}
	events = json_get(root, "events");
	if (!ret && json_len(events)) {
		rec->events = calloc(json_len(events), sizeof(*rec->events));
		for (size_t i = 0; rec->events && i < json_len(events); i++)
			read_event(json_at(events, i), &rec->events[rec->nevents++]);
	}
	json_free(root);
	if (ret) {
		snprintf(err, errlen, "%s: %s", path, e2[0] ? e2 : strerror(-ret));
		recording_free(rec);
	}
	return ret;
}
