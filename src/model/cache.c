// SPDX-License-Identifier: MIT
/*
 * What cells share: one compiled verifier per distinct generated source
 * and kind, depth-first or breadth-first (struct pan_cache), and one
 * cell's searches per distinct set of switches (struct search_memo).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "model_internal.h"


/*
 * Cells whose switches make no difference to the verifier spin generates
 * (arm64 and x86-invlpgb have the same properties; ipi-sync changes
 * nothing in munmap; the deposit style nothing in munmap) get the same
 * pan sources, so one compile serves them all: compiling is most of a
 * cell's time. Sources are matched on their whole text.
 */
enum pan_state { PAN_COMPILING, PAN_READY, PAN_FAILED };

struct pan_entry {
	struct pan_entry *next;
	/* what spin generated: pan.c and the files it includes */
	char *sources;
	size_t len;
	/* compiled with -DBFS (a breadth-first verifier), or without */
	bool bfs;
	char binary[PATH_MAX + 16];
	/* written under pan_cache.lock */
	enum pan_state state;
};

/*
 * A complete search, by the cell's -D flags: cells with the same switches
 * (profiles with the same properties: s390 and ppc64-radix, mips64 and
 * x86-nopv-6.0, ...) give spin the same model, so the first one's result
 * serves the others with no spin, compile or search of their own. Not
 * with --keep, whose cells each keep their own files.
 */
struct search_memo {
	struct search_memo *next;
	char *key;
	struct ptlab_model_result result;
};

static const char *const pan_sources[] = {
	"pan.c", "pan.h", "pan.m", "pan.b", "pan.t", "pan.p",
};

/* All the generated sources in one buffer, each after its length, so
 * that equal buffers mean equal sources. NULL on failure. */
static char *read_pan_sources(const struct cell_run *run, size_t *len)
{
	char *all = NULL;
	size_t used = 0;

	for (size_t i = 0; i < sizeof(pan_sources) / sizeof(*pan_sources); i++) {
		char path[PATH_MAX], head[32], *text, *more;
		size_t n, h;

		if (model_path_in(run, pan_sources[i], path, sizeof(path)) ||
		    !(text = model_read_text(path)))
			goto fail;
		n = strlen(text);
		h = (size_t)snprintf(head, sizeof(head), "%zu:", n);
		more = realloc(all, used + h + n + 1);
		if (!more) {
			free(text);
			goto fail;
		}
		all = more;
		memcpy(all + used, head, h);
		memcpy(all + used + h, text, n);
		used += h + n;
		free(text);
	}
	*len = used;
	return all;
fail:
	free(all);
	return NULL;
}

/* Sets run->pan to a verifier for the cell's sources, breadth-first if
 * run->bfs, compiling them unless another cell already did. */
bool model_get_pan(struct cell_run *run)
{
	struct pan_cache *cache = run->cache;
	struct pan_entry *e;
	size_t len;
	char *src = read_pan_sources(run, &len);
	bool ok;

	if (!src) {
		model_cell_error(run, "cannot read the sources spin generated");
		return false;
	}
	pthread_mutex_lock(&cache->lock);
	for (e = cache->entries; e; e = e->next)
		if (e->bfs == run->bfs && e->len == len && memcmp(e->sources, src, len) == 0)
			break;
	if (e) {
		while (e->state == PAN_COMPILING)
			pthread_cond_wait(&cache->changed, &cache->lock);
		ok = e->state == PAN_READY;
		snprintf(run->pan, sizeof(run->pan), "%s", e->binary);
		pthread_mutex_unlock(&cache->lock);
		free(src);
		if (ok)
			return true;
		/* that compile failed: compile again for this cell's message */
		snprintf(run->pan, sizeof(run->pan), "%s/pan", run->dir);
		return model_compile_pan(run, run->pan);
	}
	e = calloc(1, sizeof(*e));
	if (!e) {
		pthread_mutex_unlock(&cache->lock);
		free(src);
		model_cell_error(run, "out of memory");
		return false;
	}
	e->sources = src;
	e->len = len;
	e->bfs = run->bfs;
	e->state = PAN_COMPILING;
	snprintf(e->binary, sizeof(e->binary), "%s/pan-%u", cache->dir, cache->count++);
	e->next = cache->entries;
	cache->entries = e;
	pthread_mutex_unlock(&cache->lock);

	ok = model_compile_pan(run, e->binary);

	pthread_mutex_lock(&cache->lock);
	e->state = ok ? PAN_READY : PAN_FAILED;
	pthread_cond_broadcast(&cache->changed);
	pthread_mutex_unlock(&cache->lock);
	snprintf(run->pan, sizeof(run->pan), "%s", e->binary);
	return ok;
}

