// SPDX-License-Identifier: MIT
/*
 * The lab: each detector fires on a hand-made stale state and not on a
 * fresh one; windows parse; the paravirt preemption is what makes the
 * x86-pv-6.0 races; and the reduced matrix (in the quick tier, its
 * sample) agrees with the rule and with the Spin model, cell by cell.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "lab/lab_internal.h"
#include "machine_helpers.h"
#include "mm_internal.h"
#include "model_matrix.h"
#include "ptlab/hugetlb.h"
#include "ptlab/model.h"
#include "sample.h"
#include "sanitizer.h"
#include "util/time.h"

/* Sanitizer builds run several times slower: longer cells, more tries.
 * Either build shares the CPUs with the tests running beside it (the
 * model's, which keep both busy): a cell short of evidence tries again
 * with twice the budget, up to 16 times the first (32 in a sanitizer
 * build), and an unsafe cell that showed nothing with the next seed; a
 * cell that passes at once costs no more. */
#ifdef PTLAB_DEBUG
#define MATRIX_SECONDS 3.0
#define MATRIX_RETRIES 5
#else
#define MATRIX_SECONDS 0.7
#define MATRIX_RETRIES 4
#endif

/* The test thread plays a walker (and, for the evidence tests, a writer
 * too: lab_self switches between the two contexts). */
static struct lab_tctx walker_ctx, writer_ctx;

static void ctx_init(struct lab_tctx *c, enum lab_role role, int cpu)
{
	memset(c, 0, sizeof(*c));
	c->role = role;
	c->cpu = cpu;
	CHECK_EQ(lab_ring_init(&c->ring, 1024), 0);
	lab_rs.threads[lab_rs.nthreads++] = c;
}

static void detect_up(void)
{
	machine_up(NULL, 16);
	lab_windows_install(NULL, 0, 1);
	CHECK_EQ(lab_detect_begin(ptlab_nr_frames), 0);
	memset(&lab_rs, 0, sizeof(lab_rs));
	lab_rs.start_ns = monotonic_ns();
	ctx_init(&writer_ctx, LAB_ROLE_WRITER, 2);
	ctx_init(&walker_ctx, LAB_ROLE_WALKER, 1);
	lab_self = &walker_ctx;
}

static void detect_down(void)
{
	lab_self = NULL;
	lab_ring_free(&walker_ctx.ring);
	lab_ring_free(&writer_ctx.ring);
	memset(&lab_rs, 0, sizeof(lab_rs));
	lab_detect_end();
	machine_down();
}

static unsigned long long seen(enum violation_kind k)
{
	return lab_read(&walker_ctx.st.violations[k]);
}

/* One interrupts-off section of a walker that read @table's PMD; @in_between
 * runs inside it. */
static void walk_section(struct page *table, void (*in_between)(struct page *))
{
	struct race_ctx pmd = { .addr = 1ULL << 30, .pte_table = table };
	unsigned long f = local_irq_save();

	lab_race_hook(RP_GUP_FAST_PMD_READ, &pmd);
	if (in_between)
		in_between(table);
	lab_race_hook(RP_GUP_FAST_SECTION_END, &(struct race_ctx){ 0 });
	local_irq_restore(f);
	lab_walker_op_done();
}

static void free_it(struct page *t)
{
	put_page(t);
}

static void free_and_reuse(struct page *t)
{
	struct page *again;

	put_page(t);
	again = alloc_page(PAGE_TYPE_ANON);   /* LIFO: the same frame */
	CHECK(again == t);
}

static void deposit_in_table(struct page *t)
{
	atomic_fetch_add(&t->pt_deposit_seq, 1);
}

static void read_value(struct page *t, uint64_t v)
{
	struct race_ctx pte = { .addr = 1ULL << 30, .pte = v, .pte_table = t };

	lab_race_hook(RP_GUP_FAST_PTE_READ, &pte);
}

static void read_poison(struct page *t)
{
	read_value(t, PAGE_POISON);
}

static void read_link(struct page *t)
{
	read_value(t, (uint64_t)(uintptr_t)page_address(t));
}

TEST(detect_stale_table)
{
	struct page *t;

	detect_up();
	/* Fresh: nothing happens to the table. */
	t = alloc_page(PAGE_TYPE_PGTABLE);
	walk_section(t, NULL);
	CHECK_EQ(seen(VIOLATION_STALE_TABLE), 0);
	CHECK(!walker_ctx.have_first);
	/* Freed while the walker was inside. */
	walk_section(t, free_it);
	CHECK_EQ(seen(VIOLATION_STALE_TABLE), 1);
	CHECK(walker_ctx.have_first);
	CHECK_EQ(walker_ctx.first.kind, VIOLATION_STALE_TABLE);
	CHECK_EQ(walker_ctx.first.table_pfn, page_to_pfn(t));
	CHECK(walker_ctx.first.gen_now != walker_ctx.first.gen_seen);
	/* Freed and reused as something else. */
	t = alloc_page(PAGE_TYPE_PGTABLE);
	walk_section(t, free_and_reuse);
	CHECK_EQ(seen(VIOLATION_STALE_TABLE), 2);
	put_page(t);
	/* Overwritten with deposit-list links (in-table deposit). */
	t = alloc_page(PAGE_TYPE_PGTABLE);
	walk_section(t, deposit_in_table);
	CHECK_EQ(seen(VIOLATION_STALE_TABLE), 3);
	/* A PTE read returned the free poison: unheld, and a stale read. */
	CHECK_EQ(lab_read(&walker_ctx.st.stale_read), 0);
	walk_section(t, read_poison);
	CHECK_EQ(seen(VIOLATION_STALE_TABLE), 4);
	CHECK_EQ(lab_read(&walker_ctx.st.stale_read), 1);
	/* A deposit link read is a stale read (its table changed too). */
	atomic_fetch_add(&t->pt_deposit_seq, 1);
	walk_section(t, read_link);
	CHECK_EQ(lab_read(&walker_ctx.st.stale_read), 2);
	put_page(t);
	CHECK_EQ(seen(VIOLATION_STALE_PIN), 0);
	CHECK_EQ(seen(VIOLATION_WRONG_PAGE), 0);
	detect_down();
}

/*
 * A walker that reads an entry whose PFN is no frame's (a reused table's
 * data) stops there, as the kernel cannot (it goes on to pte_page()), and
 * says so: the table stale, the read a stale read, the value named.
 * Through gup_fast itself, on a PTE made so by hand.
 */
