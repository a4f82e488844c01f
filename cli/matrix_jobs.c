// SPDX-License-Identifier: MIT
/*
 * ptlab matrix --jobs: the job pool. The machine is one per process (its
 * CPUs, its pool), so cells run at once only in processes of their own.
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "commands.h"
#include "matrix.h"
#include "ptlab/machine.h"

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
		text = matrix_run_cell(m, &m->cells[i]);
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
	c->trace_at = msg.trace_len ? matrix_spool_end(m) : 0;
	if (c->trace_at < 0)
		matrix_spool_lost(m, c);
	/* The trace goes through a small buffer into the spool. */
	for (size_t left = msg.trace_len, n; left; left -= n) {
		n = left < sizeof(buf) ? left : sizeof(buf);
		if (read_all(fd, buf, n) != 1)
			return -1;
		if (c->trace_len && fwrite(buf, 1, n, m->spool) != n)
			matrix_spool_lost(m, c);
	}
	done[msg.index] = true;
	return 1;
}

int matrix_run_jobs(struct matrix *m)
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
			matrix_print_row(m, &m->cells[printed]);
		}
		fflush(stdout);
		if (printed < m->n)
			matrix_show_done(m, received, done);
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
		matrix_print_row(m, &m->cells[printed]);
	if (m->tty)
		fprintf(stderr, "\r\033[K");
	fflush(stdout);
	free(done);
	return 0;
}
