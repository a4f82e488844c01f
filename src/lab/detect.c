// SPDX-License-Identifier: MIT
/*
 * The detectors and the race hook. They observe and never synchronize:
 * every load they make is relaxed, every store goes to the calling
 * thread's own state (its walk record, counters and ring: lab_internal.h),
 * except the collapse marks below, which only the collapsing thread
 * writes. No detector takes a lock, runs a fence, or does an atomic
 * read-modify-write on a location another thread writes, so none adds
 * ordering to the protocol step it watches: on a weakly ordered host the
 * reorderings under test stay possible.
 *
 * - stale table ("unheld"): a walker used a page table that was freed,
 *   reused or overwritten with non-PTE data while it was still inside its
 *   interrupts-off section. At each PUD read (the PMD table it names) and
 *   each PMD read (the PTE table) the walker records the tables it
 *   reached with their generation and deposit sequence (relaxed
 *   loads of their struct page); at the end of the section (just before
 *   local_irq_restore()) it loads them again: any change is a violation.
 *   A table reached by a walker was linked when it was read, so in a safe
 *   configuration nothing may free or overwrite it before the section
 *   ends: no false positives. Relaxed loads may see a change late (a miss,
 *   never a false report).
 * - stale read: the harm itself, proven by the value a walker read: the
 *   free poison (in a PTE table, or in the PMD table a PUD read led to),
 *   an in-table deposit link (a kernel address), or an entry that decodes
 *   as present and accessible with a PFN that is no frame's
 *   (RP_GUP_FAST_BAD_PFN: no live table holds one; the kernel would go on
 *   to pte_page() with it, ptlab stops there, never silently: the
 *   section's table is reported stale with the value). A lower bound: a
 *   read of a frame already reused shows data that proves nothing by
 *   itself (the model's stale_table assertion is this read; the stress
 *   lab's verdict uses "unheld", which includes it).
 * - stale pin: a pin gup_fast returned was still held after collapse's
 *   isolation had passed its page, and collapse copied the page away:
 *   writes through the pin are lost. The collapsing thread takes a
 *   timestamp when its isolation is done and marks each page it copies
 *   with the page's generation and that time (relaxed 64-bit stores into a
 *   per-frame array only it writes). A walker takes a timestamp just
 *   before it unpins and checks the mark later, once the collapser has
 *   published (relaxed) that it marked everything up to well past that
 *   time: a mark of the same generation with an isolation time before the
 *   unpin means the pin was held when isolation ended, and an isolation
 *   that had seen the pin would have refused (no mark), so the pin was
 *   taken after isolation looked at the page. Clocks are CLOCK_MONOTONIC,
 *   one clock for every CPU.
 * - wrong page: gup_fast returned a page whose recorded mapping (mm and
 *   address, set before it was mapped) is not the address asked for, or a
 *   frame that is no user page at all. Judged on what gup_fast returns: a
 *   reference it takes on a frame reused since it read the PTE is legal
 *   (the kernel takes it too) when the re-check then drops it.
 *
 * Besides detecting, the hook logs what the writers do (a PMD unlinked, a
 * wait begun, a table gathered, handed to RCU, freed) and, for each walker
 * section that met a writer's event, a section record: the controller
 * joins them into the evidence (evidence.c).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lab_internal.h"
#include "ptlab/hugetlb.h"
#include "ptlab/smp.h"

static const char *const page_type_names[PAGE_TYPE_COUNT] = {
	[PAGE_TYPE_FREE] = "free frame",
	[PAGE_TYPE_PGTABLE] = "page table",
	[PAGE_TYPE_ANON] = "anonymous page",
	[PAGE_TYPE_THP_HEAD] = "huge page",
	[PAGE_TYPE_THP_TAIL] = "huge page",
	[PAGE_TYPE_KERNEL] = "kernel page",
};

static const char *type_name(enum page_type t)
{
	return (unsigned int)t < PAGE_TYPE_COUNT ? page_type_names[t] : "?";
}

/* A detector's view of a struct page: relaxed loads only. */
static unsigned int seen_generation(struct page *p)
{
	return atomic_load_explicit(&p->generation, memory_order_relaxed);
}

