// SPDX-License-Identifier: MIT
/*
 * Collapsing 512 small pages into a THP, retracting the PTE table of a
 * file THP, and the khugepaged thread (mirrors mm/khugepaged.c: anonymous
 * memory, and collapse_pte_mapped_thp() for shmem; the kernel versions
 * are in docs/protocol.md).
 *
 * collapse_huge_page() holds mmap_lock for write: no fault, munmap or
 * other collapse runs in the mm meanwhile. Its only concurrent readers are
 * the lockless ones, GUP-fast and the hardware walker. After it clears the
 * PMD, a walker that read the old PMD may still be reading the old PTE
 * table until somebody waits for it: the TLB flush if it IPIs and waits,
 * else the seed's tlb_remove_table_sync_one() (when RCU table free makes
 * it an IPI). What happens when nobody waits is what the lab shows.
 */
#include <errno.h>
#include <pthread.h>
#include <time.h>

#include "cpu.h"
#include "khugepaged.h"
#include "machine.h"
#include "mm_internal.h"
#include "ptlab/huge.h"
#include "ptlab/race.h"
#include "tlb.h"

const char *scan_result_name(enum scan_result r)
{
	static const char *const names[SCAN_RESULT_COUNT] = {
		[SCAN_SUCCEED] = "succeeded",
		[SCAN_VMA_NULL] = "no mapping",
		[SCAN_VMA_CHECK] = "mapping not eligible or not covering 2 MiB",
		[SCAN_PMD_NULL] = "no page table",
		[SCAN_PMD_NONE] = "nothing populated",
		[SCAN_PMD_MAPPED] = "already a huge page",
		[SCAN_EXCEED_NONE_PTE] = "too many missing pages",
		[SCAN_PAGE_COUNT] = "a page is pinned or referenced",
		[SCAN_PAGE_RO] = "no writable page",
		[SCAN_ALLOC_HUGE_PAGE_FAIL] = "no free 2 MiB block",
		[SCAN_ALLOC_TABLE_FAIL] = "no frame for the table to deposit",
		[SCAN_PAGE_NULL] = "no folio in the file there",
		[SCAN_FAIL] = "a PTE maps another page, or the PMD changed",
	};

	return (unsigned int)r < SCAN_RESULT_COUNT ? names[r] : "?";
}

static enum scan_result hugepage_vma_revalidate(struct mm_struct *mm, uint64_t haddr)
{
	struct vm_area_struct *vma = find_vma(mm, haddr);

	if (!vma || vma->vm_start >= haddr + HPAGE_PMD_SIZE)
		return SCAN_VMA_NULL;
	if (!vma_thp_eligible(vma, haddr))
		return SCAN_VMA_CHECK;
	return SCAN_SUCCEED;
}

static enum scan_result find_pmd_or_thp_or_none(struct mm_struct *mm, uint64_t haddr,
						struct pmd_slot **pmdp)
{
	pmd_t pmd;

	*pmdp = mm_find_pmd(mm, haddr);
	if (!*pmdp)
		return SCAN_PMD_NULL;
	pmd = pmdp_get_lockless(*pmdp);
	if (pmd_none(pmd))
		return SCAN_PMD_NONE;
	if (pmd_trans_huge(pmd))
		return SCAN_PMD_MAPPED;
	return SCAN_SUCCEED;
}

/*
 * is_refcount_suitable(): the folio has no reference beyond its mappings.
 * The seq_cst load pairs with gup_fast's seq_cst reference increment (see
 * gup.c): the PMD was cleared by a seq_cst exchange before we look.
 */
static bool is_refcount_suitable(struct page *folio)
{
	int mapped = READ_ONCE(folio->mapcount);

	if (folio_test_large(folio)) {
		uint32_t pfn = page_to_pfn(folio);

		mapped = READ_ONCE(folio->entire_mapcount);
		for (uint32_t i = 0; i < HPAGE_PMD_NR; i++)
			mapped += READ_ONCE(pfn_to_page(pfn + i)->mapcount);
	}
	return page_ref_count(folio) == mapped;
}

/*
 * The checks shared by the scan and the isolation: every PTE present (up
 * to @max_none missing), no folio referenced beyond its mappings, one PTE
 * at least writable. Fills @pages with the pages to copy (NULL for a
 * missing PTE) when given. Caller holds the PTE table's lock.
 */
