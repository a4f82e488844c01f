// SPDX-License-Identifier: MIT
/*
 * hugetlb files, shared mappings, PMD-table sharing and unsharing, and
 * the sync each unshare generation adds.
 */
#include <errno.h>
#include <stdatomic.h>
#include <string.h>

#include "machine_helpers.h"
#include "mm_internal.h"
#include "ptlab/hugetlb.h"
#include "ptlab/pgtable.h"
#include "ptlab/race.h"

#define GIB (1ULL << 30)
#define A_BASE (64 * GIB)
#define B_BASE (128 * GIB)

/* The PMD table @mm's PUD entry for @addr names, or PFN_NONE. */
static uint64_t pmd_table_of(struct mm_struct *mm, uint64_t addr)
{
	pgd_t pgd = pgdp_get(pgd_offset_pgd(mm->pgd, addr));
	pud_t pud;

	if (!pgd_present(pgd))
		return PFN_NONE;
	pud = pudp_get(pud_offset(pgd, addr));
	return pud_present(pud) ? pud_pfn(pud) : PFN_NONE;
}

static void make_current(struct mm_struct *mm)
{
	CHECK_EQ(unuse_mm(), 0);
	CHECK_EQ(use_mm(mm), 0);
}

/* A hugetlb file and two processes: A maps all of it at A_BASE, B maps
 * its first @b_len bytes at B_BASE. */
struct sharers {
	struct hugetlb_file *f;
	struct mm_struct *a, *b;
};

/* Sets @s up, A running on this CPU; each touches the first byte of each
 * GiB of @touch GiB (A first, so that B shares A's tables where it may). */
static void sharers_up(struct sharers *s, uint64_t size, uint64_t b_len, uint64_t touch)
{
	uint64_t v = 1;

	s->f = hugetlb_file_create(size);
	CHECK(s->f);
	s->a = test_mm_up();
	s->b = mm_create();
	CHECK(s->b);
	CHECK_EQ(mm_mmap_hugetlb(s->a, A_BASE, size, VM_READ | VM_WRITE, s->f, 0),
		 (int64_t)A_BASE);
	for (uint64_t g = 0; g < touch; g++)
		CHECK_EQ(user_write(A_BASE + g * GIB, &v, sizeof(v)), 0);
	make_current(s->b);
	CHECK_EQ(mm_mmap_hugetlb(s->b, B_BASE, b_len, VM_READ | VM_WRITE, s->f, 0),
		 (int64_t)B_BASE);
	for (uint64_t g = 0; g < touch; g++)
		CHECK_EQ(user_read(B_BASE + g * GIB, &v, sizeof(v)), 0);
	make_current(s->a);
}

static void sharers_down(struct sharers *s)
{
	CHECK_EQ(unuse_mm(), 0);
	CHECK_EQ(mm_destroy(s->b), 0);
	CHECK_EQ(mm_destroy(s->a), 0);
	CHECK_EQ(hugetlb_file_destroy(s->f), 0);
}

