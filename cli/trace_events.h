/* SPDX-License-Identifier: MIT */
/*
 * The trace-event writer's own helpers, shared by its two converters
 * (trace_run.c: a stress run; trace_model.c: a model counterexample):
 * events of one process, tracks named by metadata events, and the
 * document around them (the format: trace_json.h).
 */
#ifndef PTLAB_CLI_TRACE_EVENTS_H
#define PTLAB_CLI_TRACE_EVENTS_H

#include <jansson.h>

/* The one process every event belongs to. */
#define TRACE_PID 1

/* An event of phase @ph at @ts microseconds on track @tid. */
json_t *trace_event(const char *ph, const char *name, const char *cat, double ts, int tid);
/* Appends @e to @events, taking its reference. */
void trace_add(json_t *events, json_t *e);
/* A metadata event ("M") @what with @args (taken). */
void trace_add_meta(json_t *events, const char *what, int tid, json_t *args);
/* Names track @tid and places it @order-th. */
void trace_add_track(json_t *events, int tid, const char *name, int order);
/* The document: @events (taken) under the process named @title, and
 * @other (taken) as otherData. */
json_t *trace_document(json_t *events, const char *title, json_t *other);

#endif /* PTLAB_CLI_TRACE_EVENTS_H */
