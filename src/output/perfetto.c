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
 * never depend on incremental state.
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
#include "output/pb.h"
#include "output/perfetto.h"
#include "lib/util.h"

/* Field numbers from Perfetto's protos (docs/perfetto.md, tests/perfetto/mini.proto). */
enum {
	TRACE_PACKET = 1,

	TP_CLOCK_SNAPSHOT = 6,
	TP_TIMESTAMP = 8,
	TP_SEQ_ID = 10,
	TP_TRACK_EVENT = 11,
	TP_SEQ_FLAGS = 13,
	TP_TRACK_DESCRIPTOR = 60,
	TP_FIRST_ON_SEQ = 87,

	CS_CLOCKS = 1,
	CS_PRIMARY_CLOCK = 2,
	CLOCK_ID = 1,
	CLOCK_TIMESTAMP = 2,

	TD_UUID = 1,
	TD_NAME = 2,
	TD_PROCESS = 3,
	TD_THREAD = 4,
	TD_PARENT = 5,
	TD_COUNTER = 8,
	TD_CHILD_ORDERING = 11,
	TD_SIBLING_RANK = 12,
	TD_DESCRIPTION = 14,
	TD_SIBLING_MERGE = 15,

	PD_PID = 1,
	PD_NAME = 6,

	THD_PID = 1,
	THD_TID = 2,
	THD_NAME = 5,

	CD_UNIT = 3,
	CD_UNIT_NAME = 6,
	CD_Y_AXIS_SHARE_KEY = 7,

	TE_ANNOTATION = 4,
	TE_TYPE = 9,
	TE_TRACK_UUID = 11,
	TE_CATEGORY = 22,
	TE_NAME = 23,
	TE_COUNTER_VALUE = 30,
	TE_DOUBLE_COUNTER_VALUE = 44,

	DA_BOOL = 2,
	DA_UINT = 3,
	DA_INT = 4,
	DA_STRING = 6,
	DA_POINTER = 7,
	DA_NAME = 10,
	DA_DICT = 11,
	DA_ARRAY = 12,
};

enum { CLK_REALTIME = 1, CLK_MONOTONIC = 3, CLK_BOOTTIME = 6 };
enum { TYPE_SLICE_BEGIN = 1, TYPE_SLICE_END = 2, TYPE_INSTANT = 3, TYPE_COUNTER = 4 };
enum { UNIT_COUNT = 2 };
enum { CHILD_ORDER_EXPLICIT = 3 };
enum { MERGE_NONE = 2 };
enum { SEQ_INCREMENTAL_STATE_CLEARED = 1 };
enum { S_META, S_SLICES, S_COUNTERS, NR_SEQS };

/* One spooled event: fixed size, sorted in place at finish. */
struct pf_rec {
	__u64 ts, dur, addr, aux;
	__u64 blame_ns, preempt_ns;	/* IOCTL: see struct rec_event */
	__u64 frames_off;	/* into the frames spool */
	__u64 seq;		/* arrival number: last sort key */
	__u32 pid, tid, flags, other_tid, nframes;
	__s32 ret;
	__u8 kind, cls, site, blame_cls, pad[4];
};

struct pf_thread {
	__u32 tid, pid;
	char comm[MMLOCK_COMM_LEN];
	char pcomm[MMLOCK_COMM_LEN];
	__u64 *stk;		/* ends of open slices, innermost last */
	unsigned int nstk, capstk;
};

struct pf_proc {
	__u32 pid;
	const char *name;
	__u32 class_mask;	/* classes with waits in some sample */
	bool ioctls;		/* some sample has uffd ioctls */
	bool sampled;
	__u64 prev_ts;
};

struct open_slice {
	__u64 end;
	__u64 seq;
	__u32 depth;
	__u32 thr;
};

