// SPDX-License-Identifier: MIT
/* get_user_pages: fast and slow paths, pins, bad input. */
#include <errno.h>
#include <string.h>

#include "machine_helpers.h"
#include "ptlab/pgtable.h"

TEST(gup_fast_get_and_pin)
{
	struct mm_struct *mm;
	struct page *pages[16];
	struct gup_stats st0, st1;
	int64_t a;
	uint64_t v;

	machine_up(NULL, 16);
	mm = test_mm_up();
	a = mm_mmap(mm, 0, 1 << 20, VM_READ | VM_WRITE);
	CHECK_EQ(mm_populate(mm, (uint64_t)a, 1 << 20, true), 0);
	for (uint64_t i = 0; i < 16; i++) {
		v = 0xabc000 + i;
		CHECK_EQ(user_write((uint64_t)a + i * PAGE_SIZE, &v, 8), 0);
	}
	gup_get_stats(&st0);
	CHECK_EQ(get_user_pages_fast((uint64_t)a, 16, FOLL_WRITE, pages), 16);
	gup_get_stats(&st1);
	CHECK_EQ(st1.fast_pages - st0.fast_pages, 16);
	for (int i = 0; i < 16; i++) {
		CHECK_EQ(page_ref_count(pages[i]), 2);
		CHECK_EQ(page_read(pages[i], 0, &v, 8), 0);
		CHECK_EQ(v, 0xabc000 + (uint64_t)i);
	}
	put_user_pages(pages, 16);
	CHECK_EQ(page_ref_count(pages[0]), 1);
	/* A pin adds GUP_PIN_COUNTING_BIAS; writes through it are seen. */
	CHECK_EQ(pin_user_pages_fast((uint64_t)a + PAGE_SIZE, 1, FOLL_WRITE, pages), 1);
	CHECK_EQ(page_ref_count(pages[0]), 1 + GUP_PIN_COUNTING_BIAS);
	v = 77;
	CHECK_EQ(page_write(pages[0], 8, &v, 8), 0);
	v = 0;
	CHECK_EQ(user_read((uint64_t)a + PAGE_SIZE + 8, &v, 8), 0);
	CHECK_EQ(v, 77);
	unpin_user_pages_dirty_lock(pages, 1, true);
	CHECK_EQ(page_ref_count(pages[0]), 1);
	CHECK(atomic_load(&pages[0]->flags) & PG_dirty);
	test_mm_down(mm);
	machine_down();
}

/*
 * x86-32 PAE's PMD read in two halves (pmdp_get_lockless_low_high()) gives
 * back both halves of a quiet entry, and GUP-fast on a profile that reads
 * its PMDs so returns the pages mapped, by the fast path.
 */
TEST(gup_fast_pmd_read_in_two_halves)
{
	const uint64_t both_halves = 0x800000ab12345e67ULL;
	struct pmd_slot slot;
	struct mm_struct *mm;
	struct page *pages[8];
	struct gup_stats st0, st1;
	int64_t a;
	uint64_t v;

	atomic_init(&slot.val, both_halves);
	CHECK_EQ(pmd_val(pmdp_get_lockless_low_high(&slot)), both_halves);
	machine_up("x86-32-pae", 16);
	mm = test_mm_up();
	a = mm_mmap(mm, 0, 8 * PAGE_SIZE, VM_READ | VM_WRITE);
	CHECK_EQ(mm_populate(mm, (uint64_t)a, 8 * PAGE_SIZE, true), 0);
	for (uint64_t i = 0; i < 8; i++) {
		v = 0x5a0000 + i;
		CHECK_EQ(user_write((uint64_t)a + i * PAGE_SIZE, &v, 8), 0);
	}
	gup_get_stats(&st0);
	CHECK_EQ(get_user_pages_fast((uint64_t)a, 8, 0, pages), 8);
	gup_get_stats(&st1);
	CHECK_EQ(st1.fast_pages - st0.fast_pages, 8);
	for (int i = 0; i < 8; i++) {
		CHECK_EQ(page_read(pages[i], 0, &v, 8), 0);
		CHECK_EQ(v, 0x5a0000 + (uint64_t)i);
	}
	put_user_pages(pages, 8);
	test_mm_down(mm);
	machine_down();
}

TEST(gup_pinned_page_outlives_munmap)
{
	struct mm_struct *mm;
	struct page *p;
	int64_t a;
	uint64_t v = 0x5151;
	unsigned int gen;

	machine_up(NULL, 16);
	mm = test_mm_up();
	a = mm_mmap(mm, 0, 1 << 20, VM_READ | VM_WRITE);
	CHECK_EQ(user_write((uint64_t)a, &v, 8), 0);
	CHECK_EQ(pin_user_pages_fast((uint64_t)a, 1, FOLL_WRITE, &p), 1);
	gen = page_generation(p);
	CHECK_EQ(mm_munmap(mm, (uint64_t)a, 1 << 20), 0);
	/* Unmapped, but still ours. */
	CHECK_EQ(page_type(p), PAGE_TYPE_ANON);
	CHECK_EQ(page_generation(p), gen);
	CHECK_EQ(page_ref_count(p), GUP_PIN_COUNTING_BIAS);
	v = 0;
	CHECK_EQ(page_read(p, 0, &v, 8), 0);
	CHECK_EQ(v, 0x5151);
	unpin_user_pages(&p, 1);
	CHECK_EQ(page_type(p), PAGE_TYPE_FREE);
	test_mm_down(mm);
	machine_down();
}

