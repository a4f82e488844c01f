// SPDX-License-Identifier: MIT
/*
 * The architecture profiles. Adding a profile is adding a row; every other
 * part of ptlab (the machine, the lab's rule, the Spin model's switches,
 * `ptlab profiles`) reads the row's properties and never its name.
 */
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "ptlab/profile.h"
#include "util/names.h"

static const struct ptlab_profile profiles[] = {
	{
		.name = "x86",
		.rcu_table_free = true,
		.sync_ipi = true,
		.upper_table_free = UPPER_TABLE_RCU,
		.flush = TLB_FLUSH_IPI,
		.deposit = DEPOSIT_LIST,
		.mm_cpumask = true,
		.move_pmd = true,
		.move_pud = true,
		.summary = "x86-64 since 6.15, CPUs without INVLPGB",
		/* Rik van Riel's INVLPGB series (2025) made x86 select
		 * MMU_GATHER_RCU_TABLE_FREE unconditionally; native flushes
		 * still IPI mm_cpumask and wait (native_flush_tlb_multi()). */
		.kernel_facts = "arch/x86/Kconfig selects MMU_GATHER_RCU_TABLE_FREE "
				"(6.15+); arch/x86/mm/tlb.c native_flush_tlb_multi() "
				"IPIs mm_cpumask and waits; arch/x86/mm/pgtable.c "
				"___pte_free_tlb(), ___pmd_free_tlb(), ___pud_free_tlb() -> "
				"tlb_remove_table(): every level by RCU (a37259732a7d)"
				"; arch/x86/Kconfig selects HAVE_MOVE_PMD, HAVE_MOVE_PUD (mm/mremap.c move_normal_pmd(), move_normal_pud())",
	},
	{
		.name = "x86-invlpgb",
		.rcu_table_free = true,
		.sync_ipi = true,
		.upper_table_free = UPPER_TABLE_RCU,
		.flush = TLB_FLUSH_BROADCAST,
		.broadcast_min_cpus = 4,
		.deposit = DEPOSIT_LIST,
		.mm_cpumask = true,
		.move_pmd = true,
		.move_pud = true,
		.summary = "x86-64 since 6.15 on AMD CPUs with INVLPGB",
		/* Same series: on CPUs with INVLPGB, remote TLBs of an mm
		 * with a global ASID are invalidated by broadcast with
		 * TLBSYNC, no IPI. An mm gets a global ASID once it has been
		 * active on more than three CPUs (consider_global_asid(),
		 * mm_active_cpus_exceeds(mm, 3)); every other mm is flushed
		 * by flush_tlb_multi() IPIs, as plain x86. */
		.kernel_facts = "arch/x86/mm/tlb.c broadcast_tlb_flush(): INVLPGB + "
				"TLBSYNC, no IPI, only for an mm with a global ASID "
				"(consider_global_asid(): active on 4+ CPUs); other mms "
				"by IPI; RCU table free of every level as x86"
				"; HAVE_MOVE_PMD, HAVE_MOVE_PUD as x86",
	},
	{
		.name = "x86-pv-6.0",
		.rcu_table_free = true,
		.sync_ipi = true,
		.upper_table_free = UPPER_TABLE_RCU,
		.flush = TLB_FLUSH_PARAVIRT,
		.deposit = DEPOSIT_LIST,
		.mm_cpumask = true,
		.move_pmd = true,
		.move_pud = true,
		.summary = "x86-64 KVM guest before 6.15 (PARAVIRT, pv TLB flush)",
		/* Before 6.15 x86 selected MMU_GATHER_RCU_TABLE_FREE if
		 * PARAVIRT; a KVM guest with pv TLB flush frees tables
		 * through tlb_remove_table() (RCU), and kvm_flush_tlb_multi()
		 * marks a preempted vCPU KVM_VCPU_FLUSH_TLB instead of
		 * sending it an IPI; the host flushes when it runs again. Every
		 * level goes through paravirt_tlb_remove_table(). */
		.kernel_facts = "arch/x86/Kconfig: select MMU_GATHER_RCU_TABLE_FREE "
				"if PARAVIRT; arch/x86/kernel/kvm.c "
				"kvm_flush_tlb_multi() skips preempted vCPUs; kvm_guest_init() "
				"sets pv_ops.mmu.tlb_remove_table = tlb_remove_table with it "
				"(pv_tlb_flush_supported()), which arch/x86/mm/pgtable.c "
				"paravirt_tlb_remove_table() uses for PTE, PMD and PUD tables "
				"(RCU) (6.12)"
				"; HAVE_MOVE_PMD, HAVE_MOVE_PUD as x86",
	},
	{
		.name = "x86-hyperv-6.0",
		.rcu_table_free = true,
		.sync_ipi = true,
		.upper_table_free = UPPER_TABLE_RCU,
		.flush = TLB_FLUSH_HYPERCALL,
		.deposit = DEPOSIT_LIST,
		.mm_cpumask = true,
		.move_pmd = true,
		.move_pud = true,
		.summary = "x86-64 Hyper-V or Xen PV guest before 6.15 (hypercall TLB flush)",
		/* Before 6.15 x86 selected MMU_GATHER_RCU_TABLE_FREE if
		 * PARAVIRT, and these guests pointed
		 * pv_ops.mmu.tlb_remove_table at tlb_remove_table(): tables
		 * freed after a grace period. Their remote flush is a
		 * hypercall (hyperv_flush_tlb_multi(), Xen PV's
		 * MMUEXT_TLB_FLUSH_MULTI) that interrupts no guest vCPU;
		 * Hyper-V falls back to native IPIs only if the hypercall
		 * fails, which the profile leaves out. */
		.kernel_facts = "arch/x86/hyperv/mmu.c hyperv_flush_tlb_multi(), "
				"arch/x86/xen/mmu_pv.c xen_flush_tlb_multi(): hypercall, "
				"no guest IPI; pv_ops.mmu.tlb_remove_table = "
				"tlb_remove_table (RCU) for every level (hyperv_setup_mmu_ops() "
				"with HV_X64_REMOTE_TLB_FLUSH_RECOMMENDED; Xen PV xen_mmu_ops) "
				"(6.12)"
				"; HAVE_MOVE_PMD, HAVE_MOVE_PUD as x86",
	},
	{
		.name = "x86-nopv-6.0",
		.rcu_table_free = false,
		.sync_ipi = false,
		.upper_table_free = UPPER_TABLE_AFTER_FLUSH,
		.flush = TLB_FLUSH_IPI,
		.deposit = DEPOSIT_LIST,
		.mm_cpumask = true,
		.move_pmd = true,
		.move_pud = true,
		.summary = "x86-64 before 6.15 without PARAVIRT (seed case 2)",
		/* Case 2 of the seed: no RCU table free, so
		 * tlb_remove_table_sync_one() is empty; safe because every
		 * flush IPIs the CPUs that may walk the mm and waits. The row
		 * is the kernel built without PARAVIRT; with PARAVIRT on bare
		 * metal the symbol is selected (the sync sends IPIs) and
		 * native_tlb_remove_table() still frees every level after the
		 * flush: the same cells, the flush waiting for the walkers. */
		.kernel_facts = "no MMU_GATHER_RCU_TABLE_FREE: tables freed after "
				"the flush; include/asm-generic/tlb.h "
				"tlb_remove_table_sync_one() is a no-op; arch/x86/mm/pgtable.c "
				"paravirt_tlb_remove_table() = tlb_remove_page() for PTE, PMD "
				"and PUD tables (page batch, after the flush); with PARAVIRT, "
				"arch/x86/kernel/paravirt.c native_tlb_remove_table() the same "
				"(6.12, 6.1)"
				"; HAVE_MOVE_PMD, HAVE_MOVE_PUD as x86",
	},
	{
		.name = "arm64",
		.rcu_table_free = true,
		.sync_ipi = true,
		.upper_table_free = UPPER_TABLE_RCU,
		.flush = TLB_FLUSH_BROADCAST,
		.deposit = DEPOSIT_LIST,
		.mm_cpumask = false,
		.move_pmd = true,
		.move_pud = true,
		.summary = "arm64: broadcast TLBI, RCU table free",
		/* Quoted in the seed: arch/arm64/Kconfig selects
		 * MMU_GATHER_RCU_TABLE_FREE; flushes are TLBI ...IS + DSB, a
		 * hardware broadcast that sends no IPI. */
		.kernel_facts = "arch/arm64/Kconfig selects MMU_GATHER_RCU_TABLE_FREE; "
				"arch/arm64/include/asm/tlbflush.h uses TLBI IS, no IPI; "
				"arch/arm64/include/asm/tlb.h __pte_free_tlb(), __pmd_free_tlb(), "
				"__pud_free_tlb() -> tlb_remove_ptdesc() (RCU) (6.12)"
				"; arch/arm64/Kconfig selects HAVE_MOVE_PMD, HAVE_MOVE_PUD",
	},
	{
		.name = "ppc64-radix",
		.rcu_table_free = true,
		.sync_ipi = true,
		.upper_table_free = UPPER_TABLE_RCU,
		.flush = TLB_FLUSH_BROADCAST,
		.deposit = DEPOSIT_IN_TABLE,
		.mm_cpumask = true,
		.move_pmd = true,
		.move_pud = true,
		.summary = "powerpc64 radix MMU: tlbie broadcast, in-table deposit",
		/* arch/powerpc/Kconfig selects MMU_GATHER_RCU_TABLE_FREE;
		 * radix flushes with tlbie (broadcast); and
		 * radix__pgtable_trans_huge_deposit() keeps the deposit
		 * list links inside the deposited table. Radix as since
		 * 2022: radix__pmdp_collapse_flush() lost its
		 * serialize_against_pte_lookup() IPI in the series that added
		 * the PMD re-check, so before that the collapse flush itself
		 * waited for walkers and "no fix" never shipped on radix.
		 * Kernels with 64K pages allocate PTE tables as fragments of
		 * a page (pte_fragment_alloc()) and free the page only once
		 * every fragment is free, so a freed table's frame comes
		 * back later than the lab's LIFO reuse makes it; the in-table
		 * deposit hazard is the same. */
		.kernel_facts = "arch/powerpc/mm/book3s64/radix_pgtable.c "
				"radix__pgtable_trans_huge_deposit() writes list links "
				"into the table; tlbie broadcast; "
				"arch/powerpc/include/asm/book3s/64/pgalloc.h __pmd_free_tlb(), "
				"__pud_free_tlb() -> pgtable_free_tlb() -> tlb_remove_table() "
				"(RCU; a PMD table is a fragment of a page, freed with its last "
				"fragment) (6.12)"
				"; arch/powerpc/platforms/Kconfig.cputype selects HAVE_MOVE_PMD, HAVE_MOVE_PUD (PPC_BOOK3S_64), arch_supports_page_table_move() = radix_enabled()",
	},
	{
		.name = "s390",
		.rcu_table_free = true,
		.sync_ipi = true,
		.upper_table_free = UPPER_TABLE_RCU,
		.flush = TLB_FLUSH_BROADCAST,
		.deposit = DEPOSIT_IN_TABLE,
		.mm_cpumask = true,
		.summary = "s390: IDTE/IPTE hardware flush, RCU table free, in-table deposit",
		/* Read in 6.12: the three selects are unconditional; the
		 * flush never interrupts another CPU; the deposit list's
		 * list_head is the deposited table's own first 16 bytes, and
		 * withdraw writes _PAGE_INVALID over them. */
		.kernel_facts = "arch/s390/Kconfig selects HAVE_GUP_FAST, "
				"HAVE_ARCH_TRANSPARENT_HUGEPAGE and MMU_GATHER_RCU_TABLE_FREE; "
				"arch/s390/include/asm/tlbflush.h __tlb_flush_mm() flushes by "
				"IDTE (or IPTE/CSP), broadcast by the hardware, no IPI; "
				"arch/s390/mm/pgtable.c pgtable_trans_huge_deposit() writes its "
				"list_head into the deposited table; generic "
				"pmdp_collapse_flush(); arch/s390/include/asm/tlb.h "
				"pmd_free_tlb(), pud_free_tlb() -> tlb_remove_ptdesc() (RCU) "
				"(6.12)"
				"; no HAVE_MOVE_PMD or HAVE_MOVE_PUD: mremap moves PTE by PTE",
	},
	{
		.name = "ppc64-hash",
		.rcu_table_free = true,
		.sync_ipi = true,
		.upper_table_free = UPPER_TABLE_RCU,
		.flush = TLB_FLUSH_BROADCAST,
		.deposit = DEPOSIT_IN_TABLE,
		.mm_cpumask = true,
		.collapse_flush_waits = true,
		.summary = "powerpc64 hash MMU (64K pages): collapse flush waits for walkers",
		/* The hash MMU never walks the Linux tables: a flush
		 * invalidates hash-table entries by tlbie or an H_BULK_REMOVE
		 * hypercall, waiting for no CPU. Its collapse flush keeps the
		 * IPI radix dropped in 2022 (bedf03416913), for hash_page()
		 * as much as for GUP-fast. The deposit keeps one pointer in
		 * the second half of the PMD table, but the deposited table's
		 * memory holds hash-slot data while the huge PMD lives and is
		 * zeroed at withdraw: written while deposited, which is what
		 * the in-table style stands for. */
		.kernel_facts = "arch/powerpc/Kconfig selects HAVE_GUP_FAST and "
				"MMU_GATHER_RCU_TABLE_FREE, THP via PPC_THP (hash needs "
				"PAGE_SIZE_64KB); arch/powerpc/mm/book3s64/hash_pgtable.c "
				"hash__pmdp_collapse_flush() -> serialize_against_pte_lookup() "
				"(book3s64/pgtable.c: smp_call_function_many(mm_cpumask(mm), "
				"..., 1)); hash__pgtable_trans_huge_deposit() stores the table "
				"at pmdp + PTRS_PER_PMD, the table holds hidx data, withdraw "
				"zeroes it; flush_tlb_range() empty on hash, HPTEs removed by "
				"tlbie or H_BULK_REMOVE; PMD and PUD tables by pgtable_free_tlb() "
				"(RCU) as on radix (6.12)"
				"; HAVE_MOVE_PMD and HAVE_MOVE_PUD selected but arch_supports_page_table_move() = radix_enabled() (arch/powerpc/include/asm/tlb.h): no table moves on hash",
	},
	{
		.name = "riscv64-ipi",
		.rcu_table_free = false,
		.sync_ipi = true,
		.upper_table_free = UPPER_TABLE_AFTER_FLUSH,
		.flush = TLB_FLUSH_IPI,
		.deposit = DEPOSIT_LIST,
		.mm_cpumask = true,
		.move_pmd = true,
		.move_pud = true,
		.summary = "riscv64 6.8 to 6.14 with an S-mode IPI device (IMSIC, ACLINT SSWI): "
			   "IPI flush",
		/* GUP-fast and MMU_GATHER_RCU_TABLE_FREE both since 6.8
		 * (3f910b7a522e, 69be3fb111e7). Which flush is used is
		 * decided at boot; with IPIs, riscv_tlb_remove_ptdesc() puts
		 * tables of every level in the page batch freed after the IPI
		 * flush, not after a grace period (rcu_table_free false,
		 * upper_table_free after-flush). The Kconfig symbol is still
		 * set (SMP && MMU), so tlb_remove_table_sync_one() sends its
		 * IPIs (sync_ipi true): they wait for what the flush already
		 * waited for. From 6.15 ("riscv: pgtable: unconditionally use
		 * tlb_remove_ptdesc()", Qi Zheng) every level is freed by RCU
		 * in both modes: riscv64-ipi stands for 6.8 to 6.14. */
		.kernel_facts = "arch/riscv/Kconfig: HAVE_GUP_FAST if MMU, "
				"HAVE_ARCH_TRANSPARENT_HUGEPAGE if 64BIT && MMU, "
				"MMU_GATHER_RCU_TABLE_FREE if SMP && MMU (6.8+); "
				"arch/riscv/mm/tlbflush.c __flush_tlb_range(): on_each_cpu_mask("
				"mm cpumask, ..., 1) unless riscv_use_sbi_for_rfence(); "
				"arch/riscv/include/asm/pgalloc.h riscv_tlb_remove_ptdesc(): "
				"tlb_remove_page_ptdesc() (no RCU) with IPIs, for __pte_free_tlb(), "
				"__pmd_free_tlb() and __pud_free_tlb() alike, while "
				"tlb_remove_table_sync_one() sends IPIs (the symbol is selected); "
				"arch/riscv/mm/pgtable.c pmdp_collapse_flush() -> flush_tlb_mm() "
				"(6.12); 6.15+: tlb_remove_ptdesc() (RCU) in both modes (Qi Zheng, "
				"\"riscv: pgtable: unconditionally use tlb_remove_ptdesc()\")"
				"; arch/riscv/Kconfig selects HAVE_MOVE_PMD, HAVE_MOVE_PUD",
	},
	{
		.name = "riscv64-sbi",
		.rcu_table_free = true,
		.sync_ipi = true,
		.upper_table_free = UPPER_TABLE_RCU,
		.flush = TLB_FLUSH_BROADCAST,
		.deposit = DEPOSIT_LIST,
		.mm_cpumask = true,
		.move_pmd = true,
		.move_pud = true,
		.summary = "riscv64 6.8+ flushing by SBI remote fence (no S-mode IPI device)",
		/* sbi_ipi_init() enables riscv_sbi_for_rfence when the kernel
		 * has no IPI virq range. The remote fence is carried out by
		 * M-mode firmware, which interrupts a hart whatever its S-mode
		 * interrupt state: it waits for no interrupts-off section, as
		 * a broadcast. Tables then go through tlb_remove_ptdesc(): RCU
		 * table free. */
		.kernel_facts = "arch/riscv/kernel/sbi-ipi.c sbi_ipi_init() enables "
				"riscv_sbi_for_rfence without an IPI virq range; "
				"arch/riscv/mm/tlbflush.c __flush_tlb_range() -> "
				"sbi_remote_sfence_vma_asid() (M-mode, does not wait for "
				"S-mode interrupts-off); asm/pgalloc.h riscv_tlb_remove_ptdesc() "
				"-> tlb_remove_ptdesc() (RCU) for every level; Kconfig "
				"MMU_GATHER_RCU_TABLE_FREE "
				"if SMP && MMU (69be3fb111e7, 6.8) (6.12)"
				"; arch/riscv/Kconfig selects HAVE_MOVE_PMD, HAVE_MOVE_PUD",
	},
	{
		.name = "loongarch64",
		.rcu_table_free = false,
		.sync_ipi = false,
		.upper_table_free = UPPER_TABLE_AT_ONCE,
		.flush = TLB_FLUSH_IPI,
		.deposit = DEPOSIT_LIST,
		.mm_cpumask = true,
		.summary = "loongarch64 up to 6.19: IPI flush to mm_cpumask, no RCU table free, "
			   "PMD tables freed at once",
		/* Up to 6.19 PTE tables go through the page batch, freed
		 * after the IPI flush, but PMD and PUD tables are freed at
		 * once (__pmd_free_tlb() = pmd_free(), __pud_free_tlb() =
		 * pud_free()), before the gather's flush: nothing waits for a
		 * GUP-fast walker that read the PUD entry (munmap-pmd). 7.0
		 * selects MMU_GATHER_RCU_TABLE_FREE and sends all three levels
		 * through tlb_remove_ptdesc() (a5b981e63edb, Qi Zheng's series
		 * "enable PT_RECLAIM on more 64-bit architectures"). */
		.kernel_facts = "arch/loongarch/Kconfig selects HAVE_GUP_FAST and "
				"HAVE_ARCH_TRANSPARENT_HUGEPAGE, not MMU_GATHER_RCU_TABLE_FREE; "
				"arch/loongarch/kernel/smp.c flush_tlb_range(): "
				"on_each_cpu_mask(mm_cpumask(mm), ..., 1) (no IPI when mm_users "
				"== 1 and current->mm == mm); asm/pgalloc.h __pte_free_tlb() -> "
				"tlb_remove_page_ptdesc(), __pmd_free_tlb() = pmd_free(), "
				"__pud_free_tlb() = pud_free() (at once, before the flush); "
				"generic deposit and pmdp_collapse_flush() (6.12; up to 6.19); "
				"7.0: MMU_GATHER_RCU_TABLE_FREE, every level by "
				"tlb_remove_ptdesc() (a5b981e63edb)"
				"; no HAVE_MOVE_PMD or HAVE_MOVE_PUD: mremap moves PTE by PTE",
	},
	{
		.name = "mips64",
		.rcu_table_free = false,
		.sync_ipi = false,
		.upper_table_free = UPPER_TABLE_AT_ONCE,
		.flush = TLB_FLUSH_IPI,
		.deposit = DEPOSIT_LIST,
		.mm_cpumask = true,
		.summary = "mips64 up to 6.19 without MMID: IPI flush to every CPU, PMD tables "
			   "freed at once",
		/* smp_on_other_tlbs() is smp_call_function(..., 1): every
		 * other online CPU, a superset of those running the mm. PMD
		 * and PUD tables are freed at once, as on loongarch, up to
		 * 6.19; 7.0 frees them by RCU (6c8e95805dba). */
		.kernel_facts = "arch/mips/Kconfig selects HAVE_GUP_FAST, "
				"HAVE_ARCH_TRANSPARENT_HUGEPAGE if CPU_SUPPORTS_HUGEPAGES, not "
				"MMU_GATHER_RCU_TABLE_FREE; arch/mips/kernel/smp.c "
				"flush_tlb_range() without cpu_has_mmid -> smp_on_other_tlbs() "
				"= smp_call_function(..., 1); asm/pgalloc.h __pte_free_tlb() -> "
				"tlb_remove_page_ptdesc(), __pmd_free_tlb() = pmd_free(), "
				"__pud_free_tlb() = pud_free() (at once, before the flush); "
				"generic deposit and pmdp_collapse_flush() (6.12; up to 6.19); "
				"7.0: MMU_GATHER_RCU_TABLE_FREE, every level by "
				"tlb_remove_ptdesc() (6c8e95805dba)"
				"; no HAVE_MOVE_PMD or HAVE_MOVE_PUD: mremap moves PTE by PTE",
	},
	{
		.name = "mips64-mmid",
		.rcu_table_free = false,
		.sync_ipi = false,
		.upper_table_free = UPPER_TABLE_AT_ONCE,
		.flush = TLB_FLUSH_BROADCAST,
		.deposit = DEPOSIT_LIST,
		.mm_cpumask = true,
		.summary = "mips64 up to 6.19 with MMID (R6): GINVT flush, no RCU: unprotected",
		/* The same kernel on a CPU with MMIDs: every user flush is a
		 * GINVT broadcast and no path sends an IPI, while tables are
		 * still freed right after the flush (PTE) or at once (PMD,
		 * PUD) and tlb_remove_table_sync_one() is empty. Nothing
		 * waits for GUP-fast: the properties of broadcast-norcu. The
		 * 2026 series selects MMU_GATHER_RCU_TABLE_FREE on mips
		 * (6c8e95805dba, 7.0). */
		.kernel_facts = "arch/mips/kernel/smp.c flush_tlb_range() with "
				"cpu_has_mmid: ginvt_va_mmid() + sync_ginv(), no IPI; "
				"flush_tlb_mm(): drop_mmu_context() -> ginvt_mmid(), no IPI; no "
				"MMU_GATHER_RCU_TABLE_FREE up to 6.19, so "
				"tlb_remove_table_sync_one() is empty (include/asm-generic/tlb.h); "
				"PMD and PUD tables by pmd_free()/pud_free() at once (6.12); "
				"\"mips: mm: enable MMU_GATHER_RCU_TABLE_FREE\" (Qi Zheng, "
				"6c8e95805dba, 7.0) fixes it"
				"; no HAVE_MOVE_PMD or HAVE_MOVE_PUD: mremap moves PTE by PTE",
	},
	{
		.name = "x86-32-pae",
		.rcu_table_free = true,
		.sync_ipi = true,
		.upper_table_free = UPPER_TABLE_RCU,
		.flush = TLB_FLUSH_IPI,
		.deposit = DEPOSIT_LIST,
		.mm_cpumask = true,
		.pmd_read = PMD_READ_LOW_HIGH,
		.move_pmd = true,
		.move_pud = true,
		.summary = "x86-32 with PAE since 6.15: IPI flush, PMD read in two halves",
		/* Same Kconfig as x86-64: RCU table free unconditional since
		 * 6.15 (only with PARAVIRT before); INVLPGB depends on 64BIT,
		 * so the native flush is the IPI that waits. Three levels: the
		 * PUD is folded, PMD tables go through ___pmd_free_tlb() (RCU,
		 * as x86-64's). */
		.kernel_facts = "arch/x86/Kconfig: select GUP_GET_PXX_LOW_HIGH if X86_PAE; "
				"MMU_GATHER_RCU_TABLE_FREE if PARAVIRT (6.12), unconditional "
				"(6.15+); include/linux/pgtable.h pmdp_get_lockless() reads "
				"pmd_low, pmd_high, pmd_low again, and pmdp_get_lockless_sync() "
				"= tlb_remove_table_sync_one(); BROADCAST_TLB_FLUSH (INVLPGB) "
				"depends on 64BIT; native_flush_tlb_multi() IPIs and waits; "
				"arch/x86/mm/pgtable.c ___pmd_free_tlb() -> tlb_remove_table() "
				"(6.15+; the PUD level is folded)"
				"; HAVE_MOVE_PMD, HAVE_MOVE_PUD as x86 (with three levels the PUD move is the folded level's: ptlab moves a PMD table between PUD entries as on 64-bit)",
	},
	{
		.name = "arm-lpae",
		.rcu_table_free = true,
		.sync_ipi = true,
		.upper_table_free = UPPER_TABLE_RCU,
		.flush = TLB_FLUSH_BROADCAST,
		.deposit = DEPOSIT_LIST,
		.mm_cpumask = true,
		.summary = "32-bit arm with LPAE: broadcast TLBI (inner shareable), RCU table free",
		/* Every LPAE core broadcasts TLB maintenance in hardware, so
		 * tlb_ops_need_broadcast() is false and no IPI is sent
		 * (Cortex-A15 erratum 798181 parts add one; left out). LPAE
		 * descriptors are 64 bits read with one LDRD, single-copy
		 * atomic on LPAE cores: arm does not select
		 * GUP_GET_PXX_LOW_HIGH. */
		.kernel_facts = "arch/arm/Kconfig: HAVE_GUP_FAST if ARM_LPAE, "
				"HAVE_ARCH_TRANSPARENT_HUGEPAGE if ARM_LPAE, "
				"MMU_GATHER_RCU_TABLE_FREE if SMP && ARM_LPAE; "
				"arch/arm/kernel/smp_tlb.c flush_tlb_range(): IPI only if "
				"tlb_ops_need_broadcast(), else TLBIMVAIS broadcast; generic "
				"deposit and pmdp_collapse_flush(); arch/arm/include/asm/tlb.h "
				"__pmd_free_tlb() -> tlb_remove_ptdesc() with LPAE (RCU on SMP; "
				"the PUD level is folded) (6.12)"
				"; no HAVE_MOVE_PMD or HAVE_MOVE_PUD: mremap moves PTE by PTE",
	},
	{
		.name = "broadcast-norcu",
		.rcu_table_free = false,
		.sync_ipi = false,
		.upper_table_free = UPPER_TABLE_AFTER_FLUSH,
		.flush = TLB_FLUSH_BROADCAST,
		.deposit = DEPOSIT_LIST,
		.mm_cpumask = false,
		.move_pmd = true,
		.move_pud = true,
		.summary = "the seed's negative control (mips64-mmid up to 6.19 is one)",
		/* The configuration Yang Shi's question rules out: without
		 * RCU table free the flush must IPI, so no architecture may
		 * combine a broadcast flush with it. Its PMD and PUD tables
		 * are freed as its PTE tables, after the flush. */
		.kernel_facts = "none: mm/gup.c requires IPI flushes when "
				"MMU_GATHER_RCU_TABLE_FREE is unset"
				"; moves tables as x86 and arm64 do (HAVE_MOVE_PMD, HAVE_MOVE_PUD)",
	},
};

