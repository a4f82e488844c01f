/* SPDX-License-Identifier: MIT */
/*
 * The configuration a machine runs: the fix switches, the sync policies
 * of tlb_remove_table_sync_one(), and the kernel generations ptlab models
 * more than one of (what collapse does with its old PTE table, the hugetlb
 * unshare sync, file THP retraction), with their names and parsers.
 *
 * Types and their words only, as the kernel's mm_types.h: the machine
 * (src/ outside src/lab/ and src/model/) reads them to run the protocol,
 * the lab and the rule read them to judge it; neither owns them, and
 * nothing here judges (the rule, include/ptlab/rule.h, does). struct
 * ptlab_config (ptlab/machine.h) carries them into a machine.
 */
#ifndef PTLAB_CONFIG_H
#define PTLAB_CONFIG_H

#include <stdbool.h>
#include <stddef.h>

#include "ptlab/profile.h"

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

#endif /* PTLAB_CONFIG_H */
