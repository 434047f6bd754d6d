# doc/local.mk — build fragment for doc (included from the top Makefile.am).
# PDPIX manual pages (section 3). One page per call group; the other names are .so
# links to it so `man demi_bind` finds demi_socket(3).
dist_man3_MANS += \
	doc/man3/demi_init.3 \
	doc/man3/margay_shutdown.3 \
	doc/man3/demi_socket.3 \
	doc/man3/demi_bind.3 \
	doc/man3/demi_listen.3 \
	doc/man3/demi_accept.3 \
	doc/man3/demi_connect.3 \
	doc/man3/demi_close.3 \
	doc/man3/demi_push.3 \
	doc/man3/demi_pushto.3 \
	doc/man3/demi_pop.3 \
	doc/man3/demi_wait.3 \
	doc/man3/demi_wait_any.3 \
	doc/man3/demi_wait_next_n.3 \
	doc/man3/demi_sgaalloc.3 \
	doc/man3/demi_sgafree.3 \
	doc/man3/demi_setsockopt.3 \
	doc/man3/demi_getsockopt.3 \
	doc/man3/demi_getpeername.3

# Configuration keys (section 5).
dist_man5_MANS += doc/man5/margay-config.5

EXTRA_DIST += doc/dpdk.md
