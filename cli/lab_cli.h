/* SPDX-License-Identifier: MIT */
/* What `ptlab race` and `ptlab matrix` share: option values and output. */
#ifndef PTLAB_CLI_LAB_CLI_H
#define PTLAB_CLI_LAB_CLI_H

#include <stdbool.h>
#include <stdio.h>

#include <getopt.h>

#include "ptlab/lab.h"
#include "ptlab/model.h"
#include "ptlab/page.h"
#include "util/json.h"

/* Budget and walker limits of the lab's commands. */
#define LAB_CLI_MAX_SECONDS 3600.0
#define LAB_CLI_MAX_OPS 1000000000000ULL

/*
 * --drop-barrier NAME[,NAME] of race and matrix: the barriers the stress
 * lab leaves out (BARRIER_BIT()s into *@mask, added to what it holds);
 * prints the error and returns false on a malformed list, a name that is
 * not a barrier, or one the lab cannot drop (with why, and the model's
 * option for it).
 */
bool lab_cli_drop_barriers(const char *list, unsigned int *mask);
#define LAB_CLI_DROP_BARRIER_HELP                                                        \
	"leave out these barriers: walker-mark-mb, sync-scan-mb (those this host can "  \
	"show, see ptlab model --list-barriers); the rule assumes every barrier, so "   \
	"such a cell is reported, not judged"

/* Parses a comma-separated list of profile names into @out (indexes into
 * ptlab_profiles()); prints the error and returns false on a bad name. */
bool lab_cli_profiles(const char *list, bool out[], size_t n);
bool lab_cli_scenarios(const char *list, bool out[SCENARIO_COUNT]);
bool lab_cli_fixes(const char *list, bool out[PTLAB_FIX_SETTINGS]);

/*
 * The kernel generation and walker options `ptlab race`, `ptlab matrix`
 * and `ptlab model` share: --walkers LIST, --collapse-table NAME[,...],
 * --retract NAME[,...], --rcu-everywhere, --unshare-sync NAME, --sync.
 * Filled by lab_cli_kernel_parse(); zero-initialised means the defaults.
 */
struct lab_cli_kernel {
	unsigned int walkers;                     /* 0: each scenario's own */
	bool collapse_table[COLLAPSE_TABLE_COUNT]; /* none set: reuse */
	bool retract[RETRACT_COUNT];               /* none set: free */
	bool rcu_everywhere;
	bool unshare_sync_set;
	enum unshare_sync unshare_sync;
	/* --sync: the policies asked for (none set: none and all) */
	bool sync[SYNC_POLICIES];
	bool sync_set;
};
/* The most fix settings --fixes and --sync can make: the two without the
 * sync, and the two with it for each other policy. */
#define LAB_CLI_MAX_FIX_SETTINGS (2 + 2 * (SYNC_POLICIES - 1))
/* The options' values and table entries, for each command's option
 * table (LAB_CLI_KERNEL_OPTIONS before CLI_OPTIONS_END). */
enum {
	LAB_CLI_OPT_WALKERS = 0x4000,
	LAB_CLI_OPT_COLLAPSE_TABLE,
	LAB_CLI_OPT_RCU_EVERYWHERE,
	LAB_CLI_OPT_UNSHARE_SYNC,
	LAB_CLI_OPT_SYNC,
	LAB_CLI_OPT_RETRACT,
};
#define LAB_CLI_KERNEL_OPTIONS                                                          \
	{ "walkers", LAB_CLI_OPT_WALKERS, "LIST",                                       \
	  "walker kinds: gup, rcu or gup,rcu; a cell runs those its scenario allows "  \
	  "(rcu: pt-reclaim and retract/defer only; default each scenario's own)" },   \
	{ "collapse-table", LAB_CLI_OPT_COLLAPSE_TABLE, "LIST",                         \
	  "collapse-table generations: reuse, zap-rcu, fresh; the collapse scenarios " \
	  "run once per generation (default reuse)" },                                 \
	{ "retract", LAB_CLI_OPT_RETRACT, "LIST",                                       \
	  "retract generations: free, defer; retract runs once per generation "        \
	  "(default free)" },                                                          \
	{ "rcu-everywhere", LAB_CLI_OPT_RCU_EVERYWHERE, NULL,                           \
	  "every user table freed after a grace period" },                             \
	{ "unshare-sync", LAB_CLI_OPT_UNSHARE_SYNC, "G",                                \
	  "hugetlb unshare sync: none, per-unshare or gather (default: gather with "   \
	  "ipi-sync, none without)" },                                                 \
	{ "sync", LAB_CLI_OPT_SYNC, "LIST",                                             \
	  "sync policies: none, all, skip-if-flush-ipi, skip-naive, walkers, "         \
	  "mm-cpumask, or all-policies; the ipi-sync and both settings run once per "  \
	  "policy but none (default none,all)" }

static inline bool lab_cli_kernel_option(int opt)
{
	return opt >= LAB_CLI_OPT_WALKERS && opt <= LAB_CLI_OPT_RETRACT;
}

