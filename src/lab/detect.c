// SPDX-License-Identifier: MIT
/*
 * The detectors. They observe and never synchronize: they read struct
 * pages (generations, types, deposit sequences) and the lab's own
 * markers, take no lock the protocol takes, and never wait.
 *
 * - stale table: a walker used a page table that was freed, reused or
 *   overwritten with non-PTE data while it was still inside its
 *   interrupts-off section. Every table a walker reaches is recorded with
 *   its generation and deposit sequence at the PMD read; at the end of the
 *   section any change (or a PTE read equal to the free poison) is a
 *   violation. A table reached by a walker was linked when it was read,
 *   so in a safe configuration nothing may free it before the section
 *   ends: no false positives.
 * - stale pin: a pin gup_fast returned was still held after collapse's
 *   isolation had passed its page, and collapse copied the page away:
 *   writes through the pin are lost. Collapse takes a sequence number once
 *   its isolation is done and marks each page it copies with the page's
 *   generation and that number; the walker reads the sequence just before
 *   it unpins. All seq_cst: a mark with a number the walker's read saw
 *   means the pin was held when isolation ended, and an isolation that
 *   had seen the pin would have refused (no mark), so the pin was taken
 *   after isolation looked at that page. A pin is checked once every
 *   collapse that could have marked it has marked its pages.
 * - wrong page: gup_fast returned a page whose recorded mapping (mm and
 *   address, set before it was mapped) is not the address asked for, or a
 *   frame that is no user page at all. Judged on what gup_fast returns: a
 *   reference it takes on a frame reused since it read the PTE is legal
 *   (the kernel takes it too) when the re-check then drops it.
 *
 * State: lab_ctr and the first violation are shared (atomics; the first
 * detail is written once, by the thread that wins first_taken, and read
 * after the run's threads are joined). The walk record and the pending
 * pins are per walker thread. The event log is a ring of atomics.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "lab_internal.h"
#include "ptlab/smp.h"

struct lab_counters lab_ctr;

/* The lab's sequence: bumped when collapse's isolation is done, read by
 * walkers before they unpin. */
static atomic_ulong lab_seq;
/* The isolation sequence of the last collapse that finished marking the
 * pages it copied (one collapsing thread per run: monotonic). Stored with
 * release after the marks, loaded with acquire before a pin is checked. */
static atomic_ulong marked_seq;
/* Per frame: generation << 32 | the isolation sequence of the collapse that
 * copied it away (0: never). */
static _Atomic uint64_t *collapse_marks;
static uint32_t marks_frames;

static atomic_int first_taken, first_ready;
static struct lab_violation_detail first;
static struct timespec run_start;

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

double lab_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)(ts.tv_sec - run_start.tv_sec) * 1e3 +
	       (double)(ts.tv_nsec - run_start.tv_nsec) * 1e-6;
}

/* The event log: what writers did to tables, for a violation's history. */
#define LOG_SIZE 4096

struct lab_event {
	_Atomic uint64_t addr;
	_Atomic uint32_t table;    /* pfn */
	_Atomic int32_t cpu;
	_Atomic uint32_t rp;
	_Atomic double at_ms;
	_Atomic uint64_t seq;      /* slot + 1 once written */
};

static struct lab_event event_log[LOG_SIZE];
static atomic_ulong log_head;

static void log_event(enum race_point rp, uint64_t addr, const struct page *table)
{
	unsigned long slot = atomic_fetch_add_explicit(&log_head, 1, memory_order_relaxed);
	struct lab_event *e = &event_log[slot % LOG_SIZE];

	/* A seqlock-like record: seq 0, then the fields, then seq again with
	 * release; the fence keeps the fields after the zero. */
	atomic_store_explicit(&e->seq, 0, memory_order_relaxed);
	atomic_thread_fence(memory_order_release);
	atomic_store_explicit(&e->addr, addr, memory_order_relaxed);
	atomic_store_explicit(&e->table, table ? page_to_pfn(table) : PFN_NONE,
			      memory_order_relaxed);
	atomic_store_explicit(&e->cpu, smp_processor_id(), memory_order_relaxed);
	atomic_store_explicit(&e->rp, (uint32_t)rp, memory_order_relaxed);
	atomic_store_explicit(&e->at_ms, lab_now_ms(), memory_order_relaxed);
	atomic_store_explicit(&e->seq, slot + 1, memory_order_release);
}

