/* tools/cmd_replay.c — `margay replay`: play a packet capture into a margay stack on
 * the capture's own timeline, write what margay answers to a pcapng file, print a
 * report, and (with --judge) a conformance verdict per TCP flow. */
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
#endif

void mg_cmd_replay_usage(FILE *out) {
    fprintf(out, "usage: margay replay [options] <capture.pcap|capture.pcapng>\n"
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
                                             {NULL, 0, NULL, 0}};
    struct mg_replay_opts opts = {0};
    bool judge = false;
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "o:i:a:jcs:t:h", longopts, NULL)) != -1) {
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
        case 'h':
            mg_cmd_replay_usage(stdout);
            return 0;
        default:
            mg_cmd_replay_usage(stderr);
            return 2;
        }
    }
    if (optind != argc - 1) {
        mg_cmd_replay_usage(stderr);
        return 2;
    }
    opts.in_path = argv[optind];
    struct mg_replay_result res;
    char err[512] = "";
    int rc = mg_replay_run(&opts, &res, err, sizeof(err));
    if (rc < 0) {
        fprintf(stderr, "margay replay: %s\n", err[0] ? err : strerror(-rc));
        mg_replay_result_free(&res);
        return 1;
    }
    printf("capture    %s\n", opts.in_path);
    mg_replay_print_report(stdout, &res);
    if (opts.out_path)
        printf("output     %s\n", opts.out_path);
    size_t differ = judge ? mg_judge_print(stdout, &res) : 0;
    mg_replay_result_free(&res);
    return differ ? 3 : 0;
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
