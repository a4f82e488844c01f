/* SPDX-License-Identifier: MIT */
/*
 * TLB flushes and the table-freeing synchronization (mirrors
 * flush_tlb_mm_range() and include/asm-generic/tlb.h).
 */
#ifndef PTLAB_TLB_H
#define PTLAB_TLB_H

#include <stdint.h>

struct mm_struct;

/*
 * Flushes [start, end) of @mm from every TLB that may cache it, in the
 * machine profile's style: IPI (waits for every CPU in mm_cpumask, hence
 * for their interrupts-off sections), broadcast (no IPI; waits only for
 * hardware accesses in flight) or paravirt (IPI, except that a preempted
 * vCPU gets the flush queued with no wait). end == 0 flushes everything.
 * 0, -EINVAL for a NULL @mm, -EDEADLK with interrupts off (an IPI target
 * could be waiting for this CPU).
 */
int flush_tlb_mm_range(struct mm_struct *mm, uint64_t start, uint64_t end);
int flush_tlb_mm(struct mm_struct *mm);
void local_flush_tlb_all(void);

/*
 * tlb_remove_table_sync_one(): where the profile's architecture selects
 * MMU_GATHER_RCU_TABLE_FREE (profile.sync_ipi), an IPI to every other
 * CPU, returning once none is still in an interrupts-off section that
 * began before the call (so no GUP-fast walker can still hold a table
 * unlinked before it); without it, nothing (the TLB flush already IPI'd
 * every CPU that may walk the mm). The skip policies (Lance Yang's step
 * 1, enum sync_policy) skip it, from inside, for every caller.
 * 0, or -EDEADLK as above.
 */
int tlb_remove_table_sync_one(void);
/*
 * tlb_remove_table_sync_mm(): step 2's sync for @mm, which the callers
 * that step converts use (collapse, 6.19's unshare gather, the
 * batch-allocation fallback): under the walkers policy the CPUs whose
 * lockless-walk marker names @mm, under mm-cpumask those of
 * mm_cpumask(@mm); under the others, or for a NULL @mm, the same as
 * tlb_remove_table_sync_one(). 0, or -EDEADLK as above.
 */
int tlb_remove_table_sync_mm(struct mm_struct *mm);

/*
 * Paravirt: the calling CPU's vCPU is preempted by the host from
 * pv_vcpu_preempt() to pv_vcpu_resume(); paravirt flushes meanwhile queue
 * their work for it instead of interrupting it, and pv_vcpu_resume()
 * performs that queued flush before returning.
 */
void pv_vcpu_preempt(void);
void pv_vcpu_resume(void);

#endif /* PTLAB_TLB_H */
