// SPDX-License-Identifier: MIT
/*
 * The model cache (PTLAB_MODEL_CACHE=DIR): a cell's tape, the outputs of
 * its pan and spin -t steps, kept in DIR under a key of everything those
 * tools were given, so that a later process checking a cell with the
 * same inputs reads the outputs instead of running spin, the compiler
 * and pan again. The outputs go to the same parsers (output.c) as a
 * live run's: only the tools are left out, never the reading of what
 * they said. CI sets it for its steps, so the model searches of the
 * quick tier run once for the gcc, clang, ASan and TSan builds (pan is
 * the same program in all four: it is compiled from spin's output, not
 * with the build's flags).
 *
 * What makes a tape's outputs the tools' own for this cell: the inputs
 * (struct tape.inputs) are the model's text (its length and FNV-1a
 * hash), the cell's -D flags, pan's depth and memory bounds, the
 * compiler of the verifiers, and the identity (path, size, mtime) of
 * spin and of that compiler; the file stores them in full and is used
 * only when they are equal, its name being their hash. pan's hash-table
 * size (-w) is left out: it changes a search's time, never what it
 * finds (model_internal.h). With kept cells (keep_dir), a cell read
 * from the cache gets the model and the trail pan wrote, which the tape
 * holds, in its directory, not a verifier. The search is deterministic, so a tape's
 * steps are the steps a live run takes, in order; a tape whose steps do
 * not match (another ptlab's) is a miss, and the cell is searched live
 * and recorded anew. A file that cannot be read back whole is a miss
 * too; it is written to a temporary name and renamed, so that processes
 * sharing DIR never see half of one.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "model_internal.h"

#define TAPE_MAGIC "ptlab model tape 1\n"

static uint64_t fnv1a(uint64_t h, const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		h ^= (unsigned char)s[i];
		h *= UINT64_C(0x100000001b3);
	}
	return h;
}

#define FNV_OFFSET UINT64_C(0xcbf29ce484222325)

/* "name=path:size:mtime" of @name as found in PATH, or false. */
static bool tool_identity(const char *name, char *buf, size_t len)
{
	const char *path = getenv("PATH");
	char file[PATH_MAX];
	struct stat st;

	while (path && *path) {
		size_t n = strcspn(path, ":");

		if (snprintf(file, sizeof(file), "%.*s/%s", (int)n, n ? path : ".", name) <
			    (int)sizeof(file) &&
		    access(file, X_OK) == 0 && stat(file, &st) == 0) {
			snprintf(buf, len, "%s=%s:%lld:%lld", name, file, (long long)st.st_size,
				 (long long)st.st_mtime);
			return true;
		}
		path += n;
		if (*path == ':')
			path++;
	}
	return false;
}

int model_tape_init(struct pan_cache *cache)
{
	const char *dir = getenv("PTLAB_MODEL_CACHE");
	char spin[PATH_MAX + 64], cc[PATH_MAX + 64];
	struct stat st;

	cache->tape_dir = NULL;
	cache->tape_error[0] = '\0';
	if (!dir || !*dir)
		return 0;
	if (mkdir(dir, 0755) && errno != EEXIST) {
		snprintf(cache->tape_error, sizeof(cache->tape_error),
			 "PTLAB_MODEL_CACHE=%s: cannot create the directory: %s (unset it, "
			 "or name a directory this user can write)", dir, strerror(errno));
		return 0;
	}
	if (stat(dir, &st) || !S_ISDIR(st.st_mode) || access(dir, W_OK | X_OK)) {
		snprintf(cache->tape_error, sizeof(cache->tape_error),
			 "PTLAB_MODEL_CACHE=%s: not a directory this user can write (unset "
			 "it, or name one)", dir);
		return 0;
	}
	/* without both tools nothing could be searched live either: the
	 * cells say so (no cache) */
	if (!tool_identity("spin", spin, sizeof(spin)) ||
	    !tool_identity(cache->cc, cc, sizeof(cc)))
		return 0;
	if (!(cache->tape_dir = strdup(dir)) ||
	    asprintf(&cache->tape_tools, "%s\n%s\n", spin, cc) < 0) {
		free(cache->tape_dir);
		cache->tape_dir = NULL;
		cache->tape_tools = NULL;
	}
	return 0;
}

void model_tape_destroy(struct pan_cache *cache)
{
	free(cache->tape_dir);
	free(cache->tape_tools);
	cache->tape_dir = NULL;
	cache->tape_tools = NULL;
}