static unsigned int seen_deposit_seq(struct page *p)
{
	return atomic_load_explicit(&p->pt_deposit_seq, memory_order_relaxed);
}

static enum page_type seen_type(struct page *p)
{
	return (enum page_type)atomic_load_explicit(&p->type, memory_order_relaxed);
}

void lab_violation(const struct lab_violation_detail *d)
{
	struct lab_tctx *self = lab_self;

	if (!self)
		return;
	if (lab_trace_on())
		lab_trace_finding(d);
	lab_count(&self->st.violations[d->kind], 1);
	if (self->have_first)
		return;
	self->first = *d;
	self->first.at_ms = lab_now_ms();
	self->have_first = true;
}

/* ---- the walker's section ---- */

/*
 * The walk record of this thread's current section: a GUP-fast walker's
 * interrupts-off section, or an RCU walker's read-side section in
 * pte_offset_map_lock() (from its PMD read to pte_unmap_unlock()).
 */
#define REC_TABLES 8

struct walk_record {
	int n;
	struct {
		struct page *table;
		unsigned int gen, dseq;
		bool pmd_table;  /* reached through a PUD entry */
	} t[REC_TABLES];
	uint64_t addr;
	/* The deepest entry the walker followed to a page table (a PMD
	 * naming a PTE table, else a PUD naming a PMD table), for the
	 * evidence: its slot, its value, the table and its generation. */
	const void *slot;
	uint64_t value;
	struct page *table;
	unsigned int table_gen;
	uint64_t t_read;
	/* Writers' events logged before the first read (ring heads). */
	uint64_t writer_events;
	uint16_t flags;          /* SEC_* */
	/* a table a read returned the poison, or a PFN that is not valid,
	 * from; and that entry (0 for the poison) */
	struct page *poisoned;
	uint64_t bad_entry;
};

static __thread struct walk_record rec;
/* The record of the last section that met a writer, published by
 * lab_walker_op_done() once the walker's reference is dropped. */
static __thread struct lab_event pending_section;
static __thread bool section_pending;

/* Events the writers have logged so far: a hint (relaxed loads of their
 * ring heads) that something happened during a section. */
static uint64_t writer_events(void)
{
	uint64_t n = 0;

	for (int i = 0; i < lab_rs.nthreads; i++)
		if (lab_rs.threads[i]->role == LAB_ROLE_WRITER)
			n += lab_ring_head_relaxed(&lab_rs.threads[i]->ring);
	return n;
}

static void rec_table(struct page *table, bool pmd_table)
{
	if (!table || rec.n == REC_TABLES)
		return;
	rec.t[rec.n].table = table;
	rec.t[rec.n].gen = seen_generation(table);
	rec.t[rec.n].dseq = seen_deposit_seq(table);
	rec.t[rec.n].pmd_table = pmd_table;
	rec.n++;
}

/* The walker followed entry @slot = @value to @table (a PMD table when
 * @pud): the first read of a section starts the record; a deeper entry
 * replaces a shallower one. */
static void rec_link(uint64_t addr, const void *slot, uint64_t value, struct page *table,
		     bool pud)
{
	if (!table)
		return;
	if (!rec.n) {
		rec.addr = addr;
		rec.writer_events = writer_events();
	}
	rec_table(table, pud);
	rec.slot = slot;
	rec.value = value;
	rec.table = table;
	rec.table_gen = seen_generation(table);
	rec.t_read = lab_now_ns();
}

static bool is_walker(const struct lab_tctx *self, enum walker_kind k)
{
	return self && self->role == LAB_ROLE_WALKER && self->kind == k;
}

