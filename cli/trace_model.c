// SPDX-License-Identifier: MIT
/*
 * A model counterexample as trace events (trace_json_from_model()): one
 * track per actor, one step per microsecond.
 */
#include <ctype.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "trace_events.h"
#include "trace_json.h"

#define MODEL_TRACKS 32

/* What a model process holds across steps, drawn as a slice from the
 * step that begins it to the one that ends it. */
struct model_span {
	const char *begin, *end; /* text of the steps that begin and end it */
	const char *name, *cat;
};

static const struct model_span spans[] = {
	{ "disables interrupts", "enables interrupts", "interrupts off", "irqs-off" },
	{ "takes mmap_lock", "releases mmap_lock", "mmap_lock held", "lock" },
	{ "enters rcu_read_lock()", "leaves rcu_read_lock()", "RCU read-side section",
	  "rcu-section" },
	{ "takes the lock of ", "unlocks ", "PTE lock held", "ptl" },
};
#define MODEL_SPANS (sizeof(spans) / sizeof(spans[0]))

struct model_writer {
	json_t *events;
	char actor[MODEL_TRACKS][32];
	int nactors;
	/* Per track: where each of its spans began (-1: not open). */
	int open[MODEL_TRACKS][MODEL_SPANS];
	/* The step of each actor's last IPI-sending wait (-1). */
	int ipi_from[MODEL_TRACKS];
	int flows;
	/* The violation's actor and table, and the first step that took the
	 * table from it (freed, reused, overwritten or handed over; -1):
	 * the actor's reads and locks of the table after it are stale. */
	char v_actor[32], v_table[16];
	int harm;
};

static bool starts_with(const char *s, const char *p)
{
	return strncmp(s, p, strlen(p)) == 0;
}

/* The actor of a step: "cpuN" when one of its first three words names a
 * CPU ("walker cpu2 reads", "RCU walker cpu3 takes", "caller of cpu2
 * writes", "cpu1 takes the IPI"), the page allocator for "T1 reused",
 * else its first word, or its first two for a possessive ("munmap's
 * call_rcu", "A's munmap"). */
static void step_actor(const char *step, char *buf, size_t len)
{
	const char *p = step;

	for (int word = 0; word < 3 && *p; word++) {
		size_t n = strcspn(p, " ");

		if (n > 3 && starts_with(p, "cpu") && isdigit((unsigned char)p[3])) {
			snprintf(buf, len, "%.*s", (int)strspn(p + 3, "0123456789") + 3, p);
			return;
		}
		p += n;
		p += strspn(p, " ");
	}
	if (step[0] == 'T' && isdigit((unsigned char)step[1])) {
		snprintf(buf, len, "page allocator");
		return;
	}
	p = step + strcspn(step, " :");
	if (p - step > 2 && starts_with(p - 2, "'s") && *p == ' ')
		p += 1 + strcspn(p + 1, " :");
	snprintf(buf, len, "%.*s", (int)(p - step), step);
}

static int actor_track(struct model_writer *w, const char *actor)
{
	for (int i = 0; i < w->nactors; i++)
		if (strcmp(w->actor[i], actor) == 0)
			return i;
	if (w->nactors == MODEL_TRACKS)
		return MODEL_TRACKS - 1;
	snprintf(w->actor[w->nactors], sizeof(w->actor[0]), "%s", actor);
	for (size_t k = 0; k < MODEL_SPANS; k++)
		w->open[w->nactors][k] = -1;
	w->ipi_from[w->nactors] = -1;
	return w->nactors++;
}

/* The kernel function a step names: an identifier with an underscore,
 * in parentheses ("(pmdp_collapse_flush)", "(gup_fast: local_irq_save)")
 * or followed by "()". */
static bool step_function(const char *step, char *buf, size_t len)
{
	for (const char *p = step; *p; p++) {
		size_t n;

		if (!(isalpha((unsigned char)*p) || *p == '_') ||
		    (p > step && (isalnum((unsigned char)p[-1]) || p[-1] == '_')))
			continue;
		n = strspn(p, "abcdefghijklmnopqrstuvwxyz0123456789_");
		if (memchr(p, '_', n) && ((p > step && p[-1] == '(') || starts_with(p + n, "()"))) {
			snprintf(buf, len, "%.*s", (int)n, p);
			return true;
		}
	}
	return false;
}

/* The first table a step names: "T1", or S, hugetlb-unshare's shared
 * PMD table (a word of its own). */
static bool step_table(const char *step, char *buf, size_t len)
{
	for (const char *p = step; *p; p++) {
		if (p > step && p[-1] != ' ')
			continue;
		if (*p == 'T' && isdigit((unsigned char)p[1])) {
			snprintf(buf, len, "T%.*s", (int)strspn(p + 1, "0123456789"), p + 1);
			return true;
		}
		if (*p == 'S' && (!p[1] || strchr(" :,'", p[1]))) {
			snprintf(buf, len, "S");
			return true;
		}
	}
	return false;
}

static void model_slice(struct model_writer *w, int track, int from, int to, const char *name,
			const char *cat)
{
	json_t *e = trace_event("X", name, cat, from, track);

	json_object_set_new(e, "dur", json_real(to - from));
	json_object_set_new(e, "args", json_object());
	trace_add(w->events, e);
}

