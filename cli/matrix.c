// SPDX-License-Identifier: MIT
/*
 * ptlab matrix: every scenario on every profile with each of the four fix
 * settings, judged against the rule (rule.h): an unsafe cell must show a
 * violation (of a kind the rule allows), a safe cell none.
 */
#include <errno.h>
#include <poll.h>
#include <sys/resource.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/wait.h>
#include <unistd.h>

#include "commands.h"
#include "lab_cli.h"
#include "profile_set.h"
#include "ptlab/machine.h"
#include "ptlab/model.h"
#include "report.h"
#include "trace_json.h"
#include "util/cli.h"
#include "util/compare.h"
#include "util/time.h"

/* A safe cell stops once it has this many times --min-overlaps defended
 * overlaps (or at the end of its budget). */
#define MATRIX_EVIDENCE_MARGIN 3
/* --jobs: processes running cells at once (each a machine of its own). */
#define MATRIX_MAX_JOBS 64

struct cell {
	struct lab_run_config cfg;
	struct ptlab_expectation exp;
	struct lab_result res;
	int run_error;
	unsigned int attempts;
	enum lab_verdict verdict;
	char why[200];
	/* An unsafe cell's trace, Chrome trace-event JSON text: @trace_len
	 * bytes at @trace_at of the matrix's spool file (0: none). Kept on
	 * disk, so that a matrix's memory does not grow with its cells. */
	long trace_at;
	size_t trace_len;
	/* --no-rule: what the model proved for the same cell. */
	struct ptlab_model_result model;
};

struct matrix {
	struct cell *cells;
	size_t n;
	double seconds;
	unsigned int jobs;
	unsigned int retries;
	unsigned int walkers;
	uint64_t seed;
	uint64_t min_overlaps;
	bool tty;
	/* --progress: plain progress lines when stderr is no terminal */
	bool progress;
	/* tenths of the cells reported so far (--progress without a tty) */
	unsigned int tenths;
	double t0, elapsed;
	size_t current;
	struct lab_cli_kernel kernel;
	/* --no-rule: observe only, each cell beside the model's proof */
	bool no_rule;
	/* The traces of the cells (an unlinked temporary file), and whether
	 * one could not be kept there. */
	FILE *spool;
	bool spool_failed;
};

static void progress(void *arg, double elapsed, const struct lab_result *r)
{
	struct matrix *m = arg;
	const struct cell *c = &m->cells[m->current];
	char fixes[40];

	char scen[40];

	ptlab_fixes_words(c->cfg.fixes, fixes, sizeof(fixes));
	lab_cli_scenario_words(c->cfg.scenario, c->cfg.kernel, scen, sizeof(scen));
	fprintf(stderr, "\r\033[K[%zu/%zu] %s %s %s: %.1f s, %llu ops, %llu cycles, %llu violations",
		m->current + 1, m->n, c->cfg.profile.name, scen, fixes,
		elapsed, (unsigned long long)r->ops,
		(unsigned long long)r->cycles, (unsigned long long)lab_total_violations(r));
}

/* Where the matrix is, on stderr, after @done of its cells: one line
 * redrawn on a terminal; with --progress and no terminal, a plain line at
 * each tenth of the cells (a log reads it; a terminal would scroll). */
static void show_done(struct matrix *m, size_t done, const bool *is_done)
{
	size_t failed = 0;

	if (!m->tty && (!m->progress || done * 10 / m->n <= m->tenths))
		return;
	for (size_t i = 0; i < m->n; i++)
		failed += (is_done ? is_done[i] : i < done) && m->cells[i].verdict != LAB_PASS;
	if (m->tty) {
		fprintf(stderr, "\r\033[K[%zu/%zu] cells done, %zu not passed, %u job%s, %.0f s",
			done, m->n, failed, m->jobs, m->jobs == 1 ? "" : "s", monotonic_s() - m->t0);
		return;
	}
	m->tenths = (unsigned int)(done * 10 / m->n);
	fprintf(stderr, "matrix: %zu/%zu cells done, %zu not passed, %.0f s\n", done, m->n, failed,
		monotonic_s() - m->t0);
}

/* Whether a cell that did not pass may run again: an unsafe cell that
 * showed nothing, or a cell that lacked evidence (never one that showed a
 * violation the rule rules out, nor one whose run failed). */
static bool worth_retrying(const struct cell *c)
{
	if (c->run_error || c->verdict == LAB_PASS)
		return false;
	return c->verdict == LAB_INCONCLUSIVE || (c->exp.unsafe && !lab_total_violations(&c->res));
}

/* Runs a cell (with its retries); returns its trace as text (the caller
 * frees it), NULL when it has none. */
static char *run_cell(struct matrix *m, struct cell *c)
{
	char *text = NULL;

	do {
		lab_result_release(&c->res);
		/* An attempt after an inconclusive one gets twice the budget:
		 * a loaded machine gathers evidence more slowly. */
		if (c->attempts && c->verdict == LAB_INCONCLUSIVE)
			c->cfg.seconds *= 2;
		c->attempts++;
		c->cfg.seed = m->seed + c->attempts - 1;
		c->run_error = lab_run(&c->cfg, &c->res);
		c->verdict = lab_judge(&c->cfg, &c->res, c->run_error, &c->exp, m->min_overlaps,
				       c->why, sizeof(c->why));
	} while (!m->no_rule && worth_retrying(c) && c->attempts <= m->retries);
	/* Kept as text: the events themselves are freed at once. */
	if (c->res.trace) {
		json_t *doc = trace_json_from_run(&c->cfg, &c->res);

		text = doc ? trace_json_text(doc) : NULL;
		trace_json_free(doc);
		lab_result_release(&c->res);
	}
	return text;
}