struct pf_writer {
	struct atomic_file af;	/* the trace: a temp file renamed on success */
	char *path;		/* where it goes; af is opened only by pf_finish */
	FILE *spool, *frames;
	__u64 nrec, frames_len;
	struct pf_thread *thr;
	size_t nthr, capthr;
	__u32 *hash;		/* thread index + 1, 0 = empty */
	size_t hcap;
	__u64 clk_boot, clk_mono, clk_real;
	__u64 t_meta;
	struct pb pb;
	bool started[NR_SEQS];
	__u64 last_ts[NR_SEQS];
	__u64 clamped;
	__u64 nhist_tracks, nbucket_tracks;
	int err;		/* sticky -errno of output writes */
};

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

/* ---- thread table: open-addressing hash on tid ---- */

static size_t tid_slot(__u32 tid, size_t cap)
{
	return (size_t)(tid * 2654435761u) & (cap - 1);
}

static int rehash(struct pf_writer *w, size_t cap)
{
	__u32 *h = calloc(cap, sizeof(*h));

	if (!h)
		return -ENOMEM;
	for (size_t i = 0; i < w->nthr; i++) {
		size_t s = tid_slot(w->thr[i].tid, cap);

		while (h[s])
			s = (s + 1) & (cap - 1);
		h[s] = i + 1;
	}
	free(w->hash);
	w->hash = h;
	w->hcap = cap;
	return 0;
}

static struct pf_thread *thr_find(const struct pf_writer *w, __u32 tid)
{
	size_t s;

	if (!w->hcap)
		return NULL;
	for (s = tid_slot(tid, w->hcap); w->hash[s]; s = (s + 1) & (w->hcap - 1))
		if (w->thr[w->hash[s] - 1].tid == tid)
			return &w->thr[w->hash[s] - 1];
	return NULL;
}

static struct pf_thread *thr_get(struct pf_writer *w, __u32 tid, __u32 pid)
{
	struct pf_thread *t = thr_find(w, tid);
	size_t s;

	if (t) {
		if (!t->pid)
			t->pid = pid;
		return t;
	}
	if (w->nthr == w->capthr) {
		size_t cap = w->capthr ? w->capthr * 2 : 64;

		t = realloc(w->thr, cap * sizeof(*t));
		if (!t)
			return NULL;
		w->thr = t;
		w->capthr = cap;
	}
	if ((w->nthr + 1) * 2 > w->hcap && rehash(w, w->hcap ? w->hcap * 2 : 128))
		return NULL;
	t = &w->thr[w->nthr++];
	memset(t, 0, sizeof(*t));
	t->tid = tid;
	t->pid = pid;
	for (s = tid_slot(tid, w->hcap); w->hash[s]; s = (s + 1) & (w->hcap - 1))
		;
	w->hash[s] = w->nthr;
	return t;
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
	for (size_t i = 0; i < w->nthr; i++)
		free(w->thr[i].stk);
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
	for (int i = 0; i < ev->nframes; i++) {
		const char *f = ev->frames[i] ? ev->frames[i] : "";
		size_t n = strlen(f) + 1;

		if (fwrite(f, 1, n, w->frames) != n)
			return w->err = errno ? -errno : -EIO;
		w->frames_len += n;
		r.nframes++;
	}
	if (fwrite(&r, sizeof(r), 1, w->spool) != 1)
		return w->err = errno ? -errno : -EIO;
	w->nrec++;
	return 0;
}

void pf_abort(struct pf_writer *w)
{
	writer_free(w);	/* removes the temp file */
}

/* ---- packet helpers ---- */

static void pkt_begin(struct pf_writer *w, int seq, __u64 ts)
{
	struct pb *b = &w->pb;

	pb_reset(b);
	pb_begin(b, TRACE_PACKET);
	pb_uint(b, TP_TIMESTAMP, ts);
	pb_uint(b, TP_SEQ_ID, PF_SEQ_BASE + 1 + seq);
	if (!w->started[seq]) {
		pb_uint(b, TP_SEQ_FLAGS, SEQ_INCREMENTAL_STATE_CLEARED);
		pb_bool(b, TP_FIRST_ON_SEQ, true);
		w->started[seq] = true;
	}
	w->last_ts[seq] = ts;
}

