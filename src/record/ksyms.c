// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "record/ksyms.h"
#include "lib/util.h"

struct raw_sym {
	__u64 addr;
	__u32 name;
};

static int cmp_addr(const void *a, const void *b)
{
	const struct raw_sym *x = a, *y = b;

	return (x->addr > y->addr) - (x->addr < y->addr);
}

int ksyms_load(struct ksyms *ks, const char *path, char *err, size_t errlen)
{
	size_t cap = 0, ncap = 0, nlen = 0, nonzero = 0, n = 0;
	struct raw_sym *raw = NULL;
	char line[512], name[256], type;
	unsigned long long addr;
	FILE *f;

	memset(ks, 0, sizeof(*ks));
	f = fopen(path, "re");
	if (!f) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -errno;
	}
	while (fgets(line, sizeof(line), f)) {
		size_t l;

		if (sscanf(line, "%llx %c %255s", &addr, &type, name) != 3 ||
		    (type != 't' && type != 'T'))
			continue;
		l = strlen(name) + 1;
		if (grow_array(&raw, &cap, n + 1, sizeof(*raw)) ||
		    grow_array(&ks->names, &ncap, nlen + l, 1))
			goto nomem;
		memcpy(ks->names + nlen, name, l);
		raw[n].addr = addr;
		raw[n].name = nlen;
		nlen += l;
		nonzero += addr != 0;
		n++;
	}
	fclose(f);
	f = NULL;
	if (!nonzero) {
		free(raw);
		ksyms_free(ks);
		snprintf(err, errlen, "%s: kernel addresses are hidden (run as root, or set kernel.kptr_restrict=0)", path);
		return -EPERM;
	}
	qsort(raw, n, sizeof(*raw), cmp_addr);
	ks->addrs = malloc(n * sizeof(*ks->addrs));
	ks->name_offs = malloc(n * sizeof(*ks->name_offs));
	if (!ks->addrs || !ks->name_offs)
		goto nomem;
	for (size_t i = 0; i < n; i++) {
		ks->addrs[i] = raw[i].addr;
		ks->name_offs[i] = raw[i].name;
	}
	ks->n = n;
	free(raw);
	return 0;
nomem:
	if (f)
		fclose(f);
	free(raw);
	ksyms_free(ks);
	snprintf(err, errlen, "%s: out of memory", path);
	return -ENOMEM;
}

void ksyms_free(struct ksyms *ks)
{
	free(ks->addrs);
	free(ks->name_offs);
	free(ks->names);
	memset(ks, 0, sizeof(*ks));
}

static void fill(const struct ksyms *ks, size_t i, struct ksym *out)
{
	out->addr = ks->addrs[i];
	out->end = i + 1 < ks->n ? ks->addrs[i + 1] : ks->addrs[i] + 4096;
	out->name = ks->names + ks->name_offs[i];
}

bool ksyms_find(const struct ksyms *ks, __u64 addr, struct ksym *out)
{
	size_t lo = 0, hi = ks->n;

	/* The last symbol starting at or before addr. */
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (ks->addrs[mid] <= addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (!lo)
		return false;
	fill(ks, lo - 1, out);
	return addr < out->end;
}

const char *ksyms_fmt(const struct ksyms *ks, __u64 addr, char *buf, size_t len)
{
	struct ksym s;

	if (ksyms_find(ks, addr, &s))
		snprintf(buf, len, "%s+0x%llx", s.name, (unsigned long long)(addr - s.addr));
	else
		snprintf(buf, len, "0x%llx", (unsigned long long)addr);
	return buf;
}

size_t ksyms_by_name(const struct ksyms *ks, const char *name,
		     void (*fn)(const struct ksym *sym, void *arg), void *arg)
{
	size_t l = strlen(name), found = 0;
	struct ksym sym;

	for (size_t i = 0; i < ks->n; i++) {
		const char *s = ks->names + ks->name_offs[i];

		if (strncmp(s, name, l) || (s[l] && s[l] != '.'))
			continue;
		fill(ks, i, &sym);
		fn(&sym, arg);
		found++;
	}
	return found;
}
