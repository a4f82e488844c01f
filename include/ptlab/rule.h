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

/*
 * Which CPUs tlb_remove_table_sync_one() interrupts and waits for (the
 * 2025-2026 proposals; spec section 9). Only with RCU table free: without
 * it the sync is empty whatever the policy.
 */
enum sync_policy {
	/* No sync: the seed's fix is off (collapse calls none; the unshare
	 * generation follows the fixes: none). */
	SYNC_NONE,
	/* Today's kernel: every other online CPU. */
	SYNC_ALL,
	/* Lance Yang's step 1 (v5, v7): skipped when the TLB flush is the
	 * native IPI flush, which interrupted and waited for every CPU that
	 * may walk the mm (not with a paravirt or hypercall flush, not with
	 * INVLPGB); else every CPU. The early return is inside
	 * tlb_remove_table_sync_one(): every caller. */
	SYNC_SKIP_IF_FLUSH_IPI,
	/* The same without the paravirt check: skipped whenever the flush
	 * goes through flush_tlb_multi(), native or paravirt. */
	SYNC_SKIP_NAIVE,
	/* Step 2 (v4): only the CPUs whose per-CPU lockless-walk marker
	 * names the mm being synced, in the callers v4 converts to
	 * tlb_remove_table_sync_mm() (enum sync_caller); the others keep
	 * every CPU. */
	SYNC_WALKERS,
	/* Only the CPUs in mm_cpumask(mm) (empty where the architecture does
	 * not maintain it): ptlab's own variant of step 2, in the same
	 * callers. */
	SYNC_MM_CPUMASK,
	SYNC_POLICIES,
};
const char *sync_policy_name(enum sync_policy s);
/* Parses one policy name; 0 or -EINVAL. */
int sync_policy_parse(const char *name, enum sync_policy *out);
/* "none, all, skip-if-flush-ipi, ..." */
void sync_policy_names(char *buf, size_t len);
/* Whether the policy skips the sync on @p because its flush is taken to
 * have waited already (the two skip policies). */
bool sync_policy_skips(enum sync_policy s, const struct ptlab_profile *p);

/*
 * Who calls tlb_remove_table_sync_one(), as far as ptlab runs it: a
 * policy applies to a caller only where its patch changes that caller.
 * Step 1 changes the function itself (every caller); step 2 (v4, "[PATCH
 * v4 2/3] mm: switch callers to tlb_remove_table_sync_mm()",
 * <20260202074557.16544-3-lance.yang@linux.dev>) converts exactly
 * collapse_huge_page(), tlb_flush_unshared_tables() and
 * __tlb_remove_table_one(), not pmdp_get_lockless_sync(); the 2025
 * per-unshare call was gone from its base.
 */
enum sync_caller {
	SYNC_CALLER_COLLAPSE,      /* collapse_huge_page(), the seed's fix */
	SYNC_CALLER_UNSHARE_EACH,  /* huge_pmd_unshare(), 2025 (1013af4f585f) */
	SYNC_CALLER_UNSHARE_GATHER,/* tlb_flush_unshared_tables(), 6.19 */
	SYNC_CALLER_TABLE_ONE,     /* the batch-allocation fallback,
				    * __tlb_remove_table_one() without PT_RECLAIM */
	SYNC_CALLER_RETRACT_FREE,  /* collapse_and_free_pmd(), 6.1-6.5: the
				    * seed's second call, gone (6.6) long
				    * before step 2's base */
};
/* Whether @s's targeted sync (tlb_remove_table_sync_mm()) replaces the
 * all-CPU one at @caller: the walkers and mm-cpumask policies, at the
 * callers step 2 converts. */
bool sync_policy_converts(enum sync_policy s, enum sync_caller caller);

/* The two fix switches, each on by default in a machine. */
struct ptlab_fixes {
	/* Commit 70cbc3cc78a99: gup_fast re-checks the PMD after taking its
	 * reference. */
	bool pmd_recheck;
	/* The seed's patch: tlb_remove_table_sync_one() in collapse after
	 * pmdp_collapse_flush(), with the CPUs of this policy; SYNC_NONE:
	 * off. */
	enum sync_policy sync;
};