static const char *event_words(enum race_point rp)
{
	switch (rp) {
	case RP_COLLAPSE_PMD_CLEARED:
		return "collapse cleared the PMD that pointed to it";
	case RP_TABLE_DEPOSIT:
		return "deposited it for a huge PMD";
	case RP_TABLE_WITHDRAW:
		return "withdrew it from a deposit list";
	case RP_TABLE_FREE:
		return "freed it";
	default:
		return race_point_name(rp);
	}
}

/* The last few events on table @pfn, oldest first, into @buf. */
static void table_history(uint32_t pfn, char *buf, size_t len)
{
	unsigned long head = atomic_load_explicit(&log_head, memory_order_relaxed);
	unsigned long hits[6];
	int n = 0;
	size_t used = 0;

	buf[0] = '\0';
	for (unsigned long i = head; i-- > 0 && head - i <= LOG_SIZE && n < 6;) {
		struct lab_event *e = &event_log[i % LOG_SIZE];

		if (atomic_load_explicit(&e->seq, memory_order_acquire) == i + 1 &&
		    atomic_load_explicit(&e->table, memory_order_relaxed) == pfn)
			hits[n++] = i;
	}
	while (n-- > 0 && used < len) {
		struct lab_event *e = &event_log[hits[n] % LOG_SIZE];
		double at = atomic_load_explicit(&e->at_ms, memory_order_relaxed);
		int cpu = atomic_load_explicit(&e->cpu, memory_order_relaxed);
		enum race_point rp = (enum race_point)atomic_load_explicit(&e->rp,
									memory_order_relaxed);
		int w;

		/* A writer that wrapped around meanwhile tore the record. */
		atomic_thread_fence(memory_order_acquire);
		if (atomic_load_explicit(&e->seq, memory_order_relaxed) != hits[n] + 1)
			continue;
		w = snprintf(buf + used, len - used, "%s+%.3f ms cpu%d %s", used ? "; " : "",
			     at, cpu, event_words(rp));
		if (w < 0)
			break;
		used += (size_t)w;
	}
}

void lab_violation(const struct lab_violation_detail *d)
{
	atomic_fetch_add_explicit(&lab_ctr.violations[d->kind], 1, memory_order_relaxed);
	if (atomic_exchange_explicit(&first_taken, 1, memory_order_acq_rel))
		return;
	first = *d;
	first.at_ms = lab_now_ms();
	atomic_store_explicit(&first_ready, 1, memory_order_release);
}

bool lab_first_violation(struct lab_violation_detail *out)
{
	if (!atomic_load_explicit(&first_ready, memory_order_acquire))
		return false;
	if (out)
		*out = first;
	return true;
}

/* The walk record of this thread's current interrupts-off section. */
#define REC_TABLES 8

struct walk_record {
	int n;
	struct {
		struct page *table;
		unsigned int gen, dseq;
	} t[REC_TABLES];
	uint64_t addr;
	struct page *poisoned;   /* a table a PTE read returned the poison from */
};

static __thread struct walk_record rec;
/* Collapse's isolation sequence, in the collapsing thread. */
static __thread uint64_t isolation_seq;

static void rec_table(struct page *table, uint64_t addr)
{
	if (!table || rec.n == REC_TABLES)
		return;
	if (!rec.n)
		rec.addr = addr;
	rec.t[rec.n].table = table;
	rec.t[rec.n].gen = page_generation(table);
	rec.t[rec.n].dseq = atomic_load_explicit(&table->pt_deposit_seq, memory_order_acquire);
	rec.n++;
}

