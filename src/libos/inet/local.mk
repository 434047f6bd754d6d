# src/libos/inet/local.mk — build fragment for src/libos/inet (included from the top Makefile.am).
