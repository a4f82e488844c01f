// SPDX-License-Identifier: MIT
/*
 * ptlab model: checks model/ptlab.pml with Spin, one cell per private
 * directory, several cells at once. For a cell:
 *   spin -a -D<switches> ptlab.pml      generate the verifier pan.c
 *   gcc -DSAFETY -DBFS ... pan.c        exhaustive: no -DBITSTATE, no -DHC
 *   ./pan -c0                           complete search, every violation
 *   ./pan -cN, spin -t                  only if one was found: pan stops
 *                                       at the first violation of the
 *                                       chosen kind and writes its trail,
 *                                       which spin replays for its STEP
 *                                       lines
 * Cells whose generated verifier is the same text share one compile.
 * The search's output is read strictly: a search cut short by depth or
 * memory, or anything that is not a full state-space search, makes the
 * cell an error, never "safe".
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <pthread.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "ptlab/model.h"
#include "util/time.h"

extern char **environ;

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

/* Hash table of 2^20 slots: the largest cell stores about 10^5 states;
 * more would only lengthen the collision chains, never lose a state. */
#define PAN_HASH_BITS "-w20"
/* Bound on what is read back from a tool's output. */
#define OUTPUT_MAX (8u << 20)
#define MODEL_FILE "ptlab.pml"
#define TRAIL_FILE "ptlab.pml.trail"

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
	}
	return "?";
}

/* ---- tools ---- */

static bool in_path(const char *name)
{
	const char *path = getenv("PATH");
	char buf[PATH_MAX];

	while (path && *path) {
		size_t n = strcspn(path, ":");

		if (snprintf(buf, sizeof(buf), "%.*s/%s", (int)n, n ? path : ".",
			     name) < (int)sizeof(buf) &&
		    access(buf, X_OK) == 0)
			return true;
		path += n;
		if (*path == ':')
			path++;
	}
	return false;
}

int ptlab_model_tools(char *msg, size_t len)
{
	if (!in_path("spin")) {
		snprintf(msg, len,
			 "spin not found in PATH: the model needs the Spin model "
			 "checker; install it with: apt-get install spin "
			 "(or run scripts/deps.sh)");
		return -ENOENT;
	}
	/* spin preprocesses the model with "gcc -E", and pan is compiled
	 * with it unless tcc is installed (struct pan_cache) */
	if (!in_path("gcc")) {
		snprintf(msg, len,
			 "gcc not found in PATH: spin preprocesses the model with "
			 "gcc and pan is compiled with it; install it with: "
			 "apt-get install gcc (or run scripts/deps.sh)");
		return -ENOENT;
	}
	return 0;
}

/* ---- switches ---- */

static const char *flush_switch(enum tlb_flush_style s)
{
	switch (s) {
	case TLB_FLUSH_IPI:
		return "FLUSH_IPI";
	case TLB_FLUSH_BROADCAST:
		return "FLUSH_BROADCAST";
	case TLB_FLUSH_HYPERCALL:
		/* the hypervisor flushes remote TLBs: no guest IPI, no wait */
		return "FLUSH_HYPERCALL";
	case TLB_FLUSH_PARAVIRT:
		return "FLUSH_PARAVIRT";
	}
	return "FLUSH_UNKNOWN";
}

static const char *scenario_switch(enum scenario s)
{
	switch (s) {
	case SCENARIO_COLLAPSE_ZAP:
		return "SCENARIO_COLLAPSE_ZAP";
	case SCENARIO_COLLAPSE_PIN:
		return "SCENARIO_COLLAPSE_PIN";
	case SCENARIO_MUNMAP:
		return "SCENARIO_MUNMAP";
	case SCENARIO_PT_RECLAIM:
		return "SCENARIO_PT_RECLAIM";
	case SCENARIO_HUGETLB_UNSHARE:
		return "SCENARIO_HUGETLB_UNSHARE";
	case SCENARIO_MUNMAP_PMD:
		return "SCENARIO_MUNMAP_PMD";
	case SCENARIO_RETRACT:
		return "SCENARIO_RETRACT";
	case SCENARIO_MREMAP:
		return "SCENARIO_MREMAP";
	case SCENARIO_COUNT:
		break;
	}
	return "SCENARIO_UNKNOWN";
}

