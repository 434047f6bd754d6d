/* drivers/pcapng.h — a small pcapng writer for frame captures.
 * pcapng (not classic pcap) because captures need per-frame direction flags
 * (inbound/outbound) and nanosecond timestamps; libpcap 1.10 reads it but cannot
 * write it. Output is buffered and written with write(2) so a capture never blocks
 * the datapath longer than one write; the writer is bounded by a byte limit. */
#ifndef MARGAY_DRIVERS_PCAPNG_H
#define MARGAY_DRIVERS_PCAPNG_H

#include <stddef.h>
#include <stdint.h>

enum mg_pcapng_dir { MG_PCAPNG_DIR_UNKNOWN = 0, MG_PCAPNG_DIR_IN = 1, MG_PCAPNG_DIR_OUT = 2 };

struct mg_pcapng {
    int fd;
    uint8_t *buf;      /* pending bytes not yet written */
    size_t buf_len, buf_cap;
    uint64_t file_bytes; /* bytes in the current file, pending included */
    uint32_t snaplen;
    uint64_t frames;
};

/* Creates (truncates) path and writes the section and interface headers for an
 * Ethernet interface named `ifname`. 0 or a negative errno. */
int mg_pcapng_open(struct mg_pcapng *w, const char *path, const char *ifname, uint32_t snaplen);
/* Size of the record mg_pcapng_write_frame would add for a frame of len bytes. */
size_t mg_pcapng_record_size(const struct mg_pcapng *w, size_t len);
/* Appends one Enhanced Packet Block; ts_ns is nanoseconds since the Unix epoch (or
 * virtual time). Buffers; flushes when the buffer is full. 0 or a negative errno. */
int mg_pcapng_write_frame(struct mg_pcapng *w, uint64_t ts_ns, const uint8_t *frame, size_t len,
                          enum mg_pcapng_dir dir);
/* Removes the last `frames` records, `bytes` bytes in all, if they are still buffered
 * (to take back records of frames a device refused). 0, or -EAGAIN if they were
 * already written out. */
int mg_pcapng_unwrite(struct mg_pcapng *w, size_t bytes, uint64_t frames);
int mg_pcapng_flush(struct mg_pcapng *w);
/* Flushes and closes. */
int mg_pcapng_close(struct mg_pcapng *w);

#endif /* MARGAY_DRIVERS_PCAPNG_H */
