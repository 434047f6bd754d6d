/* tools/margay.c — the `margay` command: a small dispatcher over subcommands
 * (`margay info`, `margay help`, and later `margay sim`, `margay replay`), so every
 * tool margay ships is one program with one help text. */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "tools/commands.h"

struct command {
    const char *name;
    const char *summary;
    int (*run)(int argc, char **argv);
    void (*usage)(FILE *out);
};

static int cmd_help(int argc, char **argv);

static const struct command commands[] = {
    {"info", "list the DPDK ports this machine offers (driver, MAC, link, queues, offloads)", mg_cmd_info,
     mg_cmd_info_usage},
    {"replay", "play a packet capture into margay on virtual time and judge its answers", mg_cmd_replay,
     mg_cmd_replay_usage},
    {"sim", "run PDPIX programs on simulated hosts under faults, one seed or a sweep", mg_cmd_sim,
     mg_cmd_sim_usage},
    {"help", "show this help, or a command's help: margay help <command>", cmd_help, NULL},
};

static const struct command *find_command(const char *name) {
    for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
        if (strcmp(commands[i].name, name) == 0)
            return &commands[i];
    return NULL;
}

static void usage(FILE *out) {
    fprintf(out, "usage: margay <command> [arguments]\n\ncommands:\n");
    for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
        fprintf(out, "  %-8s %s\n", commands[i].name, commands[i].summary);
}

static int cmd_help(int argc, char **argv) {
    if (argc < 2) {
        usage(stdout);
        return 0;
    }
    const struct command *c = find_command(argv[1]);
    if (!c) {
        fprintf(stderr, "margay: no command '%s'\n", argv[1]);
        usage(stderr);
        return 2;
    }
    if (c->usage)
        c->usage(stdout);
    else
        usage(stdout);
    return 0;
}

int main(int argc, char **argv) {
    if (argc < 2) {
        usage(stderr);
        return 2;
    }
    if (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0)
        return cmd_help(1, argv);
    const struct command *c = find_command(argv[1]);
    if (!c) {
        fprintf(stderr, "margay: no command '%s'\n", argv[1]);
        usage(stderr);
        return 2;
    }
    return c->run(argc - 1, argv + 1);
}
