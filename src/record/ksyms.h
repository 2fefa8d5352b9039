/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Kernel text symbols from /proc/kallsyms: lookup by address and by name. */
#ifndef MMLOCK_KSYMS_H
#define MMLOCK_KSYMS_H

#include <stdbool.h>
#include <stddef.h>
#include <linux/types.h>

struct ksym {
	__u64 addr;
	__u64 end;	/* next symbol's address */
	const char *name;
};

/* ~120k symbols: kept as two packed arrays (12 bytes a symbol) and one name blob. */
struct ksyms {
	__u64 *addrs;		/* sorted */
	__u32 *name_offs;	/* into names */
	size_t n;
	char *names;
};

/* 0, or -errno with a message (e.g. addresses hidden by kptr_restrict). */
int ksyms_load(struct ksyms *ks, const char *path, char *err, size_t errlen);
void ksyms_free(struct ksyms *ks);
/* The symbol containing addr; false if none. */
bool ksyms_find(const struct ksyms *ks, __u64 addr, struct ksym *out);
/* "func+0x1c" (or "0xffff..." if unknown) into buf. */
const char *ksyms_fmt(const struct ksyms *ks, __u64 addr, char *buf, size_t len);
/*
 * Symbols named `name`, or `name.<suffix>` (compiler clones: .isra.0,
 * .constprop.0, .llvm.<hash>). Calls fn for each; returns the count.
 */
size_t ksyms_by_name(const struct ksyms *ks, const char *name,
		     void (*fn)(const struct ksym *sym, void *arg), void *arg);

#endif
