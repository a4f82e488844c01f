/* SPDX-License-Identifier: MIT */
/*
 * get_user_pages (mirrors mm/gup.c).
 *
 * The fast path walks the calling CPU's current mm with interrupts off and
 * no lock, reads every entry once, takes a reference on the folio with
 * get-unless-zero, then re-checks the PTE and (if the machine's
 * pmd_recheck switch is on, the default) the PMD. Pages it could not take
 * go to the slow path: mmap_lock for read, a locked walk and the fault
 * handler.
 *
 * A referenced page stays valid (allocated, never reused) until its
 * reference is dropped, whatever happens to the mapping meanwhile.
 */
#ifndef PTLAB_GUP_H
#define PTLAB_GUP_H

#include <stdint.h>

#include "ptlab/page.h"

/* gup_flags */
#define FOLL_WRITE     0x01U  /* the caller will write to the pages */
#define FOLL_FAST_ONLY 0x02U  /* no slow path (get_user_pages_fast_only()) */
#define FOLL_GET       0x10U  /* internal: a reference (get_user_pages_fast()) */
#define FOLL_PIN       0x20U  /* internal: a pin (pin_user_pages_fast()) */
#define FOLL_USER_FLAGS (FOLL_WRITE | FOLL_FAST_ONLY)

/*
 * Takes references (get) or pins (pin) on the @nr_pages pages starting at
 * @start in the calling CPU's mm and stores them in @pages. Returns how
 * many were taken (a prefix of the range), or a negative errno when none
 * was: -EINVAL (unaligned @start, @nr_pages <= 0 or overflowing, NULL
 * @pages, unknown flags), -EPERM (not a CPU, or interrupts off), -ESRCH
 * (the CPU runs no mm), -EFAULT (no mapping allows the access), -ENOMEM
 * (the slow path's fault found no free frame). With FOLL_FAST_ONLY there
 * is no slow path: 0 when the fast path could take none (as the kernel's
 * get_user_pages_fast_only()).
 */
long get_user_pages_fast(uint64_t start, long nr_pages, unsigned int gup_flags,
			 struct page **pages);
long pin_user_pages_fast(uint64_t start, long nr_pages, unsigned int gup_flags,
			 struct page **pages);

/* Drops pins (unpin_user_pages()); with @make_dirty each page is marked
 * dirty first (unpin_user_pages_dirty_lock()). */
void unpin_user_pages(struct page **pages, unsigned long npages);
void unpin_user_pages_dirty_lock(struct page **pages, unsigned long npages,
				 bool make_dirty);
/* Drops FOLL_GET references. */
void put_user_pages(struct page **pages, unsigned long npages);

struct gup_stats {
	unsigned long long fast_pages;   /* pages the fast path returned */
	unsigned long long fast_fallback;/* calls that left pages to the slow path */
	unsigned long long recheck_fail; /* references dropped by a re-check */
	unsigned long long slow_pages;   /* pages the slow path returned */
};
void gup_get_stats(struct gup_stats *out);

#endif /* PTLAB_GUP_H */