static unsigned int cell_walkers(const struct ptlab_cell *c)
{
	return ptlab_cell_walkers(c);
}

size_t ptlab_model_switches(const struct ptlab_cell *c,
			    const char *out[PTLAB_MODEL_MAX_SWITCHES])
{
	size_t n = 0;

	/* --rcu-everywhere: every profile frees its tables of every level
	 * as RCU table free does (and its tlb_remove_table_sync_one() sends
	 * IPIs). */
	if (c->profile->rcu_table_free || c->kernel.rcu_everywhere)
		out[n++] = "RCU_TABLE_FREE";
	if (c->profile->sync_ipi || c->kernel.rcu_everywhere)
		out[n++] = "SYNC_IPI";
	/* How PMD tables are freed matters where one is: only there, so
	 * that the other scenarios' cells of profiles that differ in it
	 * share their searches. Neither: the RCU batch. */
	if (c->scenario == SCENARIO_MUNMAP_PMD && !c->kernel.rcu_everywhere &&
	    c->profile->upper_table_free == UPPER_TABLE_AT_ONCE)
		out[n++] = "UPPER_AT_ONCE";
	if (c->scenario == SCENARIO_MUNMAP_PMD && !c->kernel.rcu_everywhere &&
	    c->profile->upper_table_free == UPPER_TABLE_AFTER_FLUSH)
		out[n++] = "UPPER_AFTER_FLUSH";
	/* Whether mremap moves the PTE table whole: only there. */
	if (c->scenario == SCENARIO_MREMAP && c->profile->move_pmd)
		out[n++] = "MOVE_PMD";
	/* mremap's searches also look for the seed's ABA (a witness) */
	if (c->scenario == SCENARIO_MREMAP)
		out[n++] = "ABA_WITNESS";
	out[n++] = flush_switch(c->profile->flush);
	if (c->profile->deposit == DEPOSIT_IN_TABLE)
		out[n++] = "DEPOSIT_IN_TABLE";
	if (c->profile->collapse_flush_waits)
		out[n++] = "COLLAPSE_FLUSH_WAITS";
	if (c->fixes.pmd_recheck)
		out[n++] = "PMD_RECHECK";
	if (c->fixes.sync != SYNC_NONE)
		out[n++] = "IPI_SYNC";
	/* The policy wherever the kernel syncs: the fix's, or every CPU. */
	switch (ptlab_sync_policy(c->fixes)) {
	case SYNC_SKIP_IF_FLUSH_IPI:
		out[n++] = "SYNC_SKIP_IF_FLUSH_IPI";
		break;
	case SYNC_SKIP_NAIVE:
		out[n++] = "SYNC_SKIP_NAIVE";
		break;
	case SYNC_WALKERS:
		out[n++] = "SYNC_WALKERS";
		break;
	case SYNC_MM_CPUMASK:
		out[n++] = "SYNC_MM_CPUMASK";
		break;
	default:
		break;
	}
	if (c->profile->mm_cpumask)
		out[n++] = "MM_CPUMASK";
	if (ptlab_kernel_pt_reclaim(c->kernel))
		out[n++] = "PT_RECLAIM";
	out[n++] = scenario_switch(c->scenario);
	if (c->kernel.collapse_table == COLLAPSE_TABLE_ZAP_RCU)
		out[n++] = "COLLAPSE_ZAP_RCU";
	else if (c->kernel.collapse_table == COLLAPSE_TABLE_FRESH)
		out[n++] = "COLLAPSE_FRESH";
	if (c->kernel.retract == RETRACT_DEFER)
		out[n++] = "RETRACT_DEFER";
	switch (ptlab_unshare_sync(c->kernel, c->fixes)) {
	case UNSHARE_SYNC_PER_UNSHARE:
		out[n++] = "UNSHARE_SYNC_PER_UNSHARE";
		break;
	case UNSHARE_SYNC_GATHER:
		out[n++] = "UNSHARE_SYNC_GATHER";
		break;
	default:
		break;
	}
	if (cell_walkers(c) & WALKER_MASK(WALKER_GUP))
		out[n++] = "GUP_WALKERS";
	if (cell_walkers(c) & WALKER_MASK(WALKER_RCU))
		out[n++] = "RCU_WALKERS";
	return n;
}

