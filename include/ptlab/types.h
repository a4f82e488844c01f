/* SPDX-License-Identifier: MIT */
/*
 * Sizes and shapes shared by every part of the machine: x86-64 4-level
 * paging with 4 KiB pages (P4D folded), 512 entries per table, 2 MiB huge
 * pages at the PMD level, up to 64 CPUs.
 */
#ifndef PTLAB_TYPES_H
#define PTLAB_TYPES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define PAGE_SHIFT 12
#define PAGE_SIZE (1ULL << PAGE_SHIFT)
#define PAGE_MASK (~(PAGE_SIZE - 1))

#define PTRS_PER_TABLE 512
#define PMD_SHIFT 21
#define PMD_SIZE (1ULL << PMD_SHIFT)
#define PMD_MASK (~(PMD_SIZE - 1))
#define PUD_SHIFT 30
#define PUD_SIZE (1ULL << PUD_SHIFT)
#define PUD_MASK (~(PUD_SIZE - 1))
#define PGDIR_SHIFT 39
#define PGDIR_SIZE (1ULL << PGDIR_SHIFT)
#define PGDIR_MASK (~(PGDIR_SIZE - 1))

#define HPAGE_PMD_ORDER (PMD_SHIFT - PAGE_SHIFT)
#define HPAGE_PMD_NR (1U << HPAGE_PMD_ORDER)
#define HPAGE_PMD_SIZE PMD_SIZE
#define HPAGE_PMD_MASK PMD_MASK

/* User addresses are [0, TASK_SIZE): the lower half of 48-bit space. */
#define TASK_SIZE (1ULL << 47)

#define PTLAB_MAX_CPUS 64

/* A set of CPUs, bit n for CPU n. */
typedef uint64_t cpumask_t;

#endif /* PTLAB_TYPES_H */
