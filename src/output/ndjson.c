// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Flat tables of recordings (`mmlock export --ndjson`). Every row of a table
 * has the same keys, null where a field does not apply: engines that infer a
 * schema (DuckDB) or need one declared (ClickHouse 18.16 JSONEachRow) then
 * read every file the same way. Kernel addresses are hex strings, because
 * jq 1.6 and JavaScript round integers above 2^53.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "lib/json.h"
#include "lib/util.h"
#include "output/ndjson.h"
#include "output/recording_json.h"

enum { T_RECORDINGS, T_HISTS, T_BUCKETS, T_EVENTS, NR_TABLES };

const char *const ndjson_tables[] = { "recordings", "hists", "buckets", "events", NULL };

struct ndjson_export {
	struct atomic_file af[NR_TABLES];
	struct json_writer w[NR_TABLES];
};

void ndjson_abort(struct ndjson_export *x)
{
	if (!x)
		return;
	for (int t = 0; t < NR_TABLES; t++)
		atomic_abort(&x->af[t]);
	free(x);
}

struct ndjson_export *ndjson_open(const char *dir, char *err, size_t errlen)
{
	struct ndjson_export *x = calloc(1, sizeof(*x));
	char path[4096];

	if (!x) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	for (int t = 0; t < NR_TABLES; t++) {
		snprintf(path, sizeof(path), "%s/%s.ndjson", dir, ndjson_tables[t]);
		if (atomic_open(&x->af[t], path, err, errlen)) {
			ndjson_abort(x);
			return NULL;
		}
		jw_init(&x->w[t], x->af[t].f, false);
	}
	return x;
}

int ndjson_commit(struct ndjson_export *x, char *err, size_t errlen)
{
	int t, ret = 0;

	/* Every table written in full before any is renamed: a full disk leaves none. */
	for (t = 0; t < NR_TABLES && !ret; t++)
		if ((ret = jw_finish(&x->w[t])))
			snprintf(err, errlen, "cannot write %s: %s", x->af[t].path, strerror(-ret));
	for (t = 0; t < NR_TABLES && !ret; t++)
		ret = atomic_close(&x->af[t], err, errlen);
	ndjson_abort(x);
	return ret;
}

/* FNV-1a, 64 bits: a stable name for a recording that has none. */
static __u64 fnv(__u64 h, const void *p, size_t n)
{
	const unsigned char *b = p;

	for (size_t i = 0; i < n; i++)
		h = (h ^ b[i]) * 0x100000001b3ULL;
	return h;
}

const char *export_id(const struct recording *rec, char *buf, size_t len)
{
	__u64 h = 0xcbf29ce484222325ULL;

	if (rec->id[0]) {
		snprintf(buf, len, "%s", rec->id);
		return buf;
	}
	h = fnv(h, rec->kernel, strlen(rec->kernel));
	h = fnv(h, &rec->start_ns, sizeof(rec->start_ns));
	h = fnv(h, &rec->end_ns, sizeof(rec->end_ns));
	h = fnv(h, &rec->clk_realtime_ns, sizeof(rec->clk_realtime_ns));
	h = fnv(h, &rec->filter_pid, sizeof(rec->filter_pid));
	for (size_t i = 0; i < rec->nthreads; i++) {
		h = fnv(h, &rec->threads[i].tid, sizeof(rec->threads[i].tid));
		for (size_t j = 0; j < rec->threads[i].nhists; j++)
			h = fnv(h, &rec->threads[i].hists[j].total_ns, sizeof(__u64));
	}
	snprintf(buf, len, "legacy-%016llx", (unsigned long long)h);
	return buf;
}

static void str_or_null(struct json_writer *w, const char *key, const char *s)
{
	if (s && *s)
		jw_str(w, key, s);
	else
		jw_null(w, key);
}

static void u64_or_null(struct json_writer *w, const char *key, bool have, __u64 v)
{
	if (have)
		jw_u64(w, key, v);
	else
		jw_null(w, key);
}

static void row_end(struct json_writer *w)
{
	jw_obj_end(w);
	fputc('\n', w->f);
}