TEST(gup_slow_path_faults_in)
{
	struct mm_struct *mm;
	struct page *pages[8];
	struct gup_stats st0, st1;
	int64_t a;

	machine_up(NULL, 16);
	mm = test_mm_up();
	a = mm_mmap(mm, 0, 1 << 20, VM_READ | VM_WRITE);
	/* Nothing populated: the fast-only variant takes nothing... */
	CHECK_EQ(get_user_pages_fast((uint64_t)a, 8, FOLL_FAST_ONLY, pages), 0);
	/* ...the normal one falls back and faults the pages in. */
	gup_get_stats(&st0);
	CHECK_EQ(pin_user_pages_fast((uint64_t)a, 8, FOLL_WRITE, pages), 8);
	gup_get_stats(&st1);
	CHECK_EQ(st1.slow_pages - st0.slow_pages, 8);
	CHECK_EQ(st1.fast_fallback - st0.fast_fallback, 1);
	for (int i = 0; i < 8; i++)
		CHECK_EQ(page_ref_count(pages[i]), 1 + GUP_PIN_COUNTING_BIAS);
	unpin_user_pages(pages, 8);
	/* A range running past the mapping gets its mapped prefix. */
	CHECK_EQ(get_user_pages_fast((uint64_t)a + (1 << 20) - 2 * PAGE_SIZE, 4, 0, pages), 2);
	put_user_pages(pages, 2);
	/* Nothing mapped at all: -EFAULT. */
	CHECK_EQ(get_user_pages_fast((uint64_t)a + (1 << 20), 1, 0, pages), -EFAULT);
	test_mm_down(mm);
	machine_down();
}

TEST(gup_write_to_read_only)
{
	struct mm_struct *mm;
	struct page *p;
	int64_t a;

	machine_up(NULL, 16);
	mm = test_mm_up();
	a = mm_mmap(mm, 0, 1 << 20, VM_READ);
	CHECK_EQ(mm_populate(mm, (uint64_t)a, 1 << 20, false), 0);
	CHECK_EQ(get_user_pages_fast((uint64_t)a, 1, FOLL_WRITE, &p), -EFAULT);
	CHECK_EQ(get_user_pages_fast((uint64_t)a, 1, 0, &p), 1);
	put_page(p);
	test_mm_down(mm);
	machine_down();
}

TEST(gup_huge_mapping)
{
	struct mm_struct *mm;
	struct page *pages[4];
	struct mm_stats st;
	int64_t a;
	uint64_t v = 0x7777;

	machine_up(NULL, 16);
	mm = test_mm_up();
	a = mm_mmap(mm, 0, 4 << 20, VM_READ | VM_WRITE | VM_HUGEPAGE);
	CHECK_EQ(user_write((uint64_t)a + 3 * PAGE_SIZE + 16, &v, 8), 0);
	mm_get_stats(mm, &st);
	CHECK_EQ(st.thp_mapped, 1);
	CHECK_EQ(st.deposited, 1);
	CHECK_EQ(pin_user_pages_fast((uint64_t)a + 2 * PAGE_SIZE, 4, FOLL_WRITE, pages), 4);
	CHECK(page_folio(pages[0]) == page_folio(pages[3]));
	CHECK_EQ(page_type(page_folio(pages[0])), PAGE_TYPE_THP_HEAD);
	CHECK_EQ(atomic_load(&page_folio(pages[0])->pincount), 4);
	CHECK_EQ(page_ref_count(page_folio(pages[0])), 5);
	v = 0;
	CHECK_EQ(page_read(pages[1], 16, &v, 8), 0);
	CHECK_EQ(v, 0x7777);
	unpin_user_pages(pages, 4);
	CHECK_EQ(page_ref_count(page_folio(pages[0])), 1);
	CHECK_EQ(atomic_load(&page_folio(pages[0])->pincount), 0);
	test_mm_down(mm);
	machine_down();
}

/* unpin_user_pages() drops each run of one folio's pages at once: a run
 * stops at the next folio even where the two THPs' pages are adjacent,
 * at a small page and at a NULL entry; marking dirty still marks each. */
