/* SPDX-License-Identifier: MIT */
/*
 * The Spin driver's own declarations, shared by its files:
 *   model.c     a cell from start to end, cells in parallel, the judgement
 *   switches.c  a cell's -D switches and its name
 *   process.c   the tools as subprocesses, and the files they read and write
 *   spin.c      the steps: generate, compile, search, replay a trail
 *   cache.c     compiled verifiers and complete searches, shared by cells
 *   tape.c      the model cache: a cell's tool outputs kept across runs
 *   output.c    reading pan's and spin's output
 */
#ifndef PTLAB_MODEL_INTERNAL_H
#define PTLAB_MODEL_INTERNAL_H

#include <limits.h>
#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ptlab/model.h"

/*
 * pan's hash table (-wN: 2^N slots) holds every state (full storage: a
 * slot is a chain), so its size changes the time of a search, never its
 * states, its violations or their order. What it costs: pan clears the
 * whole table before it starts, 8 MiB at -w20, which was three quarters
 * of a small cell's search (most cells store 10^4 states); too few slots
 * make long chains, a third of a search of 2.5 million states (three
 * walkers) at -w20. A cell's search gets twice as many slots as the most
 * states a search of its scenario stored in the same ptlab_model_check()
 * (struct pan_cache), PAN_HASH_BITS_FIRST before one has; the replay of
 * a trail twice as many as its own complete search stored.
 */
#define PAN_HASH_BITS_FIRST 20
#define PAN_HASH_BITS_MIN 16
#define PAN_HASH_BITS_MAX 24
/* Bound on what is read back from a tool's output. */
#define OUTPUT_MAX (8u << 20)
#define MODEL_FILE "ptlab.pml"
#define TRAIL_FILE "ptlab.pml.trail"

struct pan_cache;

/* The steps a cell's tape holds: the depth-first search, then, if it
 * found something, the breadth-first one, and for a counterexample or a
 * witness its search, its trail file and the trail's replay (at most 5). */
#define TAPE_RECORDS 8

enum tape_mode {
	TAPE_OFF,	/* no model cache (or nothing to record): tools only */
	TAPE_MISS,	/* no tape; spin -a runs, unrecorded */
	TAPE_RECORD,	/* then the searches' outputs are kept (not the
			 * compiles': tape.building) */
	TAPE_REPLAY,	/* a hit: the outputs are read from the tape */
};

/* A cell's tape (tape.c); the cell's own, used by one thread. */
struct tape {
	enum tape_mode mode;
	/* a replay met a step the tape does not have: search live */
	bool out_of_step;
	/* a verifier is being compiled: its steps are not recorded */
	bool building;
	/* everything the tools are given, in words: the tape's key */
	char *inputs;
	size_t n, next;
	struct {
		char *sig;	/* the step and its arguments, or the file */
		char *text;	/* what it wrote */
	} rec[TAPE_RECORDS];
};


struct cell_run {
	const struct ptlab_model_options *o;
	const struct ptlab_cell *cell;
	struct ptlab_model_result *r;
	struct pan_cache *cache;
	/* the compiler of the verifiers (struct pan_cache) */
	const char *cc;
	/* the verifier this cell runs (absolute path), and whether it is the
	 * breadth-first one (model_run_pan_depth_first()) */
	char pan[PATH_MAX + 16];
	bool bfs;
	/* pan's -w for the cell's complete search (PAN_HASH_BITS_FIRST) */
	unsigned int hash_bits;
	/* The number pan gave the first violation of each kind found, by
	 * walker kind; and the first ABA witness. */
	uint64_t first_error[WALKER_KINDS][VIOLATION_KINDS];
	uint64_t first_witness;
	char dir[PATH_MAX];
	/* "-DNAME" for the cell's switches and the extra defines */
	char **dflags;
	size_t ndflags;
	struct tape tape;
};

struct pan_cache {
	/* protects entries, count and every entry's state; never held while
	 * a tool runs */
	pthread_mutex_t lock;
	/* broadcast when an entry leaves PAN_COMPILING */
	pthread_cond_t changed;
	struct pan_entry *entries;
	unsigned int count;
	/* complete searches; protected by lock, never removed before the
	 * cache is destroyed */
	struct search_memo *memos;
	/* the most states a complete search of each scenario stored so far
	 * (0: none yet), which sizes the next one's hash table; under lock */
	uint64_t most_states[SCENARIO_COUNT];
	/* holds the binaries; removed with the cache */
	char dir[PATH_MAX];
	/*
	 * pan's environment: ours with glibc.malloc.hugetlb=1 added to
	 * GLIBC_TUNABLES (NULL when out of memory: ours), so that pan's
	 * malloc() asks for transparent huge pages (madvise), which the
	 * kernel gives in its default "madvise" mode. pan's time is in its
	 * memory: page faults as it clears its hash table and states, TLB
	 * misses as it walks the chains; with huge pages a search of a
	 * million states takes a sixth to a fifth less CPU (18 ms of a
	 * small cell's 56 at -w20), finding the same states. An older
	 * glibc ignores the tunable.
	 */
	char **pan_env;
	char *pan_tunables;
	/* The compiler of the verifiers: tcc when it is installed, else gcc.
	 * Compiling is most of the model's time, and tcc compiles pan.c in
	 * about 20 ms where gcc -O0 takes about 400; the search is the
	 * model's, not the compiler's (the same states and violations, cell
	 * for cell), and tcc's verifier searches at half the speed, which
	 * costs less than the compile saves at these model sizes. */
	const char *cc;
	/* PTLAB_MODEL_CACHE (tape.c), set before the workers start and read
	 * only after: the directory (NULL: no cache), the identities of
	 * the tools, or why the variable's value cannot be used */
	char *tape_dir;
	char *tape_tools;
	char tape_error[PATH_MAX + 160];
};