static enum scan_result check_ptes(struct pte_slot *ptep, unsigned int max_none,
				   struct page **pages)
{
	struct page *last_large = NULL;
	unsigned int none = 0;
	bool writable = false;

	for (unsigned int i = 0; i < HPAGE_PMD_NR; i++) {
		pte_t pte = ptep_get(ptep + i);
		struct page *page, *folio;

		if (pages)
			pages[i] = NULL;
		if (pte_none(pte)) {
			if (++none > max_none)
				return SCAN_EXCEED_NONE_PTE;
			continue;
		}
		page = pfn_to_page(pte_pfn(pte));
		folio = page_folio(page);
		if (pages)
			pages[i] = page;
		writable |= pte_write(pte);
		/* A PTE-mapped THP is checked once, as a whole. */
		if (folio == last_large)
			continue;
		if (folio_test_large(folio))
			last_large = folio;
		if (!is_refcount_suitable(folio))
			return SCAN_PAGE_COUNT;
	}
	return writable ? SCAN_SUCCEED : SCAN_PAGE_RO;
}

/* The cheap look under mmap_lock for read that decides whether
 * collapse_huge_page() is worth trying. */
static enum scan_result hpage_collapse_scan_pmd(struct mm_struct *mm, uint64_t haddr,
						unsigned int max_none)
{
	struct pte_slot *ptep;
	struct pmd_slot *pmdp;
	enum scan_result r;
	spinlock_t *ptl;

	r = hugepage_vma_revalidate(mm, haddr);
	if (r == SCAN_SUCCEED)
		r = find_pmd_or_thp_or_none(mm, haddr, &pmdp);
	if (r != SCAN_SUCCEED)
		return r;
	/* Under mmap_lock for read: the table may be reclaimed meanwhile. */
	ptep = pte_offset_map_lock(mm, pmdp, haddr, &ptl);
	if (!ptep)
		return SCAN_PMD_NULL;
	r = check_ptes(ptep, max_none, NULL);
	pte_unmap_unlock(ptep, ptl);
	return r;
}

/*
 * mirrors arch/powerpc/mm/book3s64/pgtable.c: serialize_against_pte_lookup():
 * after the PMD clear, interrupt the CPUs of mm_cpumask(mm) and wait for
 * each, so that no lockless walker that read the old PMD is still inside
 * its interrupts-off section. The seq_cst exchange of the clear orders it
 * before the wait (the kernel's smp_mb()); the wait is the machine's IPI
 * wait (smp_wait_irqs_off_sections(), which pairs with each CPU's
 * interrupts-off section marker). Shown to the lab as part of the flush.
 */
static void serialize_against_pte_lookup(struct mm_struct *mm, uint64_t haddr)
{
	cpumask_t targets = mm_cpumask(mm) & ~(this_cpu ? (cpumask_t)1 << this_cpu->id : 0);

	RACE_POINT(RP_TLB_FLUSH_BEGIN, .addr = haddr, .mask = targets);
	if (targets)
		smp_wait_irqs_off_sections(targets);
	RACE_POINT(RP_TLB_FLUSH_END, .addr = haddr, .mask = targets);
}

/* mirrors pmdp_collapse_flush(): clear the PMD, then flush the range from
 * every TLB in the profile's style; where the profile's collapse flush
 * waits for walkers (powerpc hash: hash__pmdp_collapse_flush()), it does
 * so between the two. Caller holds the PMD lock (6.1-6.5's retraction:
 * mmap_lock and the file's i_mmap lock for write instead). */
static pmd_t pmdp_collapse_flush(struct mm_struct *mm, uint64_t haddr, struct pmd_slot *pmdp)
{
	pmd_t pmd = pmdp_huge_get_and_clear(pmdp);

	RACE_POINT(RP_PMD_UNLINKED, .addr = haddr, .pmd = pmd_val(pmd), .pmdp = pmdp,
		   .pmd_table = pmd_table_page(pmdp), .pte_table = pfn_to_page(pmd_pfn(pmd)));
	if (machine.profile.collapse_flush_waits)
		serialize_against_pte_lookup(mm, haddr);
	flush_tlb_mm_range(mm, haddr, haddr + HPAGE_PMD_SIZE);
	return pmd;
}