TEST(detect_invalid_pfn_is_reported)
{
	const uint64_t addr = 1ULL << 33, bad = 0x00ffffffff000067ULL;
	struct mm_struct *mm;
	struct pte_slot *ptep;
	struct page *p;
	uint64_t v = 1, good;
	char want[32];

	detect_up();
	mm = test_mm_up();
	CHECK_EQ(mm_mmap(mm, addr, PMD_SIZE, VM_READ | VM_WRITE), (int64_t)addr);
	CHECK_EQ(user_write(addr, &v, sizeof(v)), 0);
	ptep = pte_offset_map(pmdp_get(mm_find_pmd(mm, addr)), addr);
	good = pte_val(ptep_get(ptep));
	set_pte(ptep, (pte_t){ bad });
	race_hook_set(lab_race_hook);
	CHECK_EQ(pin_user_pages_fast(addr, 1, FOLL_WRITE | FOLL_FAST_ONLY, &p), 0);
	race_hook_set(NULL);
	lab_walker_op_done();
	set_pte(ptep, (pte_t){ good });
	CHECK_EQ(seen(VIOLATION_STALE_TABLE), 1);
	CHECK_EQ(lab_read(&walker_ctx.st.stale_read), 1);
	CHECK(walker_ctx.have_first);
	CHECK_EQ(walker_ctx.first.table_pfn, page_to_pfn(pte_table_page(ptep)));
	snprintf(want, sizeof(want), "%#llx", (unsigned long long)bad);
	CHECK_MSG(strstr(walker_ctx.first.what, want) && strstr(walker_ctx.first.what, "PFN"),
		  "%s", walker_ctx.first.what);
	/* The entry made good again: nothing. */
	race_hook_set(lab_race_hook);
	CHECK_EQ(pin_user_pages_fast(addr, 1, FOLL_WRITE | FOLL_FAST_ONLY, &p), 1);
	race_hook_set(NULL);
	unpin_user_pages(&p, 1);
	lab_walker_op_done();
	CHECK_EQ(seen(VIOLATION_STALE_TABLE), 1);
	test_mm_down(mm);
	detect_down();
}

/* A collapse, as the detector sees it: isolation done, then @copied (if
 * any) copied away; @pin_at is 0 to note the pin before the isolation,
 * 1 after it. The detector's clock has microseconds: the steps are apart
 * by more. */
static void collapse_with_pin(struct page *pinned, int pin_at, struct page *copied)
{
	struct race_ctx c = { .nr_pages = copied ? 1 : 0, .pages = &copied };

	if (pin_at == 0)
		lab_pin_note(pinned, 1ULL << 30);
	sleep_us(3);
	lab_race_hook(RP_COLLAPSE_ISOLATED, &(struct race_ctx){ 0 });
	sleep_us(3);
	if (pin_at == 1)
		lab_pin_note(pinned, 1ULL << 30);
	lab_race_hook(RP_COLLAPSE_COPIED, &c);
	lab_pins_check(true);
}

TEST(detect_stale_pin)
{
	struct page *p1, *p2, *p3;

	detect_up();
	p1 = alloc_page(PAGE_TYPE_ANON);
	p2 = alloc_page(PAGE_TYPE_ANON);
	p3 = alloc_page(PAGE_TYPE_ANON);
	/* Fresh: the pin was released before isolation looked at the page. */
	collapse_with_pin(p1, 0, p1);
	CHECK_EQ(seen(VIOLATION_STALE_PIN), 0);
	/* Fresh: held across a collapse that did not copy this page. */
	collapse_with_pin(p2, 1, NULL);
	CHECK_EQ(seen(VIOLATION_STALE_PIN), 0);
	/* Stale: held after isolation passed the page, which was copied. */
	collapse_with_pin(p3, 1, p3);
	CHECK_EQ(seen(VIOLATION_STALE_PIN), 1);
	/* A later incarnation of that frame is another page. */
	put_page(p3);
	p3 = alloc_page(PAGE_TYPE_ANON);
	lab_pin_note(p3, 1ULL << 30);
	lab_pins_check(true);
	CHECK_EQ(seen(VIOLATION_STALE_PIN), 1);
	/* A pin waits for its check until a later collapse has marked. */
	lab_pin_note(p2, 1ULL << 30);
	lab_pins_check(false);
	CHECK_EQ(seen(VIOLATION_STALE_PIN), 1);
	put_page(p1);
	put_page(p2);
	put_page(p3);
	detect_down();
}

TEST(detect_wrong_page)
{
	struct page *p, *t;
	uint64_t a = 1ULL << 31;

	detect_up();
	p = alloc_page(PAGE_TYPE_ANON);
	atomic_store(&p->mm_id, 7);
	atomic_store(&p->index, a);
	lab_check_returned(&p, 1, a, 7, a);
	CHECK_EQ(seen(VIOLATION_WRONG_PAGE), 0);
	lab_check_returned(&p, 1, a + PAGE_SIZE, 7, a + PAGE_SIZE);   /* another address */
	lab_check_returned(&p, 1, a, 8, a);                           /* another mm */
	CHECK_EQ(seen(VIOLATION_WRONG_PAGE), 2);
	/* A hugetlb page: owned by its file, indexed by its file offset,
	 * whatever the address. */
	atomic_store(&p->mm_id, HUGETLB_OWNER_BIT | 3);
	atomic_store(&p->index, 5 * PAGE_SIZE);
	lab_check_returned(&p, 1, a, HUGETLB_OWNER_BIT | 3, 5 * PAGE_SIZE);
	CHECK_EQ(seen(VIOLATION_WRONG_PAGE), 2);
	lab_check_returned(&p, 1, a, HUGETLB_OWNER_BIT | 4, 5 * PAGE_SIZE); /* another file */
	lab_check_returned(&p, 1, a, 3, 5 * PAGE_SIZE);       /* an mm's page, not the file's */
	CHECK_EQ(seen(VIOLATION_WRONG_PAGE), 4);
	/* A frame that is no user page at all. */
	t = alloc_page(PAGE_TYPE_PGTABLE);
	atomic_store(&t->index, a);
	lab_check_returned(&t, 1, a, 0, a);
	CHECK_EQ(seen(VIOLATION_WRONG_PAGE), 5);
	put_page(p);
	put_page(t);
	detect_down();
}

/* ---- the evidence, on hand-made logs ---- */

#define SLOT 0x1000ULL
#define PMDV 0x2067ULL

/* The writer logs an event at the current time. */
static void writer_logs(struct lab_event e)
{
	lab_self = &writer_ctx;
	e.t = lab_now_ns();
	lab_log(&e);
	lab_self = &walker_ctx;
	sleep_us(5);
}

/* A section of a walker of @kind on cpu 1 that read SLOT = PMDV (table
 * 77) and ran @during (writer events) inside; its reference is held to
 * t_put. */
static void section_of(enum walker_kind kind, void (*during)(void), uint16_t flags)
{
	struct lab_event s = { .type = EV_SECTION, .slot = SLOT, .value = PMDV, .pfn = 77,
			       .cpu = 1, .flags = flags, .how = (uint16_t)kind };

	s.t = lab_now_ns();
	sleep_us(5);
	if (during)
		during();
	s.t_end = lab_now_ns();
	sleep_us(5);
	if (flags & SEC_REF_HELD)
		writer_logs((struct lab_event){ .type = EV_REFUSED, .slot = SLOT });
	s.t_put = lab_now_ns();
	lab_log(&s);
}

static void section(void (*during)(void), uint16_t flags)
{
	section_of(WALKER_GUP, during, flags);
}

static void unlink_then_flush_ipi(void)
{
	writer_logs((struct lab_event){ .type = EV_UNLINK, .slot = SLOT, .value = PMDV,
					.pfn = 77 });
	writer_logs((struct lab_event){ .type = EV_WAIT, .how = LAB_WAIT_FLUSH, .mask = 1u << 1 });
}

