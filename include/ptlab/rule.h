/* SPDX-License-Identifier: MIT */
/*
 * The rule: which violations a cell (profile x fixes x scenario) can show,
 * derived from the protocol (kernel-protocol.md section 7) and computed
 * from the profile's properties and the fix switches only. The stress
 * matrix (`ptlab matrix`) and the Spin model (`ptlab model`) both judge
 * their results against it; README.md states it in words.
 */
#ifndef PTLAB_RULE_H
#define PTLAB_RULE_H

#include <stdbool.h>
#include <stddef.h>

#include "ptlab/profile.h"

enum scenario {
	/* gup_fast walkers against collapse, plus zaps of huge mappings
	 * under the same PMD table that withdraw and pte_free() the
	 * deposited table at once. */
	SCENARIO_COLLAPSE_ZAP,
	/* gup_fast pinning and writing through the pin against collapse. */
	SCENARIO_COLLAPSE_PIN,
	/* gup_fast against munmap and free_pgtables(). */
	SCENARIO_MUNMAP,
	SCENARIO_COUNT,
};

const char *scenario_name(enum scenario s);
/* Returns 0 and sets *out, or -EINVAL for an unknown name. */
int scenario_parse(const char *name, enum scenario *out);
/* "collapse-zap, collapse-pin, munmap" */
void scenario_names(char *buf, size_t len);

/* The two fix switches, each on by default in a machine. */
struct ptlab_fixes {
	/* Commit 70cbc3cc78a99: gup_fast re-checks the PMD after taking its
	 * reference. */
	bool pmd_recheck;
	/* The seed's patch: tlb_remove_table_sync_one() in collapse after
	 * pmdp_collapse_flush(). */
	bool ipi_sync;
};

/* The four fix settings of the matrix, in order: none, pmd-recheck only,
 * ipi-sync only, both. */
#define PTLAB_FIX_SETTINGS 4
struct ptlab_fixes ptlab_fix_setting(unsigned int i);
/* "none", "pmd-recheck", "ipi-sync", "both" */
const char *ptlab_fixes_name(struct ptlab_fixes f);
/* Parses one of those names; 0 or -EINVAL. */
int ptlab_fixes_parse(const char *name, struct ptlab_fixes *out);

/* The kinds of violation the lab's detectors and the model report. */
enum violation_kind {
	VIOLATION_STALE_TABLE,
	VIOLATION_STALE_PIN,
	VIOLATION_WRONG_PAGE,
	VIOLATION_KINDS,
};
const char *violation_kind_name(enum violation_kind k);

struct ptlab_expectation {
	/* The intermediate terms of the rule, for display. */
	bool flush_waits;  /* every flush waits out interrupts-off sections */
	bool sync_works;   /* ipi_sync on and RCU table free set */
	bool held_off;     /* flush_waits || sync_works */
	/* Which kinds this cell can show. */
	bool possible[VIOLATION_KINDS];
	/* Some kind is possible: the cell is "unsafe". */
	bool unsafe;
};

struct ptlab_expectation ptlab_expect(const struct ptlab_profile *p,
				      struct ptlab_fixes fixes,
				      enum scenario s);

#endif /* PTLAB_RULE_H */
