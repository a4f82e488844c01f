// SPDX-License-Identifier: MIT
/*
 * The report's bounded timelines (report_timeline.h). Which events stay:
 * the violation and the stale reads first, then what explains them (the
 * slices that span the violation, such as the walker's interrupts-off
 * section; the events on a table a stale read touched: its clear, free
 * and reuse; the nearest event of each kind, so that every kind the
 * trace has is drawn), then the rest by their distance in time from the
 * violation. An IPI's flow stays only with both of its ends.
 */
#include <math.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "report_timeline.h"

int page_strings_init(struct page_strings *s)
{
	s->index = json_object();
	s->list = json_array();
	if (!s->index || !s->list || json_array_append_new(s->list, json_string(""))) {
		page_strings_release(s);
		return -1;
	}
	return 0;
}

json_int_t page_string(struct page_strings *s, const char *text)
{
	json_t *known;
	json_int_t n;

	if (!text || !*text)
		return 0;
	known = json_object_get(s->index, text);
	if (known)
		return json_integer_value(known);
	n = (json_int_t)json_array_size(s->list);
	if (json_array_append_new(s->list, json_string(text)) ||
	    json_object_set_new(s->index, text, json_integer(n)))
		return -1;
	return n;
}

void page_strings_release(struct page_strings *s)
{
	json_decref(s->index);
	json_decref(s->list);
	s->index = s->list = NULL;
}

static const char *ev_str(const json_t *e, const char *key)
{
	const char *v = json_string_value(json_object_get(e, key));

	return v ? v : "";
}

static const char *arg_str(const json_t *e, const char *key)
{
	return ev_str(json_object_get(e, "args"), key);
}

static double ev_num(const json_t *e, const char *key)
{
	return json_number_value(json_object_get(e, key));
}

struct pick {
	size_t index; /* in traceEvents */
	int rank;     /* 0 first */
	double distance;
};

static int cmp_pick(const void *a, const void *b)
{
	const struct pick *x = a, *y = b;

	if (x->rank != y->rank)
		return x->rank - y->rank;
	return (x->distance > y->distance) - (x->distance < y->distance);
}

static int cmp_index(const void *a, const void *b)
{
	const struct pick *x = a, *y = b;

	return (x->index > y->index) - (x->index < y->index);
}

/* How far @e is in time from @t (0 for a slice that spans it). */
static double distance(const json_t *e, double t)
{
	double t0 = ev_num(e, "ts"), t1 = t0 + ev_num(e, "dur");

	return t < t0 ? t0 - t : t > t1 ? t - t1 : 0;
}

/* The events to keep, ranked (see above), into @p (one per non-metadata
 * event; returns their number). */
static size_t rank_events(const json_t *events, struct pick *p)
{
	json_t *e, *tables = json_object(), *nearest = json_object();
	double tv = NAN;
	size_t i, n = 0;

	json_array_foreach(events, i, e) {
		const char *cat = ev_str(e, "cat");

		if (!strcmp(cat, "violation") && isnan(tv))
			tv = ev_num(e, "ts");
		if ((!strcmp(cat, "violation") || !strcmp(cat, "stale-read")) &&
		    *arg_str(e, "table"))
			json_object_set_new(tables, arg_str(e, "table"), json_true());
	}
	/* Without a violation: the trace's end, where the run stopped. */
	if (isnan(tv)) {
		tv = -INFINITY;
		json_array_foreach(events, i, e)
			if (strcmp(ev_str(e, "ph"), "M"))
				tv = fmax(tv, ev_num(e, "ts") + ev_num(e, "dur"));
	}
	json_array_foreach(events, i, e) {
		const char *cat = ev_str(e, "cat");
		json_t *best;

		if (!strcmp(ev_str(e, "ph"), "M"))
			continue;
		p[n] = (struct pick){ .index = i, .rank = 2, .distance = distance(e, tv) };
		if (!strcmp(cat, "violation") || !strcmp(cat, "stale-read"))
			p[n].rank = 0;
		else if (p[n].distance == 0 || json_object_get(tables, arg_str(e, "table")))
			p[n].rank = 1;
		best = json_object_get(nearest, cat);
		if (!best || p[json_integer_value(best)].distance > p[n].distance)
			json_object_set_new(nearest, cat, json_integer((json_int_t)n));
		n++;
	}
	{
		const char *cat;
		json_t *k;

		json_object_foreach(nearest, cat, k)
			if (p[json_integer_value(k)].rank > 1)
				p[json_integer_value(k)].rank = 1;
	}
	json_decref(tables);
	json_decref(nearest);
	return n;
}

