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
 * tlb_remove_table_sync_one(): with RCU table free, an IPI to every other
 * CPU, returning once none is still in an interrupts-off section that
 * began before the call (so no GUP-fast walker can still hold a table
 * unlinked before it); without RCU table free, nothing (the TLB flush
 * already IPI'd every CPU that may walk the mm). Which CPUs is the
 * machine's sync policy (enum sync_policy); @mm, the mm whose table goes
 * (NULL: none in particular), is what the walkers and mm-cpumask policies
 * look at.
 */
int tlb_remove_table_sync_one(struct mm_struct *mm);   /* 0, or -EDEADLK as above */

/*
 * Paravirt: the calling CPU's vCPU is preempted by the host from
 * pv_vcpu_preempt() to pv_vcpu_resume(); paravirt flushes meanwhile queue
 * their work for it instead of interrupting it, and pv_vcpu_resume()
 * performs that queued flush before returning.
 */
void pv_vcpu_preempt(void);
void pv_vcpu_resume(void);

#endif /* PTLAB_TLB_H */
