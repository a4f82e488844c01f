// SPDX-License-Identifier: MIT
/* Address spaces: mappings, faults, user access, munmap and table freeing. */
#include <errno.h>
#include <string.h>

#include "machine_helpers.h"
#include "ptlab/pgtable.h"

TEST(mm_mmap_bad_input)
{
	struct mm_struct *mm;
	struct vma_info v[4];

	machine_up(NULL, 16);
	mm = test_mm_up();
	CHECK_EQ(mm_mmap(mm, 0, 0, VM_READ), -EINVAL);
	CHECK_EQ(mm_mmap(mm, 0, 100, VM_READ), -EINVAL);
	CHECK_EQ(mm_mmap(mm, 4097, 4096, VM_READ), -EINVAL);
	CHECK_EQ(mm_mmap(mm, 0, 4096, 0x100), -EINVAL);
	CHECK_EQ(mm_mmap(mm, TASK_SIZE - 4096, 8192, VM_READ), -EINVAL);
	CHECK_EQ(mm_mmap(mm, UINT64_MAX & PAGE_MASK, 4096, VM_READ), -EINVAL);
	CHECK_EQ(mm_mmap(NULL, 0, 4096, VM_READ), -EINVAL);
	CHECK_EQ(mm_mmap(mm, 1ULL << 32, 1 << 20, VM_READ | VM_WRITE), 1LL << 32);
	CHECK_EQ(mm_mmap(mm, (1ULL << 32) + 4096, 4096, VM_READ), -EEXIST);
	CHECK_EQ(mm_munmap(mm, 1ULL << 32, 0), -EINVAL);
	CHECK_EQ(mm_munmap(mm, (1ULL << 32) + 1, 4096), -EINVAL);
	CHECK_EQ(mm_munmap(mm, TASK_SIZE, 4096), -EINVAL);
	CHECK_EQ(mm_madvise(mm, 1ULL << 32, 4096, 99), -EINVAL);
	CHECK_EQ(mm_madvise(mm, (1ULL << 32) + (1 << 20), 4096, MADV_HUGEPAGE), -EFAULT);
	CHECK_EQ(mm_populate(mm, 5ULL << 32, 4096, true), -EFAULT);
	CHECK_EQ(mm_get_vmas(mm, v, 4), 1);
	CHECK_EQ(mm_get_vmas(mm, NULL, 4), -EINVAL);
	CHECK_EQ(use_mm(NULL), -EINVAL);
	CHECK_EQ(mm_destroy(mm), -EBUSY);
	test_mm_down(mm);
	CHECK_EQ(unuse_mm(), -EINVAL);
	machine_down();
}

TEST(mm_fault_access_and_munmap_frees_tables)
{
	struct mm_struct *mm;
	struct mm_stats st;
	int64_t a;
	char buf[10000], out[10000];

	machine_up(NULL, 16);
	mm = test_mm_up();
	a = mm_mmap(mm, 0, 8 << 20, VM_READ | VM_WRITE);
	CHECK(a > 0);
	CHECK_EQ(a % PMD_SIZE, 0);
	/* Reading an untouched page faults in a zeroed page. */
	CHECK_EQ(user_read((uint64_t)a, out, 100), 0);
	for (int i = 0; i < 100; i++)
		CHECK_EQ(out[i], 0);
	/* A write across pages and a 2 MiB boundary reads back. */
	for (size_t i = 0; i < sizeof(buf); i++)
		buf[i] = (char)(i * 31 + 7);
	CHECK_EQ(user_write((uint64_t)a + (2 << 20) - 5000, buf, sizeof(buf)), 0);
	CHECK_EQ(user_read((uint64_t)a + (2 << 20) - 5000, out, sizeof(out)), 0);
	CHECK(memcmp(buf, out, sizeof(buf)) == 0);
	mm_get_stats(mm, &st);
	CHECK_EQ(st.pte_tables, 2);
	CHECK_EQ(st.pmd_tables, 1);
	CHECK_EQ(st.pud_tables, 1);
	CHECK_EQ(st.anon_pages, 5);
	/* Outside any mapping: -EFAULT. */
	CHECK_EQ(user_read((uint64_t)a + (8 << 20), out, 1), -EFAULT);
	CHECK_EQ(user_read((uint64_t)a, NULL, 1), -EINVAL);
	/* Unmapping the first 2 MiB frees its pages and its PTE table. */
	CHECK_EQ(mm_munmap(mm, (uint64_t)a, 2 << 20), 0);
	mm_get_stats(mm, &st);
	CHECK_EQ(st.pte_tables, 1);
	CHECK_EQ(st.anon_pages, 2);
	CHECK_EQ(user_read((uint64_t)a, out, 1), -EFAULT);
	/* The data beyond survived. */
	CHECK_EQ(user_read((uint64_t)a + (2 << 20), out, 5000), 0);
	CHECK(memcmp(buf + 5000, out, 5000) == 0);
	/* Unmapping everything frees every table but the PGD. */
	CHECK_EQ(mm_munmap(mm, (uint64_t)a, 8 << 20), 0);
	mm_get_stats(mm, &st);
	CHECK_EQ(st.pte_tables + st.pmd_tables + st.pud_tables + st.anon_pages, 0);
	test_mm_down(mm);
	machine_down();
}

