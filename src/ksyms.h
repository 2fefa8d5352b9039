/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Kernel text symbols from /proc/kallsyms: lookup by address and by name. */
#ifndef MMLOCK_KSYMS_H
#define MMLOCK_KSYMS_H

#include <stddef.h>
#include <linux/types.h>

struct ksym {
	__u64 addr;
	__u64 end;	/* next symbol's address */
	char *name;
};

struct ksyms {
	struct ksym *syms;	/* sorted by addr */
	size_t n;
	char *names;		/* one block for all names */
};

/* 0, or -errno with a message (e.g. addresses hidden by kptr_restrict). */
int ksyms_load(struct ksyms *ks, const char *path, char *err, size_t errlen);
void ksyms_free(struct ksyms *ks);
const struct ksym *ksyms_find(const struct ksyms *ks, __u64 addr);
/* "func+0x1c" (or "0xffff..." if unknown) into buf. */
const char *ksyms_fmt(const struct ksyms *ks, __u64 addr, char *buf, size_t len);
/*
 * Symbols named `name`, or `name.<suffix>` (compiler clones: .isra.0,
 * .constprop.0, .llvm.<hash>). Calls fn for each; returns the count.
 */
size_t ksyms_by_name(const struct ksyms *ks, const char *name,
		     void (*fn)(const struct ksym *sym, void *arg), void *arg);

#endif