TEST(hugetlb_bad_input)
{
	struct hugetlb_file *f;
	struct mm_struct *mm;

	machine_up(NULL, 32);
	errno = 0;
	CHECK(!hugetlb_file_create(0) && errno == EINVAL);
	CHECK(!hugetlb_file_create(PMD_SIZE / 2) && errno == EINVAL);
	CHECK(!hugetlb_file_create(3 * PMD_SIZE / 2) && errno == EINVAL);
	CHECK(!hugetlb_file_create(HUGETLB_FILE_MAX + PMD_SIZE) && errno == EINVAL);
	f = hugetlb_file_create(4 * PMD_SIZE);
	CHECK(f);
	CHECK(hugetlb_file_id(f) != 0);
	CHECK_EQ(hugetlb_file_id(NULL), 0);
	mm = test_mm_up();
	CHECK_EQ(mm_mmap_hugetlb(NULL, A_BASE, PMD_SIZE, VM_READ, f, 0), -EINVAL);
	CHECK_EQ(mm_mmap_hugetlb(mm, A_BASE, PMD_SIZE, VM_READ, NULL, 0), -EINVAL);
	CHECK_EQ(mm_mmap_hugetlb(mm, A_BASE + PAGE_SIZE, PMD_SIZE, VM_READ, f, 0), -EINVAL);
	CHECK_EQ(mm_mmap_hugetlb(mm, A_BASE, PAGE_SIZE, VM_READ, f, 0), -EINVAL);
	CHECK_EQ(mm_mmap_hugetlb(mm, A_BASE, PMD_SIZE, VM_READ, f, PAGE_SIZE), -EINVAL);
	CHECK_EQ(mm_mmap_hugetlb(mm, A_BASE, 2 * PMD_SIZE, VM_READ, f, 3 * PMD_SIZE), -EINVAL);
	CHECK_EQ(mm_mmap_hugetlb(mm, A_BASE, 8 * PMD_SIZE, VM_READ, f, 0), -EINVAL);
	CHECK_EQ(mm_mmap_hugetlb(mm, A_BASE, PMD_SIZE, 0x100, f, 0), -EINVAL);
	CHECK_EQ(mm_mmap_hugetlb(mm, A_BASE, PMD_SIZE, VM_READ, f, 0), (int64_t)A_BASE);
	CHECK_EQ(mm_mmap_hugetlb(mm, A_BASE, PMD_SIZE, VM_READ, f, 0), -EEXIST);
	/* Mapped: the file stays. */
	CHECK_EQ(hugetlb_file_destroy(f), -EBUSY);
	CHECK_EQ(hugetlb_file_destroy(NULL), -EINVAL);
	CHECK_EQ(mm_munmap(mm, A_BASE, PMD_SIZE), 0);
	CHECK_EQ(hugetlb_file_destroy(f), 0);
	test_mm_down(mm);
	machine_down();
}

/*
 * Two processes map one file shared at the same offset of a 1 GiB-aligned
 * range: the second one's fault shares the first one's PMD table, and
 * both see one page. When A unmaps, A's PUD entry goes and B keeps the
 * table, its own again: B's data is intact and its later faults fill it.
 */
TEST(hugetlb_share_and_unshare)
{
	struct sharers s;
	struct mm_stats st;
	uint64_t v = 0x1234, got = 0, table;

	machine_up(NULL, 64);
	sharers_up(&s, GIB, GIB, 1);
	CHECK_EQ(user_write(A_BASE + 5, &v, sizeof(v)), 0);
	table = pmd_table_of(s.a, A_BASE);
	CHECK(table != PFN_NONE);
	make_current(s.b);
	CHECK_EQ(user_read(B_BASE + 5, &got, sizeof(got)), 0);
	CHECK_EQ(got, v);
	CHECK_EQ(pmd_table_of(s.b, B_BASE), table);
	CHECK_EQ(atomic_load(&pfn_to_page(table)->pt_share_count), 1);
	mm_get_stats(s.b, &st);
	CHECK_EQ(st.hugetlb_mapped, 1);
	/* A unmaps: unshared; B keeps the table and the page. */
	make_current(s.a);
	CHECK_EQ(mm_munmap(s.a, A_BASE, GIB), 0);
	CHECK_EQ(pmd_table_of(s.a, A_BASE), PFN_NONE);
	CHECK_EQ(atomic_load(&pfn_to_page(table)->pt_share_count), 0);
	mm_get_stats(s.a, &st);
	CHECK_EQ(st.pmd_tables, 0);
	make_current(s.b);
	CHECK_EQ(pmd_table_of(s.b, B_BASE), table);
	got = 0;
	CHECK_EQ(user_read(B_BASE + 5, &got, sizeof(got)), 0);
	CHECK_EQ(got, v);
	CHECK_EQ(user_write(B_BASE + PMD_SIZE, &v, sizeof(v)), 0);
	mm_get_stats(s.b, &st);
	CHECK_EQ(st.pmd_tables, 1);
	CHECK_EQ(st.hugetlb_mapped, 2);
	sharers_down(&s);
	machine_down();
}

/* A mapping that does not cover the whole 1 GiB range does not share. */
TEST(hugetlb_partial_mapping_does_not_share)
{
	struct sharers s;
	uint64_t v = 7, table;

	machine_up(NULL, 32);
	sharers_up(&s, GIB, GIB / 2, 0);
	CHECK_EQ(user_write(A_BASE, &v, sizeof(v)), 0);
	table = pmd_table_of(s.a, A_BASE);
	make_current(s.b);
	v = 0;
	CHECK_EQ(user_read(B_BASE, &v, sizeof(v)), 0);
	CHECK_EQ(v, 7);
	CHECK(pmd_table_of(s.b, B_BASE) != table);
	CHECK_EQ(atomic_load(&pfn_to_page(table)->pt_share_count), 0);
	sharers_down(&s);
	machine_down();
}

