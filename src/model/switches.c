// SPDX-License-Identifier: MIT
/*
 * A cell's switches for the model (-D flags: the profile's properties, the
 * fixes, the kernel generation, the scenario and its walkers) and its
 * name, as `ptlab model` and the kept directories print it.
 */
#include <stdio.h>
#include <string.h>

#include "ptlab/model.h"

static const char *flush_switch(enum tlb_flush_style s)
{
	switch (s) {
	case TLB_FLUSH_IPI:
		return "FLUSH_IPI";
	case TLB_FLUSH_BROADCAST:
		return "FLUSH_BROADCAST";
	case TLB_FLUSH_HYPERCALL:
		/* the hypervisor flushes remote TLBs: no guest IPI, no wait */
		return "FLUSH_HYPERCALL";
	case TLB_FLUSH_PARAVIRT:
		return "FLUSH_PARAVIRT";
	}
	return "FLUSH_UNKNOWN";
}

static const char *scenario_switch(enum scenario s)
{
	switch (s) {
	case SCENARIO_COLLAPSE_ZAP:
		return "SCENARIO_COLLAPSE_ZAP";
	case SCENARIO_COLLAPSE_PIN:
		return "SCENARIO_COLLAPSE_PIN";
	case SCENARIO_MUNMAP:
		return "SCENARIO_MUNMAP";
	case SCENARIO_PT_RECLAIM:
		return "SCENARIO_PT_RECLAIM";
	case SCENARIO_HUGETLB_UNSHARE:
		return "SCENARIO_HUGETLB_UNSHARE";
	case SCENARIO_MUNMAP_PMD:
		return "SCENARIO_MUNMAP_PMD";
	case SCENARIO_RETRACT:
		return "SCENARIO_RETRACT";
	case SCENARIO_MREMAP:
		return "SCENARIO_MREMAP";
	case SCENARIO_COUNT:
		break;
	}
	return "SCENARIO_UNKNOWN";
}

static unsigned int cell_walkers(const struct ptlab_cell *c)
{
	return ptlab_cell_walkers(c);
}

size_t ptlab_model_switches(const struct ptlab_cell *c,
			    const char *out[PTLAB_MODEL_MAX_SWITCHES])
{
	size_t n = 0;

	/* --rcu-everywhere: every profile frees its tables of every level
	 * as RCU table free does (and its tlb_remove_table_sync_one() sends
	 * IPIs). */
	if (c->profile->rcu_table_free || c->kernel.rcu_everywhere)
		out[n++] = "RCU_TABLE_FREE";
	if (c->profile->sync_ipi || c->kernel.rcu_everywhere)
		out[n++] = "SYNC_IPI";
	/* How PMD tables are freed matters where one is: only there, so
	 * that the other scenarios' cells of profiles that differ in it
	 * share their searches. Neither: the RCU batch. */
	if (c->scenario == SCENARIO_MUNMAP_PMD && !c->kernel.rcu_everywhere &&
	    c->profile->upper_table_free == UPPER_TABLE_AT_ONCE)
		out[n++] = "UPPER_AT_ONCE";
	if (c->scenario == SCENARIO_MUNMAP_PMD && !c->kernel.rcu_everywhere &&
	    c->profile->upper_table_free == UPPER_TABLE_AFTER_FLUSH)
		out[n++] = "UPPER_AFTER_FLUSH";
	/* Whether mremap moves the PTE table whole: only there. */
	if (c->scenario == SCENARIO_MREMAP && c->profile->move_pmd)
		out[n++] = "MOVE_PMD";
	/* mremap's searches also look for the seed's ABA (a witness) */
	if (c->scenario == SCENARIO_MREMAP)
		out[n++] = "ABA_WITNESS";
	out[n++] = flush_switch(c->profile->flush);
	if (c->profile->deposit == DEPOSIT_IN_TABLE)
		out[n++] = "DEPOSIT_IN_TABLE";
	if (c->profile->collapse_flush_waits)
		out[n++] = "COLLAPSE_FLUSH_WAITS";
	if (c->fixes.pmd_recheck)
		out[n++] = "PMD_RECHECK";
	if (c->fixes.sync != SYNC_NONE)
		out[n++] = "IPI_SYNC";
	/* The policy wherever the kernel syncs: the fix's, or every CPU. */
	switch (ptlab_sync_policy(c->fixes)) {
	case SYNC_SKIP_IF_FLUSH_IPI:
		out[n++] = "SYNC_SKIP_IF_FLUSH_IPI";
		break;
	case SYNC_SKIP_NAIVE:
		out[n++] = "SYNC_SKIP_NAIVE";
		break;
	case SYNC_WALKERS:
		out[n++] = "SYNC_WALKERS";
		break;
	case SYNC_MM_CPUMASK:
		out[n++] = "SYNC_MM_CPUMASK";
		break;
	default:
		break;
	}
	if (c->profile->mm_cpumask)
		out[n++] = "MM_CPUMASK";
	if (ptlab_kernel_pt_reclaim(c->kernel))
		out[n++] = "PT_RECLAIM";
	out[n++] = scenario_switch(c->scenario);
	if (c->kernel.collapse_table == COLLAPSE_TABLE_ZAP_RCU)
		out[n++] = "COLLAPSE_ZAP_RCU";
	else if (c->kernel.collapse_table == COLLAPSE_TABLE_FRESH)
		out[n++] = "COLLAPSE_FRESH";
	if (c->kernel.retract == RETRACT_DEFER)
		out[n++] = "RETRACT_DEFER";
	switch (ptlab_unshare_sync(c->kernel, c->fixes)) {
	case UNSHARE_SYNC_PER_UNSHARE:
		out[n++] = "UNSHARE_SYNC_PER_UNSHARE";
		break;
	case UNSHARE_SYNC_GATHER:
		out[n++] = "UNSHARE_SYNC_GATHER";
		break;
	default:
		break;
	}
	if (cell_walkers(c) & WALKER_MASK(WALKER_GUP))
		out[n++] = "GUP_WALKERS";
	if (cell_walkers(c) & WALKER_MASK(WALKER_RCU))
		out[n++] = "RCU_WALKERS";
	if (c->memory == MEMORY_TSO)
		out[n++] = "MEM_TSO";
	else if (c->memory == MEMORY_WEAK)
		out[n++] = "MEM_WEAK";
	/* the model refuses a dropped barrier under SC (ptlab_model_check()
	 * refuses such a cell first) */
	for (int b = 0; b < BARRIERS; b++)
		if (c->dropped & BARRIER_BIT(b))
			out[n++] = barrier_info((enum barrier)b)->model_switch;
	return n;
}

