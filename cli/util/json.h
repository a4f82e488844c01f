/* SPDX-License-Identifier: MIT */
/*
 * A small streaming JSON writer: enough for ptlab's result files. Keys and
 * strings are escaped; numbers are written as given. Not thread-safe: one
 * writer per file, used by one thread.
 */
#ifndef PTLAB_UTIL_JSON_H
#define PTLAB_UTIL_JSON_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "util/out_file.h"

#define JSON_MAX_DEPTH 16

/* The command also links jansson (for reading JSON back), whose
 * json_string() and json_null() are other functions: this writer's are
 * ptlab_json_*() in the object files. A file uses one of the two. */
#define json_string ptlab_json_string
#define json_null ptlab_json_null

struct json {
	FILE *f;
	int depth;
	/* Whether the container at each depth already holds a member. */
	bool has_member[JSON_MAX_DEPTH];
	/* json_file_open(): the file being written. */
	struct out_file out;
};

void json_init(struct json *j, FILE *f);
/* Containers; @key is the member name inside an object, NULL in arrays
 * and at the top level. The document's top-level object begins with
 * "ptlab_version" (ptlab/version.h). */
void json_object_begin(struct json *j, const char *key);
void json_object_end(struct json *j);
void json_array_begin(struct json *j, const char *key);
void json_array_end(struct json *j);
/* Members (key may be NULL inside arrays). */
void json_string(struct json *j, const char *key, const char *value);
void json_bool(struct json *j, const char *key, bool value);
void json_u64(struct json *j, const char *key, uint64_t value);
void json_i64(struct json *j, const char *key, int64_t value);
/* Written with enough digits to read back; NaN and infinities as null. */
void json_double(struct json *j, const char *key, double value);
void json_null(struct json *j, const char *key);
/* A value already written as JSON text (@text: one whole value). */
void json_raw(struct json *j, const char *key, const char *text);
/* Ends the document with a newline. */
void json_finish(struct json *j);

/* Opens a document for @path: written to a temporary file next to it
 * (printing why not on failure: NULL). */
FILE *json_file_open(struct json *j, const char *path);
/* Finishes it and renames it to @path: 0, or 1 after printing the error
 * (the temporary file is removed: no partial document is left). */
int json_file_close(struct json *j, FILE *f, const char *path);

#endif /* PTLAB_UTIL_JSON_H */
