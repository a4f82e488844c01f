/* SPDX-License-Identifier: MIT */
/*
 * The rule: which violations a cell (profile x fixes x scenario) can show,
 * derived from the protocol (kernel-protocol.md section 7) and computed
 * from the profile's properties and the fix switches only. The stress
 * matrix (`ptlab matrix`) and the Spin model (`ptlab model`) both judge
 * their results against it; README.md states it in words.
 */
#ifndef PTLAB_RULE_H
#define PTLAB_RULE_H

#include <stdbool.h>
#include <stddef.h>

#include "ptlab/profile.h"

enum scenario {
	/* gup_fast walkers against collapse, plus zaps of huge mappings
	 * under the same PMD table that withdraw and pte_free() the
	 * deposited table at once. */
	SCENARIO_COLLAPSE_ZAP,
	/* gup_fast pinning and writing through the pin against collapse. */
	SCENARIO_COLLAPSE_PIN,
	/* gup_fast against munmap and free_pgtables(). */
	SCENARIO_MUNMAP,
	/* gup_fast and RCU walkers (mincore(), as faults and madvise()
	 * walk: pte_offset_map_lock()) against MADV_DONTNEED freeing the
	 * PTE tables it empties (PT_RECLAIM, 6.14+). */
	SCENARIO_PT_RECLAIM,
	/* gup_fast walkers of mm A inside a hugetlb PMD table A shares with
	 * mm B, against A unsharing it (munmap) and B then using it as its
	 * own (huge_pmd_unshare(), 2025-2026). */
	SCENARIO_HUGETLB_UNSHARE,
	SCENARIO_COUNT,
};

const char *scenario_name(enum scenario s);
/* Returns 0 and sets *out, or -EINVAL for an unknown name. */
int scenario_parse(const char *name, enum scenario *out);
/* "collapse-zap, collapse-pin, munmap" */
void scenario_names(char *buf, size_t len);

/* The two fix switches, each on by default in a machine. */
struct ptlab_fixes {
	/* Commit 70cbc3cc78a99: gup_fast re-checks the PMD after taking its
	 * reference. */
	bool pmd_recheck;
	/* The seed's patch: tlb_remove_table_sync_one() in collapse after
	 * pmdp_collapse_flush(). */
	bool ipi_sync;
};

/* The four fix settings of the matrix, in order: none, pmd-recheck only,
 * ipi-sync only, both. */
#define PTLAB_FIX_SETTINGS 4
struct ptlab_fixes ptlab_fix_setting(unsigned int i);
/* "none", "pmd-recheck", "ipi-sync", "both" */
const char *ptlab_fixes_name(struct ptlab_fixes f);
/* Parses one of those names; 0 or -EINVAL. */
int ptlab_fixes_parse(const char *name, struct ptlab_fixes *out);

/* The kinds of violation the lab's detectors and the model report. */
enum violation_kind {
	VIOLATION_STALE_TABLE,
	VIOLATION_STALE_PIN,
	VIOLATION_WRONG_PAGE,
	/* An RCU walker took the PTE lock of a table that was freed or
	 * reused meanwhile. */
	VIOLATION_STALE_LOCK,
	VIOLATION_KINDS,
};
const char *violation_kind_name(enum violation_kind k);

/* The two kinds of lockless walker. */
enum walker_kind {
	/* GUP-fast: interrupts off, no lock (gup_fast()). */
	WALKER_GUP,
	/* RCU only, interrupts on: pte_offset_map_lock() under mmap_lock
	 * for read (faults, madvise, mincore), 6.5+. */
	WALKER_RCU,
	WALKER_KINDS,
};
#define WALKER_MASK(k) (1U << (k))
const char *walker_kind_name(enum walker_kind k);
/* Parses "gup", "rcu" or "gup,rcu" into a mask; 0 or -EINVAL. */
int walker_kinds_parse(const char *list, unsigned int *mask);
/* The other way round: "gup", "rcu" or "gup,rcu" ("" for no kind). */
void walker_kinds_format(unsigned int mask, char *buf, size_t len);
/* The walker kinds a scenario runs by default: GUP-fast, and RCU walkers
 * where something frees a PTE table under mmap_lock for read
 * (pt-reclaim). */
unsigned int scenario_default_walkers(enum scenario s);
/* The walker kinds a scenario can run: RCU walkers only in pt-reclaim.
 * Elsewhere the table is taken away under mmap_lock for write (collapse,
 * munmap's detach, an unshare by munmap; the kernel's unshare also holds
 * the hugetlb VMA lock for write, which hugetlb faults take for read),
 * which excludes a walker holding mmap_lock for read: it could never
 * meet the unlink, and a "safe" verdict would have no evidence. */
