# bench/local.mk — build fragment for bench (included from the top Makefile.am).
