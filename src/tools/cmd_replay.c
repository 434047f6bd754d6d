/* tools/cmd_replay.c — `margay replay`: play a packet capture into a margay stack on
 * the capture's own timeline, write what margay answers to a pcapng file, print a
 * report, and (with --judge) a conformance verdict per TCP flow. The frames go
 * through memory or DPDK's net_pcap vdev (--device); the application is a built-in
 * one or a user's PDPIX program (--load prog.so [-- ARGS]). */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "tools/commands.h"

#ifdef HAVE_PCAP
#include "pcap/judge.h"
#include "pcap/replay.h"
#include "sim/program.h"
#endif
#ifdef HAVE_DPDK
#include "drivers/dpdk/dpdk_netdev.h"
#endif

void mg_cmd_replay_usage(FILE *out) {
    fprintf(out, "usage: margay replay [options] <capture.pcap|capture.pcapng> [-- PROGRAM ARGS]\n"
                 "\n"
                 "Plays the frames a capture addressed to one endpoint into a margay stack with that\n"
                 "endpoint's addresses, on the capture's timeline (virtual time), and reports what\n"
                 "margay answered. Reads pcap and pcapng: Ethernet, Linux cooked (SLL, SLL2), raw IP\n"
                 "and BSD loopback link types.\n"
                 "\n"
                 "options:\n"
                 "  -o, --output FILE   write margay's frames to FILE (pcapng)\n"
                 "  -i, --ip ADDR       the endpoint margay plays (default: the first SYN's destination)\n"
                 "  -a, --app NAME      the application on margay: echo, sink, http or auto (default:\n"
                 "                      http on ports 80, 8000, 8080, otherwise sink)\n"
                 "  -j, --judge         compare margay's answers with the recorded server's, per flow;\n"
                 "                      exit status 3 when a flow differs\n"
                 "  -c, --fix-checksums recompute IPv4/TCP/UDP checksums of the frames fed to margay\n"
                 "                      (captures from hosts that offload checksums to the NIC)\n"
                 "  -s, --seed N        the stack's random seed (default 1)\n"
                 "  -t, --tail MS       virtual milliseconds to run after the last frame (default 3000)\n"
                 "  -l, --load PROG.so  run your own PDPIX program on margay instead of --app, with the\n"
                 "                      arguments after --; {ip} in them becomes the endpoint's address.\n"
                 "                      Build it with: cc -shared -fPIC -include margay/sim_program.h\n"
                 "                      -DMARGAY_SIM_MAIN=margay_sim_main PROG.c -o PROG.so (doc/replay.md);\n"
                 "                      exit status 4 when it exits with a non-zero status\n"
                 "  -d, --device NAME   memory (default), or net_pcap (also: dpdk): the frames go through\n"
                 "                      DPDK's net_pcap vdev, rx_pcap in and tx_pcap out (needs DPDK)\n"
                 "      --device-dir D  with net_pcap: write and keep rx.pcap and tx.pcap in D\n"
                 "  -h, --help          this text\n");
}

