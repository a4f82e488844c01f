/* SPDX-License-Identifier: MIT */
/*
 * ptlab.pml: the kernel's page-table lifetime protocol as a Promela model,
 * checked exhaustively by Spin (`ptlab model`; docs/model.md).
 *
 * Actors: GUP-fast walkers (mm/gup.c), RCU walkers (a fault or another
 * madvise() in pte_offset_map_lock(), mm/pgtable-generic.c), khugepaged's
 * collapse (mm/khugepaged.c: collapse_huge_page()), a zapper of another
 * THP under the same PMD table (mm/huge_memory.c: zap_huge_pmd() ->
 * zap_deposited_table()), munmap (free_pgtables() through the mmu_gather,
 * mm/mmu_gather.c), munmap of a whole PUD range (free_pgtables() freeing
 * the PMD table as the architecture does), MADV_DONTNEED reclaiming an empty PTE table
 * (mm/pt_reclaim.c, 6.14+), two processes sharing a hugetlb PMD table, one
 * unsharing it (mm/hugetlb.c: huge_pmd_unshare()) and the other then
 * using it as its own, khugepaged retracting the PTE table of a file THP
 * (mm/khugepaged.c: collapse_pte_mapped_thp()), and the page allocator
 * handing a freed frame out again, and mremap moving A's PTE table to
 * another PMD entry and back (mm/mremap.c: move_normal_pmd()), or
 * unmapping it there and faulting A again.
 * The mechanisms that decide safety are modelled as they work:
 * interrupts-off sections, IPIs that wait, broadcast flushes that do not,
 * paravirt flushes that skip a preempted vCPU, RCU grace periods, the
 * deposit list and the in-table deposit.
 *
 * The model encodes mechanisms, never the expected verdict: `ptlab model`
 * compares what the exhaustive search finds with ptlab_expect().
 *
 * Switches (cpp macros; `ptlab model` passes -DNAME from the profile's
 * properties and the fix setting, never from a profile's name):
 *   RCU_TABLE_FREE        PTE tables are freed through the RCU batch
 *                         (tlb_remove_table() with RCU table free)
 *   SYNC_IPI              the architecture selects
 *                         CONFIG_MMU_GATHER_RCU_TABLE_FREE:
 *                         tlb_remove_table_sync_one() sends IPIs (implied
 *                         by RCU_TABLE_FREE, and by an RCU-freed PMD table)
 *   UPPER_AT_ONCE | UPPER_AFTER_FLUSH  how free_pgtables() frees a PMD
 *                         table (SCENARIO_MUNMAP_PMD; at most one): at
 *                         once, before the flush (pmd_free()); in the
 *                         page batch after the flush; neither: the RCU
 *                         batch
 *   FLUSH_IPI | FLUSH_BROADCAST | FLUSH_PARAVIRT | FLUSH_HYPERCALL
 *                         how a TLB flush reaches other CPUs (exactly one;
 *                         a hypercall flush waits for no vCPU, as a
 *                         broadcast, but goes through flush_tlb_multi())
 *   DEPOSIT_IN_TABLE      powerpc radix deposit (else the generic list)
 *   COLLAPSE_FLUSH_WAITS  pmdp_collapse_flush() itself IPIs mm_cpumask(mm)
 *                         and waits (powerpc hash:
 *                         serialize_against_pte_lookup())
 *   PMD_RECHECK           fix: gup_fast re-checks the PMD (70cbc3cc78a99)
 *   IPI_SYNC              fix: tlb_remove_table_sync_one() in collapse
 *   SYNC_SKIP_IF_FLUSH_IPI | SYNC_SKIP_NAIVE | SYNC_WALKERS | SYNC_MM_CPUMASK
 *                         which CPUs the sync interrupts (at most one;
 *                         none of them: every CPU, today's kernel)
 *   MM_CPUMASK            the architecture maintains mm_cpumask()
 *   PT_RECLAIM            CONFIG_PT_RECLAIM: a table batch that cannot be
 *                         allocated falls back to call_rcu(), not the sync
 *   SCENARIO_COLLAPSE_ZAP | SCENARIO_COLLAPSE_PIN | SCENARIO_MUNMAP |
 *   SCENARIO_PT_RECLAIM | SCENARIO_HUGETLB_UNSHARE | SCENARIO_MUNMAP_PMD |
 *   SCENARIO_RETRACT | SCENARIO_MREMAP
 *                         which actors run (exactly one)
 *   GUP_WALKERS, RCU_WALKERS  which kinds of walker run (at least one;
 *                         RCU walkers in SCENARIO_PT_RECLAIM, and in
 *                         SCENARIO_RETRACT with RETRACT_DEFER, only)
 *   RETRACT_DEFER         the 6.6+ retraction (else 6.1-6.5's): the PTE
 *                         cleared, the table freed after a grace period
 *   COLLAPSE_ZAP_RCU | COLLAPSE_FRESH  the 2026 series (at most one):
 *                         the zap frees the withdrawn table after a grace
 *                         period; or collapse deposits a new table and
 *                         frees the old one after a grace period
 *   UNSHARE_SYNC_PER_UNSHARE | UNSHARE_SYNC_GATHER  the wait after a
 *                         hugetlb unshare (at most one; neither: none)
 *   MOVE_PMD              SCENARIO_MREMAP: the architecture moves a whole
 *                         PTE table (move_normal_pmd()); else mremap moves
 *                         entry by entry (move_ptes()) and frees the old
 *                         table with the old range
 *   ABA_WITNESS           SCENARIO_MREMAP: also assert "aba_witness", that
 *                         no walker returns a pin after PMD A changed while
 *                         it was inside: its trail shows the seed's ABA
 *                         (`ptlab model` reads it as a witness, not as a
 *                         violation)
 *   MEM_TSO | MEM_WEAK    the memory model (at most one; neither:
 *                         sequential consistency): see "Memory models"
 *                         below and docs/memory.md
 *   DROP_GUP_PIN_MB, DROP_WALKER_MARK_MB, DROP_SYNC_SCAN_MB,
 *   DROP_PMD_CLEAR_XCHG, DROP_TLB_FLUSH_MB, DROP_SYNC_IPI_MB,
 *   DROP_SPIN_LOCK_RMW, DROP_IPI_CSD_RELEASE, DROP_RCU_GP_MB
 *                         a named barrier is left out (`ptlab model
 *                         --drop-barrier`; src/memory_model.c names the
 *                         kernel line of each); only with MEM_TSO or
 *                         MEM_WEAK
 * and, for experiments (`ptlab model --define NAME[=VALUE]`):
 *   NWALKERS              GUP-fast walkers, each on its own CPU (default 2)
 *   NRCU                  RCU walkers, each on its own CPU (default 1)
 *   CHECK_KINDS           mask of armed assertions: 1 stale table,
 *                         2 stale pin, 4 wrong page, 8 stale lock
 *                         (default 15)
 *   SEED_BUG_SYNC_BEFORE_CLEAR  a deliberately broken collapse that calls
 *                         tlb_remove_table_sync_one() before clearing the
 *                         PMD: shows the model is not vacuously safe
 *   SPLIT_AFTER_COLLAPSE  in the collapse scenarios, also split the new
 *                         huge PMD at A again (split_huge_pmd())
 *
 * Every protocol step prints one "STEP ..." line in the protocol's words,
 * inside the same d_step/atomic as the step itself; a guided replay of a
 * counterexample (spin -t) is read by keeping those lines in order. pan
 * does not execute printf.
 */

#if defined(SCENARIO_COLLAPSE_ZAP) + defined(SCENARIO_COLLAPSE_PIN) + defined(SCENARIO_MUNMAP) + \
    defined(SCENARIO_PT_RECLAIM) + defined(SCENARIO_HUGETLB_UNSHARE) + \
    defined(SCENARIO_MUNMAP_PMD) + defined(SCENARIO_RETRACT) + defined(SCENARIO_MREMAP) != 1
#error "define exactly one SCENARIO_*"
#endif
#if defined(UPPER_AT_ONCE) && defined(UPPER_AFTER_FLUSH)
#error "define at most one of UPPER_AT_ONCE, UPPER_AFTER_FLUSH"
#endif
/* The RCU batch exists only with MMU_GATHER_RCU_TABLE_FREE. */
#if !defined(SYNC_IPI) && (defined(RCU_TABLE_FREE) || \
    (defined(SCENARIO_MUNMAP_PMD) && !defined(UPPER_AT_ONCE) && !defined(UPPER_AFTER_FLUSH)))
#error "a table freed through the RCU batch needs SYNC_IPI"
#endif
#if !defined(GUP_WALKERS) && !defined(RCU_WALKERS)
#error "define GUP_WALKERS, RCU_WALKERS or both"
#endif
#if defined(RCU_WALKERS) && !defined(SCENARIO_PT_RECLAIM) && \
    !(defined(SCENARIO_RETRACT) && defined(RETRACT_DEFER))
#error "RCU walkers run in SCENARIO_PT_RECLAIM and SCENARIO_RETRACT with RETRACT_DEFER only"
#endif
#if defined(COLLAPSE_ZAP_RCU) && defined(COLLAPSE_FRESH)
#error "define at most one of COLLAPSE_ZAP_RCU, COLLAPSE_FRESH"
#endif
#if defined(UNSHARE_SYNC_PER_UNSHARE) && defined(UNSHARE_SYNC_GATHER)
#error "define at most one of UNSHARE_SYNC_PER_UNSHARE, UNSHARE_SYNC_GATHER"
#endif
#if defined(FLUSH_IPI) + defined(FLUSH_BROADCAST) + defined(FLUSH_PARAVIRT) + \
    defined(FLUSH_HYPERCALL) != 1
#error "define exactly one of FLUSH_IPI, FLUSH_BROADCAST, FLUSH_PARAVIRT, FLUSH_HYPERCALL"
#endif
#if defined(SYNC_SKIP_IF_FLUSH_IPI) + defined(SYNC_SKIP_NAIVE) + defined(SYNC_WALKERS) + \
    defined(SYNC_MM_CPUMASK) > 1
#error "define at most one sync policy"
#endif
/* The skip policies decide once, from the flush in use (a static key):
 * step 1 skips after the native IPI flush only; the naive version after
 * any flush_tlb_multi(), paravirt and hypercall ones included. */
#if (defined(SYNC_SKIP_IF_FLUSH_IPI) && defined(FLUSH_IPI)) || \
    (defined(SYNC_SKIP_NAIVE) && !defined(FLUSH_BROADCAST))
#define SYNC_SKIPPED
#endif

#if defined(MEM_TSO) && defined(MEM_WEAK)
#error "at most one memory model: MEM_TSO or MEM_WEAK"
#endif
#if defined(MEM_TSO) || defined(MEM_WEAK)
#define MEM_BUFFERED
#elif defined(DROP_GUP_PIN_MB) || defined(DROP_WALKER_MARK_MB) || \
	defined(DROP_SYNC_SCAN_MB) || defined(DROP_PMD_CLEAR_XCHG) || \
	defined(DROP_TLB_FLUSH_MB) || defined(DROP_SYNC_IPI_MB) || \
	defined(DROP_SPIN_LOCK_RMW) || defined(DROP_IPI_CSD_RELEASE) || \
	defined(DROP_RCU_GP_MB)
#error "a dropped barrier needs MEM_TSO or MEM_WEAK: under SC nothing is reordered"
#endif

#ifndef NWALKERS
#define NWALKERS 2
#endif
#ifndef NRCU
#define NRCU 1
#endif
#ifndef CHECK_KINDS
#define CHECK_KINDS 15
#endif
/* GUP-fast walkers run on cpu1..NGUP, RCU walkers on the CPUs after. */
#if defined(GUP_WALKERS)
#define NGUP NWALKERS
#else
#define NGUP 0
#endif
#if !defined(RCU_WALKERS)
#undef NRCU
#define NRCU 0
#endif

#if defined(SCENARIO_COLLAPSE_ZAP) || defined(SCENARIO_COLLAPSE_PIN)
#define COLLAPSES 1
#endif