extern char **environ;

/* cache->pan_env (struct pan_cache); left NULL when out of memory. */
static void make_pan_env(struct pan_cache *cache)
{
	static const char tunable[] = "glibc.malloc.hugetlb=1";
	const char *old = getenv("GLIBC_TUNABLES");
	size_t n = 0, k = 0;

	cache->pan_env = NULL;
	cache->pan_tunables = NULL;
	if (asprintf(&cache->pan_tunables, "GLIBC_TUNABLES=%s%s%s", old && *old ? old : "",
		     old && *old ? ":" : "", tunable) < 0) {
		cache->pan_tunables = NULL;
		return;
	}
	while (environ[n])
		n++;
	cache->pan_env = calloc(n + 2, sizeof(*cache->pan_env));
	if (!cache->pan_env) {
		free(cache->pan_tunables);
		cache->pan_tunables = NULL;
		return;
	}
	for (size_t i = 0; i < n; i++)
		if (strncmp(environ[i], "GLIBC_TUNABLES=", 15) != 0)
			cache->pan_env[k++] = environ[i];
	cache->pan_env[k] = cache->pan_tunables;
}

int pan_cache_init(struct pan_cache *cache, const char *keep_dir)
{
	const char *tmp = getenv("TMPDIR");
	char dir[PATH_MAX];

	/* next to the kept cells, so that they can link the binaries */
	if (keep_dir && mkdir(keep_dir, 0755) && errno != EEXIST)
		return -errno;
	snprintf(dir, sizeof(dir), "%s/ptlab-model-pan.XXXXXX",
		 keep_dir ? keep_dir : tmp && *tmp ? tmp : "/tmp");
	if (!mkdtemp(dir))
		return -errno;
	if (!realpath(dir, cache->dir)) {
		int err = -errno;

		rmdir(dir);
		return err;
	}
	pthread_mutex_init(&cache->lock, NULL);
	pthread_cond_init(&cache->changed, NULL);
	cache->entries = NULL;
	cache->count = 0;
	cache->memos = NULL;
	memset(cache->most_states, 0, sizeof(cache->most_states));
	cache->cc = model_in_path("tcc") ? "tcc" : "gcc";
	make_pan_env(cache);
	return model_tape_init(cache);
}

void pan_cache_destroy(struct pan_cache *cache)
{
	while (cache->entries) {
		struct pan_entry *e = cache->entries;

		cache->entries = e->next;
		free(e->sources);
		free(e);
	}
	while (cache->memos) {
		struct search_memo *m = cache->memos;

		cache->memos = m->next;
		free(m->key);
		ptlab_model_result_release(&m->result);
		free(m);
	}
	free(cache->pan_env);
	free(cache->pan_tunables);
	model_tape_destroy(cache);
	model_remove_dir(cache->dir);
	pthread_cond_destroy(&cache->changed);
	pthread_mutex_destroy(&cache->lock);
}

/* A copy of @src's verdict, kinds, states and counterexample into @dst
 * (whose own time is kept). False when out of memory. */
