// SPDX-License-Identifier: MIT
/*
 * get_user_pages: the lockless fast path and the locked slow path
 * (mirrors mm/gup.c, 6.x: gup_fast(), gup_fast_fallback(),
 * __get_user_pages()).
 *
 * Ordering of the fast path, as the kernel's (6.12), against a writer
 * that clears an entry and then looks at reference counts:
 *   walker:   read PMD, PTE (acquire) -> get-unless-zero of refs (seq_cst
 *             CAS: the kernel's atomic_add_unless() is fully ordered) ->
 *             for a pin, the pin on top (relaxed: refcount +=
 *             refs * (GUP_PIN_COUNTING_BIAS - 1) on an order-0 folio,
 *             pincount += refs on a large one), smp_mb__after_atomic() ->
 *             re-read PMD and PTE (seq_cst);
 *   collapse: pmdp_collapse_flush() clears the PMD (seq_cst exchange) ->
 *             the isolation reads each refcount (is_refcount_suitable(),
 *             seq_cst load);
 *   zap:      clears each PTE (seq_cst exchange) -> drops the mapping's
 *             reference after the TLB flush (the mmu_gather).
 * - The get-unless-zero pairs with the clearing exchange: the CAS, the
 *   exchange, the re-check and the refcount load are all seq_cst, so in
 *   their single order either the CAS comes first and the isolation sees
 *   the reference (any count above the mappings refuses the collapse, the
 *   pin's bias is not needed for that), or the exchange comes first and
 *   the re-check sees the entry changed and drops the reference. A zap
 *   checks no count: the walker that took its reference first keeps the
 *   page allocated until it drops it (a reference is never taken on a
 *   count of 0: get-unless-zero), and its re-check sends it away.
 * - smp_mb__after_atomic() orders the pin's second atomic before the
 *   re-checks. In the kernel it pairs with the barrier of
 *   folio_try_share_anon_rmap_*(), where fork looks for pins
 *   (folio_maybe_dma_pinned(): the bias or the pincount) after it changed
 *   the PTE. ptlab has no such reader: nothing looks at pins after
 *   changing an entry, so this barrier orders nothing ptlab's protocol
 *   relies on; it is there as the kernel's is, and on x86-64 it is a
 *   compiler barrier, as the kernel's (ptlab/barrier.h).
 * - Unpin (gup_put_folio()) drops an order-0 folio's refs * BIAS in one
 *   acq_rel RMW: its release orders every access made through the pin
 *   before the drop, for whoever drops the last reference, whose acquire
 *   sees them before it frees. A large folio's pincount goes first
 *   (relaxed, the kernel's atomic_sub()), ordered before the reference's
 *   drop by the same release.
 * The table the walker reads stays a page table of this mm because the
 * walker has interrupts off: whoever frees or reuses it first waits for
 * that, through an IPI flush, tlb_remove_table_sync_one() or an RCU
 * grace period, as the profile and the fixes decide. Where they do not,
 * the lab's detectors see it.
 */
#include <errno.h>

#include "cpu.h"
#include "gup_folio.h"
#include "machine.h"
#include "mm_internal.h"
#include "ptlab/gup.h"
#include "ptlab/race.h"

/*
 * One call's walk. The fast path is written once and instantiated twice
 * (gup_fast_range() is always inlined): with the race hook, for the lab,
 * and with a hook known to be NULL, where every race point folds away, so
 * that outside a lab run they cost one relaxed load and an untaken branch
 * per call (gup_fast()). The switches are read once per call too: a
 * change takes effect at the next call, as a hook installed meanwhile.
 */
struct gup_walk {
	unsigned int flags;
	struct page **pages;
	long nr;
	struct cpu *cpu;
	/* machine_pmd_recheck() and the profile's pmd_read, at the call's start */
	bool pmd_recheck, pmd_low_high;
};

#define gup_inline static inline __attribute__((always_inline))

gup_inline bool gup_fast_pte_range(struct gup_walk *w, race_hook_fn hook, pmd_t pmd,
				   struct pmd_slot *pmdp, uint64_t addr, uint64_t end)
{
	struct pte_slot *ptep = pte_offset_map(pmd, addr);

