// SPDX-License-Identifier: MIT
/*
 * A run's verdict against the rule: what `ptlab race` and `ptlab matrix`
 * print and exit by. A "safe" verdict is a claim of evidence: it needs
 * defended overlaps, not only the absence of violations.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "ptlab/lab.h"

const char *lab_verdict_name(enum lab_verdict v)
{
	switch (v) {
	case LAB_PASS:
		return "pass";
	case LAB_FAIL:
		return "fail";
	case LAB_INCONCLUSIVE:
		return "inconclusive";
	case LAB_UNJUDGED:
		return "not judged";
	}
	return "?";
}

const char *lab_defence_name(enum lab_defence d)
{
	switch (d) {
	case LAB_HELD_OFF_FLUSH:
		return "flush";
	case LAB_HELD_OFF_SYNC:
		return "sync";
	case LAB_HELD_OFF_GRACE_PERIOD:
		return "grace_period";
	case LAB_RECHECK_CAUGHT:
		return "recheck_caught";
	case LAB_ISOLATION_REFUSED:
		return "isolation_refused";
	case LAB_UNDEFENDED:
		return "undefended";
	case LAB_DEFENCES:
		break;
	}
	return "?";
}

const char *lab_failure_name(enum lab_failure_kind k)
{
	switch (k) {
	case LAB_FAIL_USER_WRITE:
		return "user_write";
	case LAB_FAIL_MMAP:
		return "mmap";
	case LAB_FAIL_MUNMAP:
		return "munmap";
	case LAB_FAIL_SPLIT:
		return "split";
	case LAB_FAIL_THP_FALLBACK:
		return "thp_fallback";
	case LAB_FAILURE_KINDS:
		break;
	}
	return "?";
}

__attribute__((format(printf, 4, 5)))
static enum lab_verdict why_not(enum lab_verdict v, char *why, size_t len, const char *fmt, ...)
{
	va_list ap;

	if (why && len) {
		va_start(ap, fmt);
		vsnprintf(why, len, fmt, ap);
		va_end(ap);
	}
	return v;
}

enum lab_verdict lab_judge(const struct lab_run_config *cfg, const struct lab_result *r,
			   int run_error, const struct ptlab_expectation *e,
			   uint64_t min_defended, char *why, size_t why_len)
{
	uint64_t total = lab_total_violations(r);

	if (why && why_len)
		why[0] = '\0';
	if (run_error)
		return why_not(LAB_FAIL, why, why_len, "the run failed: %s", strerror(-run_error));
	if (r->leaked_frames)
		return why_not(LAB_FAIL, why, why_len, "%llu frames leaked",
			       (unsigned long long)r->leaked_frames);
	if (r->table_mismatches)
		return why_not(LAB_FAIL, why, why_len, "the tables disagree with the counters: %s",
			       r->table_check);
	if (r->table_referenced)
		return why_not(LAB_FAIL, why, why_len, "%llu pages still pinned after the run: %s",
			       (unsigned long long)r->table_referenced, r->table_check);
	if ((cfg->scenario == SCENARIO_COLLAPSE_ZAP || cfg->scenario == SCENARIO_COLLAPSE_PIN) &&
	    !r->collapses)
		return why_not(LAB_FAIL, why, why_len, "no collapse succeeded");
	if (cfg->scenario == SCENARIO_COLLAPSE_ZAP && !r->zap_table_frees)
		return why_not(LAB_FAIL, why, why_len, "no zap freed a deposited table");
	if (cfg->scenario == SCENARIO_MUNMAP && !r->unlinks)
		return why_not(LAB_FAIL, why, why_len, "munmap unlinked no page table");
	if (cfg->scenario == SCENARIO_PT_RECLAIM && !r->unlinks)
		return why_not(LAB_FAIL, why, why_len, "MADV_DONTNEED reclaimed no page table");
	if (cfg->scenario == SCENARIO_HUGETLB_UNSHARE && !r->unlinks)
		return why_not(LAB_FAIL, why, why_len, "no hugetlb PMD table was unshared");
	if (cfg->scenario == SCENARIO_MUNMAP_PMD && !r->pmd_table_unlinks)
		return why_not(LAB_FAIL, why, why_len, "munmap freed no PMD table");
	if (cfg->scenario == SCENARIO_RETRACT && !r->unlinks)
		return why_not(LAB_FAIL, why, why_len, "no PTE table of the file THP was retracted");
	if (cfg->scenario == SCENARIO_MREMAP && cfg->profile.move_pmd && !r->table_moves)
		return why_not(LAB_FAIL, why, why_len, "mremap moved no page table whole");
	if (cfg->scenario == SCENARIO_MREMAP && !r->unlinks)
		return why_not(LAB_FAIL, why, why_len,
			       "no unmap of mremap's destination freed a page table");
	/* The rule assumes every barrier: with some dropped, a sound run is
	 * reported as it is. */
	if (cfg->dropped_barriers) {
		char names[128];

		barrier_list_format(cfg->dropped_barriers, names, sizeof(names));
		return why_not(LAB_UNJUDGED, why, why_len,
			       "barriers dropped (%s), which the rule assumes: %llu violations, "
			       "%llu defended overlaps",
			       names, (unsigned long long)total,
			       (unsigned long long)r->evidence.defended);
	}
	for (int w = 0; w < WALKER_KINDS; w++) {
		const char *wn = walker_kind_name((enum walker_kind)w);
		uint64_t seen = 0;
		bool unsafe = false;

		if (!(cfg->walker_kinds & WALKER_MASK(w)))
			continue;
		for (int k = 0; k < VIOLATION_KINDS; k++) {
			if (r->violations_by_walker[w][k] && !e->by_walker[w][k])
				return why_not(LAB_FAIL, why, why_len,
					       "%s walkers showed %s, which the rule rules out for them",
					       wn, violation_kind_name((enum violation_kind)k));
			seen += r->violations_by_walker[w][k];
			unsafe |= e->by_walker[w][k];
		}
		if (unsafe && !seen)
			return why_not(LAB_FAIL, why, why_len,
				       "unsafe by the rule for %s walkers, but they showed no "
				       "violation", wn);
	}
	/* Violations outside any walker's section (none today) count too. */
	for (int k = 0; k < VIOLATION_KINDS; k++)
		if (r->violations[k] && !e->possible[k])
			return why_not(LAB_FAIL, why, why_len, "%s, which the rule rules out",
				       violation_kind_name((enum violation_kind)k));
	if (e->unsafe && !total)
		return why_not(LAB_FAIL, why, why_len,
			       "unsafe by the rule, but no violation was seen");
	/* Lost writes and reads of freed tables are the harm an unsafe
	 * walker does; in a safe cell they are failures. */
	if (!e->unsafe && r->lost_writes)
		return why_not(LAB_FAIL, why, why_len, "%llu writes through pins were lost",
			       (unsigned long long)r->lost_writes);
	if (!e->unsafe && r->asan_reports)
		return why_not(LAB_FAIL, why, why_len, "%llu AddressSanitizer reports",
			       (unsigned long long)r->asan_reports);
	/* Each walker kind the rule calls safe needs its own evidence. */
	for (int w = 0; w < WALKER_KINDS; w++) {
		bool unsafe = false;

		if (!(cfg->walker_kinds & WALKER_MASK(w)))
			continue;
		for (int k = 0; k < VIOLATION_KINDS; k++)
			unsafe |= e->by_walker[w][k];
		if (!unsafe && r->evidence.defended_by_walker[w] < min_defended)
			return why_not(LAB_INCONCLUSIVE, why, why_len,
				       "only %llu defended overlaps of %s walkers (at least %llu "
				       "needed): %s",
				       (unsigned long long)r->evidence.defended_by_walker[w],
				       walker_kind_name((enum walker_kind)w),
				       (unsigned long long)min_defended,
				       r->evidence.dropped_events || r->evidence.lost_events
					       ? "the evidence was cut (events dropped by its cap "
						 "or overwritten before they were read)"
					       : "the run did not put the protocol to the test");
	}
	return LAB_PASS;
}