void ptlab_model_cell_name(const struct ptlab_cell *c, char *buf,
			   size_t len)
{
	int n = snprintf(buf, len, "%s.%s.%s", c->profile->name,
			 ptlab_fixes_name(c->fixes), scenario_name(c->scenario));

	if (n >= 0 && (size_t)n < len && c->fixes.sync != SYNC_NONE && c->fixes.sync != SYNC_ALL)
		n += snprintf(buf + n, len - (size_t)n, ".sync-%s", sync_policy_name(c->fixes.sync));
	if (n >= 0 && (size_t)n < len && c->kernel.collapse_table != COLLAPSE_TABLE_REUSE)
		n += snprintf(buf + n, len - (size_t)n, ".%s",
			      collapse_table_name(c->kernel.collapse_table));
	if (n >= 0 && (size_t)n < len && c->kernel.rcu_everywhere)
		n += snprintf(buf + n, len - (size_t)n, ".rcu-everywhere");
	if (n >= 0 && (size_t)n < len && c->kernel.retract != RETRACT_FREE)
		n += snprintf(buf + n, len - (size_t)n, ".%s", retract_gen_name(c->kernel.retract));
	if (n >= 0 && (size_t)n < len && c->kernel.unshare_sync != UNSHARE_SYNC_BY_FIXES)
		n += snprintf(buf + n, len - (size_t)n, ".unshare-%s",
			      unshare_sync_name(c->kernel.unshare_sync));
	if (n >= 0 && (size_t)n < len && c->walkers &&
	    c->walkers != scenario_default_walkers(c->scenario, c->kernel))
		snprintf(buf + n, len - (size_t)n, ".%s",
			 c->walkers == WALKER_MASK(WALKER_RCU) ? "rcu" :
			 c->walkers == WALKER_MASK(WALKER_GUP) ? "gup" : "gup+rcu");
}

/* ---- one cell's directory and tools ---- */

struct pan_cache;

struct cell_run {
	const struct ptlab_model_options *o;
	const struct ptlab_cell *cell;
	struct ptlab_model_result *r;
	struct pan_cache *cache;
	/* the compiler of the verifiers (struct pan_cache) */
	const char *cc;
	/* the verifier this cell runs (absolute path) */
	char pan[PATH_MAX + 16];
	/* The number pan gave the first violation of each kind found, by
	 * walker kind; and the first ABA witness. */
	uint64_t first_error[WALKER_KINDS][VIOLATION_KINDS];
	uint64_t first_witness;
	char dir[PATH_MAX];
	/* "-DNAME" for the cell's switches and the extra defines */
	char **dflags;
	size_t ndflags;
};

__attribute__((format(printf, 2, 3)))
static void cell_error(struct cell_run *run, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(run->r->error, sizeof(run->r->error), fmt, ap);
	va_end(ap);
	run->r->verdict = MODEL_ERROR;
}

static int path_in(const struct cell_run *run, const char *file, char *buf,
		   size_t len)
{
	int n = snprintf(buf, len, "%s/%s", run->dir, file);

	return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : 0;
}

/* Removes a directory of files (the tools write no subdirectories). */
static void remove_dir(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;

	if (!d)
		return;
	while ((e = readdir(d)))
		if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
			unlinkat(dirfd(d), e->d_name, 0);
	closedir(d);
	rmdir(dir);
}

static int write_text(const char *path, const char *text)
{
	size_t len = strlen(text);
	FILE *f = fopen(path, "w");
	int err = 0;

	if (!f)
		return -errno;
	if (fwrite(text, 1, len, f) != len)
		err = -EIO;
	if (fclose(f) && !err)
		err = -errno;
	return err;
}

/* The whole file as a NUL-terminated string (at most OUTPUT_MAX bytes). */
static char *read_text(const char *path)
{
	FILE *f = fopen(path, "r");
	size_t cap = 4096, len = 0;
	char *buf;

	if (!f)
		return NULL;
	buf = malloc(cap);
	while (buf) {
		size_t n = fread(buf + len, 1, cap - 1 - len, f);

		len += n;
		if (len + 1 < cap || cap >= OUTPUT_MAX)
			break;
		char *bigger = realloc(buf, cap * 2);

		if (!bigger) {
			free(buf);
			buf = NULL;
			break;
		}
		buf = bigger;
		cap *= 2;
	}
	fclose(f);
	if (buf)
		buf[len] = '\0';
	return buf;
}