	if (!ptep)
		return false;
	do {
		pte_t pte = ptep_get_lockless(ptep);
		struct page *page, *folio;
		bool large;

		RACE_POINT_AT(hook, RP_GUP_FAST_PTE_READ, .addr = addr, .pmd = pmd_val(pmd),
			      .pte = pte_val(pte), .pte_table = pte_table_page(ptep));
		if (!pte_access_permitted(pte, w->flags & FOLL_WRITE) || pte_special(pte))
			return false;
		/* The kernel's VM_BUG_ON() (DEBUG_VM only), then pte_page():
		 * ptlab stops, and tells the lab. */
		if (!pfn_valid(pte_pfn(pte))) {
			RACE_POINT_AT(hook, RP_GUP_FAST_BAD_PFN, .addr = addr, .pmd = pmd_val(pmd),
				      .pte = pte_val(pte), .pte_table = pte_table_page(ptep));
			return false;
		}
		page = pfn_to_page(pte_pfn(pte));
		folio = try_grab_folio_fast(page, 1, w->flags, &large);
		if (!folio)
			return false;
		RACE_POINT_AT(hook, RP_GUP_FAST_REF_TAKEN, .addr = addr, .pmd = pmd_val(pmd),
			      .pte = pte_val(pte), .page = page);
		if ((w->pmd_recheck && pmd_val(pmd) != pmd_val(pmdp_recheck(pmdp))) ||
		    pte_val(pte) != pte_val(ptep_recheck(ptep))) {
			gup_put_folio(folio, large, 1, w->flags);
			cpu_stat_add(&w->cpu->gup_recheck_fail, 1);
			RACE_POINT_AT(hook, RP_GUP_FAST_RECHECK_FAILED, .addr = addr,
				      .pmd = pmd_val(pmd), .pte = pte_val(pte), .page = page);
			return false;
		}
		w->pages[w->nr++] = page;
	} while (ptep++, addr += PAGE_SIZE, addr != end);
	return true;
}

gup_inline bool gup_fast_pmd_leaf(struct gup_walk *w, race_hook_fn hook, pmd_t orig,
				  struct pmd_slot *pmdp, uint64_t addr, uint64_t end)
{
	uint64_t head_pfn = pmd_pfn(orig);
	int refs = (int)((end - addr) >> PAGE_SHIFT);
	struct page *page, *folio;
	bool large;

	if (!pmd_access_permitted(orig, w->flags & FOLL_WRITE))
		return false;
	/* The kernel goes on to pmd_page() unchecked. */
	if (!pfn_valid(head_pfn) || !pfn_valid(head_pfn + HPAGE_PMD_NR - 1)) {
		RACE_POINT_AT(hook, RP_GUP_FAST_BAD_PFN, .addr = addr, .pmd = pmd_val(orig),
			      .pmd_table = pmd_table_page(pmdp));
		return false;
	}
	page = pfn_to_page(head_pfn + pte_index(addr));
	folio = try_grab_folio_fast(page, refs, w->flags, &large);
	if (!folio)
		return false;
	RACE_POINT_AT(hook, RP_GUP_FAST_REF_TAKEN, .addr = addr, .pmd = pmd_val(orig),
		      .page = page);
	if (pmd_val(orig) != pmd_val(pmdp_recheck(pmdp))) {
		gup_put_folio(folio, large, refs, w->flags);
		cpu_stat_add(&w->cpu->gup_recheck_fail, 1);
		RACE_POINT_AT(hook, RP_GUP_FAST_RECHECK_FAILED, .addr = addr,
			      .pmd = pmd_val(orig), .page = page);
		return false;
	}
	for (int i = 0; i < refs; i++)
		w->pages[w->nr + i] = page + i;
	w->nr += refs;
	return true;
}

/* The PMD slot of @addr, reading the PGD and PUD entries locklessly (the
 * upper levels of gup_fast_pgd_range(), P4D folded); NULL when a level is
 * missing. */
gup_inline struct pmd_slot *gup_fast_pmd_slot(race_hook_fn hook, struct mm_struct *mm,
					      uint64_t addr)
{
	pgd_t pgd = pgdp_get(pgd_offset_pgd(mm->pgd, addr));
	struct pmd_slot *pmdp;
	struct pud_slot *pudp;
	pud_t pud;

	if (!pgd_present(pgd) || !(pudp = pud_offset(pgd, addr)))
		return NULL;
	pud = pudp_get(pudp);
	if (!pud_present(pud) || !(pmdp = pmd_offset(pud, addr)))
		return NULL;
	RACE_POINT_AT(hook, RP_GUP_FAST_PUD_READ, .addr = addr, .pmd = pud_val(pud),
		      .pmdp = pudp, .pmd_table = pmd_table_page(pmdp));
	return pmdp;
}