const struct ptlab_profile *ptlab_profiles(void)
{
	return profiles;
}

size_t ptlab_profiles_count(void)
{
	return sizeof(profiles) / sizeof(profiles[0]);
}

const struct ptlab_profile *ptlab_profile_find(const char *name)
{
	if (!name)
		return NULL;
	for (size_t i = 0; i < ptlab_profiles_count(); i++)
		if (strcmp(profiles[i].name, name) == 0)
			return &profiles[i];
	return NULL;
}

static const char *profile_name_at(size_t i)
{
	return profiles[i].name;
}

void ptlab_profile_names(char *buf, size_t len)
{
	names_join(buf, len, profile_name_at, ptlab_profiles_count());
}

static const char *const tlb_flush_names[] = {
	[TLB_FLUSH_IPI] = "ipi",
	[TLB_FLUSH_BROADCAST] = "broadcast",
	[TLB_FLUSH_PARAVIRT] = "paravirt",
	[TLB_FLUSH_HYPERCALL] = "hypercall",
};

static const char *const deposit_names[] = {
	[DEPOSIT_LIST] = "list",
	[DEPOSIT_IN_TABLE] = "in-table",
};

static const char *const pmd_read_names[] = {
	[PMD_READ_ONE_WORD] = "one-word",
	[PMD_READ_LOW_HIGH] = "low-high",
};

