// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Native Perfetto protobuf export. Layout (see docs/perfetto.md):
 *
 *   PF_SEQ_META:     ClockSnapshot; TrackDescriptors for processes, threads,
 *                    per-process counters, the "mmlock" summary track and the
 *                    histogram groups; per histogram one INSTANT (all buckets
 *                    as args) and one COUNTER value per non-empty bucket track.
 *   PF_SEQ_SLICES:   SLICE_BEGIN/SLICE_END on thread tracks in time order,
 *                    then the recording summary INSTANT (drops, probes).
 *   PF_SEQ_COUNTERS: per-process counter values from rec->samples.
 *
 * Every sequence has monotonic timestamps; no interning is used, so packets
 * never depend on incremental state. This file: open, spool each event, finish (sort, then every section in order);
 * the rest is in perfetto_*.c (perfetto_int.h lists them).
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE	/* O_TMPFILE, mkostemp, asprintf */
#endif
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include "output/perfetto_int.h"

static void seterr(char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void seterr(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (!err || !errlen)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

static void copy_name(char *dst, const char *src)
{
	size_t n;

	if (!src)
		return;
	n = strnlen(src, MMLOCK_COMM_LEN - 1);
	memcpy(dst, src, n);
	dst[n] = '\0';
}

/* ---- open / event ---- */

static FILE *spool_open(const char *path)
{
	char *copy = strdup(path), *tmpl = NULL;
	int fd = -1, e;
	FILE *f;

	if (!copy)
		return NULL;
#ifdef O_TMPFILE
	fd = open(dirname(copy), O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
#endif
	if (fd < 0) {
		if (asprintf(&tmpl, "%s.spool.XXXXXX", path) < 0) {
			free(copy);
			errno = ENOMEM;
			return NULL;
		}
		fd = mkostemp(tmpl, O_CLOEXEC);
		if (fd >= 0)
			unlink(tmpl);
		free(tmpl);
	}
	e = errno;
	free(copy);
	if (fd < 0) {
		errno = e;
		return NULL;
	}
	f = fdopen(fd, "w+");
	if (!f) {
		e = errno;
		close(fd);
		errno = e;
	}
	return f;
}

static void writer_free(struct pf_writer *w)
{
	if (!w)
		return;
	atomic_abort(&w->af);
	free(w->path);
	if (w->spool)
		fclose(w->spool);
	if (w->frames)
		fclose(w->frames);
	for (size_t i = 0; i < w->nthr; i++) {
		free(w->thr[i].stk);
		free(w->thr[i].bstk);
		free(w->thr[i].ser);
	}
	flows_free(&w->fl);
	free(w->thr);
	free(w->hash);
	pb_free(&w->pb);
	free(w);
}

struct pf_writer *pf_open(const char *path, const struct recording *meta,
			  char *err, size_t errlen)
{
	struct pf_writer *w = calloc(1, sizeof(*w));
	int e;

	if (!w) {
		seterr(err, errlen, "%s: out of memory", path);
		errno = ENOMEM;
		return NULL;
	}
	pb_init(&w->pb);
	/*
	 * The trace's temp file is created by pf_finish: one made now would be
	 * left behind by a SIGKILL during the recording. The spools are
	 * unlinked files, gone with the process.
	 */
	e = check_writable(path, err, errlen);
	w->path = e ? NULL : strdup(path);
	if (!w->path) {
		if (!e)
			seterr(err, errlen, "%s: out of memory", path);
		writer_free(w);
		errno = e ? -e : ENOMEM;
		return NULL;
	}
	w->spool = spool_open(path);
	w->frames = w->spool ? spool_open(path) : NULL;
	if (!w->frames) {
		e = errno;
		seterr(err, errlen, "cannot create a spool file next to %s: %s",
		       path, strerror(e));
		pf_abort(w);
		errno = e;
		return NULL;
	}
	if (meta) {
		w->clk_boot = meta->clk_boottime_ns;
		w->clk_mono = meta->clk_monotonic_ns;
		w->clk_real = meta->clk_realtime_ns;
	}
	return w;
}

int pf_event(struct pf_writer *w, const struct rec_event *ev,
	     const char *comm, const char *pcomm)
{
	struct pf_rec r;
	struct pf_thread *t;

	t = thr_get(w, ev->tid, ev->pid);
	if (!t)
		return w->err = -ENOMEM;
	if (!t->comm[0] && comm)
		copy_name(t->comm, comm);
	if (!t->pcomm[0] && pcomm)
		copy_name(t->pcomm, pcomm);

	memset(&r, 0, sizeof(r));
	r.ts = ev->ts_ns;
	r.dur = ev->dur_ns;
	r.addr = ev->addr;
	r.aux = ev->aux_ns;
	r.blame_ns = ev->blame_ns;
	r.preempt_ns = ev->preempt_ns;
	r.blame_cls = ev->blame_cls;
	r.seq = w->nrec;
	r.pid = ev->pid;
	r.tid = ev->tid;
	r.flags = ev->flags;
	r.other_tid = ev->other_tid;
	r.ret = ev->ret;
	r.kind = ev->kind;
	r.cls = ev->cls;
	r.site = ev->site;
	r.frames_off = w->frames_len;
	/*
	 * The breakdown of an ioctl goes to the side spool, not the record:
	 * only ioctls have one, and a fixed record keeps the sort cheap.
	 */
	if (ev->kind == KIND_IOCTL && parts_sum(ev->parts)) {
		if (fwrite(ev->parts, sizeof(ev->parts), 1, w->frames) != 1)
			return w->err = errno ? -errno : -EIO;
		w->frames_len += sizeof(ev->parts);
		r.has_parts = 1;
	}
	for (int i = 0; i < ev->nframes; i++) {
		const char *f = ev->frames[i] ? ev->frames[i] : "";
		size_t n = strlen(f) + 1;

		if (fwrite(f, 1, n, w->frames) != n)
			return w->err = errno ? -errno : -EIO;
		w->frames_len += n;
		r.nframes++;
	}
	if (series_add(t, &r))
		return w->err = -ENOMEM;
	if (fwrite(&r, sizeof(r), 1, w->spool) != 1)
		return w->err = errno ? -errno : -EIO;
	w->nrec++;
	return 0;
}

void pf_abort(struct pf_writer *w)
{
	writer_free(w);	/* removes the temp file */
}

/* ---- finish ---- */

static int cmp_thread(const void *a, const void *b)
{
	const struct pf_thread *x = a, *y = b;

	if (x->pid != y->pid)
		return x->pid < y->pid ? -1 : 1;
	return (x->tid > y->tid) - (x->tid < y->tid);
}

/* Processes: every thread's pid and every sampled pid, sorted. */
static struct pf_proc *build_procs(struct pf_writer *w, const struct recording *rec,
				   size_t *nprocs)
{
	struct pf_proc *procs = calloc(w->nthr + rec->nsamples + 1, sizeof(*procs));
	size_t n = 0, i, j;

	if (!procs)
		return NULL;
	for (i = 0; i < w->nthr; i++)
		procs[n++].pid = w->thr[i].pid;
	for (i = 0; i < rec->nsamples; i++)
		procs[n++].pid = rec->samples[i].pid;
	qsort(procs, n, sizeof(*procs), cmp_proc);
	for (i = j = 0; i < n; i++)
		if (!j || procs[j - 1].pid != procs[i].pid)
			procs[j++] = procs[i];
	n = j;
	for (i = 0; i < n; i++) {
		struct pf_proc *p = &procs[i];
		const struct pf_thread *leader = thr_find(w, p->pid);

		if (leader && leader->pcomm[0])
			p->name = leader->pcomm;
		for (j = 0; !p->name && j < w->nthr; j++)
			if (w->thr[j].pid == p->pid && w->thr[j].pcomm[0])
				p->name = w->thr[j].pcomm;
		if (!p->name && leader && leader->pid == p->pid && leader->comm[0])
			p->name = leader->comm;
	}
	for (i = 0; i < rec->nsamples; i++) {
		const struct rec_sample *s = &rec->samples[i];
		struct pf_proc *p = proc_of(procs, n, s->pid);

		for (unsigned int c = 0; c < NR_CLASSES; c++)
			if (s->waits[c])
				p->class_mask |= 1U << c;
		if (s->ioctls)
			p->ioctls = true;
	}
	*nprocs = n;
	return procs;
}

static int map_spool(FILE *f, size_t len, int prot, void **map)
{
	*map = NULL;
	if (fflush(f))
		return errno ? -errno : -EIO;
	if (!len)
		return 0;
	*map = mmap(NULL, len, prot, MAP_SHARED, fileno(f), 0);
	if (*map == MAP_FAILED) {
		*map = NULL;
		return -errno;
	}
	return 0;
}

/* Threads (rec->threads names are preferred over the events' comm), sorted; 0 or -errno. */
static int merge_threads(struct pf_writer *w, const struct recording *rec)
{
	for (size_t i = 0; i < rec->nthreads; i++) {
		const struct rec_thread *rt = &rec->threads[i];
		struct pf_thread *t = thr_get(w, rt->tid, rt->pid);

		if (!t)
			return -ENOMEM;
		t->unfollowed = false;	/* a hop named it without its pid (a preemptor) */
		if (rt->pid)
			t->pid = rt->pid;
		if (rt->comm[0])
			copy_name(t->comm, rt->comm);
		if (rt->pcomm[0])
			copy_name(t->pcomm, rt->pcomm);
	}
	sort_array(w->thr, w->nthr, sizeof(*w->thr), cmp_thread);
	return w->nthr ? rehash(w, w->hcap) : 0;
}

/* Every section in order, into the open trace (docs/perfetto.md); 0 or -errno. */
static int write_trace(struct pf_writer *w, const struct recording *rec,
		       struct pf_proc *procs, size_t nprocs, void *recs, const char *frames)
{
	size_t i;
	int ret;

	write_clock_snapshot(w);
	write_group_track(w, PF_UUID(PF_TRACK_SUMMARY, 0), 0, "mmlock", -1,
			  "mmlock recording summary: drop counters, probes, settings");
	for (i = 0; i < nprocs; i++)
		write_process(w, &procs[i]);
	for (i = 0; i < w->nthr; i++)
		write_thread(w, &w->thr[i]);
	write_blocking_tracks(w);
	for (i = 0; i < nprocs; i++)
		write_counter_tracks(w, &procs[i]);
	write_histograms(w, rec);
	if (w->err)
		return w->err;
	ret = write_slices(w, recs, frames);
	if (ret)
		return ret;
	write_summary(w, rec);
	ret = write_counters(w, rec, procs, nprocs, recs);
	return ret ? ret : write_cpu_samples(w, rec);
}

int pf_finish(struct pf_writer *w, const struct recording *rec, char *err, size_t errlen)
{
	struct pf_proc *procs = NULL;
	size_t nprocs = 0;
	void *recs = NULL, *frames = NULL;
	size_t recs_len = w->nrec * sizeof(struct pf_rec);
	const char *what = "write";
	int ret;

	/* A failed pf_event (spool write) is remembered: the trace would lack events. */
	if (w->err) {
		ret = w->err;
		what = "spool";
		goto fail;
	}
	ret = flows_threads(w, rec);
	if (!ret)
		ret = merge_threads(w, rec);
	if (ret)
		goto fail;
	procs = build_procs(w, rec, &nprocs);
	if (!procs) {
		ret = -ENOMEM;
		goto fail;
	}

	if (rec->clk_boottime_ns) {
		w->clk_boot = rec->clk_boottime_ns;
		w->clk_mono = rec->clk_monotonic_ns;
		w->clk_real = rec->clk_realtime_ns;
	}
	w->t_meta = w->clk_boot ? w->clk_boot : rec->start_ns;

	what = "spool";
	ret = map_spool(w->spool, recs_len, PROT_READ | PROT_WRITE, &recs);
	if (!ret)
		ret = map_spool(w->frames, w->frames_len, PROT_READ, &frames);
	if (ret)
		goto fail;
	what = "chains";
	ret = flows_plan(w, rec, recs);
	if (ret)
		goto fail;

	ret = atomic_open(&w->af, w->path, err, errlen);
	if (ret)
		goto out;
	what = "write";
	ret = write_trace(w, rec, procs, nprocs, recs, frames);
	if (ret)
		goto fail;

	/* Flush, fsync, rename, fsync the directory; the temp file goes on failure. */
	ret = atomic_close(&w->af, err, errlen);
	goto out;

fail:
	seterr(err, errlen, "%s: %s: %s", w->path, what, strerror(-ret));
out:
	if (recs)
		munmap(recs, recs_len);
	if (frames)
		munmap(frames, w->frames_len);
	free(procs);
	writer_free(w);	/* removes the temp file if it is still there */
	return ret;
}

/* ---- whole recording ---- */

struct tid_idx {
	__u32 tid;
	size_t i;
};

static int cmp_tid_idx(const void *a, const void *b)
{
	const struct tid_idx *x = a, *y = b;

	return (x->tid > y->tid) - (x->tid < y->tid);
}

int perfetto_write_recording(const struct recording *rec, const char *path,
			     char *err, size_t errlen)
{
	struct pf_writer *w = pf_open(path, rec, err, errlen);
	struct tid_idx *idx = NULL;
	size_t i;
	int ret = 0;

	if (!w)
		return errno ? -errno : -EIO;
	if (rec->nthreads) {
		idx = malloc(rec->nthreads * sizeof(*idx));
		if (!idx) {
			pf_abort(w);
			seterr(err, errlen, "%s: out of memory", path);
			return -ENOMEM;
		}
		for (i = 0; i < rec->nthreads; i++)
			idx[i] = (struct tid_idx){ .tid = rec->threads[i].tid, .i = i };
		qsort(idx, rec->nthreads, sizeof(*idx), cmp_tid_idx);
	}
	for (i = 0; i < rec->nevents && !ret; i++) {
		const struct rec_event *ev = &rec->events[i];
		struct tid_idx key = { .tid = ev->tid }, *hit = NULL;
		const struct rec_thread *t;

		if (idx)
			hit = bsearch(&key, idx, rec->nthreads, sizeof(*idx), cmp_tid_idx);
		t = hit ? &rec->threads[hit->i] : NULL;
		ret = pf_event(w, ev, t ? t->comm : "", t ? t->pcomm : "");
	}
	free(idx);
	if (ret) {
		seterr(err, errlen, "%s: spool: %s", path, strerror(-ret));
		pf_abort(w);
		return ret;
	}
	return pf_finish(w, rec, err, errlen);
}