TEST(mm_munmap_keeps_shared_tables)
{
	struct mm_struct *mm;
	struct mm_stats st;
	uint64_t a = 1ULL << 33;
	char c = 'x';

	machine_up(NULL, 16);
	mm = test_mm_up();
	/* Two mappings sharing one PTE table. */
	CHECK_EQ(mm_mmap(mm, a, 1 << 20, VM_READ | VM_WRITE), (int64_t)a);
	CHECK_EQ(mm_mmap(mm, a + (1 << 20), 1 << 20, VM_READ | VM_WRITE),
		 (int64_t)(a + (1 << 20)));
	CHECK_EQ(user_write(a, &c, 1), 0);
	CHECK_EQ(user_write(a + (1 << 20), &c, 1), 0);
	CHECK_EQ(mm_munmap(mm, a, 1 << 20), 0);
	mm_get_stats(mm, &st);
	CHECK_EQ(st.pte_tables, 1);
	CHECK_EQ(st.anon_pages, 1);
	c = 0;
	CHECK_EQ(user_read(a + (1 << 20), &c, 1), 0);
	CHECK_EQ(c, 'x');
	/* A hole in the middle of a mapping splits it. */
	CHECK_EQ(mm_munmap(mm, a + (1 << 20) + 8192, 4096), 0);
	{
		struct vma_info v[4];

		CHECK_EQ(mm_get_vmas(mm, v, 4), 2);
		CHECK_EQ(v[0].end, a + (1 << 20) + 8192);
		CHECK_EQ(v[1].start, a + (1 << 20) + 12288);
	}
	/* Unmapping where nothing is mapped is not an error. */
	CHECK_EQ(mm_munmap(mm, 1ULL << 40, 1 << 20), 0);
	test_mm_down(mm);
	machine_down();
}

TEST(mm_read_only_mapping)
{
	struct mm_struct *mm;
	int64_t a;
	char c = 1;

	machine_up(NULL, 16);
	mm = test_mm_up();
	a = mm_mmap(mm, 0, 1 << 20, VM_READ);
	CHECK_EQ(user_read((uint64_t)a, &c, 1), 0);
	CHECK_EQ(c, 0);
	CHECK_EQ(user_write((uint64_t)a, &c, 1), -EFAULT);
	CHECK_EQ(mm_populate(mm, (uint64_t)a, 1 << 20, true), -EFAULT);
	test_mm_down(mm);
	machine_down();
}

/* A user write through a stale TLB entry would be lost by munmap: after
 * munmap and a new mapping at the same address, reads see zeros. */
TEST(mm_tlb_flushed_on_munmap)
{
	for (size_t p = 0; p < ptlab_profiles_count(); p++) {
		struct mm_struct *mm;
		uint64_t a = 1ULL << 34;
		char c = 'q';

		machine_up(ptlab_profiles()[p].name, 16);
		mm = test_mm_up();
		CHECK_EQ(mm_mmap(mm, a, 1 << 20, VM_READ | VM_WRITE), (int64_t)a);
		CHECK_EQ(user_write(a, &c, 1), 0);
		CHECK_EQ(mm_munmap(mm, a, 1 << 20), 0);
		CHECK_EQ(user_read(a, &c, 1), -EFAULT);
		CHECK_EQ(mm_mmap(mm, a, 1 << 20, VM_READ | VM_WRITE), (int64_t)a);
		CHECK_EQ(user_read(a, &c, 1), 0);
		CHECK_EQ(c, 0);
		test_mm_down(mm);
		machine_down();
	}
}

