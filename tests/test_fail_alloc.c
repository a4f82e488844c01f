// SPDX-License-Identifier: MIT
/* Allocation failures on each path: the fallback runs, the tables stay
 * consistent with the counters, and no frame leaks. (The rcu_batch path's
 * fallback is in test_tlb.c, thp_collapse's in test_huge.c.) */
#include <errno.h>
#include <string.h>

#include "machine_helpers.h"
#include "mm_internal.h"

#define FBASE (1ULL << 36)

static void check_consistent(struct mm_struct *mm)
{
	struct mm_check_report r;

	CHECK_EQ(mm_check_tables(mm, &r), 0);
	CHECK_MSG(!r.mismatches && !r.referenced, "%s", r.first);
}

static uint64_t injected(enum alloc_path path)
{
	struct page_alloc_stats st;

	page_alloc_get_stats(&st);
	return st.path_injected[path];
}

/* Every other table and page allocation fails: the access's faults are
 * retried and every byte lands. */
TEST(fail_alloc_faults_are_retried)
{
	static char buf[3 * PMD_SIZE / 2], out[sizeof(buf)];
	struct mm_struct *mm;

	machine_up(NULL, 32);
	mm = test_mm_up();
	CHECK_EQ(mm_mmap(mm, FBASE, 2 * PMD_SIZE, VM_READ | VM_WRITE), (int64_t)FBASE);
	for (size_t i = 0; i < sizeof(buf); i++)
		buf[i] = (char)(i * 13 + 1);
	CHECK_EQ(fail_alloc_set(FAIL_ALLOC_PATH(ALLOC_PATH_TABLES) | FAIL_ALLOC_PATH(ALLOC_PATH_PAGES),
				0, 2), 0);
	CHECK_EQ(user_write(FBASE + 100, buf, sizeof(buf)), 0);
	CHECK_EQ(fail_alloc_set(0, 0, 0), 0);
	CHECK(injected(ALLOC_PATH_PAGES) > 100);
	CHECK(injected(ALLOC_PATH_TABLES) >= 1);
	CHECK_EQ(user_read(FBASE + 100, out, sizeof(out)), 0);
	CHECK(memcmp(buf, out, sizeof(buf)) == 0);
	check_consistent(mm);
	test_mm_down(mm);
	machine_down();
}

/* When every allocation of a path fails, the access gives up with
 * -ENOMEM after its retries; mm_populate() and GUP's slow path return it
 * at once; mm_create() cannot get its PGD. Nothing is left half done. */
TEST(fail_alloc_enomem_when_it_always_fails)
{
	struct mm_struct *mm;
	struct page *pg;
	char c = 1;

	machine_up(NULL, 16);
	mm = test_mm_up();
	CHECK_EQ(mm_mmap(mm, FBASE, PMD_SIZE, VM_READ | VM_WRITE), (int64_t)FBASE);
	CHECK_EQ(user_write(FBASE, &c, 1), 0);
	CHECK_EQ(fail_alloc_set(FAIL_ALLOC_PATH(ALLOC_PATH_PAGES), 1.0, 0), 0);
	CHECK_EQ(user_write(FBASE + PAGE_SIZE, &c, 1), -ENOMEM);
	/* 1 fault and its 16 retries. */
	CHECK_EQ(injected(ALLOC_PATH_PAGES), 17);
	CHECK_EQ(mm_populate(mm, FBASE, PMD_SIZE, true), -ENOMEM);
	CHECK_EQ(injected(ALLOC_PATH_PAGES), 18);
	CHECK_EQ(pin_user_pages_fast(FBASE + 2 * PAGE_SIZE, 1, FOLL_WRITE, &pg), -ENOMEM);
	/* The page already there is still there. */
	CHECK_EQ(pin_user_pages_fast(FBASE, 1, FOLL_WRITE, &pg), 1);
	unpin_user_pages(&pg, 1);
	CHECK_EQ(fail_alloc_set(FAIL_ALLOC_PATH(ALLOC_PATH_TABLES), 1.0, 0), 0);
	errno = 0;
	CHECK(!mm_create());
	CHECK_EQ(errno, ENOMEM);
	CHECK_EQ(user_write(FBASE + 2 * PMD_SIZE, &c, 1), -EFAULT);
	CHECK_EQ(fail_alloc_set(0, 0, 0), 0);
	check_consistent(mm);
	test_mm_down(mm);
	machine_down();
}

/* A THP fault whose huge page, or whose table to deposit, cannot be had
 * falls back to small pages (and gives the huge page back). */
static void thp_fault_falls_back(enum alloc_path path)
{
	struct mm_struct *mm;
	struct mm_stats st;
	char c = 1;

	machine_up(NULL, 32);
	mm = test_mm_up();
	CHECK_EQ(mm_mmap(mm, FBASE, PMD_SIZE, VM_READ | VM_WRITE | VM_HUGEPAGE), (int64_t)FBASE);
	CHECK_EQ(fail_alloc_set(FAIL_ALLOC_PATH(path), 1.0, 0), 0);
	CHECK_EQ(user_write(FBASE, &c, 1), 0);
	CHECK_EQ(fail_alloc_set(0, 0, 0), 0);
	CHECK_EQ(injected(path), 1);
	mm_get_stats(mm, &st);
	CHECK_EQ(st.thp_mapped, 0);
	CHECK_EQ(st.anon_pages, 1);
	CHECK_EQ(st.deposited, 0);
	check_consistent(mm);
	/* With the allocations back, the next range is a THP again. */
	CHECK_EQ(mm_munmap(mm, FBASE, PMD_SIZE), 0);
	CHECK_EQ(mm_mmap(mm, FBASE, PMD_SIZE, VM_READ | VM_WRITE | VM_HUGEPAGE), (int64_t)FBASE);
	CHECK_EQ(user_write(FBASE, &c, 1), 0);
	mm_get_stats(mm, &st);
	CHECK_EQ(st.thp_mapped, 1);
	check_consistent(mm);
	test_mm_down(mm);
	machine_down();
}

TEST(fail_alloc_thp_fault_falls_back)
{
	thp_fault_falls_back(ALLOC_PATH_THP_FAULT);
}

TEST(fail_alloc_deposit_falls_back)
{
	thp_fault_falls_back(ALLOC_PATH_DEPOSIT);
}
