// SPDX-License-Identifier: MIT
/*
 * The memory models and the protocol's named barriers (include/ptlab/
 * memory_model.h): names, parsers, and the kernel line each barrier
 * stands for (checked in the 6.12 tree; the step 2 series on lore).
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "ptlab/memory_model.h"
#include "util/names.h"

static const char *const memory_model_names_[MEMORY_MODELS] = {
	[MEMORY_SC] = "sc",
	[MEMORY_TSO] = "tso",
	[MEMORY_WEAK] = "weak",
};

const char *memory_model_name(enum memory_model m)
{
	return (unsigned int)m < MEMORY_MODELS ? memory_model_names_[m] : "?";
}

int memory_model_parse(const char *name, enum memory_model *out)
{
	int i = names_find(name, memory_model_names_, 0, MEMORY_MODELS);

	if (i < 0)
		return -EINVAL;
	*out = (enum memory_model)i;
	return 0;
}

static const char *memory_model_name_at(size_t i)
{
	return memory_model_names_[i];
}

void memory_model_names(char *buf, size_t len)
{
	names_join(buf, len, memory_model_name_at, MEMORY_MODELS);
}

enum memory_model memory_model_host(void)
{
#if defined(__x86_64__) || defined(__i386__)
	return MEMORY_TSO;
#else
	return MEMORY_WEAK;
#endif
}

#define TSO_AND_WEAK ((1u << MEMORY_TSO) | (1u << MEMORY_WEAK))

static const struct barrier_info barriers[BARRIERS] = {
	[BARRIER_GUP_PIN_MB] = {
		.name = "gup-pin-mb",
		.kernel = "mm/gup.c:531-596 (6.12) try_grab_folio_fast(): folio_ref_try_add()'s "
			  "atomic_add_unless(), fully ordered when it succeeds, and the "
			  "smp_mb__after_atomic() at 591 after the pin (6.1: try_grab_folio(), "
			  "mm/gup.c:174)",
		.orders = "GUP-fast's reference (and pin) before its PMD and PTE re-checks; pairs "
			  "with collapse's PMD clear, made visible by the flush, before "
			  "__collapse_huge_page_isolate() reads the refcount (store buffering)",
		.model_switch = "DROP_GUP_PIN_MB",
		.models = TSO_AND_WEAK,
		.lab = false,
	},
	[BARRIER_WALKER_MARK_MB] = {
		.name = "walker-mark-mb",
		.kernel = "step 2, \"[PATCH v4 1/3] mm: use targeted IPIs for TLB sync with "
			  "lockless page table walkers\" (2026-02-02) pt_walk_lockless_start(): "
			  "smp_mb() after this_cpu_write(active_lockless_pt_walk_mm, mm)",
		.orders = "the walker's lockless-walk marker store before the walk's PMD load; "
			  "pairs with sync-scan-mb (store buffering: each side needs a full "
			  "barrier)",
		.model_switch = "DROP_WALKER_MARK_MB",
		.models = TSO_AND_WEAK,
		.lab = true,
	},
	[BARRIER_SYNC_SCAN_MB] = {
		.name = "sync-scan-mb",
		.kernel = "step 2, v4 1/3 tlb_remove_table_sync_mm(): the barrier between the "
			  "caller's PMD clear and the per-CPU marker loads; v4 posts smp_rmb(), "
			  "which orders no store before a load (Peter Zijlstra's review, "
			  "<20260202125146.GC1395266@noisy.programming.kicks-ass.net>): present "
			  "here is the smp_mb() the thread asks for",
		.orders = "the syncer's PMD clear (or unshare) before its marker loads; pairs with "
			  "walker-mark-mb",
		.model_switch = "DROP_SYNC_SCAN_MB",
		.models = TSO_AND_WEAK,
		.lab = true,
	},
	[BARRIER_PMD_CLEAR_XCHG] = {
		.name = "pmd-clear-xchg",
		.kernel = "arch/x86/include/asm/pgtable_64.h:104-115 (6.12) "
			  "native_pmdp_get_and_clear(): xchg(), a locked instruction, in "
			  "pmdp_collapse_flush(); arm64's pmdp_huge_get_and_clear() "
			  "(arch/arm64/include/asm/pgtable.h:1322-1325) is xchg_relaxed()",
		.orders = "x86: collapse's PMD clear before every later access of collapse",
		.model_switch = "DROP_PMD_CLEAR_XCHG",
		.models = 1u << MEMORY_TSO,
		.lab = false,
	},
	[BARRIER_TLB_FLUSH_MB] = {
		.name = "tlb-flush-mb",
		.kernel = "flush_tlb_range(), whatever its kind: x86 native_flush_tlb_multi() -> "
			  "smp_call_function_many_cond() (kernel/smp.c:785-890, 6.12), whose "
			  "llist_add() (a cmpxchg, fully ordered) queues each IPI; arm64 "
			  "__flush_tlb_range_nosync()'s dsb(ishst) before the TLBI and "
			  "__tlbi_sync_s1ish()'s dsb(ish) after it "
			  "(arch/arm64/include/asm/tlbflush.h:448-503, 6.12)",
		.orders = "the flusher's stores (collapse's PMD clear) before everything after the "
			  "flush (the marker loads, the refcount read)",
		.model_switch = "DROP_TLB_FLUSH_MB",
		.models = TSO_AND_WEAK,
		.lab = false,
	},
	[BARRIER_SYNC_IPI_MB] = {
		.name = "sync-ipi-mb",
		.kernel = "kernel/smp.c:853 (6.12) smp_call_function_many_cond(): llist_add(), a "
			  "fully ordered cmpxchg, queueing each IPI that tlb_remove_table_sync_one() "
			  "(mm/mmu_gather.c), tlb_remove_table_sync_mm() (step 2) or "
			  "serialize_against_pte_lookup() (powerpc hash) sends",
		.orders = "the sender's stores (collapse's PMD clear) before it sends the sync's "
			  "IPIs, and so before every CPU that takes one walks again",
		.model_switch = "DROP_SYNC_IPI_MB",
		.models = TSO_AND_WEAK,
		.lab = false,
	},
	[BARRIER_SPIN_LOCK_RMW] = {
		.name = "spin-lock-rmw",
		.kernel = "include/asm-generic/qspinlock.h:107-111 (6.12) queued_spin_lock(): "
			  "atomic_try_cmpxchg_acquire(), on x86 a lock cmpxchg: the PTE lock "
			  "collapse takes for __collapse_huge_page_isolate() "
			  "(mm/khugepaged.c:1186) drains the store buffer; arm64's is an "
			  "acquire, which does not",
		.orders = "x86: collapse's PMD clear before isolation's refcount read",
		.model_switch = "DROP_SPIN_LOCK_RMW",
		.models = 1u << MEMORY_TSO,
		.lab = false,
	},
	[BARRIER_IPI_CSD_RELEASE] = {
		.name = "ipi-csd-release",
		.kernel = "kernel/smp.c:366-374 (6.12) csd_unlock(): smp_store_release() of the "
			  "csd's flags in the target's IPI handler, read by the sender's "
			  "smp_cond_load_acquire() in csd_lock_wait() (333-350)",
		.orders = "everything the target did before it took the IPI (its section, its "
			  "marker clear) before the sender's later accesses; under TSO every "
			  "store is a release",
		.model_switch = "DROP_IPI_CSD_RELEASE",
		.models = 1u << MEMORY_WEAK,
		.lab = false,
	},
	[BARRIER_RCU_GP_MB] = {
		.name = "rcu-gp-mb",
		.kernel = "synchronize_rcu() (kernel/rcu/tree.c:4108, 6.12) and the grace "
			  "period's guarantee, Documentation/RCU/Design/Memory-Ordering/"
			  "Tree-RCU-Memory-Ordering.rst:18-31",
		.orders = "each reader's accesses inside its section before the code after the "
			  "grace period (the free); under TSO no load passes a later store, so "
			  "the grace period needs no barrier of its own there",
		.model_switch = "DROP_RCU_GP_MB",
		.models = 1u << MEMORY_WEAK,
		.lab = false,
	},
};

const struct barrier_info *barrier_info(enum barrier b)
{
	return (unsigned int)b < BARRIERS ? &barriers[b] : NULL;
}

static const char *barrier_name_at(size_t i)
{
	return barriers[i].name;
}

void barrier_names(char *buf, size_t len)
{
	names_join(buf, len, barrier_name_at, BARRIERS);
}

int barrier_list_parse(const char *list, unsigned int *mask, char *err, size_t len)
{
	char names[512];
	unsigned int m = 0;
	const char *p = list;

	barrier_names(names, sizeof(names));
	if (!list || !*list) {
		snprintf(err, len, "an empty list of barriers: give one or more of %s", names);
		return -EINVAL;
	}
	while (*p) {
		const char *end = strchr(p, ',');
		size_t n = end ? (size_t)(end - p) : strlen(p);
		int found = -1;

		for (int b = 0; b < BARRIERS; b++)
			if (strlen(barriers[b].name) == n && !strncmp(p, barriers[b].name, n))
				found = b;
		if (found < 0) {
			snprintf(err, len, "'%.*s' is not a barrier: the barriers are %s",
				 (int)n, p, names);
			return -EINVAL;
		}
		if (m & BARRIER_BIT(found)) {
			snprintf(err, len, "barrier '%s' is named twice", barriers[found].name);
			return -EINVAL;
		}
		m |= BARRIER_BIT(found);
		if (!end)
			break;
		p = end + 1;
		if (!*p) {
			snprintf(err, len, "'%s' ends with a comma: give one or more of %s",
				 list, names);
			return -EINVAL;
		}
	}
	*mask = m;
	return 0;
}

void barrier_list_format(unsigned int mask, char *buf, size_t len)
{
	size_t used = 0;

	if (!buf || !len)
		return;
	buf[0] = '\0';
	for (int b = 0; b < BARRIERS; b++) {
		int n;

		if (!(mask & BARRIER_BIT(b)))
			continue;
		n = snprintf(buf + used, len - used, "%s%s", used ? "," : "", barriers[b].name);
		if (n < 0 || (size_t)n >= len - used)
			return;
		used += (size_t)n;
	}
}