static bool result_copy(struct ptlab_model_result *dst, const struct ptlab_model_result *src)
{
	double seconds = dst->seconds;

	ptlab_model_result_release(dst);
	*dst = *src;
	dst->steps = NULL;
	dst->nsteps = 0;
	dst->seconds = seconds;
	for (size_t i = 0; i < src->nsteps; i++)
		if (!model_add_step(dst, src->steps[i], strlen(src->steps[i])))
			return false;
	return true;
}

/* The cell's -D flags in one string (the memo's key), or NULL. */
static char *switches_key(const struct cell_run *run)
{
	size_t len = 1;
	char *key;

	for (size_t i = 0; i < run->ndflags; i++)
		len += strlen(run->dflags[i]) + 1;
	key = malloc(len);
	if (!key)
		return NULL;
	key[0] = '\0';
	for (size_t i = 0; i < run->ndflags; i++) {
		strcat(key, run->dflags[i]);
		strcat(key, " ");
	}
	return key;
}

static struct search_memo *memo_find(struct pan_cache *cache, const char *key)
{
	struct search_memo *m;

	for (m = cache->memos; m; m = m->next)
		if (!strcmp(m->key, key))
			break;
	return m;
}

/* Takes the result of an earlier cell with the same switches: true when
 * the cell needs no search of its own. */
bool model_search_reuse(struct cell_run *run)
{
	char *key = run->o->keep_dir ? NULL : switches_key(run);
	struct search_memo *m;
	bool hit = false;

	if (!key)
		return false;
	pthread_mutex_lock(&run->cache->lock);
	m = memo_find(run->cache, key);
	if (m && !(hit = result_copy(run->r, &m->result))) {
		/* out of memory: search as if nobody had */
		ptlab_model_result_release(run->r);
		memset(run->r, 0, sizeof(*run->r));
		run->r->verdict = MODEL_ERROR;
	}
	pthread_mutex_unlock(&run->cache->lock);
	free(key);
	return hit;
}

/* Offers this cell's complete search to later cells with its switches. */
void model_search_share(struct cell_run *run)
{
	char *key;
	struct search_memo *m;

	if (run->o->keep_dir || run->r->verdict == MODEL_ERROR || !(key = switches_key(run)))
		return;
	pthread_mutex_lock(&run->cache->lock);
	if (!memo_find(run->cache, key) && (m = calloc(1, sizeof(*m)))) {
		if (result_copy(&m->result, run->r)) {
			m->key = key;
			key = NULL;
			m->next = run->cache->memos;
			run->cache->memos = m;
		} else {
			ptlab_model_result_release(&m->result);
			free(m);
		}
	}
	pthread_mutex_unlock(&run->cache->lock);
	free(key);
}

unsigned int model_hash_bits_for(uint64_t states)
{
	unsigned int bits = PAN_HASH_BITS_MIN;

	while (bits < PAN_HASH_BITS_MAX && (UINT64_C(1) << bits) < 2 * states)
		bits++;
	return bits;
}

/* The cells of one scenario store about as many states as each other
 * (within a factor of ten, across profiles and fixes), those of another
 * a hundred times more or fewer: a scenario's largest search so far is
 * the estimate. */
void model_choose_hash_bits(struct cell_run *run)
{
	unsigned int s = (unsigned int)run->cell->scenario;
	uint64_t most = 0;

	pthread_mutex_lock(&run->cache->lock);
	if (s < SCENARIO_COUNT)
		most = run->cache->most_states[s];
	pthread_mutex_unlock(&run->cache->lock);
	run->hash_bits = most ? model_hash_bits_for(most) : PAN_HASH_BITS_FIRST;
}

void model_note_states(struct cell_run *run)
{
	unsigned int s = (unsigned int)run->cell->scenario;

	if (s >= SCENARIO_COUNT)
		return;
	pthread_mutex_lock(&run->cache->lock);
	if (run->r->states > run->cache->most_states[s])
		run->cache->most_states[s] = run->r->states;
	pthread_mutex_unlock(&run->cache->lock);
}
