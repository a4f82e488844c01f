// SPDX-License-Identifier: MIT
/*
 * Software TLBs and the three ways a TLB flush reaches other CPUs
 * (mirrors arch/x86/mm/tlb.c flush_tlb_mm_range(), arm64's TLBI broadcast
 * and arch/x86/kernel/kvm.c kvm_flush_tlb_multi()).
 */
#include <errno.h>

#include "cpu.h"
#include "lock.h"
#include "machine.h"
#include "mm_internal.h"
#include "ptlab/race.h"
#include "tlb.h"

void tlb_soft_init(struct tlb_soft *t)
{
	for (int i = 0; i < TLB_SOFT_ENTRIES; i++)
		atomic_store_explicit(&t->entry[i], 0, memory_order_relaxed);
	atomic_store_explicit(&t->hw_seq, 0, memory_order_relaxed);
}

bool tlb_lookup(struct tlb_soft *t, uint64_t vaddr, bool write, uint32_t *pfn)
{
	/* seq_cst: pairs with the invalidating stores and hw_seq load of a
	 * broadcast flush (see tlb_flush_remote_broadcast()). */
	uint64_t e = atomic_load_explicit(&t->entry[tlb_slot(vaddr)], memory_order_seq_cst);

	if (!(e & TLB_VALID) || tlb_entry_vpn(e) != ((vaddr >> PAGE_SHIFT) &
						    ((1ULL << TLB_VPN_BITS) - 1)) ||
	    (write && !(e & TLB_WRITABLE)))
		return false;
	*pfn = (uint32_t)(e >> TLB_PFN_SHIFT);
	return true;
}

void tlb_fill(struct tlb_soft *t, uint64_t vaddr, uint32_t pfn, bool writable)
{
	uint64_t vpn = (vaddr >> PAGE_SHIFT) & ((1ULL << TLB_VPN_BITS) - 1);
	uint64_t e = TLB_VALID | (writable ? TLB_WRITABLE : 0) |
		     (vpn << TLB_VPN_SHIFT) | ((uint64_t)pfn << TLB_PFN_SHIFT);

	atomic_store_explicit(&t->entry[tlb_slot(vaddr)], e, memory_order_seq_cst);
}

void tlb_invalidate(struct tlb_soft *t, uint64_t start, uint64_t end)
{
	uint64_t first = start >> PAGE_SHIFT, last = (end - 1) >> PAGE_SHIFT;

	for (int i = 0; i < TLB_SOFT_ENTRIES; i++) {
		uint64_t e = atomic_load_explicit(&t->entry[i], memory_order_relaxed);
		uint64_t vpn = tlb_entry_vpn(e);

		if (!(e & TLB_VALID))
			continue;
		if (end && (vpn < first || vpn > last))
			continue;
		atomic_store_explicit(&t->entry[i], 0, memory_order_seq_cst);
	}
}

struct flush_tlb_info {
	struct mm_struct *mm;
	uint64_t start, end;
};

/* The IPI function of a flush (flush_tlb_func()): runs on the target with
 * interrupts off, so never inside one of its hardware accesses. */
static void flush_tlb_func(void *arg)
{
	struct flush_tlb_info *info = arg;
	struct cpu *c = this_cpu;

	if (atomic_load_explicit(&c->mm, memory_order_relaxed) == info->mm)
		tlb_invalidate(&c->tlb, info->start, info->end);
}

/*
 * A broadcast invalidation of @t's TLB (TLBI IS / INVLPGB + TLBSYNC): no
 * IPI and no wait for interrupts-off sections, but, like the hardware's
 * completion, no return while a hardware access that may use the old
 * translation is in flight. Invalidate, then look at hw_seq (both seq_cst,
 * against the owner's seq_cst increment and lookup): if an access was or
 * is in flight, wait for it to end and invalidate again, since its walk
 * may have refilled an entry from the old tables.
 */
static void tlb_flush_remote_broadcast(struct cpu *t, uint64_t start, uint64_t end)
{
	uint64_t before = atomic_load_explicit(&t->tlb.hw_seq, memory_order_seq_cst);
	uint64_t after;

	tlb_invalidate(&t->tlb, start, end);
	after = atomic_load_explicit(&t->tlb.hw_seq, memory_order_seq_cst);
	if (after & 1) {
		struct backoff b = BACKOFF_INIT;

		while (atomic_load_explicit(&t->tlb.hw_seq, memory_order_acquire) == after)
			wait_backoff(&b);
	}
	if (before != after || (before & 1))
		tlb_invalidate(&t->tlb, start, end);
}

/*
 * For a paravirt flush: a target whose vCPU is preempted gets the flush
 * queued for when it runs again (the CAS requires it still preempted, as
 * kvm_flush_tlb_multi() does); true when it was queued, false when the
 * target must get an IPI.
 */
