// SPDX-License-Identifier: MIT
/*
 * ptlab model: checks model/ptlab.pml with Spin, one cell per private
 * directory, several cells at once. For a cell:
 *   spin -a -D<switches> ptlab.pml      generate the verifier pan.c
 *   gcc -DSAFETY ... pan.c              exhaustive: no -DBITSTATE, no -DHC
 *   ./pan -c1                           depth-first, complete: if it finds
 *                                       no violation the cell is safe;
 *   gcc -DSAFETY -DBFS ... pan.c        else breadth-first:
 *   ./pan -c0                           every violation
 *   ./pan -cN, spin -t                  only if one was found: pan stops
 *                                       at the first violation of the
 *                                       chosen kind and writes its trail,
 *                                       which spin replays for its STEP
 *                                       lines
 * Cells whose generated verifier is the same text share one compile;
 * with PTLAB_MODEL_CACHE, a cell searched before by another process
 * reads that search's outputs instead (tape.c).
 * The search's output is read strictly: a search cut short by depth or
 * memory, or anything that is not a full state-space search, makes the
 * cell an error, never "safe".
 */
#include <errno.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "model_internal.h"
#include "util/time.h"

/*
 * The model, embedded at build time. The path is relative to the
 * directory make runs in (the repository root); the Makefile makes this
 * object depend on model/ptlab.pml so that an edited model is re-embedded.
 */
__asm__(".pushsection .rodata\n"
	".balign 16\n"
	".globl ptlab_model_pml\n"
	".hidden ptlab_model_pml\n"
	"ptlab_model_pml:\n"
	".incbin \"model/ptlab.pml\"\n"
	".byte 0\n"
	".popsection\n");
extern const char ptlab_model_pml[];

const char *ptlab_model_builtin(void)
{
	return ptlab_model_pml;
}

const char *model_verdict_name(enum model_verdict v)
{
	switch (v) {
	case MODEL_SAFE:
		return "safe";
	case MODEL_UNSAFE:
		return "unsafe";
	case MODEL_ERROR:
		return "error";
	}
	return "?";
}

const char *model_judgement_name(enum model_judgement j)
{
	switch (j) {
	case MODEL_PASS:
		return "pass";
	case MODEL_FAIL:
		return "fail";
	case MODEL_NO_VERDICT:
		return "error";
	case MODEL_UNJUDGED:
		return "n/a";
	case MODEL_JUDGEMENTS:
		break;
	}
	return "?";
}

__attribute__((format(printf, 2, 3)))
void model_cell_error(struct cell_run *run, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(run->r->error, sizeof(run->r->error), fmt, ap);
	va_end(ap);
	run->r->verdict = MODEL_ERROR;
}

int model_path_in(const struct cell_run *run, const char *file, char *buf,
		  size_t len)
{
	int n = snprintf(buf, len, "%s/%s", run->dir, file);

	return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : 0;
}

/* ---- a cell, start to end ---- */

/* The cell's directory, as an absolute path: the tools run in it. */
static bool make_dir(struct cell_run *run)
{
	static const char *const outputs[] = {
		TRAIL_FILE, "pan", "pan.out", "pan-dfs.out", "pan-trail.out", "replay.out",
	};
	char name[128], dir[PATH_MAX], trail[PATH_MAX];

	if (!run->o->keep_dir) {
		const char *tmp = getenv("TMPDIR");

		snprintf(dir, sizeof(dir), "%s/ptlab-model.XXXXXX",
			 tmp && *tmp ? tmp : "/tmp");
		if (!mkdtemp(dir)) {
			model_cell_error(run, "mkdtemp %s: %s", dir, strerror(errno));
			return false;
		}
	} else {
		ptlab_model_cell_name(run->cell, name, sizeof(name));
		if (mkdir(run->o->keep_dir, 0755) && errno != EEXIST) {
			model_cell_error(run, "mkdir %s: %s", run->o->keep_dir, strerror(errno));
			return false;
		}
		if (snprintf(dir, sizeof(dir), "%s/%s", run->o->keep_dir, name) >=
			    (int)sizeof(dir) ||
		    (mkdir(dir, 0755) && errno != EEXIST)) {
			model_cell_error(run, "mkdir %s: %s", dir, strerror(errno));
			return false;
		}
	}
	if (!realpath(dir, run->dir)) {
		model_cell_error(run, "%s: %s", dir, strerror(errno));
		if (!run->o->keep_dir)
			rmdir(dir);
		return false;
	}
	/* a kept directory may hold an earlier run's files */
	for (size_t i = 0; i < sizeof(outputs) / sizeof(*outputs); i++)
		if (!model_path_in(run, outputs[i], trail, sizeof(trail)))
			unlink(trail);
	return true;
}

