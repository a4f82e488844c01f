/* SPDX-License-Identifier: MIT */
/*
 * Traces in the Chrome trace-event JSON format ("traceEvents"), which
 * Perfetto (ui.perfetto.dev) and chrome://tracing open as they are: one
 * process, one track (tid) per CPU or model process, named by metadata
 * events ("M"); interrupts-off sections, RCU walkers' read-side sections
 * and PTE locks, flushes, syncs, IPI handlers and model steps as complete
 * slices ("X"); frees, reuses, reads, writes, unshares and hand-overs as
 * instant events ("i"); IPIs as flows ("s" at the sender, "f" at the
 * target, the same id); the violation as an instant of category
 * "violation". Times ("ts", "dur") are in microseconds: since the run
 * started for a stress run, one per step for a model counterexample.
 * Every event has ph, ts, pid and tid; args.function names the kernel
 * function a step stands for.
 */
#ifndef PTLAB_CLI_TRACE_JSON_H
#define PTLAB_CLI_TRACE_JSON_H

#include <stddef.h>

#include "ptlab/lab.h"

/* jansson's json_t, kept opaque here: jansson's names (json_string, ...)
 * clash with the streaming writer of util/json.h. */
struct json_t;
typedef struct json_t json_t;

/* The trace of a stress run (cfg->trace_before_ms > 0); NULL when the
 * result has none or on allocation failure. Left out, and counted in
 * otherData: walker sections with nothing in them, and the
 * pte_offset_map_lock() walks of threads that are no RCU walkers (faults,
 * zaps). */
json_t *trace_json_from_run(const struct lab_run_config *cfg, const struct lab_result *res);

/* A model counterexample, one track per actor (the first words of each
 * step: "walker cpu2", "collapse", "zapper", ...); NULL on allocation
 * failure. */
json_t *trace_json_from_model(const char *title, const char *const *steps, size_t n);

/* Writes @doc to @path whole or not at all: 0, or 1 after printing why. */
int trace_json_write(const json_t *doc, const char *path);
/* @doc as compact JSON text (free() it), NULL on allocation failure. */
char *trace_json_text(const json_t *doc);
/* Drops a document (json_decref()). */
void trace_json_free(json_t *doc);

#endif /* PTLAB_CLI_TRACE_JSON_H */