/*
 * Runs @argv (argv[0] looked up in PATH) in the cell's directory with
 * stdin from /dev/null and stdout+stderr into @outfile there; returns its
 * output (caller frees) and sets *status to the exit status, or 128 +
 * signal. NULL when it could not be run, with *status = -errno.
 */
static char *run_tool(struct cell_run *run, char *const argv[],
		      const char *outfile, int *status)
{
	posix_spawn_file_actions_t fa;
	char out[PATH_MAX];
	pid_t pid;
	int ws, err;

	if ((err = path_in(run, outfile, out, sizeof(out)))) {
		*status = err;
		return NULL;
	}
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
	posix_spawn_file_actions_addopen(&fa, 1, out, O_WRONLY | O_CREAT | O_TRUNC,
					 0644);
	posix_spawn_file_actions_adddup2(&fa, 1, 2);
	posix_spawn_file_actions_addchdir_np(&fa, run->dir);
	err = posix_spawnp(&pid, argv[0], &fa, NULL, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	if (err) {
		*status = -err;
		return NULL;
	}
	while (waitpid(pid, &ws, 0) < 0) {
		if (errno != EINTR) {
			*status = -errno;
			return NULL;
		}
	}
	*status = WIFEXITED(ws) ? WEXITSTATUS(ws) : 128 + WTERMSIG(ws);
	return read_text(out);
}

/* The first line of @text that contains @needle, or its first line, for
 * an error message. */
static void pick_line(const char *text, const char *needle, char *buf,
		      size_t len)
{
	const char *l = needle && text ? strstr(text, needle) : NULL;

	if (l)
		while (l > text && l[-1] != '\n')
			l--;
	else
		l = text ? text : "";
	snprintf(buf, len, "%.*s", (int)strcspn(l, "\n"), l);
}

/* The tool's argv: @head, then the -D flags if @with_defines, then @tail;
 * a NULL-terminated array the caller frees (not its strings). */
static char **tool_argv(const struct cell_run *run, const char *const *head,
			size_t nhead, bool with_defines, const char *const *tail,
			size_t ntail)
{
	size_t n = nhead + (with_defines ? run->ndflags : 0) + ntail;
	char **argv = calloc(n + 1, sizeof(*argv));
	size_t i = 0;

	if (!argv)
		return NULL;
	for (size_t k = 0; k < nhead; k++)
		argv[i++] = (char *)head[k];
	for (size_t k = 0; with_defines && k < run->ndflags; k++)
		argv[i++] = run->dflags[k];
	for (size_t k = 0; k < ntail; k++)
		argv[i++] = (char *)tail[k];
	return argv;
}

/* Runs one tool; its output on success (exit 0), else NULL after setting
 * the cell's error from the line of the output that says why. */
static char *run_step(struct cell_run *run, char **argv, const char *what,
		      const char *outfile, const char *why_needle)
{
	int status;
	char *text, line[256];

	if (!argv) {
		cell_error(run, "%s: out of memory", what);
		return NULL;
	}
	text = run_tool(run, argv, outfile, &status);
	free(argv);
	if (!text && status < 0) {
		cell_error(run, "%s: cannot run: %s", what, strerror(-status));
		return NULL;
	}
	if (status != 0) {
		pick_line(text, why_needle, line, sizeof(line));
		cell_error(run, "%s failed (status %d): %s", what, status, line);
		free(text);
		return NULL;
	}
	if (!text)
		cell_error(run, "%s: cannot read its output", what);
	return text;
}

static bool spin_generate(struct cell_run *run)
{
	static const char *const head[] = { "spin", "-a" };
	static const char *const tail[] = { MODEL_FILE };
	char *out = run_step(run, tool_argv(run, head, 2, true, tail, 1),
			     "spin -a", "spin.out", "rror");

	free(out);
	return out != NULL;
}

/* Compiles the cell's pan.c into @binary. */
static bool compile_pan(struct cell_run *run, const char *binary)
{
	char memlim[48];
	uint64_t mb = run->o->memory_mb ? run->o->memory_mb : PTLAB_MODEL_MEMORY_MB;
	/* -DSAFETY: assertions and end states only; -DBFS: the first
	 * violation found is a shortest one; full state storage. -O0: the
	 * compile costs more than the search. */
	const char *const args[] = { run->cc, "-O0", "-w", "-DSAFETY", "-DBFS",
				     memlim, "-o", binary, "pan.c" };
	char *out;

	snprintf(memlim, sizeof(memlim), "-DMEMLIM=%" PRIu64, mb);
	out = run_step(run, tool_argv(run, args, 9, false, NULL, 0),
		       "compiling pan", "cc.out", "error");
	free(out);
	return out != NULL;
}

/*
 * Runs pan. With @stop_at 0 it searches everything and writes no trail;
 * else it stops at its @stop_at-th violation and writes that one's trail.
 * The search order is deterministic, so the n-th violation is the same
 * in both runs.
 */
static char *run_pan(struct cell_run *run, uint64_t stop_at)
{
	char depth[48], stop[48];
	uint64_t d = run->o->max_depth ? run->o->max_depth : PTLAB_MODEL_DEPTH;
	const char *args[] = { run->pan, stop, depth, PAN_HASH_BITS };

	snprintf(stop, sizeof(stop), "-c%" PRIu64, stop_at);
	snprintf(depth, sizeof(depth), "-m%" PRIu64, d);
	return run_step(run, tool_argv(run, args, 4, false, NULL, 0), "pan",
			stop_at ? "pan-trail.out" : "pan.out", "pan:");
}

/* ---- compiled verifiers, shared between cells ---- */

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
	/* holds the binaries; removed with the cache */
	char dir[PATH_MAX];
	/* The compiler of the verifiers: tcc when it is installed, else gcc.
	 * Compiling is most of the model's time, and tcc compiles pan.c in
	 * about 20 ms where gcc -O0 takes about 400; the search is the
	 * model's, not the compiler's (the same states and violations, cell
	 * for cell), and tcc's verifier searches at half the speed, which
	 * costs less than the compile saves at these model sizes. */
	const char *cc;
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

		if (path_in(run, pan_sources[i], path, sizeof(path)) ||
		    !(text = read_text(path)))
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

/* Sets run->pan to a verifier for the cell's sources, compiling them
 * unless another cell already did. */
static bool get_pan(struct cell_run *run)
{
	struct pan_cache *cache = run->cache;
	struct pan_entry *e;
	size_t len;
	char *src = read_pan_sources(run, &len);
	bool ok;

	if (!src) {
		cell_error(run, "cannot read the sources spin generated");
		return false;
	}
	pthread_mutex_lock(&cache->lock);
	for (e = cache->entries; e; e = e->next)
		if (e->len == len && memcmp(e->sources, src, len) == 0)
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
		return compile_pan(run, run->pan);
	}
	e = calloc(1, sizeof(*e));
	if (!e) {
		pthread_mutex_unlock(&cache->lock);
		free(src);
		cell_error(run, "out of memory");
		return false;
	}
	e->sources = src;
	e->len = len;
	e->state = PAN_COMPILING;
	snprintf(e->binary, sizeof(e->binary), "%s/pan-%u", cache->dir, cache->count++);
	e->next = cache->entries;
	cache->entries = e;
	pthread_mutex_unlock(&cache->lock);

	ok = compile_pan(run, e->binary);

	pthread_mutex_lock(&cache->lock);
	e->state = ok ? PAN_READY : PAN_FAILED;
	pthread_cond_broadcast(&cache->changed);
	pthread_mutex_unlock(&cache->lock);
	snprintf(run->pan, sizeof(run->pan), "%s", e->binary);
	return ok;
}

