# examples/local.mk — build fragment for examples (included from the top Makefile.am).
# Programs a user copies from. They use only the public PDPIX headers (include/demi),
# never margay's internals, so they run unchanged on every libOS (choose one with
# DEMI_LIBOS). Built, not installed: noinst_PROGRAMS named margay-example-*.
# Each takes: --server|--client IPV4-ADDRESS PORT [DATA_SIZE] [MAX_MSGS] [--timeout S]
# (tcp-echo: --nclients N --nrequests N --bufsize BYTES).
MG_EXAMPLE_CPPFLAGS = -I$(top_srcdir)/include
MG_EXAMPLE_COMMON = examples/common.c examples/common.h

noinst_PROGRAMS += \
	examples/margay-example-tcp-push-pop \
	examples/margay-example-tcp-ping-pong \
	examples/margay-example-udp-push-pop \
	examples/margay-example-udp-ping-pong \
	examples/margay-example-tcp-echo

examples_margay_example_tcp_push_pop_SOURCES = examples/tcp-push-pop.c $(MG_EXAMPLE_COMMON)
examples_margay_example_tcp_push_pop_CPPFLAGS = $(MG_EXAMPLE_CPPFLAGS)
examples_margay_example_tcp_push_pop_LDADD = libmargay.la

examples_margay_example_tcp_ping_pong_SOURCES = examples/tcp-ping-pong.c $(MG_EXAMPLE_COMMON)
examples_margay_example_tcp_ping_pong_CPPFLAGS = $(MG_EXAMPLE_CPPFLAGS)
examples_margay_example_tcp_ping_pong_LDADD = libmargay.la

examples_margay_example_udp_push_pop_SOURCES = examples/udp-push-pop.c $(MG_EXAMPLE_COMMON)
examples_margay_example_udp_push_pop_CPPFLAGS = $(MG_EXAMPLE_CPPFLAGS)
examples_margay_example_udp_push_pop_LDADD = libmargay.la

examples_margay_example_udp_ping_pong_SOURCES = examples/udp-ping-pong.c $(MG_EXAMPLE_COMMON)
examples_margay_example_udp_ping_pong_CPPFLAGS = $(MG_EXAMPLE_CPPFLAGS)
examples_margay_example_udp_ping_pong_LDADD = libmargay.la

examples_margay_example_tcp_echo_SOURCES = examples/tcp-echo.c $(MG_EXAMPLE_COMMON)
examples_margay_example_tcp_echo_CPPFLAGS = $(MG_EXAMPLE_CPPFLAGS)
examples_margay_example_tcp_echo_LDADD = libmargay.la

noinst_PROGRAMS += examples/margay-example-http-server
examples_margay_example_http_server_SOURCES = examples/http-server.c $(MG_EXAMPLE_COMMON)
examples_margay_example_http_server_CPPFLAGS = $(MG_EXAMPLE_CPPFLAGS)
examples_margay_example_http_server_LDADD = libmargay.la