/*
 * mirrors __collapse_huge_page_copy() + __collapse_huge_page_copy_succeeded()
 * (6.4+): copy all 512 pages first, then clear each old PTE under the PTE
 * lock, drop its mapping and release the small page.
 */
static void collapse_copy_and_release(struct mm_struct *mm, uint64_t haddr, pmd_t old_pmd,
				      struct page *hpage, struct page **pages)
{
	struct pte_slot *ptep = pte_offset_map(old_pmd, 0);
	spinlock_t *ptl = pte_lockptr(old_pmd);
	uint32_t hpfn = page_to_pfn(hpage);

	for (unsigned int i = 0; i < HPAGE_PMD_NR; i++)
		if (pages[i])
			frame_copy(pfn_to_page(hpfn + i), pages[i]);
	RACE_POINT(RP_COLLAPSE_COPIED, .addr = haddr, .nr_pages = HPAGE_PMD_NR,
		   .pages = pages);
	for (unsigned int i = 0; i < HPAGE_PMD_NR; i++) {
		struct page *page = pages[i];

		if (!page)
			continue;
		spin_lock(ptl);
		ptep_get_and_clear(ptep + i);
		atomic_fetch_sub_explicit(&page->mapcount, 1, memory_order_relaxed);
		spin_unlock(ptl);
		atomic_fetch_sub_explicit(&mm->anon_rss, 1, memory_order_relaxed);
		put_page(page);
	}
}

/*
 * mirrors collapse_huge_page(), in the kernel's order (6.4+, see
 * docs/protocol.md: the sync of step 4 since 6.1, the copy-then-clear of
 * step 6 since 6.4).
 *
 * Left out, because nothing in ptlab can observe their absence: the
 * mmap_lock read/unlock dance of the scan before step 2 (ptlab's scan ran
 * under its own read lock and dropped it), anon_vma_lock_write() (it
 * excludes rmap walkers: ptlab has no reclaim or migration),
 * vma_start_write() (it excludes faults under the per-VMA lock: ptlab's
 * faults take mmap_lock for read, which step 2 excludes), the mmu notifier
 * range (no secondary MMU), memcg charging, LRU isolation and
 * folio_add_lru_vma() (no LRU), swap-in and the swapcache (no swap), and
 * update_mmu_cache_pmd() (a no-op on the modelled architectures). None of
 * them changes who may still walk the old PTE table, which is all the
 * protocol under study is about.
 */