/* ---- the sync per munmap, by generation ---- */

static _Thread_local struct {
	bool on;
	unsigned int syncs;
} count;

static void count_hook(enum race_point rp, const struct race_ctx *ctx)
{
	(void)ctx;
	if (!count.on)
		return;
	if (rp == RP_TABLE_SYNC_BEGIN)
		count.syncs++;
}

/* munmap() by A of @gib GiB it shares with B: the syncs it issued. */
static unsigned int syncs_per_munmap(enum unshare_sync u, unsigned int gib)
{
	struct ptlab_kernel k = ptlab_kernel_default(ptlab_profile_find("arm64"));
	struct sharers s;
	unsigned int syncs;

	k.unshare_sync = u;
	machine_up_kernel("arm64", 64, &k);
	sharers_up(&s, gib * GIB, gib * GIB, gib);
	for (unsigned int g = 0; g < gib; g++)
		CHECK_EQ(pmd_table_of(s.b, B_BASE + g * GIB), pmd_table_of(s.a, A_BASE + g * GIB));
	memset(&count, 0, sizeof(count));
	race_hook_set(count_hook);
	count.on = true;
	CHECK_EQ(mm_munmap(s.a, A_BASE, gib * GIB), 0);
	count.on = false;
	race_hook_set(NULL);
	syncs = count.syncs;
	sharers_down(&s);
	machine_down();
	return syncs;
}

/* Before 2025 none; 2025's fix one per unshared table (the regression:
 * one broadcast per GiB); 6.19's one per munmap. */
TEST(hugetlb_unshare_syncs_by_generation)
{
	CHECK_EQ(syncs_per_munmap(UNSHARE_SYNC_NONE, 3), 0);
	CHECK_EQ(syncs_per_munmap(UNSHARE_SYNC_PER_UNSHARE, 1), 1);
	CHECK_EQ(syncs_per_munmap(UNSHARE_SYNC_PER_UNSHARE, 3), 3);
	CHECK_EQ(syncs_per_munmap(UNSHARE_SYNC_GATHER, 1), 1);
	CHECK_EQ(syncs_per_munmap(UNSHARE_SYNC_GATHER, 3), 1);
}

/* ---- the order of an unshare, and the locks of a fault ---- */

/* What the hook saw of the last table unshared: its share count and the
 * unsharer's PUD entry at the unshare's race point, and its share count
 * when the next sync began. */
static _Thread_local struct {
	bool on;
	struct page *table;
	const struct pud_slot *pudp;
	int at_unshare, at_sync;
	uint64_t pud_at_unshare;
} order;

static void order_hook(enum race_point rp, const struct race_ctx *ctx)
{
	if (!order.on)
		return;
	if (rp == RP_PUD_UNSHARED) {
		order.table = ctx->pmd_table;
		order.pudp = ctx->pmdp;
		order.pud_at_unshare = pud_val(pudp_get((struct pud_slot *)ctx->pmdp));
		order.at_unshare = atomic_load(&ctx->pmd_table->pt_share_count);
	} else if (rp == RP_TABLE_SYNC_BEGIN && order.table) {
		order.at_sync = atomic_load(&order.table->pt_share_count);
	}
}

/* A's munmap of the GiB it shares with B, in generation @u: the share
 * count at the unshare and at its sync. */
static void unshare_order(enum unshare_sync u, int *at_unshare, int *at_sync)
{
	struct ptlab_kernel k = ptlab_kernel_default(ptlab_profile_find("arm64"));
	struct sharers s;

	k.unshare_sync = u;
	machine_up_kernel("arm64", 64, &k);
	sharers_up(&s, GIB, GIB, 1);
	memset(&order, 0, sizeof(order));
	order.at_sync = -1;
	race_hook_set(order_hook);
	order.on = true;
	CHECK_EQ(mm_munmap(s.a, A_BASE, GIB), 0);
	order.on = false;
	race_hook_set(NULL);
	CHECK(order.table);
	/* The unshare's point comes right after pud_clear(). */
	CHECK_EQ(order.pud_at_unshare, 0);
	*at_unshare = order.at_unshare;
	*at_sync = order.at_sync;
	sharers_down(&s);
	machine_down();
}

