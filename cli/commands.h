/* SPDX-License-Identifier: MIT */
/*
 * The ptlab subcommands. Each takes the arguments after its name
 * (argv[0] is the subcommand's name) and returns the process exit status:
 * 0 success, 1 a failed result, 2 a usage error (util/cli.h).
 */
#ifndef PTLAB_CLI_COMMANDS_H
#define PTLAB_CLI_COMMANDS_H

int cmd_profiles(int argc, char **argv);
int cmd_model(int argc, char **argv);
int cmd_bench(int argc, char **argv);
int cmd_race(int argc, char **argv);
int cmd_matrix(int argc, char **argv);
int cmd_report(int argc, char **argv);
int cmd_study(int argc, char **argv);
/* ptlab study sync (cli/study_sync.c), dispatched by cmd_study(). */
int study_sync(int argc, char **argv);
/* ptlab study barriers (cli/study_barriers.c). */
int study_barriers(int argc, char **argv);
int cmd_soak(int argc, char **argv);

#endif /* PTLAB_CLI_COMMANDS_H */
