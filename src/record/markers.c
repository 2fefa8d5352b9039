// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The one table of marker functions. On a wait's stack (innermost first) the
 * first marker with a site names the site, the first with a class refines a
 * generic class (rwsem, "D-state, no lock"). Names changed across kernels are
 * listed side by side; compiler clones (foo.isra.0) match too.
 */
#include <stdlib.h>
#include "record/markers.h"
#include "model/recording.h"
#include "lib/util.h"

static const struct {
	const char *name;
	__u8 site;
	__u8 cls;
} marker_table[] = {
	/* UFFDIO_MOVE: move_pages_pte (6.8-6.17) was batched into move_pages_ptes (6.18). */
	{ "move_pages_ptes", SITE_UFFD_MOVE, CLASS_OTHER },
	{ "move_pages_pte", SITE_UFFD_MOVE, CLASS_OTHER },
	{ "move_pages_huge_pmd", SITE_UFFD_MOVE, CLASS_OTHER },
	{ "move_pages", SITE_UFFD_MOVE, CLASS_OTHER },
	/* UFFDIO_COPY/ZEROPAGE/CONTINUE: mfill_atomic* (6.5+), mcopy_atomic* before. */
	{ "mfill_atomic", SITE_UFFD_COPY, CLASS_OTHER },
	{ "mfill_atomic_copy", SITE_UFFD_COPY, CLASS_OTHER },
	{ "mfill_atomic_zeropage", SITE_UFFD_COPY, CLASS_OTHER },
	{ "mfill_atomic_continue", SITE_UFFD_COPY, CLASS_OTHER },
	{ "mfill_atomic_pte", SITE_UFFD_COPY, CLASS_OTHER },
	{ "mcopy_atomic", SITE_UFFD_COPY, CLASS_OTHER },
	{ "__mcopy_atomic", SITE_UFFD_COPY, CLASS_OTHER },
	{ "mfill_zeropage", SITE_UFFD_COPY, CLASS_OTHER },
	{ "userfaultfd_ioctl", SITE_UFFD_OTHER, CLASS_OTHER },
	/* rmap walkers: they take the anon_vma lock for read. */
	{ "rmap_walk_anon", SITE_RMAP_WALK, CLASS_OTHER },
	{ "rmap_walk", SITE_RMAP_WALK, CLASS_OTHER },
	{ "rmap_walk_locked", SITE_RMAP_WALK, CLASS_OTHER },
	{ "folio_lock_anon_vma_read", SITE_RMAP_WALK, CLASS_OTHER },
	{ "folio_referenced", SITE_RMAP_WALK, CLASS_OTHER },
	{ "try_to_unmap", SITE_RMAP_WALK, CLASS_OTHER },
	{ "try_to_migrate", SITE_RMAP_WALK, CLASS_OTHER },
	{ "remove_migration_ptes", SITE_RMAP_WALK, CLASS_OTHER },
	/* Reclaim and compaction. */
	{ "shrink_folio_list", SITE_RECLAIM, CLASS_OTHER },
	{ "shrink_page_list", SITE_RECLAIM, CLASS_OTHER },
	{ "shrink_node", SITE_RECLAIM, CLASS_OTHER },
	{ "try_to_free_pages", SITE_RECLAIM, CLASS_OTHER },
	{ "reclaim_pages", SITE_RECLAIM, CLASS_OTHER },
	{ "compact_zone", SITE_COMPACTION, CLASS_OTHER },
	{ "migrate_pages_batch", SITE_COMPACTION, CLASS_OTHER },
	{ "migrate_pages", SITE_COMPACTION, CLASS_OTHER },
	/* Sleeps with no lock tracepoint: class from the stack. */
	{ "__folio_lock", SITE_OTHER, CLASS_FOLIO },
	{ "__folio_lock_killable", SITE_OTHER, CLASS_FOLIO },
	/* Not folio_wait_bit_common: folio_wait_writeback() sleeps there too. */
	{ "migration_entry_wait_on_locked", SITE_OTHER, CLASS_FOLIO },
	{ "__vma_start_write", SITE_OTHER, CLASS_VMA_WRITE },
	{ "vma_start_write", SITE_OTHER, CLASS_VMA_WRITE },
	/* Page faults. */
	{ "lock_vma_under_rcu", SITE_FAULT, CLASS_VMA_READ },
	{ "do_swap_page", SITE_FAULT, CLASS_OTHER },
	{ "handle_mm_fault", SITE_FAULT, CLASS_OTHER },
	{ "do_user_addr_fault", SITE_FAULT, CLASS_OTHER },
	{ "do_page_fault", SITE_FAULT, CLASS_OTHER },
	/* Address-space changes. */
	{ "mmap_region", SITE_MMAP, CLASS_OTHER },
	{ "do_mmap", SITE_MMAP, CLASS_OTHER },
	{ "do_vmi_munmap", SITE_MMAP, CLASS_OTHER },
	{ "__do_sys_mremap", SITE_MMAP, CLASS_OTHER },
	{ "do_madvise", SITE_MMAP, CLASS_OTHER },
	{ "do_mprotect_pkey", SITE_MMAP, CLASS_OTHER },
};

struct resolve_ctx {
	struct marker *out;
	unsigned int n, max;
	__u8 site, cls;
	const char *name;
};

static void add_marker(const struct ksym *sym, void *arg)
{
	struct resolve_ctx *c = arg;

	if (c->n >= c->max) {
		vnote("marker table full: %s at 0x%llx not used", c->name,
		      (unsigned long long)sym->addr);
		return;
	}
	c->out[c->n++] = (struct marker){ .start = sym->addr, .end = sym->end,
					  .site = c->site, .cls = c->cls };
}

static int cmp_marker(const void *a, const void *b)
{
	const struct marker *x = a, *y = b;

	return (x->start > y->start) - (x->start < y->start);
}

unsigned int markers_resolve(const struct ksyms *ks, struct marker *out, unsigned int max)
{
	struct resolve_ctx c = { .out = out, .max = max };

	for (size_t i = 0; i < sizeof(marker_table) / sizeof(marker_table[0]); i++) {
		c.site = marker_table[i].site;
		c.cls = marker_table[i].cls;
		c.name = marker_table[i].name;
		if (!ksyms_by_name(ks, c.name, add_marker, &c))
			vnote("marker %s: not in this kernel (inlined or renamed), skipped", c.name);
	}
	qsort(out, c.n, sizeof(*out), cmp_marker);
	/* Drop duplicates (a name listed twice, or aliases at one address). */
	unsigned int w = 0;

	for (unsigned int i = 0; i < c.n; i++)
		if (!w || out[i].start != out[w - 1].start)
			out[w++] = out[i];
	return w;
}
