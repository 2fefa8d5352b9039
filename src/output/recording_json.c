// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * A recording as JSON: written by `record --json`, read back by `report`,
 * `perfetto`, `check` and `diff`. Histograms are sparse [lo_ns, hi_ns, count]
 * triples, so the file is readable without knowing the bucket layout; the
 * reader maps each triple back to its slot and checks that it fits.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "lib/json.h"
#include "model/recording.h"
#include "lib/util.h"

static void write_frames(struct json_writer *w, const char *key, char **frames, int n)
{
	jw_arr_begin(w, key);
	for (int i = 0; i < n; i++)
		jw_str(w, NULL, frames[i]);
	jw_arr_end(w);
}

/* The breakdown: named parts that are not zero, and the remainder always. */
static void write_parts(struct json_writer *w, const char *key, const __u64 *parts)
{
	jw_obj_begin(w, key);
	for (unsigned int i = 0; i < NR_REC_PARTS; i++)
		if (parts[i] || i == PART_UNEXPLAINED)
			jw_u64(w, part_name(i), parts[i]);
	jw_obj_end(w);
}

void jw_hist_summary(struct json_writer *w, const struct rec_hist *h)
{
	jw_u64(w, "count", h->count);
	jw_u64(w, "total_ns", h->total_ns);
	jw_u64(w, "max_ns", h->max_ns);
	jw_u64(w, "p50_ns", hist_percentile(h, 50));
	jw_u64(w, "p90_ns", hist_percentile(h, 90));
	jw_u64(w, "p99_ns", hist_percentile(h, 99));
}

/* Where the on-CPU samples of an ioctl (or a thread's ioctls of a command) were: the top functions. */
#define ONCPU_TOP	10

static void write_oncpu(struct json_writer *w, const struct rec_oncpu *o)
{
	if (!o || !o->samples)
		return;
	jw_u64(w, "oncpu_samples", o->samples);
	jw_arr_begin(w, "oncpu_top");
	for (size_t i = 0; i < o->nfuncs && i < ONCPU_TOP; i++) {
		jw_obj_begin(w, NULL);
		jw_str(w, "func", o->funcs[i].func);
		if (o->funcs[i].via[0])
			jw_str(w, "via", o->funcs[i].via);
		jw_u64(w, "samples", o->funcs[i].samples);
		jw_obj_end(w);
	}
	jw_arr_end(w);
}