/* End of a section: did any table it used change under it? */
static void rec_check(void)
{
	struct lab_violation_detail d = { .kind = VIOLATION_STALE_TABLE, .cpu = smp_processor_id(),
					  .addr = rec.addr, .page_pfn = PFN_NONE };

	for (int i = 0; i < rec.n; i++) {
		struct page *t = rec.t[i].table;
		unsigned int gen = page_generation(t);
		unsigned int dseq = atomic_load_explicit(&t->pt_deposit_seq, memory_order_acquire);
		enum page_type type = page_type(t);

		if (gen == rec.t[i].gen && dseq == rec.t[i].dseq && !(dseq & 1) &&
		    type == PAGE_TYPE_PGTABLE && t != rec.poisoned)
			continue;
		d.table_pfn = page_to_pfn(t);
		d.gen_seen = rec.t[i].gen;
		d.gen_now = gen;
		if (gen == rec.t[i].gen && type == PAGE_TYPE_PGTABLE)
			snprintf(d.what, sizeof(d.what),
				 "walker cpu%d read table %u for %#llx; inside its section the "
				 "table was overwritten with deposit-list links",
				 d.cpu, d.table_pfn, (unsigned long long)d.addr);
		else
			snprintf(d.what, sizeof(d.what),
				 "walker cpu%d read table %u (gen %u) for %#llx; inside its "
				 "section the table was freed%s%s (gen %u)",
				 d.cpu, d.table_pfn, d.gen_seen, (unsigned long long)d.addr,
				 type == PAGE_TYPE_FREE ? "" : " and reused as a ",
				 type == PAGE_TYPE_FREE ? "" : type_name(type), gen);
		table_history(d.table_pfn, d.history, sizeof(d.history));
		lab_violation(&d);
		return;
	}
}

static bool user_page_type(enum page_type t)
{
	return t == PAGE_TYPE_ANON || t == PAGE_TYPE_THP_HEAD || t == PAGE_TYPE_THP_TAIL;
}

void lab_race_hook(enum race_point rp, const struct race_ctx *ctx)
{
	switch (rp) {
	case RP_GUP_FAST_PMD_READ:
		rec_table(ctx->pmd_table, ctx->addr);
		rec_table(ctx->pte_table, ctx->addr);
		break;
	case RP_GUP_FAST_PTE_READ:
		/* Only a freed table holds the poison. */
		if (ctx->pte == PAGE_POISON)
			rec.poisoned = ctx->pte_table;
		break;
	case RP_GUP_FAST_SECTION_END:
		rec_check();
		rec.n = 0;
		rec.poisoned = NULL;
		return;
	case RP_COLLAPSE_PMD_CLEARED:
		log_event(rp, ctx->addr, ctx->pte_table);
		break;
	case RP_COLLAPSE_ISOLATED:
		/* seq_cst, after isolation's seq_cst refcount loads. */
		isolation_seq = atomic_fetch_add_explicit(&lab_seq, 1, memory_order_seq_cst) + 1;
		break;
	case RP_COLLAPSE_COPIED:
		for (unsigned int i = 0; i < ctx->nr_pages; i++) {
			struct page *p = ctx->pages[i];

			if (p && collapse_marks && page_to_pfn(p) < marks_frames)
				atomic_store_explicit(&collapse_marks[page_to_pfn(p)],
						      (uint64_t)page_generation(p) << 32 |
							      (uint32_t)isolation_seq,
						      memory_order_relaxed);
		}
		atomic_store_explicit(&marked_seq, isolation_seq, memory_order_release);
		break;
	case RP_TABLE_DEPOSIT:
	case RP_TABLE_WITHDRAW:
	case RP_TABLE_FREE:
		log_event(rp, 0, ctx->pte_table);
		return;
	default:
		break;
	}
	lab_windows_apply(rp);
}

