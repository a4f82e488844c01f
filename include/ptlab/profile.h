/* SPDX-License-Identifier: MIT */
/*
 * Architecture profiles: which page-table lifetime rules a machine follows.
 *
 * A profile is a row of facts about a kernel architecture (see
 * src/profile.c for the table and the kernel facts behind each row). The
 * machine reads its profile once, in ptlab_init(), and the protocol code
 * asks its properties; nothing else in ptlab depends on the profile's
 * name.
 */
#ifndef PTLAB_PROFILE_H
#define PTLAB_PROFILE_H

#include <stdbool.h>
#include <stddef.h>

/* How a TLB flush reaches the other CPUs that may cache the mm. */
enum tlb_flush_style {
	/* smp_call_function_many() to mm_cpumask, waiting for each target:
	 * it therefore waits for every interrupts-off section (x86 native). */
	TLB_FLUSH_IPI,
	/* Remote TLBs invalidated directly with no IPI (arm64 TLBI, powerpc
	 * tlbie, AMD INVLPGB): waits for in-flight hardware walks only, never
	 * for interrupts-off sections. */
	TLB_FLUSH_BROADCAST,
	/* KVM paravirt flush (kvm_flush_tlb_multi()): a vCPU marked preempted
	 * gets its flush queued for when it runs again, with no IPI and no
	 * wait; the others get an IPI as TLB_FLUSH_IPI. */
	TLB_FLUSH_PARAVIRT,
	/* A hypercall asks the hypervisor to flush the other vCPUs
	 * (hyperv_flush_tlb_multi(), Xen's MMUEXT_TLB_FLUSH_MULTI): no guest
	 * vCPU is interrupted, so no interrupts-off section is waited for;
	 * in the machine it works as TLB_FLUSH_BROADCAST. */
	TLB_FLUSH_HYPERCALL,
};

/* Where pgtable_trans_huge_deposit() keeps the deposited PTE tables. */
enum deposit_style {
	/* mm/pgtable-generic.c: a list per PMD table, linked through the
	 * deposited table's struct page (see huge_memory.c for its order). */
	DEPOSIT_LIST,
	/* powerpc radix: the list links are written into the deposited
	 * table's own first two entries. */
	DEPOSIT_IN_TABLE,
};

/* How GUP-fast reads a PMD entry (pmdp_get_lockless()). */
enum pmd_read {
	/* One load of the whole entry (READ_ONCE()): 64-bit machines, and
	 * 32-bit arm with LPAE (64-bit single-copy-atomic LDRD). */
	PMD_READ_ONE_WORD,
	/* CONFIG_GUP_GET_PXX_LOW_HIGH (x86-32 with PAE): the low half, then
	 * the high half, then the low half again, retrying while the low
	 * half changed. The two halves agree only if no entry changes from
	 * one present value to another while the walker reads: the kernel
	 * relies on the interrupts-off section holding off the flush between
	 * such changes, and on pmdp_get_lockless_sync() after a collapse. */
	PMD_READ_LOW_HIGH,
};

/* How free_pgtables() frees a PMD or PUD table it unlinked: the
 * architecture's __pmd_free_tlb() and __pud_free_tlb(). */
enum upper_table_free {
	/* tlb_remove_table()/tlb_remove_ptdesc() with RCU table free: the
	 * RCU batch, freed after the gather's flush and a grace period (or,
	 * when no batch page can be had, tlb_remove_table_one()). */
	UPPER_TABLE_RCU,
	/* The page batch (tlb_remove_page_ptdesc()): freed in
	 * tlb_finish_mmu() right after the TLB flush, no grace period. */
	UPPER_TABLE_AFTER_FLUSH,
	/* pmd_free()/pud_free() inside free_pgtables(): freed at once,
	 * before the gather's flush (loongarch and mips up to 6.19). */
	UPPER_TABLE_AT_ONCE,
};

struct ptlab_profile {
	const char *name;
	/* How free_pgtables() and PT_RECLAIM free PTE tables: after an RCU
	 * grace period (tlb_remove_table() with RCU table free), else in the
	 * page batch right after the flush. */
	bool rcu_table_free;
	/* The architecture selects CONFIG_MMU_GATHER_RCU_TABLE_FREE, so
	 * tlb_remove_table_sync_one() sends IPIs (without it the sync is an
	 * empty function). Implied by rcu_table_free and by an RCU
	 * upper_table_free, whose RCU batch exists only with it; alone on
	 * riscv with IPI flushes up to 6.14, which selects the symbol but
	 * frees its tables after the flush (ptlab_profile_check()). */
	bool sync_ipi;
	enum upper_table_free upper_table_free;
	enum tlb_flush_style flush;
	/* With a broadcast flush: only an mm active on at least this many
	 * CPUs is flushed by broadcast; others get the native IPI flush (x86
	 * INVLPGB gives an mm a global ASID once it runs on more than three
	 * CPUs, consider_global_asid()). 0: every mm by broadcast. */
	unsigned int broadcast_min_cpus;
	enum deposit_style deposit;
	/* The architecture keeps mm_cpumask(mm) a superset of the CPUs that
	 * run the mm (x86, powerpc); arm64 has not maintained it since
	 * 2015 (38d96287504a): there it stays empty. */
	bool mm_cpumask;
	/* pmdp_collapse_flush() itself interrupts the CPUs of mm_cpumask(mm)
	 * after clearing the PMD and waits for each (powerpc hash:
	 * hash__pmdp_collapse_flush() -> serialize_against_pte_lookup()), so
	 * a collapse waits for the GUP-fast walkers of those CPUs whatever
	 * the TLB flush does. Reaches no walker where mm_cpumask is false. */
	bool collapse_flush_waits;
	enum pmd_read pmd_read;
	/* mremap() moves whole tables: a PTE table from one PMD entry to
	 * another (move_normal_pmd(), HAVE_MOVE_PMD), a PMD table from one
	 * PUD entry to another (move_normal_pud(), HAVE_MOVE_PUD), where
	 * the architecture selects the symbol and arch_supports_page_table_
	 * move() agrees (powerpc: radix only). Elsewhere mremap moves entry
	 * by entry (move_ptes()) and frees the emptied tables with the old
	 * range. (arch/Kconfig HAVE_MOVE_PMD/HAVE_MOVE_PUD; mm/mremap.c.) */
	bool move_pmd, move_pud;
	/* One line on what the row stands for, for `ptlab profiles`. */
	const char *summary;
	/* The kernel facts behind the row, with files to read. */
	const char *kernel_facts;
};