/*
 * Which assertions are armed. Every assertion starts with its kind, so
 * pan's "assertion violated ( !(stale_table)|| ...)" says which kind was
 * violated. Never written: constants, they add no states (and, unlike
 * hidden variables, they allow the breadth-first search).
 */
#if CHECK_KINDS & 1
byte stale_table = 1;
#else
byte stale_table = 0;
#endif
#if CHECK_KINDS & 2
byte stale_pin = 1;
#else
byte stale_pin = 0;
#endif
#if CHECK_KINDS & 4
byte wrong_page = 1;
#else
byte wrong_page = 0;
#endif
/* An RCU walker's: the prefix tells `ptlab model` which kind of walker
 * violated it. */
#if CHECK_KINDS & 8
byte rcu_stale_lock = 1;
#else
byte rcu_stale_lock = 0;
#endif
/* Not a violation: a witness that the seed's ABA happens (ABA_WITNESS). */
#if defined(ABA_WITNESS)
byte aba_witness = 1;
#else
byte aba_witness = 0;
#endif

/*
 * The memory, kept tiny so that the search is exhaustive.
 *
 * Two entries of one PMD table, so they share pmd_lock and the deposit
 * list: A, the address the walkers look up, and B, another THP, which the
 * zapper removes. Two PTE table frames: T1 maps A; T2 was deposited when B
 * was collapsed earlier. Only a table's first entry is modelled: it is the
 * walkers' address, and one of the entries an in-table deposit overwrites
 * (the worst case for a walker; another entry would read none).
 */
#define PMD_A 0
#define PMD_B 1

/* PMD entry values: a table is its frame + 1. */
#define PMD_NONE    0
#define PMD_T1      1
#define PMD_T2      2
#define PMD_T3      3 /* COLLAPSE_FRESH's new table, once a split installs it */
#define PMD_HUGE_H  4 /* collapse's new huge page H */
#define PMD_HUGE_HB 5 /* the THP at B */
#define PMD_GARBAGE 6 /* munmap-pmd: the data of a reused PMD table frame,
		       * decoded as a PMD naming frame Y as a PTE table */
#define PMD_TABLE(v) ((v >= PMD_T1 && v <= PMD_T3) || v == PMD_GARBAGE)
/* The frame a PMD entry that names a table points to. */
#define PMD_FRAME(v) (v == PMD_GARBAGE -> TY : v - PMD_T1)

/* PTE table frames. In munmap-pmd the second frame is Y, a data page a
 * garbage PMD entry of a reused PMD table decodes as a PTE table. */
#define T1 0
#define T2 1
#define TY 1
#if defined(SCENARIO_MUNMAP_PMD)
#define IS_Y(t) (t == TY)
#else
#define IS_Y(t) 0
#endif
#if defined(COLLAPSE_FRESH)
#define T3 2 /* the new table collapse deposits (never linked before) */
#define NTABLES 3
#else
#define NTABLES 2
#endif

/* What a PTE table frame is. */
#define TBL_LIVE   0 /* a page table of this mm (mapped, or on a deposit list) */
#define TBL_LINKED 1 /* deposited in-table: its first entries hold list links */
#define TBL_FREE   2 /* freed to the page allocator */
#define TBL_DATA   3 /* handed out again: holds arbitrary data */

/*
 * Values of a table's first entry. LINK and GARBAGE are not PTEs, and a
 * walker decodes them as one. GARBAGE, the data of a frame handed out
 * again, may look like any present user PTE: it names some frame, X. A
 * LINK is a kernel address: on powerpc radix it has the present bit but
 * not _PAGE_READ (not a user page), so pte_access_permitted() fails and
 * the walker stops there, taking no reference: reading it is a stale
 * table, never a wrong page.
 */
#define PTE_NONE    0
#define PTE_P       1 /* maps small page P */
#define PTE_H       2 /* maps the first subpage of H (after a split) */
#define PTE_LINK    3 /* an in-table deposit's list link */
#define PTE_GARBAGE 4 /* the data of a frame handed out again */
#define PTE_HB      5 /* maps a subpage of HB (after a split of B) */
#define PTE_Q       6 /* maps page Q, faulted in at A after an unmap (mremap) */

/* Pages whose references walkers may take. */
#define PG_P  0 /* the small page mapped at A */
#define PG_X  1 /* a page in use elsewhere, never mapped at A */
#define PG_H  2 /* collapse's huge page, mapped at A once collapse is done */
#define PG_HB 3 /* the THP at B, never mapped at A */
#define PG_Q  4 /* mremap: the page a fault maps at A after P's mapping went */
#if defined(SCENARIO_MREMAP)
#define NPAGES 5
#define MAPPED_AT_A(pg) (pg == PG_P || pg == PG_H || pg == PG_Q)
#else
#define NPAGES 4
#define MAPPED_AT_A(pg) (pg == PG_P || pg == PG_H)
#endif

/* mmap_lock: a count of readers, or WRITER. */
#define MMAP_WRITER 255

/* Who does a step, for the lines printed by shared helpers. */
#define WHO_COLLAPSE 0
#define WHO_ZAPPER   1
#define WHO_MUNMAP   2
#define WHO_RCU      3
#define WHO_SPLIT    4
#define WHO_RECLAIM  5
#define WHO_UNSHARE  6
#define WHO_OWNER    7
#define WHO_DEFER    8
#define WHO_SPLIT_B  9
#define WHO_UNSHARE_W 10
#define WHO_RETRACT  11
#define WHO_RETRACT_RCU 12
#define WHO_MREMAP   13

/* Written under mmap_lock write or pmd_lock; read locklessly by walkers. */
byte pmd[2];
/* Each PTE table frame's first entry, and what the frame is now. */
byte pte[NTABLES];
byte tstate[NTABLES];
/* The PMD table's deposit list (pmd_huge_pte()), under pmd_lock. The
 * kernel keeps a ring whose head is the table deposited last; a withdraw
 * takes the head and makes its successor the head. With the model's two
 * tables that is the same as a stack. */
byte deposit[2];
byte ndeposit;

/* Page reference counts: a page is free at 0, and get-unless-zero then
 * fails. mapcount counts P's mappings. */
byte ref[NPAGES];
byte mapcount;
/* Collapse copied P into H to replace it: a later write to P is lost. */
bit copied;

/*
 * Per CPU: interrupts disabled, i.e. inside a GUP-fast section. cpu0 runs
 * khugepaged, the zapper, the splitter and munmap (they only send IPIs);
 * cpu1..NWALKERS run the walkers. An IPI is handled by its target only
 * while the target's interrupts are on.
 */
bit irq_off[NGUP + 1];
/* Per RCU walker (1..NRCU): inside rcu_read_lock(), interrupts on. */
bit rcu_reader[NRCU + 1];

byte mmap_lock;
bit pmd_ptl;
#if defined(SCENARIO_PT_RECLAIM) || defined(SCENARIO_RETRACT)
/* Each PTE table's split lock (pte_lockptr()); the frame's, so an RCU
 * walker may take it after the table was freed. */
bit ptl[NTABLES];
#endif

#if defined(SYNC_WALKERS)
/* Per GUP-fast CPU: its lockless-walk marker names the walkers' mm. */
bit marker[NGUP + 1];
#endif

/*
 * ---- memory models (docs/memory.md) ----
 *
 * Under MEM_TSO and MEM_WEAK a store may wait in its CPU's store buffer
 * after the CPU has gone on: other CPUs still read the old value, the CPU
 * itself reads its own (the model's buffered stores are never read back
 * by their CPU before they drain: none is). A buffer drains by itself at
 * any moment (proctype store_buffers) and at each barrier that orders the
 * store before a later access; a barrier --drop-barrier leaves out drains
 * nothing. Only the stores some barrier orders are buffered:
 * - collapse's PMD A clear (pmdp_collapse_flush()), and the release of
 *   pmd_lock behind it, until collapse re-takes pmd_lock: its later steps
 *   (the flush, the sync's marker loads and IPIs, isolation's refcount
 *   read) are where the barriers are;
 * - a GUP-fast CPU's lockless-walk marker (SYNC_WALKERS): set, then the
 *   release that clears it.
 * Every other store is in memory when it is made: each is followed by a
 * barrier before anything another CPU could tell apart (munmap's clears by
 * its flush, the zapper's by pmd_lock's release and its free), so
 * buffering it would add states and no behaviour.
 * Loads are made where the process makes them, except GUP-fast's
 * re-checks, which without gup-pin-mb may be satisfied before the
 * reference (the walker reads them early).
 * MEM_WEAK differs from MEM_TSO in what orders: arm64's xchg_relaxed()
 * PMD clear and acquire-only spin_lock() drain nothing (x86's locked
 * instructions do: pmd-clear-xchg, spin-lock-rmw), the IPI's completion
 * and the grace period order only by their release and barriers
 * (ipi-csd-release, rcu-gp-mb; every TSO store is a release, and no TSO
 * load passes a later store). Stores to different locations could drain
 * out of order under MEM_WEAK; none of the buffered ones can (the
 * marker's are one location, and the lock's release waits for the clear).
 */
#if !defined(MEM_WEAK) || !defined(DROP_IPI_CSD_RELEASE)
#define IPI_RELEASES
#endif
#if !defined(MEM_WEAK) || !defined(DROP_RCU_GP_MB)
#define GP_ORDERS
#endif
#if defined(MEM_BUFFERED)
#if defined(MEM_TSO) && !defined(DROP_PMD_CLEAR_XCHG)
#define CLEAR_IS_ORDERED
#endif
#if defined(MEM_TSO) && !defined(DROP_SPIN_LOCK_RMW)
#define LOCK_DRAINS
#endif
/* collapse's PMD A clear, not yet in memory; the release of pmd_lock
 * that waits behind it */
bit c_pmd_pend;
bit c_unlock_pend;
#if defined(SYNC_WALKERS)
/* A GUP-fast CPU's buffered marker stores, oldest first. */
#define MK_NONE      0
#define MK_SET       1
#define MK_CLEAR     2
#define MK_SET_CLEAR 3
byte mk_pend[NGUP + 1];
#endif
#endif

#if defined(SCENARIO_MUNMAP_PMD)
/*
 * munmap-pmd: the walkers' PUD entry names the PMD table M1, whose entry
 * pmd[PMD_A] names T1. munmap of the whole PUD range clears both and
 * frees both; the allocator may hand M1's frame out again (its entry is
 * then garbage, decoded as a PMD naming frame Y) as it does T1's.
 */
#define PUD_NONE 0
#define PUD_M1   1
byte pud;
byte mstate;
#endif

#if defined(SCENARIO_MREMAP)
/* How many times PMD A was written since the start (mremap), for the
 * ABA witness: a walker notes it when it reads PMD A. */
byte a_writes;
#endif

#if defined(SCENARIO_HUGETLB_UNSHARE)
/*
 * hugetlb: three processes map the same hugetlb file at the same offset
 * of a 1 GiB range and share one PMD table S. W (the walkers' process)
 * and A will unmap, in either order (the i_mmap lock serializes them);
 * B keeps S. W's walkers read W's PUD entry, then S's entry for their
 * address.
 */
#define PUD_NONE 0
#define PUD_S    1
#define HP_NONE  0
#define HP_F     1 /* the file's huge page F, mapped there by all three alike */
#define HP_Q     2 /* a page of B's that W never maps there */
byte pud_w, pud_a;
byte s_entry;
/* S's share count: the processes whose PUD names it. */
byte s_shares;
/* S is still a shared table, holding only the file's pages: the unsharer
 * that leaves it to B alone has not let go of the i_mmap lock yet. */
bit s_shared;
/* The file's i_mmap lock, for write. */
bit i_mmap;
#endif

/* ---- printing, for the guided replay ---- */