static bool make_dflags(struct cell_run *run)
{
	const char *sw[PTLAB_MODEL_MAX_SWITCHES];
	size_t nsw = ptlab_model_switches(run->cell, sw);
	size_t n = nsw + run->o->ndefines;

	run->dflags = calloc(n, sizeof(*run->dflags));
	if (!run->dflags)
		return false;
	for (size_t i = 0; i < n; i++) {
		const char *name = i < nsw ? sw[i] : run->o->defines[i - nsw];

		if (asprintf(&run->dflags[i], "-D%s", name) < 0) {
			run->dflags[i] = NULL;
			return false;
		}
		run->ndflags = i + 1;
	}
	return true;
}

static void free_dflags(struct cell_run *run)
{
	for (size_t i = 0; i < run->ndflags; i++)
		free(run->dflags[i]);
	free(run->dflags);
}

/* The cell's result as before its search. */
static void reset_result(struct cell_run *run)
{
	ptlab_model_result_release(run->r);
	memset(run->r, 0, sizeof(*run->r));
	run->r->verdict = MODEL_ERROR;
	memset(run->first_error, 0, sizeof(run->first_error));
	run->first_witness = 0;
}

/* A verifier for the cell (run->bfs says which), linked into a kept
 * cell's directory. */
static bool get_pan(struct cell_run *run)
{
	char own[PATH_MAX];
	bool ok;

	run->tape.building = true;
	ok = model_get_pan(run);
	run->tape.building = false;
	if (!ok)
		return false;
	if (run->o->keep_dir && model_path_in(run, "pan", own, sizeof(own)) == 0 &&
	    strcmp(own, run->pan) != 0) {
		unlink(own);
		if (link(run->pan, own) != 0) {
			/* only a convenience (the cell's own pan): the
			 * shared verifier runs the cell either way */
		}
	}
	return true;
}

/* The cell's search, its verdict and, if it has one, its trail: with
 * the tools in the cell's directory, or from a replayed tape with none.
 * Depth-first first (model_run_pan_depth_first()): a cell it finds no
 * violation in is safe; else the complete search is breadth-first, whose
 * numbering names the trail's violation. */
static void search_cell(struct cell_run *run)
{
	const struct ptlab_model_options *o = run->o;
	struct ptlab_model_result *r = run->r;
	bool live = run->tape.mode != TAPE_REPLAY;
	/* a kept cell read from the cache has the model and its trail */
	bool files = live || o->keep_dir;
	char model[PATH_MAX];
	bool witness, safe;
	char *out;
	int err;

	if (files && !make_dir(run))
		return;
	if (files && ((err = model_path_in(run, MODEL_FILE, model, sizeof(model))) ||
		      (err = model_write_text(model, o->source ? o->source
							      : ptlab_model_builtin())))) {
		model_cell_error(run, "writing %s: %s", model, strerror(-err));
		goto out_dir;
	}
	if (live && !model_spin_generate(run))
		goto out_dir;
	model_tape_record(run);
	model_choose_hash_bits(run);
	witness = model_looks_for_witness(run);
	run->bfs = false;
	out = !live || get_pan(run) ? model_run_pan_depth_first(run, witness) : NULL;
	safe = out && (witness || !model_found_any(out)) && model_read_search(run, out) &&
	       r->verdict == MODEL_SAFE;
	free(out);
	if (safe) {
		model_note_states(run);
		if (r->aba_witness) {
			/* no violation anywhere: the breadth-first search's
			 * first error is a shortest run to the witness */
			run->first_witness = 1;
			run->bfs = true;
			if (!live || get_pan(run))
				model_witness_trail(run);
		}
		goto out_dir;
	}
	if (run->tape.out_of_step)
		goto out_dir;
	/* it found a violation, or it was cut short (its stack is deeper
	 * than breadth-first levels) or failed: breadth-first, as if it had
	 * not been */
	reset_result(run);
	run->bfs = true;
	if (live && !get_pan(run))
		goto out_dir;
	out = model_run_pan(run, 0);
	if (!out)
		goto out_dir;
	if (model_read_search(run, out)) {
		model_note_states(run);
		if (r->verdict == MODEL_UNSAFE)
			model_counterexample(run);
		else if (r->aba_witness)
			model_witness_trail(run);
	}
	free(out);
out_dir:
	if (files && !o->keep_dir)
		model_remove_dir(run->dir);
}