/* mirrors gup_fast_pgd_range() down to gup_fast_pmd_range() (6.12), one
 * PMD at a time: each entry read once, stopping at the first thing it
 * cannot take. */
gup_inline void gup_fast_range(struct gup_walk *w, race_hook_fn hook, struct mm_struct *mm,
			       uint64_t addr, uint64_t end)
{
	do {
		uint64_t next = pmd_addr_end(addr, end);
		struct pmd_slot *pmdp = gup_fast_pmd_slot(hook, mm, addr);
		pmd_t pmd;

		if (!pmdp)
			return;
		pmd = w->pmd_low_high ? pmdp_get_lockless_low_high(pmdp) : pmdp_get_lockless(pmdp);
		RACE_POINT_AT(hook, RP_GUP_FAST_PMD_READ, .addr = addr, .pmd = pmd_val(pmd),
			      .pmdp = pmdp, .pmd_table = pmd_table_page(pmdp),
			      .pte_table = pmd_present(pmd) && !pmd_trans_huge(pmd) &&
						   pfn_valid(pmd_pfn(pmd))
					   ? pfn_to_page(pmd_pfn(pmd))
					   : NULL);
		if (!pmd_present(pmd))
			return;
		/* The range's last PMD (the only one, for up to 512 aligned
		 * pages) is walked with nothing of this loop live after it,
		 * so that none of it is spilled to the stack on the way to
		 * the reference: every store before that atomic operation
		 * waits in the store buffer until the operation can run. */
		if (next == end) {
			if (pmd_trans_huge(pmd))
				gup_fast_pmd_leaf(w, hook, pmd, pmdp, addr, next);
			else
				gup_fast_pte_range(w, hook, pmd, pmdp, addr, next);
			return;
		}
		if (pmd_trans_huge(pmd) ? !gup_fast_pmd_leaf(w, hook, pmd, pmdp, addr, next)
					: !gup_fast_pte_range(w, hook, pmd, pmdp, addr, next))
			return;
		addr = next;
	} while (addr != end);
}

/* The walk with the lab's hook: the instance that keeps the race points,
 * out of the way of the other. */
static __attribute__((noinline, cold)) void gup_fast_range_hooked(struct gup_walk *w,
								  race_hook_fn hook,
								  struct mm_struct *mm,
								  uint64_t start, uint64_t end)
{
	RACE_POINT_AT(hook, RP_GUP_FAST_SECTION_BEGIN, .addr = start);
	gup_fast_range(w, hook, mm, start, end);
	/* The walk is over: the lab's section ends here. */
	RACE_POINT_AT(hook, RP_GUP_FAST_SECTION_END, .addr = start);
}

/*
 * The walkers sync policy's marker (Lance Yang's step 2,
 * pt_walk_lockless_start()/_end()): which mm this CPU walks, published
 * before the walk reads any entry. The full fence (smp_mb(); the series
 * later proposed an xchg()) orders the marker store before the PMD load
 * of the walk, against the syncer's PMD clear, fence, marker load
 * (tlb_remove_table_sync_mm(), src/mmu_gather.c): the barrier
 * walker-mark-mb, which pairs with sync-scan-mb there.
 *
 * With walker-mark-mb dropped (@fence false: the stress lab's
 * --drop-barrier) the marker is still stored, and barrier() stands where
 * the fence was: the compiler keeps the store before the walk's loads
 * (C11 lets a relaxed store sink below a later acquire load), so the only
 * reordering left is the hardware's own. On x86-64 (TSO) that is the
 * store->load reordering: the marker waits in this CPU's store buffer
 * while the PUD and PMD loads read the tables, so a syncer that cleared
 * the PMD after that load and scans the markers before the store drains
 * sees no marker and sends this CPU no IPI. No other ordering changes.
 */
static void pt_walk_lockless_start(struct cpu *c, struct mm_struct *mm, bool fence)
{
	WRITE_ONCE(c->lockless_walk_mm, mm);
	if (fence)
		smp_mb();
	else
		barrier();
}

/* The walk read its last entry: release, so a syncer that no longer sees
 * the marker also sees the walk done. */
static void pt_walk_lockless_end(struct cpu *c)
{
	smp_store_release(&c->lockless_walk_mm, NULL);
}

/*
 * The lockless walk, interrupts off throughout. They are on when it is
 * called (gup_fast_fallback() refuses otherwise), so this turns them off
 * and on (the kernel saves and restores them).
 */
