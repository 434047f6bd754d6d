# src/inet/local.mk — build fragment for src/inet (included from the top Makefile.am).

# ---- TCP (tcp helper) ----
libmargay_la_SOURCES += \
	src/inet/tcp.c \
	src/inet/tcp_cc.c \
	src/inet/tcp_in.c \
	src/inet/tcp_out.c \
	src/inet/tcp_timer.c
noinst_HEADERS += \
	src/inet/tcp.h \
	src/inet/tcp_int.h