/* Drops each kept flow end whose other end was not kept. */
static size_t pair_flows(const json_t *events, struct pick *p, size_t n)
{
	size_t kept = 0;

	for (size_t i = 0; i < n; i++) {
		const json_t *e = json_array_get(events, p[i].index);
		const char *ph = ev_str(e, "ph");
		bool paired = true;

		if (!strcmp(ph, "s") || !strcmp(ph, "f")) {
			paired = false;
			for (size_t k = 0; k < n && !paired; k++) {
				const json_t *o = json_array_get(events, p[k].index);

				paired = k != i && json_equal(json_object_get(o, "id"),
							      json_object_get(e, "id")) &&
					 strcmp(ev_str(o, "ph"), ph) &&
					 (!strcmp(ev_str(o, "ph"), "s") ||
					  !strcmp(ev_str(o, "ph"), "f"));
			}
		}
		if (paired)
			p[kept++] = p[i];
	}
	return kept;
}

/* An event as the page has it; NULL when out of memory. */
static json_t *compact_event(const json_t *e, double t0, struct page_strings *s)
{
	json_t *generation = json_object_get(json_object_get(e, "args"), "generation");
	json_int_t v[11] = {
		page_string(s, ev_str(e, "ph")), page_string(s, ev_str(e, "cat")),
		page_string(s, ev_str(e, "name")), 0, 0, json_integer_value(json_object_get(e, "tid")),
		page_string(s, arg_str(e, "function")), page_string(s, arg_str(e, "table")),
		json_is_integer(generation) ? json_integer_value(generation) + 1 : 0,
		page_string(s, arg_str(e, "what")), json_integer_value(json_object_get(e, "id")),
	};
	json_t *out = json_array();
	size_t last = 11;

	while (last > 6 && !v[last - 1])
		last--;
	for (size_t k = 0; out && k < last; k++) {
		json_t *x;

		if (v[k] < 0) {
			json_decref(out);
			return NULL;
		}
		/* Times to a tenth of a microsecond: finer than the page
		 * can draw. */
		if (k == 3)
			x = json_real(round((ev_num(e, "ts") - t0) * 10) / 10);
		else if (k == 4)
			x = json_real(round(ev_num(e, "dur") * 10) / 10);
		else
			x = json_integer(v[k]);
		if (json_array_append_new(out, x)) {
			json_decref(out);
			return NULL;
		}
	}
	return out;
}

json_t *report_timeline(const json_t *trace, struct page_strings *s)
{
	json_t *events = json_object_get(trace, "traceEvents"), *e;
	size_t total = json_array_size(events), n, kept, i;
	struct pick *p = calloc(total ? total : 1, sizeof(*p));
	json_t *lanes = json_array(), *ev = json_array(), *out = NULL;
	double t0 = INFINITY;
	bool ok = p && lanes && ev;

	n = ok ? rank_events(events, p) : 0;
	qsort(p, n, sizeof(*p), cmp_pick);
	kept = pair_flows(events, p, n < REPORT_TIMELINE_EVENTS ? n : REPORT_TIMELINE_EVENTS);
	qsort(p, kept, sizeof(*p), cmp_index);
	for (i = 0; i < kept; i++)
		t0 = fmin(t0, ev_num(json_array_get(events, p[i].index), "ts"));
	/* The tracks: every one the trace names, kept or not. */
	json_array_foreach(events, i, e) {
		json_int_t tid = json_integer_value(json_object_get(e, "tid"));

		if (!ok || strcmp(ev_str(e, "ph"), "M"))
			continue;
		if (!strcmp(ev_str(e, "name"), "thread_name")) {
			json_int_t name = page_string(s, arg_str(e, "name"));

			ok = name >= 0 && !json_array_append_new(
						  lanes, json_pack("[I, I, I]", tid, name,
								   (json_int_t)json_array_size(lanes)));
		} else if (!strcmp(ev_str(e, "name"), "thread_sort_index")) {
			json_t *lane;
			size_t k;

			json_array_foreach(lanes, k, lane)
				if (json_integer_value(json_array_get(lane, 0)) == tid)
					json_array_set_new(lane, 2, json_integer(json_integer_value(
									 json_object_get(json_object_get(e, "args"),
											 "sort_index"))));
		}
	}
	for (i = 0; ok && i < kept; i++) {
		json_t *x = compact_event(json_array_get(events, p[i].index), t0, s);

		ok = x && !json_array_append_new(ev, x);
	}
	if (!kept)
		t0 = 0;
	if (ok)
		out = json_pack("{s:f, s:O, s:O, s:I, s:I}", "t0", t0, "lanes", lanes, "ev", ev,
				"events", (json_int_t)n, "left_out", (json_int_t)(n - kept));
	json_decref(lanes);
	json_decref(ev);
	free(p);
	return out;
}