TEST(mm_caller_must_be_cpu)
{
	struct ptlab_config cfg;

	ptlab_config_default(&cfg);
	cfg.pool_bytes = 16 << 20;
	CHECK_EQ(ptlab_init(&cfg), 0);
	CHECK(!mm_create());
	CHECK_EQ(errno, EPERM);
	CHECK_EQ(user_write(4096, "x", 1), -EPERM);
	CHECK_EQ(ptlab_exit(NULL), 0);
}

/*
 * MADV_DONTNEED: the pages go (the range reads zeroes again), the mapping
 * and its page tables stay; a whole huge PMD is zapped with its deposited
 * table freed at once (zap_deposited_table(): nr_ptes drops by one), a
 * part of one splits it first.
 */
TEST(mm_madvise_dontneed)
{
	uint64_t a = 1ULL << 33, v = 0x1234, back;
	struct mm_struct *mm;
	struct mm_stats st;
	struct vma_info vmas[4];

	machine_up(NULL, 32);
	mm = test_mm_up();
	CHECK_EQ(mm_mmap(mm, a, 4 * PMD_SIZE, VM_READ | VM_WRITE), (int64_t)a);
	CHECK_EQ(mm_madvise(mm, a + 2 * PMD_SIZE, 2 * PMD_SIZE, MADV_HUGEPAGE), 0);
	for (uint64_t off = 0; off < 4 * PMD_SIZE; off += PAGE_SIZE)
		CHECK_EQ(user_write(a + off, &v, 8), 0);
	mm_get_stats(mm, &st);
	CHECK_EQ(st.anon_pages, 2 * HPAGE_PMD_NR);
	CHECK_EQ(st.thp_mapped, 2);
	CHECK_EQ(st.pte_tables, 4);   /* two linked, two deposited */
	/* Small pages: zapped; the emptied table goes too (PT_RECLAIM, on
	 * by default where the profile selects RCU table free, as x86). */
	CHECK_EQ(mm_madvise_dontneed(mm, a, PMD_SIZE), 0);
	mm_get_stats(mm, &st);
	CHECK_EQ(st.anon_pages, HPAGE_PMD_NR);
	CHECK_EQ(st.pte_tables, 3);
	/* A whole THP: zap_huge_pmd() and its deposited table. */
	CHECK_EQ(mm_madvise(mm, a + 2 * PMD_SIZE, PMD_SIZE, MADV_DONTNEED), 0);
	mm_get_stats(mm, &st);
	CHECK_EQ(st.thp_mapped, 1);
	CHECK_EQ(st.deposited, 1);
	CHECK_EQ(st.pte_tables, 2);
	/* Half of the other THP: split, then zap its first half. */
	CHECK_EQ(mm_madvise_dontneed(mm, a + 3 * PMD_SIZE, PMD_SIZE / 2), 0);
	mm_get_stats(mm, &st);
	CHECK_EQ(st.thp_mapped, 0);
	CHECK_EQ(st.deposited, 0);
	CHECK_EQ(st.anon_pages, HPAGE_PMD_NR + HPAGE_PMD_NR / 2);
	/* Zapped ranges read zeroes; the rest kept its data; one VMA. */
	CHECK_EQ(user_read(a + 5 * PAGE_SIZE, &back, 8), 0);
	CHECK_EQ(back, 0);
	CHECK_EQ(user_read(a + 2 * PMD_SIZE + 7 * PAGE_SIZE, &back, 8), 0);
	CHECK_EQ(back, 0);
	CHECK_EQ(user_read(a + 3 * PMD_SIZE + PMD_SIZE / 2, &back, 8), 0);
	CHECK_EQ(back, v);
	CHECK_EQ(user_read(a + PMD_SIZE, &back, 8), 0);
	CHECK_EQ(back, v);
	CHECK_EQ(mm_get_vmas(mm, vmas, 4), 2);
	/* Bad input. */
	CHECK_EQ(mm_madvise_dontneed(mm, a + 1, PAGE_SIZE), -EINVAL);
	CHECK_EQ(mm_madvise_dontneed(mm, a, 0), -EINVAL);
	CHECK_EQ(mm_madvise_dontneed(NULL, a, PAGE_SIZE), -EINVAL);
	CHECK_EQ(mm_madvise_dontneed(mm, a + 4 * PMD_SIZE, PAGE_SIZE), -EFAULT);
	test_mm_down(mm);
	machine_down();
}