/* The cell's error (its verdict: MODEL_ERROR). */
__attribute__((format(printf, 2, 3)))
void model_cell_error(struct cell_run *run, const char *fmt, ...);
/* @file in the cell's directory into @buf; 0 or -ENAMETOOLONG. */
int model_path_in(const struct cell_run *run, const char *file, char *buf, size_t len);

/* process.c */
/* Whether @name is an executable in PATH. */
bool model_in_path(const char *name);
/* Its path, the first of PATH, into @buf. */
bool model_find_in_path(const char *name, char *buf, size_t len);
void model_remove_dir(const char *dir);
int model_write_text(const char *path, const char *text);
char *model_read_text(const char *path);
/* The first line of @text that contains @needle, or its first line. */
void model_pick_line(const char *text, const char *needle, char *buf, size_t len);
char **model_tool_argv(const struct cell_run *run, const char *const *head, size_t nhead,
		       bool with_defines, const char *const *tail, size_t ntail);
char *model_run_step(struct cell_run *run, char **argv, char *const *envp, const char *what,
		     const char *outfile, const char *why_needle);

/* spin.c */
bool model_spin_generate(struct cell_run *run);
/* The compiler's argv for a verifier (@bfs: breadth-first) written to
 * @binary, @memlim its buffer for -DMEMLIM; the number of arguments. */
#define COMPILE_ARGS 10
size_t model_compile_args(const struct cell_run *run, bool bfs, const char *binary,
			  char memlim[48], const char *args[COMPILE_ARGS]);
bool model_compile_pan(struct cell_run *run, const char *binary);
char *model_run_pan(struct cell_run *run, uint64_t stop_at);
bool model_looks_for_witness(const struct cell_run *run);
char *model_run_pan_depth_first(struct cell_run *run, bool witness);
bool model_counterexample(struct cell_run *run);
bool model_witness_trail(struct cell_run *run);

/* cache.c */
int pan_cache_init(struct pan_cache *cache, const char *keep_dir);
void pan_cache_destroy(struct pan_cache *cache);
bool model_get_pan(struct cell_run *run);
bool model_search_reuse(struct cell_run *run);
void model_search_share(struct cell_run *run);
/* pan's -w for @states states: twice as many slots, within the bounds. */
unsigned int model_hash_bits_for(uint64_t states);
/* Sets run->hash_bits from the searches of the cell's scenario so far. */
void model_choose_hash_bits(struct cell_run *run);
/* Records the states of the cell's complete search for later cells. */
void model_note_states(struct cell_run *run);

/* tape.c */
/* Reads PTLAB_MODEL_CACHE; 0 (a value that cannot be used makes every
 * cell an error naming it: tape_error). */
int model_tape_init(struct pan_cache *cache);
void model_tape_destroy(struct pan_cache *cache);
/* The cell's tape: REPLAY when the cache has one for its inputs, else
 * MISS (OFF without a cache). */
void model_tape_open(struct cell_run *run);
/* A miss's model is generated: the steps after are recorded. */
void model_tape_record(struct cell_run *run);
/* After an out-of-step replay: a miss. */
void model_tape_restart(struct cell_run *run);
/* In a replay, sets *text to the step's recorded output (NULL on error)
 * and returns true: the tool is not run. */
bool model_tape_replay(struct cell_run *run, char *const *argv, const char *what, char **text);
/* The file @name a tool wrote in the cell's directory: kept in a
 * recording, written back from a replay into a kept cell's directory.
 * False (the cell's error set) when it cannot be. */
bool model_tape_file(struct cell_run *run, const char *name);
/* In a recording, keeps a step's output. */
void model_tape_note(struct cell_run *run, char *const *argv, const char *what,
		     const char *text);
/* Whether a replay took every step of its tape and gave a verdict:
 * else check_cell() searches live (a tape written by another ptlab, or
 * damaged inside its framing). */
bool model_tape_replayed_whole(const struct cell_run *run);
/* Writes a recorded tape of a cell with a verdict; marks a replayed
 * cell's result from_cache; frees the tape. */
void model_tape_close(struct cell_run *run);
/* output.c */
bool model_has_text(const char *text, const char *needle);
bool model_found_any(const char *out);
bool model_read_search(struct cell_run *run, const char *out);
bool model_read_replay(struct cell_run *run, const char *out, enum walker_kind want_walker,
		       int want_kind);
bool model_add_step(struct ptlab_model_result *r, const char *text, size_t len);

#endif /* PTLAB_MODEL_INTERNAL_H */
