/* SPDX-License-Identifier: MIT */
/*
 * The exhaustive oracle: model/ptlab.pml, a Promela model of the protocol,
 * checked by the Spin model checker for each cell (struct ptlab_cell:
 * profile x fixes x kernel generation x scenario x walker kinds). For a
 * cell, ptlab generates the model's switches from the profile's
 * properties, the fixes and the generation (never the profile's name), runs
 * `spin -a`, compiles pan and runs a complete search (depth-first; for a
 * cell where it finds anything, breadth-first again); when the search
 * finds a violation it replays the shortest one (`spin -t`) and
 * returns its steps in the protocol's words. The model does not know the
 * rule: ptlab_model_judge() compares its findings with ptlab_expect().
 * A cell's memory model (sc, tso, weak) and the barriers it drops
 * (ptlab_cell.memory, .dropped; ptlab/memory_model.h) become switches of
 * their own; the rule assumes every barrier, so a cell with one dropped
 * is reported and not judged (MODEL_UNJUDGED).
 *
 * Needs `spin` and `gcc` in PATH (Debian packages spin and gcc; spin
 * preprocesses the model with gcc). pan is compiled with `tcc` when it
 * is in PATH (Debian package tcc: about 20 times faster to compile, the
 * same search), else with gcc.
 */
#ifndef PTLAB_MODEL_H
#define PTLAB_MODEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ptlab/profile.h"
#include "ptlab/rule.h"

enum model_verdict {
	/* The complete search found no violation. */
	MODEL_SAFE,
	/* The search found a violation; a counterexample is attached. */
	MODEL_UNSAFE,
	/* No verdict: a tool failed, or the search was cut short (depth,
	 * memory) and so proves nothing. Never reported as safe. */
	MODEL_ERROR,
};

/* "safe", "unsafe", "error" */
const char *model_verdict_name(enum model_verdict v);

struct ptlab_model_result {
	enum model_verdict verdict;
	/* MODEL_UNSAFE: the kind of violation the counterexample shows, and
	 * the kind of walker that showed it. */
	enum violation_kind kind;
	enum walker_kind walker;
	/* Every kind the complete search found (it does not stop at the
	 * first violation), in all and by the kind of walker that showed
	 * it. */
	bool found[VIOLATION_KINDS];
	bool found_by_walker[WALKER_KINDS][VIOLATION_KINDS];
	/* States stored by the complete search that gave the verdict: the
	 * depth-first one for a safe cell, else the breadth-first one. */
	uint64_t states;
	/* Wall time of the cell: spin, the compiler, pan and the replay. */
	double seconds;
	/* mremap (ABA_WITNESS): the search found a walker whose PMD entry
	 * was written while it was inside and came back, whose re-checks
	 * passed, returning a page mapped there: the seed's ABA, a witness
	 * and no violation. */
	bool aba_witness;
	/* MODEL_UNSAFE: the counterexample, one protocol step per line,
	 * from the guided replay of the shortest violating run; else, with
	 * aba_witness, the shortest run to the witness (it ends safe). */
	char **steps;
	size_t nsteps;
	/* The search's outputs were read from the model cache
	 * (PTLAB_MODEL_CACHE, ptlab_model_check()), not from tools run
	 * for this cell. */
	bool from_cache;
	/* MODEL_ERROR: what went wrong and what to do about it. */
	char error[512];
};

struct ptlab_model_options {
	/* The model's text; NULL for the embedded model/ptlab.pml. */
	const char *source;
	/* Extra cpp definitions for the model, "NAME" or "NAME=VALUE". */
	const char *const *defines;
	size_t ndefines;
	/* Cells checked at once; 0 for the number of online CPUs. */
	unsigned int jobs;
	/* pan's search depth bound (-m); 0 for PTLAB_MODEL_DEPTH. */
	uint64_t max_depth;
	/* pan's memory bound in MiB (-DMEMLIM); 0 for PTLAB_MODEL_MEMORY_MB. */
	uint64_t memory_mb;
	/* NULL: each cell runs in a private mkdtemp() directory, removed
	 * afterwards. Else each cell's files (model, pan, trail) are kept in
	 * keep_dir/<ptlab_model_cell_name()>/, e.g. to replay a trail. */
	const char *keep_dir;
	/* Called when a cell's search is over, with the cells done so far
	 * (1..n), one call at a time, from a worker thread; NULL for none
	 * (ptlab model's progress line on a terminal). */
	void (*progress)(void *arg, size_t done, size_t n);
	void *progress_arg;
};