static int pan_cache_init(struct pan_cache *cache, const char *keep_dir)
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
	cache->cc = in_path("tcc") ? "tcc" : "gcc";
	return 0;
}

static void pan_cache_destroy(struct pan_cache *cache)
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
	remove_dir(cache->dir);
	pthread_cond_destroy(&cache->changed);
	pthread_mutex_destroy(&cache->lock);
}

/* ---- reading pan's and spin's output ---- */

/*
 * The kind an assertion's text names, or -1, and the kind of walker whose
 * assertion it is: "!(stale_table)" is a GUP-fast walker's, an RCU
 * walker's carry the prefix rcu_ ("!(rcu_stale_lock)").
 */
static int assertion_kind(const char *line, size_t len, enum walker_kind *walker)
{
	for (int w = 0; w < WALKER_KINDS; w++)
		for (int k = 0; k < VIOLATION_KINDS; k++) {
			char needle[48];
			size_t n = (size_t)snprintf(needle, sizeof(needle), "!(%s%s)",
						    w == WALKER_RCU ? "rcu_" : "",
						    violation_kind_name((enum violation_kind)k));

			for (size_t i = 0; i + n <= len; i++)
				if (memcmp(line + i, needle, n) == 0) {
					*walker = (enum walker_kind)w;
					return k;
				}
		}
	return -1;
}