/* Where a cell's trace goes next in the spool (-1 if it cannot). */
static long spool_end(struct matrix *m)
{
	if (!m->spool && !(m->spool = tmpfile()))
		return -1;
	return fseek(m->spool, 0, SEEK_END) ? -1 : ftell(m->spool);
}

/* A trace that could not be kept is left out of the documents, and said. */
static void spool_lost(struct matrix *m, struct cell *c)
{
	c->trace_len = 0;
	if (!m->spool_failed)
		fprintf(stderr, "ptlab: matrix: cannot keep a trace in a temporary file (%s): "
				"the documents leave it out\n", strerror(errno));
	m->spool_failed = true;
}

/* Keeps @c's trace @text in the spool. */
static void spool_put(struct matrix *m, struct cell *c, const char *text)
{
	size_t len = strlen(text);

	c->trace_at = spool_end(m);
	c->trace_len = len;
	if (c->trace_at < 0 || fwrite(text, 1, len, m->spool) != len)
		spool_lost(m, c);
}

/* Copies @c's trace from the spool to @j as the value of @key. */
static void spool_copy(const struct matrix *m, const struct cell *c, struct json *j,
		       const char *key)
{
	char buf[1 << 16];

	json_raw(j, key, "");
	if (fseek(m->spool, c->trace_at, SEEK_SET))
		return;
	for (size_t left = c->trace_len, n; left; left -= n) {
		n = fread(buf, 1, left < sizeof(buf) ? left : sizeof(buf), m->spool);
		if (!n || fwrite(buf, 1, n, j->f) != n)
			return;
	}
}

static void print_header(FILE *f)
{
	fprintf(f, "%-15s %-22s %-15s %-7s %8s %6s %5s %6s %5s %5s %5s %4s %4s %7s %7s %6s %5s "
		   "%4s %5s %8s %6s %-11s %s\n",
		"profile", "fixes", "scenario", "walkers", "ops", "pages", "refus", "unheld",
		"read", "pin", "wrong", "lock", "lost", "overlap", "defend", "held", "rchk", "iso",
		"aba", "first-ms", "cyc/s", "expect", "verdict");
}

/* "safe", "unsafe", or per walker kind "safe/unsafe" (in the order of the
 * walkers column) when the cell runs both. */
static void expect_words(const struct cell *c, char *buf, size_t len)
{
	size_t used = 0;

	buf[0] = '\0';
	for (int w = 0; w < WALKER_KINDS && used < len; w++) {
		bool unsafe = false;

		if (!(c->cfg.walker_kinds & WALKER_MASK(w)))
			continue;
		for (int k = 0; k < VIOLATION_KINDS; k++)
			unsafe |= c->exp.by_walker[w][k];
		used += (size_t)snprintf(buf + used, len - used, "%s%s", used ? "/" : "",
					 unsafe ? "unsafe" : "safe");
	}
}

/* The scenario, with the generation of a collapse or retract cell when
 * it is not the default. */
static void scenario_words(const struct cell *c, char *buf, size_t len)
{
	lab_cli_scenario_words(c->cfg.scenario, c->cfg.kernel, buf, len);
}

static void print_cell(FILE *f, const struct cell *c)
{
	const struct lab_result *r = &c->res;
	const struct lab_evidence_counts *e = &r->evidence;
	char first[16] = "-", expect[24], scen[32], walkers[16], fixes[40];

	ptlab_fixes_words(c->cfg.fixes, fixes, sizeof(fixes));
	if (r->first_violation_ms >= 0)
		snprintf(first, sizeof(first), "%.1f", r->first_violation_ms);
	expect_words(c, expect, sizeof(expect));
	scenario_words(c, scen, sizeof(scen));
	walker_kinds_format(c->cfg.walker_kinds, walkers, sizeof(walkers));
	fprintf(f, "%-15s %-22s %-15s %-7s %8llu %6llu %5llu %6llu %5llu %5llu %5llu %4llu %4llu "
		   "%7llu %7llu %6llu %5llu %4llu %5llu %8s %6.0f %-11s %s",
		c->cfg.profile.name, fixes, scen, walkers,
		(unsigned long long)r->ops, (unsigned long long)r->pages,
		(unsigned long long)r->refusals,
		(unsigned long long)r->violations[VIOLATION_STALE_TABLE],
		(unsigned long long)r->stale_read,
		(unsigned long long)r->violations[VIOLATION_STALE_PIN],
		(unsigned long long)r->violations[VIOLATION_WRONG_PAGE],
		(unsigned long long)r->violations[VIOLATION_STALE_LOCK],
		(unsigned long long)r->lost_writes, (unsigned long long)e->overlaps,
		(unsigned long long)e->defended, (unsigned long long)e->held_off,
		(unsigned long long)e->by[LAB_RECHECK_CAUGHT],
		(unsigned long long)e->by[LAB_ISOLATION_REFUSED], (unsigned long long)e->aba, first,
		r->seconds > 0 ? (double)r->cycles / r->seconds : 0, expect,
		c->verdict == LAB_PASS ? "pass" : c->verdict == LAB_FAIL ? "FAIL" : "INCONCLUSIVE");
	if (c->attempts > 1)
		fprintf(f, " (%u attempts)", c->attempts);
	if (c->verdict != LAB_PASS)
		fprintf(f, " (%s)", c->why);
	fputc('\n', f);
}