static enum scan_result collapse_huge_page(struct mm_struct *mm, uint64_t haddr,
					   unsigned int max_none)
{
	bool fresh = machine.kernel.collapse_table == COLLAPSE_TABLE_FRESH;
	struct page *pages[HPAGE_PMD_NR];
	struct page *hpage, *pgtable, *new_table = NULL;
	struct vm_area_struct *vma;
	struct pmd_slot *pmdp;
	enum scan_result r;
	spinlock_t *ptl;
	pmd_t old;

	/* 1. The huge page, with no lock held (alloc_charge_folio()); in
	 * the "fresh" generation also the table it will deposit. */
	hpage = alloc_huge_page_tagged(ALLOC_PATH_THP_COLLAPSE);
	if (!hpage)
		return SCAN_ALLOC_HUGE_PAGE_FAIL;
	if (fresh && !(new_table = pte_alloc_one(mm, ALLOC_PATH_TABLES))) {
		put_page(hpage);
		return SCAN_ALLOC_TABLE_FAIL;
	}
	/* 2. mmap_lock for write; everything may have changed meanwhile. */
	down_write(&mm->mmap_lock);
	r = hugepage_vma_revalidate(mm, haddr);
	if (r == SCAN_SUCCEED)
		r = find_pmd_or_thp_or_none(mm, haddr, &pmdp);
	if (r != SCAN_SUCCEED)
		goto out_up_write;
	vma = find_vma(mm, haddr);
	/* 3. Unlink the PTE table: clear the PMD and flush. */
	ptl = pmd_lock(pmdp);
	old = pmdp_collapse_flush(mm, haddr, pmdp);
	spin_unlock(ptl);
	RACE_POINT(RP_COLLAPSE_PMD_CLEARED, .addr = haddr, .pmd = pmd_val(old),
		   .pmdp = pmdp, .pmd_table = pmd_table_page(pmdp),
		   .pte_table = pfn_to_page(pmd_pfn(old)));
	/* 4. The seed's fix: wait out GUP-fast walkers of the old table
	 * (one of the callers step 2 converts to the mm's sync). */
	if (machine_sync() != SYNC_NONE)
		tlb_remove_table_sync_mm(mm);
	/* 5. Isolate: refuse pages referenced beyond their mappings. */
	spin_lock(pte_lockptr(old));
	r = check_ptes(pte_offset_map(old, 0), max_none, pages);
	spin_unlock(pte_lockptr(old));
	if (r != SCAN_SUCCEED) {
		RACE_POINT(RP_COLLAPSE_REFUSED, .addr = haddr, .pmd = pmd_val(old),
			   .pmdp = pmdp, .pte_table = pfn_to_page(pmd_pfn(old)));
		/* Put the very same table back. */
		ptl = pmd_lock(pmdp);
		if (!pmd_none(pmdp_get(pmdp)))
			ptlab_bug("collapse: PMD repopulated under mmap_lock", haddr);
		pmd_populate(pmdp, pfn_to_page(pmd_pfn(old)));
		RACE_POINT(RP_PMD_WRITE, .addr = haddr, .pmdp = pmdp, .pmd = pmd_val(pmdp_get(pmdp)));
		spin_unlock(ptl);
		goto out_up_write;
	}
	RACE_POINT(RP_COLLAPSE_ISOLATED, .addr = haddr, .nr_pages = HPAGE_PMD_NR,
		   .pages = pages);
	/* 6. Copy, clear the old PTEs, release the small pages. */
	collapse_copy_and_release(mm, haddr, old, hpage, pages);
	/*
	 * 7. Map the huge page and deposit the old table, under the PMD lock.
	 * The table stays counted in nr_ptes while deposited; the zap that
	 * withdraws and frees it uncounts it (zap_deposited_table()). In the
	 * "fresh" generation (the 2026 series, v4+) the deposit is a new
	 * table nobody ever walked, and the old one, which walkers may still
	 * hold, is freed after a grace period: nothing is written into a
	 * table they can see.
	 */
	pgtable = pfn_to_page(pmd_pfn(old));
	if (fresh) {
		pte_free_defer(mm, pgtable);
		pgtable = new_table;
		new_table = NULL;
	}
	ptl = pmd_lock(pmdp);
	if (!pmd_none(pmdp_get(pmdp)))
		ptlab_bug("collapse: PMD repopulated under mmap_lock", haddr);
	folio_add_new_anon_rmap(hpage, mm, haddr);
	pgtable_trans_huge_deposit(mm, pmdp, pgtable);
	set_pmd(pmdp, mk_huge_pmd(page_to_pfn(hpage), vma->vm_flags & VM_WRITE));
	RACE_POINT(RP_PMD_WRITE, .addr = haddr, .pmdp = pmdp, .pmd = pmd_val(pmdp_get(pmdp)));
	atomic_fetch_add_explicit(&mm->thp_mapped, 1, memory_order_relaxed);
	spin_unlock(ptl);
	hpage = NULL;
	/* 8. Done: mmap_lock goes; a huge page not used is freed. */
out_up_write:
	up_write(&mm->mmap_lock);
	if (hpage)
		put_page(hpage);
	if (new_table)
		pte_free(mm, new_table);
	return r;
}

static enum scan_result collapse_one(struct mm_struct *mm, uint64_t haddr,
				     unsigned int max_none)
{
	enum scan_result r;

	down_read(&mm->mmap_lock);
	r = hpage_collapse_scan_pmd(mm, haddr, max_none);
	up_read(&mm->mmap_lock);
	if (r != SCAN_SUCCEED)
		return r;
	return collapse_huge_page(mm, haddr, max_none);
}

int hpage_collapse(struct mm_struct *mm, uint64_t addr)
{
	int ret = mm_caller_check();

	if (ret)
		return ret;
	if (!mm || (addr & ~HPAGE_PMD_MASK) || addr >= TASK_SIZE)
		return -EINVAL;
	return collapse_one(mm, addr, 0);
}

/* ---- file THP: retracting the PTE table of a PTE-mapped huge folio ---- */

/*
 * mirrors include/linux/pgtable.h: pmdp_get_lockless_sync() (6.6+): where
 * GUP-fast reads a PMD in two halves (CONFIG_GUP_GET_PXX_LOW_HIGH), a
 * tlb_remove_table_sync_one(), so that no walker is left between them,
 * before the table's grace period begins: a walker that read a torn PMD
 * is no RCU reader of the table it names. Else nothing. The sync follows
 * the fixes' policy where they have one, as every caller of the kernel's
 * (it is no part of the seed's fix).
 */
