/* SPDX-License-Identifier: MIT */
/*
 * A CPU's software TLB: 64 direct-mapped translations of 4 KiB pages of the
 * CPU's current mm (no ASIDs: switching mm empties it).
 *
 * Rules:
 * - entry[] words are written whole with atomic stores: filled by the
 *   owner inside a hardware access, invalidated by the owner (local flush,
 *   IPI flush function) and by broadcast flushers on other CPUs. The owner
 *   reads them with seq_cst loads inside a hardware access.
 * - hw_seq is odd while the owner performs a hardware access (lookup,
 *   table walk on a miss, fill, and the data access translated), always
 *   with interrupts off. Only the owner increments it: seq_cst at the
 *   start, release at the end. A broadcast flush (tlb.c) reads it to wait
 *   for an access in flight, as a TLBI or INVLPGB completes only after the
 *   accesses that used the old translation.
 */
#ifndef PTLAB_TLB_SOFT_H
#define PTLAB_TLB_SOFT_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#define TLB_SOFT_ENTRIES 64

struct tlb_soft {
	_Atomic uint64_t entry[TLB_SOFT_ENTRIES];
	_Atomic uint64_t hw_seq;
	/* No hit, miss or flush counters: a shared counter bumped here would
	 * put a locked instruction (a full fence on x86) in every lookup and
	 * in every flusher's pass over another CPU's TLB, where the kernel's
	 * TLB fill and TLBI have none, and lengthen the flush that a
	 * store-buffering race must outlast. */
};

/* Entry layout: bit 0 valid, bit 1 writable, bits 2..37 the virtual page
 * number, bits 38..63 the pfn. */
#define TLB_VALID 1ULL
#define TLB_WRITABLE 2ULL
#define TLB_VPN_SHIFT 2
#define TLB_VPN_BITS 36
#define TLB_PFN_SHIFT 38

static inline unsigned int tlb_slot(uint64_t vaddr)
{
	return (unsigned int)(vaddr >> 12) % TLB_SOFT_ENTRIES;
}

static inline uint64_t tlb_entry_vpn(uint64_t e)
{
	return (e >> TLB_VPN_SHIFT) & ((1ULL << TLB_VPN_BITS) - 1);
}

void tlb_soft_init(struct tlb_soft *t);
/* Looks @vaddr up; true with *pfn set on a hit that allows the access. */
bool tlb_lookup(struct tlb_soft *t, uint64_t vaddr, bool write, uint32_t *pfn);
void tlb_fill(struct tlb_soft *t, uint64_t vaddr, uint32_t pfn, bool writable);
/* Invalidates the entries of [start, end); all of them for end == 0. */
void tlb_invalidate(struct tlb_soft *t, uint64_t start, uint64_t end);

static inline void hw_access_begin(struct tlb_soft *t)
{
	atomic_fetch_add_explicit(&t->hw_seq, 1, memory_order_seq_cst);
}

static inline void hw_access_end(struct tlb_soft *t)
{
	atomic_fetch_add_explicit(&t->hw_seq, 1, memory_order_release);
}

#endif /* PTLAB_TLB_SOFT_H */
