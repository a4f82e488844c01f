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
#include <stdint.h>
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
	char file[PATH_MAX];
	struct stat st;

	if (!model_find_in_path(name, file, sizeof(file)) || stat(file, &st))
		return false;
	snprintf(buf, len, "%s=%s:%lld:%lld", name, file, (long long)st.st_size,
		 (long long)st.st_mtime);
	return true;
}

int model_tape_init(struct pan_cache *cache)
{
	const char *dir = getenv("PTLAB_MODEL_CACHE");
	char spin[PATH_MAX + 64], cc[PATH_MAX + 64], cpp[PATH_MAX + 64];
	struct stat st;

	cache->tape_dir = NULL;
	cache->tape_tools = NULL;
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
	    !tool_identity(cache->cc, cc, sizeof(cc)) || !tool_identity("gcc", cpp, sizeof(cpp)))
		return 0;
	/* gcc: spin's preprocessor, and the compiler without tcc */
	if (!(cache->tape_dir = strdup(dir)) ||
	    asprintf(&cache->tape_tools, "%s\n%s\n%s\n", spin, cc, cpp) < 0) {
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

/* Reads "<digits><sep>" at *p (before @end) into *v, and moves past it:
 * digits only, no sign, no overflow. */
static bool read_number(const char **p, const char *end, char sep, size_t *v)
{
	const char *q = *p;
	size_t n = 0;

	if (q == end || *q < '0' || *q > '9')
		return false;
	for (; q < end && *q >= '0' && *q <= '9'; q++) {
		if (n > (SIZE_MAX - 9) / 10)
			return false;
		n = n * 10 + (size_t)(*q - '0');
	}
	if (q == end || *q != sep)
		return false;
	*v = n;
	*p = q + 1;
	return true;
}

static bool read_word(const char **p, const char *end, const char *word)
{
	size_t l = strlen(word);

	if ((size_t)(end - *p) < l || memcmp(*p, word, l))
		return false;
	*p += l;
	return true;
}

/* Reads a whole tape of @path with the cell's inputs into run->tape;
 * false (and nothing kept) for anything else. Every length is checked
 * against what is left of the file before it is used. */
static bool tape_load(struct cell_run *run, const char *path)
{
	struct tape *t = &run->tape;
	char *file = model_read_text(path);
	const char *p, *end;
	size_t n, in_len = strlen(t->inputs);

	if (!file)
		return false;
	p = file;
	end = file + strlen(file);
	if (!read_word(&p, end, TAPE_MAGIC) || !read_word(&p, end, "inputs ") ||
	    !read_number(&p, end, '\n', &n) || n != in_len || (size_t)(end - p) < n ||
	    memcmp(p, t->inputs, n))
		goto bad;
	p += n;
	if (!read_word(&p, end, "records ") || !read_number(&p, end, '\n', &n) ||
	    n > TAPE_RECORDS)
		goto bad;
	for (size_t i = 0; i < n; i++) {
		size_t sl, tl;

		if (!read_number(&p, end, ' ', &sl) || !read_number(&p, end, '\n', &tl) ||
		    tl > OUTPUT_MAX || sl > (size_t)(end - p) || tl > (size_t)(end - p) - sl ||
		    (size_t)(end - p) - sl - tl < 1 || p[sl + tl] != '\n')
			goto bad;
		t->rec[i].sig = strndup(p, sl);
		t->rec[i].text = strndup(p + sl, tl);
		t->n = i + 1;
		if (!t->rec[i].sig || !t->rec[i].text)
			goto bad;
		p += sl + tl + 1;
	}
	if ((size_t)(end - p) != 4 || memcmp(p, "end\n", 4))
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
	fprintf(f, "\ndepth %" PRIu64 "\n", o->max_depth ? o->max_depth : PTLAB_MODEL_DEPTH);
	/* both verifiers' compiles, word for word (model_compile_args()) */
	for (int bfs = 0; bfs < 2; bfs++) {
		const char *args[COMPILE_ARGS];
		char memlim[48];
		size_t n = model_compile_args(run, bfs, "pan", memlim, args);

		fprintf(f, "compile");
		for (size_t i = 0; i < n; i++)
			fprintf(f, " %s", args[i]);
		fprintf(f, "\n");
	}
	fprintf(f, "%s", run->cache->tape_tools);
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
			/* the replay that reads it says what is wrong */
			t->mode = TAPE_OFF;
			return true;
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

	if (t->mode != TAPE_RECORD || t->building)
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

/* Writes the recorded tape under a temporary name, then renames it; not
 * one that could not be read back whole (model_read_text()'s bound). */
static bool tape_write(struct cell_run *run)
{
	const struct tape *t = &run->tape;
	char path[PATH_MAX], tmp[PATH_MAX + 64];
	size_t size = strlen(t->inputs) + 256;
	FILE *f;
	bool ok;

	for (size_t i = 0; i < t->n; i++)
		size += strlen(t->rec[i].sig) + strlen(t->rec[i].text) + 48;
	if (size >= OUTPUT_MAX || !tape_path(run, path, sizeof(path)) ||
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

bool model_tape_replayed_whole(const struct cell_run *run)
{
	const struct tape *t = &run->tape;

	return !t->out_of_step && t->next == t->n && run->r->verdict != MODEL_ERROR;
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