static void check_cell(const struct ptlab_model_options *o,
		       struct pan_cache *cache,
		       const struct ptlab_cell *cell,
		       struct ptlab_model_result *r)
{
	struct cell_run run = { .o = o, .cell = cell, .r = r, .cache = cache, .cc = cache->cc };
	double start = monotonic_s();

	memset(r, 0, sizeof(*r));
	r->verdict = MODEL_ERROR;
	if (!make_dflags(&run)) {
		model_cell_error(&run, "out of memory");
		goto out_free;
	}
	if (model_search_reuse(&run))
		goto out_free;
	model_tape_open(&run);
	if (r->error[0])
		goto out_tape;
	search_cell(&run);
	if (run.tape.mode == TAPE_REPLAY && !model_tape_replayed_whole(&run)) {
		/* a tape of another ptlab's steps, or damaged: search live,
		 * record anew */
		reset_result(&run);
		model_tape_restart(&run);
		search_cell(&run);
	}
	model_search_share(&run);
out_tape:
	model_tape_close(&run);
out_free:
	free_dflags(&run);
	r->seconds = monotonic_s() - start;
}

/* ---- cells in parallel ---- */

struct pool {
	const struct ptlab_model_options *o;
	struct pan_cache cache;
	const struct ptlab_cell *cells;
	struct ptlab_model_result *results;
	size_t n;
	/* the next cell to check; each worker claims cells from it */
	atomic_size_t next;
	/* cells done, and the lock that makes o->progress one call at a time */
	pthread_mutex_t progress_lock;
	size_t done;
};

static void *pool_worker(void *arg)
{
	struct pool *p = arg;
	size_t i;

	while ((i = atomic_fetch_add(&p->next, 1)) < p->n) {
		check_cell(p->o, &p->cache, &p->cells[i], &p->results[i]);
		if (p->o->progress) {
			pthread_mutex_lock(&p->progress_lock);
			p->o->progress(p->o->progress_arg, ++p->done, p->n);
			pthread_mutex_unlock(&p->progress_lock);
		}
	}
	return NULL;
}

int ptlab_model_check(const struct ptlab_model_options *o,
		      const struct ptlab_cell *cells, size_t n,
		      struct ptlab_model_result *results)
{
	struct pool p = { .o = o, .cells = cells, .results = results, .n = n,
			  .progress_lock = PTHREAD_MUTEX_INITIALIZER };
	long online = sysconf(_SC_NPROCESSORS_ONLN);
	size_t jobs = o->jobs ? o->jobs : (online > 0 ? (size_t)online : 1);
	pthread_t *threads;
	size_t started = 0;
	int err = 0;

	for (size_t i = 0; i < n; i++)
		if ((unsigned int)cells[i].memory >= MEMORY_MODELS ||
		    (cells[i].dropped & ~(BARRIER_BIT(BARRIERS) - 1)) ||
		    (cells[i].dropped && cells[i].memory == MEMORY_SC))
			return -EINVAL;
	if (jobs > n)
		jobs = n;
	if (!jobs)
		return 0;
	threads = calloc(jobs, sizeof(*threads));
	if (!threads)
		return -ENOMEM;
	err = pan_cache_init(&p.cache, o->keep_dir);
	if (err) {
		free(threads);
		return err;
	}
	atomic_init(&p.next, 0);
	for (; started < jobs; started++) {
		err = pthread_create(&threads[started], NULL, pool_worker, &p);
		if (err)
			break;
	}
	/* with fewer workers than asked, the ones started do all cells */
	if (!started)
		pool_worker(&p);
	for (size_t i = 0; i < started; i++)
		pthread_join(threads[i], NULL);
	pan_cache_destroy(&p.cache);
	free(threads);
	return 0;
}

void ptlab_model_result_release(struct ptlab_model_result *r)
{
	for (size_t i = 0; i < r->nsteps; i++)
		free(r->steps[i]);
	free(r->steps);
	r->steps = NULL;
	r->nsteps = 0;
}

enum model_judgement ptlab_model_judge(const struct ptlab_cell *c,
				       const struct ptlab_model_result *r)
{
	struct ptlab_expectation e = ptlab_expect_cell(c);

	if (r->verdict == MODEL_ERROR)
		return MODEL_NO_VERDICT;
	if (c->dropped)
		return MODEL_UNJUDGED;
	if ((r->verdict == MODEL_UNSAFE) != e.unsafe)
		return MODEL_FAIL;
	for (int w = 0; w < WALKER_KINDS; w++)
		for (int k = 0; k < VIOLATION_KINDS; k++)
			if (r->found_by_walker[w][k] != e.by_walker[w][k])
				return MODEL_FAIL;
	return MODEL_PASS;
}