void lab_check_returned(struct page **pages, long n, uint64_t start, uint32_t mm_id)
{
	for (long i = 0; i < n; i++) {
		struct page *p = pages[i];
		uint64_t addr = start + ((uint64_t)i << PAGE_SHIFT);
		enum page_type t = page_type(p);
		uint64_t index = atomic_load_explicit(&p->index, memory_order_relaxed);
		uint32_t owner = atomic_load_explicit(&p->mm_id, memory_order_relaxed);
		struct lab_violation_detail d;

		if (user_page_type(t) && owner == mm_id && index == addr)
			continue;
		d = (struct lab_violation_detail){ .kind = VIOLATION_WRONG_PAGE,
						   .cpu = smp_processor_id(), .addr = addr,
						   .table_pfn = PFN_NONE,
						   .page_pfn = page_to_pfn(p), .page_index = index };
		snprintf(d.what, sizeof(d.what),
			 "walker cpu%d took a reference on page %u for %#llx, but that %s "
			 "was never mapped there (mm %u, %#llx)",
			 d.cpu, d.page_pfn, (unsigned long long)addr, type_name(t), owner,
			 (unsigned long long)index);
		lab_violation(&d);
	}
}

/* Pins waiting for their check, per walker thread. A pin noted at
 * sequence S can only be marked by a collapse whose isolation took a
 * number <= S: it is checked once those have all marked their pages. */
#define PENDING_PINS 256

struct pending_pin {
	uint32_t pfn, gen;
	uint64_t held_seq;     /* lab_seq read just before the unpin */
	uint64_t addr;
};

static __thread struct pending_pin pending[PENDING_PINS];
static __thread unsigned int pending_head, pending_n;

static void pin_check_one(const struct pending_pin *pp)
{
	uint64_t mark;
	struct lab_violation_detail d;

	if (!collapse_marks || pp->pfn >= marks_frames)
		return;
	mark = atomic_load_explicit(&collapse_marks[pp->pfn], memory_order_relaxed);
	if (!mark || (uint32_t)(mark >> 32) != pp->gen || (uint32_t)mark > pp->held_seq)
		return;
	d = (struct lab_violation_detail){ .kind = VIOLATION_STALE_PIN,
					   .cpu = smp_processor_id(), .addr = pp->addr,
					   .table_pfn = PFN_NONE, .page_pfn = pp->pfn,
					   .page_index = pp->addr };
	snprintf(d.what, sizeof(d.what),
		 "walker cpu%d held a pin on page %u (%#llx) that collapse's isolation "
		 "had not seen, and collapse copied the page away: writes through the "
		 "pin are lost",
		 d.cpu, pp->pfn, (unsigned long long)pp->addr);
	lab_violation(&d);
}

void lab_pins_check(bool all)
{
	/* Acquire: pairs with the release after the marks. */
	uint64_t done = atomic_load_explicit(&marked_seq, memory_order_acquire);

	while (pending_n) {
		struct pending_pin *pp = &pending[(pending_head + PENDING_PINS - pending_n) %
						  PENDING_PINS];

		if (!all && pp->held_seq > done)
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
		.pfn = page_to_pfn(page), .gen = page_generation(page), .addr = addr,
		/* seq_cst, before the seq_cst unpin: see the top. */
		.held_seq = atomic_load_explicit(&lab_seq, memory_order_seq_cst) };
	pending_head = (pending_head + 1) % PENDING_PINS;
	pending_n++;
}

int lab_detect_begin(uint32_t nr_frames)
{
	memset(&lab_ctr, 0, sizeof(lab_ctr));
	atomic_store(&lab_seq, 0);
	atomic_store(&marked_seq, 0);
	atomic_store(&first_taken, 0);
	atomic_store(&first_ready, 0);
	atomic_store(&log_head, 0);
	memset(&first, 0, sizeof(first));
	for (int i = 0; i < LOG_SIZE; i++)
		atomic_store_explicit(&event_log[i].seq, 0, memory_order_relaxed);
	collapse_marks = calloc(nr_frames, sizeof(*collapse_marks));
	if (!collapse_marks)
		return -ENOMEM;
	marks_frames = nr_frames;
	clock_gettime(CLOCK_MONOTONIC, &run_start);
	return 0;
}

void lab_detect_end(void)
{
	free(collapse_marks);
	collapse_marks = NULL;
	marks_frames = 0;
}
