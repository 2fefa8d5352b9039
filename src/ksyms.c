// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "ksyms.h"

static int cmp_addr(const void *a, const void *b)
{
	const struct ksym *x = a, *y = b;

	return (x->addr > y->addr) - (x->addr < y->addr);
}

int ksyms_load(struct ksyms *ks, const char *path, char *err, size_t errlen)
{
	size_t cap = 0, ncap = 0, nlen = 0, nonzero = 0;
	char line[512], name[256], type;
	unsigned long long addr;
	size_t *offs = NULL;
	FILE *f;

	memset(ks, 0, sizeof(*ks));
	f = fopen(path, "re");
	if (!f) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -errno;
	}
	while (fgets(line, sizeof(line), f)) {
		size_t l;

		if (sscanf(line, "%llx %c %255s", &addr, &type, name) != 3)
			continue;
		if (type != 't' && type != 'T')
			continue;
		if (ks->n == cap) {
			cap = cap ? cap * 2 : 65536;
			ks->syms = realloc(ks->syms, cap * sizeof(*ks->syms));
			offs = realloc(offs, cap * sizeof(*offs));
			if (!ks->syms || !offs)
				goto nomem;
		}
		l = strlen(name) + 1;
		if (nlen + l > ncap) {
			ncap = ncap ? ncap * 2 : 1 << 20;
			ks->names = realloc(ks->names, ncap);
			if (!ks->names)
				goto nomem;
		}
		memcpy(ks->names + nlen, name, l);
		offs[ks->n] = nlen;
		nlen += l;
		ks->syms[ks->n].addr = addr;
		nonzero += addr != 0;
		ks->n++;
	}
	fclose(f);
	if (!nonzero) {
		free(offs);
		ksyms_free(ks);
		snprintf(err, errlen, "%s: kernel addresses are hidden (run as root, or set kernel.kptr_restrict=0)", path);
		return -EPERM;
	}
	for (size_t i = 0; i < ks->n; i++)
		ks->syms[i].name = ks->names + offs[i];
	free(offs);
	qsort(ks->syms, ks->n, sizeof(*ks->syms), cmp_addr);
	for (size_t i = 0; i < ks->n; i++)
		ks->syms[i].end = i + 1 < ks->n ? ks->syms[i + 1].addr : ks->syms[i].addr + 4096;
	return 0;
nomem:
	fclose(f);
	free(offs);
	ksyms_free(ks);
	snprintf(err, errlen, "%s: out of memory", path);
	return -ENOMEM;
}

void ksyms_free(struct ksyms *ks)
{
	free(ks->syms);
	free(ks->names);
	memset(ks, 0, sizeof(*ks));
}

const struct ksym *ksyms_find(const struct ksyms *ks, __u64 addr)
{
	size_t lo = 0, hi = ks->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (addr < ks->syms[mid].addr)
			hi = mid;
		else if (addr >= ks->syms[mid].end)
			lo = mid + 1;
		else
			return &ks->syms[mid];
	}
	return NULL;
}

const char *ksyms_fmt(const struct ksyms *ks, __u64 addr, char *buf, size_t len)
{
	const struct ksym *s = ksyms_find(ks, addr);

	if (s)
		snprintf(buf, len, "%s+0x%llx", s->name, (unsigned long long)(addr - s->addr));
	else
		snprintf(buf, len, "0x%llx", (unsigned long long)addr);
	return buf;
}

size_t ksyms_by_name(const struct ksyms *ks, const char *name,
		     void (*fn)(const struct ksym *sym, void *arg), void *arg)
{
	size_t l = strlen(name), found = 0;

	for (size_t i = 0; i < ks->n; i++) {
		const char *s = ks->syms[i].name;

		if (strncmp(s, name, l) || (s[l] && s[l] != '.'))
			continue;
		fn(&ks->syms[i], arg);
		found++;
	}
	return found;
}
