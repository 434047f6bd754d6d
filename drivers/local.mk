# drivers/local.mk — build fragment for drivers (included from the top Makefile.am).
# mg_netdev_open picks the netdev a configuration names; each driver and wrapper adds
# its own sources in its own fragment (drivers/dpdk/local.mk, capture.mk, fault.mk).
libmargay_la_SOURCES += drivers/netdev_open.c
noinst_HEADERS += drivers/netdev_open.h
include drivers/capture.mk
include drivers/fault.mk