static void unlink_then_flush_other_cpu(void)
{
	writer_logs((struct lab_event){ .type = EV_UNLINK, .slot = SLOT, .value = PMDV,
					.pfn = 77 });
	writer_logs((struct lab_event){ .type = EV_WAIT, .how = LAB_WAIT_FLUSH, .mask = 1u << 3 });
	writer_logs((struct lab_event){ .type = EV_WAIT, .how = LAB_WAIT_SYNC, .mask = 0xe });
}

static void unlink_then_rcu(void)
{
	writer_logs((struct lab_event){ .type = EV_UNLINK, .slot = SLOT, .value = PMDV,
					.pfn = 77 });
	writer_logs((struct lab_event){ .type = EV_GATHERED, .pfn = 77, .how = TABLE_FREE_RCU });
	writer_logs((struct lab_event){ .type = EV_RCU_HANDOFF });
}

static void unlink_only(void)
{
	writer_logs((struct lab_event){ .type = EV_UNLINK, .slot = SLOT, .value = PMDV,
					.pfn = 77 });
}

static void unlink_of_another_value(void)
{
	writer_logs((struct lab_event){ .type = EV_UNLINK, .slot = SLOT, .value = PMDV + 0x1000,
					.pfn = 78 });
}

static void zap_frees_the_table(void)
{
	writer_logs((struct lab_event){ .type = EV_ZAP_FREE, .pfn = 77, .how = TABLE_FREE_DIRECT });
	writer_logs((struct lab_event){ .type = EV_FREE, .pfn = 77, .how = TABLE_FREE_DIRECT });
}

/* The zap-rcu generation: the zap hands the table to a grace period. */
static void zap_defers_the_table(void)
{
	writer_logs((struct lab_event){ .type = EV_ZAP_FREE, .pfn = 77, .how = TABLE_FREE_RCU });
	writer_logs((struct lab_event){ .type = EV_GATHERED, .pfn = 77, .how = TABLE_FREE_RCU });
	writer_logs((struct lab_event){ .type = EV_RCU_HANDOFF });
}

TEST(evidence_classifies_overlaps)
{
	struct lab_evidence *ev;
	struct lab_result r;

	detect_up();
	ev = lab_evidence_new(0);
	CHECK(ev);
	/* An unlink before the section began is no overlap. */
	unlink_only();
	section(NULL, 0);
	section(unlink_then_flush_ipi, 0);              /* held off by the flush */
	section(unlink_then_flush_other_cpu, 0);        /* held off by the sync */
	section(unlink_then_rcu, 0);                    /* grace period */
	section(unlink_only, SEC_RECHECK_FAILED);       /* re-check caught */
	section(unlink_only, SEC_REF_HELD);             /* isolation refused */
	section(unlink_only, 0);                        /* undefended */
	section(unlink_then_flush_ipi, SEC_VIOLATED);   /* a violation: undefended */
	section(zap_frees_the_table, SEC_VIOLATED);     /* freed under it */
	section(zap_defers_the_table, 0);               /* grace period */
	section(unlink_of_another_value, 0);            /* another table: no overlap */
	/* An RCU walker takes IPIs at once: a flush holds it off not. */
	section_of(WALKER_RCU, unlink_then_flush_ipi, 0);  /* undefended */
	section_of(WALKER_RCU, unlink_then_rcu, 0);        /* grace period */
	lab_evidence_poll(ev, true, 0);
	memset(&r, 0, sizeof(r));
	lab_evidence_result(ev, &r);
	CHECK_EQ(r.evidence.sections, 13);
	CHECK_EQ(r.evidence.overlaps, 11);
	CHECK_EQ(r.evidence.by[LAB_HELD_OFF_FLUSH], 1);
	CHECK_EQ(r.evidence.by[LAB_HELD_OFF_SYNC], 1);
	CHECK_EQ(r.evidence.by[LAB_HELD_OFF_GRACE_PERIOD], 3);
	CHECK_EQ(r.evidence.by[LAB_RECHECK_CAUGHT], 1);
	CHECK_EQ(r.evidence.by[LAB_ISOLATION_REFUSED], 1);
	CHECK_EQ(r.evidence.by[LAB_UNDEFENDED], 4);
	CHECK_EQ(r.evidence.held_off, 5);
	CHECK_EQ(r.evidence.defended, 7);
	CHECK_EQ(r.evidence.overlaps_by_walker[WALKER_GUP], 9);
	CHECK_EQ(r.evidence.defended_by_walker[WALKER_GUP], 6);
	CHECK_EQ(r.evidence.overlaps_by_walker[WALKER_RCU], 2);
	CHECK_EQ(r.evidence.defended_by_walker[WALKER_RCU], 1);
	CHECK_EQ(r.evidence.lost_events, 0);
	lab_evidence_free(ev);
	detect_down();
}

/* A producer that laps the reader loses events, and the reader says so. */
TEST(evidence_ring_overrun_is_counted)
{
	struct lab_evidence *ev;
	struct lab_result r;

	detect_up();
	ev = lab_evidence_new(0);
	CHECK(ev);
	lab_self = &writer_ctx;
	for (int i = 0; i < 3000; i++)
		lab_log(&(struct lab_event){ .type = EV_DEPOSIT, .t = lab_now_ns(), .pfn = 5 });
	lab_self = &walker_ctx;
	lab_evidence_poll(ev, true, 0);
	memset(&r, 0, sizeof(r));
	lab_evidence_result(ev, &r);
	/* What one ring holds survives, but for the oldest entry, which the
	 * reader cannot tell from one being overwritten. */
	CHECK(r.evidence.lost_events >= 3000 - 1024 && r.evidence.lost_events <= 3000 - 1023);
	lab_evidence_free(ev);
	detect_down();
}

TEST(lab_window_specs)
{
	struct lab_window w;
	const char *err;

	CHECK_EQ(lab_window_parse("gup-pmd-read:1000000:0.5:jitter:preempt", &w, &err), 0);
	CHECK_EQ(w.rp, RP_GUP_FAST_PMD_READ);
	CHECK_EQ(w.delay_ns, 1000000);
	CHECK(w.probability == 0.5 && w.jitter && w.preempt);
	CHECK_EQ(lab_window_parse("collapse-isolated:5000", &w, &err), 0);
	CHECK(w.probability == 1.0 && !w.jitter && !w.preempt);
	CHECK_EQ(lab_window_parse("nowhere:5000", &w, &err), -EINVAL);
	CHECK_EQ(lab_window_parse("gup-pmd-read", &w, &err), -EINVAL);
	CHECK_EQ(lab_window_parse("gup-pmd-read:0", &w, &err), -EINVAL);
	CHECK_EQ(lab_window_parse("gup-pmd-read:1000000000", &w, &err), -EINVAL);
	CHECK_EQ(lab_window_parse("gup-pmd-read:100:1.5", &w, &err), -EINVAL);
	CHECK_EQ(lab_window_parse("gup-pmd-read:100:0.5:sideways", &w, &err), -EINVAL);
}