inline print_who(w)
{
	if
	:: w == WHO_COLLAPSE -> printf("collapse")
	:: w == WHO_ZAPPER -> printf("zapper")
	:: w == WHO_MUNMAP -> printf("munmap")
	:: w == WHO_RCU -> printf("munmap's call_rcu")
	:: w == WHO_SPLIT -> printf("split")
	:: w == WHO_RECLAIM -> printf("MADV_DONTNEED")
	:: w == WHO_UNSHARE -> printf("A's munmap")
	:: w == WHO_UNSHARE_W -> printf("W's munmap")
	:: w == WHO_OWNER -> printf("B")
	:: w == WHO_DEFER -> printf("collapse's pte_free_defer")
	:: w == WHO_SPLIT_B -> printf("split of B")
	:: w == WHO_RETRACT -> printf("khugepaged")
	:: w == WHO_RETRACT_RCU -> printf("retraction's pte_free_defer")
	:: w == WHO_MREMAP -> printf("mremap")
	fi
}

inline print_pmd(v)
{
	if
	:: v == PMD_NONE -> printf("none")
	:: v == PMD_T1 -> printf("table T1")
	:: v == PMD_T2 -> printf("table T2")
	:: v == PMD_T3 -> printf("table T3")
	:: v == PMD_HUGE_H -> printf("huge page H")
	:: v == PMD_HUGE_HB -> printf("huge page HB")
	:: v == PMD_GARBAGE -> printf("garbage data, decoded as a PMD naming frame Y as a PTE table")
	fi
}

/* A table frame's name: T1, T2, T3, or (munmap-pmd) Y, a data page. */
inline print_table(t)
{
#if defined(SCENARIO_MUNMAP_PMD)
	if
	:: t == TY -> printf("Y")
	:: else -> printf("T%d", t + 1)
	fi
#else
	printf("T%d", t + 1)
#endif
}

inline print_pte(v)
{
	if
	:: v == PTE_NONE -> printf("none")
	:: v == PTE_P -> printf("page P")
	:: v == PTE_H -> printf("page H")
	:: v == PTE_LINK -> printf("a deposit list link (a kernel address, not a user page)")
	:: v == PTE_GARBAGE -> printf("garbage data, decoded as page X")
	:: v == PTE_HB -> printf("page HB (B's huge page)")
	:: v == PTE_Q -> printf("page Q")
	fi
}

inline print_page(pg)
{
	if
	:: pg == PG_P -> printf("P")
	:: pg == PG_X -> printf("X")
	:: pg == PG_H -> printf("H")
	:: pg == PG_HB -> printf("HB")
	:: pg == PG_Q -> printf("Q")
	fi
}

inline print_tstate(t)
{
	if
	:: tstate[t] == TBL_LIVE -> printf("a page table")
	:: tstate[t] == TBL_LINKED -> printf("overwritten with deposit list links (non-PTE data)")
	:: tstate[t] == TBL_FREE -> printf("freed")
	:: tstate[t] == TBL_DATA && !IS_Y(t) -> printf("reused as a data page")
	:: tstate[t] == TBL_DATA && IS_Y(t) -> printf("a data page, never a page table")
	fi
}

/* Starts the line of a step that violates @kind (a CHECK_KINDS bit). */
inline print_violation(kind)
{
	if
	:: kind == 1 && stale_table -> printf("STEP VIOLATION stale_table: ")
	:: kind == 2 && stale_pin -> printf("STEP VIOLATION stale_pin: ")
	:: kind == 4 && wrong_page -> printf("STEP VIOLATION wrong_page: ")
	:: kind == 8 && rcu_stale_lock -> printf("STEP VIOLATION stale_lock: ")
	:: else -> printf("STEP (not checked) ")
	fi
}

/* ---- locks ---- */

inline mmap_write_lock(who)
{
	atomic { mmap_lock == 0 -> mmap_lock = MMAP_WRITER;
		 printf("STEP "); print_who(who); printf(" takes mmap_lock for write\n") }
}

inline mmap_write_unlock(who)
{
	d_step { mmap_lock = 0;
		 printf("STEP "); print_who(who); printf(" releases mmap_lock\n") }
}

/* MADV_DONTNEED and split take it for read: excluded by collapse's write. */
inline mmap_read_lock(who)
{
	atomic { mmap_lock != MMAP_WRITER -> mmap_lock++;
		 printf("STEP "); print_who(who); printf(" takes mmap_lock for read\n") }
}

inline mmap_read_unlock(who)
{
	d_step { mmap_lock--;
		 printf("STEP "); print_who(who); printf(" releases mmap_lock\n") }
}

/* pmd_lock(): the split lock of the PMD table that holds A and B. */
inline pmd_lock()
{
	atomic { pmd_ptl == 0 -> pmd_ptl = 1 }
}

inline pmd_unlock()
{
	pmd_ptl = 0
}

/* ---- store buffers (MEM_TSO, MEM_WEAK) ---- */

#if defined(MEM_BUFFERED)
/* Collapse's buffer reaches memory: the clear first, then the release of
 * pmd_lock behind it. */
inline collapse_drain()
{
	d_step {
		if
		:: c_pmd_pend -> pmd[PMD_A] = PMD_NONE; c_pmd_pend = 0;
			printf("STEP collapse's PMD A clear reaches memory (a barrier drains its store buffer)\n")
		:: else -> skip
		fi;
		if
		:: c_unlock_pend -> pmd_ptl = 0; c_unlock_pend = 0
		:: else -> skip
		fi }
}

/* A barrier of @who's that orders its earlier stores before its later
 * accesses: only collapse has buffered stores. */
inline writer_fence(who)
{
	if
	:: who == WHO_COLLAPSE -> collapse_drain()
	:: else -> skip
	fi
}

/* collapse's spin_unlock(pmd_ptl) after the clear: a release, so it waits
 * behind the clear when the clear is still buffered. */
inline collapse_pmd_unlock()
{
	if
	:: c_pmd_pend -> c_unlock_pend = 1
	:: else -> pmd_ptl = 0
	fi
}

#if defined(SYNC_WALKERS)
/* Inside an atomic or d_step: every buffered marker store of cpu @c
 * reaches memory, the last one wins. */
inline walker_drain(c)
{
	if
	:: mk_pend[c] == MK_SET -> marker[c] = 1
	:: mk_pend[c] == MK_CLEAR || mk_pend[c] == MK_SET_CLEAR -> marker[c] = 0
	:: else -> skip
	fi;
	mk_pend[c] = MK_NONE
}

/* The oldest buffered marker store of cpu @c reaches memory. */
inline walker_drain_one(c)
{
	d_step {
		mk_pend[c] != MK_NONE ->
		if
		:: mk_pend[c] == MK_SET -> marker[c] = 1; mk_pend[c] = MK_NONE
		:: mk_pend[c] == MK_CLEAR -> marker[c] = 0; mk_pend[c] = MK_NONE
		:: mk_pend[c] == MK_SET_CLEAR -> marker[c] = 1; mk_pend[c] = MK_CLEAR
		fi;
		printf("STEP walker cpu%d's marker store reaches memory: marker %d\n", c, marker[c]) }
}
#endif

/* The buffers drain by themselves, at any moment, oldest store first
 * (MEM_WEAK could reorder stores to different locations; no buffered
 * pair here can be: see "memory models"). Never ends: "end" marks the
 * loop a valid end state. */
proctype store_buffers()
{
end:
	do
	:: d_step { c_pmd_pend -> pmd[PMD_A] = PMD_NONE; c_pmd_pend = 0;
		    printf("STEP collapse's PMD A clear reaches memory (its store buffer drains)\n") }
	:: d_step { c_unlock_pend && !c_pmd_pend -> pmd_ptl = 0; c_unlock_pend = 0 }
#if defined(SYNC_WALKERS)
	:: walker_drain_one(1)
#if NGUP >= 2
	:: walker_drain_one(2)
#endif
#if NGUP >= 3
	:: walker_drain_one(3)
#endif
#if NGUP >= 4
	:: walker_drain_one(4)
#endif
#endif
	od
}
#endif

/* ---- cross-CPU synchronisation ---- */

/*
 * An IPI to cpu @c that the sender waits for. Its handler runs only while
 * the target has interrupts on, so the wait ends only after any
 * interrupts-off section that was running when it was sent has ended.
 */
inline ipi_wait(who, c)
{
#if defined(IPI_RELEASES)
	/* csd_unlock()'s release (every store is one under TSO): what the
	 * target did before it took the IPI is seen by the sender */
	atomic { !irq_off[c] ->
#if defined(MEM_BUFFERED) && defined(SYNC_WALKERS)
		 walker_drain(c);
#endif
		 printf("STEP cpu%d takes the IPI of ", c); print_who(who);
		 printf(" (its interrupts are on)\n") }
#else
	/* MEM_WEAK without ipi-csd-release: the sender may see the IPI done
	 * before the accesses of the target's section are; as if the wait
	 * had not waited for the section (an over-approximation: arm64's
	 * dependency ordering is not modelled) */
	if
	:: atomic { !irq_off[c] ->
		    printf("STEP cpu%d takes the IPI of ", c); print_who(who);
		    printf(" (its interrupts are on)\n") }
	:: atomic { irq_off[c] ->
		    printf("STEP cpu%d's answer to the IPI of ", c); print_who(who);
		    printf(" is seen before the accesses of its section are (no csd release)\n") }
	fi
#endif
}

/*
 * The same wait for every GUP-fast walker CPU; @c is the caller's scratch
 * byte. The IPIs go out together and are answered in any order; waiting
 * for them in CPU order loses no behaviour, because the walkers are
 * identical and any order of answers is CPU order after renaming the
 * CPUs. An RCU walker's CPU has interrupts on and answers at once: waiting
 * for it changes nothing, so it is not modelled.
 */
inline ipi_all_wait(who, c)
{
	c = 1;
	do
	:: c <= NGUP -> ipi_wait(who, c); c++
	:: else -> break
	od;
	c = 0
}

/* flush_tlb_range() in this profile's style. */
inline flush_tlb_range(who, c)
{
#if defined(MEM_BUFFERED) && !defined(DROP_TLB_FLUSH_MB)
	/* tlb-flush-mb: the flush orders the flusher's earlier stores */
	writer_fence(who);
#endif
#if defined(FLUSH_IPI)
	/* native_flush_tlb_multi(): IPI mm_cpumask, wait for each */
	d_step { printf("STEP "); print_who(who);
		 printf(" flushes the TLB by IPI to every CPU of the mm, waiting for each\n") };
	ipi_all_wait(who, c)
#elif defined(FLUSH_BROADCAST)
	/* TLBI IS / tlbie / INVLPGB: hardware invalidates remote TLBs */
	d_step { printf("STEP "); print_who(who);
		 printf(" flushes the TLB by broadcast: no IPI, waits for no CPU\n") }
#elif defined(FLUSH_HYPERCALL)
	/* hyperv_flush_tlb_multi(), Xen: the hypervisor flushes the other
	 * vCPUs and interrupts none of them */
	d_step { printf("STEP "); print_who(who);
		 printf(" flushes the TLB by hypercall: no vCPU interrupted, waits for none\n") }
#elif defined(FLUSH_PARAVIRT)
	/*
	 * kvm_flush_tlb_multi(): a vCPU the host has preempted gets its flush
	 * queued for when it runs again, with no IPI and no wait; the others
	 * get the native IPI flush. Whether a vCPU is preempted at that
	 * instant is the host's choice, so nondeterministic. The skip is
	 * offered only while the vCPU is inside a section: outside, the wait
	 * would end at once and skipping it changes nothing.
	 */
	d_step { printf("STEP "); print_who(who);
		 printf(" flushes the TLB by paravirt flush (kvm_flush_tlb_multi)\n") };
	c = 1;
	do
	:: c <= NGUP ->
		if
		:: atomic { irq_off[c] ->
			printf("STEP host has preempted vCPU cpu%d inside its section: its flush is queued, no IPI, no wait\n", c) }
		:: ipi_wait(who, c)
		fi;
		c++
	:: else -> break
	od;
	c = 0
#endif
}

/*
 * serialize_against_pte_lookup(), inside pmdp_collapse_flush() after the
 * clear: smp_call_function_many(mm_cpumask(mm), ..., wait): every walker
 * CPU runs the mm, so each is waited for where the architecture keeps the
 * mask; where it does not, the mask is empty and nobody is.
 */