static bool has_text(const char *text, const char *needle)
{
	return strstr(text, needle) != NULL;
}

/* Whether pan's output describes a complete, exhaustive search; else
 * sets the cell's error saying why the search proves nothing. */
static bool search_complete(struct cell_run *run, const char *out)
{
	static const char *const not_exhaustive[] = {
		"Bit statespace", "bitstate", "BITSTATE", "hash-compact",
		"Hash-Compact",
	};
	char line[256];

	if (has_text(out, "max search depth too small")) {
		cell_error(run, "pan's search was cut short: max search depth too "
			   "small (-m%" PRIu64 "); a truncated search proves "
			   "nothing: raise --max-depth",
			   run->o->max_depth ? run->o->max_depth : PTLAB_MODEL_DEPTH);
		return false;
	}
	if (has_text(out, "MEMLIM") || has_text(out, "out of memory")) {
		pick_line(out, "pan: ", line, sizeof(line));
		cell_error(run, "pan ran out of memory (limit %" PRIu64 " MiB): %s; "
			   "a truncated search proves nothing: raise --memory-mb",
			   run->o->memory_mb ? run->o->memory_mb : PTLAB_MODEL_MEMORY_MB,
			   line);
		return false;
	}
	for (size_t i = 0; i < sizeof(not_exhaustive) / sizeof(*not_exhaustive); i++) {
		if (has_text(out, not_exhaustive[i])) {
			cell_error(run, "pan's search was not exhaustive (%s)",
				   not_exhaustive[i]);
			return false;
		}
	}
	if (has_text(out, "Search not completed") || has_text(out, "Search incomplete")) {
		cell_error(run, "pan's search was not completed");
		return false;
	}
	if (!has_text(out, "Full statespace search")) {
		pick_line(out, NULL, line, sizeof(line));
		cell_error(run, "pan did not report a full state-space search: %s", line);
		return false;
	}
	return true;
}

/*
 * Reads the complete search: the states stored and which kinds were
 * violated. pan prints a violation's message whenever it differs from the
 * previous one, so every kind found appears at least once.
 */
static bool read_search(struct cell_run *run, const char *out)
{
	struct ptlab_model_result *r = run->r;
	const char *p = strstr(out, "errors: ");
	uint64_t errors;
	bool any = false;

	if (!search_complete(run, out))
		return false;
	if (!p || sscanf(p, "errors: %" SCNu64, &errors) != 1) {
		cell_error(run, "pan's output has no error count");
		return false;
	}
	for (const char *l = out; *l; l += strcspn(l, "\n"), l += *l == '\n') {
		size_t len = strcspn(l, "\n");
		uint64_t v;
		int k, matched = 0;
		enum walker_kind w;

		/* sscanf() counts the number alone as a match: %n makes sure
		 * the whole "N states, stored" was there */
		if (sscanf(l, " %" SCNu64 " states, stored%n", &v, &matched) == 1 &&
		    matched)
			r->states = v;
		if (strncmp(l, "pan:", 4) != 0 || l[4] < '0' || l[4] > '9')
			continue;
		/* "pan:N: <message> (at depth D)" */
		if (memmem(l, len, "!(aba_witness)", 14) && sscanf(l, "pan:%" SCNu64 ":", &v) == 1) {
			if (!r->aba_witness)
				run->first_witness = v;
			r->aba_witness = true;
			continue;
		}
		k = assertion_kind(l, len, &w);
		if (k < 0 || !memmem(l, len, "assertion violated", 18) ||
		    sscanf(l, "pan:%" SCNu64 ":", &v) != 1) {
			cell_error(run, "pan found something that is not a violation "
				   "of the protocol (a fault in the model): %.*s",
				   (int)len, l);
			return false;
		}
		if (!r->found_by_walker[w][k])
			run->first_error[w][k] = v;
		r->found_by_walker[w][k] = true;
		r->found[k] = true;
		any = true;
	}
	if (!r->states) {
		cell_error(run, "pan's output has no state count");
		return false;
	}
	if (errors && !any && !r->aba_witness) {
		cell_error(run, "pan counted %" PRIu64 " errors but named none", errors);
		return false;
	}
	r->verdict = any ? MODEL_UNSAFE : MODEL_SAFE;
	return true;
}

