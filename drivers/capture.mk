# drivers/capture.mk — the pcapng writer and the capture tap netdev wrapper.
libmargay_la_SOURCES += drivers/capture.c drivers/pcapng.c
noinst_HEADERS += drivers/capture.h drivers/pcapng.h