inline serialize_against_pte_lookup(who, c)
{
#if defined(MM_CPUMASK)
	d_step { printf("STEP "); print_who(who);
		 printf(" serializes against PTE lookups: IPI to mm_cpumask, waiting for each\n") };
#if defined(MEM_BUFFERED) && !defined(DROP_SYNC_IPI_MB)
	writer_fence(who);
#endif
	ipi_all_wait(who, c)
#else
	d_step { printf("STEP "); print_who(who);
		 printf(" serializes against PTE lookups: IPI to mm_cpumask, which this architecture leaves empty\n") }
#endif
}

/*
 * tlb_remove_table_sync_one(): with SYNC_IPI (the architecture selects
 * MMU_GATHER_RCU_TABLE_FREE), smp_call_function() with wait, a real IPI
 * (a preempted vCPU must run to answer it), to every other CPU; a skip
 * policy (step 1, whose early return is inside this function and so
 * covers every caller) skips it where it trusts the flush. Without
 * SYNC_IPI, an empty function.
 */
inline tlb_remove_table_sync_one(who, c)
{
#if !defined(SYNC_IPI)
	d_step { printf("STEP "); print_who(who);
		 printf(" calls tlb_remove_table_sync_one(): a no-op without RCU table free\n") }
#elif defined(SYNC_SKIPPED)
	d_step { printf("STEP "); print_who(who);
		 printf(" skips tlb_remove_table_sync_one(): the policy trusts this flush to have waited\n") }
#else
	d_step { printf("STEP "); print_who(who);
		 printf(" calls tlb_remove_table_sync_one(): IPI to every CPU, waiting for each\n") };
#if defined(MEM_BUFFERED) && !defined(DROP_SYNC_IPI_MB)
	writer_fence(who);
#endif
	ipi_all_wait(who, c)
#endif
}

/*
 * tlb_remove_table_sync_mm(): step 2's sync for an mm, which the callers
 * it converts use (collapse, 6.19's unshare gather, the batch-allocation
 * fallback): @own when it is the walkers' mm (their CPUs run it and mark
 * it), else another process's (whose CPUs walk nothing here). Under
 * SYNC_WALKERS the CPUs whose lockless-walk marker names the mm (read
 * one by one, each answered like an IPI); under SYNC_MM_CPUMASK those of
 * mm_cpumask(mm) (empty unless MM_CPUMASK); under any other policy it is
 * tlb_remove_table_sync_one().
 */
inline tlb_remove_table_sync_mm(who, c, own)
{
#if defined(SYNC_IPI) && defined(SYNC_WALKERS)
	d_step { printf("STEP "); print_who(who);
		 printf(" calls tlb_remove_table_sync_mm(): IPI to the CPUs whose marker names ");
		 if
		 :: own -> printf("the walkers' mm")
		 :: else -> printf("its mm")
		 fi;
		 printf("\n") };
#if defined(MEM_BUFFERED) && !defined(DROP_SYNC_SCAN_MB)
	/* sync-scan-mb: the clear before the marker loads */
	writer_fence(who);
#endif
	c = 1;
	do
	:: c <= NGUP ->
		if
		:: own && marker[c] ->
#if defined(MEM_BUFFERED) && !defined(DROP_SYNC_IPI_MB)
			writer_fence(who);
#endif
			ipi_wait(who, c)
		:: own && !marker[c] ->
			printf("STEP "); print_who(who); printf(" reads cpu%d's marker: not set, no IPI\n", c)
		:: else -> skip
		fi;
		c++
	:: else -> break
	od;
	c = 0
#elif defined(SYNC_IPI) && defined(SYNC_MM_CPUMASK)
	d_step { printf("STEP "); print_who(who);
#if defined(MM_CPUMASK)
		 printf(" calls tlb_remove_table_sync_mm(): IPI to mm_cpumask(");
		 if
		 :: own -> printf("the walkers' mm), waiting for each\n")
		 :: else -> printf("its mm): none of the walkers' CPUs\n")
		 fi
#else
		 printf(" calls tlb_remove_table_sync_mm(): IPI to mm_cpumask(mm), which this architecture leaves empty\n")
#endif
	};
#if defined(MM_CPUMASK)
	if
	:: own ->
#if defined(MEM_BUFFERED) && !defined(DROP_SYNC_IPI_MB)
		writer_fence(who);
#endif
		ipi_all_wait(who, c)
	:: else -> skip
	fi
#endif
#else
	tlb_remove_table_sync_one(who, c)
#endif
}

/*
 * An RCU grace period. Interrupts-off sections are read-side sections
 * (since the 4.20 flavour consolidation), and so is an RCU walker's
 * rcu_read_lock() section: it ends only after each CPU was seen outside
 * of them: no section that began before it is still running when it ends.
 */
inline synchronize_rcu(who, c)
{
	d_step { printf("STEP "); print_who(who); printf(" waits for an RCU grace period\n") };
	c = 1;
	do
	:: c <= NGUP ->
		atomic { !irq_off[c] ->
			 printf("STEP cpu%d passes a quiescent state (interrupts on)\n", c) };
		c++
	:: c > NGUP && c <= NGUP + NRCU ->
		atomic { !rcu_reader[c - NGUP] ->
			 printf("STEP cpu%d passes a quiescent state (outside rcu_read_lock)\n", c) };
		c++
#if !defined(GP_ORDERS)
	/* MEM_WEAK without rcu-gp-mb: a reader's section may still be
	 * running, in memory's terms, when the grace period is seen to end
	 * (an over-approximation, as ipi_wait()'s) */
	:: c <= NGUP && irq_off[c] ->
		printf("STEP cpu%d's section is not ordered before the grace period's end (no rcu-gp-mb)\n", c);
		c++
	:: c > NGUP && c <= NGUP + NRCU && rcu_reader[c - NGUP] ->
		printf("STEP cpu%d's section is not ordered before the grace period's end (no rcu-gp-mb)\n", c);
		c++
#endif
	:: else -> break
	od;
	c = 0
}

/* ---- pages and tables ---- */

/* put_page(): the page is freed when the last reference goes. */
inline put_page(pg)
{
	ref[pg]--
}

/* The page allocator hands a freed table frame out again, as data. */
inline reuse_frame(t)
{
	d_step { tstate[t] = TBL_DATA; pte[t] = PTE_GARBAGE;
		 printf("STEP T%d reused as a data page (the allocator hands the frame out again)\n", t + 1) }
}

/* pgtable_trans_huge_deposit(), under pmd_lock. */
inline pgtable_trans_huge_deposit(t)
{
	deposit[ndeposit] = t;
	ndeposit++;
#if defined(DEPOSIT_IN_TABLE)
	/* radix__pgtable_trans_huge_deposit(): the links live in the table */
	tstate[t] = TBL_LINKED;
	pte[t] = PTE_LINK;
#endif
}

/* pgtable_trans_huge_withdraw(), under pmd_lock: the head, the table
 * deposited last. */
inline pgtable_trans_huge_withdraw(t)
{
	ndeposit--;
	t = deposit[ndeposit];
	deposit[ndeposit] = 0;
#if defined(DEPOSIT_IN_TABLE)
	/* the radix withdraw zeroes the link entries */
	tstate[t] = TBL_LIVE;
	pte[t] = PTE_NONE;
#endif
}

/* ---- the GUP-fast walker ---- */

/*
 * A walker reads its table's entry into @v: the first read when @recheck
 * is PTE_NONE, else the re-check of the value @recheck read first. For as
 * long as the walker is inside its section the table must stay a page
 * table of this mm: not freed, not reused, not overwritten with non-PTE
 * data.
 */
inline walker_read_pte(cpu, t, v, recheck)
{
	d_step {
		v = pte[t];
		if
		:: recheck == PTE_NONE ->
			printf("STEP walker cpu%d reads PTE in ", cpu); print_table(t);
			printf(" -> "); print_pte(v)
		:: recheck != PTE_NONE && recheck == v ->
			printf("STEP walker cpu%d re-checks PTE in ", cpu); print_table(t);
			printf(": unchanged")
		:: else ->
			printf("STEP walker cpu%d re-checks PTE in ", cpu); print_table(t);
			printf(": changed to "); print_pte(v)
		fi;
		printf("\n");
		if
		:: tstate[t] != TBL_LIVE ->
			print_violation(1);
			printf("walker cpu%d read an entry of ", cpu); print_table(t);
			printf(" inside its section, but "); print_table(t); printf(" is ");
			print_tstate(t);
			printf("\n")
		:: else -> skip
		fi;
		assert(!stale_table || tstate[t] == TBL_LIVE)
	}
}

/*
 * Inside the d_step of a walker's read of PMD entry A: in munmap-pmd the
 * PMD table M1 holding it must still be a page table of this mm (not
 * freed, not reused); elsewhere the PMD table is never freed.
 */
inline pmd_table_check(cpu)
{
#if defined(SCENARIO_MUNMAP_PMD)
	if
	:: mstate != TBL_LIVE ->
		print_violation(1);
		printf("walker cpu%d read an entry of M1 inside its section, but M1 is ", cpu);
		if
		:: mstate == TBL_FREE -> printf("freed")
		:: else -> printf("reused as a data page")
		fi;
		printf("\n")
	:: else -> skip
	fi;
	assert(!stale_table || mstate == TBL_LIVE)
#else
	skip
#endif
}

/*
 * The walkers policy's marker (pt_walk_lockless_start()/_end()): set with
 * interrupts off, a full barrier, then the walk; cleared when the walk is
 * done. Under MEM_TSO and MEM_WEAK the set waits in the store buffer
 * unless walker-mark-mb drains it, and the release that clears it waits
 * behind it.
 */
inline walk_start(cpu)
{
#if defined(SYNC_WALKERS) && defined(MEM_BUFFERED) && defined(DROP_WALKER_MARK_MB)
	d_step { mk_pend[cpu] = MK_SET;
		 printf("STEP walker cpu%d marks the mm it walks (pt_walk_lockless_start): with no walker-mark-mb the store waits in its store buffer\n", cpu) }
#elif defined(SYNC_WALKERS)
	/* walker-mark-mb drains the store at once */
	d_step { marker[cpu] = 1;
		 printf("STEP walker cpu%d marks the mm it walks (pt_walk_lockless_start)\n", cpu) }
#else
	skip
#endif
}

inline walk_end(cpu)
{
#if defined(SYNC_WALKERS) && defined(MEM_BUFFERED)
	/* smp_store_release(): behind the marker's set in the buffer */
	d_step { mk_pend[cpu] = (mk_pend[cpu] == MK_SET -> MK_SET_CLEAR : MK_CLEAR);
		 printf("STEP walker cpu%d clears its marker (a release; the store waits in its store buffer)\n", cpu) }
#elif defined(SYNC_WALKERS)
	d_step { marker[cpu] = 0;
		 printf("STEP walker cpu%d clears its marker\n", cpu) }
#else
	skip
#endif
}

/*
 * mremap: at the walker's last re-check (the PMD re-check, or without it
 * the PTE re-check), how many times PMD A was written since the walker
 * read @v there, if it holds @v again (0 otherwise): an entry moved away
 * and back passes the PMD re-check with a count above 0 (the seed's ABA).
 */
inline aba_note(v)
{
#if defined(SCENARIO_MREMAP)
	seen_writes = (pmd[PMD_A] == v -> a_writes - seen_writes : 0)
#else
	skip
#endif
}

/*
 * Without gup-pin-mb (MEM_TSO, MEM_WEAK) the walker may read its
 * re-checks early (EARLY_RECHECKS): the PMD re-check then compares the
 * value read early, and the check that M1 is still a table was made when
 * it was read.
 */
#if defined(MEM_BUFFERED) && defined(DROP_GUP_PIN_MB)
#define EARLY_RECHECKS
#define RECHECK_PMD (early -> epmd : pmd[PMD_A])
inline recheck_table_check(cpu)
{
	if
	:: !early -> pmd_table_check(cpu)
	:: else -> skip
	fi
}
#else
#define RECHECK_PMD pmd[PMD_A]
inline recheck_table_check(cpu)
{
	pmd_table_check(cpu)
}
#endif

