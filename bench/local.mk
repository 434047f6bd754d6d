# bench/local.mk — build fragment for bench (included from the top Makefile.am).

# inet_bench: two margay stacks over the in-memory sim link (TCP echo latency, bulk
# throughput, UDP rate). Run: bench/inet_bench [round_trips] [bulk_MiB] [udp_messages]
noinst_PROGRAMS += bench/inet_bench
bench_inet_bench_SOURCES = bench/inet_bench.c
bench_inet_bench_LDADD = libmargay.la $(YAML_LIBS) -lm
bench_inet_bench_LDFLAGS = -static

# dpdk_ring_bench: TCP ping-pong and bulk over two inet stacks joined by a net_ring
# pair in one process (a row of bench/compare.sh). Run: bench/dpdk_ring_bench [SIZE] [N] [MiB]
if HAVE_DPDK
noinst_PROGRAMS += bench/dpdk_ring_bench
bench_dpdk_ring_bench_SOURCES = bench/dpdk_ring_bench.c
bench_dpdk_ring_bench_CFLAGS = $(AM_CFLAGS) $(DPDK_CFLAGS)
bench_dpdk_ring_bench_LDADD = libmargay.la $(YAML_LIBS) $(DPDK_LIBS) -lrte_net_ring
endif
EXTRA_DIST += bench/compare.sh

# sim_speed.sh: frames per wall and CPU second of `margay sim` sweeps (issue #4's
# benchmark), on tests/sim/sweep.scenario and bench/sim_1mib.scenario. Not in make check.
# Run: bench/sim_speed.sh [SEEDS]   (from the build directory)
EXTRA_DIST += bench/sim_speed.sh bench/sim_1mib.scenario
