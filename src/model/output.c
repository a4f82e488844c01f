// SPDX-License-Identifier: MIT
/*
 * Reading pan's and spin's output, strictly: a search that is not a
 * complete, exhaustive one makes the cell an error, never "safe".
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model_internal.h"


/*
 * The kind an assertion's text names, or -1, and the kind of walker whose
 * assertion it is: "!(stale_table)" is a GUP-fast walker's, an RCU
 * walker's carry the prefix rcu_ ("!(rcu_stale_lock)").
 */
static int assertion_kind(const char *line, size_t len, enum walker_kind *walker)
{
	for (int w = 0; w < WALKER_KINDS; w++)
		for (int k = 0; k < VIOLATION_KINDS; k++) {
			char needle[48];
			size_t n = (size_t)snprintf(needle, sizeof(needle), "!(%s%s)",
						    w == WALKER_RCU ? "rcu_" : "",
						    violation_kind_name((enum violation_kind)k));

			if (memmem(line, len, needle, n)) {
				*walker = (enum walker_kind)w;
				return k;
			}
		}
	return -1;
}

bool model_has_text(const char *text, const char *needle)
{
	return strstr(text, needle) != NULL;
}

/* Whether pan's output describes a complete, exhaustive search; else
 * sets the cell's error saying why the search proves nothing. */
static bool search_complete(struct cell_run *run, const char *out)
{
	static const char *const not_exhaustive[] = {
		"Bit statespace", "bitstate", "BITSTATE", "hash-compact",
		"Hash-Compact",
	};
	char line[256];

	if (model_has_text(out, "max search depth too small")) {
		model_cell_error(run, "pan's search was cut short: max search depth too "
				 "small (-m%" PRIu64 "); a truncated search proves "
				 "nothing: raise --max-depth",
				 run->o->max_depth ? run->o->max_depth : PTLAB_MODEL_DEPTH);
		return false;
	}
	if (model_has_text(out, "MEMLIM") || model_has_text(out, "out of memory")) {
		model_pick_line(out, "pan: ", line, sizeof(line));
		model_cell_error(run, "pan ran out of memory (limit %" PRIu64 " MiB): %s; "
				 "a truncated search proves nothing: raise --memory-mb",
				 run->o->memory_mb ? run->o->memory_mb : PTLAB_MODEL_MEMORY_MB,
				 line);
		return false;
	}
	for (size_t i = 0; i < sizeof(not_exhaustive) / sizeof(*not_exhaustive); i++) {
		if (model_has_text(out, not_exhaustive[i])) {
			model_cell_error(run, "pan's search was not exhaustive (%s)",
					 not_exhaustive[i]);
			return false;
		}
	}
	if (model_has_text(out, "Search not completed") || model_has_text(out, "Search incomplete")) {
		model_cell_error(run, "pan's search was not completed");
		return false;
	}
	if (!model_has_text(out, "Full statespace search")) {
		model_pick_line(out, NULL, line, sizeof(line));
		model_cell_error(run, "pan did not report a full state-space search: %s", line);
		return false;
	}
	return true;
}

/*
 * Reads the complete search: the states stored and which kinds were
 * violated. pan prints a violation's message whenever it differs from the
 * previous one, so every kind found appears at least once.
 */