/* The page a present entry names. */
inline pte_page(v, pg)
{
	if
	:: v == PTE_P -> pg = PG_P
	:: v == PTE_H -> pg = PG_H
	:: v == PTE_HB -> pg = PG_HB
	:: v == PTE_Q -> pg = PG_Q
	:: else -> pg = PG_X
	fi
}

#if defined(GUP_WALKERS) && !defined(SCENARIO_HUGETLB_UNSHARE)
/*
 * GUP-fast of one address: mirrors mm/gup.c gup_fast() ->
 * gup_fast_pte_range() for one PTE. A page it pins is returned to the
 * caller (the rest of the process), which writes through the pin.
 */
proctype walker(byte cpu)
{
	byte pmdv, t, ptev, again, pg;
	bit got, pinned;
#if defined(SCENARIO_MUNMAP_PMD)
	byte pudv;
#endif
#if defined(SCENARIO_MREMAP)
	byte seen_writes;
#endif
#if defined(EARLY_RECHECKS)
	/* the re-checks' loads, satisfied before the reference */
	bit early;
	byte epmd, epte;
#endif

	d_step { irq_off[cpu] = 1;
		 printf("STEP walker cpu%d disables interrupts (gup_fast: local_irq_save)\n", cpu) };
	walk_start(cpu);

#if defined(SCENARIO_MUNMAP_PMD)
	/* gup_fast_pud_range(): the PUD, read once; the PMD slot is taken
	 * from the value read (pmd_offset_lockless()), never re-checked */
	d_step { pudv = pud;
		 printf("STEP walker cpu%d reads the PUD -> ", cpu);
		 if
		 :: pudv == PUD_M1 -> printf("PMD table M1\n")
		 :: else -> printf("none\n")
		 fi };
	if
	:: pudv == PUD_M1 ->
		d_step { pmdv = pmd[PMD_A];
			 printf("STEP walker cpu%d reads PMD A in M1 -> ", cpu); print_pmd(pmdv);
			 printf("\n");
			 pmd_table_check(cpu) }
	:: else -> pmdv = PMD_NONE
	fi;
	pudv = 0;
#elif defined(SCENARIO_MREMAP)
	d_step { pmdv = pmd[PMD_A]; seen_writes = a_writes;
		 printf("STEP walker cpu%d reads PMD A -> ", cpu); print_pmd(pmdv); printf("\n") };
#else
	d_step { pmdv = pmd[PMD_A];
		 printf("STEP walker cpu%d reads PMD A -> ", cpu); print_pmd(pmdv); printf("\n") };
#endif

	if
	:: PMD_TABLE(pmdv) ->
		t = PMD_FRAME(pmdv);
		walker_read_pte(cpu, t, ptev, PTE_NONE);
		if
		:: ptev == PTE_NONE ->
			printf("STEP walker cpu%d finds no page: left to the slow path\n", cpu)
		:: ptev == PTE_LINK ->
			printf("STEP walker cpu%d finds no user page there (pte_access_permitted fails): left to the slow path\n", cpu)
		:: else ->
			pte_page(ptev, pg);
#if defined(EARLY_RECHECKS)
			/* Without gup-pin-mb the re-checks' loads may be
			 * satisfied before the reference is visible: the
			 * walker may make them here, before it (the same
			 * location as the first reads, so never older) */
			if
			:: early = 1;
#if defined(PMD_RECHECK)
				d_step { epmd = pmd[PMD_A];
					 printf("STEP walker cpu%d's PMD re-check is satisfied before its reference (no gup-pin-mb): PMD A -> ", cpu);
					 print_pmd(epmd); printf("\n");
					 pmd_table_check(cpu) };
#endif
				d_step { printf("STEP walker cpu%d's PTE re-check is satisfied before its reference (no gup-pin-mb)\n", cpu) };
				walker_read_pte(cpu, t, epte, ptev)
			:: skip
			fi;
#endif
			/* try_grab_folio_fast(): get-unless-zero, a full
			 * barrier (gup-pin-mb); pairs with collapse clearing
			 * the PMD before isolation reads the refcount */
			d_step {
				if
				:: ref[pg] > 0 -> ref[pg]++; got = 1;
					printf("STEP walker cpu%d takes a reference on page ", cpu);
					print_page(pg); printf(" (get-unless-zero)\n")
				:: else -> got = 0;
					printf("STEP walker cpu%d fails get-unless-zero on freed page ", cpu);
					print_page(pg); printf("\n")
				fi
			};
			if
			:: got ->
				/* The re-checks in gup_fast_pte_range()'s order: the
				 * PMD first (commit 70cbc3cc78a99), then the PTE. */
#if defined(PMD_RECHECK)
				if
				:: d_step { RECHECK_PMD != pmdv -> put_page(pg); got = 0;
					    printf("STEP walker cpu%d re-checks PMD A: changed, drops its reference\n", cpu);
					    recheck_table_check(cpu) }
				:: d_step { RECHECK_PMD == pmdv ->
					    printf("STEP walker cpu%d re-checks PMD A: unchanged\n", cpu);
					    recheck_table_check(cpu);
					    aba_note(pmdv) }
				fi;
#endif
				if
				:: got ->
#if defined(EARLY_RECHECKS)
					if
					:: early -> again = epte
					:: else -> walker_read_pte(cpu, t, again, ptev)
					fi;
#else
					walker_read_pte(cpu, t, again, ptev);
#endif
					if
					:: d_step { again != ptev -> put_page(pg);
						    printf("STEP walker cpu%d drops its reference\n", cpu) }
#if defined(SCENARIO_MREMAP) && !defined(PMD_RECHECK)
					:: d_step { again == ptev -> pinned = 1; aba_note(pmdv) }
#else
					:: again == ptev -> pinned = 1
#endif
					fi
				:: else -> skip
				fi
			:: else -> skip
			fi
		fi
	:: else ->
		/* none, or a huge PMD: the PMD-leaf path reads no PTE table */
		printf("STEP walker cpu%d finds no PTE table under PMD A\n", cpu)
	fi;

	walk_end(cpu);
#if defined(EARLY_RECHECKS)
	early = 0; epmd = 0; epte = 0;
#endif
	d_step { irq_off[cpu] = 0; t = 0; ptev = 0; again = 0; got = 0;
		 printf("STEP walker cpu%d enables interrupts (local_irq_restore)", cpu);
		 if
		 :: pinned -> printf(" and returns a pin on page "); print_page(pg)
		 :: else -> skip
		 fi;
		 printf("\n") };

	if
	:: pinned ->
		/* The page returned must be one mapped at A: a reference
		 * taken on another is no harm if a re-check drops it. */
		d_step {
			if
			:: !MAPPED_AT_A(pg) ->
				print_violation(4);
				printf("walker cpu%d returns a pin on page ", cpu); print_page(pg);
				printf(", never mapped at A\n")
			:: else -> skip
			fi;
			assert(!wrong_page || MAPPED_AT_A(pg))
		};
#if defined(SCENARIO_MREMAP)
		/* The seed's ABA: PMD A changed while the walker was inside,
		 * its re-checks passed, and the page it returns is one mapped
		 * at A (checked just above): no harm. A witness, not a
		 * violation. */
		d_step {
			if
			:: MAPPED_AT_A(pg) && seen_writes ->
				printf("STEP ABA: PMD A was written %d times between walker cpu%d's PMD read and its re-check, which passed, and page ", seen_writes, cpu);
				print_page(pg); printf(" it returns is mapped at A: harmless\n")
			:: else -> skip
			fi;
			assert(!aba_witness || !MAPPED_AT_A(pg) || !seen_writes);
			seen_writes = 0
		};
#endif
		/* The caller writes through the pin. The write must reach the
		 * page mapped at A: it does not if collapse already copied the
		 * page away (isolation should have seen the pin and refused). */
		d_step {
			if
			:: pg == PG_P && copied ->
				print_violation(2);
				printf("caller of cpu%d writes through its pin on P after collapse copied P into H: the write is lost\n", cpu)
			:: else ->
				printf("STEP caller of cpu%d writes through its pin on page ", cpu); print_page(pg); printf("\n")
			fi;
			assert(!stale_pin || !(pg == PG_P && copied))
		};
		d_step { put_page(pg); pinned = 0;
			 printf("STEP caller of cpu%d unpins page ", cpu); print_page(pg); printf("\n");
			 pg = 0 }
	:: else -> pg = 0
	fi
}
#endif

#if defined(RCU_WALKERS)
/*
 * An RCU walker: a page fault or another madvise() under mmap_lock for
 * read, mapping A's PTE table with pte_offset_map_lock() (mirrors
 * mm/pgtable-generic.c __pte_offset_map_lock()): rcu_read_lock() with
 * interrupts on, read the PMD, take the table's lock, re-check the PMD
 * under it (pmd_same()) and only then read entries; on a changed PMD it
 * unlocks and retries (here: gives up, a retry is a new walk). Its harm
 * is the lock itself: the lock of a table freed (and reused) since its
 * PMD read.
 */
proctype rcu_walker(byte r)
{
	byte pmdv, t;

	d_step { rcu_reader[r] = 1;
		 printf("STEP RCU walker cpu%d enters rcu_read_lock() (interrupts stay on)\n", NGUP + r) };
	d_step { pmdv = pmd[PMD_A];
		 printf("STEP RCU walker cpu%d reads PMD A -> ", NGUP + r); print_pmd(pmdv); printf("\n") };
	if
	:: PMD_TABLE(pmdv) ->
		t = pmdv - PMD_T1;
		atomic { ptl[t] == 0 -> ptl[t] = 1;
			 printf("STEP RCU walker cpu%d takes the lock of T%d\n", NGUP + r, t + 1);
			 if
			 :: tstate[t] != TBL_LIVE ->
				print_violation(8);
				printf("RCU walker cpu%d took the lock of T%d, which is ", NGUP + r, t + 1);
				print_tstate(t); printf("\n")
			 :: else -> skip
			 fi;
			 assert(!rcu_stale_lock || tstate[t] == TBL_LIVE) };
		if
		:: d_step { pmd[PMD_A] == pmdv ->
			    printf("STEP RCU walker cpu%d re-checks PMD A under the lock: unchanged, reads the PTEs\n", NGUP + r) }
		:: d_step { pmd[PMD_A] != pmdv ->
			    printf("STEP RCU walker cpu%d re-checks PMD A under the lock: changed, unlocks to retry\n", NGUP + r) }
		fi;
		d_step { ptl[t] = 0;
			 printf("STEP RCU walker cpu%d unlocks T%d\n", NGUP + r, t + 1) }
	:: else ->
		printf("STEP RCU walker cpu%d finds no PTE table under PMD A\n", NGUP + r)
	fi;
	d_step { rcu_reader[r] = 0; pmdv = 0; t = 0;
		 printf("STEP RCU walker cpu%d leaves rcu_read_lock()\n", NGUP + r) }
}
#endif

#if defined(SCENARIO_HUGETLB_UNSHARE)
/*
 * GUP-fast of one address of W inside the hugetlb range: mirrors mm/gup.c
 * gup_fast_pud_range() -> gup_fast_pmd_range() -> gup_fast_pmd_leaf():
 * read W's PUD, then the PMD entry in the table it names, take the
 * folio's references, and re-read that PMD entry (the leaf's re-check,
 * always done). The re-check reads the same table: once that table is
 * B's alone, it confirms whatever B put there.
 */
