# drivers/local.mk — build fragment for drivers (included from the top Makefile.am).
# mg_netdev_open picks the netdev a configuration names; each driver adds its own
# sources in its own fragment (drivers/dpdk/local.mk, ...).
libmargay_la_SOURCES += drivers/netdev_open.c
noinst_HEADERS += drivers/netdev_open.h