static const char *const upper_table_free_names[] = {
	[UPPER_TABLE_RCU] = "rcu",
	[UPPER_TABLE_AFTER_FLUSH] = "after-flush",
	[UPPER_TABLE_AT_ONCE] = "at-once",
};

#define NAMES_COUNT(a) (unsigned int)(sizeof(a) / sizeof((a)[0]))

const char *tlb_flush_style_name(enum tlb_flush_style s)
{
	return (unsigned int)s < NAMES_COUNT(tlb_flush_names) ? tlb_flush_names[s] : "?";
}

const char *const ptlab_profile_notes[] = {
	"sparc64 has THP but no GUP-fast since 5.4 (8625732e7712 \"sparc64: disable "
	"fast-GUP due to unexplained oopses\"): no profile",
	NULL,
};

const char *pmd_read_name(enum pmd_read r)
{
	return (unsigned int)r < NAMES_COUNT(pmd_read_names) ? pmd_read_names[r] : "?";
}

const char *deposit_style_name(enum deposit_style s)
{
	return (unsigned int)s < NAMES_COUNT(deposit_names) ? deposit_names[s] : "?";
}

const char *upper_table_free_name(enum upper_table_free u)
{
	return (unsigned int)u < NAMES_COUNT(upper_table_free_names) ? upper_table_free_names[u]
								     : "?";
}

