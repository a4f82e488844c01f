/* SPDX-License-Identifier: MIT */
/*
 * The profiles a command runs: built-in ones named with --profile or
 * --profiles, and user-defined ones read from --profile-file FILE, a
 * profile in the shape of one entry of `ptlab profiles --json`. Both the
 * writer of that JSON and the reader go through the one table of keys,
 * ptlab_profile_keys() (include/ptlab/profile.h).
 */
#ifndef PTLAB_CLI_PROFILE_SET_H
#define PTLAB_CLI_PROFILE_SET_H

#include <stdbool.h>
#include <stddef.h>

#include "ptlab/profile.h"

/* jansson's json_t, declared here so that files writing JSON with
 * util/json.h (whose json_string() is another function) can include this
 * header. */
struct json_t;

/* Room for every built-in profile and a few files. */
#define PROFILE_SET_MAX 48
#define PROFILE_SET_MAX_FILES 8

struct profile_set {
	/* The profiles to run, in the order they were given (duplicates
	 * dropped); built-in ones point into ptlab_profiles(). */
	const struct ptlab_profile *list[PROFILE_SET_MAX];
	size_t n;
	/* The user-defined ones, and the documents their strings live in. */
	struct ptlab_profile user[PROFILE_SET_MAX_FILES];
	struct json_t *doc[PROFILE_SET_MAX_FILES];
	size_t nuser;
};

/* Adds the built-in profiles of the comma-separated @list; false after
 * printing the error (an unknown name, with the names allowed). */
bool profile_set_add_names(struct profile_set *s, const char *list);
/* Reads the profile of @path and adds it; false after printing the error
 * (exit status 2): a file that cannot be read or is not JSON, an unknown,
 * missing or duplicated key, a value of the wrong type or out of range, a
 * name that is not a plain word or is already taken. */
bool profile_set_add_file(struct profile_set *s, const char *path);
/* For a command that runs one profile: --profiles NAME (@file false) or
 * --profile-file FILE, once; false after printing the error. */
bool profile_set_one(struct profile_set *s, bool file, const char *value);
/* Every built-in profile when none was added. */
void profile_set_default(struct profile_set *s);
void profile_set_release(struct profile_set *s);

/* @p's properties in one line, from the table of keys:
 * "rcu_table_free true, tlb_flush ipi, ..." (strings left out). */
void profile_describe(const struct ptlab_profile *p, char *buf, size_t len);
/* @p as one entry of `ptlab profiles --json` (NULL when out of memory). */
struct json_t *profile_to_json(const struct ptlab_profile *p);

#endif /* PTLAB_CLI_PROFILE_SET_H */
