/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Marker functions: kernel functions whose presence on a stack names a wait's site or class. */
#ifndef MMLOCK_MARKERS_H
#define MMLOCK_MARKERS_H

#include "record/ksyms.h"
#include "mmlock.h"

/*
 * Resolve the marker table against kallsyms into out[] sorted by address.
 * A missing function is skipped (noted with -v). Returns the count.
 */
unsigned int markers_resolve(const struct ksyms *ks, struct marker *out, unsigned int max);

#endif