int ptlab_profile_check(const struct ptlab_profile *p, const char **bad, const char **allowed)
{
	const char *why = NULL;

	if (p->sync_ipi)
		return 0;
	if (p->rcu_table_free)
		why = "rcu_table_free true with sync_ipi false";
	else if (p->upper_table_free == UPPER_TABLE_RCU)
		why = "upper_table_free rcu with sync_ipi false";
	if (!why)
		return 0;
	if (bad)
		*bad = why;
	if (allowed)
		*allowed = "sync_ipi true wherever a table is freed by RCU (rcu_table_free "
			   "true or upper_table_free rcu): the RCU batch exists only where "
			   "the architecture selects MMU_GATHER_RCU_TABLE_FREE, which makes "
			   "tlb_remove_table_sync_one() send IPIs";
	return -EINVAL;
}

/* An enum property is read and written as an int. */
_Static_assert(sizeof(enum tlb_flush_style) == sizeof(int), "enum size");
_Static_assert(sizeof(enum pmd_read) == sizeof(int), "enum size");
_Static_assert(sizeof(enum deposit_style) == sizeof(int), "enum size");
_Static_assert(sizeof(enum upper_table_free) == sizeof(int), "enum size");

#define KEY_STRING(k, field, what) \
	{ k, PROFILE_KEY_STRING, offsetof(struct ptlab_profile, field), NULL, 0, 0, NULL, what }