/* A PTE value no page table holds: the free poison, or an in-table
 * deposit link (a kernel address inside the pool). */
static bool non_pte_value(uint64_t v)
{
	uint64_t base = (uint64_t)(uintptr_t)ptlab_pool_base;

	return v == PAGE_POISON ||
	       (v >= base && v - base < (uint64_t)ptlab_nr_frames << PAGE_SHIFT);
}

/* The walker read @entry, whose PFN is no frame's, from @t: the words
 * of the violation. */
static void bad_pfn_words(struct lab_violation_detail *d, struct page *t, uint64_t entry)
{
	snprintf(d->what, sizeof(d->what),
		 "walker cpu%d read %#llx for %#llx in table %u: a PFN no frame has, so no "
		 "live table (gen %u, now %u)",
		 d->cpu, (unsigned long long)entry, (unsigned long long)d->addr, page_to_pfn(t),
		 d->gen_seen, d->gen_now);
}

/* End of a section: did any table it used change under it? */
static void rec_check(void)
{
	struct lab_violation_detail d = { .kind = VIOLATION_STALE_TABLE, .cpu = smp_processor_id(),
					  .addr = rec.addr, .page_pfn = PFN_NONE };

	for (int i = 0; i < rec.n; i++) {
		struct page *t = rec.t[i].table;
		unsigned int gen = seen_generation(t);
		unsigned int dseq = seen_deposit_seq(t);
		enum page_type type = seen_type(t);

		if (gen == rec.t[i].gen && dseq == rec.t[i].dseq && !(dseq & 1) &&
		    type == PAGE_TYPE_PGTABLE && t != rec.poisoned)
			continue;
		d.table_pfn = page_to_pfn(t);
		d.gen_seen = rec.t[i].gen;
		d.gen_now = gen;
		if (t == rec.poisoned && rec.bad_entry)
			bad_pfn_words(&d, t, rec.bad_entry);
		else if (gen == rec.t[i].gen && type == PAGE_TYPE_PGTABLE && t != rec.poisoned &&
		    dseq - rec.t[i].dseq >= PT_SEQ_HANDOVER)
			snprintf(d.what, sizeof(d.what),
				 "walker cpu%d read table %u for %#llx; inside its section this "
				 "process stopped sharing the table: it became another's",
				 d.cpu, d.table_pfn, (unsigned long long)d.addr);
		else if (gen == rec.t[i].gen && type == PAGE_TYPE_PGTABLE)
			snprintf(d.what, sizeof(d.what),
				 "walker cpu%d read table %u for %#llx; inside its section the "
				 "table held deposit-list links%s",
				 d.cpu, d.table_pfn, (unsigned long long)d.addr,
				 dseq & 1 ? "" : " (written and cleared again)");
		else
			snprintf(d.what, sizeof(d.what),
				 "walker cpu%d read %stable %u (gen %u) for %#llx; inside its "
				 "section the table was freed%s%s (gen %u)",
				 d.cpu, rec.t[i].pmd_table ? "PMD " : "", d.table_pfn, d.gen_seen,
				 (unsigned long long)d.addr,
				 type == PAGE_TYPE_FREE ? "" : " and reused as a ",
				 type == PAGE_TYPE_FREE ? "" : type_name(type), gen);
		rec.flags |= SEC_VIOLATED;
		lab_violation(&d);
		return;
	}
	/* An entry with no valid PFN from a table the record missed. */
	if (rec.poisoned && rec.bad_entry) {
		d.table_pfn = page_to_pfn(rec.poisoned);
		d.gen_seen = d.gen_now = seen_generation(rec.poisoned);
		bad_pfn_words(&d, rec.poisoned, rec.bad_entry);
		rec.flags |= SEC_VIOLATED;
		lab_violation(&d);
	}
}

/* An RCU walker took the lock of its table: is the table still the one
 * it read? (Its PMD re-check comes next; the lock is the harm.) */
