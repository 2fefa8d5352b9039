/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The attach ladder: every probe has candidate programs, best mechanism
 * first (fentry, kprobe, tp_btf, raw_tp, tracepoint). Candidates are
 * decided by real loads and attaches: a program the kernel refuses at load
 * is disabled and the object reloaded; at attach, the next loaded candidate
 * is tried. What each probe got, and why better ones were refused, is kept.
 */
#ifndef MMLOCK_LADDER_H
#define MMLOCK_LADDER_H

#include <stdbool.h>
#include "model/recording.h"

struct mmlock_bpf;
struct bpf_link;

enum mech_family { FAMILY_ANY, FAMILY_FENTRY, FAMILY_KPROBE, FAMILY_TRACEPOINT };

#define LADDER_MAX_CANDS 4
#define LADDER_MAX_PROGS 2	/* programs attached together: entry + exit */

struct ladder_probe {
	const char *name;
	/* Candidates, best first; each is one program or an entry/exit pair. */
	const char *cands[LADDER_MAX_CANDS][LADDER_MAX_PROGS];
};

struct ladder {
	struct mmlock_bpf *skel;
	bool no_uffd_probes;	/* --uffd-probes none: the uffd ioctl probes are left out */
	struct bpf_link *(*links)[LADDER_MAX_PROGS];	/* per probe; NULL if none */
	struct rec_probe *result;	/* one per probe */
	size_t nprobes;
	int reloads;
};

/* Callback that sets rodata etc. on a freshly opened skeleton. */
typedef int (*ladder_configure_fn)(struct mmlock_bpf *skel, void *arg);

int parse_family(const char *s);	/* "auto" "fentry" "kprobe" "tracepoint"; -1 bad */

/* Why the uffd ioctl probes are missing with --uffd-probes none (the report shows it). */
#define LADDER_NO_UFFD_WHY "left out by --uffd-probes none"

/*
 * Open, configure, load (with fallback on load failure). btf_path may be
 * NULL. no_uffd_probes: neither load nor attach the uffd ioctl probes.
 * Returns 0 or -errno with a one-line message in err.
 */
int ladder_load(struct ladder *l, int family, bool no_uffd_probes, const char *btf_path,
		ladder_configure_fn configure, void *arg, char *err, size_t errlen);
/* Attach every probe (fallback on attach failure); error if none attached. */
int ladder_attach(struct ladder *l, char *err, size_t errlen);
/* Did probe `name` attach (with any mechanism)? */
bool ladder_attached(const struct ladder *l, const char *name);
/* Test aid: is `prog` named in MMLOCK_REFUSE_ATTACH (its attach then fails as a kernel's would)? */
bool ladder_refused_by_env(const char *prog);
/* Why program `prog` was not loaded ("not loaded" if no reason was kept). */
const char *ladder_refusal(const struct ladder *l, const char *prog);
/* Release the links (the maps stay readable). Safe to call more than once. */
void ladder_detach(struct ladder *l);
/* Release links and the skeleton. Safe to call more than once. */
void ladder_destroy(struct ladder *l);

#endif