proctype hugetlb_walker(byte cpu)
{
	byte pudv, e, again;
	bit read_s, pinned;

	d_step { irq_off[cpu] = 1;
		 printf("STEP walker cpu%d of W disables interrupts (gup_fast: local_irq_save)\n", cpu) };
	walk_start(cpu);
	d_step { pudv = pud_w;
		 printf("STEP walker cpu%d reads W's PUD -> ", cpu);
		 if
		 :: pudv == PUD_S -> printf("the shared PMD table S\n")
		 :: else -> printf("none\n")
		 fi };
	if
	:: pudv == PUD_S ->
		d_step { e = s_entry; read_s = 1;
			 printf("STEP walker cpu%d reads its PMD entry in S -> ", cpu);
			 if
			 :: e == HP_F -> printf("huge page F\n")
			 :: e == HP_Q -> printf("huge page Q\n")
			 :: else -> printf("none\n")
			 fi };
		if
		:: e != HP_NONE ->
			d_step { again = s_entry;
				 if
				 :: again == e -> pinned = 1;
					printf("STEP walker cpu%d takes references and re-checks the PMD entry in S: unchanged\n", cpu)
				 :: else ->
					printf("STEP walker cpu%d re-checks the PMD entry in S: changed, drops its references\n", cpu)
				 fi }
		:: else -> skip
		fi
	:: else -> skip
	fi;
	/* The walk is over: the table it used must not have become
	 * another's own while it lasted. */
	d_step { if
		 :: read_s && !s_shared ->
			print_violation(1);
			printf("walker cpu%d of W walked S after S became B's own table\n", cpu)
		 :: else -> skip
		 fi;
		 assert(!stale_table || !read_s || s_shared) };
	walk_end(cpu);
	d_step { irq_off[cpu] = 0;
		 printf("STEP walker cpu%d enables interrupts\n", cpu) };
	d_step {
		if
		:: pinned && e == HP_Q ->
			print_violation(4);
			printf("walker cpu%d returns B's page Q for W's address\n", cpu)
		:: pinned && e == HP_F ->
			printf("STEP walker cpu%d returns page F, mapped at that address\n", cpu)
		:: else -> skip
		fi;
		assert(!wrong_page || !pinned || e != HP_Q);
		pudv = 0; e = 0; again = 0; read_s = 0; pinned = 0 }
}

/*
 * W or A unmaps its range (munmap): mirrors mm/hugetlb.c
 * unmap_hugepage_range() with the i_mmap lock for write: huge_pmd_unshare()
 * clears its PUD and drops its share of S (the 2025 generation syncs in
 * between); the flush of its range (and, in 6.19's, the sync) follow
 * before the lock is dropped. @own: the
 * walkers' process W, whose CPUs its flush and an mm-scoped sync reach;
 * A's reach none of them. The unsharer that leaves S to B alone hands it
 * over when it drops the lock.
 */
proctype unsharer(byte who; bit own)
{
	byte c;

	atomic { i_mmap == 0 -> i_mmap = 1;
		 printf("STEP "); print_who(who); printf(" takes the i_mmap lock for write\n") };
	d_step { if
		 :: own -> pud_w = PUD_NONE
		 :: else -> pud_a = PUD_NONE
		 fi;
		 printf("STEP "); print_who(who);
		 printf(" unshares S: clears its PUD (huge_pmd_unshare)\n") };
#if defined(UNSHARE_SYNC_PER_UNSHARE)
	/* 1013af4f585f: right after the PUD clear, before the share count
	 * drops; not a caller step 2 converts (it was gone from its base) */
	tlb_remove_table_sync_one(who, c);
#endif
	d_step { s_shares--;
		 printf("STEP "); print_who(who);
		 printf(" drops its share of S, %d left\n", s_shares) };
	if
	:: own -> flush_tlb_range(who, c)
	:: else -> d_step { printf("STEP "); print_who(who);
			    printf(" flushes its range: none of its CPUs walks S\n") }
	fi;
#if defined(UNSHARE_SYNC_GATHER)
	/* 8ce720d5bd91: tlb_flush_unshared_tables(), once per batch, when a
	 * table became exclusive */
	if
	:: s_shares == 1 -> tlb_remove_table_sync_mm(who, c, own)
	:: else -> skip
	fi;
#endif
	d_step { if
		 :: s_shares == 1 -> s_shared = 0
		 :: else -> skip
		 fi;
		 i_mmap = 0;
		 printf("STEP "); print_who(who); printf(" drops the i_mmap lock");
		 if
		 :: !s_shared -> printf(": S is B's table alone now\n")
		 :: else -> printf("\n")
		 fi }
}

/* B, S's only user once the others let go: unmaps F there and maps a page
 * of another mapping (e.g. a 2 MiB hugetlb mapping of another file) in the
 * same entry of S, which it keeps as an ordinary PMD table. */
proctype owner()
{
	atomic { !s_shared -> s_entry = HP_Q;
		 printf("STEP B unmaps F from S and maps its page Q in the same entry\n") }
}
#endif

/* ---- khugepaged ---- */

#if defined(COLLAPSES)
/* mirrors mm/khugepaged.c: collapse_huge_page(), anonymous memory, 6.4+
 * (docs/protocol.md).
 * H was allocated before any lock was taken. */
proctype khugepaged()
{
	byte orig, c;
	bit collapsed;

	mmap_write_lock(WHO_COLLAPSE);
	pmd_lock();
#if defined(SEED_BUG_SYNC_BEFORE_CLEAR)
	/* the seeded bug: a sync before the clear waits only for sections
	 * that began before it; walkers can still read the old PMD after */
	d_step { printf("STEP collapse (seeded bug) synchronises before clearing the PMD\n") };
	tlb_remove_table_sync_mm(WHO_COLLAPSE, c, 1);
#endif
	/* pmdp_collapse_flush(): clear, then flush */
#if defined(MEM_BUFFERED) && !defined(CLEAR_IS_ORDERED)
	/* arm64's xchg_relaxed(), or x86's xchg without pmd-clear-xchg */
	d_step { orig = pmd[PMD_A]; c_pmd_pend = 1;
		 printf("STEP collapse clears PMD A (pmdp_collapse_flush): the store waits in its store buffer\n") };
#else
	d_step { orig = pmd[PMD_A]; pmd[PMD_A] = PMD_NONE;
		 printf("STEP collapse clears PMD A (pmdp_collapse_flush)\n") };
#endif
#if defined(COLLAPSE_FLUSH_WAITS)
	serialize_against_pte_lookup(WHO_COLLAPSE, c);
#endif
	flush_tlb_range(WHO_COLLAPSE, c);
#if defined(MEM_BUFFERED)
	collapse_pmd_unlock();
#else
	pmd_unlock();
#endif
#if defined(IPI_SYNC) && !defined(SEED_BUG_SYNC_BEFORE_CLEAR)
	/* the seed's fix, after the clear and the flush */
	tlb_remove_table_sync_mm(WHO_COLLAPSE, c, 1);
#endif

	/* __collapse_huge_page_isolate(), under the PTE lock: a page with
	 * references beyond its mappings (a GUP pin) is refused */
#if defined(LOCK_DRAINS)
	/* x86: pte_offset_map_lock()'s lock cmpxchg (spin-lock-rmw) */
	collapse_drain();
#endif
	if
	:: d_step { ref[PG_P] > mapcount ->
		    printf("STEP collapse refuses page P: refcount %d > mapcount %d (pinned)\n", ref[PG_P], mapcount) };
		/* put the old PMD back exactly: pmd_populate() of the table */
#if defined(MEM_BUFFERED)
		/* taking pmd_lock again waits for its release, so for the
		 * clear before it */
		collapse_drain();
#endif
		pmd_lock();
		d_step { pmd[PMD_A] = orig;
			 printf("STEP collapse gives up and restores PMD A -> ");
			 print_pmd(orig); printf("\n") };
		pmd_unlock()
	:: d_step { ref[PG_P] <= mapcount ->
		    printf("STEP collapse isolates page P: refcount %d == mapcount %d, no extra reference\n", ref[PG_P], mapcount) };
		/* __collapse_huge_page_copy(): copy, then clear the old PTEs
		 * and release the small pages */
		d_step { copied = 1;
			 printf("STEP collapse copies page P into huge page H\n") };
#if defined(MEM_BUFFERED)
		/* the PTE clear waits behind the PMD clear (TSO's FIFO; under
		 * MEM_WEAK it could pass it, which only makes a walker find
		 * no page) and pmd_lock is taken after both */
		collapse_drain();
#endif
		d_step { pte[T1] = PTE_NONE; mapcount--; put_page(PG_P);
			 printf("STEP collapse clears the PTE in T1 and releases page P\n") };
		pmd_lock();
#if defined(COLLAPSE_FRESH)
		/* the series' v4+: a new table goes on the deposit list */
		d_step { pgtable_trans_huge_deposit(T3);
			 printf("STEP collapse deposits a new table T3 (never linked before)\n")
		};
#else
		d_step { pgtable_trans_huge_deposit(T1);
#if defined(DEPOSIT_IN_TABLE)
			 printf("STEP collapse deposits T1 in-table: deposit list links written into T1's first entries\n")
#else
			 printf("STEP collapse deposits T1 on the PMD table's deposit list\n")
#endif
		};
#endif
		d_step { pmd[PMD_A] = PMD_HUGE_H; collapsed = 1;
			 printf("STEP collapse installs huge PMD A -> huge page H\n") };
		pmd_unlock()
	fi;
	orig = 0;
	mmap_write_unlock(WHO_COLLAPSE);
#if defined(COLLAPSE_FRESH)
	/* the old table is freed after a grace period: pte_free_defer()'s
	 * call_rcu(), whose callback runs once the grace period is over */
	if
	:: collapsed ->
		synchronize_rcu(WHO_DEFER, c);
		d_step { tstate[T1] = TBL_FREE;
			 printf("STEP collapse's pte_free_defer frees T1\n") };
		reuse_frame(T1)
	:: else -> skip
	fi;
#endif
	collapsed = 0
}
#endif

/* ---- the other THP under the same PMD table ---- */

#if defined(SCENARIO_COLLAPSE_ZAP)
/*
 * MADV_DONTNEED of the THP at B, under the same PMD table as A, of all of
 * it or of a part. All of it: mirrors mm/huge_memory.c zap_huge_pmd(),
 * whose zap_deposited_table() withdraws a table and pte_free()s it at
 * once: not through the mmu_gather, so never after an RCU grace period
 * (the series' zap-rcu generation: pte_free_defer()). A part: B is split
 * first (__split_huge_pmd_locked()), which withdraws a table, fills it
 * with B's PTEs and installs it at B. Either withdraw takes the head, the
 * table deposited last: after a collapse at A it returns T1, not the table
 * deposited for B. (The THP itself is freed after the mmu_gather's flush;
 * it is never walked as a PTE table.)
 */
proctype zapper()
{
	byte t, c;

	if
	:: true ->
		mmap_read_lock(WHO_ZAPPER);
		pmd_lock();
		d_step { pmd[PMD_B] = PMD_NONE;
			 printf("STEP zapper clears huge PMD B (zap_huge_pmd)\n") };
		d_step { pgtable_trans_huge_withdraw(t);
			 printf("STEP zapper withdraws T%d, the head of the deposit list (deposited last)\n", t + 1) };
#if defined(COLLAPSE_ZAP_RCU)
		pmd_unlock();
		mmap_read_unlock(WHO_ZAPPER);
		/* the series' v1-v3: pte_free_defer() */
		synchronize_rcu(WHO_ZAPPER, c);
		d_step { tstate[t] = TBL_FREE;
			 printf("STEP zapper frees T%d after the grace period (zap_deposited_table: pte_free_defer)\n", t + 1) };
#else
		d_step { tstate[t] = TBL_FREE;
			 printf("STEP zapper frees T%d at once (zap_deposited_table: pte_free, no RCU)\n", t + 1) };
		pmd_unlock();
		mmap_read_unlock(WHO_ZAPPER);
#endif
		reuse_frame(t)
	:: true ->
		mmap_read_lock(WHO_SPLIT_B);
		pmd_lock();
		d_step { pmd[PMD_B] = PMD_NONE;
			 printf("STEP split of B invalidates huge PMD B (pmdp_invalidate)\n") };
		flush_tlb_range(WHO_SPLIT_B, c);
		d_step { pgtable_trans_huge_withdraw(t);
			 printf("STEP split of B withdraws T%d, the head of the deposit list (deposited last)\n", t + 1) };
		d_step { pte[t] = PTE_HB; pmd[PMD_B] = t + PMD_T1;
			 printf("STEP split of B fills T%d with PTEs of HB and installs PMD B -> ", t + 1);
			 print_pmd(pmd[PMD_B]); printf("\n") };
		pmd_unlock();
		mmap_read_unlock(WHO_SPLIT_B)
	fi;
	t = 0
}
#endif

