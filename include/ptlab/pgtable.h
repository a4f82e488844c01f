/* SPDX-License-Identifier: MIT */
/*
 * Page-table entries (mirrors include/linux/pgtable.h and the x86-64 bit
 * layout of arch/x86/include/asm/pgtable_types.h).
 *
 * Four levels, PGD -> PUD -> PMD -> PTE (P4D folded), each a frame of the
 * pool holding 512 eight-byte slots. A slot is a C11 atomic: lockless
 * walkers read each entry once with a single atomic load (the kernel's
 * READ_ONCE(), here smp_load_acquire(), so that a table published by
 * pmd_populate() is seen initialized), writers store a whole entry with a
 * single atomic store.
 *
 * Values (pte_t, pmd_t, ...) are plain structs, as in the kernel; slots
 * (struct pte_slot, ...) are what pte_t *ptep points to in the kernel.
 */
#ifndef PTLAB_PGTABLE_H
#define PTLAB_PGTABLE_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "ptlab/barrier.h"
#include "ptlab/page.h"
#include "ptlab/types.h"

/* x86-64 entry bits */
#define _PAGE_PRESENT  (1ULL << 0)
#define _PAGE_RW       (1ULL << 1)
#define _PAGE_USER     (1ULL << 2)
#define _PAGE_ACCESSED (1ULL << 5)
#define _PAGE_DIRTY    (1ULL << 6)
#define _PAGE_PSE      (1ULL << 7)   /* huge page, at the PMD level */
#define _PAGE_SPECIAL  (1ULL << 9)   /* software bit: no struct page behind */
#define PTE_PFN_MASK   0x000ffffffffff000ULL   /* bits 12..51 */

/* An entry pointing to a lower-level table (x86's _PAGE_TABLE). */
#define _PAGE_TABLE (_PAGE_PRESENT | _PAGE_RW | _PAGE_USER | _PAGE_ACCESSED | \
		     _PAGE_DIRTY)

typedef struct { uint64_t pte; } pte_t;
typedef struct { uint64_t pmd; } pmd_t;
typedef struct { uint64_t pud; } pud_t;
typedef struct { uint64_t pgd; } pgd_t;

struct pte_slot { _Atomic uint64_t val; };
struct pmd_slot { _Atomic uint64_t val; };
struct pud_slot { _Atomic uint64_t val; };
struct pgd_slot { _Atomic uint64_t val; };

static inline uint64_t pte_val(pte_t p) { return p.pte; }
static inline uint64_t pmd_val(pmd_t p) { return p.pmd; }
static inline uint64_t pud_val(pud_t p) { return p.pud; }
static inline uint64_t pgd_val(pgd_t p) { return p.pgd; }

static inline unsigned int pgd_index(uint64_t a) { return (a >> PGDIR_SHIFT) & 511; }
static inline unsigned int pud_index(uint64_t a) { return (a >> PUD_SHIFT) & 511; }
static inline unsigned int pmd_index(uint64_t a) { return (a >> PMD_SHIFT) & 511; }
static inline unsigned int pte_index(uint64_t a) { return (a >> PAGE_SHIFT) & 511; }

static inline uint64_t entry_pfn(uint64_t v) { return (v & PTE_PFN_MASK) >> PAGE_SHIFT; }

/* PTE */
static inline bool pte_none(pte_t p) { return p.pte == 0; }
static inline bool pte_present(pte_t p) { return p.pte & _PAGE_PRESENT; }
static inline bool pte_write(pte_t p) { return p.pte & _PAGE_RW; }
static inline bool pte_dirty(pte_t p) { return p.pte & _PAGE_DIRTY; }
static inline bool pte_special(pte_t p) { return p.pte & _PAGE_SPECIAL; }
/* x86's pte_access_permitted(): present, user, and writable if asked. */
static inline bool pte_access_permitted(pte_t p, bool write)
{
	uint64_t need = _PAGE_PRESENT | _PAGE_USER | (write ? _PAGE_RW : 0);

	return (p.pte & need) == need;
}
static inline uint64_t pte_pfn(pte_t p) { return entry_pfn(p.pte); }
static inline pte_t pfn_pte(uint64_t pfn, uint64_t prot)
{
	return (pte_t){ (pfn << PAGE_SHIFT) | prot };
}
static inline pte_t pte_mkyoung(pte_t p) { return (pte_t){ p.pte | _PAGE_ACCESSED }; }
static inline pte_t pte_mkdirty(pte_t p) { return (pte_t){ p.pte | _PAGE_DIRTY }; }

/* PMD */
static inline bool pmd_none(pmd_t p) { return p.pmd == 0; }
static inline bool pmd_present(pmd_t p) { return p.pmd & _PAGE_PRESENT; }
/* A huge PMD, present or invalidated by a split in progress (x86's
 * pmd_trans_huge(): the PSE bit alone). */