static void pkt_end(struct pf_writer *w)
{
	struct pb *b = &w->pb;

	pb_end(b);
	if (w->err)
		return;
	if (b->err) {
		w->err = b->err;
		return;
	}
	if (fwrite(b->buf, 1, b->len, w->af.f) != b->len)
		w->err = errno ? -errno : -EIO;
}

static void ann_begin(struct pb *b, const char *name)
{
	pb_begin(b, TE_ANNOTATION);
	pb_string(b, DA_NAME, name);
}

static void ann_uint(struct pb *b, const char *name, __u64 v)
{
	ann_begin(b, name);
	pb_uint(b, DA_UINT, v);
	pb_end(b);
}

static void ann_int(struct pb *b, const char *name, __s64 v)
{
	ann_begin(b, name);
	pb_int(b, DA_INT, v);
	pb_end(b);
}

static void ann_str(struct pb *b, const char *name, const char *v)
{
	ann_begin(b, name);
	pb_string(b, DA_STRING, v);
	pb_end(b);
}

/* Dict entries and array values are DebugAnnotations too. */
static void entry_uint(struct pb *b, const char *name, __u64 v)
{
	pb_begin(b, DA_DICT);
	pb_string(b, DA_NAME, name);
	pb_uint(b, DA_UINT, v);
	pb_end(b);
}

static void entry_str(struct pb *b, const char *name, const char *v)
{
	pb_begin(b, DA_DICT);
	pb_string(b, DA_NAME, name);
	pb_string(b, DA_STRING, v);
	pb_end(b);
}

static const char *label_or(const char *s, char *buf, size_t n, const char *what,
			    unsigned int v)
{
	if (s)
		return s;
	snprintf(buf, n, "%s %u", what, v);
	return buf;
}

static const char *cmd_label(unsigned int nr, char *buf, size_t n)
{
	const char *s = uffd_cmd_name(nr);

	if (s)
		return s;
	snprintf(buf, n, "UFFDIO_0x%02x", nr);
	return buf;
}

/* "anon_vma write · uffd_move", "D: folio lock · fault", "UFFDIO_MOVE". */
static void event_name(char *buf, size_t n, unsigned int kind, unsigned int cls,
		       unsigned int site)
{
	char cb[32], sb[32];
	const char *c = label_or(class_label(cls), cb, sizeof(cb), "class", cls);
	const char *s = label_or(site_name(site), sb, sizeof(sb), "site", site);

	if (kind == KIND_IOCTL)
		snprintf(buf, n, "%s", cmd_label(cls, cb, sizeof(cb)));
	else if (kind == KIND_DSTATE && cls != CLASS_IO)
		snprintf(buf, n, "D: %s \u00b7 %s", c, s);
	else
		snprintf(buf, n, "%s \u00b7 %s", c, s);
}

static const char *const categories[NR_KINDS] = {
	[KIND_LOCK] = "mmlock.lock",
	[KIND_DSTATE] = "mmlock.dstate",
	[KIND_IOCTL] = "mmlock.ioctl",
	[KIND_TRYLOCK] = "mmlock.trylock",
	[KIND_ACQUIRE] = "mmlock.acquire",
	[KIND_HOLD] = "mmlock.hold",
	[KIND_RMAP] = "mmlock.rmap",
};

/* ---- track descriptors ---- */

static void td_begin(struct pf_writer *w, __u64 uuid, __u64 parent, const char *name)
{
	struct pb *b = &w->pb;

	pkt_begin(w, S_META, w->t_meta);
	pb_begin(b, TP_TRACK_DESCRIPTOR);
	pb_uint(b, TD_UUID, uuid);
	if (name)
		pb_string(b, TD_NAME, name);
	if (parent)
		pb_uint(b, TD_PARENT, parent);
}

static void td_end(struct pf_writer *w)
{
	pb_end(&w->pb);
	pkt_end(w);
}