TEST(lab_run_bad_config)
{
	struct lab_run_config cfg;
	struct lab_result r;
	struct ptlab_config mc;

	lab_run_config_default(&cfg, ptlab_profile_find("x86"), (struct ptlab_fixes){ 1, 1 },
			       SCENARIO_MUNMAP);
	cfg.walkers = 0;
	CHECK_EQ(lab_run(&cfg, &r), -EINVAL);
	cfg.walkers = LAB_MAX_WALKERS + 1;
	CHECK_EQ(lab_run(&cfg, &r), -EINVAL);
	cfg.walkers = 2;
	cfg.seconds = 0;
	CHECK_EQ(lab_run(&cfg, &r), -EINVAL);
	cfg.seconds = 1;
	cfg.scenario = SCENARIO_COUNT;
	CHECK_EQ(lab_run(&cfg, &r), -EINVAL);
	cfg.scenario = SCENARIO_MUNMAP;
	ptlab_config_default(&mc);
	mc.pool_bytes = 16 << 20;
	CHECK_EQ(ptlab_init(&mc), 0);
	CHECK_EQ(lab_run(&cfg, &r), -EBUSY);
	CHECK_EQ(ptlab_exit(NULL), 0);
}

/* As `ptlab matrix`: a cell is done once its verdict is in, with this
 * margin over the evidence a safe walker kind needs. */
#define TEST_EVIDENCE_MARGIN 3

/*
 * Runs @cfg, a cell the flush makes safe, as `ptlab matrix` runs a safe
 * cell: until it has its evidence (with the margin), and again with twice
 * the budget when it gathered too little (a loaded machine, or other
 * tests at once). No run may show a violation; the last one, in @r, must
 * have enough overlaps held off by the flush.
 */
static void held_off_by_the_flush(struct lab_run_config *cfg, struct lab_result *r,
				  const char *what)
{
	cfg->seconds = MATRIX_SECONDS;
	cfg->stop_at_defended = TEST_EVIDENCE_MARGIN * LAB_MIN_OVERLAPS_DEFAULT;
	for (int attempt = 0; attempt <= MATRIX_RETRIES; attempt++) {
		if (attempt)
			cfg->seconds *= 2;
		cfg->seed = 1 + (uint64_t)attempt;
		CHECK_EQ(lab_run(cfg, r), 0);
		CHECK_MSG(lab_total_violations(r) == 0, "%s: %llu violations: %s", what,
			  (unsigned long long)lab_total_violations(r), r->first.what);
		if (r->evidence.by[LAB_HELD_OFF_FLUSH] >= LAB_MIN_OVERLAPS_DEFAULT)
			break;
	}
	CHECK_MSG(r->evidence.by[LAB_HELD_OFF_FLUSH] >= LAB_MIN_OVERLAPS_DEFAULT,
		  "%s: only %llu overlaps held off by the flush (%llu overlaps)", what,
		  (unsigned long long)r->evidence.by[LAB_HELD_OFF_FLUSH],
		  (unsigned long long)r->evidence.overlaps);
	/* What follows runs with the defaults again. */
	cfg->seconds = MATRIX_SECONDS;
	cfg->stop_at_defended = 0;
}

/* x86-pv-6.0: the paravirt flush only skips a preempted vCPU. Without the
 * preemption in the windows, every flush waits for the walkers, and the
 * cell is safe with evidence: its overlaps held off by the flush; with
 * it, collapse-zap with no fix shows its stale table. */
TEST_T(lab_paravirt_preemption_makes_the_race, 300)
{
	struct ptlab_expectation e;
	struct lab_run_config cfg;
	struct lab_result r;
	char why[200];
	bool seen = false;

	lab_run_config_default(&cfg, ptlab_profile_find("x86-pv-6.0"), (struct ptlab_fixes){ 0, 0 },
			       SCENARIO_COLLAPSE_ZAP);
	for (unsigned int i = 0; i < cfg.nr_windows; i++)
		cfg.windows[i].preempt = false;
	held_off_by_the_flush(&cfg, &r, "not preempted");
	/* Judged as a safe cell would be (no kind possible). */
	memset(&e, 0, sizeof(e));
	CHECK_MSG(lab_judge(&cfg, &r, 0, &e, LAB_MIN_OVERLAPS_DEFAULT, why, sizeof(why)) ==
			  LAB_PASS, "not preempted: %s", why);
	for (unsigned int i = 0; i < cfg.nr_windows; i++)
		cfg.windows[i].preempt = true;
	cfg.grace_after_violation = 0.05;
	for (int attempt = 0; attempt <= MATRIX_RETRIES && !seen; attempt++) {
		cfg.seed = 1 + (uint64_t)attempt;
		CHECK_EQ(lab_run(&cfg, &r), 0);
		seen = r.violations[VIOLATION_STALE_TABLE] > 0;
		CHECK_EQ(r.leaked_frames, 0);
	}
	CHECK_MSG(seen, "no stale table with preempted vCPUs (last run: %llu ops, %llu cycles)",
		  (unsigned long long)r.ops, (unsigned long long)r.cycles);
}

/*
 * x86-invlpgb flushes by broadcast only an mm with a global ASID, one that
 * was active on four CPUs or more. A small mm (three CPUs here: one
 * walker, the collapser and the zapper) is flushed by IPIs that wait:
 * collapse-zap with no fix is then safe, with its overlaps held off by the
 * flush. The same cell with the default four CPUs shows the race.
 */
TEST_T(lab_invlpgb_small_mm_is_flushed_by_ipi, 300)
{
	struct lab_run_config cfg;
	struct lab_result r;
	bool seen = false;

	lab_run_config_default(&cfg, ptlab_profile_find("x86-invlpgb"), (struct ptlab_fixes){ 0, 0 },
			       SCENARIO_COLLAPSE_ZAP);
	cfg.walkers = 1;
	cfg.min_mm_cpus = 0;
	held_off_by_the_flush(&cfg, &r, "small mm");
	cfg.min_mm_cpus = 4;
	cfg.grace_after_violation = 0.05;
	for (int attempt = 0; attempt <= MATRIX_RETRIES && !seen; attempt++) {
		cfg.seed = 1 + (uint64_t)attempt;
		CHECK_EQ(lab_run(&cfg, &r), 0);
		seen = r.violations[VIOLATION_STALE_TABLE] > 0;
	}
	CHECK_MSG(seen, "an mm on four CPUs showed no stale table");
	/* Only the flushes before the mm got its global ASID were IPIs. */
	CHECK_MSG(r.evidence.by[LAB_UNDEFENDED] > r.evidence.by[LAB_HELD_OFF_FLUSH],
		  "four CPUs: %llu overlaps held off by the flush, %llu undefended",
		  (unsigned long long)r.evidence.by[LAB_HELD_OFF_FLUSH],
		  (unsigned long long)r.evidence.by[LAB_UNDEFENDED]);
}

/* A cell of the reduced matrix, and what the lab saw in it. */
struct matrix_cell {
	struct ptlab_cell cell;
	bool seen[WALKER_KINDS][VIOLATION_KINDS];
};

