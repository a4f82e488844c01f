// SPDX-License-Identifier: MIT
/*
 * Chrome trace-event JSON (trace_json.h): the helpers both converters
 * build their events with, and writing, printing and dropping a document.
 */
#include <stdio.h>

#include <jansson.h>

#include "trace_events.h"
#include "trace_json.h"
#include "util/out_file.h"

json_t *trace_event(const char *ph, const char *name, const char *cat, double ts, int tid)
{
	return json_pack("{s:s, s:s, s:s, s:f, s:i, s:i}", "ph", ph, "name", name, "cat", cat,
			 "ts", ts, "pid", TRACE_PID, "tid", tid);
}

void trace_add(json_t *events, json_t *e)
{
	json_array_append_new(events, e);
}

void trace_add_meta(json_t *events, const char *what, int tid, json_t *args)
{
	json_t *e = trace_event("M", what, "__metadata", 0, tid);

	json_object_set_new(e, "args", args);
	trace_add(events, e);
}

void trace_add_track(json_t *events, int tid, const char *name, int order)
{
	trace_add_meta(events, "thread_name", tid, json_pack("{s:s}", "name", name));
	trace_add_meta(events, "thread_sort_index", tid, json_pack("{s:i}", "sort_index", order));
}

json_t *trace_document(json_t *events, const char *title, json_t *other)
{
	trace_add_meta(events, "process_name", 0, json_pack("{s:s}", "name", title));
	return json_pack("{s:o, s:s, s:o}", "traceEvents", events, "displayTimeUnit", "ns",
			 "otherData", other);
}

int trace_json_write(const json_t *doc, const char *path)
{
	struct out_file o;
	FILE *f = out_file_open(&o, path);

	if (!f)
		return 1;
	json_dumpf(doc, f, JSON_COMPACT);
	fputc('\n', f);
	return out_file_commit(&o, f, path);
}

char *trace_json_text(const json_t *doc)
{
	return json_dumps(doc, JSON_COMPACT);
}

void trace_json_free(json_t *doc)
{
	json_decref(doc);
}