static void write_clock_snapshot(struct pf_writer *w)
{
	struct pb *b = &w->pb;
	const struct { unsigned int id; __u64 ts; } clk[] = {
		{ CLK_BOOTTIME, w->clk_boot ? w->clk_boot : w->t_meta },
		{ CLK_MONOTONIC, w->clk_mono },
		{ CLK_REALTIME, w->clk_real },
	};

	pkt_begin(w, S_META, w->t_meta);
	pb_begin(b, TP_CLOCK_SNAPSHOT);
	for (unsigned int i = 0; i < sizeof(clk) / sizeof(clk[0]); i++) {
		if (i && !clk[i].ts)
			continue;
		pb_begin(b, CS_CLOCKS);
		pb_uint(b, CLOCK_ID, clk[i].id);
		pb_uint(b, CLOCK_TIMESTAMP, clk[i].ts);
		pb_end(b);
	}
	pb_uint(b, CS_PRIMARY_CLOCK, CLK_BOOTTIME);
	pb_end(b);
	pkt_end(w);
}

static void write_process(struct pf_writer *w, const struct pf_proc *p)
{
	struct pb *b = &w->pb;

	td_begin(w, PF_UUID(PF_TRACK_PROCESS, p->pid), 0, NULL);
	pb_begin(b, TD_PROCESS);
	pb_int(b, PD_PID, (__s32)p->pid);
	if (p->name && p->name[0])
		pb_string(b, PD_NAME, p->name);
	pb_end(b);
	td_end(w);
}

static void write_thread(struct pf_writer *w, const struct pf_thread *t)
{
	struct pb *b = &w->pb;

	td_begin(w, PF_UUID(PF_TRACK_THREAD, t->tid),
		 PF_UUID(PF_TRACK_PROCESS, t->pid), NULL);
	pb_begin(b, TD_THREAD);
	pb_int(b, THD_PID, (__s32)t->pid);
	pb_int(b, THD_TID, (__s32)t->tid);
	if (t->comm[0])
		pb_string(b, THD_NAME, t->comm);
	pb_end(b);
	td_end(w);
}

static void write_counter_track(struct pf_writer *w, __u64 uuid, __u64 parent,
				const char *name, const char *unit_name,
				const char *share_key, int rank, const char *desc)
{
	struct pb *b = &w->pb;

	td_begin(w, uuid, parent, name);
	pb_begin(b, TD_COUNTER);
	if (unit_name)
		pb_string(b, CD_UNIT_NAME, unit_name);
	else
		pb_uint(b, CD_UNIT, UNIT_COUNT);
	if (share_key)
		pb_string(b, CD_Y_AXIS_SHARE_KEY, share_key);
	pb_end(b);
	if (rank >= 0)
		pb_int(b, TD_SIBLING_RANK, rank);
	if (desc)
		pb_string(b, TD_DESCRIPTION, desc);
	pb_uint(b, TD_SIBLING_MERGE, MERGE_NONE);
	td_end(w);
}

static void write_group_track(struct pf_writer *w, __u64 uuid, __u64 parent,
			      const char *name, int rank, const char *desc)
{
	struct pb *b = &w->pb;

	td_begin(w, uuid, parent, name);
	pb_uint(b, TD_CHILD_ORDERING, CHILD_ORDER_EXPLICIT);
	if (rank >= 0)
		pb_int(b, TD_SIBLING_RANK, rank);
	if (desc)
		pb_string(b, TD_DESCRIPTION, desc);
	pb_uint(b, TD_SIBLING_MERGE, MERGE_NONE);
	td_end(w);
}

/* ---- histograms ---- */

static const char *const hist_kind_words[NR_KINDS] = {
	[KIND_LOCK] = "lock wait",
	[KIND_DSTATE] = "D-state",
	[KIND_IOCTL] = "ioctl",
	[KIND_TRYLOCK] = "trylock",
	[KIND_ACQUIRE] = "acquire",
	[KIND_HOLD] = "hold",
	[KIND_RMAP] = "rmap walk",
};