void ptlab_model_cell_name(const struct ptlab_cell *c, char *buf,
			   size_t len)
{
	int n = snprintf(buf, len, "%s.%s.%s", c->profile->name,
			 ptlab_fixes_name(c->fixes), scenario_name(c->scenario));

	if (n >= 0 && (size_t)n < len && c->fixes.sync != SYNC_NONE && c->fixes.sync != SYNC_ALL)
		n += snprintf(buf + n, len - (size_t)n, ".sync-%s", sync_policy_name(c->fixes.sync));
	if (n >= 0 && (size_t)n < len && c->kernel.collapse_table != COLLAPSE_TABLE_REUSE)
		n += snprintf(buf + n, len - (size_t)n, ".%s",
			      collapse_table_name(c->kernel.collapse_table));
	if (n >= 0 && (size_t)n < len && c->kernel.rcu_everywhere)
		n += snprintf(buf + n, len - (size_t)n, ".rcu-everywhere");
	if (n >= 0 && (size_t)n < len && c->kernel.retract != RETRACT_FREE)
		n += snprintf(buf + n, len - (size_t)n, ".%s", retract_gen_name(c->kernel.retract));
	if (n >= 0 && (size_t)n < len && c->kernel.unshare_sync != UNSHARE_SYNC_BY_FIXES)
		n += snprintf(buf + n, len - (size_t)n, ".unshare-%s",
			      unshare_sync_name(c->kernel.unshare_sync));
	if (n >= 0 && (size_t)n < len && c->walkers &&
	    c->walkers != scenario_default_walkers(c->scenario, c->kernel))
		n += snprintf(buf + n, len - (size_t)n, ".%s",
			      c->walkers == WALKER_MASK(WALKER_RCU) ? "rcu" :
			      c->walkers == WALKER_MASK(WALKER_GUP) ? "gup" : "gup+rcu");
	if (n >= 0 && (size_t)n < len && c->memory != MEMORY_SC)
		n += snprintf(buf + n, len - (size_t)n, ".%s", memory_model_name(c->memory));
	if (n >= 0 && (size_t)n < len && c->dropped) {
		char names[256];

		/* "no-a+b": a directory name without a comma */
		barrier_list_format(c->dropped, names, sizeof(names));
		for (char *p = names; *p; p++)
			if (*p == ',')
				*p = '+';
		snprintf(buf + n, len - (size_t)n, ".no-%s", names);
	}
}
