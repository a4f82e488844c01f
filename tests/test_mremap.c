// SPDX-License-Identifier: MIT
/*
 * mremap(): whole tables moved where the profile moves them
 * (move_normal_pmd(), move_normal_pud()), entry by entry elsewhere
 * (move_ptes()), and what it refuses.
 */
#include <errno.h>
#include <string.h>

#include "machine_helpers.h"
#include "mm_internal.h"

#define A (1ULL << 39)
#define B (A + 2 * PMD_SIZE)
#define ANCHOR (A + 8 * PMD_SIZE)
#define C (A + PUD_SIZE)
#define D (A + 2 * PUD_SIZE)

/* The entry of @addr's PMD (0 when an upper level is missing). */
static uint64_t pmd_of(struct mm_struct *mm, uint64_t addr)
{
	struct pmd_slot *pmdp;
	uint64_t v = 0;

	down_read(&mm->mmap_lock);
	pmdp = mm_find_pmd(mm, addr);
	if (pmdp)
		v = pmd_val(pmdp_get(pmdp));
	up_read(&mm->mmap_lock);
	return v;
}

/* The entry of @addr's PUD (0 when the PGD entry is none). */
static uint64_t pud_of(struct mm_struct *mm, uint64_t addr)
{
	pgd_t pgd = pgdp_get(pgd_offset_pgd(mm->pgd, addr));

	return pgd_none(pgd) ? 0 : pud_val(pudp_get(pud_offset(pgd, addr)));
}

static void write_pages(uint64_t start, unsigned int n)
{
	for (uint64_t i = 0; i < n; i++) {
		uint64_t v = start + i * 0x10000;

		CHECK_EQ(user_write(start + i * 0x10000, &v, sizeof(v)), 0);
	}
}

/* The words write_pages() wrote at @from read back at @at. */
static void check_pages(uint64_t at, uint64_t from, unsigned int n)
{
	for (uint64_t i = 0; i < n; i++) {
		uint64_t v = 0;

		CHECK_EQ(user_read(at + i * 0x10000, &v, sizeof(v)), 0);
		CHECK_EQ(v, from + i * 0x10000);
	}
}

/*
 * Where the profile moves tables, the PTE table under A is hung under B
 * and back with its identity (the same frame, the same generation, the
 * PMD value bit for bit), and the PMD table of C under D; no table is
 * allocated or freed, the data moves with them.
 */
TEST(mremap_moves_tables_whole)
{
	struct mm_struct *mm;
	struct mm_stats before, after;
	uint64_t pmd_a, pud_c;
	unsigned int gen;

	machine_up("arm64", 16);
	mm = test_mm_up();
	CHECK(mm_mmap(mm, ANCHOR, PAGE_SIZE, VM_READ | VM_WRITE) > 0);
	CHECK(mm_mmap(mm, A, PMD_SIZE, VM_READ | VM_WRITE) > 0);
	CHECK(mm_mmap(mm, C, PUD_SIZE, VM_READ | VM_WRITE) > 0);
	write_pages(A, 8);
	write_pages(C, 8);
	pmd_a = pmd_of(mm, A);
	pud_c = pud_of(mm, C);
	gen = READ_ONCE(pfn_to_page(pmd_pfn((pmd_t){ pmd_a }))->generation);
	mm_get_stats(mm, &before);
	CHECK_EQ(mm_mremap(mm, A, PMD_SIZE, B), 0);
	CHECK_EQ(pmd_of(mm, A), 0);
	CHECK_EQ(pmd_of(mm, B), pmd_a);
	check_pages(B, A, 8);
	CHECK_EQ(user_read(A, &gen, 1), -EFAULT);
	CHECK_EQ(mm_mremap(mm, B, PMD_SIZE, A), 0);
	CHECK_EQ(pmd_of(mm, A), pmd_a);
	CHECK_EQ(READ_ONCE(pfn_to_page(pmd_pfn((pmd_t){ pmd_a }))->generation), gen);
	check_pages(A, A, 8);
	/* One level up: C's PMD table under D's PUD entry. */
	CHECK_EQ(mm_mremap(mm, C, PUD_SIZE, D), 0);
	CHECK_EQ(pud_of(mm, C), 0);
	CHECK_EQ(pud_of(mm, D), pud_c);
	check_pages(D, C, 8);
	CHECK_EQ(mm_mremap(mm, D, PUD_SIZE, C), 0);
	CHECK_EQ(pud_of(mm, C), pud_c);
	check_pages(C, C, 8);
	mm_get_stats(mm, &after);
	CHECK_EQ(after.pte_tables, before.pte_tables);
	CHECK_EQ(after.pmd_tables, before.pmd_tables);
	CHECK_EQ(after.anon_pages, before.anon_pages);
	test_mm_down(mm);
	machine_down();
}