static void print_observed_header(FILE *f)
{
	fprintf(f, "%-15s %-22s %-15s %-7s %8s %6s %5s %5s %5s %4s %4s %7s %7s %6s %5s %4s "
		   "%8s  %-24s %-7s %8s  %s\n",
		"profile", "fixes", "scenario", "walkers", "ops", "unheld", "read", "pin", "wrong",
		"lock", "lost", "overlap", "defend", "held", "rchk", "iso", "first-ms",
		"stress lab saw", "model", "states", "model found");
}

/* The kinds each walker kind of @c showed in the stress lab. */
static void observed_kinds(const struct cell *c, bool kinds[WALKER_KINDS][VIOLATION_KINDS])
{
	for (int w = 0; w < WALKER_KINDS; w++)
		for (int k = 0; k < VIOLATION_KINDS; k++)
			kinds[w][k] = c->res.violations_by_walker[w][k] > 0;
}

/* A cell observed: the lab's counts and evidence, the kinds it saw, and
 * the model's verdict and the kinds it found, with no expectation. */
static void print_observed_cell(FILE *f, const struct cell *c)
{
	const struct lab_result *r = &c->res;
	const struct lab_evidence_counts *e = &r->evidence;
	bool seen[WALKER_KINDS][VIOLATION_KINDS];
	char first[16] = "-", scen[32], walkers[16], fixes[40], saw[80], found[80];

	ptlab_fixes_words(c->cfg.fixes, fixes, sizeof(fixes));
	if (r->first_violation_ms >= 0)
		snprintf(first, sizeof(first), "%.1f", r->first_violation_ms);
	scenario_words(c, scen, sizeof(scen));
	walker_kinds_format(c->cfg.walker_kinds, walkers, sizeof(walkers));
	observed_kinds(c, seen);
	lab_cli_kinds_text(c->cfg.walker_kinds, (const bool(*)[VIOLATION_KINDS])seen, saw,
			   sizeof(saw));
	lab_cli_kinds_text(c->cfg.walker_kinds, c->model.found_by_walker, found, sizeof(found));
	fprintf(f, "%-15s %-22s %-15s %-7s %8llu %6llu %5llu %5llu %5llu %4llu %4llu %7llu %7llu "
		   "%6llu %5llu %4llu %8s  %-24s %-7s %8llu  %s\n",
		c->cfg.profile.name, fixes, scen, walkers, (unsigned long long)r->ops,
		(unsigned long long)r->violations[VIOLATION_STALE_TABLE],
		(unsigned long long)r->stale_read,
		(unsigned long long)r->violations[VIOLATION_STALE_PIN],
		(unsigned long long)r->violations[VIOLATION_WRONG_PAGE],
		(unsigned long long)r->violations[VIOLATION_STALE_LOCK],
		(unsigned long long)r->lost_writes, (unsigned long long)e->overlaps,
		(unsigned long long)e->defended, (unsigned long long)e->held_off,
		(unsigned long long)e->by[LAB_RECHECK_CAUGHT],
		(unsigned long long)e->by[LAB_ISOLATION_REFUSED], first,
		c->run_error ? "run error" : saw, model_verdict_name(c->model.verdict),
		(unsigned long long)c->model.states,
		c->model.verdict == MODEL_ERROR ? c->model.error : found);
	if (c->run_error)
		fprintf(f, "  the run failed: %s\n", strerror(-c->run_error));
}

/* Where the two oracles differ, cell by cell; the counts. Returns
 * whether every cell ran and the model gave a verdict on each. */
static bool print_observed_summary(FILE *f, const struct matrix *m, double secs)
{
	size_t lab_seen = 0, model_found = 0, errors = 0, differ = 0;

	for (size_t i = 0; i < m->n; i++) {
		const struct cell *c = &m->cells[i];
		bool saw = lab_total_violations(&c->res) > 0;

		lab_seen += saw;
		model_found += c->model.verdict == MODEL_UNSAFE;
		errors += c->run_error || c->model.verdict == MODEL_ERROR;
		differ += !c->run_error && c->model.verdict != MODEL_ERROR &&
			  saw != (c->model.verdict == MODEL_UNSAFE);
	}
	fprintf(f, "\n%zu cells in %.1f s, observed with no rule: the stress lab saw a violation "
		   "in %zu, the model found one in %zu; %zu without a result\n",
		m->n, secs, lab_seen, model_found, errors);
	if (!differ)
		return !errors;
	fprintf(f, "where the two oracles differ (%zu cells):\n", differ);
	for (size_t i = 0; i < m->n; i++) {
		const struct cell *c = &m->cells[i];
		bool saw = lab_total_violations(&c->res) > 0;
		char scen[32], fw[40];

		if (c->run_error || c->model.verdict == MODEL_ERROR ||
		    saw == (c->model.verdict == MODEL_UNSAFE))
			continue;
		scenario_words(c, scen, sizeof(scen));
		ptlab_fixes_words(c->cfg.fixes, fw, sizeof(fw));
		fprintf(f, "  %s %s %s: %s\n", c->cfg.profile.name, fw, scen,
			saw ? "the stress lab saw a violation the model's complete search "
			      "did not find"
			    : "the model found a violation the stress lab did not show "
			      "within its budget");
	}
	return !errors;
}

/* --no-rule: the model checks every cell first, so that each row can
 * show both oracles as the stress lab finishes it. 0, or -errno. */