bool model_read_search(struct cell_run *run, const char *out)
{
	struct ptlab_model_result *r = run->r;
	const char *p = strstr(out, "errors: ");
	uint64_t errors;
	bool any = false;

	if (!search_complete(run, out))
		return false;
	if (!p || sscanf(p, "errors: %" SCNu64, &errors) != 1) {
		model_cell_error(run, "pan's output has no error count");
		return false;
	}
	for (const char *l = out; *l; l += strcspn(l, "\n"), l += *l == '\n') {
		size_t len = strcspn(l, "\n");
		uint64_t v;
		int k, matched = 0;
		enum walker_kind w;
		/* The line's head, NUL-terminated, is what sscanf() reads:
		 * given the output itself, glibc's sscanf() measures all the
		 * rest of it on every call, and an unsafe cell's output has
		 * tens of thousands of lines (a line per violation), which
		 * made reading it quadratic (seconds a cell). The numbers it
		 * parses are at the start of their line. */
		char head[64];

		snprintf(head, sizeof(head), "%.*s", (int)len, l);
		/* sscanf() counts the number alone as a match: %n makes sure
		 * the whole "N states, stored" was there */
		if (sscanf(head, " %" SCNu64 " states, stored%n", &v, &matched) == 1 &&
		    matched)
			r->states = v;
		if (strncmp(l, "pan:", 4) != 0 || l[4] < '0' || l[4] > '9')
			continue;
		/* "pan:N: <message> (at depth D)" */
		if (memmem(l, len, "!(aba_witness)", 14) &&
		    sscanf(head, "pan:%" SCNu64 ":", &v) == 1) {
			if (!r->aba_witness)
				run->first_witness = v;
			r->aba_witness = true;
			continue;
		}
		k = assertion_kind(l, len, &w);
		if (k < 0 || !memmem(l, len, "assertion violated", 18) ||
		    sscanf(head, "pan:%" SCNu64 ":", &v) != 1) {
			model_cell_error(run, "pan found something that is not a violation "
					 "of the protocol (a fault in the model): %.*s",
					 (int)len, l);
			return false;
		}
		if (!r->found_by_walker[w][k])
			run->first_error[w][k] = v;
		r->found_by_walker[w][k] = true;
		r->found[k] = true;
		any = true;
	}
	if (!r->states) {
		model_cell_error(run, "pan's output has no state count");
		return false;
	}
	if (errors && !any && !r->aba_witness) {
		model_cell_error(run, "pan counted %" PRIu64 " errors but named none", errors);
		return false;
	}
	r->verdict = any ? MODEL_UNSAFE : MODEL_SAFE;
	return true;
}

/* Whether a search's output counts an error (a violation or the ABA
 * witness); false when it has no count (model_read_search() says why). */
bool model_found_any(const char *out)
{
	const char *p = strstr(out, "errors: ");
	uint64_t errors;

	return p && sscanf(p, "errors: %" SCNu64, &errors) == 1 && errors > 0;
}

bool model_add_step(struct ptlab_model_result *r, const char *text, size_t len)
{
	char **steps = realloc(r->steps, (r->nsteps + 1) * sizeof(*steps));

	if (!steps)
		return false;
	r->steps = steps;
	r->steps[r->nsteps] = strndup(text, len);
	if (!r->steps[r->nsteps])
		return false;
	r->nsteps++;
	return true;
}

/*
 * Reads the guided replay: its STEP lines up to the failed assertion, which
 * must be of the @want kind (-1: the ABA witness). (The replay finishes the atomic step the
 * assertion is in, so lines after it are not part of the run.)
 */
bool model_read_replay(struct cell_run *run, const char *out, enum walker_kind want_walker,
		       int want)
{
	struct ptlab_model_result *r = run->r;
	enum walker_kind walker = WALKER_GUP;
	int kind = -1;
	bool witnessed = false;

	for (const char *l = out; *l && kind < 0; l += strcspn(l, "\n"), l += *l == '\n') {
		size_t len = strcspn(l, "\n");

		if (strncmp(l, "STEP ", 5) == 0) {
			if (!model_add_step(r, l + 5, len - 5)) {
				model_cell_error(run, "out of memory");
				return false;
			}
		} else if (strncmp(l, "spin: text of failed assertion:", 31) == 0) {
			/* the ABA witness (@want -1) ends the replay too */
			if (want < 0 && memmem(l, len, "!(aba_witness)", 14)) {
				witnessed = true;
				break;
			}
			kind = assertion_kind(l, len, &walker);
		}
	}
	if (want < 0 && witnessed && r->nsteps)
		return true;
	if (want < 0) {
		model_cell_error(run, "the ABA witness did not replay (spin -t)");
		return false;
	}
	if (kind != want || walker != want_walker || !r->nsteps) {
		model_cell_error(run, "the counterexample did not replay to the %s "
				 "violation the search found (spin -t)",
				 violation_kind_name((enum violation_kind)want));
		return false;
	}
	r->kind = (enum violation_kind)kind;
	r->walker = walker;
	return true;
}
