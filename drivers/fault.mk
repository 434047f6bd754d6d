# drivers/fault.mk — the fault model and the fault-injection netdev wrapper.
libmargay_la_SOURCES += drivers/fault.c drivers/fault_netdev.c
noinst_HEADERS += drivers/fault.h