static inline bool pmd_trans_huge(pmd_t p)
{
	return p.pmd & _PAGE_PSE;
}
static inline bool pmd_write(pmd_t p) { return p.pmd & _PAGE_RW; }
static inline bool pmd_access_permitted(pmd_t p, bool write)
{
	uint64_t need = _PAGE_PRESENT | _PAGE_USER | (write ? _PAGE_RW : 0);

	return (p.pmd & need) == need;
}
static inline uint64_t pmd_pfn(pmd_t p) { return entry_pfn(p.pmd); }
static inline pmd_t pfn_pmd(uint64_t pfn, uint64_t prot)
{
	return (pmd_t){ (pfn << PAGE_SHIFT) | prot };
}
/* A huge PMD mapping the 2 MiB folio at @pfn (mk_huge_pmd()). */
static inline pmd_t mk_huge_pmd(uint64_t pfn, bool writable)
{
	return pfn_pmd(pfn, _PAGE_PRESENT | _PAGE_USER | _PAGE_ACCESSED |
			       _PAGE_DIRTY | _PAGE_PSE | (writable ? _PAGE_RW : 0));
}

/* PUD, PGD */
static inline bool pud_none(pud_t p) { return p.pud == 0; }
static inline bool pud_present(pud_t p) { return p.pud & _PAGE_PRESENT; }
static inline uint64_t pud_pfn(pud_t p) { return entry_pfn(p.pud); }
static inline bool pgd_none(pgd_t p) { return p.pgd == 0; }
static inline bool pgd_present(pgd_t p) { return p.pgd & _PAGE_PRESENT; }
static inline uint64_t pgd_pfn(pgd_t p) { return entry_pfn(p.pgd); }

/* Lockless reads (ptep_get_lockless()/pmdp_get_lockless(), the kernel's
 * READ_ONCE() of an entry): one atomic load each. The kernel relies on
 * the address dependency from an entry to the table it points to; C11
 * has no usable name for that (consume is acquire in practice), so
 * these are smp_load_acquire(), paired with the smp_store_release() of
 * set_*() that published the lower-level table (see ptlab/barrier.h). */
static inline pte_t ptep_get_lockless(struct pte_slot *ptep)
{
	return (pte_t){ smp_load_acquire(&ptep->val) };
}
static inline pmd_t pmdp_get_lockless(struct pmd_slot *pmdp)
{
	return (pmd_t){ smp_load_acquire(&pmdp->val) };
}
static inline pud_t pudp_get(struct pud_slot *pudp)
{
	return (pud_t){ smp_load_acquire(&pudp->val) };
}
static inline pgd_t pgdp_get(struct pgd_slot *pgdp)
{
	return (pgd_t){ smp_load_acquire(&pgdp->val) };
}
/*
 * mirrors pmdp_get_lockless() under CONFIG_GUP_GET_PXX_LOW_HIGH (x86-32
 * PAE): an entry read as two 32-bit halves, low, high, then low again,
 * retrying while the low half changed. Each half here is one acquire
 * load of the whole slot, of which it keeps its half: what two loads at
 * two instants see (the kernel's smp_rmb() between them, acquire here).
 * The result can mix two values only if the entry went from one present
 * value to another with the same low half between the loads.
 */
static inline pmd_t pmdp_get_lockless_low_high(struct pmd_slot *pmdp)
{
	uint32_t low, high;

	do {
		low = (uint32_t)atomic_load_explicit(&pmdp->val, memory_order_acquire);
		high = (uint32_t)(atomic_load_explicit(&pmdp->val, memory_order_acquire) >> 32);
	} while (low != (uint32_t)atomic_load_explicit(&pmdp->val, memory_order_acquire));
	return (pmd_t){ ((uint64_t)high << 32) | low };
}
/* Reads under the entry's lock use the same single load. */
#define ptep_get ptep_get_lockless
#define pmdp_get pmdp_get_lockless

/*
 * The re-checks of gup_fast after its reference: sequentially consistent
 * loads. With the seq_cst reference increment before them and the seq_cst
 * clearing exchange plus refcount load on the writer's side (collapse,
 * zap), either the walker sees the entry changed or the writer sees the
 * reference: the store-load ordering the kernel gets from the full barrier
 * of its atomic RMW and of ptep_get_and_clear(). The kernel writes a
 * READ_ONCE() here; C11 orders that store-load pair only when the load
 * is seq_cst too, so it stays spelled out (see ptlab/barrier.h).
 */
static inline pte_t ptep_recheck(struct pte_slot *ptep)
{
	return (pte_t){ atomic_load_explicit(&ptep->val, memory_order_seq_cst) };
}
static inline pmd_t pmdp_recheck(struct pmd_slot *pmdp)
{
	return (pmd_t){ atomic_load_explicit(&pmdp->val, memory_order_seq_cst) };
}

