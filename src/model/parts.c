// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Where a uffd ioctl's time went: the parts the BPF side cuts at the
 * thread's switch points (enum mm_part, docs/breakdown.md), their names, and
 * the remainder ("unexplained"), which is always kept so that the parts sum
 * to the ioctl's duration exactly.
 */
#include <stdio.h>
#include <string.h>
#include "model/recording.h"

static const char *const fixed_names[NR_REC_PARTS] = {
	[CLASS_IO] = "dstate_other",
	[PART_SLEEP] = "sleep",
	[PART_ON_CPU] = "on_cpu",
	[PART_LOCK_SPIN] = "lock_spin",
	[PART_RWSEM_SPIN] = "rwsem_spin",
	[PART_INTERRUPTED] = "interrupted",
	[PART_PREEMPTED] = "preempted",
	[PART_RUNNABLE] = "runnable",
	[PART_UNEXPLAINED] = "unexplained",
};

static const char *const fixed_labels[NR_REC_PARTS] = {
	[CLASS_IO] = "D-state, no lock",
	[PART_SLEEP] = "interruptible sleep",
	[PART_ON_CPU] = "on CPU",
	[PART_LOCK_SPIN] = "lock spin",
	[PART_RWSEM_SPIN] = "rwsem optimistic spin",
	[PART_INTERRUPTED] = "interrupted",
	[PART_PREEMPTED] = "preempted",
	[PART_RUNNABLE] = "runnable after wakeup",
	[PART_UNEXPLAINED] = "unexplained",
};

/*
 * The probes (src/record/ladder.c names) whose cuts make each part; all of
 * them also need the ioctl's entry and exit (uffd_ioctl_enter/exit). The
 * blocked-in-a-lock parts (slots below NR_CLASSES) are those of CLASS_OTHER.
 */
#define PART_PROBES 3
static const char *const part_probes[NR_REC_PARTS][PART_PROBES] = {
	[CLASS_OTHER] = { "sched_switch", "sched_wakeup", "contention_begin" },
	[CLASS_IO] = { "sched_switch", "sched_wakeup" },
	[PART_SLEEP] = { "sched_switch", "sched_wakeup" },
	[PART_ON_CPU] = { "sched_switch" },	/* what the others leave of the stretches it cuts */
	[PART_LOCK_SPIN] = { "contention_begin", "contention_end" },
	[PART_RWSEM_SPIN] = { "rwsem_spin", "contention_begin" },
	[PART_INTERRUPTED] = { "contention_begin", "contention_end" },
	[PART_PREEMPTED] = { "sched_switch" },
	[PART_RUNNABLE] = { "sched_wakeup", "sched_switch" },
};

/* A part measured only where this probe attached (its first probe above). */
static bool needs_own_probe(unsigned int part)
{
	return part == PART_RWSEM_SPIN;
}

static const struct rec_probe *find_probe(const struct recording *rec, const char *name)
{
	for (size_t i = 0; rec && i < rec->nprobes; i++)
		if (!strcmp(rec->probes[i].name, name))
			return &rec->probes[i];
	return NULL;
}

const char *part_source(const struct recording *rec, unsigned int part, char *buf, size_t len)
{
	const char *const *pr;
	size_t n = 0;

	buf[0] = 0;
	if (part >= NR_REC_PARTS)
		return buf;
	if (part == PART_UNEXPLAINED) {
		snprintf(buf, len, "the remainder");
		return buf;
	}
	pr = part_probes[part < NR_CLASSES && part != CLASS_IO ? CLASS_OTHER : part];
	for (int i = 0; i < PART_PROBES && pr[i] && n < len; i++) {
		const struct rec_probe *p = find_probe(rec, pr[i]);

		n += snprintf(buf + n, len - n, "%s%s=%s", i ? " " : "", pr[i], p ? p->mechanism : "?");
	}
	return buf;
}

bool part_measured(const struct recording *rec, unsigned int part, const char **why)
{
	const struct rec_probe *p;

	if (part >= NR_REC_PARTS || !needs_own_probe(part))
		return true;
	p = find_probe(rec, part_probes[part][0]);
	if (p && strcmp(p->mechanism, "none"))
		return true;
	if (why)
		*why = !p ? "a recording from before this part" : p->refused[0] ? p->refused : "not attached";
	return false;
}

/* "lock_sleep_<class>" / "lock sleep <label>" for the blocked-in-a-lock parts, built once. */
static char lock_names[NR_CLASSES][48], lock_labels[NR_CLASSES][48];

static void init_lock_names(void)
{
	if (lock_names[0][0])
		return;
	for (int c = 0; c < NR_CLASSES; c++) {
		snprintf(lock_names[c], sizeof(lock_names[c]), "lock_sleep_%s", class_name(c));
		snprintf(lock_labels[c], sizeof(lock_labels[c]), "lock sleep %s", class_label(c));
	}
}

const char *part_name(unsigned int part)
{
	if (part >= NR_REC_PARTS)
		return NULL;
	if (fixed_names[part])
		return fixed_names[part];
	init_lock_names();
	return lock_names[part];
}

const char *part_label(unsigned int part)
{
	if (part >= NR_REC_PARTS)
		return NULL;
	if (fixed_labels[part])
		return fixed_labels[part];
	init_lock_names();
	return lock_labels[part];
}

int part_from_name(const char *s)
{
	for (unsigned int i = 0; i < NR_REC_PARTS; i++)
		if (!strcmp(part_name(i), s))
			return i;
	return -1;
}

void parts_carve(__u64 *parts)
{
	__u64 on = parts[PART_ON_CPU], spin = parts[PART_LOCK_SPIN], irq = parts[PART_INTERRUPTED];
	__u64 rws = parts[PART_RWSEM_SPIN];

	if (spin > on)
		spin = on;
	if (irq > on - spin)
		irq = on - spin;
	if (rws > on - spin - irq)
		rws = on - spin - irq;
	parts[PART_LOCK_SPIN] = spin;
	parts[PART_INTERRUPTED] = irq;
	parts[PART_RWSEM_SPIN] = rws;
	parts[PART_ON_CPU] = on - spin - irq - rws;
}

__u64 parts_sum(const __u64 *parts)
{
	__u64 sum = 0;

	for (int i = 0; i < NR_REC_PARTS; i++)
		sum += parts[i];
	return sum;
}

int parts_settle(__u64 *parts, __u64 total)
{
	__u64 named;
	int trimmed = 0;

	parts[PART_UNEXPLAINED] = 0;
	named = parts_sum(parts);
	/* On-CPU first: it is what is left between switch points, the least direct measure. */
	for (int i = PART_ON_CPU, n = 0; named > total && n < NR_PARTS; i = (i + 1) % NR_PARTS, n++) {
		__u64 cut = named - total < parts[i] ? named - total : parts[i];

		parts[i] -= cut;
		named -= cut;
		trimmed = 1;
	}
	parts[PART_UNEXPLAINED] = total - named;
	return trimmed;
}