gup_inline long gup_fast(struct cpu *c, struct mm_struct *mm, uint64_t start, uint64_t end,
			 unsigned int flags, struct page **pages)
{
	struct gup_walk w = { .flags = flags, .pages = pages, .nr = 0, .cpu = c,
			      .pmd_recheck = machine_pmd_recheck(),
			      .pmd_low_high = machine.profile.pmd_read == PMD_READ_LOW_HIGH };
	race_hook_fn hook = race_hook_get();
	bool mark = machine_sync() == SYNC_WALKERS;

	arch_local_irq_disable(c);
	/* The machine's dropped barriers do not change while it runs: read
	 * once per walk, and only by a walk that marks. */
	if (mark)
		pt_walk_lockless_start(c, mm, !machine_dropped(BARRIER_WALKER_MARK_MB));
	if (__builtin_expect(hook != NULL, 0)) {
		/* A copy: the other instance's stays out of memory. */
		struct gup_walk hw = w;

		gup_fast_range_hooked(&hw, hook, mm, start, end);
		w.nr = hw.nr;
	} else {
		gup_fast_range(&w, NULL, mm, start, end);
	}
	/* Then the marker: a syncer that no longer sees it may let the
	 * tables go. */
	if (mark)
		pt_walk_lockless_end(c);
	arch_local_irq_enable(c);
	return w.nr;
}

/* The page at @addr with the slow path's locks (follow_page_mask()); NULL
 * when it must be faulted in. Caller holds mmap_lock for read. */
static struct page *follow_page(struct mm_struct *mm, uint64_t addr, unsigned int flags)
{
	struct pmd_slot *pmdp = mm_find_pmd(mm, addr);
	struct page *page = NULL;
	struct pte_slot *ptep;
	spinlock_t *ptl;
	pmd_t pmd;
	pte_t pte;

	if (!pmdp)
		return NULL;
	pmd = pmdp_get(pmdp);
	if (pmd_none(pmd))
		return NULL;
	if (pmd_trans_huge(pmd)) {
		ptl = pmd_lock(pmdp);
		pmd = pmdp_get(pmdp);
		if (pmd_trans_huge(pmd) && (!(flags & FOLL_WRITE) || pmd_write(pmd))) {
			page = pfn_to_page(pmd_pfn(pmd) + pte_index(addr));
			grab_folio(page_folio(page), 1, flags);
		}
		spin_unlock(ptl);
		return page;
	}
	/* mmap_lock for read only: the table may be reclaimed meanwhile. */
	ptep = pte_offset_map_lock(mm, pmdp, addr, &ptl);
	if (!ptep)
		return NULL;
	pte = ptep_get(ptep);
	if (pte_present(pte) && (!(flags & FOLL_WRITE) || pte_write(pte))) {
		page = pfn_to_page(pte_pfn(pte));
		grab_folio(page_folio(page), 1, flags);
	}
	pte_unmap_unlock(ptep, ptl);
	return page;
}

/* mirrors __get_user_pages() (6.12) under mmap_lock for read */
static __attribute__((noinline)) long gup_slow(struct mm_struct *mm, uint64_t start, long nr_pages,
		     unsigned int flags, struct page **pages)
{
	long i = 0;
	int ret = 0;

	down_read(&mm->mmap_lock);
	while (i < nr_pages) {
		uint64_t addr = start + ((uint64_t)i << PAGE_SHIFT);
		struct vm_area_struct *vma = find_vma(mm, addr);
		struct page *page;

		if (!vma || vma->vm_start > addr ||
		    ((flags & FOLL_WRITE) && !(vma->vm_flags & VM_WRITE))) {
			ret = -EFAULT;
			break;
		}
		page = follow_page(mm, addr, flags);
		if (!page) {
			ret = handle_mm_fault(mm, vma, addr,
					      (flags & FOLL_WRITE) ? FAULT_FLAG_WRITE : 0);
			if (ret)
				break;
			continue;
		}
		pages[i++] = page;
	}
	up_read(&mm->mmap_lock);
	return i ? i : ret;
}

/* mirrors gup_fast_fallback(); inlined into each caller, so that the
 * fast path is compiled for the flags each one passes. */
gup_inline long gup_fast_fallback(uint64_t start, long nr_pages, unsigned int flags,
			      struct page **pages)
{
	struct cpu *c = this_cpu;
	struct mm_struct *mm;
	long nr, ret;

