# src/inet/local.mk — margay's TCP/IP stack: the instance and IPv4 (inet.c), IPv4
# reassembly (ipv4_reass.c) and fragmentation (ipv4_frag.c), the neighbour cache
# (arp.c), ICMP (icmp.c) and UDP sockets (udp.c).
libmargay_la_SOURCES += \
	src/inet/arp.c \
	src/inet/icmp.c \
	src/inet/inet.c \
	src/inet/ipv4_frag.c \
	src/inet/ipv4_reass.c \
	src/inet/udp.c
noinst_HEADERS += \
	src/inet/inet.h \
	src/inet/inet_priv.h \
	src/inet/ipv4_reass.h \
	src/inet/netdev.h \
	src/inet/tcp.h \
	src/inet/udp.h

# ---- TCP (tcp helper) ----
libmargay_la_SOURCES += \
	src/inet/tcp.c \
	src/inet/tcp_cc.c \
	src/inet/tcp_in.c \
	src/inet/tcp_out.c \
	src/inet/tcp_sack.c \
	src/inet/tcp_timer.c
noinst_HEADERS += \
	src/inet/tcp_int.h