/* The columns that say whose a row is: in every table but recordings (sharding, grouping). */
static void row_keys(struct json_writer *w, const struct recording *rec, const char *id)
{
	jw_obj_begin(w, NULL);
	jw_str(w, "recording_id", id);
	str_or_null(w, "device", rec->device);
	jw_str(w, "kernel", rec->kernel);
}

static void write_recording(struct json_writer *w, const struct recording *rec, const char *id)
{
	__s64 since_clock = (__s64)(rec->start_ns - rec->clk_boottime_ns);
	__u64 drops = 0;
	char buf[384];

	jw_obj_begin(w, NULL);
	jw_str(w, "recording_id", id);
	str_or_null(w, "device", rec->device);
	jw_arr_begin(w, "labels");
	for (size_t i = 0; i < rec->nlabels; i++)
		jw_str(w, NULL, label_str(&rec->labels[i], buf, sizeof(buf)));
	jw_arr_end(w);
	jw_str(w, "kernel", rec->kernel);
	jw_str(w, "arch", rec->arch);
	jw_str(w, "tool_version", rec->tool_version);
	jw_str(w, "hist_layout", HIST_LAYOUT_ID);
	/* Boottime is per boot: the wall clock taken with it says when, across devices. */
	u64_or_null(w, "start_unix_ns", rec->clk_realtime_ns, rec->clk_realtime_ns + since_clock);
	jw_u64(w, "start_boottime_ns", rec->start_ns);
	jw_u64(w, "duration_ns", rec->end_ns - rec->start_ns);
	u64_or_null(w, "filter_pid", rec->filter_pid, rec->filter_pid);
	u64_or_null(w, "filter_tid", rec->filter_tid, rec->filter_tid);
	str_or_null(w, "filter_comm", rec->filter_comm);
	jw_str(w, "uffd_probes", rec->no_uffd_probes ? "none" : "auto");
	jw_arr_begin(w, "drops");
	for (int i = 0; i < NR_COUNTERS; i++)
		if (rec->counters[i]) {
			snprintf(buf, sizeof(buf), "%s=%llu", counter_name(i),
				 (unsigned long long)rec->counters[i]);
			jw_str(w, NULL, buf);
			drops += rec->counters[i];
		}
	if (rec->events_dropped) {
		snprintf(buf, sizeof(buf), "events_not_kept=%llu", (unsigned long long)rec->events_dropped);
		jw_str(w, NULL, buf);
		drops += rec->events_dropped;
	}
	if (rec->samples_dropped) {
		snprintf(buf, sizeof(buf), "samples_not_kept=%llu",
			 (unsigned long long)rec->samples_dropped);
		jw_str(w, NULL, buf);
		drops += rec->samples_dropped;
	}
	jw_arr_end(w);
	jw_u64(w, "drops_total", drops);
	/* As the report's "not measured:" line: a begin/end pair whose end probe got nothing. */
	jw_arr_begin(w, "not_measured");
	for (size_t k = 0; k < nr_probe_pairs; k++) {
		if (!probe_pairs[k].what)
			continue;
		for (size_t i = 0; i < rec->nprobes; i++)
			if (!strcmp(rec->probes[i].name, probe_pairs[k].end) &&
			    !strcmp(rec->probes[i].mechanism, "none")) {
				jw_str(w, NULL, probe_pairs[k].what);
				break;
			}
	}
	jw_arr_end(w);
	jw_u64(w, "threads", rec->nthreads);
	row_end(w);
}

/* A histogram's identity within its recording: its thread and kind x class x site. */
static void hist_keys(struct json_writer *w, const struct rec_thread *t, const struct rec_hist *h)
{
	jw_u64(w, "tid", t->tid);
	jw_str(w, "thread", t->comm);
	jw_str(w, "kind", kind_name(h->kind));
	jw_str(w, "class_or_command", h->kind == KIND_IOCTL ? uffd_cmd_name(h->cls) :
		class_name(h->cls));
	jw_str(w, "site", site_name(h->site));
}

