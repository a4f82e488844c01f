// SPDX-License-Identifier: MIT
#include "ptlab/race.h"
#include "util/names.h"

_Atomic(race_hook_fn) ptlab_race_hook;

race_hook_fn race_hook_set(race_hook_fn fn)
{
	return atomic_exchange_explicit(&ptlab_race_hook, fn, memory_order_seq_cst);
}

const char *race_point_name(enum race_point rp)
{
	static const char *const names[RACE_POINT_COUNT] = {
		[RP_GUP_FAST_PMD_READ] = "gup-pmd-read",
		[RP_GUP_FAST_PTE_READ] = "gup-pte-read",
		[RP_GUP_FAST_REF_TAKEN] = "gup-ref-taken",
		[RP_GUP_FAST_RECHECK_FAILED] = "gup-recheck-failed",
		[RP_GUP_FAST_SECTION_END] = "gup-section-end",
		[RP_PTE_MAP_PMD_READ] = "pte-map-pmd-read",
		[RP_PTE_MAP_LOCKED] = "pte-map-locked",
		[RP_PTE_MAP_RETRY] = "pte-map-retry",
		[RP_PTE_UNMAP] = "pte-unmap",
		[RP_PMD_UNLINKED] = "pmd-unlinked",
		[RP_COLLAPSE_PMD_CLEARED] = "collapse-pmd-cleared",
		[RP_COLLAPSE_REFUSED] = "collapse-refused",
		[RP_COLLAPSE_ISOLATED] = "collapse-isolated",
		[RP_COLLAPSE_COPIED] = "collapse-copied",
		[RP_PUD_UNSHARED] = "pud-unshared",
		[RP_GUP_FAST_PUD_READ] = "gup-pud-read",
		[RP_TABLE_DEPOSIT] = "table-deposit",
		[RP_TABLE_WITHDRAW] = "table-withdraw",
		[RP_TLB_FLUSH_BEGIN] = "tlb-flush-begin",
		[RP_TLB_FLUSH_END] = "tlb-flush-end",
		[RP_TABLE_SYNC_BEGIN] = "table-sync-begin",
		[RP_TABLE_SYNC_END] = "table-sync-end",
		[RP_TABLE_GATHERED] = "table-gathered",
		[RP_TABLE_RCU_HANDOFF] = "table-rcu-handoff",
		[RP_TABLE_FREE] = "table-free",
		[RP_ZAP_DEPOSITED_FREE] = "zap-deposited-free",
		[RP_GUP_FAST_SECTION_BEGIN] = "gup-section-begin",
		[RP_IPI_SENT] = "ipi-sent",
		[RP_IPI_DEFERRED] = "ipi-deferred",
		[RP_IPI_TAKEN] = "ipi-taken",
		[RP_IPI_DONE] = "ipi-done",
		[RP_TABLE_RCU_CALLBACK] = "table-rcu-callback",
		[RP_FRAME_ALLOC] = "frame-alloc",
		[RP_PMD_WRITE] = "pmd-write",
		[RP_UNPIN] = "unpin",
		[RP_UNSHARE_HANDOVER] = "unshare-handover",
		[RP_PUD_UNLINKED] = "pud-unlinked",
		[RP_GUP_FAST_BAD_PFN] = "gup-bad-pfn",
		[RP_PMD_MOVED] = "pmd-moved",
		[RP_PUD_MOVED] = "pud-moved",
	};

	return (unsigned int)rp < RACE_POINT_COUNT ? names[rp] : "?";
}

static const char *race_point_name_at(size_t i)
{
	return race_point_name((enum race_point)i);
}

void race_point_names(char *buf, size_t len)
{
	names_join(buf, len, race_point_name_at, RACE_POINT_COUNT);
}