/* ---- split, an experiment switch ---- */

#if defined(COLLAPSES) && defined(SPLIT_AFTER_COLLAPSE)
/*
 * Splitting the new huge PMD at A again, e.g. MADV_DONTNEED of part of
 * it (mmap_lock read): mirrors mm/huge_memory.c __split_huge_pmd_locked()
 * for anonymous memory: invalidate and flush the huge PMD, withdraw a
 * table (the head: the one collapse just deposited), fill it, install it.
 */
proctype splitter()
{
	byte t, c;

	mmap_read_lock(WHO_SPLIT);
	pmd_lock();
	if
	:: d_step { pmd[PMD_A] == PMD_HUGE_H -> pmd[PMD_A] = PMD_NONE;
		    printf("STEP split invalidates huge PMD A (pmdp_invalidate)\n") };
		flush_tlb_range(WHO_SPLIT, c);
		d_step { pgtable_trans_huge_withdraw(t);
			 printf("STEP split withdraws T%d, the head of the deposit list\n", t + 1) };
		d_step { pte[t] = PTE_H;
			 printf("STEP split fills T%d with PTEs of huge page H\n", t + 1) };
		d_step { pmd[PMD_A] = t + PMD_T1; t = 0;
			 printf("STEP split installs PMD A -> "); print_pmd(pmd[PMD_A]); printf("\n") }
	:: d_step { pmd[PMD_A] != PMD_HUGE_H ->
		    printf("STEP split finds no huge PMD at A\n") }
	fi;
	pmd_unlock();
	mmap_read_unlock(WHO_SPLIT)
}
#endif

/* ---- munmap ---- */

#if defined(SCENARIO_MUNMAP)
/* mirrors mm/vma.c (earlier mm/mmap.c) unmap_region(): unmap_vmas(),
 * free_pgtables(), then tlb_finish_mmu() */
proctype munmap()
{
	byte c;

	mmap_write_lock(WHO_MUNMAP);
	/* unmap_vmas() -> zap_pte_range(): the page waits for the flush */
	d_step { pte[T1] = PTE_NONE; mapcount--;
		 printf("STEP munmap clears the PTE in T1 and queues page P on the mmu_gather\n") };
	/* free_pgtables() -> free_pte_range(): pte_free_tlb() */
	d_step { pmd[PMD_A] = PMD_NONE;
		 printf("STEP munmap clears PMD A and queues T1 on the mmu_gather (free_pgtables)\n") };
	/* tlb_finish_mmu(): flush first, then free what was queued */
	flush_tlb_range(WHO_MUNMAP, c);
	d_step { put_page(PG_P);
		 printf("STEP munmap's mmu_gather releases page P\n") };
#if defined(RCU_TABLE_FREE) && defined(PT_RECLAIM)
	/* the batch's call_rcu(); on batch allocation failure PT_RECLAIM's
	 * __tlb_remove_table_one() uses call_rcu() too */
	d_step { printf("STEP munmap's mmu_gather frees T1 through call_rcu (tlb_remove_table)\n") };
	synchronize_rcu(WHO_RCU, c);
#elif defined(RCU_TABLE_FREE)
	if
	:: d_step { printf("STEP munmap's mmu_gather frees T1 through call_rcu (tlb_remove_table)\n") };
		synchronize_rcu(WHO_RCU, c)
	:: d_step { printf("STEP munmap cannot allocate a table batch: tlb_remove_table_one()\n") };
		tlb_remove_table_sync_mm(WHO_MUNMAP, c, 1)
	fi;
#endif
	d_step { tstate[T1] = TBL_FREE;
		 printf("STEP munmap frees T1\n") };
	mmap_write_unlock(WHO_MUNMAP);
	reuse_frame(T1)
}
#endif

/* ---- munmap of a whole PUD range ---- */

#if defined(SCENARIO_MUNMAP_PMD)
/* The allocator hands the freed PMD table frame out again: its entries
 * are data now (a data page, or a PMD table of another range, whose
 * entries stay put): garbage to a walker that still reads them. */
inline reuse_pmd_table()
{
	d_step { mstate = TBL_DATA; pmd[PMD_A] = PMD_GARBAGE;
		 printf("STEP M1 reused as a data page (the allocator hands the frame out again)\n") }
}

/*
 * A table @t (T1) or M1 (@m) goes to the RCU batch (tlb_remove_table()),
 * with @batched set; or, when no batch page can be had and PT_RECLAIM is
 * off, to tlb_remove_table_one() at once: the TLB flush of
 * tlb_table_invalidate(), __tlb_remove_table_one()'s sync (a caller step
 * 2 converts), the free. With PT_RECLAIM the fallback is a call_rcu() of
 * its own, which waits as the batch's grace period does (for the
 * sections begun before it; a later section cannot reach the unlinked
 * table): the same as the batch here.
 */
inline tlb_remove_table(c, t, m, batched)
{
#if defined(PT_RECLAIM)
	d_step { batched = 1; printf("STEP munmap queues ");
		 if
		 :: m -> printf("M1")
		 :: else -> printf("T%d", t + 1)
		 fi;
		 printf(" to be freed after a grace period (tlb_remove_table)\n") }
#else
	if
	:: d_step { batched = 1; printf("STEP munmap queues ");
		    if
		    :: m -> printf("M1")
		    :: else -> printf("T%d", t + 1)
		    fi;
		    printf(" on the RCU batch (tlb_remove_table)\n") }
	:: d_step { printf("STEP munmap cannot allocate a table batch: tlb_remove_table_one()\n") };
		flush_tlb_range(WHO_MUNMAP, c);
		tlb_remove_table_sync_mm(WHO_MUNMAP, c, 1);
		if
		:: m -> d_step { mstate = TBL_FREE; printf("STEP munmap frees M1\n") };
			reuse_pmd_table()
		:: else -> d_step { tstate[t] = TBL_FREE; printf("STEP munmap frees T%d\n", t + 1) };
			reuse_frame(t)
		fi
	fi
#endif
}

/*
 * munmap of the whole PUD range that holds A (mirrors
 * vms_clear_ptes(): unmap_vmas(), free_pgtables() -> free_pgd_range() ->
 * free_pud_range() -> free_pmd_range() -> free_pte_range(), then
 * tlb_finish_mmu()): the PTE table T1 is unhooked and handed to
 * pte_free_tlb(), then the PUD entry is cleared and M1 handed to
 * pmd_free_tlb(), the architecture's __pmd_free_tlb(): the RCU batch, the
 * page batch, or pmd_free() at once (UPPER_AT_ONCE), before the flush.
 * The flush comes last; then the page batch is freed, then the RCU batch
 * after a grace period.
 */
proctype munmap_pmd()
{
	byte c;
	bit t1_rcu, t1_page, m1_rcu, m1_page;

	mmap_write_lock(WHO_MUNMAP);
	d_step { pte[T1] = PTE_NONE; mapcount--;
		 printf("STEP munmap clears the PTE in T1 and queues page P on the mmu_gather\n") };
	/* free_pte_range(): pmd_clear(), pte_free_tlb() */
	d_step { pmd[PMD_A] = PMD_NONE;
		 printf("STEP munmap clears PMD A in M1 and hands T1 to pte_free_tlb (free_pte_range)\n") };
#if defined(RCU_TABLE_FREE)
	tlb_remove_table(c, T1, 0, t1_rcu);
#else
	d_step { t1_page = 1;
		 printf("STEP munmap queues T1 on the page batch, to free after the flush\n") };
#endif
	/* free_pud_range(): pud_clear(), pmd_free_tlb() */
	d_step { pud = PUD_NONE;
		 printf("STEP munmap clears the PUD and hands M1 to pmd_free_tlb (free_pud_range)\n") };
#if defined(UPPER_AT_ONCE)
	d_step { mstate = TBL_FREE;
		 printf("STEP munmap frees M1 at once (__pmd_free_tlb: pmd_free), before the flush\n") };
	reuse_pmd_table();
#elif defined(UPPER_AFTER_FLUSH)
	d_step { m1_page = 1;
		 printf("STEP munmap queues M1 on the page batch, to free after the flush\n") };
#else
	tlb_remove_table(c, T1, 1, m1_rcu);
#endif
	/* tlb_finish_mmu(): flush first, then free what was queued */
	flush_tlb_range(WHO_MUNMAP, c);
	d_step { put_page(PG_P);
		 printf("STEP munmap's mmu_gather releases page P\n") };
	if
	:: t1_page -> d_step { tstate[T1] = TBL_FREE; printf("STEP munmap frees T1\n") };
		reuse_frame(T1)
	:: else -> skip
	fi;
	if
	:: m1_page -> d_step { mstate = TBL_FREE; printf("STEP munmap frees M1\n") };
		reuse_pmd_table()
	:: else -> skip
	fi;
	if
	:: t1_rcu || m1_rcu ->
		synchronize_rcu(WHO_RCU, c);
		if
		:: t1_rcu -> d_step { tstate[T1] = TBL_FREE; printf("STEP munmap's call_rcu frees T1\n") };
			reuse_frame(T1)
		:: else -> skip
		fi;
		if
		:: m1_rcu -> d_step { mstate = TBL_FREE; printf("STEP munmap's call_rcu frees M1\n") };
			reuse_pmd_table()
		:: else -> skip
		fi
	:: else -> skip
	fi;
	t1_rcu = 0; t1_page = 0; m1_rcu = 0; m1_page = 0;
	mmap_write_unlock(WHO_MUNMAP)
}
#endif

/* ---- mremap ---- */

#if defined(SCENARIO_MREMAP)
/* A write of PMD A, counted for the ABA witness. */
inline set_pmd_a(v)
{
	pmd[PMD_A] = v;
	a_writes++
}

/*
 * A PTE table @t unlinked by munmap's free_pgtables() (of mremap's
 * destination, or of the old range move_ptes() emptied) is freed as
 * munmap frees it: after the gather's flush (done by the caller), then
 * through the RCU batch, or, when no batch can be allocated and
 * PT_RECLAIM is off, after tlb_remove_table_one()'s sync; else at once.
 */
inline free_unlinked_table(t, c)
{
#if defined(RCU_TABLE_FREE) && defined(PT_RECLAIM)
	d_step { printf("STEP munmap's mmu_gather frees T%d through call_rcu (tlb_remove_table)\n", t + 1) };
	synchronize_rcu(WHO_RCU, c);
#elif defined(RCU_TABLE_FREE)
	if
	:: d_step { printf("STEP munmap's mmu_gather frees T%d through call_rcu (tlb_remove_table)\n", t + 1) };
		synchronize_rcu(WHO_RCU, c)
	:: d_step { printf("STEP munmap cannot allocate a table batch: tlb_remove_table_one()\n") };
		tlb_remove_table_sync_mm(WHO_MUNMAP, c, 1)
	fi;
#endif
	d_step { tstate[t] = TBL_FREE;
		 printf("STEP munmap frees T%d\n", t + 1) }
}

/*
 * mremap of A's range to B's and back, under mmap_lock for write
 * (mirrors mm/mremap.c move_page_tables()):
 * - MOVE_PMD (move_normal_pmd()): under the PMD lock, clear PMD A,
 *   populate PMD B with the same table T1, flush the old range; back the
 *   same way: PMD A is T1 again, bit for bit. Or, instead of moving back,
 *   munmap B while T1 is there (T1 freed as munmap frees it) and fault A
 *   again: its new table is T1's frame again (the pool is LIFO: the same
 *   PMD value) or, T1's frame gone elsewhere, T2; the fault maps page Q.
 * - else (move_ptes()): a new table T2 under PMD B, the PTE moved from
 *   T1 to T2 under both PTE locks, the flush; then the old range's munmap
 *   clears PMD A and frees T1.
 */