#define KEY_BOOL(k, field, what) \
	{ k, PROFILE_KEY_BOOL, offsetof(struct ptlab_profile, field), NULL, 0, 0, NULL, what }
#define KEY_ENUM(k, field, names, what)                                                  \
	{ k, PROFILE_KEY_ENUM, offsetof(struct ptlab_profile, field), names,               \
	  NAMES_COUNT(names), 0, NULL, what }
#define KEY_UINT(k, field, max, what) \
	{ k, PROFILE_KEY_UINT, offsetof(struct ptlab_profile, field), NULL, 0, max, NULL, what }
#define KEY_DERIVED(k, fn, what) { k, PROFILE_KEY_BOOL, 0, NULL, 0, 0, fn, what }

/* The largest broadcast_min_cpus: the lab's mm can be made active on
 * that many CPUs (lab_run_config_default()). */
#define BROADCAST_MIN_CPUS_MAX 16

static const struct ptlab_profile_key keys[] = {
	KEY_STRING("name", name, "the profile's name (letters, digits, '-', '_', '.')"),
	KEY_BOOL("rcu_table_free", rcu_table_free,
		 "PTE tables are freed after an RCU grace period (the RCU batch of "
		 "tlb_remove_table()), else right after the TLB flush"),
	KEY_BOOL("sync_ipi", sync_ipi,
		 "the architecture selects MMU_GATHER_RCU_TABLE_FREE, so "
		 "tlb_remove_table_sync_one() sends IPIs (true wherever a table is freed by "
		 "RCU)"),
	KEY_ENUM("upper_table_free", upper_table_free, upper_table_free_names,
		 "how free_pgtables() frees PMD and PUD tables (__pmd_free_tlb(), "
		 "__pud_free_tlb()): rcu, after-flush (page batch), at-once (pmd_free())"),
	KEY_ENUM("tlb_flush", flush, tlb_flush_names,
		 "how a TLB flush reaches the other CPUs"),
	KEY_DERIVED("flush_waits", profile_flush_waits,
		    "whether a flush waits out interrupts-off sections: true for ipi only"),
	KEY_UINT("broadcast_min_cpus", broadcast_min_cpus, BROADCAST_MIN_CPUS_MAX,
		 "with a broadcast flush, only an mm active on this many CPUs is "
		 "flushed by broadcast (0: every mm)"),
	KEY_ENUM("deposit", deposit, deposit_names,
		 "where pgtable_trans_huge_deposit() keeps deposited tables"),
	KEY_BOOL("mm_cpumask", mm_cpumask,
		 "the architecture keeps mm_cpumask(mm) a superset of the CPUs running it"),
	KEY_BOOL("collapse_flush_waits", collapse_flush_waits,
		 "pmdp_collapse_flush() itself IPIs mm_cpumask(mm) and waits (powerpc hash)"),
	KEY_ENUM("pmd_read", pmd_read, pmd_read_names,
		 "how GUP-fast reads a PMD: one-word, or low-high (GUP_GET_PXX_LOW_HIGH)"),
	KEY_BOOL("move_pmd", move_pmd,
		 "mremap moves whole PTE tables between PMD entries (HAVE_MOVE_PMD, "
		 "move_normal_pmd()), else entry by entry (move_ptes())"),
	KEY_BOOL("move_pud", move_pud,
		 "mremap moves whole PMD tables between PUD entries (HAVE_MOVE_PUD, "
		 "move_normal_pud())"),
	KEY_STRING("summary", summary, "one line on what the profile stands for"),
	KEY_STRING("kernel_facts", kernel_facts, "the kernel facts behind it"),
};

