// SPDX-License-Identifier: MIT
/*
 * mm_struct lifetime, the CPU's current mm, and the VMA set (mirrors
 * kernel/fork.c mm_alloc()/mmput(), kthread_use_mm(), mm/mmap.c and
 * mm/madvise.c for the parts ptlab needs).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cpu.h"
#include "khugepaged.h"
#include "machine.h"
#include "mm_internal.h"
#include "tlb.h"

/* Where mm_mmap() looks for room when no address is given. */
#define MMAP_MIN_ADDR (1ULL << 30)

static atomic_uint next_mm_id = 1;

int mm_caller_check(void)
{
	if (!this_cpu || cpu_irqs_off(this_cpu))
		return -EPERM;
	return 0;
}

bool user_range_ok(uint64_t addr, uint64_t len)
{
	return len && !(addr & ~PAGE_MASK) && !(len & ~PAGE_MASK) &&
	       addr < TASK_SIZE && len <= TASK_SIZE - addr;
}

struct mm_struct *mm_create(void)
{
	struct mm_struct *mm;

	if (mm_caller_check()) {
		errno = EPERM;
		return NULL;
	}
	mm = calloc(1, sizeof(*mm));
	if (!mm) {
		errno = ENOMEM;
		return NULL;
	}
	mm->pgd = pte_alloc_one(mm, ALLOC_PATH_TABLES);
	if (!mm->pgd) {
		free(mm);
		errno = ENOMEM;
		return NULL;
	}
	mm->id = atomic_fetch_add_explicit(&next_mm_id, 1, memory_order_relaxed);
	init_rwsem(&mm->mmap_lock);
	init_rwsem(&mm->hugetlb_vma_lock);
	spin_lock_init(&mm->page_table_lock);
	atomic_init(&mm->cpumask, 0);
	atomic_init(&mm->global_asid, false);
	return mm;
}

uint32_t mm_id(const struct mm_struct *mm)
{
	return mm ? mm->id : 0;
}

int mm_destroy(struct mm_struct *mm)
{
	struct vm_area_struct *vmas;
	struct mmu_gather tlb;
	int n, ret = mm_caller_check();

	if (ret)
		return ret;
	if (!mm)
		return -EINVAL;
	if (atomic_load_explicit(&mm->cpumask, memory_order_seq_cst))
		return -EBUSY;
	khugepaged_exit(mm);
	/* exit_mmap(): unmap everything, then free every table. */
	down_write(&mm->mmap_lock);
	tlb_gather_mmu(&tlb, mm);
	vmas = mm->vmas;
	n = mm->nr_vmas;
	/* Detached first, as munmap() does: unmap_vmas() then unlinks them
	 * from their files. */
	mm->vmas = NULL;
	mm->nr_vmas = mm->cap_vmas = 0;
	unmap_vmas(&tlb, mm, vmas, n);
	free_pgtables(&tlb, mm, 0, TASK_SIZE, 0, TASK_SIZE);
	tlb_finish_mmu(&tlb);
	up_write(&mm->mmap_lock);
	free(vmas);
	if (atomic_load(&mm->nr_ptes) || atomic_load(&mm->nr_pmds) ||
	    atomic_load(&mm->nr_puds) || atomic_load(&mm->nr_deposited) ||
	    atomic_load(&mm->anon_rss) || atomic_load(&mm->thp_mapped) ||
	    atomic_load(&mm->shmem_rss))
		ptlab_bug("mm torn down with tables or pages accounted", mm->id);
	/* No CPU runs the mm, so no walker can reach its PGD. */
	pgtable_free(mm->pgd, TABLE_FREE_TEARDOWN);
	free(mm);
	return 0;
}

int use_mm(struct mm_struct *mm)
{
	struct cpu *c = this_cpu;
	struct mm_struct *cur;

	if (mm_caller_check())
		return -EPERM;
	if (!mm)
		return -EINVAL;
	cur = READ_ONCE(c->mm);
	if (cur == mm)
		return 0;
	if (cur)
		return -EBUSY;
	/* Join mm_cpumask before the first walk (cpumask_set_cpu(), then a
	 * full barrier): the RMW and the fence order the bit before this
	 * CPU's later loads of entries, against a flusher's seq_cst
	 * exchange then cpumask load. smp_mb(), not smp_mb__after_atomic():
	 * those loads are acquire, not seq_cst, and C11 orders them after
	 * the RMW only with a fence, which smp_mb__after_atomic() is not on
	 * x86-64 (see ptlab/barrier.h). */
	atomic_fetch_or_explicit(&mm->cpumask, (cpumask_t)1 << c->id,
				 memory_order_seq_cst);
	smp_mb();
	WRITE_ONCE(c->mm, mm);
	return 0;
}

