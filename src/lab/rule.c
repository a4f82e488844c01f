// SPDX-License-Identifier: MIT
/*
 * The rule of README.md, "When is a cell unsafe": which violations each
 * cell can show, from the profile's properties and the fixes only.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "ptlab/rule.h"
#include "util/names.h"

static const char *const scenario_names_tab[SCENARIO_COUNT] = {
	[SCENARIO_COLLAPSE_ZAP] = "collapse-zap",
	[SCENARIO_COLLAPSE_PIN] = "collapse-pin",
	[SCENARIO_MUNMAP] = "munmap",
};

const char *scenario_name(enum scenario s)
{
	return (unsigned int)s < SCENARIO_COUNT ? scenario_names_tab[s] : "?";
}

int scenario_parse(const char *name, enum scenario *out)
{
	for (unsigned int i = 0; name && i < SCENARIO_COUNT; i++) {
		if (strcmp(name, scenario_names_tab[i]) == 0) {
			*out = (enum scenario)i;
			return 0;
		}
	}
	return -EINVAL;
}

static const char *scenario_name_at(size_t i)
{
	return scenario_names_tab[i];
}

void scenario_names(char *buf, size_t len)
{
	names_join(buf, len, scenario_name_at, SCENARIO_COUNT);
}

static const struct {
	const char *name;
	struct ptlab_fixes fixes;
} fix_settings[PTLAB_FIX_SETTINGS] = {
	{ "none", { .pmd_recheck = false, .ipi_sync = false } },
	{ "pmd-recheck", { .pmd_recheck = true, .ipi_sync = false } },
	{ "ipi-sync", { .pmd_recheck = false, .ipi_sync = true } },
	{ "both", { .pmd_recheck = true, .ipi_sync = true } },
};

struct ptlab_fixes ptlab_fix_setting(unsigned int i)
{
	return fix_settings[i % PTLAB_FIX_SETTINGS].fixes;
}

const char *ptlab_fixes_name(struct ptlab_fixes f)
{
	return fix_settings[(f.pmd_recheck ? 1 : 0) + (f.ipi_sync ? 2 : 0)].name;
}

int ptlab_fixes_parse(const char *name, struct ptlab_fixes *out)
{
	for (unsigned int i = 0; name && i < PTLAB_FIX_SETTINGS; i++) {
		if (strcmp(name, fix_settings[i].name) == 0) {
			*out = fix_settings[i].fixes;
			return 0;
		}
	}
	return -EINVAL;
}

const char *violation_kind_name(enum violation_kind k)
{
	switch (k) {
	case VIOLATION_STALE_TABLE:
		return "stale_table";
	case VIOLATION_STALE_PIN:
		return "stale_pin";
	case VIOLATION_WRONG_PAGE:
		return "wrong_page";
	case VIOLATION_KINDS:
		break;
	}
	return "?";
}

/*
 * A walker is "held off" when, after collapse clears the PMD, somebody
 * waited until no CPU that could have read the old PMD is still inside its
 * interrupts-off section: either the TLB flush itself (an IPI flush that
 * waits for each target) or the seed's tlb_remove_table_sync_one(), which
 * only sends IPIs when RCU table free is selected.
 */
struct ptlab_expectation ptlab_expect(const struct ptlab_profile *p,
				      struct ptlab_fixes fixes,
				      enum scenario s)
{
	struct ptlab_expectation e = { 0 };
	bool collapses = s == SCENARIO_COLLAPSE_ZAP || s == SCENARIO_COLLAPSE_PIN;

	if (!p)
		return e;
	e.flush_waits = profile_flush_waits(p);
	e.sync_works = fixes.ipi_sync && p->rcu_table_free;
	e.held_off = e.flush_waits || e.sync_works;

	switch (s) {
	case SCENARIO_COLLAPSE_ZAP:
		/* A walker that read the PMD before collapse cleared it can
		 * still be inside when a zap elsewhere under the same PMD
		 * table withdraws the deposited table and pte_free()s it. */
		e.possible[VIOLATION_STALE_TABLE] = !e.held_off;
		break;
	case SCENARIO_COLLAPSE_PIN:
		/* No table is freed; only an in-table deposit overwrites
		 * the table the walker is reading. */
		e.possible[VIOLATION_STALE_TABLE] =
			!e.held_off && p->deposit == DEPOSIT_IN_TABLE;
		break;
	case SCENARIO_MUNMAP:
		/* free_pgtables(): the table outlives the walker if it is
		 * freed after a grace period or after a flush that waited. */
		e.possible[VIOLATION_STALE_TABLE] =
			!p->rcu_table_free && !e.flush_waits;
		break;
	case SCENARIO_COUNT:
		break;
	}
	/* Collapse's isolation saw no extra reference, the walker then took
	 * one: only the PMD re-check (or being held off) stops it. */
	e.possible[VIOLATION_STALE_PIN] =
		collapses && !e.held_off && !fixes.pmd_recheck;
	/*
	 * A reference on a page never mapped there needs an entry that still
	 * decodes as a present user page: a stale table whose frame was freed
	 * and handed out again (its data can read as anything), which the
	 * zap and munmap free. An in-table deposit alone does not do it: its
	 * links are kernel addresses that no walker takes a reference from
	 * (on radix, present without _PAGE_READ), so in collapse-pin a stale
	 * table stays a stale table.
	 */
	e.possible[VIOLATION_WRONG_PAGE] = e.possible[VIOLATION_STALE_TABLE] &&
					   (s == SCENARIO_COLLAPSE_ZAP || s == SCENARIO_MUNMAP);

	for (int k = 0; k < VIOLATION_KINDS; k++)
		e.unsafe |= e.possible[k];
	return e;
}