static void write_hist(struct json_writer *w, const struct recording *rec, const char *id,
		       const struct rec_thread *t, const struct rec_hist *h)
{
	bool ioctl = h->kind == KIND_IOCTL;
	char key[64];

	row_keys(w, rec, id);
	hist_keys(w, t, h);
	jw_u64(w, "pid", t->pid);
	jw_str(w, "process", t->pcomm);
	jw_bool(w, "exited", t->exited);
	jw_hist_summary(w, h);
	u64_or_null(w, "runnable_ns", h->kind == KIND_DSTATE, h->aux_ns);
	u64_or_null(w, "errors", ioctl, h->aux_ns);
	u64_or_null(w, "failed", h->kind == KIND_TRYLOCK, h->aux_ns);
	for (unsigned int p = 0; p < NR_REC_PARTS; p++) {
		snprintf(key, sizeof(key), "part_%s_ns", part_name(p));
		/* Null where not measured (rwsem_spin without its probe), as for other kinds. */
		u64_or_null(w, key, ioctl && part_measured(rec, p, NULL), h->parts[p]);
	}
	row_end(w);
}

static void write_buckets(struct json_writer *w, const struct recording *rec, const char *id,
			  const struct rec_thread *t, const struct rec_hist *h)
{
	for (unsigned int i = 0; i < HIST_SLOTS; i++) {
		if (!h->slots[i])
			continue;
		row_keys(w, rec, id);
		hist_keys(w, t, h);
		jw_u64(w, "lo_ns", hist_slot_lo(i));
		jw_u64(w, "hi_ns", hist_slot_hi(i));
		jw_u64(w, "count", h->slots[i]);
		row_end(w);
	}
}

static void write_event(struct json_writer *w, const struct recording *rec, const char *id,
			const struct rec_event *e)
{
	bool ioctl = e->kind == KIND_IOCTL;
	char addr[24];

	row_keys(w, rec, id);
	jw_u64(w, "tid", e->tid);
	jw_u64(w, "pid", e->pid);
	jw_str(w, "kind", kind_name(e->kind));
	jw_str(w, "class_or_command", ioctl ? uffd_cmd_name(e->cls) : class_name(e->cls));
	jw_str(w, "site", site_name(e->site));
	jw_u64(w, "ts_ns", e->ts_ns);
	jw_u64(w, "dur_ns", e->dur_ns);
	snprintf(addr, sizeof(addr), "0x%llx", (unsigned long long)e->addr);
	str_or_null(w, "addr", ioctl ? NULL : addr);
	u64_or_null(w, "other_tid", e->other_tid, e->other_tid);
	jw_str(w, "other_tid_is", ioctl ? "preempted_by_tid" : other_tid_name(e->kind, e->tid));
	u64_or_null(w, "runnable_ns", e->kind == KIND_DSTATE, e->aux_ns);
	u64_or_null(w, "preempted_ns", ioctl, e->preempt_ns);
	str_or_null(w, "blame_class", ioctl ? class_name(e->blame_cls) : NULL);
	u64_or_null(w, "blame_ns", ioctl, e->blame_ns);
	if (ioctl)
		jw_s64(w, "ret", e->ret);
	else
		jw_null(w, "ret");
	jw_arr_begin(w, "stack");
	for (int i = 0; i < e->nframes; i++)
		jw_str(w, NULL, e->frames[i]);
	jw_arr_end(w);
	row_end(w);
}

int ndjson_add(struct ndjson_export *x, const struct recording *rec, const char *id,
	       char *err, size_t errlen)
{
	write_recording(&x->w[T_RECORDINGS], rec, id);
	for (size_t i = 0; i < rec->nthreads; i++) {
		const struct rec_thread *t = &rec->threads[i];

		for (size_t j = 0; j < t->nhists; j++) {
			write_hist(&x->w[T_HISTS], rec, id, t, &t->hists[j]);
			write_buckets(&x->w[T_BUCKETS], rec, id, t, &t->hists[j]);
		}
	}
	/* Blockers outside the recording's filter are no waits of what was recorded. */
	for (size_t i = 0; i < rec->nevents; i++)
		if (!rec->events[i].outside)
			write_event(&x->w[T_EVENTS], rec, id, &rec->events[i]);
	for (int t = 0; t < NR_TABLES; t++)
		if (x->w[t].err || ferror(x->af[t].f)) {
			snprintf(err, errlen, "cannot write %s: %s", x->af[t].path,
				 strerror(x->w[t].errnum ?: EIO));
			return -(x->w[t].errnum ?: EIO);
		}
	return 0;
}