static struct ptlab_cell make_cell(const char *profile, unsigned int fixes, enum scenario s,
				   enum collapse_table ct)
{
	struct ptlab_cell c = ptlab_cell_default(ptlab_profile_find(profile),
						 ptlab_fix_setting(fixes), s);

	c.kernel.collapse_table = ct;
	return c;
}

/* A retract cell of generation @rg, with the walkers it runs there. */
static struct ptlab_cell make_retract_cell(const char *profile, unsigned int fixes,
					   enum retract_gen rg)
{
	struct ptlab_cell c = make_cell(profile, fixes, SCENARIO_RETRACT, COLLAPSE_TABLE_REUSE);

	c.kernel.retract = rg;
	c.walkers = scenario_default_walkers(SCENARIO_RETRACT, c.kernel);
	return c;
}

/*
 * Runs @cells through the lab and judges each as `ptlab matrix` does
 * (evidence per walker kind included), then runs the Spin model on the
 * very same cells: its verdict must agree with the rule walker kind by
 * walker kind, and every kind of violation the lab saw from a kind of
 * walker the model must have found for that kind of walker.
 */
/* What one cell's lab run showed, written by the process that ran it. */
struct cell_outcome {
	bool done, pass;
	bool seen[WALKER_KINDS][VIOLATION_KINDS];
	char why[200];
};

/*
 * Lab processes at once: as `make run` (MATRIX_JOBS), four, since a cell
 * mostly sleeps in its race windows; two under a sanitizer, which keeps
 * both CPUs busy. A cell short of evidence is retried with twice the
 * budget, as the matrix does, so sharing the CPUs fails no cell.
 */
#ifdef PTLAB_DEBUG
#define LAB_TEST_JOBS 2
#else
#define LAB_TEST_JOBS 4
#endif

/* Runs @c through the lab as `ptlab matrix` does and writes what it
 * showed into @out. */
static void run_lab_cell(const struct ptlab_cell *c, struct cell_outcome *out)
{
	struct ptlab_expectation e = ptlab_expect_cell(c);
	enum lab_verdict v = LAB_FAIL;
	struct lab_run_config cfg;
	struct lab_result r;

	lab_run_config_default(&cfg, c->profile, c->fixes, c->scenario);
	cfg.kernel = c->kernel;
	cfg.walker_kinds = c->walkers;
	cfg.seconds = MATRIX_SECONDS;
	cfg.stop_at_defended = TEST_EVIDENCE_MARGIN * LAB_MIN_OVERLAPS_DEFAULT;
	/* As `ptlab matrix` retries: an unsafe cell that showed nothing, a
	 * cell short of evidence (with twice the budget); never one that
	 * showed a violation. */
	for (int attempt = 0; attempt <= MATRIX_RETRIES; attempt++) {
		if (attempt && v == LAB_INCONCLUSIVE)
			cfg.seconds *= 2;
		cfg.seed = 1 + (uint64_t)attempt;
		CHECK_EQ(lab_run(&cfg, &r), 0);
		v = lab_judge(&cfg, &r, 0, &e, LAB_MIN_OVERLAPS_DEFAULT, out->why,
			      sizeof(out->why));
		if (v == LAB_PASS || (v == LAB_FAIL && !(e.unsafe && !lab_total_violations(&r))))
			break;
		lab_result_release(&r);
	}
	for (int w = 0; w < WALKER_KINDS; w++)
		for (int k = 0; k < VIOLATION_KINDS; k++)
			out->seen[w][k] = r.violations_by_walker[w][k] > 0;
	lab_result_release(&r);
	if (v != LAB_PASS)
		snprintf(out->why + strlen(out->why), sizeof(out->why) - strlen(out->why), " (%s)",
			 lab_verdict_name(v));
	out->pass = v == LAB_PASS;
	out->done = true;
}

/*
 * Runs @cells through the lab and judges each as `ptlab matrix` does
 * (evidence per walker kind included), LAB_TEST_JOBS cells at once, each
 * process taking every LAB_TEST_JOBS-th cell and writing its outcomes
 * into shared memory; then runs the Spin model on the very same cells:
 * its verdict must agree with the rule walker kind by walker kind, and
 * every kind of violation the lab saw from a kind of walker the model
 * must have found for that kind of walker.
 */