static void tape_free_records(struct tape *t)
{
	for (size_t i = 0; i < t->n; i++) {
		free(t->rec[i].sig);
		free(t->rec[i].text);
	}
	t->n = 0;
	t->next = 0;
}

/* The step's signature: what it is and its arguments, pan's -w and the
 * verifier's path left out (neither changes what a step says). */
static char *step_signature(const char *what, char *const *argv)
{
	size_t len = strlen(what) + 1;
	char *sig;

	for (size_t i = 1; argv[i]; i++)
		len += strlen(argv[i]) + 1;
	if (!(sig = malloc(len)))
		return NULL;
	strcpy(sig, what);
	for (size_t i = 1; argv[i]; i++)
		if (strncmp(argv[i], "-w", 2) != 0) {
			strcat(sig, " ");
			strcat(sig, argv[i]);
		}
	return sig;
}

/* The tape's file: DIR/<hash of the inputs>.tape. */
static bool tape_path(const struct cell_run *run, char *buf, size_t len)
{
	return snprintf(buf, len, "%s/%016" PRIx64 ".tape", run->cache->tape_dir,
			fnv1a(FNV_OFFSET, run->tape.inputs, strlen(run->tape.inputs))) <
	       (int)len;
}

/* Reads a whole tape of @path with the cell's inputs into run->tape;
 * false (and nothing kept) for anything else. */
static bool tape_load(struct cell_run *run, const char *path)
{
	struct tape *t = &run->tape;
	char *file = model_read_text(path), *p;
	size_t len, n, in_len;

	if (!file)
		return false;
	len = strlen(file);
	p = file;
	in_len = strlen(t->inputs);
	if (strncmp(p, TAPE_MAGIC, strlen(TAPE_MAGIC)))
		goto bad;
	p += strlen(TAPE_MAGIC);
	if (sscanf(p, "inputs %zu\n", &n) != 1 || n != in_len || !(p = strchr(p, '\n')) ||
	    (size_t)(file + len - ++p) < n || memcmp(p, t->inputs, n))
		goto bad;
	p += n;
	if (sscanf(p, "records %zu\n", &n) != 1 || n > TAPE_RECORDS || !(p = strchr(p, '\n')))
		goto bad;
	p++;
	for (size_t i = 0; i < n; i++) {
		size_t sl, tl;

		if (sscanf(p, "%zu %zu\n", &sl, &tl) != 2 || !(p = strchr(p, '\n')) ||
		    (size_t)(file + len - ++p) < sl + tl + 1 || tl > OUTPUT_MAX ||
		    p[sl + tl] != '\n')
			goto bad;
		t->rec[i].sig = strndup(p, sl);
		t->rec[i].text = strndup(p + sl, tl);
		t->n = i + 1;
		if (!t->rec[i].sig || !t->rec[i].text)
			goto bad;
		p += sl + tl + 1;
	}
	if (strcmp(p, "end\n"))
		goto bad;
	free(file);
	return true;
bad:
	tape_free_records(t);
	free(file);
	return false;
}

void model_tape_open(struct cell_run *run)
{
	struct tape *t = &run->tape;
	const struct ptlab_model_options *o = run->o;
	const char *model = o->source ? o->source : ptlab_model_builtin();
	char path[PATH_MAX];
	size_t len;
	FILE *f;

	*t = (struct tape){ .mode = TAPE_OFF };
	if (run->cache->tape_error[0]) {
		model_cell_error(run, "%s", run->cache->tape_error);
		return;
	}
	if (!run->cache->tape_dir)
		return;
	if (!(f = open_memstream(&t->inputs, &len)))
		return;
	fprintf(f, "model %zu %016" PRIx64 "\n", strlen(model),
		fnv1a(FNV_OFFSET, model, strlen(model)));
	fprintf(f, "flags");
	for (size_t i = 0; i < run->ndflags; i++)
		fprintf(f, " %s", run->dflags[i]);
	fprintf(f, "\ndepth %" PRIu64 " memory %" PRIu64 " cc %s\n%s",
		o->max_depth ? o->max_depth : PTLAB_MODEL_DEPTH,
		o->memory_mb ? o->memory_mb : PTLAB_MODEL_MEMORY_MB, run->cc,
		run->cache->tape_tools);
	if (fclose(f) || !t->inputs) {
		free(t->inputs);
		t->inputs = NULL;
		return;
	}
	t->mode = tape_path(run, path, sizeof(path)) && tape_load(run, path) ? TAPE_REPLAY
									     : TAPE_MISS;
}

void model_tape_record(struct cell_run *run)
{
	if (run->tape.mode == TAPE_MISS)
		run->tape.mode = TAPE_RECORD;
}