static bool add_step(struct ptlab_model_result *r, const char *text, size_t len)
{
	char **steps = realloc(r->steps, (r->nsteps + 1) * sizeof(*steps));

	if (!steps)
		return false;
	r->steps = steps;
	r->steps[r->nsteps] = strndup(text, len);
	if (!r->steps[r->nsteps])
		return false;
	r->nsteps++;
	return true;
}

/*
 * Reads the guided replay: its STEP lines up to the failed assertion, which
 * must be of the @want kind (-1: the ABA witness). (The replay finishes the atomic step the
 * assertion is in, so lines after it are not part of the run.)
 */
static bool read_replay(struct cell_run *run, const char *out, enum walker_kind want_walker,
			int want)
{
	struct ptlab_model_result *r = run->r;
	enum walker_kind walker = WALKER_GUP;
	int kind = -1;
	bool witnessed = false;

	for (const char *l = out; *l && kind < 0; l += strcspn(l, "\n"), l += *l == '\n') {
		size_t len = strcspn(l, "\n");

		if (strncmp(l, "STEP ", 5) == 0) {
			if (!add_step(r, l + 5, len - 5)) {
				cell_error(run, "out of memory");
				return false;
			}
		} else if (strncmp(l, "spin: text of failed assertion:", 31) == 0) {
			/* the ABA witness (@want -1) ends the replay too */
			if (want < 0 && memmem(l, len, "!(aba_witness)", 14)) {
				witnessed = true;
				break;
			}
			kind = assertion_kind(l, len, &walker);
		}
	}
	if (want < 0 && witnessed && r->nsteps)
		return true;
	if (want < 0) {
		cell_error(run, "the ABA witness did not replay (spin -t)");
		return false;
	}
	if (kind != want || walker != want_walker || !r->nsteps) {
		cell_error(run, "the counterexample did not replay to the %s "
			   "violation the search found (spin -t)",
			   violation_kind_name((enum violation_kind)want));
		return false;
	}
	r->kind = (enum violation_kind)kind;
	r->walker = walker;
	return true;
}

/*
 * A counterexample of the first kind found, GUP-fast walkers' first, in
 * the order of enum violation_kind (a stale table before its
 * consequences): the first such violation of the breadth-first search,
 * so a shortest one, written by pan and replayed by spin -t.
 */
static bool counterexample(struct cell_run *run)
{
	static const char *const head[] = { "spin", "-t", "-T" };
	static const char *const tail[] = { MODEL_FILE };
	int want = 0, w = 0;
	char *out;
	bool ok;

	while (!run->r->found_by_walker[w][want])
		if (++want == VIOLATION_KINDS) {
			want = 0;
			w++;
		}
	out = run_pan(run, run->first_error[w][want]);
	if (!out)
		return false;
	ok = has_text(out, "wrote " TRAIL_FILE);
	free(out);
	if (!ok) {
		cell_error(run, "pan found a violation but wrote no trail");
		return false;
	}
	out = run_step(run, tool_argv(run, head, 3, true, tail, 1), "spin -t",
		       "replay.out", "rror");
	if (!out)
		return false;
	ok = read_replay(run, out, (enum walker_kind)w, want);
	free(out);
	return ok;
}

/* The shortest run to the ABA witness (a safe cell's trail): replayed
 * as a counterexample is. */
