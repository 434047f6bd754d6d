# src/libos/inet/local.mk — the inet libOS: the stack behind PDPIX (libos_inet.c)
# and its per-protocol socket tables (udp_ops.c here; tcp_ops.c from the TCP part).
libmargay_la_SOURCES += \
	src/libos/inet/libos_inet.c \
	src/libos/inet/udp_ops.c
noinst_HEADERS += src/libos/inet/proto.h

# ---- TCP sockets (tcp helper) ----
libmargay_la_SOURCES += src/libos/inet/tcp_ops.c
