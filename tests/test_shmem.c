// SPDX-License-Identifier: MIT
/*
 * shmem files of huge folios: faults map their subpages with PTEs, two
 * mappings see one page, the tables and counters check out; the
 * retraction of a PTE-mapped folio (collapse_pte_mapped_thp()) in both
 * generations: the free one (6.1-6.5) frees the table at once after the
 * seed's sync, the defer one (6.6+) clears the PTEs and frees the table
 * only once a grace period is over; MADV_COLLAPSE's huge PMD and its zap;
 * and what the retraction refuses.
 */
#include <errno.h>
#include <stdatomic.h>
#include <string.h>

#include "machine_helpers.h"
#include "mm_internal.h"
#include "ptlab/race.h"
#include "ptlab/shmem.h"

#define S_BASE (1ULL << 34)

/* The table or huge page the PMD of @addr names now. */
static pmd_t pmd_at(struct mm_struct *mm, uint64_t addr)
{
	struct pmd_slot *pmdp = mm_find_pmd(mm, addr);

	return pmdp ? pmdp_get(pmdp) : (pmd_t){ 0 };
}

static void tables_check_out(struct mm_struct *mm)
{
	struct mm_check_report r;

	CHECK_EQ(mm_check_tables(mm, &r), 0);
	CHECK_MSG(!r.mismatches && !r.referenced, "%llu mismatches, %llu referenced: %s",
		  (unsigned long long)r.mismatches, (unsigned long long)r.referenced, r.first);
}

/* Faults every page of the 2 MiB at @addr in for writing. */
static void populate(struct mm_struct *mm, uint64_t addr)
{
	CHECK_EQ(mm_populate(mm, addr, PMD_SIZE, true), 0);
}

TEST(shmem_bad_input)
{
	struct shmem_file *f;
	struct mm_struct *mm;

	machine_up(NULL, 32);
	errno = 0;
	CHECK(!shmem_file_create(0) && errno == EINVAL);
	CHECK(!shmem_file_create(PMD_SIZE / 2) && errno == EINVAL);
	CHECK(!shmem_file_create(SHMEM_FILE_MAX + PMD_SIZE) && errno == EINVAL);
	f = shmem_file_create(2 * PMD_SIZE);
	CHECK(f && shmem_file_id(f));
	CHECK_EQ(shmem_file_id(NULL), 0);
	mm = test_mm_up();
	CHECK_EQ(mm_mmap_shmem(NULL, S_BASE, PMD_SIZE, VM_READ, f, 0), -EINVAL);
	CHECK_EQ(mm_mmap_shmem(mm, S_BASE, PMD_SIZE, VM_READ, NULL, 0), -EINVAL);
	CHECK_EQ(mm_mmap_shmem(mm, S_BASE + 1, PMD_SIZE, VM_READ, f, 0), -EINVAL);
	CHECK_EQ(mm_mmap_shmem(mm, S_BASE, PAGE_SIZE + 1, VM_READ, f, 0), -EINVAL);
	CHECK_EQ(mm_mmap_shmem(mm, S_BASE, PMD_SIZE, VM_READ, f, 3), -EINVAL);
	CHECK_EQ(mm_mmap_shmem(mm, S_BASE, 2 * PMD_SIZE, VM_READ, f, PAGE_SIZE), -EINVAL);
	CHECK_EQ(mm_mmap_shmem(mm, S_BASE, PMD_SIZE, VM_READ | VM_HUGEPAGE, f, 0), -EINVAL);
	CHECK_EQ(mm_mmap_shmem(mm, S_BASE, PMD_SIZE, VM_READ, f, 0), (int64_t)S_BASE);
	CHECK_EQ(mm_mmap_shmem(mm, S_BASE, PMD_SIZE, VM_READ, f, 0), -EEXIST);
	CHECK_EQ(collapse_pte_mapped_thp(NULL, S_BASE, false), -EINVAL);
	CHECK_EQ(collapse_pte_mapped_thp(mm, S_BASE + PAGE_SIZE, false), -EINVAL);
	CHECK_EQ(shmem_file_destroy(f), -EBUSY);
	CHECK_EQ(shmem_file_destroy(NULL), -EINVAL);
	CHECK_EQ(mm_munmap(mm, S_BASE, PMD_SIZE), 0);
	CHECK_EQ(shmem_file_destroy(f), 0);
	test_mm_down(mm);
	machine_down();
}