#ifdef HAVE_PCAP
int mg_cmd_replay(int argc, char **argv) {
    static const struct option longopts[] = {{"output", required_argument, NULL, 'o'},
                                             {"ip", required_argument, NULL, 'i'},
                                             {"app", required_argument, NULL, 'a'},
                                             {"judge", no_argument, NULL, 'j'},
                                             {"seed", required_argument, NULL, 's'},
                                             {"tail", required_argument, NULL, 't'},
                                             {"help", no_argument, NULL, 'h'},
                                             {"fix-checksums", no_argument, NULL, 'c'},
                                             {"load", required_argument, NULL, 'l'},
                                             {"device", required_argument, NULL, 'd'},
                                             {"device-dir", required_argument, NULL, 'D'},
                                             {NULL, 0, NULL, 0}};
    struct mg_replay_opts opts = {0};
    struct mg_replay_program program = {0};
    const char *load_path = NULL;
    bool judge = false;
    int c;
    optind = 1;
    /* "+": options stop at the first operand, so a program's own options follow "--". */
    while ((c = getopt_long(argc, argv, "+o:i:a:jcs:t:hl:d:", longopts, NULL)) != -1) {
        char *end;
        switch (c) {
        case 'o':
            opts.out_path = optarg;
            break;
        case 'i': {
            struct in_addr a;
            if (inet_pton(AF_INET, optarg, &a) != 1) {
                fprintf(stderr, "margay replay: --ip %s is not an IPv4 address\n", optarg);
                return 2;
            }
            opts.endpoint_ip = ntohl(a.s_addr);
            break;
        }
        case 'a':
            if (mg_replay_app_parse(optarg, &opts.app) < 0) {
                fprintf(stderr, "margay replay: --app %s: choose echo, sink, http or auto\n", optarg);
                return 2;
            }
            break;
        case 'j':
            judge = true;
            break;
        case 'c':
            opts.fix_checksums = true;
            break;
        case 's':
            errno = 0;
            opts.seed = strtoull(optarg, &end, 0);
            if (errno || *end || end == optarg) {
                fprintf(stderr, "margay replay: --seed %s is not a number\n", optarg);
                return 2;
            }
            break;
        case 't': {
            errno = 0;
            unsigned long long ms = strtoull(optarg, &end, 0);
            if (errno || *end || end == optarg || ms == 0 || ms > 3600000ull) {
                fprintf(stderr, "margay replay: --tail %s: give 1 to 3600000 milliseconds\n", optarg);
                return 2;
            }
            opts.tail_ns = ms * 1000000ull;
            break;
        }
        case 'l':
            load_path = optarg;
            break;
        case 'd':
            if (mg_replay_device_parse(optarg, &opts.device) < 0) {
                fprintf(stderr, "margay replay: --device %s: choose memory or net_pcap\n", optarg);
                return 2;
            }
            break;
        case 'D':
            opts.device_dir = optarg;
            break;
        case 'h':
            mg_cmd_replay_usage(stdout);
            return 0;
        default:
            mg_cmd_replay_usage(stderr);
            return 2;
        }
    }
    if (optind >= argc) {
        mg_cmd_replay_usage(stderr);
        return 2;
    }
    opts.in_path = argv[optind++];
    if (optind < argc && strcmp(argv[optind], "--") == 0)
        optind++;
    else if (optind < argc) {
        fprintf(stderr, "margay replay: %s: one capture only (a program's arguments go after --)\n", argv[optind]);
        return 2;
    }
    if (optind < argc && !load_path) {
        fprintf(stderr, "margay replay: arguments after -- are for a program given with --load\n");
        return 2;
    }
    if (opts.device_dir && opts.device != MG_REPLAY_DEVICE_NET_PCAP) {
        fprintf(stderr, "margay replay: --device-dir goes with --device net_pcap\n");
        return 2;
    }
    char err[512] = "";
    char name[64];
    if (load_path) {
        if (mg_sim_program_load(load_path, &program.main, name, sizeof(name), err, sizeof(err)) < 0) {
            fprintf(stderr, "margay replay: --load: %s\n", err);
            return 2;
        }
        program.name = name;
        program.argc = argc - optind;
        program.argv = argv + optind;
        opts.program = &program;
    }
    struct mg_replay_result res;
    int rc = mg_replay_run(&opts, &res, err, sizeof(err));
    int status = 0;
    if (rc < 0) {
        fprintf(stderr, "margay replay: %s\n", err[0] ? err : strerror(-rc));
        status = 1;
    } else {
        printf("capture    %s\n", opts.in_path);
        mg_replay_print_report(stdout, &res);
        if (opts.out_path)
            printf("output     %s\n", opts.out_path);
        size_t differ = judge ? mg_judge_print(stdout, &res) : 0;
        status = differ ? 3 : res.program_ended && res.program_status != 0 ? 4 : 0;
    }
    mg_replay_result_free(&res);
#ifdef HAVE_DPDK
    if (mg_dpdk_eal_running())
        mg_dpdk_eal_cleanup(); /* after the port is closed; EAL is this process's alone */
#endif
    return status;
}
#else
int mg_cmd_replay(int argc, char **argv) {
    (void)argc;
    (void)argv;
    fprintf(stderr, "margay replay: this margay was built without libpcap (apt-get install libpcap-dev, then "
                    "configure again)\n");
    return 2;
}
#endif