int unuse_mm(void)
{
	struct cpu *c = this_cpu;
	struct mm_struct *mm;

	if (mm_caller_check())
		return -EPERM;
	mm = READ_ONCE(c->mm);
	if (!mm)
		return -EINVAL;
	WRITE_ONCE(c->mm, NULL);
	tlb_invalidate(&c->tlb, 0, 0);
	atomic_fetch_and_explicit(&mm->cpumask, ~((cpumask_t)1 << c->id),
				  memory_order_seq_cst);
	return 0;
}

void unuse_mm_at_exit(void)
{
	if (this_cpu && READ_ONCE(this_cpu->mm))
		unuse_mm();
}

struct mm_struct *current_mm(void)
{
	return this_cpu ? READ_ONCE(this_cpu->mm) : NULL;
}

cpumask_t mm_cpumask(const struct mm_struct *mm)
{
	/* arm64 and the like keep no mask: it stays empty. (The machine's
	 * flushes read mm->cpumask itself: the CPUs whose software TLB may
	 * hold the mm's entries, which a broadcast reaches anyway.) */
	if (!mm || !machine.profile.mm_cpumask)
		return 0;
	return atomic_load_explicit(&((struct mm_struct *)mm)->cpumask,
				    memory_order_seq_cst);
}

void i_mmap_init(struct i_mmap *im)
{
	init_rwsem(&im->rwsem);
	im->maps = NULL;
	im->nr = im->cap = 0;
	im->unrecorded = false;
}

void i_mmap_free(struct i_mmap *im)
{
	free(im->maps);
	im->maps = NULL;
	im->nr = im->cap = 0;
}

bool i_mmap_mapped(struct i_mmap *im)
{
	bool mapped;

	down_read(&im->rwsem);
	mapped = im->nr > 0 || im->unrecorded;
	up_read(&im->rwsem);
	return mapped;
}

static struct i_mmap *vma_i_mmap(const struct vm_area_struct *vma)
{
	return vma->vm_file ? hugetlb_file_i_mmap(vma->vm_file) : shmem_file_i_mmap(vma->vm_shmem);
}

void vma_file_remap(const struct vm_area_struct *vma, struct mm_struct *mm)
{
	const void *file = vma_file(vma);
	struct i_mmap *im = vma_i_mmap(vma);
	int n = 0;

	down_write(&im->rwsem);
	for (int i = 0; i < im->nr; i++)
		if (im->maps[i].mm != mm)
			im->maps[n++] = im->maps[i];
	im->nr = n;
	for (int i = 0; i < mm->nr_vmas; i++) {
		struct vm_area_struct *v = &mm->vmas[i];

		if (vma_file(v) != file)
			continue;
		if (im->nr == im->cap) {
			int cap = im->cap ? 2 * im->cap : 8;
			struct file_map *m = realloc(im->maps, (size_t)cap * sizeof(*m));

			/* Out of memory: the mapping is not recorded, which
			 * costs a hugetlb table a share, and the file counts as
			 * mapped from now on (it cannot be destroyed: a leak
			 * the teardown reports, never a file freed under a
			 * mapping). */
			if (!m) {
				im->unrecorded = true;
				break;
			}
			im->maps = m;
			im->cap = cap;
		}
		im->maps[im->nr++] = (struct file_map){ mm, v->vm_start, v->vm_end, v->vm_off };
	}
	up_write(&im->rwsem);
}