proctype mover()
{
	byte c;

	mmap_write_lock(WHO_MREMAP);
#if defined(MOVE_PMD)
	pmd_lock();
	d_step { set_pmd_a(PMD_NONE); pmd[PMD_B] = PMD_T1;
		 printf("STEP mremap moves T1 from PMD A to PMD B (move_normal_pmd: pmd_clear, pmd_populate)\n") };
	flush_tlb_range(WHO_MREMAP, c);
	pmd_unlock();
	if
	:: pmd_lock();
		d_step { pmd[PMD_B] = PMD_NONE; set_pmd_a(PMD_T1);
			 printf("STEP mremap moves T1 back from PMD B to PMD A: PMD A is table T1 again, bit for bit\n") };
		flush_tlb_range(WHO_MREMAP, c);
		pmd_unlock()
	:: d_step { pte[T1] = PTE_NONE; mapcount--;
		    printf("STEP munmap of B clears the PTE in T1 and queues page P on the mmu_gather\n") };
		d_step { pmd[PMD_B] = PMD_NONE;
			 printf("STEP munmap of B clears PMD B and queues T1 on the mmu_gather (free_pgtables)\n") };
		flush_tlb_range(WHO_MUNMAP, c);
		d_step { put_page(PG_P);
			 printf("STEP munmap's mmu_gather releases page P\n") };
		free_unlinked_table(T1, c);
		if
		:: d_step { tstate[T1] = TBL_LIVE; pte[T1] = PTE_NONE; set_pmd_a(PMD_T1);
			    printf("STEP a fault at A allocates T1's frame again (LIFO) as A's table: PMD A is table T1 again, bit for bit\n") }
		:: reuse_frame(T1);
			d_step { tstate[T2] = TBL_LIVE; pte[T2] = PTE_NONE; set_pmd_a(PMD_T2);
				 printf("STEP a fault at A allocates T2 as A's table\n") }
		fi;
		d_step { ref[PG_Q] = 1; pte[PMD_FRAME(pmd[PMD_A])] = PTE_Q;
			 printf("STEP the fault maps page Q at A\n") }
	fi;
#else
	d_step { tstate[T2] = TBL_LIVE; pte[T2] = PTE_NONE; pmd[PMD_B] = PMD_T2;
		 printf("STEP mremap allocates T2 under PMD B (no table moves on this architecture)\n") };
	d_step { pte[T1] = PTE_NONE; pte[T2] = PTE_P;
		 printf("STEP mremap moves the PTE from T1 to T2 under both PTE locks (move_ptes)\n") };
	flush_tlb_range(WHO_MREMAP, c);
	d_step { set_pmd_a(PMD_NONE);
		 printf("STEP munmap of the old range clears PMD A and queues T1 on the mmu_gather (free_pgtables)\n") };
	flush_tlb_range(WHO_MUNMAP, c);
	free_unlinked_table(T1, c);
	reuse_frame(T1);
#endif
	mmap_write_unlock(WHO_MREMAP)
}
#endif

/* ---- file THP retraction ---- */

#if defined(SCENARIO_RETRACT)
/*
 * khugepaged retracting A's PTE table T1, whose PTE maps P, a page of the
 * file's huge folio H: mirrors mm/khugepaged.c collapse_pte_mapped_thp()
 * (and retract_page_tables(), the same steps on a table collapse_file()
 * already emptied). P and H stay the file's, mapped at A by whatever maps
 * A: a walker's pin of either is no harm.
 * - 6.1-6.5 (the default): mmap_lock for write (with the i_mmap lock:
 *   no locked walker runs), the PTE left in T1, pmdp_collapse_flush(),
 *   the seed's tlb_remove_table_sync_one() (IPI_SYNC), and pte_free() at
 *   once (collapse_and_free_pmd()).
 * - 6.6+ (RETRACT_DEFER): mmap_lock for read, the PTE cleared under T1's
 *   lock, then under the PMD lock and T1's lock pmdp_collapse_flush() and
 *   pmdp_get_lockless_sync() (nothing here: the model reads a PMD in one
 *   step), and pte_free_defer(): call_rcu(), T1 freed once a grace period
 *   is over.
 * Then the PMD is left none (khugepaged) or maps H huge (MADV_COLLAPSE's
 * set_huge_pmd()), and the allocator hands T1's frame out again.
 */
proctype retractor()
{
	byte c;

#if defined(RETRACT_DEFER)
	mmap_read_lock(WHO_RETRACT);
	atomic { ptl[T1] == 0 -> pte[T1] = PTE_NONE;
		 printf("STEP khugepaged clears the PTE in T1 under T1's lock (ptep_clear)\n") };
	atomic { pmd_ptl == 0 && ptl[T1] == 0 -> pmd_ptl = 1; ptl[T1] = 1;
		 printf("STEP khugepaged takes the PMD lock and T1's lock\n") };
	d_step { pmd[PMD_A] = PMD_NONE;
		 printf("STEP khugepaged clears PMD A (pmdp_collapse_flush)\n") };
#else
	mmap_write_lock(WHO_RETRACT);
	d_step { pmd[PMD_A] = PMD_NONE;
		 printf("STEP khugepaged clears PMD A (pmdp_collapse_flush); T1's PTE stays\n") };
#endif
#if defined(COLLAPSE_FLUSH_WAITS)
	serialize_against_pte_lookup(WHO_RETRACT, c);
#endif
	flush_tlb_range(WHO_RETRACT, c);
#if defined(RETRACT_DEFER)
	d_step { ptl[T1] = 0; pmd_ptl = 0;
		 printf("STEP khugepaged calls pmdp_get_lockless_sync() and drops the locks\n") };
#else
#if defined(IPI_SYNC)
	/* the seed's fix, in collapse_and_free_pmd() */
	tlb_remove_table_sync_one(WHO_RETRACT, c);
#endif
	d_step { tstate[T1] = TBL_FREE;
		 printf("STEP khugepaged frees T1 at once (pte_free)\n") };
#endif
	if
	:: pmd_lock();
		d_step { pmd[PMD_A] = PMD_HUGE_H;
			 printf("STEP khugepaged maps PMD A -> huge page H (set_huge_pmd)\n") };
		pmd_unlock()
	:: d_step { printf("STEP khugepaged leaves PMD A none\n") }
	fi;
#if defined(RETRACT_DEFER)
	mmap_read_unlock(WHO_RETRACT);
	/* pte_free_defer(): call_rcu(), whose callback frees T1 */
	synchronize_rcu(WHO_RETRACT_RCU, c);
	d_step { tstate[T1] = TBL_FREE;
		 printf("STEP retraction's pte_free_defer frees T1\n") };
#else
	mmap_write_unlock(WHO_RETRACT);
#endif
	reuse_frame(T1)
}
#endif

/* ---- page-table reclaim ---- */

#if defined(SCENARIO_PT_RECLAIM)
/*
 * MADV_DONTNEED of A's range under mmap_lock for read, with PT_RECLAIM:
 * mirrors mm/memory.c zap_pte_range() and mm/pt_reclaim.c
 * try_to_free_pte(): clear the PTEs under the table's lock; then, the
 * table being empty, take the PMD lock and the table's lock, clear the
 * PMD and free the table through the mmu_gather (tlb_remove_table()):
 * after the flush; with RCU table free after a grace period, the batch's
 * call_rcu() or, when no batch can be allocated, the PT_RECLAIM
 * __tlb_remove_table_one() that also uses call_rcu().
 */
proctype reclaimer()
{
	byte c;

	mmap_read_lock(WHO_RECLAIM);
	atomic { ptl[T1] == 0 -> pte[T1] = PTE_NONE; mapcount--;
		 printf("STEP MADV_DONTNEED clears the PTE in T1 under T1's lock and queues page P on the mmu_gather\n") };
	atomic { pmd_ptl == 0 && ptl[T1] == 0 -> pmd[PMD_A] = PMD_NONE;
		 printf("STEP MADV_DONTNEED finds T1 empty: under the PMD lock and T1's lock clears PMD A and queues T1 (try_to_free_pte)\n") };
	flush_tlb_range(WHO_RECLAIM, c);
	d_step { put_page(PG_P);
		 printf("STEP MADV_DONTNEED's mmu_gather releases page P\n") };
#if defined(RCU_TABLE_FREE)
	d_step { printf("STEP MADV_DONTNEED's mmu_gather frees T1 through call_rcu\n") };
	synchronize_rcu(WHO_RCU, c);
#endif
	d_step { tstate[T1] = TBL_FREE;
		 printf("STEP MADV_DONTNEED frees T1\n") };
	mmap_read_unlock(WHO_RECLAIM);
	reuse_frame(T1)
}
#endif

init
{
	byte i;

	d_step {
		/* address A is mapped by small page P in PTE table T1 */
		pmd[PMD_A] = PMD_T1;
		pte[T1] = PTE_P;
		ref[PG_P] = 1;
		mapcount = 1;
		ref[PG_X] = 1;
		ref[PG_H] = 1;
		ref[PG_HB] = 1;
#if defined(SCENARIO_COLLAPSE_ZAP)
		/* B is a THP collapsed earlier: T2 was deposited for it */
		pmd[PMD_B] = PMD_HUGE_HB;
		pgtable_trans_huge_deposit(T2);
		printf("STEP start: PMD A -> table T1 whose PTE -> page P; PMD B -> huge page HB, T2 deposited\n")
#elif defined(SCENARIO_MUNMAP_PMD)
		/* Y: a data page, never a table of this mm */
		pud = PUD_M1;
		tstate[TY] = TBL_DATA;
		pte[TY] = PTE_GARBAGE;
		printf("STEP start: the PUD -> PMD table M1, whose PMD A -> table T1 whose PTE -> page P\n")
#elif defined(SCENARIO_RETRACT)
		printf("STEP start: PMD A -> table T1 whose PTE -> page P, a page of the file's huge folio H\n")
#elif defined(SCENARIO_MREMAP)
		/* T2: a free frame a fault or mremap may take */
		tstate[T2] = TBL_FREE;
		printf("STEP start: PMD A -> table T1 whose PTE -> page P; PMD B none\n")
#elif defined(SCENARIO_HUGETLB_UNSHARE)
		pud_w = PUD_S;
		pud_a = PUD_S;
		s_entry = HP_F;
		s_shares = 3;
		s_shared = 1;
		printf("STEP start: W's, A's and B's PUDs all name the PMD table S, whose entry maps huge page F\n")
#else
		printf("STEP start: PMD A -> table T1 whose PTE -> page P\n")
#endif
	};
	atomic {
#if defined(GUP_WALKERS)
		i = 1;
		do
		:: i <= NGUP ->
#if defined(SCENARIO_HUGETLB_UNSHARE)
			run hugetlb_walker(i);
#else
			run walker(i);
#endif
			i++
		:: else -> break
		od;
#endif
#if defined(RCU_WALKERS)
		i = 1;
		do
		:: i <= NRCU -> run rcu_walker(i); i++
		:: else -> break
		od;
#endif
		i = 0;
#if defined(MEM_BUFFERED)
		run store_buffers();
#endif
#if defined(COLLAPSES)
		run khugepaged();
#endif
#if defined(SCENARIO_COLLAPSE_ZAP)
		run zapper();
#endif
#if defined(COLLAPSES) && defined(SPLIT_AFTER_COLLAPSE)
		run splitter();
#endif
#if defined(SCENARIO_MUNMAP)
		run munmap();
#endif
#if defined(SCENARIO_MUNMAP_PMD)
		run munmap_pmd();
#endif
#if defined(SCENARIO_PT_RECLAIM)
		run reclaimer();
#endif
#if defined(SCENARIO_RETRACT)
		run retractor();
#endif
#if defined(SCENARIO_MREMAP)
		run mover();
#endif
#if defined(SCENARIO_HUGETLB_UNSHARE)
		run unsharer(WHO_UNSHARE_W, 1);
		run unsharer(WHO_UNSHARE, 0);
		run owner();
#endif
	}
}