static void pmdp_get_lockless_sync(void)
{
	if (machine.profile.pmd_read == PMD_READ_LOW_HIGH)
		tlb_remove_table_sync_one();
}

/* mirrors set_huge_pmd() with do_set_pmd(): map @folio by the huge PMD
 * @pmdp if it is none, with the mapping's reference. ptlab deposits no
 * table for a file THP (see zap_huge_pmd()). Caller holds mmap_lock. */
static enum scan_result set_huge_pmd(struct mm_struct *mm, struct vm_area_struct *vma,
				     uint64_t haddr, struct pmd_slot *pmdp, struct page *folio)
{
	spinlock_t *ptl = pmd_lock(pmdp);

	if (!pmd_none(pmdp_get(pmdp))) {
		spin_unlock(ptl);
		return SCAN_FAIL;
	}
	get_page(folio);
	atomic_fetch_add_explicit(&folio->entire_mapcount, 1, memory_order_relaxed);
	set_pmd(pmdp, mk_huge_pmd(page_to_pfn(folio), vma->vm_flags & VM_WRITE));
	RACE_POINT(RP_PMD_WRITE, .addr = haddr, .pmdp = pmdp, .pmd = pmd_val(pmdp_get(pmdp)));
	atomic_fetch_add_explicit(&mm->thp_mapped, 1, memory_order_relaxed);
	spin_unlock(ptl);
	return SCAN_SUCCEED;
}

/*
 * The PTEs of the table at @ptep: each none or mapping the subpage of
 * @folio at its place (collapse_pte_mapped_thp()'s steps 1 and 2). With
 * @retract, takes each such mapping out (page_remove_rmap() /
 * folio_remove_rmap_pte()), and with @clear also the PTE itself (6.6+:
 * ptep_clear()); returns how many, or -1 when a PTE maps another page
 * (nothing taken out then). Caller holds the table's lock.
 */
static int ptes_map_folio(struct pte_slot *ptep, struct page *folio, bool retract, bool clear)
{
	uint32_t pfn = page_to_pfn(folio);
	int n = 0;

	for (unsigned int i = 0; i < HPAGE_PMD_NR; i++) {
		pte_t pte = ptep_get(ptep + i);

		if (pte_none(pte))
			continue;
		if (!pte_present(pte) || pte_pfn(pte) != pfn + i)
			return -1;
		n++;
	}
	for (unsigned int i = 0; retract && i < HPAGE_PMD_NR; i++) {
		if (pte_none(ptep_get(ptep + i)))
			continue;
		if (clear)
			ptep_get_and_clear(ptep + i);
		atomic_fetch_sub_explicit(&pfn_to_page(pfn + i)->mapcount, 1, memory_order_relaxed);
	}
	return n;
}

/*
 * The retraction of both generations, steps numbered as the kernel's;
 * the caller holds mmap_lock (RETRACT_FREE: for write, as khugepaged's
 * mmap_write_trylock() and MADV_COLLAPSE's mmap_write_lock(); RETRACT_DEFER:
 * for read, 1043173eb5eb).
 *
 * Left out, because nothing in ptlab can observe their absence: the folio
 * lock (ptlab has no truncation and no folio lock; in the free generation
 * mmap_lock for write already keeps faults out, in the defer generation
 * only the caller faults this range), the anon_vma lock (a shmem shared
 * mapping has no anon_vma), the mmu notifiers and page_table_check. The
 * uffd and VMA checks that cannot fail here are left out too.
 */