	if (!c || cpu_irqs_off(c))
		return -EPERM;
	mm = READ_ONCE(c->mm);
	if (!mm)
		return -ESRCH;
	if (!pages || nr_pages <= 0 || (start & ~PAGE_MASK) || start >= TASK_SIZE ||
	    (uint64_t)nr_pages > (TASK_SIZE - start) >> PAGE_SHIFT ||
	    (flags & ~(FOLL_USER_FLAGS | FOLL_GET | FOLL_PIN)))
		return -EINVAL;
	nr = gup_fast(c, mm, start, start + ((uint64_t)nr_pages << PAGE_SHIFT), flags, pages);
	cpu_stat_add(&c->gup_fast_pages, (unsigned long long)nr);
	if (nr == nr_pages || (flags & FOLL_FAST_ONLY))
		return nr;
	cpu_stat_add(&c->gup_fast_fallback, 1);
	ret = gup_slow(mm, start + ((uint64_t)nr << PAGE_SHIFT), nr_pages - nr, flags,
		       pages + nr);
	if (ret < 0)
		return nr ? nr : ret;
	cpu_stat_add(&c->gup_slow_pages, (unsigned long long)ret);
	return nr + ret;
}

long get_user_pages_fast(uint64_t start, long nr_pages, unsigned int gup_flags,
			 struct page **pages)
{
	if (gup_flags & ~FOLL_USER_FLAGS)
		return -EINVAL;
	return gup_fast_fallback(start, nr_pages, gup_flags | FOLL_GET, pages);
}

long pin_user_pages_fast(uint64_t start, long nr_pages, unsigned int gup_flags,
			 struct page **pages)
{
	if (gup_flags & ~FOLL_USER_FLAGS)
		return -EINVAL;
	return gup_fast_fallback(start, nr_pages, gup_flags | FOLL_PIN, pages);
}

/* mirrors unpin_user_pages_dirty_lock() and unpin_user_pages() (6.12): the
 * pages of one folio that follow each other in the list are unpinned in
 * one step (gup_folio_next()). Out of line: see unpin_user_page(). */
static __attribute__((noinline)) void unpin_pages(struct page **pages, unsigned long npages, bool make_dirty)
{
	race_hook_fn hook = race_hook_get();
	unsigned long nr;

	if (!pages)
		return;
	for (unsigned long i = 0; i < npages; i += nr) {
		struct page *folio;
		bool large;

		nr = 1;
		if (!pages[i])
			continue;
		folio = page_folio_fast(pages[i], &large);
		nr = folio_run(pages, i, npages, folio, large);
		if (make_dirty)
			for (unsigned long j = i; j < i + nr; j++)
				atomic_fetch_or_explicit(&pages[j]->flags, PG_dirty,
							 memory_order_relaxed);
		RACE_POINT_AT(hook, RP_UNPIN, .page = pages[i]);
		gup_put_folio(folio, large, (int)nr, FOLL_PIN);
	}
}

void unpin_user_pages_dirty_lock(struct page **pages, unsigned long npages,
				 bool make_dirty)
{
	unpin_pages(pages, npages, make_dirty);
}

/*
 * One page, nothing to loop over. Apart from the list's, so that it needs
 * no register saved (no store before its atomic operation) outside a lab
 * run: with a hook it takes the list's path, which has the race point.
 */
static void unpin_user_page(struct page **pages)
{
	struct page *folio;
	bool large;

	if (__builtin_expect(race_hook_get() != NULL, 0)) {
		unpin_pages(pages, 1, false);
		return;
	}
	folio = page_folio_fast(pages[0], &large);
	gup_put_folio(folio, large, 1, FOLL_PIN);
}

void unpin_user_pages(struct page **pages, unsigned long npages)
{
	if (npages == 1 && pages && pages[0])
		unpin_user_page(pages);
	else
		unpin_pages(pages, npages, false);
}

void put_user_pages(struct page **pages, unsigned long npages)
{
	for (unsigned long i = 0; pages && i < npages; i++)
		put_page(pages[i]);
}

void gup_get_stats(struct gup_stats *out)
{
	if (!out)
		return;
	*out = (struct gup_stats){ 0 };
	for (int i = 0; i < PTLAB_MAX_CPUS; i++) {
		out->fast_pages += READ_ONCE(cpus[i].gup_fast_pages);
		out->fast_fallback += READ_ONCE(cpus[i].gup_fast_fallback);
		out->recheck_fail += READ_ONCE(cpus[i].gup_recheck_fail);
		out->slow_pages += READ_ONCE(cpus[i].gup_slow_pages);
	}
}