static void rec_locked(void)
{
	struct lab_violation_detail d = { .kind = VIOLATION_STALE_LOCK, .cpu = smp_processor_id(),
					  .addr = rec.addr, .page_pfn = PFN_NONE };
	struct page *t = rec.table;

	if (!t || (seen_generation(t) == rec.table_gen && seen_type(t) == PAGE_TYPE_PGTABLE))
		return;
	d.table_pfn = page_to_pfn(t);
	d.gen_seen = rec.table_gen;
	d.gen_now = seen_generation(t);
	snprintf(d.what, sizeof(d.what),
		 "RCU walker cpu%d read a PMD naming table %u (gen %u) for %#llx and took "
		 "that table's lock, but the table had been freed%s (gen %u)",
		 d.cpu, d.table_pfn, d.gen_seen, (unsigned long long)d.addr,
		 seen_type(t) == PAGE_TYPE_FREE ? "" : " and reused", d.gen_now);
	rec.flags |= SEC_VIOLATED;
	lab_violation(&d);
}

static void rec_section_end(enum walker_kind kind)
{
	struct lab_tctx *self = lab_self;

	/* An RCU walker reads entries only under the table's lock after its
	 * PMD re-check: its harm is the lock (rec_locked()), not a table
	 * that goes away after it let go. */
	if (kind == WALKER_GUP)
		rec_check();
	if (self && rec.table &&
	    (rec.flags || writer_events() != rec.writer_events)) {
		uint64_t pmd_table = 0;

		for (int i = 0; i < rec.n && !pmd_table; i++)
			if (rec.t[i].pmd_table)
				pmd_table = (uint64_t)page_to_pfn(rec.t[i].table) + 1;
		pending_section = (struct lab_event){
			.type = EV_SECTION, .t = rec.t_read, .t_end = lab_now_ns(), .mask = pmd_table,
			.slot = (uint64_t)(uintptr_t)rec.slot, .value = rec.value,
			.pfn = page_to_pfn(rec.table), .gen = rec.table_gen,
			.flags = rec.flags, .cpu = (uint16_t)self->cpu, .how = (uint16_t)kind,
		};
		section_pending = true;
	}
	if (self && (rec.flags & SEC_STALE_READ))
		lab_count(&self->st.stale_read, 1);
	memset(&rec, 0, sizeof(rec));
}

void lab_walker_op_done(void)
{
	if (!section_pending)
		return;
	section_pending = false;
	pending_section.t_put = lab_now_ns();
	lab_log(&pending_section);
}

/* ---- writers' events ---- */

static void log_table_event(enum lab_ev_type type, struct page *table, unsigned int how)
{
	lab_log(&(struct lab_event){ .type = (uint16_t)type, .t = lab_now_ns(),
				     .pfn = table ? page_to_pfn(table) : PFN_NONE,
				     .gen = table ? seen_generation(table) : 0,
				     .how = (uint16_t)how });
}

/* An entry (.pmdp = .pmd) that named a table: the PTE table, or for a PUD
 * (@pud) the PMD table. */
static void log_link_event(enum lab_ev_type type, const struct race_ctx *ctx, bool pud)
{
	struct page *table = ctx->pte_table ? ctx->pte_table : ctx->pmd_table;

	lab_log(&(struct lab_event){ .type = (uint16_t)type, .t = lab_now_ns(),
				     .slot = (uint64_t)(uintptr_t)ctx->pmdp, .value = ctx->pmd,
				     .pfn = table ? page_to_pfn(table) : PFN_NONE,
				     .gen = table ? seen_generation(table) : 0,
				     .how = pud });
}

static void log_wait(enum lab_wait_kind kind, uint64_t mask)
{
	if (mask)
		lab_log(&(struct lab_event){ .type = EV_WAIT, .t = lab_now_ns(), .mask = mask,
					     .how = (uint16_t)kind });
}

/* ---- stale pins ---- */