static enum scan_result retract_pte_mapped_thp(struct mm_struct *mm, uint64_t haddr,
					       bool install_pmd, bool defer)
{
	struct vm_area_struct *vma = find_vma(mm, haddr);
	struct pte_slot *ptep;
	struct pmd_slot *pmdp;
	struct page *folio, *table;
	struct shmem_file *f;
	spinlock_t *ptl, *pml;
	enum scan_result r;
	uint64_t off;
	pmd_t pmd;
	int count;

	if (!vma || vma->vm_start > haddr)
		return SCAN_VMA_NULL;
	if (!is_vm_shmem(vma) || haddr + HPAGE_PMD_SIZE > vma->vm_end)
		return SCAN_VMA_CHECK;
	f = vma->vm_shmem;
	r = find_pmd_or_thp_or_none(mm, haddr, &pmdp);
	if (r == SCAN_PMD_MAPPED || r == SCAN_PMD_NULL)
		return r;
	/* filemap_lock_folio(): the folio must be a PMD-sized one whose
	 * pages line up with the range (else step 1 finds other pages). */
	off = vma->vm_off + (haddr - vma->vm_start);
	folio = shmem_file_folio(f, off & HPAGE_PMD_MASK);
	if (!folio)
		return SCAN_PAGE_NULL;
	if (off % HPAGE_PMD_SIZE)
		return SCAN_FAIL;
	if (r == SCAN_PMD_NONE)
		goto maybe_install_pmd;
	/* 6.1-6.5: the rmap lock, so that only GUP-fast and the hardware
	 * walker can reach these tables now (8d3c106e19e8). */
	if (!defer)
		down_write(&shmem_file_i_mmap(f)->rwsem);
	/* 1. Every PTE none or the folio's page at its place. */
	ptep = pte_offset_map_lock(mm, pmdp, haddr, &ptl);
	if (!ptep) {
		r = SCAN_FAIL;
		goto out_unlock;
	}
	pmd = pmdp_get(pmdp);
	/* 2. Take the mappings out: 6.1-6.5 leave the PTEs in place (the
	 * table goes in step 4, mmap_lock for write keeps every locked walker
	 * out); 6.6+ clear them, under the PTE lock taken again (after the
	 * kernel's mmu notifier), the PMD re-checked. */
	if (!defer) {
		count = ptes_map_folio(ptep, folio, true, false);
		pte_unmap_unlock(ptep, ptl);
	} else {
		count = ptes_map_folio(ptep, folio, false, false);
		pte_unmap_unlock(ptep, ptl);
		if (count >= 0) {
			spin_lock(ptl);
			count = pmd_val(pmdp_get(pmdp)) == pmd_val(pmd)
					? ptes_map_folio(pte_offset_map(pmd, 0), folio, true, true)
					: -1;
			spin_unlock(ptl);
		}
	}
	if (count < 0) {
		r = SCAN_FAIL;
		goto out_unlock;
	}
	/* 3. The references and the counter of the mappings taken out. */
	if (count) {
		atomic_fetch_sub_explicit(&folio->refcount, count, memory_order_relaxed);
		atomic_fetch_sub_explicit(&mm->shmem_rss, count, memory_order_relaxed);
	}
	/* 4. Unlink the table and free it. */
	table = pfn_to_page(pmd_pfn(pmd));
	if (!defer) {
		/* collapse_and_free_pmd() (6.1-6.5): no page-table lock, the
		 * high-level locks are all held for write; the seed's sync,
		 * then pte_free() at once. */
		pmdp_collapse_flush(mm, haddr, pmdp);
		if (machine_sync() != SYNC_NONE)
			tlb_remove_table_sync_one();
		atomic_fetch_sub_explicit(&mm->nr_ptes, 1, memory_order_relaxed);
		pte_free(mm, table);
	} else {
		/* 6.6+: the PMD lock, the PTE lock nested, then the free
		 * after a grace period: an RCU walker that read the old PMD
		 * takes this lock next and sees the PMD changed. */
		pml = pmd_lock(pmdp);
		spin_lock(ptl);
		pmdp_collapse_flush(mm, haddr, pmdp);
		pmdp_get_lockless_sync();
		spin_unlock(ptl);
		spin_unlock(pml);
		atomic_fetch_sub_explicit(&mm->nr_ptes, 1, memory_order_relaxed);
		pte_free_defer(mm, table);
	}
	if (!defer)
		up_write(&shmem_file_i_mmap(f)->rwsem);
maybe_install_pmd:
	/* 5. MADV_COLLAPSE maps the folio huge; khugepaged leaves the PMD
	 * none, for the next fault. */
	return install_pmd ? set_huge_pmd(mm, vma, haddr, pmdp, folio) : SCAN_SUCCEED;
out_unlock:
	if (!defer)
		up_write(&shmem_file_i_mmap(f)->rwsem);
	return r;
}

