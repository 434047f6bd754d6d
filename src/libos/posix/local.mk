# src/libos/posix/local.mk — build fragment for src/libos/posix (included from the top Makefile.am).
