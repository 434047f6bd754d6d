# tests/inet.mk — test programs for the inet module (included from tests/local.mk).
#
# MG_SIMHOSTS_SOURCES is the simulated-hosts harness (tests/harness/simhosts.h): N
# margay hosts with the inet libOS on one simulated link, driven in simulated time.
# Other modules' tests list it in their _SOURCES (e.g. TCP's two-stack tests).
MG_SIMHOSTS_SOURCES = tests/harness/simhosts.c tests/harness/simhosts.h

if HAVE_CUNIT
check_PROGRAMS += tests/unit/test_inet_udp
TESTS += tests/unit/test_inet_udp
tests_unit_test_inet_udp_SOURCES = tests/unit/test_inet_udp.c $(MG_SIMHOSTS_SOURCES)
tests_unit_test_inet_udp_CFLAGS = $(MG_TEST_CFLAGS)
tests_unit_test_inet_udp_LDADD = $(MG_TEST_LIBS)
endif

if HAVE_CUNIT
check_PROGRAMS += tests/unit/test_inet_arp
TESTS += tests/unit/test_inet_arp
tests_unit_test_inet_arp_SOURCES = tests/unit/test_inet_arp.c tests/unit/inet_peer.h
tests_unit_test_inet_arp_CFLAGS = $(MG_TEST_CFLAGS)
tests_unit_test_inet_arp_LDADD = $(MG_TEST_LIBS)
endif

if HAVE_CUNIT
check_PROGRAMS += tests/unit/test_inet_ipv4
TESTS += tests/unit/test_inet_ipv4
tests_unit_test_inet_ipv4_SOURCES = tests/unit/test_inet_ipv4.c tests/unit/inet_peer.h
tests_unit_test_inet_ipv4_CFLAGS = $(MG_TEST_CFLAGS)
tests_unit_test_inet_ipv4_LDADD = $(MG_TEST_LIBS)
endif

if HAVE_CUNIT
check_PROGRAMS += tests/unit/test_inet_frag
TESTS += tests/unit/test_inet_frag
tests_unit_test_inet_frag_SOURCES = tests/unit/test_inet_frag.c tests/unit/inet_peer.h
tests_unit_test_inet_frag_CFLAGS = $(MG_TEST_CFLAGS)
tests_unit_test_inet_frag_LDADD = $(MG_TEST_LIBS)
endif

if HAVE_CUNIT
check_PROGRAMS += tests/unit/test_sim_link
TESTS += tests/unit/test_sim_link
tests_unit_test_sim_link_SOURCES = tests/unit/test_sim_link.c
tests_unit_test_sim_link_CFLAGS = $(MG_TEST_CFLAGS)
tests_unit_test_sim_link_LDADD = $(MG_TEST_LIBS)
endif

if HAVE_CUNIT
check_PROGRAMS += tests/unit/test_libos_inet
TESTS += tests/unit/test_libos_inet
tests_unit_test_libos_inet_SOURCES = tests/unit/test_libos_inet.c
tests_unit_test_libos_inet_CFLAGS = $(MG_TEST_CFLAGS)
tests_unit_test_libos_inet_LDADD = $(MG_TEST_LIBS)
endif