/* The index of the first VMA ending above @addr (or nr_vmas). */
int vma_index(struct mm_struct *mm, uint64_t addr)
{
	int lo = 0, hi = mm->nr_vmas;

	while (lo < hi) {
		int mid = (lo + hi) / 2;

		if (mm->vmas[mid].vm_end <= addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

struct vm_area_struct *find_vma(struct mm_struct *mm, uint64_t addr)
{
	int i = vma_index(mm, addr);

	return i < mm->nr_vmas ? &mm->vmas[i] : NULL;
}

static int vma_insert_at(struct mm_struct *mm, int i, struct vm_area_struct v)
{
	if (mm->nr_vmas == mm->cap_vmas) {
		int cap = mm->cap_vmas ? mm->cap_vmas * 2 : 16;
		struct vm_area_struct *n = realloc(mm->vmas, (size_t)cap * sizeof(*n));

		if (!n)
			return -ENOMEM;
		mm->vmas = n;
		mm->cap_vmas = cap;
	}
	memmove(&mm->vmas[i + 1], &mm->vmas[i],
		(size_t)(mm->nr_vmas - i) * sizeof(*mm->vmas));
	mm->vmas[i] = v;
	mm->nr_vmas++;
	return 0;
}

/* Splits the VMA that strictly contains @addr, if any (split_vma()). */
int vma_split_at(struct mm_struct *mm, uint64_t addr)
{
	int i = vma_index(mm, addr);
	struct vm_area_struct tail;

	if (i == mm->nr_vmas || mm->vmas[i].vm_start >= addr)
		return 0;
	tail = mm->vmas[i];
	tail.vm_start = addr;
	if (vma_file(&tail))
		tail.vm_off += addr - mm->vmas[i].vm_start;
	if (vma_insert_at(mm, i + 1, tail))
		return -ENOMEM;
	mm->vmas[i].vm_end = addr;
	return 0;
}

/* Whether @b continues @a: adjacent, the same flags, the same file at the
 * next offset (vma_merge()'s can_vma_merge_after()). */
static bool vma_continues(const struct vm_area_struct *a, const struct vm_area_struct *b)
{
	return a->vm_end == b->vm_start && a->vm_flags == b->vm_flags &&
	       a->vm_file == b->vm_file && a->vm_shmem == b->vm_shmem &&
	       (!vma_file(a) || a->vm_off + (a->vm_end - a->vm_start) == b->vm_off);
}

/* Merges VMA @i with its neighbours where they continue each other. */
static void vma_merge_around(struct mm_struct *mm, int i)
{
	if (i + 1 < mm->nr_vmas && vma_continues(&mm->vmas[i], &mm->vmas[i + 1])) {
		uint64_t end = mm->vmas[i + 1].vm_end;

		vma_remove_range(mm, mm->vmas[i + 1].vm_start, end);
		mm->vmas[i].vm_end = end;
	}
	if (i > 0 && vma_continues(&mm->vmas[i - 1], &mm->vmas[i])) {
		uint64_t end = mm->vmas[i].vm_end;

		vma_remove_range(mm, mm->vmas[i].vm_start, end);
		mm->vmas[i - 1].vm_end = end;
	}
}

/* Removes the VMAs inside [start, end), which must be split at both ends. */
void vma_remove_range(struct mm_struct *mm, uint64_t start, uint64_t end)
{
	int first = vma_index(mm, start), last = first;

	while (last < mm->nr_vmas && mm->vmas[last].vm_end <= end)
		last++;
	/* Nothing to remove (an mm with no VMA has no array at all). */
	if (last == first)
		return;
	memmove(&mm->vmas[first], &mm->vmas[last],
		(size_t)(mm->nr_vmas - last) * sizeof(*mm->vmas));
	mm->nr_vmas -= last - first;
}

/* A gap of @len bytes at or above MMAP_MIN_ADDR, @align aligned (a power
 * of two). */
static uint64_t get_unmapped_area(struct mm_struct *mm, uint64_t len, uint64_t align)
{
	uint64_t cand = MMAP_MIN_ADDR;

	for (int i = vma_index(mm, cand); i <= mm->nr_vmas; i++) {
		uint64_t limit = i < mm->nr_vmas ? mm->vmas[i].vm_start : TASK_SIZE;

		if (cand <= limit && limit - cand >= len)
			return cand;
		if (i < mm->nr_vmas)
			cand = (mm->vmas[i].vm_end + align - 1) & ~(align - 1);
		if (cand >= TASK_SIZE)
			break;
	}
	return 0;
}

int vma_insert(struct mm_struct *mm, struct vm_area_struct v)
{
	int i = vma_index(mm, v.vm_start), ret;

	mmap_assert_write_locked(mm);
	if (i < mm->nr_vmas && mm->vmas[i].vm_start < v.vm_end)
		return -EEXIST;
	ret = vma_insert_at(mm, i, v);
	if (!ret)
		vma_merge_around(mm, i);
	if (!ret && vma_file(&v))
		vma_file_remap(&v, mm);
	return ret;
}

int64_t mmap_region(struct mm_struct *mm, uint64_t addr, uint64_t len,
		    struct vm_area_struct v)
{
	int ret;

	down_write(&mm->mmap_lock);
	if (!addr) {
		addr = get_unmapped_area(mm, len, v.vm_file ? PUD_SIZE : PMD_SIZE);
		if (!addr) {
			up_write(&mm->mmap_lock);
			return -ENOMEM;
		}
	}
	v.vm_start = addr;
	v.vm_end = addr + len;
	ret = vma_insert(mm, v);
	up_write(&mm->mmap_lock);
	if (!ret && !vma_file(&v))
		khugepaged_enter(mm);
	return ret ? ret : (int64_t)addr;
}

int64_t mm_mmap(struct mm_struct *mm, uint64_t addr, uint64_t len,
		unsigned long vm_flags)
{
	int ret = mm_caller_check();

	if (ret)
		return ret;
	if (!mm || (vm_flags & ~VM_FLAGS_ALL) || !user_range_ok(addr ? addr : PAGE_SIZE, len))
		return -EINVAL;
	return mmap_region(mm, addr, len, (struct vm_area_struct){ .vm_flags = vm_flags });
}

bool vma_range_mapped(struct mm_struct *mm, uint64_t start, uint64_t end)
{
	uint64_t cur = start;

	for (int i = vma_index(mm, start); cur < end; i++) {
		if (i == mm->nr_vmas || mm->vmas[i].vm_start > cur)
			return false;
		cur = mm->vmas[i].vm_end;
	}
	return true;
}

int mm_get_vmas(struct mm_struct *mm, struct vma_info *out, int max)
{
	int n;

	if (!mm || max < 0 || (max && !out))
		return -EINVAL;
	down_read(&mm->mmap_lock);
	n = mm->nr_vmas;
	for (int i = 0; i < n && i < max; i++) {
		out[i].start = mm->vmas[i].vm_start;
		out[i].end = mm->vmas[i].vm_end;
		out[i].flags = mm->vmas[i].vm_flags;
	}
	up_read(&mm->mmap_lock);
	return n;
}

/* The huge PMD entries of the mm's hugetlb VMAs, shared tables included:
 * a walk; the caller holds mmap_lock. */
static uint64_t hugetlb_entries(struct mm_struct *mm)
{
	uint64_t n = 0;

	for (int i = 0; i < mm->nr_vmas; i++) {
		if (!is_vm_hugetlb(&mm->vmas[i]))
			continue;
		for (uint64_t a = mm->vmas[i].vm_start; a < mm->vmas[i].vm_end; a += HPAGE_PMD_SIZE) {
			struct pmd_slot *pmdp = mm_find_pmd(mm, a);

			n += pmdp && pmd_trans_huge(pmdp_get_lockless(pmdp));
		}
	}
	return n;
}

void __mm_get_stats(struct mm_struct *mm, struct mm_stats *out)
{
	mmap_assert_locked(mm);
	out->pte_tables = (uint64_t)atomic_load(&mm->nr_ptes);
	out->pmd_tables = (uint64_t)atomic_load(&mm->nr_pmds);
	out->pud_tables = (uint64_t)atomic_load(&mm->nr_puds);
	out->deposited = (uint64_t)atomic_load(&mm->nr_deposited);
	out->anon_pages = (uint64_t)atomic_load(&mm->anon_rss);
	out->shmem_pages = (uint64_t)atomic_load(&mm->shmem_rss);
	out->thp_mapped = (uint64_t)atomic_load(&mm->thp_mapped);
	out->hugetlb_mapped = hugetlb_entries(mm);
}

void mm_get_stats(struct mm_struct *mm, struct mm_stats *out)
{
	if (!out)
		return;
	if (!mm) {
		*out = (struct mm_stats){ 0 };
		return;
	}
	down_read(&mm->mmap_lock);
	__mm_get_stats(mm, out);
	up_read(&mm->mmap_lock);
}

struct pmd_slot *mm_find_pmd(struct mm_struct *mm, uint64_t addr)
{
	pgd_t pgd = pgdp_get(pgd_offset_pgd(mm->pgd, addr));
	pud_t pud;

	if (!pgd_present(pgd))
		return NULL;
	pud = pudp_get(pud_offset(pgd, addr));
	if (!pud_present(pud))
		return NULL;
	return pmd_offset(pud, addr);
}