/* Where it moves none (s390), mremap moves the entries into a new table
 * and frees the old one with the old range: the data moves all the
 * same. */
TEST(mremap_moves_entries_where_no_table_moves)
{
	struct mm_struct *mm;
	struct mm_stats before, after;

	machine_up("s390", 16);
	mm = test_mm_up();
	CHECK(mm_mmap(mm, ANCHOR, PAGE_SIZE, VM_READ | VM_WRITE) > 0);
	CHECK(mm_mmap(mm, A, PMD_SIZE, VM_READ | VM_WRITE) > 0);
	write_pages(A, 8);
	mm_get_stats(mm, &before);
	CHECK_EQ(mm_mremap(mm, A, PMD_SIZE, B), 0);
	CHECK_EQ(pmd_of(mm, A), 0);
	CHECK(pmd_of(mm, B) != 0);
	check_pages(B, A, 8);
	mm_get_stats(mm, &after);
	CHECK_EQ(after.pte_tables, before.pte_tables);
	CHECK_EQ(after.anon_pages, before.anon_pages);
	CHECK_EQ(mm_mremap(mm, B, PMD_SIZE, A), 0);
	check_pages(A, A, 8);
	test_mm_down(mm);
	machine_down();
}

TEST(mremap_bad_input)
{
	struct mm_struct *mm;

	machine_up(NULL, 16);
	mm = test_mm_up();
	CHECK(mm_mmap(mm, A, PMD_SIZE, VM_READ | VM_WRITE) > 0);
	CHECK(mm_mmap(mm, D, PAGE_SIZE, VM_READ | VM_WRITE) > 0);
	/* nothing mapped there */
	CHECK_EQ(mm_mremap(mm, C, PAGE_SIZE, B), -EFAULT);
	/* the destination is mapped */
	CHECK_EQ(mm_mremap(mm, A, PAGE_SIZE, D), -EEXIST);
	/* overlapping ranges, a range beyond the VMA, bad addresses */
	CHECK_EQ(mm_mremap(mm, A, PMD_SIZE, A + PAGE_SIZE), -EINVAL);
	CHECK_EQ(mm_mremap(mm, A, 2 * PMD_SIZE, B), -EINVAL);
	CHECK_EQ(mm_mremap(mm, A + 1, PAGE_SIZE, B), -EINVAL);
	CHECK_EQ(mm_mremap(mm, A, 0, B), -EINVAL);
	CHECK_EQ(mm_mremap(NULL, A, PAGE_SIZE, B), -EINVAL);
	CHECK_EQ(mm_mremap(mm, A, PAGE_SIZE, TASK_SIZE), -EINVAL);
	/* a part of a VMA moves alone */
	write_pages(A, 4);
	CHECK_EQ(mm_mremap(mm, A, PAGE_SIZE, B), 0);
	check_pages(B, A, 1);
	CHECK_EQ(user_read(A, &(uint64_t){ 0 }, 8), -EFAULT);
	check_pages(A + 0x10000, A + 0x10000, 3);
	test_mm_down(mm);
	machine_down();
}
