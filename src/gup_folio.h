/* SPDX-License-Identifier: MIT */
/*
 * How GUP takes and drops the references and pins of a folio (mirrors
 * mm/gup.c: try_grab_folio_fast(), try_grab_folio(), gup_put_folio()).
 * Inline, for the fast path of gup.c and for the benchmark's peers that
 * measure these steps one at a time (bench/walks.c): both run this code,
 * not a copy of it.
 */
#ifndef PTLAB_GUP_FOLIO_H
#define PTLAB_GUP_FOLIO_H

#include "ptlab/gup.h"
#include "ptlab/page.h"

/* What a pin adds beyond the one reference (the kernel's
 * GUP_PIN_COUNTING_BIAS for order-0 pages, a pincount for large folios). */
static inline void folio_add_pin(struct page *folio, int refs, unsigned int flags)
{
	if (!(flags & FOLL_PIN))
		return;
	if (folio_test_large(folio))
		atomic_fetch_add_explicit(&folio->pincount, refs, memory_order_relaxed);
	else
		atomic_fetch_add_explicit(&folio->refcount,
					  refs * (GUP_PIN_COUNTING_BIAS - 1),
					  memory_order_relaxed);
}

/* The reference of a pin or a get on a folio already known to be live
 * (try_grab_folio(), used under a page-table lock). */
static inline void grab_folio(struct page *folio, int refs, unsigned int flags)
{
	atomic_fetch_add_explicit(&folio->refcount, refs, memory_order_relaxed);
	folio_add_pin(folio, refs, flags);
}

/* mirrors gup_put_folio(): drops what try_grab_folio_fast() or
 * grab_folio() took on @folio (@large: a THP's). */
static inline __attribute__((always_inline)) void gup_put_folio(struct page *folio, bool large,
								int refs, unsigned int flags)
{
	if (flags & FOLL_PIN) {
		if (large)
			atomic_fetch_sub_explicit(&folio->pincount, refs,
						  memory_order_relaxed);
		else
			refs *= GUP_PIN_COUNTING_BIAS;
	}
	folio_put_refs(folio, refs);
}

/*
 * mirrors try_grab_folio_fast(): get-unless-zero on the folio, then make
 * sure the page still belongs to it (a freed THP's frames may have become
 * order-0 pages meanwhile, and an order-0 page part of a THP): for an
 * order-0 page, that it is one still (its type: see page_compound()); for
 * a THP's, that its head is the folio, still a THP. A pin of an order-0
 * page takes its whole GUP_PIN_COUNTING_BIAS in the same atomic operation
 * (the kernel adds it in two steps); a large folio counts pins in
 * pincount. Sets *large as page_folio_fast() does.
 */
static inline __attribute__((always_inline)) struct page *
try_grab_folio_fast(struct page *page, int refs, unsigned int flags, bool *large)
{
	for (;;) {
		struct page *folio = page_folio_fast(page, large);
		int add = (flags & FOLL_PIN) && !*large ? refs * GUP_PIN_COUNTING_BIAS : refs;

		if (!page_ref_add_unless_zero(folio, add))
			return NULL;
		/* The reference holds the folio: these checks are stable. */
		if (!*large && !page_compound(page))
			return folio;
		if (*large && page_folio(page) == folio && folio_test_large(folio)) {
			if (flags & FOLL_PIN)
				atomic_fetch_add_explicit(&folio->pincount, refs,
							  memory_order_relaxed);
			return folio;
		}
		folio_put_refs(folio, add);
	}
}

#endif /* PTLAB_GUP_FOLIO_H */
