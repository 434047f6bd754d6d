# src/wire/local.mk — build fragment for src/wire (included from the top Makefile.am).
# Pure header codecs: one file per protocol, plus the checksum.
libmargay_la_SOURCES += \
	src/wire/arp.c \
	src/wire/cksum.c \
	src/wire/eth.c \
	src/wire/icmp.c \
	src/wire/ipv4.c \
	src/wire/tcp.c \
	src/wire/tcp_opts.c \
	src/wire/udp.c
noinst_HEADERS += \
	src/wire/be.h \
	src/wire/tcp_opts.h \
	src/wire/wire.h