TEST(gup_unpin_runs_of_folios)
{
	static struct page *pages[2 * HPAGE_PMD_NR], *list[2 * HPAGE_PMD_NR + 8];
	struct page *small[2], *thp[2];
	struct mm_struct *mm;
	struct mm_stats st;
	size_t n = 0;
	int64_t a, b;

	machine_up(NULL, 32);
	mm = test_mm_up();
	a = mm_mmap(mm, 0, 2 * PMD_SIZE, VM_READ | VM_WRITE | VM_HUGEPAGE);
	b = mm_mmap(mm, 0, PMD_SIZE, VM_READ | VM_WRITE);
	CHECK_EQ(mm_populate(mm, (uint64_t)a, 2 * PMD_SIZE, true), 0);
	CHECK_EQ(mm_populate(mm, (uint64_t)b, PMD_SIZE, true), 0);
	mm_get_stats(mm, &st);
	CHECK_EQ(st.thp_mapped, 2);
	CHECK_EQ(pin_user_pages_fast((uint64_t)a, 2 * HPAGE_PMD_NR, FOLL_WRITE, pages),
		 2 * HPAGE_PMD_NR);
	CHECK_EQ(pin_user_pages_fast((uint64_t)b, 2, FOLL_WRITE, small), 2);
	thp[0] = page_folio(pages[0]);
	thp[1] = page_folio(pages[HPAGE_PMD_NR]);
	CHECK(thp[0] != thp[1]);
	for (int f = 0; f < 2; f++) {
		CHECK_EQ(atomic_load(&thp[f]->pincount), HPAGE_PMD_NR);
		CHECK_EQ(page_ref_count(thp[f]), 1 + HPAGE_PMD_NR);
	}
	/* THP 0's first half, THP 1 whole, a small page, a NULL, THP 0's
	 * second half, the other small page. */
	memcpy(list + n, pages, HPAGE_PMD_NR / 2 * sizeof(*list));
	n += HPAGE_PMD_NR / 2;
	memcpy(list + n, pages + HPAGE_PMD_NR, HPAGE_PMD_NR * sizeof(*list));
	n += HPAGE_PMD_NR;
	list[n++] = small[0];
	list[n++] = NULL;
	memcpy(list + n, pages + HPAGE_PMD_NR / 2, HPAGE_PMD_NR / 2 * sizeof(*list));
	n += HPAGE_PMD_NR / 2;
	list[n++] = small[1];
	unpin_user_pages_dirty_lock(list, n, true);
	for (int f = 0; f < 2; f++) {
		CHECK_EQ(atomic_load(&thp[f]->pincount), 0);
		CHECK_EQ(page_ref_count(thp[f]), 1);
	}
	for (size_t i = 0; i < n; i++)
		CHECK(!list[i] || (atomic_load(&list[i]->flags) & PG_dirty));
	CHECK_EQ(page_ref_count(small[0]), 1);
	CHECK_EQ(page_ref_count(small[1]), 1);
	test_mm_down(mm);
	machine_down();
}

static void *gup_from_noncpu(void *arg)
{
	struct page *p;

	*(long *)arg = get_user_pages_fast(1ULL << 30, 1, 0, &p);
	return NULL;
}

TEST(gup_bad_input)
{
	struct mm_struct *mm;
	struct page *p[2];
	int64_t a;
	unsigned long f;
	pthread_t th;
	long r;

	machine_up(NULL, 16);
	CHECK_EQ(get_user_pages_fast(1ULL << 30, 1, 0, p), -ESRCH);
	mm = test_mm_up();
	a = mm_mmap(mm, 0, 1 << 20, VM_READ | VM_WRITE);
	CHECK_EQ(get_user_pages_fast((uint64_t)a + 1, 1, 0, p), -EINVAL);
	CHECK_EQ(get_user_pages_fast((uint64_t)a, 0, 0, p), -EINVAL);
	CHECK_EQ(get_user_pages_fast((uint64_t)a, -3, 0, p), -EINVAL);
	CHECK_EQ(get_user_pages_fast((uint64_t)a, 1, 0, NULL), -EINVAL);
	CHECK_EQ(get_user_pages_fast((uint64_t)a, 1, 0x4000, p), -EINVAL);
	CHECK_EQ(get_user_pages_fast((uint64_t)a, 1, FOLL_PIN, p), -EINVAL);
	CHECK_EQ(get_user_pages_fast(TASK_SIZE, 1, 0, p), -EINVAL);
	CHECK_EQ(get_user_pages_fast(TASK_SIZE - PAGE_SIZE, 2, 0, p), -EINVAL);
	CHECK_EQ(pin_user_pages_fast((uint64_t)a, 1L << 40, 0, p), -EINVAL);
	f = local_irq_save();
	CHECK_EQ(get_user_pages_fast((uint64_t)a, 1, 0, p), -EPERM);
	local_irq_restore(f);
	pthread_create(&th, NULL, gup_from_noncpu, &r);
	pthread_join(th, NULL);
	CHECK_EQ(r, -EPERM);
	test_mm_down(mm);
	machine_down();
}
