# bench/local.mk — build fragment for bench (included from the top Makefile.am).

# inet_bench: two margay stacks over the in-memory sim link (TCP echo latency, bulk
# throughput, UDP rate). Run: bench/inet_bench [round_trips] [bulk_MiB] [udp_messages]
noinst_PROGRAMS += bench/inet_bench
bench_inet_bench_SOURCES = bench/inet_bench.c
bench_inet_bench_LDADD = libmargay.la $(YAML_LIBS) -lm
bench_inet_bench_LDFLAGS = -static
