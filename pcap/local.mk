# pcap/local.mk — capture reading, replay and judging (needs libpcap).
if HAVE_PCAP
libmargay_la_SOURCES += pcap/reader.c pcap/replay.c pcap/replay_app.c pcap/replay_prog.c pcap/judge.c
noinst_HEADERS += pcap/reader.h pcap/replay.h pcap/replay_app.h pcap/replay_prog.h pcap/judge.h
libmargay_la_CFLAGS += $(PCAP_CFLAGS)
libmargay_la_LIBADD += $(PCAP_LIBS)
endif
EXTRA_DIST += doc/replay.md