unsigned int scenario_allowed_walkers(enum scenario s);

/* What happens to collapse's old PTE table (the 2026 "make userland page
 * table freeing RCU-safe" series). */
enum collapse_table {
	/* Today: deposited; a zap of any THP under the same PMD table may
	 * withdraw it and pte_free() it at once. */
	COLLAPSE_TABLE_REUSE,
	/* The series' v1-v3: zap_deposited_table() frees it after a grace
	 * period. */
	COLLAPSE_TABLE_ZAP_RCU,
	/* v4+: collapse deposits a newly allocated table and frees the old
	 * one after a grace period. */
	COLLAPSE_TABLE_FRESH,
	COLLAPSE_TABLE_COUNT,
};
const char *collapse_table_name(enum collapse_table c);
int collapse_table_parse(const char *name, enum collapse_table *out);

/* Which wait follows a hugetlb PMD unshare. */
enum unshare_sync {
	/* Follows the ipi-sync fix: on = gather, off = none (the matrix's
	 * classic fix settings). Zero, so that a zeroed kernel is today's. */
	UNSHARE_SYNC_BY_FIXES,
	/* Before 2025: none. */
	UNSHARE_SYNC_NONE,
	/* 2025 (1013af4f585f): tlb_remove_table_sync_one() after each
	 * unshare. */
	UNSHARE_SYNC_PER_UNSHARE,
	/* 6.19 (8ce720d5bd91): the mmu_gather records unshared tables and
	 * syncs once per batch, after its flush, only when a table became
	 * fully unshared. */
	UNSHARE_SYNC_GATHER,
	UNSHARE_SYNC_COUNT,
};
/* "by-fixes", "none", "per-unshare", "gather" */
const char *unshare_sync_name(enum unshare_sync u);
/* Parses "none", "per-unshare" or "gather"; 0 or -EINVAL. */
int unshare_sync_parse(const char *name, enum unshare_sync *out);

/* The kernel generation a machine runs, where ptlab models more than one;
 * all zero is today's kernel without PT_RECLAIM. */
struct ptlab_kernel {
	enum collapse_table collapse_table;
	/* The series' end state: every user page table is freed after an
	 * RCU grace period, on every profile (as if each selected
	 * MMU_GATHER_RCU_TABLE_FREE). */
	bool rcu_everywhere;
	/* CONFIG_PT_RECLAIM: MADV_DONTNEED frees the PTE tables it empties. */
	bool pt_reclaim;
	enum unshare_sync unshare_sync;
};

/* The kernel of today: reuse, no rcu_everywhere, PT_RECLAIM where the
 * profile selects RCU table free (the kernel's dependency), the unshare
 * sync by the fixes. */
struct ptlab_kernel ptlab_kernel_default(const struct ptlab_profile *p);
/* The unshare sync in effect for @k and @fixes. */
enum unshare_sync ptlab_unshare_sync(struct ptlab_kernel k, struct ptlab_fixes fixes);

/* A cell of the matrix: everything the rule reads. */
struct ptlab_cell {
	const struct ptlab_profile *profile;
	struct ptlab_fixes fixes;
	struct ptlab_kernel kernel;
	enum scenario scenario;
	unsigned int walkers;   /* WALKER_MASK()s; 0: the scenario's default */
};

/* The cell's defaults: today's kernel and the scenario's walkers. */
struct ptlab_cell ptlab_cell_default(const struct ptlab_profile *p, struct ptlab_fixes fixes,
				     enum scenario s);

struct ptlab_expectation {
	/* The intermediate terms of the rule, for display. */
	bool rcu_free;     /* tables are freed after a grace period */
	bool flush_waits;  /* every flush waits out interrupts-off sections */
	bool sync_works;   /* ipi_sync on and RCU table free set */
	bool held_off;     /* flush_waits || sync_works */
	/* Which kinds each walker kind can show (false for a kind the cell
	 * does not run). */
	bool by_walker[WALKER_KINDS][VIOLATION_KINDS];
	/* Which kinds this cell can show: the union over its walkers. */
	bool possible[VIOLATION_KINDS];
	/* Some kind is possible: the cell is "unsafe". */
	bool unsafe;
};

struct ptlab_expectation ptlab_expect_cell(const struct ptlab_cell *c);
/* ptlab_expect_cell() of ptlab_cell_default(). */
struct ptlab_expectation ptlab_expect(const struct ptlab_profile *p,
				      struct ptlab_fixes fixes,
				      enum scenario s);

#endif /* PTLAB_RULE_H */