/*
 * The collapse marks: per frame, the generation (low 24 bits, at 40) and
 * the isolation time in microseconds rounded up (40 bits) of the collapse
 * that copied it away; 0: never. Written by the collapsing thread only.
 */
static _Atomic uint64_t *collapse_marks;
static uint32_t marks_frames;
#define MARK_GEN_SHIFT 40
#define MARK_GEN_MASK 0xffffffULL
#define MARK_T_MASK ((1ULL << MARK_GEN_SHIFT) - 1)
/* The collapsing thread: its isolation time, and (published, relaxed) the
 * isolation time up to which it has marked every page it copied. */
static __thread uint64_t isolation_us;
static _Atomic uint64_t marked_through_us;

static void mark_copied(const struct race_ctx *ctx)
{
	for (unsigned int i = 0; i < ctx->nr_pages; i++) {
		struct page *p = ctx->pages[i];

		if (p && collapse_marks && page_to_pfn(p) < marks_frames)
			atomic_store_explicit(&collapse_marks[page_to_pfn(p)],
					      ((uint64_t)seen_generation(p) & MARK_GEN_MASK)
							      << MARK_GEN_SHIFT |
						      (isolation_us & MARK_T_MASK),
					      memory_order_relaxed);
	}
	atomic_store_explicit(&marked_through_us, isolation_us, memory_order_relaxed);
}

/* Pins waiting for their check, per walker thread. */
#define PENDING_PINS 256

struct pending_pin {
	uint32_t pfn, gen;
	uint64_t unpin_ns;     /* just before the unpin */
	uint64_t addr;
};

static __thread struct pending_pin pending[PENDING_PINS];
static __thread unsigned int pending_head, pending_n;

static void pin_check_one(const struct pending_pin *pp)
{
	struct lab_violation_detail d;
	uint64_t mark;

	if (!collapse_marks || pp->pfn >= marks_frames)
		return;
	mark = atomic_load_explicit(&collapse_marks[pp->pfn], memory_order_relaxed);
	if (!mark || (mark >> MARK_GEN_SHIFT) != (pp->gen & MARK_GEN_MASK) ||
	    (mark & MARK_T_MASK) * 1000 >= pp->unpin_ns)
		return;
	d = (struct lab_violation_detail){ .kind = VIOLATION_STALE_PIN,
					   .cpu = smp_processor_id(), .addr = pp->addr,
					   .table_pfn = PFN_NONE, .page_pfn = pp->pfn,
					   .page_index = pp->addr };
	snprintf(d.what, sizeof(d.what),
		 "walker cpu%d still held a pin on page %u (%#llx) after collapse's "
		 "isolation passed it, and collapse copied the page away: writes "
		 "through the pin are lost",
		 d.cpu, pp->pfn, (unsigned long long)pp->addr);
	lab_violation(&d);
}

void lab_pins_check(bool all)
{
	uint64_t done = atomic_load_explicit(&marked_through_us, memory_order_relaxed);

	while (pending_n) {
		struct pending_pin *pp = &pending[(pending_head + PENDING_PINS - pending_n) %
						  PENDING_PINS];

		/* One collapsing thread, collapse after collapse: once one
		 * whose isolation ended after the unpin has marked its pages,
		 * every collapse that could have marked this pin has. */
		if (!all && pp->unpin_ns / 1000 >= done)
			break;
		pin_check_one(pp);
		pending_n--;
	}
}

void lab_pin_note(struct page *page, uint64_t addr)
{
	if (pending_n == PENDING_PINS) {
		/* Full: the oldest is checked now, early rather than never. */
		pin_check_one(&pending[pending_head]);
		pending_n--;
	}
	pending[pending_head] = (struct pending_pin){
		.pfn = page_to_pfn(page), .gen = seen_generation(page), .addr = addr,
		.unpin_ns = lab_now_ns() };
	pending_head = (pending_head + 1) % PENDING_PINS;
	pending_n++;
}