static const char *step_category(const char *text, bool violation)
{
	if (violation)
		return "violation";
	if (strstr(text, "drops the i_mmap lock: ") && strstr(text, "alone now"))
		return "handover";
	if (strstr(text, "through call_rcu") || strstr(text, "grace period"))
		return "rcu";
	if (strstr(text, "frees") || strstr(text, "freed"))
		return "free";
	if (strstr(text, "reused"))
		return "reuse";
	if (strstr(text, "links written"))
		return "overwrite";
	if (strstr(text, "clears PMD") || strstr(text, "clears huge PMD") ||
	    strstr(text, "unshares S: clears"))
		return "clear";
	if (strstr(text, " reads ") || strstr(text, "takes the lock of "))
		return "read";
	if (strstr(text, "IPI"))
		return "ipi";
	return "step";
}

/* A step's text without its "VIOLATION kind: " head. */
static const char *step_text(const char *step, bool *violation)
{
	*violation = starts_with(step, "VIOLATION ");
	return *violation ? step + strcspn(step, ":") + (strchr(step, ':') ? 2 : 0) : step;
}

/* The violation's actor and table, and the step that harmed the table. */
static void find_model_violation(struct model_writer *w, const char *const *steps, size_t n)
{
	bool violation;
	const char *text;
	char table[16];

	w->harm = -1;
	for (size_t i = n; i-- > 0;) {
		text = step_text(steps[i], &violation);
		if (!violation)
			continue;
		step_actor(text, w->v_actor, sizeof(w->v_actor));
		if (!step_table(text, w->v_table, sizeof(w->v_table)))
			return;
		for (size_t k = 0; k < i; k++) {
			const char *cat = step_category(step_text(steps[k], &violation), false);

			if (step_table(steps[k], table, sizeof(table)) &&
			    !strcmp(table, w->v_table) &&
			    (!strcmp(cat, "free") || !strcmp(cat, "reuse") ||
			     !strcmp(cat, "overwrite") || !strcmp(cat, "handover"))) {
				w->harm = (int)k;
				return;
			}
		}
		return;
	}
}

static void model_step(struct model_writer *w, int i, const char *step)
{
	bool violation;
	const char *text = step_text(step, &violation), *cat = step_category(text, violation);
	char actor[32], buf[64];
	bool has_table;
	int tr;
	json_t *e, *args = json_object();

	step_actor(text, actor, sizeof(actor));
	tr = actor_track(w, actor);
	for (size_t k = 0; k < MODEL_SPANS; k++)
		if (strstr(text, spans[k].begin))
			w->open[tr][k] = i;
	has_table = step_table(text, buf, sizeof(buf));
	if (!strcmp(cat, "read") && w->harm >= 0 && i > w->harm && has_table &&
	    !strcmp(buf, w->v_table) && !strcmp(actor, w->v_actor))
		cat = "stale-read";
	e = trace_event("X", step, cat, i, tr);
	json_object_set_new(e, "dur", json_real(1));
	json_object_set_new(args, "step", json_integer(i + 1));
	if (has_table)
		json_object_set_new(args, "table", json_string(buf));
	if (step_function(text, buf, sizeof(buf)))
		json_object_set_new(args, "function", json_string(buf));
	json_object_set_new(e, "args", args);
	trace_add(w->events, e);
	/* An IPI the actor sent and a CPU takes: a flow. */
	if (strstr(text, " IPI") && !starts_with(text, "cpu"))
		w->ipi_from[tr] = i;
	if (starts_with(text, "cpu") && strstr(text, "takes the IPI of ")) {
		char from[32];
		int ft;

		step_actor(strstr(text, "takes the IPI of ") + 17, from, sizeof(from));
		ft = actor_track(w, from);
		if (w->ipi_from[ft] >= 0) {
			json_t *s = trace_event("s", "IPI", "ipi", w->ipi_from[ft] + 0.5, ft);
			json_t *f = trace_event("f", "IPI", "ipi", i + 0.5, tr);

			json_object_set_new(s, "id", json_integer(++w->flows));
			json_object_set_new(f, "id", json_integer(w->flows));
			json_object_set_new(f, "bp", json_string("e"));
			trace_add(w->events, s);
			trace_add(w->events, f);
		}
	}
	for (size_t k = 0; k < MODEL_SPANS; k++)
		if (strstr(text, spans[k].end) && w->open[tr][k] >= 0) {
			model_slice(w, tr, w->open[tr][k], i + 1, spans[k].name, spans[k].cat);
			w->open[tr][k] = -1;
		}
}

json_t *trace_json_from_model(const char *title, const char *const *steps, size_t n)
{
	struct model_writer *w = calloc(1, sizeof(*w));
	json_t *doc;

	if (!w)
		return NULL;
	w->events = json_array();
	find_model_violation(w, steps, n);
	for (size_t i = 0; i < n; i++)
		model_step(w, (int)i, steps[i]);
	for (int t = 0; t < w->nactors; t++) {
		/* Still open when the violation ended the run. */
		for (size_t k = 0; k < MODEL_SPANS; k++)
			if (w->open[t][k] >= 0)
				model_slice(w, t, w->open[t][k], (int)n, spans[k].name, spans[k].cat);
		trace_add_track(w->events, t, w->actor[t], t);
	}
	doc = trace_document(w->events, title,
			     json_pack("{s:s, s:s, s:i}", "source", "model", "time_unit",
				       "one step per microsecond", "steps", (int)n));
	free(w);
	return doc;
}
