# drivers/dpdk/local.mk — the DPDK netdev (built when libdpdk is found).
# DPDK_CFLAGS carries -include rte_config.h and -march=<baseline> (Debian: corei7);
# DPDK 22.11's headers compile cleanly under margay's warning set, so they are added
# to the library's flags as they are.
if HAVE_DPDK
libmargay_la_SOURCES += \
	drivers/dpdk/dpdk_eal.c \
	drivers/dpdk/dpdk_netdev.c
noinst_HEADERS += drivers/dpdk/dpdk_netdev.h
libmargay_la_CFLAGS += $(DPDK_CFLAGS)
libmargay_la_LIBADD += $(DPDK_LIBS)
endif
