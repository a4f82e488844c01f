// SPDX-License-Identifier: MIT
/*
 * The Spin driver's subprocesses: finding the tools, running one in a
 * cell's directory with its output in a file, and the files the tools
 * read and write.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "model_internal.h"


extern char **environ;

bool model_find_in_path(const char *name, char *buf, size_t len)
{
	const char *path = getenv("PATH");

	while (path && *path) {
		size_t n = strcspn(path, ":");

		if (snprintf(buf, len, "%.*s/%s", (int)n, n ? path : ".", name) < (int)len &&
		    access(buf, X_OK) == 0)
			return true;
		path += n;
		if (*path == ':')
			path++;
	}
	return false;
}

bool model_in_path(const char *name)
{
	char buf[PATH_MAX];

	return model_find_in_path(name, buf, sizeof(buf));
}

int ptlab_model_tools(char *msg, size_t len)
{
	if (!model_in_path("spin")) {
		snprintf(msg, len,
			 "spin not found in PATH: the model needs the Spin model "
			 "checker; install it with: apt-get install spin "
			 "(or run scripts/deps.sh)");
		return -ENOENT;
	}
	/* spin preprocesses the model with "gcc -E", and pan is compiled
	 * with it unless tcc is installed (struct pan_cache) */
	if (!model_in_path("gcc")) {
		snprintf(msg, len,
			 "gcc not found in PATH: spin preprocesses the model with "
			 "gcc and pan is compiled with it; install it with: "
			 "apt-get install gcc (or run scripts/deps.sh)");
		return -ENOENT;
	}
	return 0;
}

/* Removes a directory of files (the tools write no subdirectories). */
void model_remove_dir(const char *dir)
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

int model_write_text(const char *path, const char *text)
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
char *model_read_text(const char *path)
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
static char *run_tool(struct cell_run *run, char *const argv[], char *const envp[],
		      const char *outfile, int *status)
{
	posix_spawn_file_actions_t fa;
	char out[PATH_MAX];
	pid_t pid;
	int ws, err;

	if ((err = model_path_in(run, outfile, out, sizeof(out)))) {
		*status = err;
		return NULL;
	}
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
	posix_spawn_file_actions_addopen(&fa, 1, out, O_WRONLY | O_CREAT | O_TRUNC,
					 0644);
	posix_spawn_file_actions_adddup2(&fa, 1, 2);
	posix_spawn_file_actions_addchdir_np(&fa, run->dir);
	err = posix_spawnp(&pid, argv[0], &fa, NULL, argv, envp ? envp : environ);
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
	return model_read_text(out);
}

/* The first line of @text that contains @needle, or its first line, for
 * an error message. */
void model_pick_line(const char *text, const char *needle, char *buf,
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
char **model_tool_argv(const struct cell_run *run, const char *const *head,
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

/* Runs one tool, with @envp for its environment (NULL: ours); its output
 * on success (exit 0), else NULL after setting the cell's error from the
 * line of the output that says why. A replayed tape (tape.c) gives the
 * output instead; a recorded one keeps it. */
char *model_run_step(struct cell_run *run, char **argv, char *const *envp, const char *what,
		     const char *outfile, const char *why_needle)
{
	int status;
	char *text, line[256];

	if (!argv) {
		model_cell_error(run, "%s: out of memory", what);
		return NULL;
	}
	if (model_tape_replay(run, argv, what, &text)) {
		free(argv);
		return text;
	}
	text = run_tool(run, argv, envp, outfile, &status);
	if (text && status == 0)
		model_tape_note(run, argv, what, text);
	free(argv);
	if (!text && status < 0) {
		model_cell_error(run, "%s: cannot run: %s", what, strerror(-status));
		return NULL;
	}
	if (status != 0) {
		model_pick_line(text, why_needle, line, sizeof(line));
		model_cell_error(run, "%s failed (status %d): %s", what, status, line);
		free(text);
		return NULL;
	}
	if (!text)
		model_cell_error(run, "%s: cannot read its output", what);
	return text;
}
