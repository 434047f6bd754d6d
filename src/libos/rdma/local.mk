# src/libos/rdma/local.mk — the rdma libOS (alias catmint; built when rdma-core is found).
# rdma_proto.c and rdma_mem.c are pure (no verbs calls): the unit tests use them
# without a device.
if HAVE_RDMA
libmargay_la_SOURCES += \
	src/libos/rdma/rdma.c \
	src/libos/rdma/rdma_cm.c \
	src/libos/rdma/rdma_io.c \
	src/libos/rdma/rdma_mem.c \
	src/libos/rdma/rdma_proto.c
noinst_HEADERS += \
	src/libos/rdma/rdma.h \
	src/libos/rdma/rdma_mem.h \
	src/libos/rdma/rdma_proto.h
libmargay_la_CFLAGS += $(RDMA_CFLAGS)
libmargay_la_LIBADD += $(RDMA_LIBS)
endif