/*
 * A fault maps the subpage of the file's folio at the faulting offset
 * with a PTE; a second mapping of the file sees the same page; the
 * counters, mapcounts and references (the page cache's and one per
 * mapping) check out, and unmapping gives everything back.
 */
TEST(shmem_faults_map_the_folio_by_ptes)
{
	struct shmem_file *f;
	struct mm_struct *mm;
	struct mm_stats st;
	uint64_t v = 0x5eed, got = 0, second = S_BASE + 8 * PMD_SIZE;
	struct page *folio, *sub;
	pmd_t pmd;
	pte_t pte;

	machine_up(NULL, 32);
	f = shmem_file_create(2 * PMD_SIZE);
	CHECK(f);
	mm = test_mm_up();
	CHECK_EQ(mm_mmap_shmem(mm, S_BASE, 2 * PMD_SIZE, VM_READ | VM_WRITE, f, 0),
		 (int64_t)S_BASE);
	CHECK_EQ(user_write(S_BASE + PMD_SIZE + 5 * PAGE_SIZE + 8, &v, sizeof(v)), 0);
	pmd = pmd_at(mm, S_BASE + PMD_SIZE);
	CHECK(pmd_present(pmd) && !pmd_trans_huge(pmd));
	pte = ptep_get(pte_offset_map(pmd, S_BASE + PMD_SIZE + 5 * PAGE_SIZE));
	folio = shmem_file_folio(f, PMD_SIZE);
	CHECK(folio && folio_test_large(folio));
	CHECK_EQ(pte_pfn(pte), page_to_pfn(folio) + 5);
	sub = pfn_to_page(pte_pfn(pte));
	CHECK_EQ(atomic_load(&sub->mm_id), SHMEM_OWNER_BIT | shmem_file_id(f));
	CHECK_EQ(atomic_load(&sub->index), PMD_SIZE + 5 * PAGE_SIZE);
	CHECK(!folio_test_anon(sub));
	/* The same page through another mapping of the file. */
	CHECK_EQ(mm_mmap_shmem(mm, second, PMD_SIZE, VM_READ, f, PMD_SIZE), (int64_t)second);
	CHECK_EQ(user_read(second + 5 * PAGE_SIZE + 8, &got, sizeof(got)), 0);
	CHECK_EQ(got, v);
	CHECK_EQ(atomic_load(&sub->mapcount), 2);
	CHECK_EQ(page_ref_count(folio), 3);
	mm_get_stats(mm, &st);
	CHECK_EQ(st.shmem_pages, 2);
	CHECK_EQ(st.anon_pages, 0);
	tables_check_out(mm);
	CHECK_EQ(mm_munmap(mm, second, PMD_SIZE), 0);
	populate(mm, S_BASE);
	mm_get_stats(mm, &st);
	CHECK_EQ(st.shmem_pages, HPAGE_PMD_NR + 1);
	tables_check_out(mm);
	CHECK_EQ(mm_munmap(mm, S_BASE, 2 * PMD_SIZE), 0);
	mm_get_stats(mm, &st);
	CHECK_EQ(st.shmem_pages, 0);
	CHECK_EQ(page_ref_count(folio), 1);
	CHECK_EQ(shmem_file_destroy(f), 0);
	test_mm_down(mm);
	machine_down();
}

/* ---- retraction ---- */

static _Thread_local struct {
	bool on;
	unsigned int syncs, frees_at_once;
} seen;

static void count_hook(enum race_point rp, const struct race_ctx *ctx)
{
	if (!seen.on)
		return;
	if (rp == RP_TABLE_SYNC_BEGIN)
		seen.syncs++;
	if (rp == RP_TABLE_FREE && ctx->how == TABLE_FREE_DIRECT)
		seen.frees_at_once++;
}

