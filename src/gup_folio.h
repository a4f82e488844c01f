/* SPDX-License-Identifier: MIT */
/*
 * How GUP takes and drops the references and pins of a folio (mirrors
 * mm/gup.c, 6.12: try_get_folio(), try_grab_folio_fast(),
 * try_grab_folio(), gup_put_folio()).
 * Inline, for the fast path of gup.c and for the benchmark's peers that
 * measure these steps one at a time (bench/walks.c): both run this code,
 * not a copy of it.
 */
#ifndef PTLAB_GUP_FOLIO_H
#define PTLAB_GUP_FOLIO_H

#include "ptlab/gup.h"
#include "ptlab/page.h"

/*
 * What a pin adds to the reference its get-unless-zero took (the pin's
 * part of try_grab_folio_fast()): GUP_PIN_COUNTING_BIAS - 1 more per
 * reference on an order-0 folio, its pincount on a large one. Unordered
 * atomics, as the kernel's folio_ref_add() and atomic_add(); then
 * smp_mb__after_atomic(), which orders them before the re-checks (see
 * gup.c's opening comment for what pairs with it).
 */
static inline __attribute__((always_inline)) void folio_add_pin(struct page *folio, int refs,
								bool large)
{
	if (large)
		atomic_fetch_add_explicit(&folio->pincount, refs, memory_order_relaxed);
	else
		atomic_fetch_add_explicit(&folio->refcount, refs * (GUP_PIN_COUNTING_BIAS - 1),
					  memory_order_relaxed);
	smp_mb__after_atomic();
}

/* mirrors try_grab_folio() (6.12): the reference of a get or a pin on a
 * folio known to be live (under the page-table lock of an entry that maps
 * it): a pin of an order-0 folio adds the whole bias at once. */
static inline void grab_folio(struct page *folio, int refs, unsigned int flags)
{
	bool large = folio_test_large(folio);

	if ((flags & FOLL_PIN) && !large)
		refs *= GUP_PIN_COUNTING_BIAS;
	atomic_fetch_add_explicit(&folio->refcount, refs, memory_order_relaxed);
	if ((flags & FOLL_PIN) && large)
		atomic_fetch_add_explicit(&folio->pincount, refs, memory_order_relaxed);
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
 * mirrors try_get_folio(): get-unless-zero of @refs on the folio of @page
 * (a seq_cst CAS: the kernel's atomic_add_unless() is fully ordered), then
 * make sure the page still belongs to it, for a freed folio's frames may
 * have become part of another meanwhile: an order-0 page by its type
 * alone (see page_compound()), a THP's by its head, still a THP. Sets
 * *large as page_folio_fast() does.
 */
static inline __attribute__((always_inline)) struct page *try_get_folio(struct page *page,
									int refs, bool *large)
{
	for (;;) {
		struct page *folio = page_folio_fast(page, large);

		if (!page_ref_add_unless_zero(folio, refs))
			return NULL;
		/* The reference holds the folio: these checks are stable. */
		if (*large ? page_folio(page) == folio && folio_test_large(folio)
			   : !page_compound(page))
			return folio;
		folio_put_refs(folio, refs);
	}
}

/*
 * mirrors try_grab_folio_fast() (6.10+; try_grab_folio() before): a get
 * is try_get_folio(); a pin is try_get_folio() of @refs and then the pin
 * on top (folio_add_pin()), in the kernel's two steps. Sets *large.
 */
static inline __attribute__((always_inline)) struct page *
try_grab_folio_fast(struct page *page, int refs, unsigned int flags, bool *large)
{
	struct page *folio = try_get_folio(page, refs, large);

	if (folio && (flags & FOLL_PIN))
		folio_add_pin(folio, refs, *large);
	return folio;
}

#endif /* PTLAB_GUP_FOLIO_H */