static bool pv_queue_flush(struct cpu *t)
{
	int state = atomic_load_explicit(&t->pv_state, memory_order_relaxed);

	if (!(state & PV_PREEMPTED))
		return false;
	return atomic_compare_exchange_strong_explicit(&t->pv_state, &state,
						       state | PV_FLUSH_PENDING,
						       memory_order_seq_cst,
						       memory_order_relaxed);
}

/*
 * Whether @mm is flushed with no IPI in this profile: by broadcast, or by
 * a hypercall (which the machine performs the same way: the hypervisor
 * invalidates the other vCPUs' TLBs without interrupting them). An
 * INVLPGB-style
 * profile (broadcast_min_cpus > 0) broadcasts only for an mm that has
 * been active on that many CPUs (x86's global ASID, see use_mm()); other
 * mms get the native IPI flush.
 */
static bool flush_by_broadcast(struct mm_struct *mm)
{
	if (machine.profile.flush == TLB_FLUSH_HYPERCALL)
		return true;
	if (machine.profile.flush != TLB_FLUSH_BROADCAST)
		return false;
	return !machine.profile.broadcast_min_cpus ||
	       atomic_load_explicit(&mm->global_asid, memory_order_relaxed);
}

/*
 * mirrors consider_global_asid() (x86, 6.15+), called after an IPI flush:
 * an mm active on more than broadcast_min_cpus - 1 CPUs gets a global
 * ASID, and from then on its flushes are broadcasts. The kernel samples
 * this on about one flush in 32 (current->pid against jiffies) and counts
 * only CPUs not in lazy TLB mode; ptlab, which has no lazy mode, looks at
 * every IPI flush.
 */
static void consider_global_asid(struct mm_struct *mm, cpumask_t active)
{
	if (machine.profile.flush == TLB_FLUSH_BROADCAST && machine.profile.broadcast_min_cpus &&
	    (unsigned int)__builtin_popcountll(active) >= machine.profile.broadcast_min_cpus)
		atomic_store_explicit(&mm->global_asid, true, memory_order_relaxed);
}

/* With flush_tlb_multi() and broadcast_tlb_flush() (6.15+) folded in. */
int flush_tlb_mm_range(struct mm_struct *mm, uint64_t start, uint64_t end)
{
	struct flush_tlb_info info = { .mm = mm, .start = start, .end = end };
	struct cpu *self = this_cpu;
	cpumask_t targets, ipi = 0;
	int ret;

	if (!mm)
		return -EINVAL;
	if (self && cpu_irqs_off(self))
		return -EDEADLK;
	if (self && atomic_load_explicit(&self->mm, memory_order_relaxed) == mm)
		tlb_invalidate(&self->tlb, start, end);
	/* seq_cst: after the entries changed (see mm_struct.cpumask). */
	targets = atomic_load_explicit(&mm->cpumask, memory_order_seq_cst);
	if (self)
		targets &= ~((cpumask_t)1 << self->id);
	if (!targets)
		return 0;

	if (flush_by_broadcast(mm)) {
		for (int i = 0; i < PTLAB_MAX_CPUS; i++)
			if (targets & ((cpumask_t)1 << i))
				tlb_flush_remote_broadcast(&cpus[i], start, end);
	} else if (machine.profile.flush == TLB_FLUSH_PARAVIRT) {
		for (int i = 0; i < PTLAB_MAX_CPUS; i++)
			if ((targets & ((cpumask_t)1 << i)) && !pv_queue_flush(&cpus[i]))
				ipi |= (cpumask_t)1 << i;
	} else {
		ipi = targets;
	}
	RACE_POINT(RP_TLB_FLUSH_BEGIN, .addr = start, .mask = ipi);
	ret = ipi ? smp_call_function_many(ipi, flush_tlb_func, &info, true) : 0;
	RACE_POINT(RP_TLB_FLUSH_END, .addr = start, .mask = ipi);
	if (ipi)
		consider_global_asid(mm, targets | (self ? (cpumask_t)1 << self->id : 0));
	return ret;
}

int flush_tlb_mm(struct mm_struct *mm)
{
	return flush_tlb_mm_range(mm, 0, 0);
}

void local_flush_tlb_all(void)
{
	if (this_cpu)
		tlb_invalidate(&this_cpu->tlb, 0, 0);
}

void pv_vcpu_preempt(void)
{
	struct cpu *c = this_cpu;

	if (c)
		atomic_fetch_or_explicit(&c->pv_state, PV_PREEMPTED, memory_order_seq_cst);
}

void pv_vcpu_resume(void)
{
	struct cpu *c = this_cpu;

	/* The host's record_steal_time(): a queued flush runs before the
	 * vCPU executes anything else. */
	if (c && (atomic_exchange_explicit(&c->pv_state, 0, memory_order_seq_cst) &
		  PV_FLUSH_PENDING))
		tlb_invalidate(&c->tlb, 0, 0);
}
