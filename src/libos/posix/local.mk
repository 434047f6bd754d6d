# src/libos/posix/local.mk — build fragment for src/libos/posix (included from the top Makefile.am).
# The posix libOS (alias catnap): PDPIX over non-blocking kernel sockets and epoll.
libmargay_la_SOURCES += \
	src/libos/posix/posix.c \
	src/libos/posix/posix_io.c
noinst_HEADERS += \
	src/libos/posix/posix.h
