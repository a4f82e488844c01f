// SPDX-License-Identifier: MIT
/*
 * The quick tier's sample of the matrix (sample.h), and the test that it
 * still asks every question: each scenario and generation has cells the
 * rule calls unsafe and cells it calls safe, and each kind of walker is
 * both shown to fail and shown not to.
 */
#include <string.h>

#include "harness.h"
#include "ptlab/rule.h"
#include "sample.h"

/*
 * arm64: a broadcast TLB flush with RCU table free, where only the fixes
 * stand between a walker and the races of collapse and of the hugetlb
 * unshare; x86-nopv-6.0: an IPI flush without RCU table free, where
 * pt-reclaim's RCU walkers, which the flush does not hold off, lock freed
 * tables; broadcast-norcu, the negative control: nothing waits for a
 * walker, and munmap frees tables under one even with both fixes. No
 * fix and both fixes: the verdicts the fixes change.
 */
static const char *const profiles[] = { "arm64", "x86-nopv-6.0", "broadcast-norcu" };
static const unsigned int fix_settings[] = { 0, PTLAB_FIX_SETTINGS - 1 };

bool sample_profile(const struct ptlab_profile *p)
{
	for (size_t i = 0; i < sizeof(profiles) / sizeof(profiles[0]); i++)
		if (!strcmp(p->name, profiles[i]))
			return true;
	return false;
}

bool sample_fix_setting(unsigned int f)
{
	for (size_t i = 0; i < sizeof(fix_settings) / sizeof(fix_settings[0]); i++)
		if (f == fix_settings[i])
			return true;
	return false;
}

TEST(sample_asks_every_question)
{
	/* [scenario][generation][unsafe], [walker kind][unsafe] */
	bool seen[SCENARIO_COUNT][COLLAPSE_TABLE_COUNT][2], walker[WALKER_KINDS][2];
	size_t profiles_in = 0;

	memset(seen, 0, sizeof(seen));
	memset(walker, 0, sizeof(walker));
	for (size_t p = 0; p < ptlab_profiles_count(); p++) {
		const struct ptlab_profile *prof = &ptlab_profiles()[p];

		if (!sample_profile(prof))
			continue;
		profiles_in++;
		for (unsigned int f = 0; f < PTLAB_FIX_SETTINGS; f++)
			for (int s = 0; s < SCENARIO_COUNT && sample_fix_setting(f); s++)
				for (int ct = 0; ct < COLLAPSE_TABLE_COUNT; ct++) {
					struct ptlab_cell c = ptlab_cell_default(
						prof, ptlab_fix_setting(f), (enum scenario)s);
					struct ptlab_expectation e;

					c.kernel.collapse_table = (enum collapse_table)ct;
					e = ptlab_expect_cell(&c);
					seen[s][ct][e.unsafe] = true;
					for (int w = 0; w < WALKER_KINDS; w++) {
						bool unsafe = false;

						if (!(c.walkers & WALKER_MASK(w)))
							continue;
						for (int k = 0; k < VIOLATION_KINDS; k++)
							unsafe |= e.by_walker[w][k];
						walker[w][unsafe] = true;
					}
				}
	}
	CHECK_EQ(profiles_in, sizeof(profiles) / sizeof(profiles[0]));
	for (int s = 0; s < SCENARIO_COUNT; s++)
		for (int ct = 0; ct < COLLAPSE_TABLE_COUNT; ct++) {
			if (ct != COLLAPSE_TABLE_REUSE && s != SCENARIO_COLLAPSE_ZAP &&
			    s != SCENARIO_COLLAPSE_PIN)
				continue;
			CHECK_MSG(seen[s][ct][true] && seen[s][ct][false],
				  "%s with %s tables: the sample has no %s cell",
				  scenario_name((enum scenario)s),
				  collapse_table_name((enum collapse_table)ct),
				  seen[s][ct][true] ? "safe" : "unsafe");
		}
	for (int w = 0; w < WALKER_KINDS; w++)
		CHECK_MSG(walker[w][true] && walker[w][false], "%s walkers: the sample has no %s cell",
			  walker_kind_name((enum walker_kind)w), walker[w][true] ? "safe" : "unsafe");
}
