/* tools/commands.h — the subcommands of the `margay` program. Each lives in its own
 * file (cmd_<name>.c) and is listed once in margay.c's table. A command gets the
 * arguments after its name (argv[0] is the command name) and returns the process's
 * exit status: 0 success, 1 failure, 2 usage error or feature not built. */
#ifndef MARGAY_TOOLS_COMMANDS_H
#define MARGAY_TOOLS_COMMANDS_H

#include <stdio.h>

int mg_cmd_info(int argc, char **argv);
void mg_cmd_info_usage(FILE *out);
int mg_cmd_replay(int argc, char **argv);
void mg_cmd_replay_usage(FILE *out);
int mg_cmd_sim(int argc, char **argv);
void mg_cmd_sim_usage(FILE *out);

#endif /* MARGAY_TOOLS_COMMANDS_H */
