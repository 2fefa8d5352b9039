// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Perfetto writer: packets, debug annotations, event names and track descriptors. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "output/perfetto_int.h"

void pkt_begin(struct pf_writer *w, int seq, __u64 ts)
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

void pkt_end(struct pf_writer *w)
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

void ann_begin(struct pb *b, const char *name)
{
	pb_begin(b, TE_ANNOTATION);
	pb_string(b, DA_NAME, name);
}

/* A named DebugAnnotation as `field`: an annotation, a dict entry or an array value. */
static void da_uint(struct pb *b, int field, const char *name, __u64 v)
{
	pb_begin(b, field);
	pb_string(b, DA_NAME, name);
	pb_uint(b, DA_UINT, v);
	pb_end(b);
}

static void da_str(struct pb *b, int field, const char *name, const char *v)
{
	pb_begin(b, field);
	pb_string(b, DA_NAME, name);
	pb_string(b, DA_STRING, v);
	pb_end(b);
}

void ann_uint(struct pb *b, const char *name, __u64 v) { da_uint(b, TE_ANNOTATION, name, v); }
void ann_str(struct pb *b, const char *name, const char *v) { da_str(b, TE_ANNOTATION, name, v); }
void entry_uint(struct pb *b, const char *name, __u64 v) { da_uint(b, DA_DICT, name, v); }
void entry_str(struct pb *b, const char *name, const char *v) { da_str(b, DA_DICT, name, v); }

void ann_int(struct pb *b, const char *name, __s64 v)
{
	ann_begin(b, name);
	pb_int(b, DA_INT, v);
	pb_end(b);
}

const char *label_or(const char *s, char *buf, size_t n, const char *what,
		     unsigned int v)
{
	if (s)
		return s;
	snprintf(buf, n, "%s %u", what, v);
	return buf;
}

/* "anon_vma write · uffd_move", "D: folio lock · fault", "UFFDIO_MOVE". */
void event_name(char *buf, size_t n, unsigned int kind, unsigned int cls,
		unsigned int site)
{
	char cb[32], sb[32];
	const char *c = label_or(class_label(cls), cb, sizeof(cb), "class", cls);
	const char *s = label_or(site_name(site), sb, sizeof(sb), "site", site);

	if (kind == KIND_IOCTL)
		snprintf(buf, n, "%s", uffd_cmd_name(cls));
	else if (kind == KIND_DSTATE && cls != CLASS_IO)
		snprintf(buf, n, "D: %s \u00b7 %s", c, s);
	else
		snprintf(buf, n, "%s \u00b7 %s", c, s);
}

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

void write_clock_snapshot(struct pf_writer *w)
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

void write_process(struct pf_writer *w, const struct pf_proc *p)
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

void write_thread(struct pf_writer *w, const struct pf_thread *t)
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

/* The common tail of a descriptor: its rank among siblings (< 0: none), description, no merging. */
static void td_finish(struct pf_writer *w, int rank, const char *desc)
{
	struct pb *b = &w->pb;

	if (rank >= 0)
		pb_int(b, TD_SIBLING_RANK, rank);
	if (desc)
		pb_string(b, TD_DESCRIPTION, desc);
	pb_uint(b, TD_SIBLING_MERGE, MERGE_NONE);
	td_end(w);
}

/* unit: UNIT_COUNT, UNIT_TIME_NS, ...; or 0 and unit_name ("/s"). */
void write_counter_track(struct pf_writer *w, __u64 uuid, __u64 parent,
			 const char *name, int unit, const char *unit_name,
			 const char *share_key, int rank, const char *desc)
{
	struct pb *b = &w->pb;

	td_begin(w, uuid, parent, name);
	pb_begin(b, TD_COUNTER);
	if (unit_name)
		pb_string(b, CD_UNIT_NAME, unit_name);
	else
		pb_uint(b, CD_UNIT, unit);
	if (share_key)
		pb_string(b, CD_Y_AXIS_SHARE_KEY, share_key);
	pb_end(b);
	td_finish(w, rank, desc);
}

void write_group_track(struct pf_writer *w, __u64 uuid, __u64 parent,
		       const char *name, int rank, const char *desc)
{
	struct pb *b = &w->pb;

	td_begin(w, uuid, parent, name);
	pb_uint(b, TD_CHILD_ORDERING, CHILD_ORDER_EXPLICIT);
	td_finish(w, rank, desc);
}

/* A track of slices under parent (a thread track: the slices stay the thread's). */
void write_slice_track(struct pf_writer *w, __u64 uuid, __u64 parent,
		       const char *name, int rank, const char *desc)
{
	td_begin(w, uuid, parent, name);
	td_finish(w, rank, desc);
}
