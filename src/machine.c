// SPDX-License-Identifier: MIT
/* Setting the machine up and tearing it down with an account of every frame. */
#include <errno.h>
#include <linux/membarrier.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <urcu/urcu-memb.h>

#include "cpu.h"
#include "khugepaged.h"
#include "machine.h"
#include "sanitizer.h"
#include "ptlab/huge.h"

/* Written by ptlab_init()/ptlab_exit(), which the application calls from
 * one thread while no other CPU runs (they are not thread-safe). */
struct machine machine;

void ptlab_config_default(struct ptlab_config *cfg)
{
	if (!cfg)
		return;
	cfg->profile = *ptlab_profile_find("x86");
	cfg->fixes.pmd_recheck = true;
	cfg->fixes.sync = SYNC_ALL;
	cfg->kernel = ptlab_kernel_default(&cfg->profile);
	cfg->pool_bytes = PTLAB_POOL_DEFAULT;
	cfg->dropped_barriers = 0;
}

int ptlab_config_profile(struct ptlab_config *cfg, const char *profile_name)
{
	const struct ptlab_profile *p = ptlab_profile_find(profile_name);

	if (!p || !cfg)
		return -EINVAL;
	ptlab_config_default(cfg);
	cfg->profile = *p;
	cfg->kernel = ptlab_kernel_default(p);
	return 0;
}

static bool config_valid(const struct ptlab_config *cfg)
{
	switch (cfg->profile.flush) {
	case TLB_FLUSH_IPI:
	case TLB_FLUSH_BROADCAST:
	case TLB_FLUSH_PARAVIRT:
	case TLB_FLUSH_HYPERCALL:
		break;
	default:
		return false;
	}
	if (cfg->profile.deposit != DEPOSIT_LIST && cfg->profile.deposit != DEPOSIT_IN_TABLE)
		return false;
	if (cfg->profile.pmd_read != PMD_READ_ONE_WORD && cfg->profile.pmd_read != PMD_READ_LOW_HIGH)
		return false;
	if ((unsigned int)cfg->profile.upper_table_free > UPPER_TABLE_AT_ONCE ||
	    ptlab_profile_check(&cfg->profile, NULL, NULL))
		return false;
	for (int b = 0; b < BARRIERS; b++)
		if ((cfg->dropped_barriers & BARRIER_BIT(b)) && !barrier_info((enum barrier)b)->lab)
			return false;
	if (cfg->dropped_barriers >> BARRIERS)
		return false;
	if ((unsigned int)cfg->kernel.collapse_table >= COLLAPSE_TABLE_COUNT ||
	    (unsigned int)cfg->kernel.unshare_sync >= UNSHARE_SYNC_COUNT ||
	    (unsigned int)cfg->kernel.retract >= RETRACT_COUNT)
		return false;
	return cfg->pool_bytes >= PTLAB_POOL_MIN && cfg->pool_bytes <= PTLAB_POOL_MAX &&
	       cfg->pool_bytes % HPAGE_PMD_SIZE == 0;
}

int ptlab_init(const struct ptlab_config *cfg)
{
	int ret;

	if (!cfg || !config_valid(cfg))
		return -EINVAL;
	if (machine.initialized)
		return -EBUSY;
	/* smp_wait_irqs_off_sections() falls back to signals without it. */
	syscall(__NR_membarrier, MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED, 0, 0);
	ret = page_alloc_init(cfg->pool_bytes);
	if (ret)
		return ret;
	ptlab_asan_log_begin();
	machine.profile = cfg->profile;
	machine.kernel = cfg->kernel;
	/* The 2026 series' end state: every user table, of every level,
	 * freed after a grace period, as if every architecture selected RCU
	 * table free (whose sync then sends IPIs too). */
	if (cfg->kernel.rcu_everywhere) {
		machine.profile.rcu_table_free = true;
		machine.profile.sync_ipi = true;
		machine.profile.upper_table_free = UPPER_TABLE_RCU;
	}
	machine.pool_bytes = cfg->pool_bytes;
	machine.dropped_barriers = cfg->dropped_barriers;
	ptlab_set_fixes(cfg->fixes);
	machine.initialized = true;
	return 0;
}