/* ---- wrong pages ---- */

static bool user_page_type(enum page_type t)
{
	return t == PAGE_TYPE_ANON || t == PAGE_TYPE_THP_HEAD || t == PAGE_TYPE_THP_TAIL;
}

void lab_check_returned(struct page **pages, long n, uint64_t start, uint32_t expect_owner,
			uint64_t expect_index)
{
	for (long i = 0; i < n; i++) {
		struct page *p = pages[i];
		uint64_t addr = start + ((uint64_t)i << PAGE_SHIFT);
		enum page_type t = seen_type(p);
		uint64_t index = atomic_load_explicit(&p->index, memory_order_relaxed);
		uint32_t owner = atomic_load_explicit(&p->mm_id, memory_order_relaxed);
		struct lab_violation_detail d;

		/* What the section returned, for the evidence (mremap's ABA):
		 * the walker's own pending record, not yet published. */
		if (section_pending)
			pending_section.flags |= SEC_RETURNED;
		if (user_page_type(t) && owner == expect_owner &&
		    index == expect_index + ((uint64_t)i << PAGE_SHIFT))
			continue;
		if (section_pending)
			pending_section.flags |= SEC_WRONG_PAGE;
		d = (struct lab_violation_detail){ .kind = VIOLATION_WRONG_PAGE,
						   .cpu = smp_processor_id(), .addr = addr,
						   .table_pfn = PFN_NONE,
						   .page_pfn = page_to_pfn(p), .page_index = index };
		snprintf(d.what, sizeof(d.what),
			 "walker cpu%d took a reference on page %u for %#llx, but that %s "
			 "was never mapped there (%s %u, %#llx)",
			 d.cpu, d.page_pfn, (unsigned long long)addr, type_name(t),
			 owner & HUGETLB_OWNER_BIT ? "hugetlb file" : "mm",
			 owner & ~HUGETLB_OWNER_BIT, (unsigned long long)index);
		lab_violation(&d);
	}
}

/* ---- the hook ---- */

