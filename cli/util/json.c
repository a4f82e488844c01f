// SPDX-License-Identifier: MIT
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <string.h>
#include <unistd.h>

#include "ptlab/version.h"
#include "util/json.h"

void json_init(struct json *j, FILE *f)
{
	j->f = f;
	j->depth = 0;
	j->has_member[0] = false;
}

static void json_escaped(struct json *j, const char *s)
{
	fputc('"', j->f);
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '"' || c == '\\')
			fprintf(j->f, "\\%c", c);
		else if (c == '\n')
			fputs("\\n", j->f);
		else if (c == '\t')
			fputs("\\t", j->f);
		else if (c < 0x20)
			fprintf(j->f, "\\u%04x", c);
		else
			fputc(c, j->f);
	}
	fputc('"', j->f);
}

/* Writes the separator and the key of the next member. */
static void json_member(struct json *j, const char *key)
{
	if (j->has_member[j->depth])
		fputc(',', j->f);
	j->has_member[j->depth] = true;
	if (key) {
		json_escaped(j, key);
		fputc(':', j->f);
	}
}

static void json_open(struct json *j, const char *key, char c)
{
	json_member(j, key);
	fputc(c, j->f);
	if (j->depth + 1 < JSON_MAX_DEPTH)
		j->depth++;
	j->has_member[j->depth] = false;
}

static void json_close(struct json *j, char c)
{
	fputc(c, j->f);
	if (j->depth > 0)
		j->depth--;
}

void json_object_begin(struct json *j, const char *key)
{
	bool document = j->depth == 0 && !j->has_member[0];

	json_open(j, key, '{');
	/* Every document ptlab writes says which ptlab wrote it. */
	if (document)
		json_string(j, "ptlab_version", PTLAB_VERSION);
}

void json_object_end(struct json *j)
{
	json_close(j, '}');
}

void json_array_begin(struct json *j, const char *key)
{
	json_open(j, key, '[');
}

void json_array_end(struct json *j)
{
	json_close(j, ']');
}

void json_string(struct json *j, const char *key, const char *value)
{
	json_member(j, key);
	json_escaped(j, value ? value : "");
}

void json_bool(struct json *j, const char *key, bool value)
{
	json_member(j, key);
	fputs(value ? "true" : "false", j->f);
}

void json_u64(struct json *j, const char *key, uint64_t value)
{
	json_member(j, key);
	fprintf(j->f, "%" PRIu64, value);
}

void json_i64(struct json *j, const char *key, int64_t value)
{
	json_member(j, key);
	fprintf(j->f, "%" PRId64, value);
}

void json_double(struct json *j, const char *key, double value)
{
	json_member(j, key);
	if (isfinite(value))
		fprintf(j->f, "%.6g", value);
	else
		fputs("null", j->f);
}

void json_null(struct json *j, const char *key)
{
	json_member(j, key);
	fputs("null", j->f);
}

void json_raw(struct json *j, const char *key, const char *text)
{
	json_member(j, key);
	fputs(text, j->f);
}

void json_finish(struct json *j)
{
	fputc('\n', j->f);
	fflush(j->f);
}

FILE *json_file_open(struct json *j, const char *path)
{
	FILE *f = out_file_open(&j->out, path);

	if (f)
		json_init(j, f);
	return f;
}

int json_file_close(struct json *j, FILE *f, const char *path)
{
	json_finish(j);
	return out_file_commit(&j->out, f, path);
}