static int check_model(struct matrix *m)
{
	struct ptlab_model_options o = { 0 };
	struct ptlab_cell *cells = calloc(m->n, sizeof(*cells));
	struct ptlab_model_result *res = calloc(m->n, sizeof(*res));
	int ret = -ENOMEM;

	if (cells && res) {
		for (size_t i = 0; i < m->n; i++)
			cells[i] = lab_run_cell(&m->cells[i].cfg);
		if (m->tty)
			fprintf(stderr, "the model: %zu cells...", m->n);
		ret = ptlab_model_check(&o, cells, m->n, res);
		if (m->tty)
			fprintf(stderr, "\r\033[K");
		for (size_t i = 0; !ret && i < m->n; i++)
			m->cells[i].model = res[i];
	}
	free(cells);
	free(res);
	return ret;
}

/* One finished cell, as the mode prints it. */
static void print_row(const struct matrix *m, const struct cell *c)
{
	if (m->no_rule)
		print_observed_cell(stdout, c);
	else
		print_cell(stdout, c);
}

/* ---- --jobs: cells in processes of their own ---- */

/*
 * The machine is one per process (its CPUs, its pool), so cells run at
 * once only in processes of their own: each job is a fork()ed child that
 * runs every jobs-th cell and sends each result back through a pipe as it
 * ends: the cell (a plain struct: whatever it points to was there before
 * the fork), then its trace text.
 */
struct cell_msg {
	size_t index;
	size_t trace_len;
	struct cell cell;
};