void lab_race_hook(enum race_point rp, const struct race_ctx *ctx)
{
	struct lab_tctx *self = lab_self;

	if (lab_trace_on())
		lab_trace(rp, ctx);
	switch (rp) {
	case RP_GUP_FAST_PUD_READ:
		rec_link(ctx->addr, ctx->pmdp, ctx->pmd, ctx->pmd_table, true);
		break;
	case RP_GUP_FAST_PMD_READ:
		if (ctx->pte_table)
			rec_link(ctx->addr, ctx->pmdp, ctx->pmd, ctx->pte_table, false);
		/* A PMD table freed under the walker (munmap-pmd): its slot
		 * holds the free poison. */
		if (ctx->pmd == PAGE_POISON) {
			rec.flags |= SEC_STALE_READ;
			rec.poisoned = ctx->pmd_table;
		}
		break;
	case RP_GUP_FAST_PTE_READ:
		if (non_pte_value(ctx->pte)) {
			rec.flags |= SEC_STALE_READ;
			if (ctx->pte == PAGE_POISON)
				rec.poisoned = ctx->pte_table;
		}
		break;
	case RP_GUP_FAST_BAD_PFN:
		/* Proof by the value: a stale read, and the table stale. */
		rec.flags |= SEC_STALE_READ;
		rec.poisoned = ctx->pte_table ? ctx->pte_table : ctx->pmd_table;
		rec.bad_entry = ctx->pte_table ? ctx->pte : ctx->pmd;
		break;
	case RP_GUP_FAST_RECHECK_FAILED:
		rec.flags |= SEC_RECHECK_FAILED;
		if (self)
			lab_count(&self->st.recheck_failed, 1);
		break;
	case RP_GUP_FAST_SECTION_END:
		rec_section_end(WALKER_GUP);
		return;
	/* An RCU walker's section; other threads' pte_offset_map_lock()
	 * calls (a fault, a zap) are no walkers of the lab. */
	case RP_PTE_MAP_PMD_READ:
		if (is_walker(self, WALKER_RCU))
			rec_link(ctx->addr, ctx->pmdp, ctx->pmd, ctx->pte_table, false);
		break;
	case RP_PTE_MAP_LOCKED:
		if (is_walker(self, WALKER_RCU))
			rec_locked();
		break;
	case RP_PTE_MAP_RETRY:
		if (is_walker(self, WALKER_RCU)) {
			rec.flags |= SEC_RECHECK_FAILED;
			lab_count(&self->st.recheck_failed, 1);
		}
		break;
	case RP_PTE_UNMAP:
		if (is_walker(self, WALKER_RCU))
			rec_section_end(WALKER_RCU);
		return;
	case RP_PMD_UNLINKED:
	case RP_PUD_UNSHARED:
	case RP_PUD_UNLINKED:
		log_link_event(EV_UNLINK, ctx, rp != RP_PMD_UNLINKED);
		if (self)
			lab_count(&self->st.unlinks, 1);
		if (self && rp == RP_PUD_UNLINKED)
			lab_count(&self->st.pmd_table_unlinks, 1);
		break;
	case RP_PMD_MOVED:
	case RP_PUD_MOVED:
		lab_log(&(struct lab_event){
			.type = EV_MOVE, .t = lab_now_ns(), .slot = (uint64_t)(uintptr_t)ctx->pmdp,
			.value = ctx->pmd,
			.pfn = page_to_pfn(rp == RP_PUD_MOVED ? ctx->pmd_table : ctx->pte_table),
			.how = rp == RP_PUD_MOVED });
		if (self)
			lab_count(&self->st.table_moves, 1);
		break;
	case RP_COLLAPSE_REFUSED:
		log_link_event(EV_REFUSED, ctx, false);
		break;
	case RP_COLLAPSE_ISOLATED:
		isolation_us = (lab_now_ns() + 999) / 1000;
		break;
	case RP_COLLAPSE_COPIED:
		mark_copied(ctx);
		break;
	case RP_TABLE_DEPOSIT:
		log_table_event(EV_DEPOSIT, ctx->pte_table, 0);
		return;
	case RP_TABLE_WITHDRAW:
		log_table_event(EV_WITHDRAW, ctx->pte_table, 0);
		return;
	case RP_TLB_FLUSH_BEGIN:
		log_wait(LAB_WAIT_FLUSH, ctx->mask);
		break;
	case RP_TABLE_SYNC_BEGIN:
		log_wait(LAB_WAIT_SYNC, ctx->mask);
		break;
	case RP_TABLE_GATHERED:
		log_table_event(EV_GATHERED, ctx->pte_table, ctx->how);
		return;
	case RP_TABLE_RCU_HANDOFF:
		log_table_event(EV_RCU_HANDOFF, NULL, 0);
		return;
	case RP_TABLE_FREE:
		log_table_event(EV_FREE, ctx->pte_table, ctx->how);
		return;
	case RP_ZAP_DEPOSITED_FREE:
		log_table_event(EV_ZAP_FREE, ctx->pte_table, ctx->how);
		if (self)
			lab_count(&self->st.zap_table_frees, 1);
		return;
	default:
		break;
	}
	lab_windows_apply(rp, self && self->role == LAB_ROLE_WALKER);
}

int lab_detect_begin(uint32_t nr_frames)
{
	memset(&rec, 0, sizeof(rec));
	section_pending = false;
	pending_n = 0;
	atomic_store_explicit(&marked_through_us, 0, memory_order_relaxed);
	collapse_marks = calloc(nr_frames, sizeof(*collapse_marks));
	if (!collapse_marks)
		return -ENOMEM;
	marks_frames = nr_frames;
	return 0;
}

void lab_detect_end(void)
{
	free(collapse_marks);
	collapse_marks = NULL;
	marks_frames = 0;
}