void model_tape_restart(struct cell_run *run)
{
	tape_free_records(&run->tape);
	run->tape.out_of_step = false;
	run->tape.mode = TAPE_MISS;
}

bool model_tape_replay(struct cell_run *run, char *const *argv, const char *what, char **text)
{
	struct tape *t = &run->tape;
	char *sig;

	if (t->mode != TAPE_REPLAY)
		return false;
	*text = NULL;
	sig = step_signature(what, argv);
	if (!sig) {
		model_cell_error(run, "%s: out of memory", what);
		return true;
	}
	if (t->next < t->n && !strcmp(sig, t->rec[t->next].sig)) {
		if (!(*text = strdup(t->rec[t->next++].text)))
			model_cell_error(run, "%s: out of memory", what);
	} else {
		/* check_cell() searches live instead */
		t->out_of_step = true;
		model_cell_error(run, "the model cache's tape does not match the steps");
	}
	free(sig);
	return true;
}

bool model_tape_file(struct cell_run *run, const char *name)
{
	struct tape *t = &run->tape;
	char sig[64], path[PATH_MAX], *text;
	int err;

	snprintf(sig, sizeof(sig), "file %s", name);
	if (t->mode == TAPE_RECORD) {
		if (model_path_in(run, name, path, sizeof(path)) || !(text = model_read_text(path))) {
			model_cell_error(run, "cannot read %s", name);
			return false;
		}
		if (t->n == TAPE_RECORDS || !(t->rec[t->n].sig = strdup(sig))) {
			t->mode = TAPE_OFF;
			free(text);
			return true;
		}
		t->rec[t->n++].text = text;
		return true;
	}
	if (t->mode != TAPE_REPLAY)
		return true;
	if (t->next == t->n || strcmp(sig, t->rec[t->next].sig)) {
		t->out_of_step = true;
		model_cell_error(run, "the model cache's tape does not match the steps");
		return false;
	}
	text = t->rec[t->next++].text;
	if (run->o->keep_dir &&
	    ((err = model_path_in(run, name, path, sizeof(path))) ||
	     (err = model_write_text(path, text)))) {
		model_cell_error(run, "writing %s: %s", name, strerror(-err));
		return false;
	}
	return true;
}

void model_tape_note(struct cell_run *run, char *const *argv, const char *what,
		     const char *text)
{
	struct tape *t = &run->tape;

	if (t->mode != TAPE_RECORD)
		return;
	if (t->n == TAPE_RECORDS) {
		/* more steps than a cell takes: record nothing */
		t->mode = TAPE_OFF;
		return;
	}
	t->rec[t->n].sig = step_signature(what, argv);
	t->rec[t->n].text = strdup(text);
	t->n++;
	if (!t->rec[t->n - 1].sig || !t->rec[t->n - 1].text)
		t->mode = TAPE_OFF;
}

/* Writes the recorded tape under a temporary name, then renames it. */
static bool tape_write(struct cell_run *run)
{
	const struct tape *t = &run->tape;
	char path[PATH_MAX], tmp[PATH_MAX + 64];
	FILE *f;
	bool ok;

	if (!tape_path(run, path, sizeof(path)) ||
	    snprintf(tmp, sizeof(tmp), "%s.%ld.%p", path, (long)getpid(), (void *)run) >=
		    (int)sizeof(tmp) ||
	    !(f = fopen(tmp, "w")))
		return false;
	fprintf(f, TAPE_MAGIC "inputs %zu\n%s", strlen(t->inputs), t->inputs);
	fprintf(f, "records %zu\n", t->n);
	for (size_t i = 0; i < t->n; i++)
		fprintf(f, "%zu %zu\n%s%s\n", strlen(t->rec[i].sig), strlen(t->rec[i].text),
			t->rec[i].sig, t->rec[i].text);
	fprintf(f, "end\n");
	ok = !ferror(f);
	ok = !fclose(f) && ok && !rename(tmp, path);
	if (!ok)
		unlink(tmp);
	return ok;
}

void model_tape_close(struct cell_run *run)
{
	struct tape *t = &run->tape;

	if (t->mode == TAPE_REPLAY && run->r->verdict != MODEL_ERROR)
		run->r->from_cache = true;
	else if (t->mode == TAPE_RECORD && run->r->verdict != MODEL_ERROR)
		tape_write(run); /* a tape not written is a later miss, no more */
	tape_free_records(t);
	free(t->inputs);
	t->inputs = NULL;
	t->mode = TAPE_OFF;
}