/* Parses kernel option @opt's value (NULL for --rcu-everywhere) into @k;
 * false after printing the error. @list allows a list of collapse-table
 * and retract generations and of sync policies (with "all-policies"). */
bool lab_cli_kernel_parse(int opt, const char *value, bool list, struct lab_cli_kernel *k);
/*
 * The fix settings of the classic ones selected in @fix (none,
 * pmd-recheck, ipi-sync, both) and the --sync policies of @k: each setting
 * without the sync is kept when "none" is asked for (or no --sync), each
 * with it is made once per other policy asked for (all, without --sync).
 * Returns how many (at most LAB_CLI_MAX_FIX_SETTINGS).
 */
size_t lab_cli_fix_settings(const bool fix[PTLAB_FIX_SETTINGS], const struct lab_cli_kernel *k,
			    struct ptlab_fixes out[LAB_CLI_MAX_FIX_SETTINGS]);

/* The generations no option named take their defaults: reuse, free. */
void lab_cli_default_generations(struct lab_cli_kernel *k);
/* Whether scenario @s can run the walker kinds of @k in retract
 * generation @rg; false after printing the error. */
bool lab_cli_walkers_ok(const struct lab_cli_kernel *k, enum scenario s, enum retract_gen rg);
/* Applies @k to @cfg, with collapse-table generation @ct and retract
 * generation @rg; without --walkers, the scenario's walker kinds in that
 * generation. */
void lab_cli_kernel_apply(struct lab_run_config *cfg, const struct lab_cli_kernel *k,
			  enum collapse_table ct, enum retract_gen rg);
/* Whether the cell of scenario @s in generations @ct and @rg is one that
 * @k asks for: the collapse scenarios once per collapse-table generation
 * asked for, retract once per retract generation, the others once (in
 * the defaults). */
bool lab_cli_generation_wanted(const struct lab_cli_kernel *k, enum scenario s,
			       enum collapse_table ct, enum retract_gen rg);
/* The scenario with its generation where the scenario has more than one
 * and it is not the default ("collapse-zap/fresh", "retract/defer"). */
void lab_cli_scenario_words(enum scenario s, struct ptlab_kernel k, char *buf, size_t len);

/* The kinds of @kinds for the walker kinds of @walkers, "gup:
 * stale_table, wrong_page; rcu: -", or the kinds alone ("-" for none)
 * when @walkers is one kind. */
void lab_cli_kinds_text(unsigned int walkers, const bool kinds[WALKER_KINDS][VIOLATION_KINDS],
			char *buf, size_t len);
/* Writes the per-kind counts as "stale_table=N stale_pin=N wrong_page=N". */
void lab_cli_print_counts(FILE *f, const struct lab_result *r);
/* The first violation in words. */
void lab_cli_print_detail(FILE *f, const struct lab_violation_detail *d);
/* The evidence (overlaps and their defence) and the scenario's failed
 * steps, in words. */
void lab_cli_print_evidence(FILE *f, const struct lab_result *r);
/* The cell fields shared by both commands' JSON. */
void lab_cli_json_result(struct json *j, const struct lab_run_config *cfg,
			 const struct lab_result *r);
/* @kinds as an array of names under @key. */
/* @key: what @print writes for @arg, as one string: a cell's lines as the
 * command prints them, kept in its document for the report. */
void lab_cli_json_printed(struct json *j, const char *key, void (*print)(FILE *, const void *),
			  const void *arg);
void lab_cli_json_kinds(struct json *j, const char *key, const bool kinds[VIOLATION_KINDS]);
/* {"gup": [...], "rcu": [...]} under @key for the walker kinds of
 * @walkers. */
void lab_cli_json_kinds_by_walker(struct json *j, const char *key, unsigned int walkers,
				  const bool kinds[WALKER_KINDS][VIOLATION_KINDS]);
/* A cell's "memory" (the model's memory model, or the host's for the
 * lab) and "dropped_barriers" (the names of the BARRIER_BIT()s of
 * @dropped), as members of the object being written. */
void lab_cli_json_memory(struct json *j, enum memory_model m, unsigned int dropped);

/* What the model found for @c, as members of the object being written:
 * model_verdict, states, seconds, violation and violation_walker (of the
 * counterexample), violations, violations_by_walker, counterexample, and
 * error when it gave no verdict. */
void lab_cli_json_model(struct json *j, const struct ptlab_cell *c,
			const struct ptlab_model_result *r);
/* Parses a trace window "BEFORE[:AFTER]" in ms into @cfg (prints the
 * error and returns false on a bad one). */
bool lab_cli_trace_window(const char *spec, struct lab_run_config *cfg);
/* The rule's expectation and the verdict. */
void lab_cli_json_verdict(struct json *j, const struct ptlab_expectation *e,
			  enum lab_verdict v, const char *why, uint64_t min_overlaps);

#endif /* PTLAB_CLI_LAB_CLI_H */