int collapse_pte_mapped_thp(struct mm_struct *mm, uint64_t addr, bool install_pmd)
{
	bool defer = machine.kernel.retract == RETRACT_DEFER;
	int ret = mm_caller_check();

	if (ret)
		return ret;
	if (!mm || (addr & ~HPAGE_PMD_MASK) || addr >= TASK_SIZE)
		return -EINVAL;
	if (defer)
		down_read(&mm->mmap_lock);
	else
		down_write(&mm->mmap_lock);
	ret = retract_pte_mapped_thp(mm, addr, install_pmd, defer);
	if (defer)
		up_read(&mm->mmap_lock);
	else
		up_write(&mm->mmap_lock);
	return ret;
}

int split_huge_pmd_at(struct mm_struct *mm, uint64_t addr)
{
	struct pmd_slot *pmdp;
	int ret = mm_caller_check();

	if (ret)
		return ret;
	if (!mm || addr >= TASK_SIZE)
		return -EINVAL;
	down_read(&mm->mmap_lock);
	pmdp = mm_find_pmd(mm, addr);
	/* A hugetlb PMD is not a THP: it is never split. */
	if (pmdp && !(find_vma(mm, addr) && is_vm_hugetlb(find_vma(mm, addr))))
		__split_huge_pmd(mm, pmdp, addr);
	up_read(&mm->mmap_lock);
	return 0;
}

/*
 * The khugepaged thread and its list of mms (mirrors khugepaged's
 * mm_slot list).
 *
 * khugepaged_lock protects mm_list, nr_mms and scanning. The thread scans
 * one mm at a time and publishes it in scanning; khugepaged_exit() removes
 * an mm and waits until the thread no longer scans it, so an mm is never
 * freed under the scan.
 */
#define KHUGEPAGED_MAX_MMS 256

static struct {
	/* Protects mm_list, nr_mms and scanning. */
	spinlock_t lock;
	struct mm_struct *mm_list[KHUGEPAGED_MAX_MMS];
	int nr_mms;
	struct mm_struct *scanning;
	/* thread, running and cfg: written by khugepaged_start() before the
	 * thread is created (which orders them for it) and by
	 * khugepaged_stop() after it is joined; start and stop are called by
	 * one controlling thread, not concurrently. */
	pthread_t thread;
	bool running;
	struct khugepaged_config cfg;
	/* stop: set by khugepaged_stop(), polled by the thread; done: set by
	 * the thread as it exits, polled by khugepaged_stop(). */
	atomic_bool stop, done;
	/* Statistics, relaxed. */
	atomic_ullong full_scans, scanned, collapsed, refused_pinned, refused_other;
} khugepaged;

void khugepaged_enter(struct mm_struct *mm)
{
	spin_lock(&khugepaged.lock);
	if (!mm->khugepaged_registered && khugepaged.nr_mms < KHUGEPAGED_MAX_MMS) {
		khugepaged.mm_list[khugepaged.nr_mms++] = mm;
		mm->khugepaged_registered = true;
	}
	spin_unlock(&khugepaged.lock);
}

void khugepaged_exit(struct mm_struct *mm)
{
	struct backoff b = BACKOFF_INIT;

	spin_lock(&khugepaged.lock);
	for (int i = 0; i < khugepaged.nr_mms; i++) {
		if (khugepaged.mm_list[i] == mm) {
			khugepaged.mm_list[i] = khugepaged.mm_list[--khugepaged.nr_mms];
			break;
		}
	}
	mm->khugepaged_registered = false;
	while (khugepaged.scanning == mm) {
		spin_unlock(&khugepaged.lock);
		wait_backoff(&b);
		spin_lock(&khugepaged.lock);
	}
	spin_unlock(&khugepaged.lock);
}

static void count_result(enum scan_result r)
{
	atomic_ullong *ctr = r == SCAN_SUCCEED	   ? &khugepaged.collapsed
			     : r == SCAN_PAGE_COUNT ? &khugepaged.refused_pinned
						    : &khugepaged.refused_other;

	atomic_fetch_add_explicit(ctr, 1, memory_order_relaxed);
}