static void write_hist(struct json_writer *w, const struct recording *rec, __u32 tid,
		       const struct rec_hist *h)
{
	jw_obj_begin(w, NULL);
	jw_str(w, "kind", kind_name(h->kind));
	if (h->kind == KIND_IOCTL)
		jw_str(w, "command", uffd_cmd_name(h->cls));
	else
		jw_str(w, "class", class_name(h->cls));
	jw_str(w, "site", site_name(h->site));
	jw_hist_summary(w, h);
	if (h->kind == KIND_DSTATE)
		jw_u64(w, "runnable_ns", h->aux_ns);
	if (h->kind == KIND_IOCTL) {
		jw_u64(w, "errors", h->aux_ns);
		write_parts(w, "parts", h->parts);
		write_oncpu(w, oncpu_find(rec, tid, h->cls, 0));
	}
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

static void write_thread(struct json_writer *w, const struct recording *rec,
			 const struct rec_thread *t)
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
		write_hist(w, rec, t->tid, &t->hists[i]);
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

/* [chains] The event's blocker chain (model/chain.c): derived, rebuilt on reading. */
static void write_chain(struct json_writer *w, const struct recording *rec,
			const struct rec_chain *c)
{
	jw_arr_begin(w, "chain");
	for (int i = 0; i < c->nhops; i++) {
		const struct rec_hop *h = &c->hops[i];
		const struct rec_event *we = &rec->events[h->waiter];

		jw_obj_begin(w, NULL);
		jw_u64(w, "tid", h->tid);
		jw_u64(w, "pid", h->pid);
		jw_str(w, "comm", h->comm);
		jw_str(w, "evidence", hop_why_name(h->why));
		if (h->released_by) {
			jw_u64(w, "released_by_tid", h->released_by);
			jw_str(w, "released_by_comm", h->released_comm);
		}
		jw_u64(w, "waiter_tid", we->tid);
		jw_u64(w, "waiter_ts_ns", we->ts_ns);
		jw_str(w, "waiter_kind", kind_name(we->kind));
		jw_u64(w, "overlap_ns", h->overlap_ns);
		jw_str(w, "parts_from", hop_source_name(h->source));
		if (h->source != HOP_PARTS_NONE) {
			jw_u64(w, "window_ns", h->window_ns);
			write_parts(w, "parts", h->parts);
		}
		if (h->samples) {
			jw_str(w, "on_cpu_in", h->on_cpu_in);
			jw_u64(w, "on_cpu_samples", h->on_cpu_samples);
			jw_u64(w, "samples", h->samples);
		}
		jw_obj_end(w);
	}
	jw_arr_end(w);
}

static void write_event(struct json_writer *w, const struct recording *rec,
			const struct rec_event *e)
{
	const struct rec_chain *c = chain_of(rec, (size_t)(e - rec->events));

	jw_obj_begin(w, NULL);
	jw_u64(w, "ts_ns", e->ts_ns);
	jw_u64(w, "dur_ns", e->dur_ns);
	jw_u64(w, "pid", e->pid);
	jw_u64(w, "tid", e->tid);
	jw_str(w, "kind", kind_name(e->kind));
	if (e->kind == KIND_IOCTL) {
		jw_str(w, "command", uffd_cmd_name(e->cls));
		jw_u64(w, "cmd", e->flags);
		jw_u64(w, "len", e->aux_ns);
		jw_s64(w, "ret", e->ret);
		jw_str(w, "blame_class", class_name(e->blame_cls));
		jw_u64(w, "blame_ns", e->blame_ns);
		jw_u64(w, "preempted_ns", e->preempt_ns);
		jw_u64(w, "preempted_by_tid", e->other_tid);
		jw_str(w, "preempted_by_comm", e->by_comm);
		jw_u64(w, "preempted_by_ns", e->by_ns);
		write_parts(w, "parts", e->parts);
		write_oncpu(w, oncpu_find(rec, e->tid, e->cls, e->ts_ns));
	} else {
		jw_str(w, "class", class_name(e->cls));
		jw_u64(w, "flags", e->flags);
		jw_u64(w, "addr", e->addr);
		jw_u64(w, other_tid_name(e->kind, e->tid), e->other_tid);
		if (e->outside)
			jw_bool(w, "outside", true);
		if (e->by_comm[0])
			jw_str(w, other_comm_name(e->kind, e->tid), e->by_comm);
		if (e->kind == KIND_LOCK && e->by_ns) {
			jw_u64(w, "owner_window_ns", e->by_ns);
			write_parts(w, "owner_parts", e->parts);
		}
		if (e->kind == KIND_DSTATE)
			jw_u64(w, "runnable_ns", e->aux_ns);
	}
	jw_str(w, "site", site_name(e->site));
	if (e->nframes)
		write_frames(w, "stack", e->frames, e->nframes);
	if (c)
		write_chain(w, rec, c);
	jw_obj_end(w);
}

/* The header: what was recorded where, with which settings, and what was lost. */
static void write_meta(struct json_writer *w, const struct recording *rec, __u64 events_not_kept)
{
	jw_str(w, "tool", "mmlock");
	jw_u64(w, "format", REC_FORMAT_VERSION);
	/* Who made it (docs/fleet.md); older recordings have none of these. */
	if (rec->id[0])
		jw_str(w, "id", rec->id);
	if (rec->device[0])
		jw_str(w, "device", rec->device);
	jw_obj_begin(w, "labels");
	for (size_t i = 0; i < rec->nlabels; i++)
		jw_str(w, rec->labels[i].key, rec->labels[i].value);
	jw_obj_end(w);
	jw_str(w, "hist_layout", HIST_LAYOUT_ID);
	jw_str(w, "version", rec->tool_version);
	jw_str(w, "kernel", rec->kernel);
	jw_str(w, "arch", rec->arch);
	jw_u64(w, "start_ns", rec->start_ns);
	jw_u64(w, "end_ns", rec->end_ns);
	jw_u64(w, "duration_ns", rec->end_ns - rec->start_ns);
	jw_obj_begin(w, "clock");
	jw_u64(w, "boottime_ns", rec->clk_boottime_ns);
	jw_u64(w, "monotonic_ns", rec->clk_monotonic_ns);
	jw_u64(w, "realtime_ns", rec->clk_realtime_ns);
	jw_obj_end(w);
	jw_obj_begin(w, "filter");
	jw_u64(w, "pid", rec->filter_pid);
	jw_u64(w, "tid", rec->filter_tid);
	jw_str(w, "comm", rec->filter_comm);
	/* -c NAME: whether a thread of that name ran, so that a saved file
	 * still tells "never ran" from "ran, but waited for nothing". */
	if (rec->filter_comm[0] && rec->filter_comm_seen)
		jw_bool(w, "comm_seen", rec->filter_comm_seen > 0);
	jw_obj_end(w);
	jw_u64(w, "min_slice_ns", rec->min_slice_ns);
	jw_u64(w, "chain_min_ns", rec->chain_min_ns);
	jw_u64(w, "thread_states_at_end", rec->live_states);
	jw_u64(w, "stack_min_ns", rec->stack_min_ns);
	jw_str(w, "bpf_locks", rec->plain_locks ? "plain" : "resilient");
	jw_str(w, "uffd_probes", rec->no_uffd_probes ? "none" : "auto");
	jw_obj_begin(w, "counters");
	for (int i = 0; i < NR_COUNTERS; i++)
		jw_u64(w, counter_name(i), rec->counters[i]);
	jw_u64(w, "events_not_kept", events_not_kept);
	/* [chains]: stalls past CHAIN_MAX got none (a reader builds them again, and counts again). */
	jw_u64(w, "chains_not_built", rec->chains_not_built);
	jw_u64(w, "samples_not_kept", rec->samples_dropped);
	jw_obj_end(w);
	jw_arr_begin(w, "probes");
	for (size_t i = 0; i < rec->nprobes; i++) {
		jw_obj_begin(w, NULL);
		jw_str(w, "name", rec->probes[i].name);
		jw_str(w, "mechanism", rec->probes[i].mechanism);
		jw_str(w, "refused", rec->probes[i].refused);
		jw_u64(w, "prog_id", rec->probes[i].prog_id);
		jw_obj_end(w);
	}
	jw_arr_end(w);
	jw_obj_begin(w, "sampler");
	jw_u64(w, "hz", rec->sampler.hz);
	jw_bool(w, "attached", rec->sampler.attached);
	if (!rec->sampler.attached)
		jw_str(w, "why_not", rec->sampler.why);
	jw_u64(w, "cpus", rec->sampler.cpus);
	jw_u64(w, "samples", rec->sampler.samples);
	jw_u64(w, "filed", rec->sampler.filed);
	jw_u64(w, "lost", rec->sampler.lost);
	jw_u64(w, "no_stack", rec->sampler.no_stack);
	jw_u64(w, "not_kept", rec->sampler.not_kept);
	jw_u64(w, "run_ns", rec->sampler.run_ns);
	jw_u64(w, "runs", rec->sampler.runs);
	jw_obj_end(w);
}

/* A raw on-CPU sample: enough for a flame graph of the ioctl it was taken in. */
static void write_cpu_sample(struct json_writer *w, const struct rec_cpu_sample *s)
{
	jw_obj_begin(w, NULL);
	jw_u64(w, "ts_ns", s->ts_ns);
	jw_u64(w, "pid", s->pid);
	jw_u64(w, "tid", s->tid);
	jw_str(w, "command", uffd_cmd_name(s->cmd));
	jw_u64(w, "ioctl_ts_ns", s->ioctl_ts_ns);
	if (s->wait_cls != SAMPLE_NO_WAIT) {
		jw_str(w, "wait", class_name(s->wait_cls));
		jw_bool(w, "spin", s->spin);
	}
	write_frames(w, "stack", s->frames, s->nframes);
	jw_obj_end(w);
}

static void write_sample(struct json_writer *w, const struct rec_sample *s)
{
	jw_obj_begin(w, NULL);
	jw_u64(w, "ts_ns", s->ts_ns);
	jw_u64(w, "pid", s->pid);
	jw_u64(w, "ioctls", s->ioctls);
	jw_obj_begin(w, "waits");
	for (int c = 0; c < NR_CLASSES; c++)
		if (s->waits[c])
			jw_u64(w, class_name(c), s->waits[c]);
	jw_obj_end(w);
	jw_obj_end(w);
}

/*
 * The whole file, with the first nkeep events; the rest are counted in
 * events_not_kept as --max-events counts them. *events_bytes: what the
 * events took, *total: the file's size.
 */
static int write_file(const struct recording *rec, size_t nkeep, const char *path,
		      long *events_bytes, long *total, char *err, size_t errlen)
{
	struct atomic_file af;
	struct json_writer w;
	long ev0;
	int ret;

	ret = atomic_open(&af, path, err, errlen);
	if (ret)
		return ret;
	jw_init(&w, af.f, true);
	jw_obj_begin(&w, NULL);
	write_meta(&w, rec, rec->events_dropped + (rec->nevents - nkeep));
	jw_arr_begin(&w, "threads");
	for (size_t i = 0; i < rec->nthreads; i++)
		write_thread(&w, rec, &rec->threads[i]);
	jw_arr_end(&w);
	jw_arr_begin(&w, "samples");
	for (size_t i = 0; i < rec->nsamples; i++)
		write_sample(&w, &rec->samples[i]);
	jw_arr_end(&w);
	ev0 = ftell(af.f);
	jw_arr_begin(&w, "events");
	for (size_t i = 0; i < nkeep; i++)
		write_event(&w, rec, &rec->events[i]);
	jw_arr_end(&w);
	*events_bytes = ftell(af.f) - ev0;
	jw_arr_begin(&w, "cpu_samples");
	for (size_t i = 0; i < rec->ncpu_samples; i++)
		write_cpu_sample(&w, &rec->cpu_samples[i]);
	jw_arr_end(&w);
	jw_obj_end(&w);
	ret = jw_finish(&w);
	*total = ftell(af.f);
	if (ret) {
		snprintf(err, errlen, "cannot write %s: %s", path, strerror(-ret));
		atomic_abort(&af);
		return ret;
	}
	if (ev0 < 0 || *total < 0 || (size_t)*total > json_max_file()) {
		atomic_abort(&af);
		return -EFBIG;
	}
	return atomic_close(&af, err, errlen);
}

/*
 * Every recording mmlock writes, mmlock reads: the reader refuses a file
 * over json_max_file() (a bound on a parse's memory), and --min-slice 0 on
 * a busy machine keeps hundreds of thousands of events of ~400 bytes (a
 * fresh-clone test run wrote 282 MB that `report` then refused). A file that
 * comes out too large is written again with fewer events, the first ones,
 * as many as fit in 90% of what the events may take; the rest are counted
 * (events_not_kept). The histograms stay complete.
 */
int recording_write_json(const struct recording *rec, const char *path, char *err, size_t errlen)
{
	size_t nkeep = rec->nevents;
	long ev_bytes = 0, total = 0, room;
	char lim[32];
	int ret;

	for (int tries = 0; tries < 4; tries++) {
		ret = write_file(rec, nkeep, path, &ev_bytes, &total, err, errlen);
		if (ret != -EFBIG)
			return ret;
		room = (long)json_max_file() - (total - ev_bytes);
		if (nkeep == 0 || room <= 0 || ev_bytes <= 0)
			break;
		nkeep = (size_t)((double)nkeep * 0.9 * room / ev_bytes);
	}
	/* In the limit's own unit: a test aid's limit of bytes read "0 MiB". */
	snprintf(err, errlen, "%s: the recording does not fit in %s even without its events",
		 path, json_max_file_text(lim, sizeof(lim)));
	return -EFBIG;
}

/* ---- reading ---- */

/*
 * The reader is strict: a member of the wrong type, a number out of range for
 * its field, an unknown name or a repeated thread fails the whole file with
 * one message naming the field ("threads[2].hists[0].count: ..."). Missing
 * members read as 0 / "" (files from older versions lack some). The reader
 * checks types only where it reads; unknown members are ignored.
 */
struct reader {
	struct recording *rec;
	char *err;
	size_t errlen;
	char where[96];		/* "threads[3]" of the value being read */
	int ret;		/* first error, sticky */
};

static void __attribute__((format(printf, 3, 4)))
bad(struct reader *r, const char *key, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (r->ret)
		return;
	r->ret = -EINVAL;
	n = snprintf(r->err, r->errlen, "%s%s%s: ", r->where, r->where[0] && key ? "." : "",
		     key ? key : "");
	if (n < 0 || (size_t)n >= r->errlen)
		return;
	va_start(ap, fmt);
	vsnprintf(r->err + n, r->errlen - n, fmt, ap);
	va_end(ap);
}

/* Member key of o as a whole number in [0, max]; 0 if absent. */
static __u64 get_num(struct reader *r, const struct json_value *o, const char *key, __u64 max)
{
	const struct json_value *v = json_get(o, key);
	__u64 n = json_u64(v, 0);
	/* json_u64 gives its default for a fraction or a value past 2^64: try two. */
	bool exact = json_type(v) == JSON_NUMBER && !(n == 0 && json_u64(v, 1) == 1);

	if (!v || json_type(v) == JSON_NULL)
		return 0;
	if (exact && n > max)
		bad(r, key, "%llu is out of range (at most %llu)", (unsigned long long)n,
		    (unsigned long long)max);
	else if (!exact && json_type(v) == JSON_NUMBER && json_double(v, 0) > (double)max)
		bad(r, key, "%g is out of range (at most %llu)", json_double(v, 0),
		    (unsigned long long)max);
	else if (!exact)
		bad(r, key, "not a whole number >= 0");
	return r->ret ? 0 : n;
}

static __s64 get_s32(struct reader *r, const struct json_value *o, const char *key)
{
	const struct json_value *v = json_get(o, key);
	__s64 n = json_s64(v, 0);

	if (!v || json_type(v) == JSON_NULL)
		return 0;
	if (json_type(v) != JSON_NUMBER || (n == 0 && json_s64(v, 1) == 1) ||
	    n < INT32_MIN || n > INT32_MAX)
		bad(r, key, "not a whole number in %d..%d", INT32_MIN, INT32_MAX);
	return r->ret ? 0 : n;
}

static const char *get_str(struct reader *r, const struct json_value *o, const char *key)
{
	const struct json_value *v = json_get(o, key);

	if (v && json_type(v) != JSON_STRING && json_type(v) != JSON_NULL)
		bad(r, key, "not a string");
	return json_str(v, "");
}

/* A string into a fixed buffer: too long is an error, not a silent cut. */
static void get_name(struct reader *r, const struct json_value *o, const char *key,
		     char *buf, size_t len)
{
	const char *s = get_str(r, o, key);

	if (strlen(s) >= len)
		bad(r, key, "longer than %zu bytes", len - 1);
	else
		memcpy(buf, s, strlen(s) + 1);
}

static bool get_bool(struct reader *r, const struct json_value *o, const char *key)
{
	const struct json_value *v = json_get(o, key);

	if (v && json_type(v) != JSON_BOOL && json_type(v) != JSON_NULL)
		bad(r, key, "not true or false");
	return json_bool(v, false);
}

/* Member key of o that must be an array (or absent: NULL) / an object. */
static const struct json_value *get_typed(struct reader *r, const struct json_value *o,
					  const char *key, enum json_type type)
{
	const struct json_value *v = json_get(o, key);

	if (!v || json_type(v) == JSON_NULL)
		return NULL;
	if (json_type(v) != type) {
		bad(r, key, "not %s", type == JSON_ARRAY ? "an array" : "an object");
		return NULL;
	}
	return v;
}

static bool is_object(struct reader *r, const struct json_value *v)
{
	if (json_type(v) != JSON_OBJECT)
		bad(r, NULL, "not an object");
	return !r->ret;
}

/* Name -> enum value (name_fn), with a message naming the bad or missing value. */
static int get_enum(struct reader *r, const struct json_value *o, const char *key,
		    int (*from_name)(const char *))
{
	const struct json_value *v = json_get(o, key);
	int e;

	if (json_type(v) != JSON_STRING) {
		bad(r, key, v ? "not a string" : "missing");
		return -1;
	}
	e = from_name(json_str(v, ""));
	if (e < 0)
		bad(r, key, "unknown name '%s'", json_str(v, ""));
	return e;
}

/* Push ".key[i]" onto r->where; returns the old length for pop(). */
static size_t push(struct reader *r, const char *key, size_t i)
{
	size_t n = strlen(r->where);

	snprintf(r->where + n, sizeof(r->where) - n, "%s%s[%zu]", n ? "." : "", key, i);
	return n;
}

static void pop(struct reader *r, size_t n)
{
	r->where[n] = 0;
}

static int read_frames(struct reader *r, const struct json_value *o, const char *key,
		       char ***frames)
{
	const struct json_value *arr = get_typed(r, o, key, JSON_ARRAY);
	size_t n = json_len(arr);

	*frames = NULL;
	if (!n || r->ret)
		return 0;
	if (n > MMLOCK_STACK_DEPTH) {
		bad(r, key, "%zu frames (at most %d)", n, MMLOCK_STACK_DEPTH);
		return 0;
	}
	*frames = calloc(n, sizeof(char *));
	if (!*frames) {
		r->ret = -ENOMEM;
		return 0;
	}
	for (size_t i = 0; i < n; i++) {
		const struct json_value *f = json_at(arr, i);

		if (json_type(f) != JSON_STRING) {
			size_t w = push(r, key, i);

			bad(r, NULL, "not a string");
			pop(r, w);
		} else if (!((*frames)[i] = strdup(json_str(f, "")))) {
			r->ret = -ENOMEM;
		}
		if (r->ret) {
			frames_free(*frames, i + 1);
			*frames = NULL;
			return 0;
		}
	}
	return n;
}

/*
 * The breakdown of an ioctl or of a thread's ioctls of one command: known
 * part names, "unexplained" present, and the parts sum to `total` exactly.
 * Absent in recordings older than the breakdown: all of it is unexplained then.
 */
static void read_parts(struct reader *r, const struct json_value *o, const char *pkey,
		       __u64 *parts, __u64 total, const char *total_key)
{
	const struct json_value *p = get_typed(r, o, pkey, JSON_OBJECT);
	unsigned __int128 sum = 0;
	__u64 seen = 0;

	if (!p || r->ret) {
		parts[PART_UNEXPLAINED] = total;	/* an older recording: no breakdown */
		return;
	}
	for (size_t i = 0; !r->ret && i < json_len(p); i++) {
		const char *key = json_key_at(p, i);
		int k = part_from_name(key);

		if (k < 0 || seen & 1ULL << k) {
			bad(r, pkey, k < 0 ? "unknown part '%s'" : "part '%s' twice", key);
			return;
		}
		seen |= 1ULL << k;
		parts[k] = get_num(r, p, key, UINT64_MAX);
		sum += parts[k];
	}
	if (r->ret)
		return;
	for (unsigned int k = 0; k < NR_REC_PARTS; k++)
		if (parts[k] && !part_measured(r->rec, k, NULL)) {
			bad(r, pkey, "part '%s' but its probe did not attach", part_name(k));
			return;
		}
	if (!json_get(p, part_name(PART_UNEXPLAINED)))
		bad(r, pkey, "no \"%s\" (it is always written)", part_name(PART_UNEXPLAINED));
	else if (sum > UINT64_MAX)
		bad(r, pkey, "sum past 2^64, not %s %llu", total_key, (unsigned long long)total);
	else if (sum != total)
		bad(r, pkey, "sum to %llu, not %s %llu", (unsigned long long)sum, total_key,
		    (unsigned long long)total);
}

/* "oncpu_samples" and its "oncpu_top" functions; absent before the sampler. */
static void read_oncpu(struct reader *r, const struct json_value *o, __u32 tid, __u8 cmd,
		       __u64 ioctl_ts)
{
	const struct json_value *top = get_typed(r, o, "oncpu_top", JSON_ARRAY);
	__u64 samples = get_num(r, o, "oncpu_samples", UINT64_MAX), sum = 0;
	struct rec_oncpu *oc;

	if (r->ret || (!samples && !json_len(top)))
		return;
	oc = oncpu_get(r->rec, tid, cmd, ioctl_ts);
	if (!oc) {
		r->ret = -ENOMEM;
		return;
	}
	if (oc->samples) {
		bad(r, "oncpu_samples", "a second time for the same ioctls");
		return;
	}
	oc->samples = samples;
	for (size_t i = 0; !r->ret && i < json_len(top); i++) {
		const struct json_value *f = json_at(top, i);
		size_t w = push(r, "oncpu_top", i);
		const char *func = get_str(r, f, "func");
		__u64 n = get_num(r, f, "samples", samples);

		if (!r->ret && (!is_object(r, f) || !*func || !n))
			bad(r, NULL, "not a {func, via, samples} with a name and samples");
		else if (!r->ret && n > samples - sum)
			bad(r, "samples", "more than oncpu_samples in all");
		else if (!r->ret && oncpu_count(oc, func, get_str(r, f, "via"), n))
			r->ret = -ENOMEM;
		sum += n;
		pop(r, w);
	}
}

static void read_hist(struct reader *r, const struct json_value *o, struct rec_thread *t)
{
	const struct json_value *buckets;
	int kind, cls, site;
	struct rec_hist *h;
	size_t nhists = t->nhists;

	if (!is_object(r, o))
		return;
	kind = get_enum(r, o, "kind", kind_from_name);
	site = get_enum(r, o, "site", site_from_name);
	if (kind == KIND_IOCTL)
		cls = get_enum(r, o, "command", uffd_cmd_from_name);
	else
		cls = get_enum(r, o, "class", class_from_name);
	buckets = get_typed(r, o, "hist", JSON_ARRAY);
	if (r->ret)
		return;
	h = thread_hist(t, kind, cls, site);
	if (!h) {
		r->ret = -ENOMEM;
		return;
	}
	if (t->nhists == nhists) {
		bad(r, NULL, "a second histogram for %s %s %s", kind_name(kind),
		    kind == KIND_IOCTL ? uffd_cmd_name(cls) : class_name(cls), site_name(site));
		return;
	}
	h->count = get_num(r, o, "count", UINT64_MAX);
	h->total_ns = get_num(r, o, "total_ns", UINT64_MAX);
	h->max_ns = get_num(r, o, "max_ns", UINT64_MAX);
	h->aux_ns = get_num(r, o, kind == KIND_IOCTL ? "errors" :
			    kind == KIND_TRYLOCK ? "failed" : "runnable_ns", UINT64_MAX);
	if (kind == KIND_IOCTL) {
		read_parts(r, o, "parts", h->parts, h->total_ns, "total_ns");
		read_oncpu(r, o, t->tid, cls, 0);
	}
	for (size_t i = 0; !r->ret && i < json_len(buckets); i++) {
		const struct json_value *b = json_at(buckets, i);
		__u64 lo = json_u64(json_at(b, 0), UINT64_MAX), hi = json_u64(json_at(b, 1), 0);
		__u64 n = json_u64(json_at(b, 2), UINT64_MAX);
		unsigned int slot = hist_slot(lo);

		if (json_len(b) != 3 || json_type(b) != JSON_ARRAY || hist_slot_lo(slot) != lo ||
		    hist_slot_hi(slot) != hi || n > UINT32_MAX - h->slots[slot]) {
			size_t w = push(r, "hist", i);

			bad(r, NULL, "not a bucket [lo, hi, count] of this histogram layout");
			pop(r, w);
			return;
		}
		h->slots[slot] += n;
	}
}

static void read_stack(struct reader *r, const struct json_value *o, struct rec_stack *s)
{
	if (!is_object(r, o))
		return;
	s->kind = get_enum(r, o, "kind", kind_from_name);
	s->cls = get_enum(r, o, "class", class_from_name);
	s->site = get_enum(r, o, "site", site_from_name);
	s->count = get_num(r, o, "count", UINT64_MAX);
	s->total_ns = get_num(r, o, "total_ns", UINT64_MAX);
	s->max_ns = get_num(r, o, "max_ns", UINT64_MAX);
	if (!r->ret)
		s->nframes = read_frames(r, o, "frames", &s->frames);
}

static void read_thread(struct reader *r, const struct json_value *o, struct recording *rec)
{
	const struct json_value *hists, *stacks;
	size_t nthreads = rec->nthreads, n;
	struct rec_thread *t;
	__u32 tid;

	if (!is_object(r, o))
		return;
	tid = get_num(r, o, "tid", UINT32_MAX);
	hists = get_typed(r, o, "hists", JSON_ARRAY);
	stacks = get_typed(r, o, "stacks", JSON_ARRAY);
	if (r->ret)
		return;
	t = recording_thread(rec, tid);
	if (!t) {
		r->ret = -ENOMEM;
		return;
	}
	/* A second entry would be merged into the first's arrays: refuse it. */
	if (rec->nthreads == nthreads) {
		bad(r, "tid", "thread %u is listed twice", tid);
		return;
	}
	t->pid = get_num(r, o, "pid", UINT32_MAX);
	get_name(r, o, "comm", t->comm, sizeof(t->comm));
	get_name(r, o, "process", t->pcomm, sizeof(t->pcomm));
	t->exited = get_bool(r, o, "exited");
	for (size_t i = 0; !r->ret && i < json_len(hists); i++) {
		n = push(r, "hists", i);
		read_hist(r, json_at(hists, i), t);
		pop(r, n);
	}
	if (r->ret || !json_len(stacks))
		return;
	t->stacks = calloc(json_len(stacks), sizeof(*t->stacks));
	if (!t->stacks) {
		r->ret = -ENOMEM;
		return;
	}
	for (size_t i = 0; !r->ret && i < json_len(stacks); i++) {
		n = push(r, "stacks", i);
		read_stack(r, json_at(stacks, i), &t->stacks[t->nstacks++]);
		pop(r, n);
	}
}

static void read_event(struct reader *r, const struct json_value *o, struct rec_event *e)
{
	int kind;

	if (!is_object(r, o))
		return;
	e->ts_ns = get_num(r, o, "ts_ns", UINT64_MAX);
	e->dur_ns = get_num(r, o, "dur_ns", UINT64_MAX - e->ts_ns);
	e->pid = get_num(r, o, "pid", UINT32_MAX);
	e->tid = get_num(r, o, "tid", UINT32_MAX);
	kind = get_enum(r, o, "kind", kind_from_name);
	e->site = get_enum(r, o, "site", site_from_name);
	if (r->ret)
		return;
	e->kind = kind;
	if (kind == KIND_IOCTL) {
		e->cls = get_enum(r, o, "command", uffd_cmd_from_name);
		e->flags = get_num(r, o, "cmd", UINT32_MAX);
		e->aux_ns = get_num(r, o, "len", UINT64_MAX);
		e->ret = get_s32(r, o, "ret");
		e->blame_cls = json_get(o, "blame_class") ?
			       get_enum(r, o, "blame_class", class_from_name) : CLASS_OTHER;
		e->blame_ns = get_num(r, o, "blame_ns", UINT64_MAX);
		e->preempt_ns = get_num(r, o, "preempted_ns", UINT64_MAX);
		e->other_tid = get_num(r, o, "preempted_by_tid", UINT32_MAX);
		get_name(r, o, "preempted_by_comm", e->by_comm, sizeof(e->by_comm));
		e->by_ns = get_num(r, o, "preempted_by_ns", e->dur_ns);
		read_parts(r, o, "parts", e->parts, e->dur_ns, "dur_ns");
		if (!r->ret && !e->ts_ns && json_get(o, "oncpu_samples"))
			bad(r, "ts_ns", "0 with on-CPU samples (0 names a thread's sums)");
		read_oncpu(r, o, e->tid, e->cls, e->ts_ns);
	} else {
		e->cls = get_enum(r, o, "class", class_from_name);
		e->flags = get_num(r, o, "flags", UINT32_MAX);
		e->addr = get_num(r, o, "addr", UINT64_MAX);
		e->other_tid = get_num(r, o, other_tid_name(kind, e->tid), UINT32_MAX);
		e->aux_ns = get_num(r, o, "runnable_ns", UINT64_MAX);
		/* [chains]: absent in older recordings and where not known. */
		if (kind == KIND_LOCK && json_get(o, "outside"))
			e->outside = get_bool(r, o, "outside");
		if (json_get(o, other_comm_name(kind, e->tid)))
			get_name(r, o, other_comm_name(kind, e->tid), e->by_comm, sizeof(e->by_comm));
		if (kind == KIND_LOCK && json_get(o, "owner_window_ns")) {
			e->by_ns = get_num(r, o, "owner_window_ns", e->dur_ns);
			read_parts(r, o, "owner_parts", e->parts, e->by_ns, "owner_window_ns");
		}
	}
	if (!r->ret)
		e->nframes = read_frames(r, o, "stack", &e->frames);
}

static void read_sample(struct reader *r, const struct json_value *o, struct rec_sample *s)
{
	const struct json_value *w;

	if (!is_object(r, o))
		return;
	s->ts_ns = get_num(r, o, "ts_ns", UINT64_MAX);
	s->pid = get_num(r, o, "pid", UINT32_MAX);
	s->ioctls = get_num(r, o, "ioctls", UINT64_MAX);
	w = get_typed(r, o, "waits", JSON_OBJECT);
	for (size_t i = 0; !r->ret && i < json_len(w); i++) {
		const char *key = json_key_at(w, i);
		int c = class_from_name(key);

		if (c < 0) {
			bad(r, "waits", "unknown class '%s'", key);
			break;
		}
		s->waits[c] = get_num(r, w, key, UINT64_MAX);
	}
}

static void read_cpu_sample(struct reader *r, const struct json_value *o,
			    struct rec_cpu_sample *s)
{
	if (!is_object(r, o))
		return;
	s->ts_ns = get_num(r, o, "ts_ns", UINT64_MAX);
	s->ioctl_ts_ns = get_num(r, o, "ioctl_ts_ns", s->ts_ns);
	s->pid = get_num(r, o, "pid", UINT32_MAX);
	s->tid = get_num(r, o, "tid", UINT32_MAX);
	s->cmd = get_enum(r, o, "command", uffd_cmd_from_name);
	s->wait_cls = json_get(o, "wait") ? get_enum(r, o, "wait", class_from_name) : SAMPLE_NO_WAIT;
	s->spin = get_bool(r, o, "spin");
	if (!r->ret)
		s->nframes = read_frames(r, o, "stack", &s->frames);
}

/* The sampler's settings and counts; absent before it (then: off, nothing taken). */
static void read_sampler(struct reader *r, const struct json_value *root, struct rec_sampler *sm)
{
	const struct json_value *v = get_typed(r, root, "sampler", JSON_OBJECT);

	if (!v || r->ret)
		return;
	snprintf(r->where, sizeof(r->where), "sampler");
	sm->hz = get_num(r, v, "hz", UINT32_MAX);
	sm->attached = get_bool(r, v, "attached");
	get_name(r, v, "why_not", sm->why, sizeof(sm->why));
	sm->cpus = get_num(r, v, "cpus", UINT32_MAX);
	sm->samples = get_num(r, v, "samples", UINT64_MAX);
	sm->filed = get_num(r, v, "filed", UINT64_MAX);
	sm->lost = get_num(r, v, "lost", UINT64_MAX);
	sm->no_stack = get_num(r, v, "no_stack", UINT64_MAX);
	sm->not_kept = get_num(r, v, "not_kept", UINT64_MAX);
	sm->run_ns = get_num(r, v, "run_ns", UINT64_MAX);
	sm->runs = get_num(r, v, "runs", UINT64_MAX);
	if (!r->ret && sm->filed > sm->samples)
		bad(r, "filed", "more than samples");
	if (!r->ret)
		r->where[0] = 0;
}

static void read_probe(struct reader *r, const struct json_value *o, struct rec_probe *p)
{
	if (!is_object(r, o))
		return;
	get_name(r, o, "name", p->name, sizeof(p->name));
	get_name(r, o, "mechanism", p->mechanism, sizeof(p->mechanism));
	get_name(r, o, "refused", p->refused, sizeof(p->refused));
	p->prog_id = get_num(r, o, "prog_id", UINT32_MAX);
}

/* Array member key of root, each element read by fn into (*arr)[*n]. */
#define READ_ARRAY(r, root, key, arr, n, fn)						\
	do {										\
		const struct json_value *a_ = get_typed(r, root, key, JSON_ARRAY);	\
		size_t w_;								\
											\
		if ((r)->ret || !json_len(a_))						\
			break;								\
		(arr) = calloc(json_len(a_), sizeof(*(arr)));				\
		if (!(arr)) {								\
			(r)->ret = -ENOMEM;						\
			break;								\
		}									\
		for (size_t i_ = 0; !(r)->ret && i_ < json_len(a_); i_++) {		\
			w_ = push(r, key, i_);						\
			fn(r, json_at(a_, i_), &(arr)[(n)++]);				\
			pop(r, w_);							\
		}									\
	} while (0)

static bool is_uuid(const char *s)
{
	for (int i = 0; i < 36; i++, s++) {
		bool dash = i == 8 || i == 13 || i == 18 || i == 23;

		if (dash ? *s != '-' : !strchr("0123456789abcdefABCDEF", *s) || !*s)
			return false;
	}
	return !*s;
}

/* The fleet identity: absent in recordings older than it, checked when present. */
static void read_identity(struct reader *r, const struct json_value *root, struct recording *rec)
{
	const struct json_value *labels = get_typed(r, root, "labels", JSON_OBJECT);
	const char *s, *why;

	s = get_str(r, root, "id");
	if (*s && !is_uuid(s))
		bad(r, "id", "not a UUID");
	else
		snprintf(rec->id, sizeof(rec->id), "%s", s);
	s = get_str(r, root, "device");
	if (*s && (why = device_bad(s)))
		bad(r, "device", "%s", why);
	else
		snprintf(rec->device, sizeof(rec->device), "%s", s);
	s = get_str(r, root, "hist_layout");
	/* The buckets below are mapped onto this build's layout: another one cannot be. */
	if (*s && strcmp(s, HIST_LAYOUT_ID))
		bad(r, "hist_layout", "'%s', not this mmlock's %s", s, HIST_LAYOUT_ID);
	for (size_t i = 0; !r->ret && i < json_len(labels); i++) {
		const char *key = json_key_at(labels, i);
		struct rec_label l;
		int ret;

		snprintf(r->where, sizeof(r->where), "labels");
		s = get_str(r, labels, key);
		why = label_key_bad(key) ?: label_value_bad(s);
		if (why) {
			bad(r, key, "%s", why);
			break;
		}
		snprintf(l.key, sizeof(l.key), "%s", key);
		snprintf(l.value, sizeof(l.value), "%s", s);
		ret = recording_add_label(rec, &l);
		if (ret == -ENOMEM)
			r->ret = ret;
		else if (ret == -EEXIST)
			bad(r, key, "given twice");
		else if (ret)
			bad(r, key, "more than %d labels", REC_MAX_LABELS);
	}
	r->where[0] = 0;
}

static void read_root(struct reader *r, const struct json_value *root, struct recording *rec)
{
	const struct json_value *threads, *v;
	const char *s;

	read_identity(r, root, rec);
	get_name(r, root, "version", rec->tool_version, sizeof(rec->tool_version));
	get_name(r, root, "kernel", rec->kernel, sizeof(rec->kernel));
	get_name(r, root, "arch", rec->arch, sizeof(rec->arch));
	rec->start_ns = get_num(r, root, "start_ns", UINT64_MAX);
	rec->end_ns = get_num(r, root, "end_ns", UINT64_MAX);
	if (!r->ret && rec->start_ns > rec->end_ns)
		bad(r, "end_ns", "before start_ns");
	v = get_typed(r, root, "clock", JSON_OBJECT);
	snprintf(r->where, sizeof(r->where), "clock");
	rec->clk_boottime_ns = get_num(r, v, "boottime_ns", UINT64_MAX);
	rec->clk_monotonic_ns = get_num(r, v, "monotonic_ns", UINT64_MAX);
	rec->clk_realtime_ns = get_num(r, v, "realtime_ns", UINT64_MAX);
	r->where[0] = 0;
	v = get_typed(r, root, "filter", JSON_OBJECT);
	snprintf(r->where, sizeof(r->where), "filter");
	rec->filter_pid = get_num(r, v, "pid", UINT32_MAX);
	rec->filter_tid = get_num(r, v, "tid", UINT32_MAX);
	get_name(r, v, "comm", rec->filter_comm, sizeof(rec->filter_comm));
	/* Absent (older files, or no -c): not known. */
	if (json_get(v, "comm_seen") && json_type(json_get(v, "comm_seen")) != JSON_NULL) {
		if (!rec->filter_comm[0])
			bad(r, "comm_seen", "given without comm");
		rec->filter_comm_seen = get_bool(r, v, "comm_seen") ? 1 : -1;
	}
	r->where[0] = 0;
	rec->min_slice_ns = get_num(r, root, "min_slice_ns", UINT64_MAX);
	/* Absent before [chains]: the default. The chains themselves are rebuilt. */
	if (json_get(root, "chain_min_ns"))
		rec->chain_min_ns = get_num(r, root, "chain_min_ns", UINT64_MAX);
	rec->live_states = get_num(r, root, "thread_states_at_end", UINT64_MAX);
	rec->stack_min_ns = get_num(r, root, "stack_min_ns", UINT64_MAX);
	s = get_str(r, root, "bpf_locks");	/* absent in older recordings: resilient */
	if (*s && strcmp(s, "plain") && strcmp(s, "resilient"))
		bad(r, "bpf_locks", "not \"plain\" or \"resilient\"");
	rec->plain_locks = !strcmp(s, "plain");
	s = get_str(r, root, "uffd_probes");	/* absent in older recordings: auto */
	if (*s && strcmp(s, "auto") && strcmp(s, "none"))
		bad(r, "uffd_probes", "not \"auto\" or \"none\"");
	rec->no_uffd_probes = !strcmp(s, "none");
	v = get_typed(r, root, "counters", JSON_OBJECT);
	snprintf(r->where, sizeof(r->where), "counters");
	for (int i = 0; i < NR_COUNTERS; i++)
		rec->counters[i] = get_num(r, v, counter_name(i), UINT64_MAX);
	rec->events_dropped = get_num(r, v, "events_not_kept", UINT64_MAX);
	rec->samples_dropped = get_num(r, v, "samples_not_kept", UINT64_MAX);
	r->where[0] = 0;
	if (r->ret)
		return;
	READ_ARRAY(r, root, "probes", rec->probes, rec->nprobes, read_probe);
	threads = json_get(root, "threads");
	if (!r->ret && json_type(threads) != JSON_ARRAY)
		bad(r, "threads", threads ? "not an array" : "missing");
	for (size_t i = 0; !r->ret && i < json_len(threads); i++) {
		size_t w = push(r, "threads", i);

		read_thread(r, json_at(threads, i), rec);
		pop(r, w);
	}
	READ_ARRAY(r, root, "samples", rec->samples, rec->nsamples, read_sample);
	READ_ARRAY(r, root, "events", rec->events, rec->nevents, read_event);
	read_sampler(r, root, &rec->sampler);
	READ_ARRAY(r, root, "cpu_samples", rec->cpu_samples, rec->ncpu_samples, read_cpu_sample);
	rec->cpu_samples_cap = rec->ncpu_samples;
	rec->max_cpu_samples = rec->ncpu_samples;
	if (!r->ret)
		oncpu_sort(rec);
	/* The chains index events: in the order every reader sorts them to (recording_sort). */
	if (!r->ret) {
		recording_sort(rec);
		if (chains_build(rec))
			r->ret = -ENOMEM;
	}
}

/* A parsed document into rec; name (the file) heads every message. */
static int from_json(struct recording *rec, struct json_value *root, const char *name,
		     char *err, size_t errlen)
{
	char e2[256] = "";
	struct reader r = { .rec = rec, .err = e2, .errlen = sizeof(e2) };

	if (json_type(root) != JSON_OBJECT || strcmp(json_get_str(root, "tool", ""), "mmlock") ||
	    json_get_u64(root, "format", 0) != REC_FORMAT_VERSION) {
		snprintf(err, errlen, "%s: not an mmlock recording (format %d)", name, REC_FORMAT_VERSION);
		json_free(root);
		return -EINVAL;
	}
	read_root(&r, root, rec);
	json_free(root);
	if (r.ret) {
		snprintf(err, errlen, "%s: %s", name, e2[0] ? e2 : strerror(-r.ret));
		recording_free(rec);
	}
	return r.ret;
}

int recording_read_json(struct recording *rec, const char *path, char *err, size_t errlen)
{
	struct json_value *root;

	memset(rec, 0, sizeof(*rec));
	root = json_parse_file(path, err, errlen);
	if (!root)
		return -EINVAL;
	return from_json(rec, root, path, err, errlen);
}

int recording_parse_json(struct recording *rec, const char *text, size_t len, const char *name,
			 char *err, size_t errlen)
{
	struct json_value *root;
	char perr[256];

	memset(rec, 0, sizeof(*rec));
	root = json_parse(text, len, perr, sizeof(perr));
	if (!root) {
		snprintf(err, errlen, "%s: %s", name, perr);
		return -EINVAL;
	}
	return from_json(rec, root, name, err, errlen);
}