static void hist_label(char *buf, size_t n, const struct rec_hist *h)
{
	char cb[32], sb[32];
	const char *k = h->kind < NR_KINDS ? hist_kind_words[h->kind] : "kind?";

	if (h->kind == KIND_IOCTL)
		snprintf(buf, n, "%s %s", k, cmd_label(h->cls, cb, sizeof(cb)));
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

static void write_hist(struct pf_writer *w, const struct pf_thread *t,
		       const struct rec_hist *h, __u64 group, int rank)
{
	struct pb *b = &w->pb;
	char label[96], name[192], p50[16], p99[16], mx[16], lo[16], hi[16];
	char cb[32], share[32];
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

	/* The queryable form: one INSTANT with everything as args. */
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
		ann_str(b, "cmd", cmd_label(h->cls, cb, sizeof(cb)));
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
	for (s = 0; s < HIST_SLOTS; s++) {
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

	/* The visible form: one value per bucket track. */
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

static void write_histograms(struct pf_writer *w, const struct recording *rec)
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

/* ---- slices ---- */

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

	if (c->nheap == c->capheap) {
		size_t cap = c->capheap ? c->capheap * 2 : 64;
		struct open_slice *h = realloc(c->heap, cap * sizeof(*h));

		if (!h)
			return -ENOMEM;
		c->heap = h;
		c->capheap = cap;
	}
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

	if (t->nstk)
		t->nstk--;
	pkt_begin(w, S_SLICES, s->end);
	pb_begin(&w->pb, TP_TRACK_EVENT);
	pb_uint(&w->pb, TE_TYPE, TYPE_SLICE_END);
	pb_uint(&w->pb, TE_TRACK_UUID, PF_UUID(PF_TRACK_THREAD, t->tid));
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

static void emit_begin(struct slice_ctx *c, const struct pf_rec *r, __u64 end,
		       bool clamped)
{
	struct pf_writer *w = c->w;
	struct pb *b = &w->pb;
	char name[96], buf[48];

	pkt_begin(w, S_SLICES, r->ts);
	pb_begin(b, TP_TRACK_EVENT);
	pb_uint(b, TE_TYPE, TYPE_SLICE_BEGIN);
	pb_uint(b, TE_TRACK_UUID, PF_UUID(PF_TRACK_THREAD, r->tid));
	pb_string(b, TE_CATEGORY, r->kind < NR_KINDS ? categories[r->kind] : "mmlock");
	event_name(name, sizeof(name), r->kind, r->cls, r->site);
	pb_string(b, TE_NAME, name);

	if (r->kind == KIND_IOCTL) {
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
	} else {
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
				ann_int(b, "holder_tid", r->other_tid);
		} else {
			if (r->other_tid)
				ann_int(b, "waker_tid", r->other_tid);
			ann_uint(b, "runnable_after_wakeup_ns", r->aux);
		}
	}
	if (clamped) {
		ann_begin(b, "clamped_to_parent");
		pb_bool(b, DA_BOOL, true);
		pb_end(b);
		ann_uint(b, "shown_dur_ns", end - r->ts);
	}
	if (r->nframes && c->frames && r->frames_off < c->frames_len) {
		const char *p = c->frames + r->frames_off;
		const char *lim = c->frames + c->frames_len;

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
	pb_end(b);
	pkt_end(w);
}

static int kind_rank(unsigned int kind)
{
	/* At equal start and length: ioctl outside lock wait outside D-state. */
	return kind == KIND_IOCTL ? 0 : kind == KIND_LOCK ? 1 : 2;
}

static int cmp_rec(const void *a, const void *b)
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

static void sort_recs(struct pf_rec *a, size_t n)
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

static int write_slices(struct pf_writer *w, struct pf_rec *recs, const char *frames)
{
	struct slice_ctx c = { .w = w, .frames = frames, .frames_len = w->frames_len };
	int ret = 0;

	sort_recs(recs, w->nrec);
	for (__u64 i = 0; i < w->nrec && !w->err; i++) {
		const struct pf_rec *r = &recs[i];
		struct pf_thread *t;
		__u64 end = r->ts + r->dur < r->ts ? UINT64_MAX : r->ts + r->dur;
		bool clamped = false;

		close_until(&c, r->ts);
		t = thr_find(w, r->tid);
		if (!t) {
			ret = -EINVAL;
			break;
		}
		if (t->nstk && end > t->stk[t->nstk - 1]) {
			end = t->stk[t->nstk - 1];
			clamped = true;
			w->clamped++;
		}
		if (t->nstk == t->capstk) {
			unsigned int cap = t->capstk ? t->capstk * 2 : 8;
			__u64 *s = realloc(t->stk, cap * sizeof(*s));

			if (!s) {
				ret = -ENOMEM;
				break;
			}
			t->stk = s;
			t->capstk = cap;
		}
		t->stk[t->nstk++] = end;
		emit_begin(&c, r, end, clamped);
		ret = heap_push(&c, (struct open_slice){
			.end = end, .seq = i, .depth = t->nstk - 1,
			.thr = (__u32)(t - w->thr) });
		if (ret)
			break;
	}
	if (!ret)
		close_until(&c, UINT64_MAX);
	free(c.heap);
	return ret ? ret : w->err;
}

static void write_summary(struct pf_writer *w, const struct recording *rec)
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

/* ---- per-process counters ---- */

struct cpoint {
	__u64 ts, uuid, seq;
	double v;
	bool dbl;
};

static int cmp_cpoint(const void *a, const void *b)
{
	const struct cpoint *x = a, *y = b;

	if (x->ts != y->ts)
		return x->ts < y->ts ? -1 : 1;
	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

static int cmp_proc(const void *a, const void *b)
{
	const struct pf_proc *x = a, *y = b;

	return (x->pid > y->pid) - (x->pid < y->pid);
}

static struct pf_proc *proc_of(struct pf_proc *procs, size_t n, __u32 pid)
{
	struct pf_proc key = { .pid = pid };

	return bsearch(&key, procs, n, sizeof(*procs), cmp_proc);
}

#define IOCTL_COUNTER_ID	0xff

static void write_counter_tracks(struct pf_writer *w, const struct pf_proc *p)
{
	char name[96];

	for (unsigned int c = 0; c < NR_CLASSES; c++) {
		if (!(p->class_mask & (1U << c)))
			continue;
		snprintf(name, sizeof(name), "mmlock waits/interval: %s", class_label(c));
		write_counter_track(w, PF_UUID(PF_TRACK_PCOUNTER, (__u64)p->pid << 8 | c),
				    PF_UUID(PF_TRACK_PROCESS, p->pid), name, NULL,
				    "mmlock.waits", -1, NULL);
	}
	if (p->ioctls)
		write_counter_track(w, PF_UUID(PF_TRACK_PCOUNTER,
					       (__u64)p->pid << 8 | IOCTL_COUNTER_ID),
				    PF_UUID(PF_TRACK_PROCESS, p->pid),
				    "mmlock uffd ioctls/s", "/s", NULL, -1, NULL);
}

static int write_counters(struct pf_writer *w, const struct recording *rec,
			  struct pf_proc *procs, size_t nprocs)
{
	struct cpoint *pts;
	size_t n = 0, cap, i;
	__u64 seq = 0;

	cap = rec->nsamples * (NR_CLASSES + 1) + nprocs * (NR_CLASSES + 1) + 1;
	pts = malloc(cap * sizeof(*pts));
	if (!pts)
		return -ENOMEM;
#define ADD(t, u, val, d) (pts[n++] = (struct cpoint){ .ts = (t), .uuid = (u), \
				.seq = seq++, .v = (val), .dbl = (d) })
	for (i = 0; i < rec->nsamples; i++) {
		const struct rec_sample *s = &rec->samples[i];
		struct pf_proc *p = proc_of(procs, nprocs, s->pid);
		__u64 from;

		if (!p)
			continue;
		/* Each value holds for its interval [previous sample, this one). */
		from = p->prev_ts ? p->prev_ts :
		       rec->start_ns && rec->start_ns < s->ts_ns ? rec->start_ns : s->ts_ns;
		if (from > s->ts_ns)
			from = s->ts_ns;
		for (unsigned int c = 0; c < NR_CLASSES; c++)
			if (p->class_mask & (1U << c))
				ADD(from, PF_UUID(PF_TRACK_PCOUNTER, (__u64)p->pid << 8 | c),
				    (double)s->waits[c], false);
		if (p->ioctls) {
			__u64 iv = s->ts_ns - from;

			ADD(from, PF_UUID(PF_TRACK_PCOUNTER, (__u64)p->pid << 8 | IOCTL_COUNTER_ID),
			    iv ? (double)s->ioctls * 1e9 / (double)iv : 0.0, true);
		}
		p->prev_ts = s->ts_ns;
	}
	for (i = 0; i < nprocs; i++) {
		const struct pf_proc *p = &procs[i];

		if (!p->prev_ts)
			continue;
		for (unsigned int c = 0; c < NR_CLASSES; c++)
			if (p->class_mask & (1U << c))
				ADD(p->prev_ts, PF_UUID(PF_TRACK_PCOUNTER, (__u64)p->pid << 8 | c),
				    0.0, false);
		if (p->ioctls)
			ADD(p->prev_ts, PF_UUID(PF_TRACK_PCOUNTER,
						(__u64)p->pid << 8 | IOCTL_COUNTER_ID), 0.0, true);
	}
#undef ADD
	qsort(pts, n, sizeof(*pts), cmp_cpoint);
	for (i = 0; i < n && !w->err; i++) {
		struct pb *b = &w->pb;

		pkt_begin(w, S_COUNTERS, pts[i].ts);
		pb_begin(b, TP_TRACK_EVENT);
		pb_uint(b, TE_TYPE, TYPE_COUNTER);
		pb_uint(b, TE_TRACK_UUID, pts[i].uuid);
		if (pts[i].dbl)
			pb_double(b, TE_DOUBLE_COUNTER_VALUE, pts[i].v);
		else
			pb_int(b, TE_COUNTER_VALUE, (__s64)pts[i].v);
		pb_end(b);
		pkt_end(w);
	}
	free(pts);
	return w->err;
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

int pf_finish(struct pf_writer *w, const struct recording *rec, char *err, size_t errlen)
{
	struct pf_proc *procs = NULL;
	size_t nprocs = 0, i;
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
	/* Threads: rec->threads names are preferred over the events' comm. */
	for (i = 0; i < rec->nthreads; i++) {
		const struct rec_thread *rt = &rec->threads[i];
		struct pf_thread *t = thr_get(w, rt->tid, rt->pid);

		if (!t) {
			ret = -ENOMEM;
			goto fail;
		}
		if (rt->pid)
			t->pid = rt->pid;
		if (rt->comm[0])
			copy_name(t->comm, rt->comm);
		if (rt->pcomm[0])
			copy_name(t->pcomm, rt->pcomm);
	}
	sort_array(w->thr, w->nthr, sizeof(*w->thr), cmp_thread);
	if (w->nthr && (ret = rehash(w, w->hcap)))
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

	ret = atomic_open(&w->af, w->path, err, errlen);
	if (ret)
		goto out;
	what = "write";
	write_clock_snapshot(w);
	write_group_track(w, PF_UUID(PF_TRACK_SUMMARY, 0), 0, "mmlock", -1,
			  "mmlock recording summary: drop counters, probes, settings");
	for (i = 0; i < nprocs; i++)
		write_process(w, &procs[i]);
	for (i = 0; i < w->nthr; i++)
		write_thread(w, &w->thr[i]);
	for (i = 0; i < nprocs; i++)
		write_counter_tracks(w, &procs[i]);
	write_histograms(w, rec);
	if (w->err) {
		ret = w->err;
		goto fail;
	}
	ret = write_slices(w, recs, frames);
	if (ret)
		goto fail;
	write_summary(w, rec);
	ret = write_counters(w, rec, procs, nprocs);
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
