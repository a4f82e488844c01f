/* SPDX-License-Identifier: MIT */
/*
 * A trace as the report's page draws it: at most REPORT_TIMELINE_EVENTS
 * events, those nearest the violation, in a compact form whose strings
 * the whole page shares (a stress trace repeats the same names, kinds and
 * functions thousands of times; the full trace stays in the matrix's
 * JSON beside the page). report/report.js turns it back into trace
 * events.
 *
 *   { "t0": the first kept event's time (us),
 *     "lanes": [[tid, name, sort index], ...],
 *     "ev": [[ph, cat, name, ts - t0, dur, tid, function, table,
 *              generation + 1, what, flow id], ...],
 *     "events": the trace's events (metadata left out), "left_out": how
 *     many of them the page leaves out }
 *
 * ph, cat, name, the track's name, function, table and what are indices
 * into the page's "strings" (index 0 is ""); each event's trailing
 * members are left out where they are 0 (none).
 */
#ifndef PTLAB_CLI_REPORT_TIMELINE_H
#define PTLAB_CLI_REPORT_TIMELINE_H

#include <jansson.h>

/* Keeps a timeline readable and the page small (make run's 188 unsafe
 * cells make about 0.8 MB of timelines at this bound). */
#define REPORT_TIMELINE_EVENTS 120

/* The page's strings: each once, numbered as they come. */
struct page_strings {
	json_t *index; /* string -> its number */
	json_t *list;  /* the strings in order */
};

/* 0, or -1 when out of memory. */
int page_strings_init(struct page_strings *s);
/* @text's number, added when new (0 for NULL or ""; -1 when out of
 * memory). */
json_int_t page_string(struct page_strings *s, const char *text);
void page_strings_release(struct page_strings *s);

/* The compact timeline of the trace-event document @trace; NULL when
 * out of memory. */
json_t *report_timeline(const json_t *trace, struct page_strings *s);

#endif /* PTLAB_CLI_REPORT_TIMELINE_H */