/* One pass over one mm (khugepaged_scan_mm_slot()). */
static void khugepaged_scan_mm(struct mm_struct *mm)
{
	uint64_t ranges[64];
	int n = 0;

	/* Collect eligible ranges under mmap_lock for read, then collapse
	 * each (collapse takes mmap_lock for write itself). */
	down_read(&mm->mmap_lock);
	for (int i = 0; i < mm->nr_vmas && n < 64; i++) {
		struct vm_area_struct *vma = &mm->vmas[i];

		if (!(vma->vm_flags & VM_HUGEPAGE))
			continue;
		for (uint64_t a = (vma->vm_start + HPAGE_PMD_SIZE - 1) & HPAGE_PMD_MASK;
		     a + HPAGE_PMD_SIZE <= vma->vm_end && n < 64; a += HPAGE_PMD_SIZE)
			ranges[n++] = a;
	}
	up_read(&mm->mmap_lock);
	for (int i = 0; i < n && !atomic_load(&khugepaged.stop); i++) {
		enum scan_result r = collapse_one(mm, ranges[i], khugepaged.cfg.max_ptes_none);

		atomic_fetch_add_explicit(&khugepaged.scanned, 1, memory_order_relaxed);
		/* Ranges that are already huge or empty are not refusals. */
		if (r != SCAN_PMD_MAPPED && r != SCAN_PMD_NONE && r != SCAN_PMD_NULL)
			count_result(r);
	}
}

/* Sleeps between passes in slices, so that a stop is seen at once. */
static void khugepaged_sleep(void)
{
	unsigned int left = khugepaged.cfg.scan_sleep_us;

	while (left && !atomic_load(&khugepaged.stop)) {
		unsigned int us = left < 10000 ? left : 10000;
		struct timespec ts = { 0, (long)us * 1000 };

		nanosleep(&ts, NULL);
		left -= us;
	}
}

static void *khugepaged_thread(void *arg)
{
	(void)arg;
	if (cpu_register() < 0) {
		atomic_store(&khugepaged.done, true);
		return NULL;
	}
	while (!atomic_load(&khugepaged.stop)) {
		for (int i = 0;; i++) {
			struct mm_struct *mm = NULL;

			spin_lock(&khugepaged.lock);
			if (i < khugepaged.nr_mms)
				mm = khugepaged.scanning = khugepaged.mm_list[i];
			spin_unlock(&khugepaged.lock);
			if (!mm)
				break;
			khugepaged_scan_mm(mm);
			spin_lock(&khugepaged.lock);
			khugepaged.scanning = NULL;
			spin_unlock(&khugepaged.lock);
		}
		atomic_fetch_add_explicit(&khugepaged.full_scans, 1, memory_order_relaxed);
		khugepaged_sleep();
	}
	cpu_unregister();
	atomic_store(&khugepaged.done, true);
	return NULL;
}

int khugepaged_start(const struct khugepaged_config *cfg)
{
	if (!cfg || cfg->scan_sleep_us > 10000000 || cfg->max_ptes_none >= HPAGE_PMD_NR)
		return -EINVAL;
	if (khugepaged.running)
		return -EBUSY;
	if (num_online_cpus() >= PTLAB_MAX_CPUS)
		return -ENOSPC;
	khugepaged.cfg = *cfg;
	atomic_store(&khugepaged.full_scans, 0);
	atomic_store(&khugepaged.scanned, 0);
	atomic_store(&khugepaged.collapsed, 0);
	atomic_store(&khugepaged.refused_pinned, 0);
	atomic_store(&khugepaged.refused_other, 0);
	atomic_store(&khugepaged.stop, false);
	atomic_store(&khugepaged.done, false);
	if (pthread_create(&khugepaged.thread, NULL, khugepaged_thread, NULL))
		return -EAGAIN;
	khugepaged.running = true;
	return 0;
}

void khugepaged_stop(void)
{
	struct backoff b = BACKOFF_INIT;

	if (!khugepaged.running)
		return;
	atomic_store(&khugepaged.stop, true);
	/* Wait taking IPIs: khugepaged may be waiting for this CPU. */
	while (!atomic_load(&khugepaged.done))
		wait_backoff(&b);
	pthread_join(khugepaged.thread, NULL);
	khugepaged.running = false;
}

void khugepaged_get_stats(struct khugepaged_stats *out)
{
	if (!out)
		return;
	out->full_scans = atomic_load(&khugepaged.full_scans);
	out->scanned = atomic_load(&khugepaged.scanned);
	out->collapsed = atomic_load(&khugepaged.collapsed);
	out->refused_pinned = atomic_load(&khugepaged.refused_pinned);
	out->refused_other = atomic_load(&khugepaged.refused_other);
}