const struct ptlab_profile_key *ptlab_profile_keys(size_t *n)
{
	*n = sizeof(keys) / sizeof(keys[0]);
	return keys;
}

unsigned int ptlab_profile_get(const struct ptlab_profile *p, const struct ptlab_profile_key *k)
{
	const char *field = (const char *)p + k->offset;
	unsigned int u;
	bool b;
	int e;

	if (k->derived)
		return k->derived(p);
	switch (k->type) {
	case PROFILE_KEY_BOOL:
		memcpy(&b, field, sizeof(b));
		return b;
	case PROFILE_KEY_ENUM:
		memcpy(&e, field, sizeof(e));
		return (unsigned int)e;
	case PROFILE_KEY_UINT:
		memcpy(&u, field, sizeof(u));
		return u;
	case PROFILE_KEY_STRING:
		break;
	}
	return 0;
}

void ptlab_profile_set(struct ptlab_profile *p, const struct ptlab_profile_key *k,
		       unsigned int v)
{
	char *field = (char *)p + k->offset;
	bool b = v != 0;
	int e = (int)v;

	if (k->derived)
		return;
	switch (k->type) {
	case PROFILE_KEY_BOOL:
		memcpy(field, &b, sizeof(b));
		break;
	case PROFILE_KEY_ENUM:
		memcpy(field, &e, sizeof(e));
		break;
	case PROFILE_KEY_UINT:
		memcpy(field, &v, sizeof(v));
		break;
	case PROFILE_KEY_STRING:
		break;
	}
}

const char **ptlab_profile_string(struct ptlab_profile *p, const struct ptlab_profile_key *k)
{
	return (const char **)(void *)((char *)p + k->offset);
}

void ptlab_profile_key_allowed(const struct ptlab_profile_key *k, char *buf, size_t len)
{
	size_t used = 0;

	if (!len)
		return;
	buf[0] = '\0';
	switch (k->type) {
	case PROFILE_KEY_STRING:
		snprintf(buf, len, "a string");
		break;
	case PROFILE_KEY_BOOL:
		snprintf(buf, len, "true, false");
		break;
	case PROFILE_KEY_UINT:
		snprintf(buf, len, "0..%u", k->max);
		break;
	case PROFILE_KEY_ENUM:
		for (unsigned int i = 0; i < k->nvalues && used < len; i++)
			used += (size_t)snprintf(buf + used, len - used, "%s%s", i ? ", " : "",
						 k->values[i]);
		break;
	}
}
