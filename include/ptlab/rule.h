/* SPDX-License-Identifier: MIT */
/*
 * The rule: which violations a cell (profile x fixes x scenario) can show,
 * derived from the protocol (docs/protocol.md, "The races and what makes
 * each safe") and computed from the profile's properties and the fix
 * switches only. The stress matrix (`ptlab matrix`) and the Spin model
 * (`ptlab model`) both judge their results against it; docs/rule.md states
 * it in words.
 */
#ifndef PTLAB_RULE_H
#define PTLAB_RULE_H

#include <stdbool.h>
#include <stddef.h>

#include "ptlab/config.h"
#include "ptlab/memory_model.h"
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
	/* gup_fast walkers inside a 1 GiB range whose whole PUD range munmap
	 * unmaps: free_pgtables() clears the PUD entry and frees the PMD
	 * table (and the PTE tables under it) the way the architecture does
	 * (profile.upper_table_free), and the freed frames are reused at
	 * once. */
	SCENARIO_MUNMAP_PMD,
	/* gup_fast walkers (and, where they can meet it, RCU walkers)
	 * against khugepaged retracting the PTE table of a shmem range whose
	 * pages are one huge folio (collapse_pte_mapped_thp()), by the
	 * retraction generation of the kernel (enum retract_gen). */
	SCENARIO_RETRACT,
	/* gup_fast walkers against mremap moving a PTE table A -> B -> A
	 * (move_normal_pmd()) and a PMD table between two PUD entries
	 * (move_normal_pud()), back and forth; every few rounds the PTE
	 * table's destination is unmapped while the table is there and the
	 * source faulted again: a new table (LIFO: often the same frame)
	 * under the same entry value. Where the profile moves no tables
	 * (move_pmd/move_pud false) mremap moves entry by entry and frees
	 * the emptied tables with the old range. */
	SCENARIO_MREMAP,
	SCENARIO_COUNT,
};

const char *scenario_name(enum scenario s);
/* Returns 0 and sets *out, or -EINVAL for an unknown name. */
int scenario_parse(const char *name, enum scenario *out);
/* "collapse-zap, collapse-pin, munmap" */
void scenario_names(char *buf, size_t len);

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

/* The walker kinds a scenario runs by default in kernel generation @k:
 * all it allows (below). */
unsigned int scenario_default_walkers(enum scenario s, struct ptlab_kernel k);
/* The walker kinds a scenario can run in kernel generation @k: GUP-fast
 * always; RCU walkers only where something takes a PTE table away while
 * they may hold mmap_lock for read: pt-reclaim (MADV_DONTNEED, under
 * mmap_lock for read) and retract in the defer generation (6.6+:
 * collapse_pte_mapped_thp() under mmap_lock for read,
 * retract_page_tables() under the i_mmap lock alone). Elsewhere the
 * table goes under mmap_lock for write (anonymous collapse, munmap's
 * detach, an unshare by munmap, and retraction in the free generation,
 * 6.1-6.5: mmap_write_trylock() and the i_mmap lock for write; mremap's
 * moves and unmaps, which also write-lock the VMAs; the
 * kernel's hugetlb unshare also holds the hugetlb VMA lock for write,
 * which hugetlb faults take for read), which excludes a walker holding
 * mmap_lock for read: it could never meet the unlink, and a "safe"
 * verdict would have no evidence. */
unsigned int scenario_allowed_walkers(enum scenario s, struct ptlab_kernel k);

/* A cell of the matrix: everything the rule reads. */
struct ptlab_cell {
	const struct ptlab_profile *profile;
	struct ptlab_fixes fixes;
	struct ptlab_kernel kernel;
	enum scenario scenario;
	unsigned int walkers;   /* WALKER_MASK()s; 0: the scenario's default
				 * in the cell's kernel generation */
	/* The model's memory model (MEMORY_SC by default); the stress lab
	 * runs on the host's (memory_model_host()). */
	enum memory_model memory;
	/* BARRIER_BIT()s of the barriers left out; the rule assumes every
	 * barrier, so it does not judge a cell with any dropped. */
	unsigned int dropped;
};

/* The cell's walker kinds: its own, or its scenario's default. */
unsigned int ptlab_cell_walkers(const struct ptlab_cell *c);

/* The cell's defaults: today's kernel and the scenario's walkers. */
struct ptlab_cell ptlab_cell_default(const struct ptlab_profile *p, struct ptlab_fixes fixes,
				     enum scenario s);

struct ptlab_expectation {
	/* The intermediate terms of the rule, for display. */
	bool rcu_free;     /* PTE tables are freed after a grace period */
	/* tlb_remove_table_sync_one() sends IPIs (the architecture selects
	 * MMU_GATHER_RCU_TABLE_FREE) */
	bool sync_ipi;
	/* how PMD and PUD tables are freed (rcu with rcu_everywhere) */
	enum upper_table_free upper;
	bool flush_waits;  /* every flush waits out interrupts-off sections */
	/* the fixes' sync is on, RCU table free is set, and the policy's
	 * sync waits for the walkers of the mm it syncs */
	bool sync_works;
	/* the collapse flush waits (flush_waits, or its own IPI to
	 * mm_cpumask: profile_collapse_flush_waits()) || sync_works */
	bool held_off;
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
