// SPDX-License-Identifier: MIT
#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "util/out_file.h"

FILE *out_file_open(struct out_file *o, const char *path)
{
	FILE *f;

	if ((size_t)snprintf(o->tmp_path, sizeof(o->tmp_path), "%s.tmp-%d", path,
			     (int)getpid()) >= sizeof(o->tmp_path)) {
		fprintf(stderr, "ptlab: cannot write %s: %s\n", path, strerror(ENAMETOOLONG));
		return NULL;
	}
	f = fopen(o->tmp_path, "w");
	if (!f)
		fprintf(stderr, "ptlab: cannot write %s: %s\n", path, strerror(errno));
	return f;
}

int out_file_commit(struct out_file *o, FILE *f, const char *path)
{
	if (ferror(f) | fclose(f) || rename(o->tmp_path, path)) {
		fprintf(stderr, "ptlab: error writing %s: %s\n", path, strerror(errno));
		unlink(o->tmp_path);
		return 1;
	}
	return 0;
}

void out_file_abort(struct out_file *o, FILE *f)
{
	fclose(f);
	unlink(o->tmp_path);
}
