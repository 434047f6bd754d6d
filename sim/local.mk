# sim/local.mk — the deterministic simulator: so far the simulated link (link.c).
libmargay_la_SOURCES += sim/link.c
noinst_HEADERS += sim/link.h