/* A machine of @profile in retract generation @rg, an mm mapping a
 * 2 MiB shmem file at S_BASE, faulted in with PTEs. */
static struct mm_struct *retract_up(const char *profile, enum retract_gen rg,
				    struct shmem_file **f)
{
	struct ptlab_kernel k = ptlab_kernel_default(ptlab_profile_find(profile));
	struct mm_struct *mm;

	k.retract = rg;
	machine_up_kernel(profile, 32, &k);
	*f = shmem_file_create(PMD_SIZE);
	CHECK(*f);
	mm = test_mm_up();
	CHECK_EQ(mm_mmap_shmem(mm, S_BASE, PMD_SIZE, VM_READ | VM_WRITE, *f, 0), (int64_t)S_BASE);
	populate(mm, S_BASE);
	return mm;
}

static void retract_down(struct mm_struct *mm, struct shmem_file *f)
{
	CHECK_EQ(mm_munmap(mm, S_BASE, PMD_SIZE), 0);
	CHECK_EQ(shmem_file_destroy(f), 0);
	test_mm_down(mm);
	machine_down();
}

/* Retracts S_BASE's table with the race hook counting; returns its
 * table. */
static struct page *retract_counted(struct mm_struct *mm, bool install)
{
	struct page *table = pfn_to_page(pmd_pfn(pmd_at(mm, S_BASE)));

	memset(&seen, 0, sizeof(seen));
	race_hook_set(count_hook);
	seen.on = true;
	CHECK_EQ(collapse_pte_mapped_thp(mm, S_BASE, install), SCAN_SUCCEED);
	seen.on = false;
	race_hook_set(NULL);
	return table;
}

/*
 * 6.1-6.5: the table is pte_free()d at once, after the seed's sync when
 * the ipi-sync fix is on (arm64: a real IPI), and none without it (6.0);
 * the mappings are gone from the folio, the data stays the file's, and
 * the next fault allocates the frame just freed.
 */
TEST(retract_free_frees_the_table_at_once)
{
	struct shmem_file *f;
	struct mm_struct *mm = retract_up("arm64", RETRACT_FREE, &f);
	struct page *folio = shmem_file_folio(f, 0), *table;
	struct mm_stats st;
	uint64_t v = 77, got = 0;

	CHECK_EQ(user_write(S_BASE + 3 * PAGE_SIZE, &v, sizeof(v)), 0);
	table = retract_counted(mm, false);
	CHECK(pmd_none(pmd_at(mm, S_BASE)));
	CHECK_EQ(page_type(table), PAGE_TYPE_FREE);
	CHECK_EQ(seen.syncs, 1);
	CHECK_EQ(seen.frees_at_once, 1);
	CHECK_EQ(page_ref_count(folio), 1);
	CHECK_EQ(atomic_load(&pfn_to_page(page_to_pfn(folio) + 3)->mapcount), 0);
	mm_get_stats(mm, &st);
	CHECK_EQ(st.shmem_pages, 0);
	CHECK_EQ(st.pte_tables, 0);
	tables_check_out(mm);
	/* Faulted in again: the freed frame is the new table. */
	CHECK_EQ(user_read(S_BASE + 3 * PAGE_SIZE, &got, sizeof(got)), 0);
	CHECK_EQ(got, v);
	CHECK_EQ(pmd_pfn(pmd_at(mm, S_BASE)), page_to_pfn(table));
	/* Without the seed's fix (6.0.0-6.0.11): no sync. */
	ptlab_set_fixes((struct ptlab_fixes){ .pmd_recheck = true, .sync = SYNC_NONE });
	populate(mm, S_BASE);
	retract_counted(mm, false);
	CHECK_EQ(seen.syncs, 0);
	CHECK_EQ(seen.frees_at_once, 1);
	tables_check_out(mm);
	retract_down(mm, f);
}

/* An interrupts-off section on another CPU (a GUP-fast walker's, an RCU
 * read-side section) that lasts until the test lets it go. */