static bool witness_trail(struct cell_run *run)
{
	static const char *const head[] = { "spin", "-t", "-T" };
	static const char *const tail[] = { MODEL_FILE };
	char *out = run_pan(run, run->first_witness);
	bool ok;

	if (!out)
		return false;
	ok = has_text(out, "wrote " TRAIL_FILE);
	free(out);
	if (!ok) {
		cell_error(run, "pan found the ABA witness but wrote no trail");
		return false;
	}
	out = run_step(run, tool_argv(run, head, 3, true, tail, 1), "spin -t",
		       "replay.out", "rror");
	if (!out)
		return false;
	ok = read_replay(run, out, WALKER_GUP, -1);
	free(out);
	return ok;
}

/* ---- a cell, start to end ---- */

/* The cell's directory, as an absolute path: the tools run in it. */
static bool make_dir(struct cell_run *run)
{
	char name[128], dir[PATH_MAX], trail[PATH_MAX];

	if (!run->o->keep_dir) {
		const char *tmp = getenv("TMPDIR");

		snprintf(dir, sizeof(dir), "%s/ptlab-model.XXXXXX",
			 tmp && *tmp ? tmp : "/tmp");
		if (!mkdtemp(dir)) {
			cell_error(run, "mkdtemp %s: %s", dir, strerror(errno));
			return false;
		}
	} else {
		ptlab_model_cell_name(run->cell, name, sizeof(name));
		if (mkdir(run->o->keep_dir, 0755) && errno != EEXIST) {
			cell_error(run, "mkdir %s: %s", run->o->keep_dir, strerror(errno));
			return false;
		}
		if (snprintf(dir, sizeof(dir), "%s/%s", run->o->keep_dir, name) >=
			    (int)sizeof(dir) ||
		    (mkdir(dir, 0755) && errno != EEXIST)) {
			cell_error(run, "mkdir %s: %s", dir, strerror(errno));
			return false;
		}
	}
	if (!realpath(dir, run->dir)) {
		cell_error(run, "%s: %s", dir, strerror(errno));
		if (!run->o->keep_dir)
			rmdir(dir);
		return false;
	}
	/* a kept directory may hold an earlier run's trail */
	if (!path_in(run, TRAIL_FILE, trail, sizeof(trail)))
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
		if (!add_step(dst, src->steps[i], strlen(src->steps[i])))
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
static bool search_reuse(struct cell_run *run)
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
static void search_share(struct cell_run *run)
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

static void check_cell(const struct ptlab_model_options *o,
		       struct pan_cache *cache,
		       const struct ptlab_cell *cell,
		       struct ptlab_model_result *r)
{
	struct cell_run run = { .o = o, .cell = cell, .r = r, .cache = cache, .cc = cache->cc };
	double start = monotonic_s();
	char model[PATH_MAX];
	char *out;
	int err;

	memset(r, 0, sizeof(*r));
	r->verdict = MODEL_ERROR;
	if (!make_dflags(&run)) {
		cell_error(&run, "out of memory");
		goto out_free;
	}
	if (search_reuse(&run))
		goto out_free;
	if (!make_dir(&run))
		goto out_free;
	if ((err = path_in(&run, MODEL_FILE, model, sizeof(model))) ||
	    (err = write_text(model, o->source ? o->source : ptlab_model_builtin()))) {
		cell_error(&run, "writing %s: %s", model, strerror(-err));
		goto out_dir;
	}
	if (!spin_generate(&run) || !get_pan(&run))
		goto out_dir;
	if (o->keep_dir && path_in(&run, "pan", model, sizeof(model)) == 0 &&
	    strcmp(model, run.pan) != 0)
		if (link(run.pan, model) != 0) {
			/* only a convenience (the cell's own pan): the
			 * shared verifier below runs the cell either way */
		}
	out = run_pan(&run, 0);
	if (!out)
		goto out_dir;
	if (read_search(&run, out) && r->verdict == MODEL_UNSAFE)
		counterexample(&run);
	else if (r->verdict == MODEL_SAFE && r->aba_witness)
		witness_trail(&run);
	free(out);
	search_share(&run);
out_dir:
	if (!o->keep_dir)
		remove_dir(run.dir);
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
	if ((r->verdict == MODEL_UNSAFE) != e.unsafe)
		return MODEL_FAIL;
	for (int w = 0; w < WALKER_KINDS; w++)
		for (int k = 0; k < VIOLATION_KINDS; k++)
			if (r->found_by_walker[w][k] != e.by_walker[w][k])
				return MODEL_FAIL;
	return MODEL_PASS;
}
