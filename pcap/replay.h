/* pcap/replay.h — plays a capture into one margay stack on the capture's own
 * timeline and records what the stack answers.
 * The frames addressed to one endpoint (chosen by IP, or the destination of the first
 * SYN) go into a stack configured with that endpoint's IPv4 and MAC addresses, on a
 * manual clock that follows the capture's timestamps; a built-in application (echo,
 * sink, HTTP responder) runs on the stack through PDPIX. Everything the stack sends
 * is kept (and written to pcapng), and per TCP flow both the recorded server's and
 * margay's behaviour are summarised for the judge (judge.h). Client acknowledgments
 * are translated from the recorded server's sequence space into margay's (ISN
 * normalisation), so a conversation keeps going when margay's ISN differs.
 * Same input, same seed => byte-identical output.
 *
 * The frames reach the stack either in memory or through DPDK's net_pcap vdev (the
 * frames addressed to the endpoint written to its rx_pcap, what margay sends landing in
 * its tx_pcap), on the same timeline: the replay takes one frame from the device at
 * the moment the capture's timeline reaches it, so both paths give the same answers.
 * The application is a built-in one or a user's PDPIX program (replay_prog.h). */
#ifndef MARGAY_PCAP_REPLAY_H
#define MARGAY_PCAP_REPLAY_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "inet/inet.h"
#include "inet/tcp.h"

enum mg_replay_app { MG_REPLAY_APP_AUTO = 0, MG_REPLAY_APP_ECHO, MG_REPLAY_APP_SINK, MG_REPLAY_APP_HTTP };

const char *mg_replay_app_name(enum mg_replay_app app);
/* 0 and *out, or -EINVAL for an unknown name. */
int mg_replay_app_parse(const char *name, enum mg_replay_app *out);

/* The device between the capture and the stack. */
enum mg_replay_device {
    MG_REPLAY_DEVICE_MEMORY = 0, /* frames handed over in memory */
    MG_REPLAY_DEVICE_NET_PCAP,   /* DPDK's net_pcap vdev (rx_pcap/tx_pcap), opened from a configuration */
};

const char *mg_replay_device_name(enum mg_replay_device d);
/* 0 and *out ("memory", "dpdk" or "net_pcap"), or -EINVAL. */
int mg_replay_device_parse(const char *name, enum mg_replay_device *out);

/* A user's PDPIX program (compiled with margay/sim_program.h, loaded with
 * mg_sim_program_load), run on the stack instead of a built-in application. */
struct mg_replay_program {
    const char *name; /* argv[0] */
    int (*main)(int argc, char **argv);
    int argc;           /* arguments after the name; "{ip}" in one becomes the endpoint's address */
    char *const *argv;
};

struct mg_replay_opts {
    const char *in_path;
    const char *out_path;   /* pcapng of margay's frames; NULL = none */
    uint32_t endpoint_ip;   /* host order; 0 = the first SYN's destination */
    enum mg_replay_app app; /* AUTO: HTTP for ports 80/8080/8000, else sink */
    uint64_t seed;          /* the stack's random source (ISNs); 0 = 1 */
    uint64_t tail_ns;       /* virtual time run after the last frame; 0 = 3 s */
    bool fix_checksums;     /* recompute IPv4/TCP/UDP checksums of injected frames */
    enum mg_replay_device device;
    const char *device_dir; /* net_pcap: where rx.pcap and tx.pcap are written and kept; NULL = a
                               temporary directory, removed afterwards */
    const struct mg_replay_program *program; /* NULL: the built-in application (app) */
};

/* One side's TCP behaviour in a flow (the recorded server's, or margay's). */
struct mg_replay_side {
    bool answered_syn; /* sent a SYN-ACK */
    bool refused_syn;  /* sent a RST before any SYN-ACK */
    bool isn_known;
    uint32_t isn;
    struct mg_tcp_opts synack_opts;
    bool acked;           /* sent an ACK of the client's SYN or data */
    uint32_t max_ack_rel; /* highest ack - client ISN - 1: client payload bytes acknowledged */
    uint32_t ack_steps;   /* times the acknowledged point moved forward */
    bool ack_went_back;   /* an ACK below an earlier one */
    uint32_t snd_max_rel; /* highest sequence sent, relative to own ISN (SYN and FIN count) */
    uint64_t payload_sent;
    bool fin, rst;
    uint32_t frames;
};

struct mg_replay_flow {
    uint32_t client_ip, server_ip;
    uint16_t client_port, server_port;
    bool client_syn; /* the capture holds the client's SYN */
    uint32_t client_isn;
    struct mg_tcp_opts client_syn_opts;
    uint32_t client_payload_max_rel; /* end of the client's payload seen, relative to ISN + 1 */
    bool client_fin, client_rst;
    struct mg_replay_side recorded, margay;
    bool app_known;     /* app_bytes and app_eof were measured (built-in applications only) */
    uint64_t app_bytes; /* payload bytes margay's application received */
    bool app_eof;       /* the application saw the client's FIN */
    bool state_known;
    enum mg_tcp_state final_state; /* margay's connection at the end (CLOSED when gone) */
};

struct mg_replay_frame {
    uint64_t ts_ns;
    uint32_t len;
    uint8_t *data;
};

struct mg_replay_result {
    int linktype;
    uint64_t frames_read, frames_in, frames_out;
    uint64_t frames_skipped;   /* packets that could not become Ethernet frames */
    char first_skip[256];      /* why the first of them could not */
    uint64_t frames_completed; /* frames cut short by the capture, completed with zeros */
    bool loopback_remapped;    /* the client's address was moved off the server's */
    uint32_t endpoint_ip;
    uint8_t endpoint_mac[6];
    enum mg_replay_app app;
    uint16_t ports[16]; /* ports clients sent SYNs to */
    bool refused[16];   /* the recorded server refused this port: margay does not listen */
    unsigned nports;
    struct mg_inet_stats inet;
    struct mg_tcp_stats tcp;
    struct mg_replay_flow *flows;
    size_t nflows;
    struct mg_replay_frame *out; /* margay's frames, in order */
    size_t nout;
    enum mg_replay_device device;
    char device_desc[512];         /* net_pcap: the vdev and its files */
    uint64_t device_rx, device_tx; /* frames taken from and given to the device */
    bool program;                  /* a user's program ran instead of the built-in application */
    char program_name[64];
    bool program_ended; /* it returned from main or called exit */
    int program_status;
};

/* Runs one replay. 0, or a negative errno with a message in err (unreadable or
 * malformed capture, unsupported link type, output not writable). */
int mg_replay_run(const struct mg_replay_opts *opts, struct mg_replay_result *res, char *err, size_t errlen);
void mg_replay_result_free(struct mg_replay_result *res);
/* The report: frames in/out, nonzero drop counters by name, flows with final state. */
void mg_replay_print_report(FILE *out, const struct mg_replay_result *res);

#endif /* MARGAY_PCAP_REPLAY_H */