static struct {
	atomic_bool in, go;
} section;

static void *section_holder(void *arg)
{
	unsigned long flags = local_irq_save();

	(void)arg;
	atomic_store(&section.in, true);
	while (!atomic_load(&section.go))
		;
	local_irq_restore(flags);
	return NULL;
}

/*
 * 6.6+: the PTEs are cleared first, the PMD next, and the table is freed
 * by pte_free_defer(): not while a section that began before is running
 * (arm64 flushes by broadcast, so nothing else waits for it), and with no
 * sync, the ipi-sync fix on or not (a one-word PMD read needs none).
 */
TEST(retract_defer_frees_the_table_after_a_grace_period)
{
	struct shmem_file *f;
	struct mm_struct *mm = retract_up("arm64", RETRACT_DEFER, &f);
	struct page *table;
	struct cpu_thread t;

	cpu_thread_start(&t, section_holder, NULL);
	while (!atomic_load(&section.in))
		sleep_us(100);
	table = retract_counted(mm, false);
	CHECK(pmd_none(pmd_at(mm, S_BASE)));
	CHECK_EQ(seen.syncs, 0);
	CHECK_EQ(seen.frees_at_once, 0);
	sleep_us(20000);
	CHECK_EQ(page_type(table), PAGE_TYPE_PGTABLE);
	for (unsigned int i = 0; i < PTRS_PER_TABLE; i++)
		CHECK_EQ(frame_load64(table, i), 0);
	atomic_store(&section.go, true);
	cpu_thread_join(&t);
	ptlab_rcu_barrier();
	CHECK_EQ(page_type(table), PAGE_TYPE_FREE);
	tables_check_out(mm);
	retract_down(mm, f);
}

/* x86-32 with PAE reads a PMD in two halves: pmdp_get_lockless_sync()
 * syncs once before the grace period begins. */
TEST(retract_defer_syncs_for_a_two_word_pmd_read)
{
	struct shmem_file *f;
	struct mm_struct *mm = retract_up("x86-32-pae", RETRACT_DEFER, &f);

	retract_counted(mm, false);
	CHECK_EQ(seen.syncs, 1);
	retract_down(mm, f);
}

/*
 * MADV_COLLAPSE's retraction maps the folio by a huge PMD, with no
 * deposited table; a second retraction finds it huge; MADV_DONTNEED and a
 * split each just clear it, the folio losing that mapping, and faults map
 * PTEs again.
 */
TEST(retract_installs_a_huge_pmd_that_a_zap_clears)
{
	struct shmem_file *f;
	struct mm_struct *mm = retract_up("x86", RETRACT_DEFER, &f);
	struct page *folio = shmem_file_folio(f, 0);
	struct mm_stats st;
	uint64_t v = 9, got = 0;

	CHECK_EQ(user_write(S_BASE + 7 * PAGE_SIZE, &v, sizeof(v)), 0);
	retract_counted(mm, true);
	CHECK(pmd_trans_huge(pmd_at(mm, S_BASE)));
	CHECK_EQ(pmd_pfn(pmd_at(mm, S_BASE)), page_to_pfn(folio));
	CHECK_EQ(atomic_load(&folio->entire_mapcount), 1);
	CHECK_EQ(page_ref_count(folio), 2);
	mm_get_stats(mm, &st);
	CHECK_EQ(st.thp_mapped, 1);
	CHECK_EQ(st.deposited, 0);
	tables_check_out(mm);
	CHECK_EQ(user_read(S_BASE + 7 * PAGE_SIZE, &got, sizeof(got)), 0);
	CHECK_EQ(got, v);
	CHECK_EQ(collapse_pte_mapped_thp(mm, S_BASE, true), SCAN_PMD_MAPPED);
	CHECK_EQ(mm_madvise_dontneed(mm, S_BASE, PMD_SIZE), 0);
	CHECK(pmd_none(pmd_at(mm, S_BASE)));
	CHECK_EQ(page_ref_count(folio), 1);
	CHECK_EQ(atomic_load(&folio->entire_mapcount), 0);
	tables_check_out(mm);
	/* A PMD left none: MADV_COLLAPSE maps it huge at once; a split
	 * clears it. */
	CHECK_EQ(collapse_pte_mapped_thp(mm, S_BASE, true), SCAN_SUCCEED);
	CHECK(pmd_trans_huge(pmd_at(mm, S_BASE)));
	CHECK_EQ(split_huge_pmd_at(mm, S_BASE), 0);
	CHECK(pmd_none(pmd_at(mm, S_BASE)));
	CHECK_EQ(page_ref_count(folio), 1);
	got = 0;
	CHECK_EQ(user_read(S_BASE + 7 * PAGE_SIZE, &got, sizeof(got)), 0);
	CHECK_EQ(got, v);
	CHECK(pmd_present(pmd_at(mm, S_BASE)) && !pmd_trans_huge(pmd_at(mm, S_BASE)));
	tables_check_out(mm);
	retract_down(mm, f);
}