static void lab_and_model_agree(struct matrix_cell *cells, size_t n,
				const struct model_matrix *known)
{
	struct ptlab_cell *mcells = calloc(n, sizeof(*mcells));
	struct ptlab_model_result *mres = calloc(n, sizeof(*mres));
	/* each cell's model result: known's, or mres[i] searched here */
	const struct ptlab_model_result **res = calloc(n, sizeof(*res));
	struct ptlab_cell *search = calloc(n, sizeof(*search));
	size_t *searched = calloc(n, sizeof(*searched)), nsearch = 0;
	struct ptlab_model_options mo = { .jobs = test_cpus() };
	size_t failures = 0, bytes = (n ? n : 1) * sizeof(struct cell_outcome);
	struct cell_outcome *out = mmap(NULL, bytes, PROT_READ | PROT_WRITE,
					MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	pid_t pids[LAB_TEST_JOBS];

	CHECK(mcells && mres && res && search && searched && out != MAP_FAILED);
	/* The walkers and PT_RECLAIM each cell runs with, as the lab
	 * defaults them: the model checks the same cell. */
	for (size_t i = 0; i < n; i++) {
		struct ptlab_cell *c = &cells[i].cell;
		struct lab_run_config cfg;

		lab_run_config_default(&cfg, c->profile, c->fixes, c->scenario);
		cfg.kernel.collapse_table = c->kernel.collapse_table;
		cfg.kernel.retract = c->kernel.retract;
		cfg.kernel.rcu_everywhere = c->kernel.rcu_everywhere;
		cfg.kernel.unshare_sync = c->kernel.unshare_sync;
		if (c->walkers)
			cfg.walker_kinds = c->walkers;
		c->walkers = cfg.walker_kinds;
		c->kernel = cfg.kernel;
		mcells[i] = *c;
	}
	for (int j = 0; j < LAB_TEST_JOBS; j++) {
		pids[j] = ptlab_fork();
		CHECK(pids[j] >= 0);
		if (pids[j] == 0) {
			for (size_t i = (size_t)j; i < n; i += LAB_TEST_JOBS)
				run_lab_cell(&cells[i].cell, &out[i]);
			_exit(0);
		}
	}
	for (int j = 0; j < LAB_TEST_JOBS; j++) {
		int status;

		CHECK(waitpid(pids[j], &status, 0) == pids[j]);
		CHECK_MSG(WIFEXITED(status) && WEXITSTATUS(status) == 0,
			  "lab process %d of %d: status %#x", j, LAB_TEST_JOBS, status);
	}
	for (size_t i = 0; i < n; i++) {
		char name[128];

		CHECK(out[i].done);
		memcpy(cells[i].seen, out[i].seen, sizeof(cells[i].seen));
		if (!out[i].pass) {
			failures++;
			ptlab_model_cell_name(&mcells[i], name, sizeof(name));
			fprintf(stderr, "    %s: expected %s: %s\n", name,
				ptlab_expect_cell(&mcells[i]).unsafe ? "unsafe" : "safe", out[i].why);
		}
	}
	munmap(out, bytes);
	CHECK_EQ(failures, 0);
	/* the cells the model's matrix has not searched are searched here */
	for (size_t i = 0; i < n; i++)
		if (!(res[i] = model_matrix_find(known, &mcells[i]))) {
			searched[nsearch] = i;
			search[nsearch++] = mcells[i];
		}
	CHECK_EQ(ptlab_model_check(&mo, search, nsearch, mres), 0);
	for (size_t j = 0; j < nsearch; j++)
		res[searched[j]] = &mres[j];
	printf("    %zu cells: %zu model results from the model's matrix, %zu searched here\n", n,
	       n - nsearch, nsearch);
	for (size_t i = 0; i < n; i++) {
		const struct ptlab_model_result *r = res[i];
		char name[128];

		ptlab_model_cell_name(&mcells[i], name, sizeof(name));
		for (int w = 0; w < WALKER_KINDS; w++) {
			bool lab_unsafe = false, model_unsafe = false;

			for (int k = 0; k < VIOLATION_KINDS; k++) {
				lab_unsafe |= cells[i].seen[w][k];
				model_unsafe |= r->found_by_walker[w][k];
				CHECK_MSG(!cells[i].seen[w][k] || r->found_by_walker[w][k],
					  "%s: the lab's %s walkers showed %s, the model's did not",
					  name, walker_kind_name((enum walker_kind)w),
					  violation_kind_name((enum violation_kind)k));
			}
			CHECK_MSG(lab_unsafe == model_unsafe, "%s: %s walkers: lab %s, model %s",
				  name, walker_kind_name((enum walker_kind)w),
				  lab_unsafe ? "unsafe" : "safe", model_unsafe ? "unsafe" : "safe");
		}
		CHECK_MSG(ptlab_model_judge(&mcells[i], r) == MODEL_PASS,
			  "%s: the model disagrees with the rule (%s)", name,
			  model_verdict_name(r->verdict));
	}
	for (size_t j = 0; j < nsearch; j++)
		ptlab_model_result_release(&mres[j]);
	free(searched);
	free(search);
	free(res);
	free(mcells);
	free(mres);
}

/*
 * powerpc hash's collapse flush waits for walkers by itself
 * (serialize_against_pte_lookup()), though its TLB flush is a broadcast:
 * collapse-zap with no fix is safe, its overlaps held off by that wait.
 * The same row without the property, or with no mm_cpumask for the IPI
 * to reach, shows the stale table, and the rule says so for all three.
 */
TEST_T(lab_collapse_flush_that_waits_holds_walkers_off, 300)
{
	const struct ptlab_profile *hash = ptlab_profile_find("ppc64-hash");
	struct ptlab_profile variant[2];
	struct lab_run_config cfg;
	struct lab_result r;

	CHECK(hash && hash->collapse_flush_waits && hash->mm_cpumask);
	CHECK(!ptlab_expect(hash, (struct ptlab_fixes){ 0, 0 }, SCENARIO_COLLAPSE_ZAP).unsafe);
	lab_run_config_default(&cfg, hash, (struct ptlab_fixes){ 0, 0 }, SCENARIO_COLLAPSE_ZAP);
	held_off_by_the_flush(&cfg, &r, "ppc64-hash");
	variant[0] = *hash;
	variant[0].collapse_flush_waits = false;
	variant[1] = *hash;
	variant[1].mm_cpumask = false;
	for (int v = 0; v < 2; v++) {
		bool seen = false;

		CHECK(ptlab_expect(&variant[v], (struct ptlab_fixes){ 0, 0 },
				   SCENARIO_COLLAPSE_ZAP).possible[VIOLATION_STALE_TABLE]);
		lab_run_config_default(&cfg, &variant[v], (struct ptlab_fixes){ 0, 0 },
				       SCENARIO_COLLAPSE_ZAP);
		cfg.seconds = MATRIX_SECONDS;
		cfg.grace_after_violation = 0.05;
		for (int attempt = 0; attempt <= MATRIX_RETRIES && !seen; attempt++) {
			cfg.seed = 1 + (uint64_t)attempt;
			CHECK_EQ(lab_run(&cfg, &r), 0);
			seen = r.violations[VIOLATION_STALE_TABLE] > 0;
		}
		CHECK_MSG(seen, "variant %d showed no stale table", v);
	}
}

#ifdef PTLAB_DEBUG
/* Whether an earlier profile has every property of profile @p (all but
 * the strings: name, summary, kernel facts). */
static bool same_properties_as_earlier(size_t p)
{
	size_t nk;
	const struct ptlab_profile_key *keys = ptlab_profile_keys(&nk);

	for (size_t q = 0; q < p; q++) {
		bool same = true;

		for (size_t k = 0; k < nk && same; k++)
			if (keys[k].type != PROFILE_KEY_STRING && !keys[k].derived)
				same = ptlab_profile_get(&ptlab_profiles()[p], &keys[k]) ==
				       ptlab_profile_get(&ptlab_profiles()[q], &keys[k]);
		if (same)
			return true;
	}
	return false;
}
#endif

/*
 * The reduced stress matrix: every profile, scenario and fix setting, the
 * collapse scenarios with each collapse-table generation, retract
 * with each retract generation; with @sample,
 * the quick tier's sample of it (sample.h). A sanitizer build, several
 * times slower, leaves out the profiles whose properties an earlier one
 * has (s390 is ppc64-radix, mips64 x86-nopv-6.0 to the machine, the lab,
 * the rule and the model): they run no code path the earlier one does not,
 * and the plain build and `make run` judge them.
 */
static void matrix_agrees_with_rule_and_model(bool sample, const struct model_matrix *known)
{
	size_t cap = ptlab_profiles_count() * SCENARIO_COUNT * PTLAB_FIX_SETTINGS *
		     (COLLAPSE_TABLE_COUNT + RETRACT_COUNT), n = 0, left_out = 0, left_fresh = 0;
	struct matrix_cell *cells = calloc(cap, sizeof(*cells));

	CHECK(cells);
	for (size_t p = 0; p < ptlab_profiles_count(); p++) {
		if (sample && !sample_profile(&ptlab_profiles()[p]))
			continue;
#ifdef PTLAB_DEBUG
		if (same_properties_as_earlier(p)) {
			left_out++;
			continue;
		}
#endif
		for (int s = 0; s < SCENARIO_COUNT; s++)
			for (unsigned int f = 0; f < PTLAB_FIX_SETTINGS; f++)
				for (int ct = 0; ct < COLLAPSE_TABLE_COUNT; ct++) {
					if (ct != COLLAPSE_TABLE_REUSE && s != SCENARIO_COLLAPSE_ZAP &&
					    s != SCENARIO_COLLAPSE_PIN)
						continue;
					if (sample && !sample_fix_setting(f))
						continue;
					cells[n].cell = make_cell(ptlab_profiles()[p].name, f,
								  (enum scenario)s,
								  (enum collapse_table)ct);
#ifdef PTLAB_DEBUG
					/* Under a sanitizer the fresh generation's
					 * race shows in seconds, not milliseconds (a
					 * third of the seeds within 3 s): its unsafe
					 * verdicts are the plain build's to judge;
					 * its safe cells, which run the same code,
					 * stay. */
					if (ct == COLLAPSE_TABLE_FRESH &&
					    ptlab_expect_cell(&cells[n].cell).unsafe) {
						left_fresh++;
						continue;
					}
#endif
					n++;
				}
		for (unsigned int f = 0; f < PTLAB_FIX_SETTINGS; f++)
			cells[n++].cell = make_retract_cell(ptlab_profiles()[p].name, f,
							    RETRACT_DEFER);
	}
	if (left_out || left_fresh)
		fprintf(stderr, "    sanitizer build: %zu profiles with an earlier one's properties "
				"and %zu unsafe cells of the fresh generation left to the plain "
				"build\n", left_out, left_fresh);
	lab_and_model_agree(cells, n, known);
	free(cells);
}

/*
 * The model's matrix against the rule (every counterexample replayed by
 * Spin), then the lab's against the rule and the model: one test, so
 * that the lab's cells take their model results from the model's matrix
 * where it searched the same switches (288 of the full matrix's 884
 * cells, 63 CPU seconds; docs/testing.md).
 */
static void matrices_agree_with_rule(bool sample)
{
	struct model_matrix m;

	model_agrees_with_rule(sample, &m);
	matrix_agrees_with_rule_and_model(sample, &m);
	model_matrix_release(&m);
}

TEST_FULL(model_and_lab_matrices_agree_with_rule, 2400)
{
	matrices_agree_with_rule(false);
}

TEST_T(model_and_lab_matrix_samples_agree_with_rule, 900)
{
	matrices_agree_with_rule(true);
}

/*
 * The other generation switches, where they change a verdict:
 * --rcu-everywhere makes broadcast-norcu's munmap and pt-reclaim safe (and
 * x86-nopv's RCU walkers, and munmap-pmd on loongarch and mips, as 7.0
 * does there), but not collapse without the sync nor the
 * hugetlb unshare without one; the 2025 per-unshare sync holds off
 * hugetlb walkers as the 6.19 gather does, with RCU table free only; and
 * an RCU walker alone, or a GUP-fast walker alone, in pt-reclaim.
 */
TEST_T(lab_generations_agree_with_rule_and_model, 900)
{
	struct matrix_cell cells[40];
	size_t n = 0;

	memset(cells, 0, sizeof(cells));
	for (unsigned int f = 0; f < PTLAB_FIX_SETTINGS; f += 3) {
		static const enum scenario sc[] = { SCENARIO_MUNMAP, SCENARIO_PT_RECLAIM,
						    SCENARIO_COLLAPSE_ZAP,
						    SCENARIO_HUGETLB_UNSHARE };

		for (size_t s = 0; s < sizeof(sc) / sizeof(sc[0]); s++) {
			cells[n].cell = make_cell("broadcast-norcu", f, sc[s], COLLAPSE_TABLE_REUSE);
			cells[n++].cell.kernel.rcu_everywhere = true;
		}
		cells[n].cell = make_cell("x86-nopv-6.0", f, SCENARIO_PT_RECLAIM,
					  COLLAPSE_TABLE_REUSE);
		cells[n++].cell.kernel.rcu_everywhere = true;
		/* 7.0 on loongarch and mips: every level freed by RCU, and
		 * the PMD table of an emptied PUD range with it */
		for (size_t p = 0; p < 2; p++) {
			cells[n].cell = make_cell(p ? "mips64-mmid" : "loongarch64", f,
						  SCENARIO_MUNMAP_PMD, COLLAPSE_TABLE_REUSE);
			cells[n++].cell.kernel.rcu_everywhere = true;
		}
	}
	for (int u = UNSHARE_SYNC_NONE; u < UNSHARE_SYNC_COUNT; u++) {
		static const char *const prof[] = { "arm64", "x86-pv-6.0", "broadcast-norcu" };

		for (size_t p = 0; p < sizeof(prof) / sizeof(prof[0]); p++) {
			cells[n].cell = make_cell(prof[p], 0, SCENARIO_HUGETLB_UNSHARE,
						  COLLAPSE_TABLE_REUSE);
			cells[n++].cell.kernel.unshare_sync = (enum unshare_sync)u;
		}
	}
	for (int w = 0; w < WALKER_KINDS; w++) {
		cells[n].cell = make_cell("x86-nopv-6.0", 0, SCENARIO_PT_RECLAIM,
					  COLLAPSE_TABLE_REUSE);
		cells[n++].cell.walkers = WALKER_MASK(w);
	}
	/* The sync policies where they differ from "all" (ptlab study sync
	 * runs them all): the naive skip trusts a paravirt flush; step 1
	 * does not. */
	{
		static const struct {
			const char *profile;
			enum scenario s;
			enum sync_policy policy;
		} pol[] = {
			{ "x86-pv-6.0", SCENARIO_COLLAPSE_ZAP, SYNC_SKIP_NAIVE },
			{ "x86-pv-6.0", SCENARIO_COLLAPSE_ZAP, SYNC_SKIP_IF_FLUSH_IPI },
			{ "x86-hyperv-6.0", SCENARIO_HUGETLB_UNSHARE, SYNC_SKIP_NAIVE },
			{ "x86", SCENARIO_HUGETLB_UNSHARE, SYNC_SKIP_IF_FLUSH_IPI },
			{ "ppc64-radix", SCENARIO_COLLAPSE_PIN, SYNC_MM_CPUMASK },
			{ "broadcast-norcu", SCENARIO_COLLAPSE_ZAP, SYNC_WALKERS },
		};

		for (size_t i = 0; i < sizeof(pol) / sizeof(pol[0]); i++) {
			cells[n].cell = make_cell(pol[i].profile, 3, pol[i].s,
						  COLLAPSE_TABLE_REUSE);
			cells[n++].cell.fixes.sync = pol[i].policy;
		}
		/* Step 2 does not convert the 2025 per-unshare sync (gone from
		 * its base): under walkers and mm-cpumask it still interrupts
		 * every CPU, W's walkers' too, even on arm64, which keeps no
		 * mm_cpumask. */
		for (int i = 0; i < 2; i++) {
			cells[n].cell = make_cell("arm64", 3, SCENARIO_HUGETLB_UNSHARE,
						  COLLAPSE_TABLE_REUSE);
			cells[n].cell.fixes.sync = i ? SYNC_MM_CPUMASK : SYNC_WALKERS;
			cells[n++].cell.kernel.unshare_sync = UNSHARE_SYNC_PER_UNSHARE;
		}
	}
	CHECK(n <= sizeof(cells) / sizeof(cells[0]));
	lab_and_model_agree(cells, n, NULL);
}

/*
 * File THP retraction as the seed's patch left it (6.1-6.5): where
 * nothing waits for the walkers the table is freed under one within a
 * second, with a wrong page without the PMD re-check; the sync holds them
 * off. 6.6+ frees after a grace period: both walker kinds safe even where
 * nothing else waits (broadcast-norcu). Each cell stops once its verdict
 * is in.
 */
TEST_T(lab_retract_generations, 300)
{
	static const struct {
		const char *profile;
		unsigned int fixes;
		enum retract_gen rg;
	} cells[] = {
		{ "arm64", 0, RETRACT_FREE },		{ "broadcast-norcu", 1, RETRACT_FREE },
		{ "arm64", 2, RETRACT_FREE },		{ "broadcast-norcu", 0, RETRACT_DEFER },
		{ "x86-nopv-6.0", 0, RETRACT_DEFER },
	};
#ifdef PTLAB_DEBUG
	const double within_ms = 4000;
#else
	const double within_ms = 1000;
#endif

	for (size_t i = 0; i < sizeof(cells) / sizeof(cells[0]); i++) {
		struct ptlab_cell c = make_retract_cell(cells[i].profile, cells[i].fixes,
							cells[i].rg);
		struct ptlab_expectation e = ptlab_expect_cell(&c);
		struct lab_run_config cfg;
		struct lab_result r;
		enum lab_verdict v = LAB_FAIL;
		char why[200];

		lab_run_config_default(&cfg, c.profile, c.fixes, SCENARIO_RETRACT);
		cfg.kernel.retract = c.kernel.retract;
		cfg.walker_kinds = c.walkers;
		cfg.seconds = MATRIX_SECONDS;
		cfg.stop_at_defended = TEST_EVIDENCE_MARGIN * LAB_MIN_OVERLAPS_DEFAULT;
		for (int attempt = 0; attempt <= MATRIX_RETRIES && v != LAB_PASS; attempt++) {
			cfg.seed = 1 + (uint64_t)attempt;
			CHECK_EQ(lab_run(&cfg, &r), 0);
			v = lab_judge(&cfg, &r, 0, &e, LAB_MIN_OVERLAPS_DEFAULT, why, sizeof(why));
		}
		CHECK_MSG(v == LAB_PASS, "%s %s retract/%s: %s", cells[i].profile,
			  ptlab_fixes_name(c.fixes), retract_gen_name(cells[i].rg), why);
		if (e.unsafe)
			CHECK_MSG(r.first_violation_ms >= 0 && r.first_violation_ms < within_ms,
				  "%s: first violation after %.1f ms", cells[i].profile,
				  r.first_violation_ms);
		else
			for (int w = 0; w < WALKER_KINDS; w++)
				CHECK(!(c.walkers & WALKER_MASK(w)) ||
				      r.evidence.defended_by_walker[w] >= LAB_MIN_OVERLAPS_DEFAULT);
	}
}

#ifdef PTLAB_ASAN
/* In an ASan build a walker reading a freed table is reported with its
 * stack, and the lab counts the report instead of stopping; the reports
 * go to a log file, not to the terminal. */
TEST_T(lab_asan_reports_the_walker, 300)
{
	static char out[1 << 20];
	const char *argv[] = { test_ptlab_path(), "race", "--profile", "broadcast-norcu",
			       "--scenario", "munmap", "--fixes", "none", "--seconds", "5",
			       NULL };
	int status = test_run(argv, out, sizeof(out));
	const char *at = strstr(out, "reading freed tables: ");
	char path[256] = "", *log;

	CHECK_MSG(status == 0, "exit %d:\n%s", status, out);
	CHECK_MSG(!strstr(out, "ERROR: AddressSanitizer"), "a report reached the terminal:\n%s",
		  out);
	CHECK_MSG(at && sscanf(at, "reading freed tables: %*u (in %255[^)])", path) == 1,
		  "no report count or log named:\n%s", out);
	log = test_read_file(path);
	CHECK(strstr(log, "ERROR: AddressSanitizer"));
	CHECK(strstr(log, "gup_fast"));
	free(log);
	unlink(path);
}
#endif

/*
 * mremap, the seed's "moved back and forth": where a broadcast flush lets
 * a walker stay inside across moves, sections whose table moved (and,
 * for a PTE table, came back) and whose re-checks passed are counted, and
 * each returned the page mapped there: safe (arm64). Where the flush
 * waits (x86), no PTE table's round trip fits in one section (the PUD
 * level needs one move, which the flush waits out only after the clear).
 * Where the unmap of the destination frees the table after a flush that
 * does not wait, the walker inside it fails the cell within a second,
 * with tables moved whole (broadcast-norcu) or entry by entry
 * (mips64-mmid); s390 moves none and is safe.
 */
TEST_T(lab_mremap_aba, 300)
{
	static const struct {
		const char *profile;
		unsigned int fixes;
	} cells[] = {
		{ "arm64", 3 }, { "x86", 3 }, { "broadcast-norcu", 0 }, { "broadcast-norcu", 3 },
		{ "mips64-mmid", 1 }, { "s390", 3 },
	};
#ifdef PTLAB_DEBUG
	const double within_ms = 4000;
#else
	const double within_ms = 1000;
#endif

	for (size_t i = 0; i < sizeof(cells) / sizeof(cells[0]); i++) {
		struct ptlab_cell c = make_cell(cells[i].profile, cells[i].fixes, SCENARIO_MREMAP,
						COLLAPSE_TABLE_REUSE);
		struct ptlab_expectation e = ptlab_expect_cell(&c);
		const struct lab_evidence_counts *ev;
		struct lab_run_config cfg;
		struct lab_result r;
		enum lab_verdict v = LAB_FAIL;
		char why[200];

		lab_run_config_default(&cfg, c.profile, c.fixes, SCENARIO_MREMAP);
		cfg.seconds = MATRIX_SECONDS;
		cfg.stop_at_defended = TEST_EVIDENCE_MARGIN * LAB_MIN_OVERLAPS_DEFAULT;
		for (int attempt = 0; attempt <= MATRIX_RETRIES && v != LAB_PASS; attempt++) {
			cfg.seed = 1 + (uint64_t)attempt;
			CHECK_EQ(lab_run(&cfg, &r), 0);
			v = lab_judge(&cfg, &r, 0, &e, LAB_MIN_OVERLAPS_DEFAULT, why, sizeof(why));
		}
		ev = &r.evidence;
		CHECK_MSG(v == LAB_PASS, "%s %s mremap: %s", cells[i].profile,
			  ptlab_fixes_name(c.fixes), why);
		CHECK_EQ(!!r.table_moves, c.profile->move_pmd);
		CHECK_EQ(ev->aba_wrong, 0);
		if (e.unsafe)
			CHECK_MSG(r.first_violation_ms >= 0 && r.first_violation_ms < within_ms,
				  "%s: first violation after %.1f ms", cells[i].profile,
				  r.first_violation_ms);
		if (!e.unsafe && c.profile->move_pmd)
			CHECK_MSG(ev->aba > 0, "%s: no ABA in %llu moves", cells[i].profile,
				  (unsigned long long)r.table_moves);
		if (profile_flush_waits(c.profile))
			CHECK_MSG(ev->aba == ev->aba_pud, "%s: %llu PTE-table round trips inside "
				  "one section although the flush waits", cells[i].profile,
				  (unsigned long long)(ev->aba - ev->aba_pud));
		if (!c.profile->move_pmd)
			CHECK_EQ(ev->aba, 0);
	}
}