static bool write_all(int fd, const void *buf, size_t len)
{
	for (const char *p = buf; len;) {
		ssize_t n = write(fd, p, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return false;
		p += n;
		len -= (size_t)n;
	}
	return true;
}

/* 1 with @len bytes read, 0 at end of file before any, -1 otherwise. */
static int read_all(int fd, void *buf, size_t len)
{
	size_t got = 0;

	while (got < len) {
		ssize_t n = read(fd, (char *)buf + got, len - got);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return n == 0 && !got ? 0 : -1;
		got += (size_t)n;
	}
	return 1;
}

static _Noreturn void job_main(struct matrix *m, unsigned int job, int fd)
{
	for (size_t i = job; i < m->n; i += m->jobs) {
		struct cell_msg msg = { .index = i };

		char *text;

		m->current = i;
		text = run_cell(m, &m->cells[i]);
		msg.cell = m->cells[i];
		msg.trace_len = text ? strlen(text) : 0;
		if (!write_all(fd, &msg, sizeof(msg)) || !write_all(fd, text, msg.trace_len))
			_exit(1);
		free(text);
	}
	_exit(0);
}

/* Reads one result from @fd into the matrix: 1, or 0 at the job's end,
 * -1 on a broken message. */
static int job_receive(struct matrix *m, int fd, bool *done)
{
	char buf[1 << 16];
	struct cell *c;
	struct cell_msg msg;
	int r = read_all(fd, &msg, sizeof(msg));

	if (r <= 0)
		return r;
	if (msg.index >= m->n || done[msg.index])
		return -1;
	m->cells[msg.index] = msg.cell;
	c = &m->cells[msg.index];
	c->trace_len = msg.trace_len;
	c->trace_at = msg.trace_len ? spool_end(m) : 0;
	if (c->trace_at < 0)
		spool_lost(m, c);
	/* The trace goes through a small buffer into the spool. */
	for (size_t left = msg.trace_len, n; left; left -= n) {
		n = left < sizeof(buf) ? left : sizeof(buf);
		if (read_all(fd, buf, n) != 1)
			return -1;
		if (c->trace_len && fwrite(buf, 1, n, m->spool) != n)
			spool_lost(m, c);
	}
	done[msg.index] = true;
	return 1;
}

/* Runs the cells in m->jobs processes, printing each in the matrix's
 * order once every cell before it is in. 0, or 1 if no job could start. */
static int run_jobs(struct matrix *m)
{
	struct pollfd fds[MATRIX_MAX_JOBS];
	pid_t pids[MATRIX_MAX_JOBS];
	unsigned int jobs = m->jobs < m->n ? m->jobs : (unsigned int)m->n, open = 0;
	bool *done = calloc(m->n, sizeof(*done));
	size_t printed = 0, received = 0;

	if (!done) {
		fprintf(stderr, "ptlab: matrix: out of memory\n");
		return 1;
	}
	m->jobs = jobs;
	for (unsigned int k = 0; k < jobs; k++) {
		int p[2];

		if (pipe(p)) {
			fprintf(stderr, "ptlab: matrix: pipe: %s\n", strerror(errno));
			break;
		}
		pids[k] = ptlab_fork();
		if (pids[k] == 0) {
			close(p[0]);
			for (unsigned int o = 0; o < open; o++)
				close(fds[o].fd);
			job_main(m, k, p[1]);
		}
		close(p[1]);
		if (pids[k] < 0) {
			fprintf(stderr, "ptlab: matrix: fork: %s\n", strerror(errno));
			close(p[0]);
			break;
		}
		fds[open++] = (struct pollfd){ .fd = p[0], .events = POLLIN };
	}
	while (open) {
		if (poll(fds, open, -1) < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		for (unsigned int k = 0; k < open; k++) {
			if (!fds[k].revents)
				continue;
			if (job_receive(m, fds[k].fd, done) == 1) {
				received++;
				continue;
			}
			close(fds[k].fd);
			fds[k--] = fds[--open];
		}
		for (; printed < m->n && done[printed]; printed++) {
			if (m->tty)
				fprintf(stderr, "\r\033[K");
			print_row(m, &m->cells[printed]);
		}
		fflush(stdout);
		if (printed < m->n)
			show_done(m, received, done);
	}
	for (unsigned int k = 0; k < jobs; k++)
		if (pids[k] > 0)
			waitpid(pids[k], NULL, 0);
	/* A cell whose job ended without sending it fails, saying so. */
	for (size_t i = 0; i < m->n; i++)
		if (!done[i]) {
			m->cells[i].run_error = -ECHILD;
			m->cells[i].verdict = LAB_FAIL;
			snprintf(m->cells[i].why, sizeof(m->cells[i].why),
				 "its job process ended before sending a result");
		}
	for (; printed < m->n; printed++)
		print_row(m, &m->cells[printed]);
	if (m->tty)
		fprintf(stderr, "\r\033[K");
	fflush(stdout);
	free(done);
	return 0;
}

static void print_header_of(FILE *f, const void *m)
{
	if (((const struct matrix *)m)->no_rule)
		print_observed_header(f);
	else
		print_header(f);
}

static void print_cell_of(FILE *f, const void *c)
{
	print_cell(f, c);
}

static void print_observed_cell_of(FILE *f, const void *c)
{
	print_observed_cell(f, c);
}

/* One cell of the matrix's document, into @j. */
static void write_cell(struct json *j, const struct matrix *m, const struct cell *c)
{
	json_object_begin(j, NULL);
	lab_cli_json_result(j, &c->cfg, &c->res);
	/* its line, as the matrix printed it (under "line_header") */
	lab_cli_json_printed(j, "line", m->no_rule ? print_observed_cell_of : print_cell_of, c);
	if (m->no_rule) {
		struct ptlab_cell cell = lab_run_cell(&c->cfg);

		json_object_begin(j, "model");
		lab_cli_json_model(j, &cell, &c->model);
		json_object_end(j);
	} else {
		lab_cli_json_verdict(j, &c->exp, c->verdict, c->why, m->min_overlaps);
	}
	json_bool(j, "rcu_table_free", c->cfg.profile.rcu_table_free);
	json_bool(j, "sync_ipi", c->cfg.profile.sync_ipi);
	json_string(j, "upper_table_free", upper_table_free_name(c->cfg.profile.upper_table_free));
	json_string(j, "tlb_flush", tlb_flush_style_name(c->cfg.profile.flush));
	json_string(j, "deposit", deposit_style_name(c->cfg.profile.deposit));
	json_u64(j, "attempts", c->attempts);
	if (c->run_error)
		json_string(j, "error", strerror(-c->run_error));
	if (c->trace_len)
		spool_copy(m, c, j, "trace");
	json_object_end(j);
}

/* The peak resident memory of this process and of the largest of its
 * job processes (getrusage(), in MiB; 0 when it ran no job). */
static void peak_rss(double *self, double *jobs)
{
	struct rusage ru;

	*self = *jobs = 0;
	if (!getrusage(RUSAGE_SELF, &ru))
		*self = (double)ru.ru_maxrss / 1024;
	if (!getrusage(RUSAGE_CHILDREN, &ru))
		*jobs = (double)ru.ru_maxrss / 1024;
}

static void print_peak_rss(FILE *f)
{
	double self, jobs;

	peak_rss(&self, &jobs);
	fprintf(f, "peak memory: %.0f MiB resident in this process", self);
	if (jobs > 0)
		fprintf(f, ", %.0f MiB in the largest job process", jobs);
	fputc('\n', f);
}

/* The matrix's document, into @j. */
static void write_doc(struct json *j, const struct matrix *m, bool passed)
{
	double self, jobs;

	json_object_begin(j, NULL);
	json_array_begin(j, "cells");
	for (size_t i = 0; i < m->n; i++)
		write_cell(j, m, &m->cells[i]);
	json_array_end(j);
	json_bool(j, "no_rule", m->no_rule);
	peak_rss(&self, &jobs);
	json_double(j, "peak_rss_mb", self);
	json_double(j, "peak_rss_jobs_mb", jobs);
	json_double(j, "seconds", m->elapsed);
	json_u64(j, "jobs", m->jobs);
	lab_cli_json_printed(j, "line_header", print_header_of, m);
	if (m->no_rule) {
		json_object_end(j);
		return;
	}
	json_u64(j, "min_overlaps", m->min_overlaps);
	json_bool(j, "passed", passed);
	json_object_end(j);
}

static int write_json(const char *path, const struct matrix *m, bool passed)
{
	struct json j;
	FILE *f = json_file_open(&j, path);

	if (!f)
		return 1;
	write_doc(&j, m, passed);
	return json_file_close(&j, f, path);
}

/* The report of the matrix alone, from the same cells as the document,
 * written one cell at a time. */
static int write_report(const char *path, const struct matrix *m, bool passed)
{
	struct report_page *page = report_page_open(path);
	int ret = 0;

	for (size_t i = 0; page && !ret && i < m->n; i++) {
		char *text = NULL;
		size_t len = 0;
		FILE *f = open_memstream(&text, &len);
		struct json j;

		if (!f) {
			ret = -1;
			break;
		}
		json_init(&j, f);
		write_cell(&j, m, &m->cells[i]);
		ret = fclose(f) ? -1 : report_page_add_text(page, text, len);
		free(text);
	}
	if (!page)
		return 1;
	if (ret) {
		report_page_abort(page);
		fprintf(stderr, "ptlab: cannot write %s: out of memory\n", path);
		return 1;
	}
	ret = report_page_close(page, path, passed, m->min_overlaps);
	if (!ret)
		printf("report: %s\n", path);
	return ret;
}

/* Medians of the time to the first violation (unsafe cells), and of the
 * cycles per second and the defended overlaps (safe cells), with the
 * defence that held off most of each safe cell's overlaps. */
static void print_summary(FILE *f, const struct matrix *m, size_t passed, size_t inconclusive,
			  double secs)
{
	double *first = calloc(m->n, sizeof(double)), *rate = calloc(m->n, sizeof(double));
	double *def = calloc(m->n, sizeof(double));
	uint64_t dominant[LAB_DEFENCES] = { 0 };
	size_t nf = 0, nr = 0;

	for (size_t i = 0; first && rate && def && i < m->n; i++) {
		const struct cell *c = &m->cells[i];
		const struct lab_evidence_counts *e = &c->res.evidence;
		int best = LAB_UNDEFENDED;

		if (c->exp.unsafe) {
			if (c->res.first_violation_ms >= 0)
				first[nf++] = c->res.first_violation_ms;
			continue;
		}
		if (c->res.seconds > 0)
			rate[nr] = (double)c->res.cycles / c->res.seconds;
		def[nr++] = (double)e->defended;
		for (int d = 0; d < LAB_UNDEFENDED; d++)
			if (e->by[d] && (best == LAB_UNDEFENDED || e->by[d] > e->by[best]))
				best = d;
		dominant[best]++;
	}
	fprintf(f, "\n%zu cells: %zu pass, %zu fail, %zu inconclusive, in %.1f s "
		   "(a safe cell needs %llu defended overlaps)\n",
		m->n, passed, m->n - passed - inconclusive, inconclusive, secs,
		(unsigned long long)m->min_overlaps);
	if (nf) {
		qsort(first, nf, sizeof(double), cmp_double);
		fprintf(f, "unsafe cells: first violation after %.1f ms (median), %.1f ms (max)\n",
			first[nf / 2], first[nf - 1]);
	}
	if (nr) {
		qsort(rate, nr, sizeof(double), cmp_double);
		qsort(def, nr, sizeof(double), cmp_double);
		fprintf(f, "safe cells: %.0f writer cycles per second (median), "
			   "%.0f (min); defended overlaps %.0f (min), %.0f (median), %.0f (max)\n",
			rate[nr / 2], rate[0], def[0], def[nr / 2], def[nr - 1]);
		fprintf(f, "safe cells by their main defence:");
		for (int d = 0; d < LAB_DEFENCES; d++)
			if (dominant[d])
				fprintf(f, " %s %llu", lab_defence_name((enum lab_defence)d),
					(unsigned long long)dominant[d]);
		fputc('\n', f);
	}
	print_peak_rss(f);
	free(first);
	free(rate);
	free(def);
}

enum {
	OPT_PROFILES = 'p', OPT_SCENARIOS = 's', OPT_FIXES = 'f', OPT_JOBS = 'j',
	OPT_SECONDS = CLI_OPT_FIRST, OPT_PROFILE_FILE, OPT_RETRIES, OPT_THREADS, OPT_SEED,
	OPT_MIN_OVERLAPS, OPT_JSON, OPT_REPORT, OPT_NO_REPORT, OPT_NO_RULE,
	OPT_PROGRESS,
};

static const struct cli_opt options[] = {
	{ "seconds", OPT_SECONDS, "S", "budget per cell, 0.05..600 (default 0.7)" },
	{ "profiles", OPT_PROFILES, "LIST",
	  "comma-separated profiles (default all, or none with --profile-file)" },
	{ "profile-file", OPT_PROFILE_FILE, "FILE",
	  "also run a profile of your own: one entry of `ptlab profiles --json` in a file, "
	  "renamed (repeatable)" },
	{ "scenarios", OPT_SCENARIOS, "LIST",
	  "comma-separated scenarios (default all; an unknown name lists them)" },
	{ "fixes", OPT_FIXES, "LIST", "none,pmd-recheck,ipi-sync,both (default all)" },
	{ "retries", OPT_RETRIES, "N",
	  "extra attempts for an unsafe cell that showed nothing or a cell short of "
	  "evidence (then with twice the budget), 0..10 (default 2); a cell that showed a "
	  "violation never retries" },
	{ "threads", OPT_THREADS, "N",
	  "walker CPUs per cell, 1.." CLI_XSTR(LAB_MAX_WALKERS) " (default 2)" },
	{ "jobs", OPT_JOBS, "N",
	  "cells run at once, each in a process of its own, 1.." CLI_XSTR(MATRIX_MAX_JOBS)
	  " (default 1); cells share the cores, so a cell gathers its evidence more "
	  "slowly" },
	{ "seed", OPT_SEED, "N", "random seed (default 1)" },
	{ "min-overlaps", OPT_MIN_OVERLAPS, "N",
	  "defended overlaps a safe cell needs to pass; with fewer it is inconclusive, "
	  "which fails (default " CLI_XSTR(LAB_MIN_OVERLAPS_DEFAULT) "); a safe cell stops "
	  "once it has " CLI_XSTR(MATRIX_EVIDENCE_MARGIN) " times as many" },
	LAB_CLI_KERNEL_OPTIONS,
	{ "json", OPT_JSON, "FILE",
	  "write every cell with its raw counts, and the trace of each unsafe cell (Chrome "
	  "trace-event JSON)" },
	{ "report", OPT_REPORT, "FILE",
	  "also write the HTML report there: the matrix, and the timeline of every unsafe "
	  "cell (none unless asked; ptlab report builds one from --json's file)" },
	{ "no-report", OPT_NO_REPORT, NULL, "write no report (the default; kept for scripts)" },
	{ "progress", OPT_PROGRESS, NULL,
	  "show progress on stderr even when it is no terminal: a line at each tenth of the "
	  "cells (on a terminal, one line redrawn, as always)" },
	{ "no-rule", OPT_NO_RULE, NULL,
	  "observe only: each cell once for its budget, what the stress lab saw "
	  "(violations, evidence) beside what the Spin model proved, with no expectation "
	  "and no pass or fail (exit 0 unless a run fails; no report; needs spin and gcc)" },
	CLI_OPTS_END
};

static const struct cli_command cmd = {
	.name = "matrix",
	.synopsis = "[options]",
	.about = "Runs every scenario on every profile with each fix setting and checks\n"
		 "each cell against the rule (docs/rule.md): exit 0 only when every unsafe\n"
		 "cell showed a violation and every safe cell showed none, with at least\n"
		 "--min-overlaps defended overlaps as its evidence.\n",
	.opts = options,
};

/* Parses a count of 1..@max @unit for option @opt into @out: 0, or the
 * exit status of the usage error. */
static int parse_count(const char *opt, const char *v, unsigned int max, const char *unit,
		       unsigned int *out)
{
	char what[32], allowed[48];
	uint64_t u;

	if (!cli_parse_u64(v, 1, max, &u)) {
		snprintf(what, sizeof(what), "bad %s", opt);
		snprintf(allowed, sizeof(allowed), "1..%u %s", max, unit);
		return cli_error(what, v, allowed);
	}
	*out = (unsigned int)u;
	return 0;
}

/* Adds the cell of @p, @fixes, @s and generations @ct and @rg, if the
 * options ask for it (lab_cli_generation_wanted()); each runs the walker
 * kinds of --walkers that its scenario allows in that generation. */
static void add_cell(struct matrix *m, const struct ptlab_profile *p, struct ptlab_fixes fixes,
		     enum scenario s, enum collapse_table ct, enum retract_gen rg)
{
	struct ptlab_cell cell;
	struct cell *c;

	if (!lab_cli_generation_wanted(&m->kernel, s, ct, rg))
		return;
	c = &m->cells[m->n];
	lab_run_config_default(&c->cfg, p, fixes, s);
	lab_cli_kernel_apply(&c->cfg, &m->kernel, ct, rg);
	c->cfg.walker_kinds &= scenario_allowed_walkers(s, c->cfg.kernel);
	if (!c->cfg.walker_kinds)
		return;
	m->n++;
	c->cfg.seconds = m->seconds;
	c->cfg.walkers = m->walkers;
	cell = lab_run_cell(&c->cfg);
	c->exp = ptlab_expect_cell(&cell);
	/* Observing only, a cell runs its whole budget: nothing says when
	 * its verdict is in. */
	if (m->no_rule)
		return;
	/* A cell is done once its verdict is in: a violation from each
	 * walker kind the rule calls unsafe, and a wide margin of defended
	 * overlaps for each it calls safe. */
	c->cfg.stop_at_defended = MATRIX_EVIDENCE_MARGIN * m->min_overlaps;
	/* An unsafe cell gets a timeline: its trace. */
	if (c->exp.unsafe) {
		c->cfg.trace_before_ms = LAB_TRACE_BEFORE_MS;
		c->cfg.trace_after_ms = LAB_TRACE_AFTER_MS;
	}
}

static int matrix(int argc, char **argv, struct profile_set *ps, struct matrix *m)
{
	bool scen[SCENARIO_COUNT], fix[PTLAB_FIX_SETTINGS];
	struct ptlab_fixes fixes[LAB_CLI_MAX_FIX_SETTINGS];
	size_t nfix;
	const char *json = NULL, *report = NULL;
	char msg[256];
	size_t passed = 0, inconclusive = 0;
	uint64_t u;
	double t0;
	int c, ret;

	memset(scen, 1, sizeof(scen));
	memset(fix, 1, sizeof(fix));
	while ((c = cli_getopt(&cmd, argc, argv, &ret)) != -1) {
		const char *v = optarg;

		switch (c) {
		case CLI_STOP:
			return ret;
		case OPT_SECONDS:
			if (!cli_parse_double(v, 0.05, 600, &m->seconds))
				return cli_error("bad --seconds", v, "0.05..600 per cell");
			break;
		case OPT_PROFILES:
			if (!profile_set_add_names(ps, v))
				return CLI_EXIT_USAGE;
			break;
		case OPT_PROFILE_FILE:
			if (!profile_set_add_file(ps, v))
				return CLI_EXIT_USAGE;
			break;
		case OPT_SCENARIOS:
			if (!lab_cli_scenarios(v, scen))
				return CLI_EXIT_USAGE;
			break;
		case OPT_FIXES:
			if (!lab_cli_fixes(v, fix))
				return CLI_EXIT_USAGE;
			break;
		case OPT_RETRIES:
			if (!cli_parse_u64(v, 0, 10, &u))
				return cli_error("bad --retries", v, "0..10");
			m->retries = (unsigned int)u;
			break;
		case OPT_THREADS:
			if ((ret = parse_count("--threads", v, LAB_MAX_WALKERS, "walker CPUs",
					       &m->walkers)))
				return ret;
			break;
		case OPT_JOBS:
			if ((ret = parse_count("--jobs", v, MATRIX_MAX_JOBS, "processes", &m->jobs)))
				return ret;
			break;
		case OPT_SEED:
			if (!cli_parse_u64(v, 0, UINT64_MAX, &m->seed))
				return cli_error("bad --seed", v, "0..18446744073709551615");
			break;
		case OPT_MIN_OVERLAPS:
			if (!cli_parse_u64(v, 0, 1000000000, &m->min_overlaps))
				return cli_error("bad --min-overlaps", v, "0..1000000000");
			break;
		case OPT_JSON:
			json = v;
			break;
		case OPT_REPORT:
			report = v;
			break;
		case OPT_NO_REPORT:
			report = NULL;
			break;
		case OPT_NO_RULE:
			m->no_rule = true;
			break;
		case OPT_PROGRESS:
			m->progress = true;
			break;
		default:
			if (lab_cli_kernel_option(c) && !lab_cli_kernel_parse(c, v, true, &m->kernel))
				return CLI_EXIT_USAGE;
			break;
		}
	}
	if (m->no_rule && report)
		return cli_error("--report with --no-rule", report,
				 "one of them: the report shows the rule's verdicts");
	if (m->no_rule)
		report = NULL;
	if (json && (ret = cli_check_output("--json file", json)))
		return ret;
	if (report && (ret = cli_check_output("--report file", report)))
		return ret;
	if (m->no_rule && ptlab_model_tools(msg, sizeof(msg))) {
		fprintf(stderr, "ptlab: --no-rule shows the model beside the stress lab: %s\n", msg);
		return 1;
	}
	lab_cli_default_generations(&m->kernel);
	nfix = lab_cli_fix_settings(fix, &m->kernel, fixes);
	profile_set_default(ps);
	m->cells = calloc(ps->n * SCENARIO_COUNT * LAB_CLI_MAX_FIX_SETTINGS * COLLAPSE_TABLE_COUNT *
				  RETRACT_COUNT,
			  sizeof(*m->cells));
	if (!m->cells)
		return 1;
	for (size_t p = 0; p < ps->n; p++)
		for (int s = 0; s < SCENARIO_COUNT; s++)
			for (size_t f = 0; f < nfix; f++)
				for (int ct = 0; ct < COLLAPSE_TABLE_COUNT; ct++)
					for (int rg = 0; rg < RETRACT_COUNT; rg++)
						if (scen[s])
							add_cell(m, ps->list[p], fixes[f],
								 (enum scenario)s,
								 (enum collapse_table)ct,
								 (enum retract_gen)rg);
	if (!m->n) {
		if (!nfix) {
			return cli_error("no fix setting left", "--sync",
					 "none for none and pmd-recheck, another policy for "
					 "ipi-sync and both");
		}
		fprintf(stderr, "ptlab: no cell runs the walker kinds of --walkers in the "
				"scenarios asked for (rcu walkers run in pt-reclaim and "
				"retract/defer only)\n");
		return CLI_EXIT_USAGE;
	}
	m->tty = isatty(2);
	t0 = m->t0 = monotonic_s();
	if (m->no_rule && (ret = check_model(m))) {
		fprintf(stderr, "ptlab: cannot run the model: %s\n", strerror(-ret));
		return 1;
	}
	if (m->no_rule)
		print_observed_header(stdout);
	else
		print_header(stdout);
	fflush(stdout);
	if (m->jobs > 1 && m->n > 1) {
		if (run_jobs(m))
			return 1;
	} else {
		if (m->tty)
			lab_set_progress(progress, m);
		for (m->current = 0; m->current < m->n; m->current++) {
			char *text = run_cell(m, &m->cells[m->current]);

			if (text)
				spool_put(m, &m->cells[m->current], text);
			free(text);
			if (m->tty)
				fprintf(stderr, "\r\033[K");
			print_row(m, &m->cells[m->current]);
			fflush(stdout);
			if (!m->tty)
				show_done(m, m->current + 1, NULL);
		}
		lab_set_progress(NULL, NULL);
	}
	for (size_t i = 0; i < m->n; i++) {
		passed += m->cells[i].verdict == LAB_PASS;
		inconclusive += m->cells[i].verdict == LAB_INCONCLUSIVE;
	}
	m->elapsed = monotonic_s() - t0;
	if (m->no_rule) {
		ret = print_observed_summary(stdout, m, monotonic_s() - t0) ? 0 : 1;
		print_peak_rss(stdout);
		if (json && write_json(json, m, false))
			ret = 1;
		return ret;
	}
	print_summary(stdout, m, passed, inconclusive, monotonic_s() - t0);
	for (size_t i = 0; i < m->n; i++)
		if (m->cells[i].verdict != LAB_PASS && m->cells[i].res.have_detail) {
			char scen[32], fw[40];

			scenario_words(&m->cells[i], scen, sizeof(scen));
			ptlab_fixes_words(m->cells[i].cfg.fixes, fw, sizeof(fw));
			fprintf(stdout, "%s %s %s:\n", m->cells[i].cfg.profile.name, scen, fw);
			lab_cli_print_detail(stdout, &m->cells[i].res.first);
		}
	ret = passed == m->n ? 0 : 1;
	if (json && write_json(json, m, passed == m->n))
		ret = 1;
	if (report && write_report(report, m, passed == m->n))
		ret = 1;
	return ret;
}

int cmd_matrix(int argc, char **argv)
{
	struct profile_set ps = { 0 };
	struct matrix m = { .seconds = 0.7, .jobs = 1, .retries = 2, .walkers = 2, .seed = 1,
			    .min_overlaps = LAB_MIN_OVERLAPS_DEFAULT };
	int ret = matrix(argc, argv, &ps, &m);

	for (size_t i = 0; m.cells && m.no_rule && i < m.n; i++)
		ptlab_model_result_release(&m.cells[i].model);
	free(m.cells);
	if (m.spool)
		fclose(m.spool);
	profile_set_release(&ps);
	return ret;
}
