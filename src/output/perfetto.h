/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Native Perfetto protobuf export (docs/perfetto.md has the trace layout).
 *
 * Streaming use while recording:
 *	w = pf_open(path, meta, err, sizeof(err));
 *	for each kept event: pf_event(w, ev, comm, pcomm);	(any order)
 *	pf_finish(w, rec, err, sizeof(err));	(or pf_abort(w))
 * Events are spooled as fixed-size records to an unlinked temp file in the
 * output's directory, so memory stays bounded; pf_finish sorts them in place
 * (mmap) and only then writes the trace to "path.tmp.PID.XXXXXX", fsyncs and renames it
 * to path: an interrupted run leaves the old file (or none), never half a trace.
 */
#ifndef MMLOCK_PERFETTO_H
#define MMLOCK_PERFETTO_H

#include <stddef.h>
#include "model/recording.h"

/* trusted_packet_sequence_id values: far above the small ids traced assigns. */
#define PF_SEQ_BASE		0x6D6D6C00u	/* "mml\0" */
#define PF_SEQ_META		(PF_SEQ_BASE + 1)	/* clock, descriptors, histograms */
#define PF_SEQ_SLICES		(PF_SEQ_BASE + 2)	/* slices + summary */
#define PF_SEQ_COUNTERS		(PF_SEQ_BASE + 3)	/* per-process counters */
#define PF_SEQ_SAMPLES		(PF_SEQ_BASE + 4)	/* on-CPU samples, interned stacks */

/* Track uuids: 0x6D6D <type:8> <id:40>. */
#define PF_UUID(type, id)	((0x6D6DULL << 48) | ((__u64)(type) << 40) | \
				 ((__u64)(id) & 0xFFFFFFFFFFULL))
enum pf_track_type {
	PF_TRACK_SUMMARY = 1,	/* root track "mmlock": recording summary */
	PF_TRACK_PROCESS,	/* id = pid */
	PF_TRACK_THREAD,	/* id = tid */
	PF_TRACK_PCOUNTER,	/* id = pid << 8 | class (0xff: ioctls/s) */
	PF_TRACK_HIST_GROUP,	/* id = tid: "mmlock · comm tid", the thread's group */
	PF_TRACK_HIST,		/* id = tid: its whole histograms, one slice each */
	PF_TRACK_SERIES,	/* id = tid << 8 | series << 2 | metric: a per-interval counter */
	PF_TRACK_BLOCKING,	/* id = tid: "mmlock · blocking", the thread's blocker slices */
	PF_FLOW = 0x80,		/* flow ids (not tracks): id = hop number, from 1 */
};

struct pf_writer;

struct pf_writer *pf_open(const char *path, const struct recording *meta,
			  char *err, size_t errlen);
/* Spools one event. A failure (-errno) is also kept: pf_finish then fails. */
int pf_event(struct pf_writer *w, const struct rec_event *ev,
	     const char *comm, const char *pcomm);
/* Consumes w (success or not). 0 or -errno with a message in err. */
int pf_finish(struct pf_writer *w, const struct recording *rec,
	      char *err, size_t errlen);
void pf_abort(struct pf_writer *w);
int perfetto_write_recording(const struct recording *rec, const char *path,
			     char *err, size_t errlen);

#endif /* MMLOCK_PERFETTO_H */