int ptlab_exit(struct ptlab_teardown_report *report)
{
	struct ptlab_teardown_report r = { 0 };
	uint64_t typed[PAGE_TYPE_COUNT] = { 0 };
	struct page_alloc_stats st;

	if (!machine.initialized)
		return -EINVAL;
	/* khugepaged's thread is a CPU of its own: it goes first. */
	khugepaged_stop();
	if (num_online_cpus() - (this_cpu ? 1 : 0))
		return -EBUSY;
	/* Tables still waiting for a grace period come back first. */
	ptlab_rcu_barrier();
	page_alloc_get_stats(&st);
	for (int t = 0; t < PAGE_TYPE_COUNT; t++) {
		if (t == PAGE_TYPE_FREE)
			continue;
		r.leaked[t] = st.by_type[t];
		r.leaked_total += st.by_type[t];
	}
	for (uint32_t pfn = 0; pfn < ptlab_nr_frames; pfn++) {
		enum page_type t = page_type(pfn_to_page(pfn));

		if (t == PAGE_TYPE_FREE && page_ref_count(pfn_to_page(pfn)) != 0)
			r.bad_refcounts++;
		if ((unsigned int)t < PAGE_TYPE_COUNT)
			typed[t]++;
	}
	for (int t = 0; t < PAGE_TYPE_COUNT; t++)
		r.miscounted += typed[t] > st.by_type[t] ? typed[t] - st.by_type[t]
							 : st.by_type[t] - typed[t];
	r.miscounted += st.nr_free > typed[PAGE_TYPE_FREE] ? st.nr_free - typed[PAGE_TYPE_FREE]
							   : typed[PAGE_TYPE_FREE] - st.nr_free;
	if (report)
		*report = r;
	page_alloc_exit();
	ptlab_asan_log_end();
	machine.initialized = false;
	return r.leaked_total || r.bad_refcounts || r.miscounted ? -ENOTEMPTY : 0;
}

void ptlab_rcu_barrier(void)
{
	urcu_memb_barrier();
}

pid_t ptlab_fork(void)
{
	pid_t pid;

	urcu_memb_call_rcu_before_fork();
	pid = fork();
	if (pid == 0)
		urcu_memb_call_rcu_after_fork_child();
	else
		urcu_memb_call_rcu_after_fork_parent();
	return pid;
}

const struct ptlab_config *ptlab_machine_config(void)
{
	static struct ptlab_config cfg;

	if (!machine.initialized)
		return NULL;
	cfg.profile = machine.profile;
	cfg.kernel = machine.kernel;
	cfg.fixes = ptlab_get_fixes();
	cfg.pool_bytes = machine.pool_bytes;
	cfg.dropped_barriers = machine.dropped_barriers;
	return &cfg;
}

void ptlab_set_fixes(struct ptlab_fixes fixes)
{
	atomic_store_explicit(&machine.pmd_recheck, fixes.pmd_recheck, memory_order_relaxed);
	atomic_store_explicit(&machine.sync, (int)fixes.sync, memory_order_relaxed);
}

struct ptlab_fixes ptlab_get_fixes(void)
{
	return (struct ptlab_fixes){ .pmd_recheck = machine_pmd_recheck(),
				     .sync = machine_sync() };
}

#ifdef PTLAB_TSAN
/*
 * liburcu is not built with TSan: its threads' own synchronization is
 * invisible, so reports from inside it are ignored. ptlab's hand-offs to
 * liburcu carry their own release/acquire pair (mmu_table_batch).
 */
const char *__tsan_default_suppressions(void);
const char *__tsan_default_suppressions(void)
{
	return "called_from_lib:liburcu-memb.so\n"
	       "called_from_lib:liburcu-common.so\n";
}
#endif

void ptlab_bug(const char *what, uint64_t value)
{
	fprintf(stderr, "ptlab: BUG: %s (%#llx)\n", what, (unsigned long long)value);
	abort();
}
