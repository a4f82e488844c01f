// SPDX-License-Identifier: MIT
/*
 * The lab: each detector fires on a hand-made stale state and not on a
 * fresh one; windows parse; the paravirt preemption is what makes the
 * x86-pv-6.0 races; and the reduced matrix agrees with the rule and with
 * the Spin model, cell by cell.
 */
#include <errno.h>
#include <string.h>

#include "lab/lab_internal.h"
#include "machine_helpers.h"
#include "ptlab/model.h"
#include "sanitizer.h"

#ifdef PTLAB_DEBUG
/* Sanitizer builds run several times slower: longer cells, more tries. */
#define MATRIX_SECONDS 1.0
#define MATRIX_RETRIES 3
#else
#define MATRIX_SECONDS 0.4
#define MATRIX_RETRIES 2
#endif

static void detect_up(void)
{
	machine_up(NULL, 16);
	lab_windows_install(NULL, 0, 1);
	CHECK_EQ(lab_detect_begin(ptlab_nr_frames), 0);
}

static void detect_down(void)
{
	lab_detect_end();
	machine_down();
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

static void read_poison(struct page *t)
{
	struct race_ctx pte = { .addr = 1ULL << 30, .pte = PAGE_POISON, .pte_table = t };

	lab_race_hook(RP_GUP_FAST_PTE_READ, &pte);
}

TEST(detect_stale_table)
{
	struct lab_violation_detail d;
	struct page *t;

	detect_up();
	/* Fresh: nothing happens to the table. */
	t = alloc_page(PAGE_TYPE_PGTABLE);
	walk_section(t, NULL);
	CHECK_EQ(atomic_load(&lab_ctr.violations[VIOLATION_STALE_TABLE]), 0);
	CHECK(!lab_first_violation(NULL));
	/* Freed while the walker was inside. */
	walk_section(t, free_it);
	CHECK_EQ(atomic_load(&lab_ctr.violations[VIOLATION_STALE_TABLE]), 1);
	CHECK(lab_first_violation(&d));
	CHECK_EQ(d.kind, VIOLATION_STALE_TABLE);
	CHECK_EQ(d.table_pfn, page_to_pfn(t));
	CHECK(d.gen_now != d.gen_seen);
	/* Freed and reused as something else. */
	t = alloc_page(PAGE_TYPE_PGTABLE);
	walk_section(t, free_and_reuse);
	CHECK_EQ(atomic_load(&lab_ctr.violations[VIOLATION_STALE_TABLE]), 2);
	put_page(t);
	/* Overwritten with deposit-list links (in-table deposit). */
	t = alloc_page(PAGE_TYPE_PGTABLE);
	walk_section(t, deposit_in_table);
	CHECK_EQ(atomic_load(&lab_ctr.violations[VIOLATION_STALE_TABLE]), 3);
	/* A PTE read returned the free poison. */
	walk_section(t, read_poison);
	CHECK_EQ(atomic_load(&lab_ctr.violations[VIOLATION_STALE_TABLE]), 4);
	put_page(t);
	CHECK_EQ(atomic_load(&lab_ctr.violations[VIOLATION_STALE_PIN]), 0);
	CHECK_EQ(atomic_load(&lab_ctr.violations[VIOLATION_WRONG_PAGE]), 0);
	detect_down();
}

/* A collapse, as the detector sees it: isolation done, then @copied (if
 * any) copied away; @pin_at is 0 to note the pin before the isolation,
 * 1 after it. */
static void collapse_with_pin(struct page *pinned, int pin_at, struct page *copied)
{
	struct race_ctx c = { .nr_pages = copied ? 1 : 0, .pages = &copied };

	if (pin_at == 0)
		lab_pin_note(pinned, 1ULL << 30);
	lab_race_hook(RP_COLLAPSE_ISOLATED, &(struct race_ctx){ 0 });
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
	CHECK_EQ(atomic_load(&lab_ctr.violations[VIOLATION_STALE_PIN]), 0);
	/* Fresh: held across a collapse that did not copy this page. */
	collapse_with_pin(p2, 1, NULL);
	CHECK_EQ(atomic_load(&lab_ctr.violations[VIOLATION_STALE_PIN]), 0);
	/* Stale: held after isolation passed the page, which was copied. */
	collapse_with_pin(p3, 1, p3);
	CHECK_EQ(atomic_load(&lab_ctr.violations[VIOLATION_STALE_PIN]), 1);
	/* A later incarnation of that frame is another page. */
	put_page(p3);
	p3 = alloc_page(PAGE_TYPE_ANON);
	lab_pin_note(p3, 1ULL << 30);
	lab_pins_check(true);
	CHECK_EQ(atomic_load(&lab_ctr.violations[VIOLATION_STALE_PIN]), 1);
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
	lab_check_returned(&p, 1, a, 7);
	CHECK_EQ(atomic_load(&lab_ctr.violations[VIOLATION_WRONG_PAGE]), 0);
	lab_check_returned(&p, 1, a + PAGE_SIZE, 7);   /* another address */
	lab_check_returned(&p, 1, a, 8);               /* another mm */
	CHECK_EQ(atomic_load(&lab_ctr.violations[VIOLATION_WRONG_PAGE]), 2);
	/* A frame that is no user page at all. */
	t = alloc_page(PAGE_TYPE_PGTABLE);
	atomic_store(&t->index, a);
	lab_check_returned(&t, 1, a, 0);
	CHECK_EQ(atomic_load(&lab_ctr.violations[VIOLATION_WRONG_PAGE]), 3);
	put_page(p);
	put_page(t);
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

/* x86-pv-6.0: the paravirt flush only skips a preempted vCPU. Without the
 * preemption in the windows, every flush waits for the walkers; with it,
 * collapse-zap with no fix shows its stale table. */
TEST_T(lab_paravirt_preemption_makes_the_race, 300)
{
	struct lab_run_config cfg;
	struct lab_result r;
	bool seen = false;

	lab_run_config_default(&cfg, ptlab_profile_find("x86-pv-6.0"), (struct ptlab_fixes){ 0, 0 },
			       SCENARIO_COLLAPSE_ZAP);
	cfg.seconds = MATRIX_SECONDS;
	for (unsigned int i = 0; i < cfg.nr_windows; i++)
		cfg.windows[i].preempt = false;
	CHECK_EQ(lab_run(&cfg, &r), 0);
	CHECK_MSG(lab_total_violations(&r) == 0, "not preempted: %llu violations: %s",
		  (unsigned long long)lab_total_violations(&r), r.first.what);
	CHECK(r.cycles > 0);
	CHECK_EQ(r.leaked_frames, 0);
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

struct matrix_cell {
	const struct ptlab_profile *profile;
	struct ptlab_fixes fixes;
	enum scenario scenario;
	bool unsafe_seen;
};

/* The reduced stress matrix: every cell against the rule, then against
 * the Spin model's verdict. */
TEST_T(lab_matrix_agrees_with_rule_and_model, 1200)
{
	static struct matrix_cell cells[64 * SCENARIO_COUNT * PTLAB_FIX_SETTINGS];
	static struct ptlab_model_cell mcells[64 * SCENARIO_COUNT * PTLAB_FIX_SETTINGS];
	static struct ptlab_model_result mres[64 * SCENARIO_COUNT * PTLAB_FIX_SETTINGS];
	struct ptlab_model_options mo = { 0 };
	size_t n = 0, failures = 0;

	for (size_t p = 0; p < ptlab_profiles_count(); p++)
		for (int s = 0; s < SCENARIO_COUNT; s++)
			for (unsigned int f = 0; f < PTLAB_FIX_SETTINGS; f++)
				cells[n++] = (struct matrix_cell){ &ptlab_profiles()[p],
								   ptlab_fix_setting(f),
								   (enum scenario)s, false };
	for (size_t i = 0; i < n; i++) {
		struct ptlab_expectation e = ptlab_expect(cells[i].profile, cells[i].fixes,
							  cells[i].scenario);
		struct lab_run_config cfg;
		struct lab_result r;
		bool ok = false;

		lab_run_config_default(&cfg, cells[i].profile, cells[i].fixes, cells[i].scenario);
		cfg.seconds = MATRIX_SECONDS;
		for (int attempt = 0; attempt <= (e.unsafe ? MATRIX_RETRIES : 0) && !ok; attempt++) {
			cfg.seed = 1 + (uint64_t)attempt;
			CHECK_EQ(lab_run(&cfg, &r), 0);
			CHECK_EQ(r.leaked_frames, 0);
			for (int k = 0; k < VIOLATION_KINDS; k++)
				CHECK_MSG(!r.violations[k] || e.possible[k],
					  "%s %s %s: %s, which the rule rules out",
					  cells[i].profile->name, scenario_name(cells[i].scenario),
					  ptlab_fixes_name(cells[i].fixes),
					  violation_kind_name((enum violation_kind)k));
			ok = e.unsafe == (lab_total_violations(&r) > 0);
		}
		cells[i].unsafe_seen = lab_total_violations(&r) > 0;
		if (!ok) {
			failures++;
			fprintf(stderr, "    %s %s %s: expected %s, saw %llu violations\n",
				cells[i].profile->name, scenario_name(cells[i].scenario),
				ptlab_fixes_name(cells[i].fixes), e.unsafe ? "unsafe" : "safe",
				(unsigned long long)lab_total_violations(&r));
		}
	}
	CHECK_EQ(failures, 0);
	/* The model, on the very same cells. */
	for (size_t i = 0; i < n; i++)
		mcells[i] = (struct ptlab_model_cell){ cells[i].profile, cells[i].fixes,
						       cells[i].scenario };
	CHECK_EQ(ptlab_model_check(&mo, mcells, n, mres), 0);
	for (size_t i = 0; i < n; i++) {
		CHECK_MSG(mres[i].verdict == (cells[i].unsafe_seen ? MODEL_UNSAFE : MODEL_SAFE),
			  "%s %s %s: stress %s, model %s", cells[i].profile->name,
			  scenario_name(cells[i].scenario), ptlab_fixes_name(cells[i].fixes),
			  cells[i].unsafe_seen ? "unsafe" : "safe",
			  model_verdict_name(mres[i].verdict));
		ptlab_model_result_release(&mres[i]);
	}
}

#ifdef PTLAB_ASAN
/* In an ASan build a walker reading a freed table is reported with its
 * stack, and the lab counts the report instead of stopping. */
TEST_T(lab_asan_reports_the_walker, 300)
{
	static char out[1 << 20];
	const char *argv[] = { test_ptlab_path(), "race", "--profile", "broadcast-norcu",
			       "--scenario", "munmap", "--fixes", "none", "--seconds", "5",
			       NULL };
	int status = test_run(argv, out, sizeof(out));

	CHECK_MSG(status == 0, "exit %d:\n%s", status, out);
	CHECK(strstr(out, "ERROR: AddressSanitizer"));
	CHECK(strstr(out, "gup_fast"));
	CHECK(strstr(out, "AddressSanitizer reports of walkers reading freed tables"));
}
#endif