/* Far beyond the model's depth (under 100 steps); reaching it is
 * reported as an error, never as safe. */
#define PTLAB_MODEL_DEPTH 10000
#define PTLAB_MODEL_MEMORY_MB 1024

/* The embedded model/ptlab.pml, NUL-terminated. */
const char *ptlab_model_builtin(void);

/*
 * 0 when spin and gcc are in PATH; else -ENOENT with @msg saying which
 * tool is missing and what to install.
 */
int ptlab_model_tools(char *msg, size_t len);

/*
 * The model's switches for @c, from the profile's properties and the
 * fixes, the kernel generation and the walker kinds: up to
 * PTLAB_MODEL_MAX_SWITCHES names such as "RCU_TABLE_FREE", "FLUSH_IPI",
 * "SCENARIO_MUNMAP", "GUP_WALKERS" (each given to spin as -DNAME).
 */
#define PTLAB_MODEL_MAX_SWITCHES (24 + 1 + BARRIERS)
size_t ptlab_model_switches(const struct ptlab_cell *c,
			    const char *out[PTLAB_MODEL_MAX_SWITCHES]);

/* "<profile>.<fixes>.<scenario>[.<collapse-table>][.rcu-everywhere]
 * [.unshare-<sync>][.<walkers>]" (the parts that are not the defaults),
 * the cell's directory name. */
void ptlab_model_cell_name(const struct ptlab_cell *c, char *buf,
			   size_t len);

/*
 * Checks @n cells, ptlab_model_options.jobs at a time; results[i] is
 * cells[i]'s. Returns 0, or -errno when it could not start (results are
 * then untouched): -EINVAL for a cell whose memory model is unknown, or
 * that drops an unknown barrier or drops one under MEMORY_SC. A failure
 * inside a cell is that cell's MODEL_ERROR.
 * With PTLAB_MODEL_CACHE=DIR in the environment (created if missing), a
 * cell's pan and spin -t outputs are kept in DIR, keyed by everything
 * the tools are given (the model's text, the cell's switches, the
 * bounds, the tools' identities), and a later check of a cell with the
 * same inputs reads them instead of running the tools again
 * (from_cache); the same parsers read them (a kept cell's directory
 * then has the model and the trail, not a verifier). A value
 * that cannot be used makes every cell an error that names it.
 * Release each result with ptlab_model_result_release().
 */
int ptlab_model_check(const struct ptlab_model_options *o,
		      const struct ptlab_cell *cells, size_t n,
		      struct ptlab_model_result *results);

void ptlab_model_result_release(struct ptlab_model_result *r);

enum model_judgement {
	/* Same verdict as the rule, and the same kinds of violation. */
	MODEL_PASS,
	/* The model and the rule disagree. */
	MODEL_FAIL,
	/* The model gave no verdict. */
	MODEL_NO_VERDICT,
	/* A barrier was dropped: the rule assumes every barrier, so the
	 * verdict is reported, not judged (ptlab study barriers compares it
	 * with the cell's verdict with every barrier). */
	MODEL_UNJUDGED,
	MODEL_JUDGEMENTS,
};

/* "pass", "fail", "error", "n/a" */
const char *model_judgement_name(enum model_judgement j);

/*
 * Compares a result with ptlab_expect_cell() for its cell: a pass needs
 * the same safe/unsafe verdict and, for each walker kind, exactly the
 * kinds the rule says that walker can show.
 */
enum model_judgement ptlab_model_judge(const struct ptlab_cell *c,
				       const struct ptlab_model_result *r);

#endif /* PTLAB_MODEL_H */
