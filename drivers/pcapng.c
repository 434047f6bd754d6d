/* drivers/pcapng.c — pcapng blocks: Section Header, Interface Description (with
 * nanosecond timestamp resolution), Enhanced Packet (with direction flags). Blocks
 * are written in host byte order, which the section's byte-order magic announces. */
#include "drivers/pcapng.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define BLOCK_SHB 0x0A0D0D0Au
#define BLOCK_IDB 0x00000001u
#define BLOCK_EPB 0x00000006u
#define BYTE_ORDER_MAGIC 0x1A2B3C4Du
#define OPT_ENDOFOPT 0
#define OPT_IF_NAME 2
#define OPT_IF_TSRESOL 9
#define OPT_EPB_FLAGS 2
#define LINKTYPE_ETHERNET 1
#define WRITER_BUFFER_BYTES (256u * 1024u)

static size_t pad4(size_t n) { return (n + 3u) & ~(size_t)3u; }

static int write_all(int fd, const uint8_t *p, size_t len) {
    while (len > 0) {
        ssize_t n = write(fd, p, len);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return -errno;
        }
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

int mg_pcapng_flush(struct mg_pcapng *w) {
    if (w->buf_len == 0)
        return 0;
    int rc = write_all(w->fd, w->buf, w->buf_len);
    w->buf_len = 0;
    return rc;
}

/* Makes room for n more bytes in the buffer, writing out what is pending if needed. */
static int reserve(struct mg_pcapng *w, size_t n) {
    if (w->buf_len + n <= w->buf_cap)
        return 0;
    int rc = mg_pcapng_flush(w);
    if (rc < 0)
        return rc;
    if (n > w->buf_cap) {
        uint8_t *grown = realloc(w->buf, n);
        if (!grown)
            return -ENOMEM;
        w->buf = grown;
        w->buf_cap = n;
    }
    return 0;
}

static void put_u16(uint8_t **p, uint16_t v) {
    memcpy(*p, &v, 2);
    *p += 2;
}
static void put_u32(uint8_t **p, uint32_t v) {
    memcpy(*p, &v, 4);
    *p += 4;
}
static void put_bytes(uint8_t **p, const void *src, size_t len) {
    memcpy(*p, src, len);
    memset(*p + len, 0, pad4(len) - len);
    *p += pad4(len);
}
static void put_option(uint8_t **p, uint16_t code, const void *val, uint16_t len) {
    put_u16(p, code);
    put_u16(p, len);
    put_bytes(p, val, len);
}

static int write_headers(struct mg_pcapng *w, const char *ifname) {
    size_t name_len = strlen(ifname);
    if (name_len > 255)
        name_len = 255;
    size_t shb_len = 28;
    size_t idb_len = 20 + 4 + pad4(name_len) + 4 + 4 + 4;
    int rc = reserve(w, shb_len + idb_len);
    if (rc < 0)
        return rc;
    uint8_t *p = w->buf + w->buf_len;
    put_u32(&p, BLOCK_SHB);
    put_u32(&p, (uint32_t)shb_len);
    put_u32(&p, BYTE_ORDER_MAGIC);
    put_u16(&p, 1); /* major */
    put_u16(&p, 0); /* minor */
    uint64_t unknown_section_length = UINT64_MAX;
    memcpy(p, &unknown_section_length, 8);
    p += 8;
    put_u32(&p, (uint32_t)shb_len);

    put_u32(&p, BLOCK_IDB);
    put_u32(&p, (uint32_t)idb_len);
    put_u16(&p, LINKTYPE_ETHERNET);
    put_u16(&p, 0);
    put_u32(&p, w->snaplen);
    put_option(&p, OPT_IF_NAME, ifname, (uint16_t)name_len);
    uint8_t tsresol = 9; /* 10^-9 s: nanoseconds */
    put_option(&p, OPT_IF_TSRESOL, &tsresol, 1);
    put_u32(&p, OPT_ENDOFOPT);
    put_u32(&p, (uint32_t)idb_len);
    w->buf_len += shb_len + idb_len;
    w->file_bytes += shb_len + idb_len;
    return 0;
}

int mg_pcapng_open(struct mg_pcapng *w, const char *path, const char *ifname, uint32_t snaplen) {
    memset(w, 0, sizeof(*w));
    w->fd = -1;
    w->snaplen = snaplen ? snaplen : 65535;
    w->buf = malloc(WRITER_BUFFER_BYTES);
    if (!w->buf)
        return -ENOMEM;
    w->buf_cap = WRITER_BUFFER_BYTES;
    w->fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (w->fd < 0) {
        int err = -errno;
        free(w->buf);
        w->buf = NULL;
        return err;
    }
    int rc = write_headers(w, ifname ? ifname : "margay");
    if (rc < 0)
        mg_pcapng_close(w);
    return rc;
}

size_t mg_pcapng_record_size(const struct mg_pcapng *w, size_t len) {
    size_t captured = len < w->snaplen ? len : w->snaplen;
    return 28 + pad4(captured) + 8 /* flags option */ + 4 /* end of options */ + 4;
}

int mg_pcapng_write_frame(struct mg_pcapng *w, uint64_t ts_ns, const uint8_t *frame, size_t len,
                          enum mg_pcapng_dir dir) {
    size_t captured = len < w->snaplen ? len : w->snaplen;
    size_t rec = mg_pcapng_record_size(w, len);
    int rc = reserve(w, rec);
    if (rc < 0)
        return rc;
    uint8_t *p = w->buf + w->buf_len;
    put_u32(&p, BLOCK_EPB);
    put_u32(&p, (uint32_t)rec);
    put_u32(&p, 0); /* interface 0 */
    put_u32(&p, (uint32_t)(ts_ns >> 32));
    put_u32(&p, (uint32_t)ts_ns);
    put_u32(&p, (uint32_t)captured);
    put_u32(&p, (uint32_t)len);
    put_bytes(&p, frame, captured);
    uint32_t flags = (uint32_t)dir; /* bits 0-1: 01 inbound, 10 outbound */
    put_option(&p, OPT_EPB_FLAGS, &flags, 4);
    put_u32(&p, OPT_ENDOFOPT);
    put_u32(&p, (uint32_t)rec);
    w->buf_len += rec;
    w->file_bytes += rec;
    w->frames++;
    return 0;
}

int mg_pcapng_unwrite(struct mg_pcapng *w, size_t bytes, uint64_t frames) {
    if (bytes > w->buf_len || frames > w->frames)
        return -EAGAIN;
    w->buf_len -= bytes;
    w->file_bytes -= bytes;
    w->frames -= frames;
    return 0;
}

int mg_pcapng_close(struct mg_pcapng *w) {
    int rc = 0;
    if (w->fd >= 0) {
        rc = mg_pcapng_flush(w);
        if (close(w->fd) < 0 && rc == 0)
            rc = -errno;
    }
    free(w->buf);
    w->buf = NULL;
    w->fd = -1;
    return rc;
}
