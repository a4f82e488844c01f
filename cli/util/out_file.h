/* SPDX-License-Identifier: MIT */
/* Output files written whole or not at all. */
#ifndef PTLAB_UTIL_OUT_FILE_H
#define PTLAB_UTIL_OUT_FILE_H

#include <stdio.h>

/* A file written to a temporary file next to its path and renamed on
 * commit, so that no reader ever sees half of it. */
struct out_file {
	char tmp_path[4096];
};

/* Opens the temporary file (printing why not on failure: NULL). */
FILE *out_file_open(struct out_file *o, const char *path);
/* Closes it and renames it to @path: 0, or 1 after printing the error
 * (the temporary file is removed). */
int out_file_commit(struct out_file *o, FILE *f, const char *path);
/* Closes and removes it: nothing is written to the path. */
void out_file_abort(struct out_file *o, FILE *f);

#endif /* PTLAB_UTIL_OUT_FILE_H */