/* Writes. set_*(): release, so whatever the entry points to (a zeroed
 * page, a filled table) is seen by a walker that reads the entry. */
static inline void set_pte(struct pte_slot *ptep, pte_t v)
{
	smp_store_release(&ptep->val, v.pte);
}
static inline void set_pmd(struct pmd_slot *pmdp, pmd_t v)
{
	smp_store_release(&pmdp->val, v.pmd);
}
static inline void set_pud(struct pud_slot *pudp, pud_t v)
{
	smp_store_release(&pudp->val, v.pud);
}
static inline void set_pgd(struct pgd_slot *pgdp, pgd_t v)
{
	smp_store_release(&pgdp->val, v.pgd);
}
/* Clearing exchanges are xchg(), fully ordered (seq_cst, as x86's
 * xchg): see ptep_recheck(). */
static inline pte_t ptep_get_and_clear(struct pte_slot *ptep)
{
	return (pte_t){ xchg(&ptep->val, 0) };
}
static inline pmd_t pmdp_huge_get_and_clear(struct pmd_slot *pmdp)
{
	return (pmd_t){ xchg(&pmdp->val, 0) };
}
/* Makes a huge PMD not present but still huge, never none
 * (pmdp_invalidate()): walkers stop at it, and a lockless reader that
 * sees it huge takes its lock, which the split holds until the PTE table
 * is in, instead of skipping a PMD it read as empty. Under the PMD lock;
 * returns the old value. */
static inline pmd_t pmdp_invalidate(struct pmd_slot *pmdp)
{
	uint64_t v = READ_ONCE(pmdp->val);

	return (pmd_t){ xchg(&pmdp->val, v & ~_PAGE_PRESENT) };
}
static inline void pmd_clear(struct pmd_slot *pmdp)
{
	xchg(&pmdp->val, 0);
}
static inline void pud_clear(struct pud_slot *pudp)
{
	xchg(&pudp->val, 0);
}
static inline void pgd_clear(struct pgd_slot *pgdp)
{
	xchg(&pgdp->val, 0);
}
/* Makes a PMD point to the PTE table @table (pmd_populate()). */
static inline void pmd_populate(struct pmd_slot *pmdp, struct page *table)
{
	set_pmd(pmdp, pfn_pmd(page_to_pfn(table), _PAGE_TABLE));
}

/* Slot addresses inside a table frame. The *_lockless() forms take an
 * entry read locklessly and return NULL when it does not point into the
 * pool (garbage read from a stale table), as a walker must never follow a
 * pointer outside physical memory. */
static inline struct pgd_slot *pgd_offset_pgd(struct page *pgd_table, uint64_t a)
{
	return (struct pgd_slot *)page_address(pgd_table) + pgd_index(a);
}
static inline struct pud_slot *pud_offset(pgd_t pgd, uint64_t a)
{
	if (!pfn_valid(pgd_pfn(pgd)))
		return NULL;
	return (struct pud_slot *)page_address(pfn_to_page(pgd_pfn(pgd))) + pud_index(a);
}
static inline struct pmd_slot *pmd_offset(pud_t pud, uint64_t a)
{
	if (!pfn_valid(pud_pfn(pud)))
		return NULL;
	return (struct pmd_slot *)page_address(pfn_to_page(pud_pfn(pud))) + pmd_index(a);
}
static inline struct pte_slot *pte_offset_map(pmd_t pmd, uint64_t a)
{
	if (!pfn_valid(pmd_pfn(pmd)))
		return NULL;
	return (struct pte_slot *)page_address(pfn_to_page(pmd_pfn(pmd))) + pte_index(a);
}

/* The table frame that holds a slot. */
static inline struct page *pmd_table_page(struct pmd_slot *pmdp)
{
	return virt_to_page(pmdp);
}
static inline struct page *pte_table_page(struct pte_slot *ptep)
{
	return virt_to_page(ptep);
}

static inline uint64_t pgd_addr_end(uint64_t a, uint64_t end)
{
	uint64_t b = (a + PGDIR_SIZE) & PGDIR_MASK;

	return b - 1 < end - 1 ? b : end;
}
static inline uint64_t pud_addr_end(uint64_t a, uint64_t end)
{
	uint64_t b = (a + PUD_SIZE) & PUD_MASK;

	return b - 1 < end - 1 ? b : end;
}
static inline uint64_t pmd_addr_end(uint64_t a, uint64_t end)
{
	uint64_t b = (a + PMD_SIZE) & PMD_MASK;

	return b - 1 < end - 1 ? b : end;
}

#endif /* PTLAB_PGTABLE_H */