/* What the retraction refuses, leaving the range as it was. */
TEST(retract_refusals)
{
	struct shmem_file *f, *g;
	struct mm_struct *mm = retract_up("x86", RETRACT_FREE, &f);
	const uint64_t anon = S_BASE + 16 * PMD_SIZE, odd = S_BASE + 32 * PMD_SIZE;
	struct pte_slot *ptep;
	pte_t good;

	/* No mapping; an anonymous one; a shmem one whose offset does not
	 * line the folio up with the range. */
	CHECK_EQ(collapse_pte_mapped_thp(mm, S_BASE + 64 * PMD_SIZE, false), SCAN_VMA_NULL);
	CHECK_EQ(mm_mmap(mm, anon, PMD_SIZE, VM_READ | VM_WRITE), (int64_t)anon);
	populate(mm, anon);
	CHECK_EQ(collapse_pte_mapped_thp(mm, anon, false), SCAN_VMA_CHECK);
	g = shmem_file_create(2 * PMD_SIZE);
	CHECK(g);
	CHECK_EQ(mm_mmap_shmem(mm, odd, PMD_SIZE, VM_READ | VM_WRITE, g, PAGE_SIZE),
		 (int64_t)odd);
	populate(mm, odd);
	CHECK_EQ(collapse_pte_mapped_thp(mm, odd, false), SCAN_FAIL);
	CHECK_EQ(mm_munmap(mm, odd, PMD_SIZE), 0);
	CHECK_EQ(shmem_file_destroy(g), 0);
	/* A range of a file never faulted: no folio. */
	g = shmem_file_create(2 * PMD_SIZE);
	CHECK(g);
	CHECK_EQ(mm_mmap_shmem(mm, odd, 2 * PMD_SIZE, VM_READ, g, 0), (int64_t)odd);
	CHECK_EQ(user_read(odd + PMD_SIZE + 5, &(uint64_t){ 0 }, 1), 0);
	CHECK_EQ(collapse_pte_mapped_thp(mm, odd, false), SCAN_PAGE_NULL);
	/* A PTE mapping another page than the folio's at its place. */
	ptep = pte_offset_map(pmd_at(mm, S_BASE), S_BASE + PAGE_SIZE);
	good = ptep_get(ptep);
	set_pte(ptep, pfn_pte(pte_pfn(good) + 1, pte_val(good) & ~PTE_PFN_MASK));
	CHECK_EQ(collapse_pte_mapped_thp(mm, S_BASE, false), SCAN_FAIL);
	set_pte(ptep, good);
	CHECK(pmd_present(pmd_at(mm, S_BASE)) && !pmd_trans_huge(pmd_at(mm, S_BASE)));
	tables_check_out(mm);
	CHECK_EQ(mm_munmap(mm, odd, 2 * PMD_SIZE), 0);
	CHECK_EQ(shmem_file_destroy(g), 0);
	CHECK_EQ(mm_munmap(mm, anon, PMD_SIZE), 0);
	retract_down(mm, f);
}