/* The table, in display order; ptlab_profiles_count() rows. */
const struct ptlab_profile *ptlab_profiles(void);
size_t ptlab_profiles_count(void);

/* The row named @name, or NULL. */
const struct ptlab_profile *ptlab_profile_find(const char *name);

/* Writes "x86, x86-invlpgb, ..." into @buf (for error messages). */
void ptlab_profile_names(char *buf, size_t len);

const char *tlb_flush_style_name(enum tlb_flush_style s);
const char *deposit_style_name(enum deposit_style s);
const char *pmd_read_name(enum pmd_read r);
const char *upper_table_free_name(enum upper_table_free u);

/*
 * Whether @p's properties can be one kernel's: a table freed by RCU needs
 * the RCU batch, which exists only where the architecture selects
 * MMU_GATHER_RCU_TABLE_FREE (sync_ipi). 0, or -EINVAL with *@bad (if not
 * NULL) naming the keys that disagree and *@allowed what is allowed.
 */
int ptlab_profile_check(const struct ptlab_profile *p, const char **bad, const char **allowed);

/* Why a profile has no row although its architecture has THP: printed by
 * `ptlab profiles` (one note a line, NULL-terminated). */
extern const char *const ptlab_profile_notes[];

/*
 * The properties of a profile as `ptlab profiles --json` writes them and
 * `--profile-file` reads them back: one row per key, in output order.
 * Adding a property is adding its field above and its row in
 * src/profile.c; the writer, the reader and the error messages follow.
 */
enum ptlab_profile_key_type {
	PROFILE_KEY_STRING, /* const char * */
	PROFILE_KEY_BOOL,   /* bool */
	PROFILE_KEY_ENUM,   /* an enum: the index of its name in values[] */
	PROFILE_KEY_UINT,   /* unsigned int, 0..max */
};

struct ptlab_profile_key {
	const char *key;
	enum ptlab_profile_key_type type;
	/* offsetof() the field in struct ptlab_profile (not for derived) */
	size_t offset;
	/* PROFILE_KEY_ENUM: the names, indexed by value */
	const char *const *values;
	unsigned int nvalues;
	/* PROFILE_KEY_UINT: the largest value allowed */
	unsigned int max;
	/* A PROFILE_KEY_BOOL computed from the other properties, not
	 * stored: written, and when a file gives it, checked against them. */
	bool (*derived)(const struct ptlab_profile *p);
	/* What the key means, in one line (for the reader's errors). */
	const char *meaning;
};

/* The rows; *n is set to their number. */
const struct ptlab_profile_key *ptlab_profile_keys(size_t *n);
/* A BOOL, ENUM or UINT property of @p, as an unsigned value. */
unsigned int ptlab_profile_get(const struct ptlab_profile *p, const struct ptlab_profile_key *k);
/* Sets one (not a derived one); the caller checked the value's range. */
void ptlab_profile_set(struct ptlab_profile *p, const struct ptlab_profile_key *k,
		       unsigned int v);
/* A STRING property's slot. */
const char **ptlab_profile_string(struct ptlab_profile *p, const struct ptlab_profile_key *k);
/* Writes the allowed values of @k ("ipi, broadcast", "true, false",
 * "0..32", "a string") into @buf. */
void ptlab_profile_key_allowed(const struct ptlab_profile_key *k, char *buf, size_t len);

/*
 * Whether a TLB flush in this profile waits until every CPU that may walk
 * the mm has left its interrupts-off section ("flush waits" in the rule of
 * docs/rule.md). Only the native IPI flush does; a paravirt flush skips a
 * preempted vCPU, a broadcast or hypercall flush never asks. For a profile
 * with broadcast_min_cpus this is the answer for an mm active on that many
 * CPUs, which is what the lab's scenarios run (a smaller mm is flushed by
 * IPIs that wait).
 */
static inline bool profile_flush_waits(const struct ptlab_profile *p)
{
	return p->flush == TLB_FLUSH_IPI;
}

/*
 * Whether a collapse's pmdp_collapse_flush() waits for the GUP-fast
 * walkers of the mm by itself, after the clear: by a TLB flush that waits,
 * or by its own IPI to mm_cpumask(mm) (collapse_flush_waits), which
 * reaches the walkers only where the architecture maintains the mask.
 */
static inline bool profile_collapse_flush_waits(const struct ptlab_profile *p)
{
	return profile_flush_waits(p) || (p->collapse_flush_waits && p->mm_cpumask);
}

#endif /* PTLAB_PROFILE_H */