/*
 * 1013af4f585f's order is pud_clear(), tlb_remove_table_sync_one(), then
 * the share count's drop: at the sync, B's share is the only one left but
 * A's still counts. 6.19's drops the count first and syncs at the
 * gather's flush, once the table is B's alone (the i_mmap lock, held to
 * that flush, keeps it from being reused meanwhile).
 */
TEST(hugetlb_unshare_order_by_generation)
{
	int at_unshare, at_sync;

	unshare_order(UNSHARE_SYNC_PER_UNSHARE, &at_unshare, &at_sync);
	CHECK_EQ(at_unshare, 1);
	CHECK_EQ(at_sync, 1);
	unshare_order(UNSHARE_SYNC_GATHER, &at_unshare, &at_sync);
	CHECK_EQ(at_unshare, 1);
	CHECK_EQ(at_sync, 0);
	unshare_order(UNSHARE_SYNC_NONE, &at_unshare, &at_sync);
	CHECK_EQ(at_unshare, 1);
	CHECK_EQ(at_sync, -1);
}

/* A's unsharer, stopped inside its unshare (holding the i_mmap lock for
 * write) until the test lets it go. */
static struct {
	struct mm_struct *mm;
	atomic_bool stopped, go;
	atomic_int cpu;
} stop;

static void stop_hook(enum race_point rp, const struct race_ctx *ctx)
{
	(void)ctx;
	if (rp != RP_TABLE_SYNC_BEGIN || smp_processor_id() != atomic_load(&stop.cpu))
		return;
	atomic_store(&stop.stopped, true);
	while (!atomic_load(&stop.go))
		sleep_us(100);
}

static void *unsharer(void *arg)
{
	(void)arg;
	atomic_store(&stop.cpu, smp_processor_id());
	CHECK_EQ(use_mm(stop.mm), 0);
	CHECK_EQ(mm_munmap(stop.mm, A_BASE, GIB), 0);
	CHECK_EQ(unuse_mm(), 0);
	return NULL;
}

/* C's first fault in the file: it must share, so it takes the i_mmap
 * lock for read. */
static struct {
	struct mm_struct *mm;
	atomic_bool done;
} third;

static void *third_faults(void *arg)
{
	uint64_t v = 3;

	(void)arg;
	CHECK_EQ(use_mm(third.mm), 0);
	CHECK_EQ(user_write(2 * B_BASE, &v, sizeof(v)), 0);
	atomic_store(&third.done, true);
	CHECK_EQ(unuse_mm(), 0);
	return NULL;
}

/*
 * A hugetlb fault holds the hugetlb VMA lock, not the i_mmap lock, and
 * takes the i_mmap lock only inside huge_pmd_share(): while A is inside
 * its unshare with the i_mmap lock held for write, B faults a new page
 * into the table it still shares; C's first fault, which must look for a
 * table to share, waits until A lets go.
 */
TEST(hugetlb_fault_takes_the_vma_lock_and_i_mmap_only_to_share)
{
	struct ptlab_kernel k = ptlab_kernel_default(ptlab_profile_find("arm64"));
	struct cpu_thread ta, tc;
	struct sharers s;
	uint64_t v = 2;

	k.unshare_sync = UNSHARE_SYNC_PER_UNSHARE;
	machine_up_kernel("arm64", 64, &k);
	sharers_up(&s, GIB, GIB, 1);
	third.mm = mm_create();
	CHECK(third.mm);
	CHECK_EQ(mm_mmap_hugetlb(third.mm, 2 * B_BASE, GIB, VM_READ | VM_WRITE, s.f, 0),
		 (int64_t)(2 * B_BASE));
	make_current(s.b);
	stop.mm = s.a;
	atomic_store(&stop.cpu, -1);
	race_hook_set(stop_hook);
	cpu_thread_start(&ta, unsharer, NULL);
	while (!atomic_load(&stop.stopped))
		sleep_us(100);
	/* B's PUD names the shared table: no i_mmap lock needed. */
	CHECK_EQ(user_write(B_BASE + PMD_SIZE, &v, sizeof(v)), 0);
	cpu_thread_start(&tc, third_faults, NULL);
	sleep_us(50000);
	CHECK(!atomic_load(&third.done));
	atomic_store(&stop.go, true);
	cpu_thread_join(&ta);
	cpu_thread_join(&tc);
	race_hook_set(NULL);
	CHECK(atomic_load(&third.done));
	CHECK_EQ(mm_destroy(third.mm), 0);
	sharers_down(&s);
	machine_down();
}
