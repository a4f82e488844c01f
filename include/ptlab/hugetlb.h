/* SPDX-License-Identifier: MIT */
/*
 * hugetlbfs files and their shared mappings (mirrors mm/hugetlb.c for
 * what the PMD-table sharing protocol needs).
 *
 * A hugetlb file is backed by 2 MiB huge pages, allocated on first fault
 * and kept until the file is destroyed. Two mms that map the same file
 * MAP_SHARED at the same offset within a 1 GiB-aligned range, each with a
 * VMA covering that whole range, share one PMD table (huge_pmd_share(),
 * with a share count on the table). munmap() of a shared range unshares
 * it first (huge_pmd_unshare()): the unsharer's PUD entry goes, and the
 * remaining process owns the table as an ordinary one. What then waits for
 * the unsharer's GUP-fast walkers still inside that table is the machine's
 * unshare generation (ptlab_kernel.unshare_sync).
 */
#ifndef PTLAB_HUGETLB_H
#define PTLAB_HUGETLB_H

#include <stdint.h>

#include "ptlab/mm.h"

struct hugetlb_file;

/* Files are at most this large (and at least 2 MiB). */
#define HUGETLB_FILE_MAX (1ULL << 40)

/* A file of @size bytes, a multiple of 2 MiB in [2 MiB, HUGETLB_FILE_MAX];
 * NULL with errno EINVAL or ENOMEM (no CPU needed). */
struct hugetlb_file *hugetlb_file_create(uint64_t size);
/* Frees the file and its pages; -EBUSY while an mm maps it, -EINVAL for
 * NULL. Called by a CPU. */
int hugetlb_file_destroy(struct hugetlb_file *f);
/* A small number naming the file in reports and in struct page. */
uint32_t hugetlb_file_id(const struct hugetlb_file *f);

/*
 * mmap(MAP_SHARED) of [offset, offset + len) of @f at @addr (0: a free
 * 1 GiB-aligned range), @vm_flags of VM_READ | VM_WRITE. @addr, @len and
 * @offset must be multiples of 2 MiB and inside the file. Returns the
 * address or -EINVAL, -EEXIST, -ENOMEM, -EPERM as mm_mmap().
 */
int64_t mm_mmap_hugetlb(struct mm_struct *mm, uint64_t addr, uint64_t len,
			unsigned long vm_flags, struct hugetlb_file *f, uint64_t offset);

/* The owner id the struct pages of @f's huge pages carry (page->mm_id), so
 * that a walker's page can be told from another process's. */
#define HUGETLB_OWNER_BIT 0x80000000U

#endif /* PTLAB_HUGETLB_H */