/* The four classic fix settings, in order: none, pmd-recheck only,
 * ipi-sync only, both (the sync: SYNC_ALL). */
#define PTLAB_FIX_SETTINGS 4
struct ptlab_fixes ptlab_fix_setting(unsigned int i);
/* "none", "pmd-recheck", "ipi-sync", "both": the PMD re-check and whether
 * a sync is on, whatever its policy. */
const char *ptlab_fixes_name(struct ptlab_fixes f);
/* The fix setting in words: the classic name, and the sync policy when it
 * is not none or all ("both/walkers"). */
void ptlab_fixes_words(struct ptlab_fixes f, char *buf, size_t len);
/* Parses one of those names (the sync: SYNC_ALL); 0 or -EINVAL. */
int ptlab_fixes_parse(const char *name, struct ptlab_fixes *out);
/* The policy tlb_remove_table_sync_one() follows where the kernel calls
 * it whatever the fixes (a hugetlb unshare generation chosen on its own):
 * the fixes' policy, or SYNC_ALL when their sync is off. */
enum sync_policy ptlab_sync_policy(struct ptlab_fixes f);

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

/* How khugepaged retracts the PTE table of a file THP range
 * (collapse_pte_mapped_thp(), retract_page_tables()). */
enum retract_gen {
	/* 6.1-6.5 (the seed's patch; 6.0.12+ by backport): under
	 * mmap_lock and the i_mmap lock for write, pmdp_collapse_flush(),
	 * tlb_remove_table_sync_one() (the ipi-sync fix: off, the kernel
	 * before 2ba99c5e0881, 6.0.0-6.0.11), then pte_free() at once, the
	 * PTEs still in the table. Zero: the default. */
	RETRACT_FREE,
	/* 6.6+ (Hugh Dickins's series, 1d65b771bc08, 1043173eb5eb): under
	 * mmap_lock for read (collapse_pte_mapped_thp()) or the i_mmap lock
	 * for read alone (retract_page_tables()), the PTEs cleared,
	 * pmdp_collapse_flush(), pmdp_get_lockless_sync(), and
	 * pte_free_defer(): the table is freed after a grace period, on
	 * every architecture. */
	RETRACT_DEFER,
	RETRACT_COUNT,
};
/* "free", "defer" */
const char *retract_gen_name(enum retract_gen r);
/* Parses "free" or "defer"; 0 or -EINVAL. */
int retract_gen_parse(const char *name, enum retract_gen *out);
/* "free, defer" */
void retract_gen_names(char *buf, size_t len);

/* The kernel generation a machine runs, where ptlab models more than one;
 * all zero is the default: today's kernel without PT_RECLAIM, and file
 * THP retraction as the seed's patch left it (RETRACT_FREE). */
struct ptlab_kernel {
	enum collapse_table collapse_table;
	/* The series' end state: every user page table is freed after an
	 * RCU grace period, on every profile (as if each selected
	 * MMU_GATHER_RCU_TABLE_FREE). */
	bool rcu_everywhere;
	/* CONFIG_PT_RECLAIM: MADV_DONTNEED frees the PTE tables it empties,
	 * and a table batch that cannot be allocated falls back to
	 * call_rcu(). On with rcu_everywhere whatever this says
	 * (ptlab_kernel_pt_reclaim()): the series makes it available on
	 * every architecture. */
	bool pt_reclaim;
	enum unshare_sync unshare_sync;
	enum retract_gen retract;
};

/* The kernel of today: reuse, no rcu_everywhere, PT_RECLAIM where the
 * profile selects RCU table free (the kernel's dependency), the unshare
 * sync by the fixes; retraction in the free generation (the default, see
 * enum retract_gen). */
struct ptlab_kernel ptlab_kernel_default(const struct ptlab_profile *p);
/* Whether @k has PT_RECLAIM (its switch, or rcu_everywhere). */
static inline bool ptlab_kernel_pt_reclaim(struct ptlab_kernel k)
{
	return k.pt_reclaim || k.rcu_everywhere;
}

/* The unshare sync in effect for @k and @fixes. */
enum unshare_sync ptlab_unshare_sync(struct ptlab_kernel k, struct ptlab_fixes fixes);

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
