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
	[PART_INTERRUPTED] = "interrupted",
	[PART_PREEMPTED] = "preempted",
	[PART_RUNNABLE] = "runnable after wakeup",
	[PART_UNEXPLAINED] = "unexplained",
};

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

	if (spin > on)
		spin = on;
	if (irq > on - spin)
		irq = on - spin;
	parts[PART_LOCK_SPIN] = spin;
	parts[PART_INTERRUPTED] = irq;
	parts[PART_ON_CPU] = on - spin - irq;
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
