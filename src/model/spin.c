// SPDX-License-Identifier: MIT
/*
 * The steps of a cell, each a tool: spin -a generates the verifier, the
 * compiler builds it, pan searches, and spin -t replays the trail of a
 * violation (or of the ABA witness) for its STEP lines.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model_internal.h"


bool model_spin_generate(struct cell_run *run)
{
	static const char *const head[] = { "spin", "-a" };
	static const char *const tail[] = { MODEL_FILE };
	char *out = model_run_step(run, model_tool_argv(run, head, 2, true, tail, 1), NULL,
				   "spin -a", "spin.out", "rror");

	free(out);
	return out != NULL;
}

size_t model_compile_args(const struct cell_run *run, bool bfs, const char *binary,
			  char memlim[48], const char *args[COMPILE_ARGS])
{
	uint64_t mb = run->o->memory_mb ? run->o->memory_mb : PTLAB_MODEL_MEMORY_MB;
	size_t n = 0;

	snprintf(memlim, 48, "-DMEMLIM=%" PRIu64, mb);
	/* -DSAFETY: assertions and end states only; full state storage.
	 * -DBFS: the first violation found is a shortest one; without it,
	 * depth-first (model_run_pan_depth_first()). -O0: the compile costs
	 * more than the search. */
	args[n++] = run->cc;
	args[n++] = "-O0";
	args[n++] = "-w";
	args[n++] = "-DSAFETY";
	args[n++] = memlim;
	if (bfs)
		args[n++] = "-DBFS";
	args[n++] = "-o";
	args[n++] = binary;
	args[n++] = "pan.c";
	return n;
}

/* Compiles the cell's pan.c into @binary, breadth-first if run->bfs. */
bool model_compile_pan(struct cell_run *run, const char *binary)
{
	const char *args[COMPILE_ARGS];
	char memlim[48];
	size_t n = model_compile_args(run, run->bfs, binary, memlim, args);
	char *out = model_run_step(run, model_tool_argv(run, args, n, false, NULL, 0), NULL,
				   "compiling pan", "cc.out", "error");

	free(out);
	return out != NULL;
}

/*
 * Runs pan. With @stop_at 0 it searches everything and writes no trail;
 * else it stops at its @stop_at-th violation and writes that one's trail.
 * The search order is deterministic, so the n-th violation is the same
 * in both runs (whatever the hash table's size: model_internal.h). The
 * second run stores no more states than the first one did.
 */
/* pan with -c@stop, its hash table 2^@hash_bits slots; @what and
 * @outfile name the step (model_run_step()). */
static char *run_pan(struct cell_run *run, uint64_t stop, unsigned int hash_bits,
		     const char *what, const char *outfile)
{
	char depth[48], c[48], hash[16];
	uint64_t d = run->o->max_depth ? run->o->max_depth : PTLAB_MODEL_DEPTH;
	const char *args[] = { run->pan, c, depth, hash };

	snprintf(c, sizeof(c), "-c%" PRIu64, stop);
	snprintf(depth, sizeof(depth), "-m%" PRIu64, d);
	snprintf(hash, sizeof(hash), "-w%u", hash_bits);
	return model_run_step(run, model_tool_argv(run, args, 4, false, NULL, 0),
			      run->cache->pan_env, what, outfile, "pan:");
}

char *model_run_pan(struct cell_run *run, uint64_t stop_at)
{
	return run_pan(run, stop_at, stop_at ? model_hash_bits_for(run->r->states) : run->hash_bits,
		       "pan", stop_at ? "pan-trail.out" : "pan.out");
}

/* Whether the cell's search looks for the ABA witness (mremap's). */
bool model_looks_for_witness(const struct cell_run *run)
{
	for (size_t i = 0; i < run->ndflags; i++)
		if (!strcmp(run->dflags[i], "-DABA_WITNESS"))
			return true;
	return false;
}

/*
 * A cell's first complete search is depth-first: pan's depth-first
 * search stores fewer states than its breadth-first one (0.77 to 0.93 of
 * them, measured) and takes half its CPU or less (1.8 s against 4.1 for
 * the 1.9 million states of pt-reclaim with three walkers, tcc's
 * verifiers), with the same partial-order reduction, sound for
 * assertions either way. A safe cell needs nothing else. A counterexample
 * must be a shortest run, and the violation it ends in is named by its
 * number in the breadth-first order (model_counterexample()), so a cell
 * with a violation is searched again breadth-first, as if the first
 * search had not been: that one stops at its first (-c1). A cell that
 * looks for the ABA witness searches on (@witness: -c0), since a witness
 * is not a violation: if it finds none, every error of the breadth-first
 * order is a witness, and the first is a shortest one
 * (model_witness_trail()).
 */
char *model_run_pan_depth_first(struct cell_run *run, bool witness)
{
	return run_pan(run, witness ? 0 : 1, run->hash_bits, "pan depth-first", "pan-dfs.out");
}

/*
 * Runs pan again to its @stop_at-th event (@what: "a violation", "the ABA
 * witness"), whose trail it then writes, and has spin -t replay the trail
 * for its STEP lines, read as @walker's up to a violation of @kind (-1:
 * the whole trail).
 */
static bool replay_trail(struct cell_run *run, uint64_t stop_at, const char *what,
			 enum walker_kind walker, int kind)
{
	static const char *const head[] = { "spin", "-t", "-T" };
	static const char *const tail[] = { MODEL_FILE };
	char *out = model_run_pan(run, stop_at);
	bool ok;

	if (!out)
		return false;
	ok = model_has_text(out, "wrote " TRAIL_FILE);
	free(out);
	if (!ok) {
		model_cell_error(run, "pan found %s but wrote no trail", what);
		return false;
	}
	if (!model_tape_file(run, TRAIL_FILE))
		return false;
	out = model_run_step(run, model_tool_argv(run, head, 3, true, tail, 1), NULL, "spin -t",
			     "replay.out", "rror");
	if (!out)
		return false;
	ok = model_read_replay(run, out, walker, kind);
	free(out);
	return ok;
}

/*
 * A counterexample of the first kind found, GUP-fast walkers' first, in
 * the order of enum violation_kind (a stale table before its
 * consequences): the first such violation of the breadth-first search,
 * so a shortest one, written by pan and replayed by spin -t.
 */
bool model_counterexample(struct cell_run *run)
{
	int want = 0, w = 0;

	while (!run->r->found_by_walker[w][want])
		if (++want == VIOLATION_KINDS) {
			want = 0;
			w++;
		}
	return replay_trail(run, run->first_error[w][want], "a violation", (enum walker_kind)w,
			    want);
}

/* The shortest run to the ABA witness (a safe cell's trail): replayed
 * as a counterexample is. */
bool model_witness_trail(struct cell_run *run)
{
	return replay_trail(run, run->first_witness, "the ABA witness", WALKER_GUP, -1);
}
